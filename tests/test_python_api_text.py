"""Text given to the Python API where a number is expected is read as spec files read it, never run.

Each attack is checked on its side effect: a marker file that must not appear.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.spec import SpecError, parse_spec

ATTACKS = [
    "__import__('os').system('touch {marker}') or 1",
    "open('{marker}', 'w') and 1",
    "exec('open(\"{marker}\", \"w\")') or 1",
    "(lambda: open('{marker}', 'w'))() or 1",
    "[open('{marker}', 'w') for _ in (1,)][0] and 1",
    "Symbol('a')",
    "1/0",
    "nan",
    "oo",
    "I",
    "9**9**9**9",
    "",
]

OPTIONS = {
    "make_relu(grad_at_zero=…)": lambda text: sbp.make_relu(grad_at_zero=text),
    "leaky_relu(negative_slope=…)": lambda text: sbp.leaky_relu(negative_slope=text),
    "leaky_relu(z, …)": lambda text: sbp.leaky_relu(sp.Symbol("z"), text),
}


class TextWhenPrinted:
    """An object that is not a number but prints as code: SymPy's sympify would parse (and run) what it prints."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("attack", ATTACKS, ids=range(len(ATTACKS)))
def test_text_that_is_not_a_number_is_refused_and_runs_nothing(tmp_path, option, attack):
    marker = tmp_path / "marker"
    text = attack.format(marker=marker)
    for given in (text, TextWhenPrinted(text)):
        with pytest.raises(sbp.OptionError) as caught:
            OPTIONS[option](given)
        assert isinstance(caught.value, ValueError)
    assert not marker.exists()


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), sp.nan, sp.oo, sp.I, sp.Symbol("a"),
                                   True, None, [1], 1j, np.float64("nan")], ids=repr)
def test_what_is_not_a_finite_real_number_is_refused(option, value):
    with pytest.raises(sbp.OptionError):
        OPTIONS[option](value)


def relu_gradient_at_zero(activation: sbp.Activation) -> float:
    net = sbp.Network()
    x = net.input("x")
    c = net.param("c")
    net.loss("L", activation(c * x))
    return float(sbp.backprop(net).evaluate({"x": 1.0, "c": 0.0}).grad["c"])


@pytest.mark.parametrize("text, expected", [("1/2", 0.5), ("0.25", 0.25), ("2**-3", 0.125), ("-1", -1.0)])
def test_a_number_written_as_text_is_read_exactly_as_a_spec_file_reads_it(text, expected):
    assert relu_gradient_at_zero(sbp.make_relu(grad_at_zero=text)) == expected
    spec = parse_spec(f'[inputs]\nx = []\n[params]\nc = []\n[loss]\nL = "relu(c * x)"\n'
                      f'[options]\nrelu_grad_at_zero = "{text}"\n')
    assert float(sbp.backprop(spec.network).evaluate({"x": 1.0, "c": 0.0}).grad["c"]) == expected
    slope = sbp.leaky_relu(negative_slope=text)
    assert slope.at(sp.Symbol("z")) == sbp.leaky_relu(negative_slope=sp.Rational(expected)).at(sp.Symbol("z"))


def test_numbers_keep_working_as_before():
    assert relu_gradient_at_zero(sbp.make_relu(grad_at_zero=0.5)) == 0.5
    assert relu_gradient_at_zero(sbp.make_relu(grad_at_zero=sp.Rational(1, 2))) == 0.5
    assert relu_gradient_at_zero(sbp.make_relu(grad_at_zero=np.float64(1.0))) == 1.0
    assert sbp.make_relu(0) is sbp.relu


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_spec_option_that_is_not_finite_is_reported_against_the_option(value):
    text = f'[inputs]\nx = []\n[nodes]\nh1 = "relu(x)"\n[loss]\nL = "h1"\n[options]\nrelu_grad_at_zero = {value}\n'
    with pytest.raises(SpecError, match=r"\[options\] relu_grad_at_zero: expected a finite number"):
        parse_spec(text)
