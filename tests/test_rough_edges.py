"""The last rough edges: inputs that crashed deep inside, or were accepted and gave a wrong answer."""

import math

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


# -- an empty batch -------------------------------------------------------------------------------


def _linear() -> sbp.Derivation:
    net = sbp.Network()
    x = net.input("x", (2, 1))
    W = net.param("W", (1, 2))
    net.loss("L", sbp.total(W @ x))
    return sbp.backprop(net)


def test_an_empty_batch_is_refused_by_evaluate_and_by_the_compiled_gradient():
    derivation = _linear()
    values = {"x": np.zeros((0, 2, 1)), "W": np.ones((1, 2))}
    with pytest.raises(sbp.ValueShapeError, match=r"holds no samples \(N=0\)"):
        derivation.evaluate(values)
    with pytest.raises(sbp.ValueShapeError, match=r"holds no samples \(N=0\)"):
        derivation.lambdify()(**values)


# -- accepted, then crashing ----------------------------------------------------------------------


def _scalar_network(loss) -> sbp.Derivation:
    net = sbp.Network()
    x = net.input("x")
    c = net.param("c")
    net.loss("L", loss(x, c))
    return sbp.backprop(net)


@pytest.mark.parametrize("loss", [
    lambda x, c: c * sbp.bce_with_logits(0, 0.5),
    lambda x, c: c * sbp.cross_entropy(1, 2),
    lambda x, c: c * sbp.binary_cross_entropy(sp.Rational(1, 4), c),
    lambda x, c: c ** 2 * sbp.bce_with_logits(0.5, x),
], ids=["bce_with_logits of numbers", "cross_entropy of numbers", "a number against c", "a number against x"])
def test_a_loss_of_a_number_is_derived(loss):
    derivation = _scalar_network(lambda x, c: loss(x, c) + c ** 2)
    values = {"x": 0.5, "c": 0.5}

    def at(c: float) -> float:
        return float(derivation.evaluate({**values, "c": c}).loss)

    expected = _finite_difference(at, 0.5)
    assert float(derivation.evaluate(values).grad["c"]) == pytest.approx(expected, rel=1e-7)
    assert float(derivation.lambdify()(**values)["c"]) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("function, in_floats", [
    (sp.erf, math.erf), (sp.sin, math.sin), (sp.log, math.log), (sp.atan, math.atan),
])
def test_a_function_of_an_integer_beyond_int64_is_computed_in_floats(function, in_floats):
    derivation = _scalar_network(lambda x, c: c * function(10 ** 29) + c ** 2)
    expected = in_floats(1e29) + 2.0
    assert float(derivation.evaluate({"x": 0.0, "c": 1.0}).grad["c"]) == pytest.approx(expected, rel=1e-12)
    assert float(derivation.lambdify()(x=0.0, c=1.0)["c"]) == pytest.approx(expected, rel=1e-12)


def test_a_400_digit_integer_value_is_refused_by_name(tmp_path, monkeypatch, capsys):
    derivation = _scalar_network(lambda x, c: c * x)
    with pytest.raises(sbp.NonFiniteValueError, match="value of 'x' holds a number too large for a float"):
        derivation.evaluate({"x": 10 ** 400, "c": 1.0})
    spec = tmp_path / "big.toml"
    spec.write_text(f'[inputs]\nx = []\n[params]\nc = []\n[loss]\nL = "c * x"\n[values]\nx = {"9" * 400}\nc = 1\n')
    monkeypatch.chdir(tmp_path)
    for command in (["check", str(spec)], ["derive", str(spec), "-o", "big.md"]):
        assert cli.main(command) == 2
        error = capsys.readouterr().err
        assert "value of 'x' holds a number too large for a float" in error and "unexpected" not in error


def test_a_quantity_named_self_reaches_the_compiled_gradient():
    net = sbp.Network()
    s = net.input("self")
    c = net.param("c")
    net.loss("L", (c * s) ** 2)
    derivation = sbp.backprop(net)
    assert float(derivation.lambdify()(**{"self": 3.0, "c": 2.0})["c"]) == pytest.approx(2 * 2.0 * 3.0 ** 2)
    assert float(derivation.lambdify().forward_and_gradients(**{"self": 3.0, "c": 2.0}).grad["c"]) == 36.0


def test_values_keyed_by_something_other_than_text_are_refused():
    derivation = _linear()
    values = {"x": np.ones((2, 1)), "W": np.ones((1, 2)), 1: 2.0, "zz": 1.0}
    with pytest.raises(sbp.ValuesError, match="values must be keyed by names"):
        derivation.evaluate(values)
