"""The last rough edges: inputs that crashed deep inside, or were accepted and gave a wrong answer."""

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import cli
from symbackprop.spec import parse_spec


def _finite_difference(function, at: float, step: float = 1e-6) -> float:
    return (function(at + step) - function(at - step)) / (2 * step)


@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_gelu_tanh_of_a_negated_parameter_is_derived(level):
    text = '[inputs]\n[params]\nc = []\n[nodes]\nh = "gelu_tanh(-c)"\n[loss]\nL = "h**2"\n'
    derivation = sbp.backprop(parse_spec(text, level=level).network)

    def loss(c: float) -> float:
        return float(derivation.evaluate({"c": c}).loss)

    for c in (-1.3, 0.4, 2.0):
        gradient = float(derivation.evaluate({"c": c}).grad["c"])
        assert gradient == pytest.approx(_finite_difference(loss, c), rel=1e-7)


def test_gelu_tanh_called_on_an_expression_from_python():
    net = sbp.Network()
    c = net.param("c")
    net.loss("L", sbp.gelu(approximate="tanh")(-c) ** 2)
    derivation = sbp.backprop(net)
    assert sbp.check_gradients(derivation, {"c": 0.7}, use_sympy=True).passed


# -- a log at 0 -----------------------------------------------------------------------------------

_LOG_AT_ZERO = '[inputs]\n[params]\np = []\n[loss]\nL = "-log(p)"\n[values]\np = {value}\n'


def _log_network() -> sbp.Derivation:
    net = sbp.Network()
    p = net.param("p")
    net.loss("L", -sp.log(p))
    return sbp.backprop(net)


def test_exact_evaluation_refuses_a_gradient_that_is_complex_infinity():
    with pytest.raises(sbp.NonFiniteResultError, match=r"∂L/∂p is zoo"):
        _log_network().evaluate({"p": 0}, exact=True)


def test_a_document_at_a_log_of_zero_shows_the_float_infinities():
    text = _log_network().to_markdown({"p": 0})
    assert "zoo" not in text and ("-inf" in text or r"-\infty" in text)


@pytest.mark.parametrize("value", ["0", "0.0"])
def test_check_at_a_log_of_zero_is_one_clear_error(tmp_path, monkeypatch, capsys, value):
    spec = tmp_path / "log.toml"
    spec.write_text(_LOG_AT_ZERO.format(value=value))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", str(spec)]) == 2
    error = capsys.readouterr().err
    assert "∂L/∂p is -inf, not finite" in error and "unexpected" not in error
    assert cli.main(["derive", str(spec), "-o", "log.md"]) == 0
