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


# -- errors of the right type ---------------------------------------------------------------------


@pytest.mark.parametrize("options", [{"batch": 0}, {"checkpoint_every": 0}, {"checkpoint_every": 1.5}])
def test_memory_options_are_refused_as_options(options):
    with pytest.raises(sbp.OptionError, match=f"{next(iter(options))} must be a positive integer"):
        _linear().memory(**options)


@pytest.mark.parametrize("eps", [float("nan"), float("inf")])
def test_layer_norm_refuses_an_eps_that_is_not_finite(eps):
    from symbackprop import models

    with pytest.raises(sbp.NetworkError, match="eps must be a positive finite number"):
        models.layer_norm(3, eps=eps)


@pytest.mark.parametrize("text", [123, b'[inputs]\nx = []', None])
def test_parse_spec_takes_text_only(text):
    with pytest.raises(sbp.SymbackpropError, match="a spec is TOML text"):
        parse_spec(text)


@pytest.mark.parametrize("rate", [sp.I, float("nan"), float("inf"), sp.oo])
def test_a_learning_rate_that_is_not_a_finite_real_number_is_refused(rate):
    derivation = sbp.backprop(sbp.reference_network())
    with pytest.raises(sbp.SymbackpropError, match="learning_rate must be a finite real number"):
        derivation.to_markdown(sbp.reference_values(), learning_rate=rate)
    with pytest.raises(sbp.ValuesError, match="learning rate must be a"):
        sbp.sgd_step(derivation, sbp.reference_values(), rate)


def test_torch_code_checks_its_values_as_evaluate_does():
    derivation = sbp.backprop(sbp.reference_network())
    values = dict(sbp.reference_values(), W1=np.ones((3, 3)))
    with pytest.raises(sbp.ValueShapeError, match=r"value of param 'W1' has shape \(3, 3\); expected shape \(2, 2\)"):
        sbp.torch_code(derivation.network, values)


def test_a_torch_tensor_in_an_autograd_graph_is_read_as_its_numbers():
    torch = pytest.importorskip("torch")
    derivation = sbp.backprop(sbp.reference_network())
    values = sbp.reference_values()
    expected = derivation.evaluate(values).grad["W1"]
    in_graph = dict(values, x=torch.tensor(np.asarray(values["x"], dtype=float), requires_grad=True))
    np.testing.assert_array_equal(derivation.evaluate(in_graph).grad["W1"], expected)
    np.testing.assert_array_equal(derivation.lambdify()(**in_graph)["W1"], expected)
    assert sbp.torch_code(derivation.network, in_graph) == sbp.torch_code(derivation.network, values)


# -- refused instead of silently accepted -----------------------------------------------------------


@pytest.mark.parametrize("text", [["1", "2"], np.array(["1", "2"]), [0.1, "2"]])
def test_text_inside_an_array_value_is_refused_like_text_alone(text):
    derivation = sbp.backprop(sbp.reference_network())
    with pytest.raises(sbp.ValuesError, match="value of 'b1' must be numbers, not text"):
        derivation.evaluate(dict(sbp.reference_values(), b1=text))


@pytest.mark.parametrize("value", ["abc", sp.Symbol("a"), float("nan"), sp.I, sp.oo])
def test_relu_options_are_checked_when_the_activation_is_made(value):
    with pytest.raises(sbp.OptionError, match="grad_at_zero must be a finite real number"):
        sbp.make_relu(value)
    with pytest.raises(sbp.OptionError, match="negative_slope must be a finite real number"):
        sbp.leaky_relu(negative_slope=value)


def test_checking_a_network_without_parameters_is_an_error(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "none.toml"
    spec.write_text('[inputs]\nx = []\n[loss]\nL = "x**2"\n[values]\nx = 2\n')
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", str(spec)]) == 2
    assert "the network has no parameters" in capsys.readouterr().err
    with pytest.raises(sbp.NetworkError, match="no parameters"):
        sbp.check_gradients(sbp.backprop(parse_spec(spec.read_text()).network), {"x": 2.0})


@pytest.mark.parametrize("product", [lambda x: x @ 3, lambda x: 3 @ x, lambda x: x @ sp.Rational(1, 2)])
def test_a_matrix_product_with_a_number_is_refused(product):
    net = sbp.Network()
    x = net.input("x", (2, 1))
    with pytest.raises(sbp.InvalidOperandError, match=r"matrix product of x and the number .*; scale with \*"):
        product(x)
