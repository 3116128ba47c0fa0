"""SymPy's special functions evaluate correctly or are refused where they are written.

Oracles: mpmath at 30 digits for values, and mpmath's own numerical differentiation for the
derivatives, so neither SymPy's derivative formulas nor our kernels check themselves; PyTorch
float64 for GELU and SiLU, whose semantics are PyTorch's.
"""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import special
from symbackprop.errors import UnsupportedFunctionError
from symbackprop.ops import FUNCTION_OPS

mpmath.mp.dps = 30

# name: (SymPy function, mpmath function, points inside its real domain)
FUNCTIONS = {
    "asinh": (sp.asinh, mpmath.asinh, [-2.5, 0.3, 4.0]),
    "acosh": (sp.acosh, mpmath.acosh, [1.2, 2.0, 7.5]),
    "atanh": (sp.atanh, mpmath.atanh, [-0.9, 0.1, 0.6]),
    "erf": (sp.erf, mpmath.erf, [-2.0, 0.3, 1.7]),
    "erfc": (sp.erfc, mpmath.erfc, [-1.0, 0.5, 4.0]),
    "gamma": (sp.gamma, mpmath.gamma, [-1.5, 0.7, 4.2]),
    "loggamma": (sp.loggamma, mpmath.loggamma, [0.2, 1.5, 9.0]),
    "digamma": (sp.digamma, mpmath.digamma, [-0.5, 0.8, 3.0]),
    "sinc": (sp.sinc, mpmath.sinc, [-3.0, 0.4, 2.0]),
    "LambertW": (sp.LambertW, mpmath.lambertw, [-0.3, 0.5, 6.0]),
    "besselj": (lambda z: sp.besselj(2, z), lambda z: mpmath.besselj(2, z), [-1.5, 0.9, 5.0]),
    "Ei": (sp.Ei, mpmath.ei, [-1.2, 0.6, 3.0]),
}


def _oracle(function, points):
    values = [float(mpmath.re(function(mpmath.mpf(p)))) for p in points]
    slopes = [float(mpmath.re(mpmath.diff(function, mpmath.mpf(p)))) for p in points]
    return np.array(values), np.array(slopes)


def _scalar_network(function):
    net = sbp.Network()
    x = net.param("x")
    h = net.node("h", function(x))
    net.loss("L", h)
    return sbp.backprop(net)


def _tensor_network(function, size):
    net = sbp.Network()
    x = net.param("x", (size, 1))
    h = net.node("h", sbp.elementwise(function)(x))
    net.loss("L", sbp.total(h))
    return sbp.backprop(net)


def _elements_network(function, size):
    net = sbp.Network()
    x = net.param("x", (size, 1), elements=True)
    h = net.node("h", x.applyfunc(function))
    net.loss("L", sp.Add(*h))
    return sbp.backprop(net)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_special_function_and_its_derivative_at_the_scalar_level(name):
    function, reference, points = FUNCTIONS[name]
    values, slopes = _oracle(reference, points)
    d = _scalar_network(function)
    for point, value, slope in zip(points, values, slopes):
        ev = d.evaluate({"x": point})
        np.testing.assert_allclose(ev.forward["h"], value, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ev.grad["x"], slope, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("build", [_tensor_network, _elements_network], ids=["elementwise", "elements"])
def test_a_special_function_element_by_element(name, build):
    function, reference, points = FUNCTIONS[name]
    values, slopes = _oracle(reference, points)
    ev = build(function, len(points)).evaluate({"x": points})
    np.testing.assert_allclose(ev.forward["h"].ravel(), values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ev.grad["x"].ravel(), slopes, rtol=1e-11, atol=1e-13)


def test_special_functions_agree_with_torch():
    torch = pytest.importorskip("torch")
    pairs = {sp.erf: torch.special.erf, sp.erfc: torch.special.erfc, sp.loggamma: torch.lgamma,
             sp.digamma: torch.special.digamma, sp.asinh: torch.asinh, sp.atanh: torch.atanh}
    points = np.array([0.15, 0.5, 0.85])
    for function, torch_function in pairs.items():
        t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        torch_function(t).sum().backward()
        ev = _tensor_network(function, len(points)).evaluate({"x": points})
        np.testing.assert_allclose(ev.forward["h"].ravel(), torch_function(t).detach().numpy(), rtol=1e-12)
        # torch's trigamma (digamma's derivative) is good to about 1e-9: ψ′(1/2) = π²/2 is 4.9348022020 there
        np.testing.assert_allclose(ev.grad["x"].ravel(), t.grad.numpy(), rtol=1e-8)


def test_loggamma_is_nan_where_sympys_loggamma_is_complex():
    ev = _scalar_network(sp.loggamma).evaluate({"x": -0.5})
    assert sp.N(sp.loggamma(sp.Rational(-1, 2))).as_real_imag()[1] != 0
    assert np.isnan(ev.forward["h"])


# -- refused when written, naming the function ------------------------------------------------------


@pytest.mark.parametrize(("function", "named", "reason"), [
    (sp.zeta, "zeta", "no NumPy implementation"),
    (sp.airyai, "airyai", "no NumPy implementation"),  # its derivative, airyaiprime, has none either
    (sp.fresnels, "fresnels", "no NumPy implementation"),
    (lambda z: sp.besselj(z, 2), "besselj", "cannot differentiate with respect to its 1st argument"),
])
def test_a_function_that_cannot_be_evaluated_is_refused_at_definition(function, named, reason):
    net = sbp.Network()
    x = net.param("x")
    with pytest.raises(UnsupportedFunctionError, match=reason) as caught:
        net.node("h", function(x))
    assert named in str(caught.value)
    with pytest.raises(UnsupportedFunctionError, match=named):
        sbp.elementwise(function)


def test_an_activation_made_directly_is_checked_too():
    net = sbp.Network()
    x = net.param("x", (2, 1))
    with pytest.raises(UnsupportedFunctionError, match="zeta"):
        net.node("h", sbp.Activation("own", lambda z: sp.zeta(z + 2))(x))


def _function_with_derivative(derivative):
    class Own(sp.Function):
        def fdiff(self, argindex=1):
            return derivative(self.args[0])

    return Own


@pytest.mark.parametrize(("derivative", "scipy", "reason"), [
    (sp.zeta, True, "whose derivative calls zeta, which has no NumPy implementation"),
    (lambda z: sp.polygamma(0, z), False, r"whose derivative calls polygamma, which needs SciPy.*\[special\]"),
    (lambda z: sp.polygamma(0, z), True, None),
])
def test_a_function_is_refused_when_its_derivative_cannot_be_evaluated(monkeypatch, derivative, scipy, reason):
    from symbackprop.ops import NUMPY_KERNELS

    own = _function_with_derivative(derivative)
    monkeypatch.setitem(NUMPY_KERNELS, "Own", np.exp)  # the function itself evaluates
    if not scipy:
        monkeypatch.setattr(special, "scipy_special", lambda: None)
    net = sbp.Network()
    x = net.param("x")
    if reason is None:
        net.node("h", own(x))
        return
    with pytest.raises(UnsupportedFunctionError, match=reason):
        net.node("h", own(x))


@pytest.mark.parametrize("name", ["gamma", "loggamma", "digamma", "LambertW", "besselj", "Ei"])
def test_without_scipy_a_function_that_needs_it_is_refused(monkeypatch, name):
    monkeypatch.setattr(special, "scipy_special", lambda: None)
    function = FUNCTIONS[name][0]
    net = sbp.Network()
    x = net.param("x")
    with pytest.raises(UnsupportedFunctionError, match=r"SciPy.*symbackprop\[special\]"):
        net.node("h", function(x))
    with pytest.raises(UnsupportedFunctionError, match=r"symbackprop\[special\]"):
        sbp.elementwise(function)
    y = net.param("y", (2, 1))
    with pytest.raises(UnsupportedFunctionError, match="SciPy"):
        net.node("g", sbp.elementwise(sp.sin)(y) * 0 + sbp.Activation("own", function)(y))


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_without_scipy_erf_still_evaluates(monkeypatch, name):
    monkeypatch.setattr(special, "scipy_special", lambda: None)
    function, reference, points = FUNCTIONS[name]
    values, slopes = _oracle(reference, points)
    ev = _tensor_network(function, len(points)).evaluate({"x": points})
    np.testing.assert_allclose(ev.forward["h"].ravel(), values, rtol=1e-12)
    np.testing.assert_allclose(ev.grad["x"].ravel(), slopes, rtol=1e-11)


def test_spec_text_may_call_the_special_functions():
    from symbackprop.spec import parse_spec

    text = ('[inputs]\nx = [2, 1]\n[params]\na = []\n[nodes]\n'
            'h = "erf(a * x) + asinh(x) + digamma(x + 2) + silu(x) + gelu(x) + gelu_tanh(x)"\n'
            '[loss]\nL = "sum(h)"\n')
    x, a = np.array([0.5, 1.0]), 1.5
    grad = sbp.backprop(parse_spec(text).network).evaluate({"x": x, "a": a}).grad["a"]
    expected = float(sum(v * 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-(a * v) ** 2) for v in x))
    np.testing.assert_allclose(grad, expected, rtol=1e-12)


# -- GELU and SiLU: PyTorch's semantics, finite in the tails ------------------------------------------

TAILS = np.concatenate([np.linspace(-40.0, 40.0, 161), [-12.5, -7.0, -1e-9, 0.0, 1e-9, 3.3]])


def _torch_reference(module, points):
    torch = pytest.importorskip("torch")
    t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    y = module(t)
    y.sum().backward()
    return y.detach().numpy(), t.grad.numpy()


def _torch_modules():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    hand_gelu = sbp.elementwise(lambda t: t / 2 * (1 + sp.erf(t / sp.sqrt(2))), "gelu_by_hand")
    return [(sbp.gelu, nn.GELU()), (sbp.gelu(approximate="tanh"), nn.GELU(approximate="tanh")),
            (sbp.silu, nn.SiLU()), (hand_gelu, nn.GELU())]


def test_gelu_and_silu_match_torch_at_the_vector_level():
    for activation, module in _torch_modules():
        value, slope = _torch_reference(module, TAILS)
        net = sbp.Network()
        x = net.param("x", (len(TAILS), 1))
        h = net.node("h", activation(x))
        net.loss("L", sbp.total(h))
        ev = sbp.backprop(net).evaluate({"x": TAILS})
        assert np.isfinite(ev.forward["h"]).all() and np.isfinite(ev.grad["x"]).all()
        np.testing.assert_allclose(ev.forward["h"].ravel(), value, rtol=1e-12, atol=1e-13, err_msg=activation.name)
        np.testing.assert_allclose(ev.grad["x"].ravel(), slope, rtol=1e-12, atol=1e-13, err_msg=activation.name)


def test_gelu_and_silu_match_torch_at_the_scalar_level():
    points = np.array([-40.0, -6.0, -0.7, 0.0, 0.4, 2.5, 40.0])
    for activation, module in _torch_modules():
        value, slope = _torch_reference(module, points)
        net = sbp.Network()
        x = net.param("x", (len(points), 1), elements=True)
        h = net.node("h", activation(x))
        net.loss("L", sp.Add(*h))
        ev = sbp.backprop(net).evaluate({"x": points})
        np.testing.assert_allclose(ev.forward["h"].ravel(), value, rtol=1e-12, atol=1e-13, err_msg=activation.name)
        np.testing.assert_allclose(ev.grad["x"].ravel(), slope, rtol=1e-12, atol=1e-13, err_msg=activation.name)


def test_gelu_keeps_its_relative_accuracy_in_the_left_tail():
    # PyTorch's 1 + erf(z/√2) is 0 here; Φ(z) = ½erfc(−z/√2) keeps every digit
    z = np.array([-7.0, -12.5, -30.0])
    exact = np.array([float(mpmath.mpf(v) * mpmath.ncdf(v)) for v in z])
    np.testing.assert_allclose(FUNCTION_OPS["GELU"].kernel(z), exact, rtol=1e-13)
    u = np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)
    with mpmath.workdps(1000):  # 1 + tanh(u) is about 1e-860 at z = -30: enough digits for the cancellation
        exact_tanh = np.array([float(mpmath.mpf(a) / 2 * (1 + mpmath.tanh(mpmath.mpf(b)))) for a, b in zip(z, u)])
    np.testing.assert_allclose(FUNCTION_OPS["GELUTanh"].kernel(z), exact_tanh, rtol=1e-12)


def test_the_kernels_raise_no_floating_point_warnings_in_the_tails():
    # underflow to 0 is the right answer far in a tail; overflow, 0/0 and inf − inf are not
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        warnings.simplefilter("error")
        for kernel in (FUNCTION_OPS[n].kernel for n in ("NormalCDF", "GELU", "GELUTanh", "SiLU")):
            assert np.isfinite(kernel(TAILS)).all()


def test_from_torch_converts_gelu_and_silu():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(3)
    module = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 4), nn.GELU(approximate="tanh"),
                           nn.Linear(4, 2), nn.SiLU()).double()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    ((module(x) - y) ** 2).mean().backward()
    net, values = sbp.from_torch(module, loss="mse")
    grad = sbp.backprop(net).lambdify()(**values, x=x.numpy(), y=y.numpy())
    np.testing.assert_allclose(grad["W1"], module[0].weight.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grad["b3"].ravel(), module[4].bias.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_gelu_and_silu_are_named_built_in_activations():
    for name in ("gelu", "gelu_tanh", "silu"):
        d = sbp.backprop(sbp.mlp([2, 3, 1], activation=name, output_activation="identity"))
        assert any(name in step.rules for step in d.steps), name
        check = sbp.check_gradients(d, {"x": [0.3, -1.2], "y": 0.5, "W1": [[0.2, -0.4], [0.7, 0.1], [-0.5, 0.9]],
                                        "b1": [0.1, -0.2, 0.05], "W2": [[0.3, -0.6, 0.8]], "b2": 0.1})
        assert check.passed, name
    latex = sbp.backprop(sbp.mlp([2, 1], activation="gelu", output_activation="silu")).to_latex()
    assert r"\operatorname{SiLU}" in latex
    assert sbp.gelu(approximate="tanh") is sbp.ACTIVATIONS["gelu_tanh"]
    with pytest.raises(UnsupportedFunctionError, match="approximate"):
        sbp.gelu(approximate="sigmoid")
