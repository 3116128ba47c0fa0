"""Inputs that used to slip through, or to fail deep inside with a built-in error: each now gets a
typed error that names the culprit and the way out, where it is written."""

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp

T = sp.Symbol("t", real=True)


@pytest.fixture
def net():
    network = sbp.Network()
    network.input("x", (2, 1))
    network.input("s")
    network.param("W", (2, 2))
    return network


def handles(network):
    return network.handle("x"), network.handle("s"), network.handle("W")


# -- numbers that are not finite reals ---------------------------------------------------------


@pytest.mark.parametrize("build, fragment", [
    (lambda x, s: s / 0, r"complex infinity \(zoo\), as from a division by zero or log\(0\)"),
    (lambda x, s: s + sp.log(0), r"complex infinity \(zoo\)"),
    (lambda x, s: s * sp.nan, r"NaN"),
    (lambda x, s: s * sp.oo, r"infinity \(oo\)"),
    (lambda x, s: s + sp.sqrt(-1), r"imaginary unit I, as from the square root or the log of a negative number"),
    (lambda x, s: s * sp.asin(2), r"the number asin\(2\) is not real"),
    (lambda x, s: s * sp.exp(sp.exp(sp.exp(sp.exp(1000)))), r"the number exp\(1000\) is too large for floating"),
    (lambda x, s: s + sp.Integer(10) ** 400, r"too large for floating point"),
    (lambda x, s: x * sp.zoo, r"complex infinity"),
    (lambda x, s: x * s + sp.I, r"imaginary unit"),
    (lambda x, s: sbp.relu(x) * sp.exp(sp.exp(1000)), r"the number exp\(1000\) is too large"),
    (lambda x, s: sbp.elementwise(sp.Lambda(T, T / 0 + T))(x), r"complex infinity"),
])
def test_numbers_that_are_not_finite_reals_are_refused_at_the_node(net, build, fragment):
    x, s, _ = handles(net)
    with pytest.raises(sbp.InvalidNumberError, match=r"^node 'h': .*" + fragment):
        net.node("h", build(x, s))
    assert "h" not in net


def test_dividing_a_tensor_by_zero_says_so(net):
    x, _, _ = handles(net)
    with pytest.raises(sbp.InvalidNumberError, match=r"cannot divide x by zero"):
        x / 0


def test_ordinary_constants_are_still_accepted(net):
    x, s, W = handles(net)
    net.node("h", sp.Rational(1, 2) * s ** 2 + sp.pi + sp.sqrt(2) * sp.exp(-s) + sp.exp(-1000))
    net.node("v", W @ x / 3 + sp.E)
    assert net["v"].shape == (2, 1)


# -- operands of the wrong kind ----------------------------------------------------------------


def test_a_tensor_raised_to_a_node_is_refused(net):
    x, s, _ = handles(net)
    with pytest.raises(sbp.InvalidOperandError,
                       match=r"cannot raise the tensor x to the power s \(a symbol\): a tensor's exponent must "
                             r"be a constant real number"):
        x ** s
    with pytest.raises(TypeError):  # the built-in meaning is kept
        x ** s
    with pytest.raises(sbp.InvalidOperandError, match=r"cannot raise s to the power of the tensor x"):
        s ** x


def test_text_as_a_node_says_to_pass_sympy_or_use_a_spec(net):
    with pytest.raises(sbp.InvalidOperandError,
                       match=r"node 'h': got the text 'x\+1'; pass a SymPy expression .* spec file"):
        net.node("h", "x+1")


def test_text_never_reaches_sympify_through_a_division(net):
    x, _, _ = handles(net)
    with pytest.raises(sbp.InvalidOperandError, match="cannot use str"):
        x / "2"


def test_a_tensor_given_to_a_sympy_function_names_the_tensor_and_the_remedy(net):
    x, s, W = handles(net)
    with pytest.raises(sbp.TensorInSymPyError,
                       match=r"the tensor \(W @ x\) of shape \(2, 1\) was given to SymPy.*"
                             r"sbp\.elementwise\(sp\.exp\)\(\(W @ x\)\)"):
        sp.exp(W @ x)
    with pytest.raises(sbp.InvalidOperandError):
        sp.sin(x)
    # What the message recommends works, and SymPy numbers still combine with tensors both ways.
    net.node("h", sbp.elementwise(sp.exp)(W @ x) * sp.Rational(1, 2) + sp.Integer(1) - s * x)
    assert sp.sympify(s) == s and sbp.total(x) != sp.Integer(1)


@pytest.mark.parametrize("combine", [
    lambda m, x: x + m, lambda m, x: m + x, lambda m, x: m - x, lambda m, x: x * m,
    lambda m, x: m * x, lambda m, x: m.T @ x, lambda m, x: x.T @ m,
])
def test_element_by_element_quantities_and_tensors_do_not_mix(net, combine):
    x, _, _ = handles(net)
    m = net.param("m", (2, 1), elements=True)
    with pytest.raises(sbp.InvalidOperandError,
                       match=r"explicit SymPy matrix cannot be combined with the symbackprop tensor x.*elements=True"):
        combine(m, x)


def test_a_tensor_handle_of_another_network_is_refused(net):
    other = sbp.Network()
    their_x = other.input("x", (2, 1))
    _, _, W = handles(net)
    with pytest.raises(sbp.ForeignQuantityError, match=r"node 'h' uses 'x' of another network; use the handle"):
        net.node("h", W @ their_x)
    with pytest.raises(sbp.UnknownNameError):  # a foreign quantity is, for this network, unknown
        net.node("h", W @ their_x)
    net.node("h", W @ net.handle("x"))  # a handle asked for again is this network's own


# -- shapes and values -------------------------------------------------------------------------


def test_numpy_integers_are_shapes():
    rng = np.random.default_rng(0)
    net = sbp.Network()
    assert net.input("x", (np.int64(4), 1)).shape == (4, 1)
    assert net.param("W", (rng.integers(2, 3), np.int32(4))).shape == (2, 4)
    assert net.param("b", np.int64(3)).shape == (3, 1)
    for bad in [(2.0, 1), (np.float64(2), 1), (True, 1), (np.True_, 2), "2"]:
        with pytest.raises(sbp.NetworkError, match="invalid shape"):
            net.input("y", bad)


def test_a_flat_list_is_a_row_vector_where_a_row_is_declared():
    d = sbp.backprop(sbp.reference_network())
    as_matrix = d.evaluate(sbp.reference_values())
    flat = d.evaluate({**sbp.reference_values(), "W2": [0.6, 0.8]})
    np.testing.assert_array_equal(flat.grad["W2"], as_matrix.grad["W2"])
    assert flat.forward["L"] == as_matrix.forward["L"]


def test_a_row_input_takes_a_flat_sample_and_a_batch_only_with_its_row_axis():
    net = sbp.Network()
    r = net.input("r", (1, 2))
    w = net.param("w")
    net.loss("L", w * sbp.total(r ** 2))
    d = sbp.backprop(net)
    assert d.evaluate({"r": [1, 2], "w": 3}).forward["L"] == 3 * (1 + 4)
    batch = d.evaluate({"r": [[[1, 2]], [[0, 1]]], "w": 3})
    assert batch.batch_size == 2 and batch.forward["L"] == pytest.approx((15 + 3) / 2)
    # (N, n) would be N columns' worth for a column input; for a row input it is refused, not guessed.
    with pytest.raises(sbp.ValueShapeError, match=r"input 'r' has shape \(2, 2\); expected shape \(1, 2\)"):
        d.evaluate({"r": [[1, 2], [0, 1]], "w": 3})


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("value, shown", [(0.1 + 2j, r"\(0\.1\+2j\)"), ([0.1, 1j], "1j")])
def test_complex_values_are_refused_not_truncated(value, shown, exact):
    d = sbp.backprop(sbp.reference_network())
    name = "b2" if np.ndim(value) == 0 else "b1"
    with pytest.raises(sbp.ComplexValueError,
                       match=rf"value of '{name}' holds the complex number {shown}; .*real numbers only"):
        d.evaluate({**sbp.reference_values(), name: value}, exact=exact)


def test_an_imaginary_sympy_number_is_refused_in_exact_evaluation():
    d = sbp.backprop(sbp.reference_network())
    with pytest.raises(sbp.ComplexValueError, match="value of 'b2' holds the complex number I"):
        d.evaluate({**sbp.reference_values(exact=True), "b2": sp.I}, exact=True)


@pytest.mark.parametrize("value, fragment", [(None, "value of 'b2' is None"),
                                             ([0.1, None], r"value of 'b1' has None in place of a number")])
def test_none_is_a_missing_value_not_nan(value, fragment):
    d = sbp.backprop(sbp.reference_network())
    name = "b2" if value is None else "b1"
    with pytest.raises(sbp.MissingValueError, match=fragment):
        d.evaluate({**sbp.reference_values(), name: value})


@pytest.mark.parametrize("options", [{"tolerance": -1}, {"tolerance": 0}, {"tolerance": float("nan")},
                                     {"tolerance": float("inf")}, {"step": 0}, {"tolerance": "1e-5"}])
def test_gradient_check_options_must_be_positive_finite_numbers(options):
    d = sbp.backprop(sbp.reference_network())
    (option, value), = options.items()
    with pytest.raises(sbp.OptionError, match=rf"{option} must be a positive, finite number such as 1e-5; got"):
        sbp.check_gradients(d, sbp.reference_values(), **options)
