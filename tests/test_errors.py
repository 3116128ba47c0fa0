"""Bad input gets a clear, typed error naming what is wrong — never a wrong answer."""

import math

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp


@pytest.fixture
def reference():
    return sbp.backprop(sbp.reference_network())


def test_matrix_product_shape_mismatch_names_both_shapes():
    net = sbp.Network()
    x = net.input("x", (3, 1))
    W = net.param("W", (2, 2))
    with pytest.raises(sbp.ShapeMismatchError, match=r"cannot multiply W of shape \(2, 2\) by x of shape "
                                                      r"\(3, 1\): inner dimensions 2 and 3 differ"):
        W @ x
    with pytest.raises(ValueError):  # the hierarchy keeps the built-in meaning
        W @ x


def test_addition_shape_mismatch_names_both_shapes():
    net = sbp.Network()
    a = net.input("a", (2, 1))
    b = net.param("b", (3, 1))
    with pytest.raises(sbp.ShapeMismatchError, match=r"cannot add a of shape \(2, 1\) and b of shape \(3, 1\)"):
        a + b


def test_loss_target_shape_mismatch():
    net = sbp.Network()
    h = net.input("h", (3, 1))
    y = net.input("y", (2, 1))
    with pytest.raises(sbp.ShapeMismatchError, match=r"mse: prediction h has shape \(3, 1\) but target y"):
        sbp.mse(h, y)


def test_unknown_name_in_a_scalar_expression():
    net = sbp.Network()
    x = net.input("x")
    stranger = sp.Symbol("q", real=True)
    with pytest.raises(sbp.UnknownNameError, match=r"node 'z' uses q, which is not an input, param or node"):
        net.node("z", x * stranger)


def test_a_quantity_of_another_network_is_unknown():
    other = sbp.Network()
    v = other.input("v", (2, 1))
    net = sbp.Network()
    net.input("x", (2, 1))
    with pytest.raises(sbp.UnknownNameError, match="node 'z' uses 'v', which is not a quantity of this network"):
        net.node("z", v + v)


def test_lookup_of_an_unknown_name(reference):
    with pytest.raises(sbp.UnknownNameError, match=r"unknown name 'W3'; the network has x, y, W1"):
        reference.gradient("W3")
    with pytest.raises(KeyError):
        reference.network["W3"]


def test_duplicate_name():
    net = sbp.Network()
    net.input("x")
    with pytest.raises(sbp.DuplicateNameError, match=r"name 'x' is already defined \(as input\)"):
        net.param("x")


def test_element_names_collide_with_existing_names():
    net = sbp.Network()
    net.input("W_1_1")
    with pytest.raises(sbp.DuplicateNameError, match="'W_1_1' is already defined"):
        net.param("W", (2, 2), elements=True)


@pytest.mark.parametrize("name", ["1x", "x-y", "__class__", "lambda", "", "a b", "é"])
def test_invalid_names(name):
    with pytest.raises(sbp.InvalidNameError, match="invalid name"):
        sbp.Network().input(name)


def test_loss_must_be_scalar():
    net = sbp.Network()
    h = net.input("h", (2, 1))
    with pytest.raises(sbp.NonScalarLossError, match=r"loss 'L' has shape \(2, 1\); a loss must be a scalar"):
        net.loss("L", h * h)


def test_only_one_loss_and_nothing_after_it():
    net = sbp.Network()
    x = net.input("x")
    net.loss("L", x ** 2)
    with pytest.raises(sbp.DuplicateNameError, match="already has a loss, 'L'"):
        net.loss("M", x)
    with pytest.raises(sbp.NetworkError, match="cannot define 'z' after the loss 'L'"):
        net.node("z", x)


def test_backprop_needs_a_loss():
    net = sbp.Network()
    net.input("x")
    with pytest.raises(sbp.NetworkError, match="the network has no loss"):
        sbp.backprop(net)


@pytest.mark.parametrize("bad, fragment", [
    (lambda x: sp.sign(x), "uses sign, which symbackprop cannot differentiate"),
    (lambda x: sp.Function("f")(x), "uses f, which symbackprop cannot differentiate"),
    (lambda x: sp.floor(x), "uses floor"),
    (lambda x: sp.Piecewise((x, x > 0), (0, True)), "uses Piecewise"),
])
def test_functions_that_cannot_be_differentiated(bad, fragment):
    net = sbp.Network()
    x = net.input("x")
    with pytest.raises(sbp.UnsupportedFunctionError, match=fragment):
        net.node("z", bad(x))
    with pytest.raises(TypeError):
        net.node("z", bad(x))


def test_user_function_of_python_floats_is_rejected_clearly():
    with pytest.raises(sbp.UnsupportedFunctionError, match="cannot be applied to a SymPy symbol"):
        sbp.elementwise(lambda t: math.exp(t))


def test_missing_and_extra_values(reference):
    values = sbp.reference_values()
    del values["b2"]
    with pytest.raises(sbp.MissingValueError, match="missing values for 'b2'"):
        reference.evaluate(values)
    values = {**sbp.reference_values(), "z1": [1, 1], "bogus": 1}
    with pytest.raises(sbp.ExtraValueError, match=r"'bogus', 'z1' \(a node, which is computed\)"):
        reference.evaluate(values)


@pytest.mark.parametrize("name, value, fragment", [
    ("W1", [[0.5, 0.3, 0.1], [0.2, 0.4, 0.1]], r"param 'W1' has shape \(2, 3\); expected shape \(2, 2\)"),
    ("W2", [0.6, 0.8, 0.1], r"param 'W2' has shape \(3,\); expected shape \(1, 2\)"),
    ("b2", [0.1, 0.2], r"param 'b2' has shape \(2,\); expected a scalar$"),
    ("W1", np.zeros((3, 2, 2)), r"expected shape \(2, 2\)$"),
    ("x", [1, 2, 3], r"input 'x' has shape \(3,\); expected shape \(2, 1\) \(or with a leading batch axis\)"),
])
def test_values_of_the_wrong_shape(reference, name, value, fragment):
    with pytest.raises(sbp.ValueShapeError, match=fragment):
        reference.evaluate({**sbp.reference_values(), name: value})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values(reference, bad):
    with pytest.raises(sbp.NonFiniteValueError, match="value of 'W1' contains NaN or infinity"):
        reference.evaluate({**sbp.reference_values(), "W1": [[bad, 0.3], [0.2, 0.4]]})
    with pytest.raises(sbp.NonFiniteValueError):
        reference.lambdify()(**{**sbp.reference_values(), "W1": [[bad, 0.3], [0.2, 0.4]]})


@pytest.mark.parametrize("bad", ["0.5", None, [[1, 2], [3]], {"a": 1}, True])
def test_values_that_are_not_numbers(reference, bad):
    with pytest.raises(sbp.ValuesError, match="value of 'b2'|b2"):
        reference.evaluate({**sbp.reference_values(), "b2": bad})


def test_values_must_be_a_mapping(reference):
    with pytest.raises(sbp.ValuesError, match="values must be a mapping"):
        reference.evaluate([1, 2, 3])


def test_inputs_must_agree_on_the_batch_size(reference):
    with pytest.raises(sbp.ValueShapeError, match="inputs disagree about the batch size"):
        reference.evaluate({**sbp.reference_values(), "x": [[1, 2], [3, 4]], "y": [1, 2, 3]})
    with pytest.raises(sbp.ValueShapeError, match="y: no batch axis"):
        reference.evaluate({**sbp.reference_values(), "x": [[1, 2], [3, 4]]})


def test_exact_evaluation_of_a_batch_is_refused(reference):
    with pytest.raises(sbp.ValuesError, match="exact evaluation takes one sample"):
        reference.evaluate({**sbp.reference_values(), "x": [[1, 2], [3, 4]], "y": [1, 2]}, exact=True)


def test_cross_entropy_needs_a_target_of_the_logits_shape_or_class_indices():
    net = sbp.Network()
    z = net.input("z", (2, 2))
    y = net.input("y", (2, 3))
    with pytest.raises(sbp.ShapeMismatchError, match=r"shape \(2, 2\).*class indices of shape \(1, 2\)"):
        sbp.cross_entropy(z, y)


def test_mlp_arguments_are_checked():
    with pytest.raises(sbp.NetworkError, match="unknown activation 'relu6'; known:"):
        sbp.mlp([2, 2], activation="relu6")
    with pytest.raises(sbp.NetworkError, match="unknown loss 'hinge'"):
        sbp.mlp([2, 2], loss="hinge")
    with pytest.raises(sbp.NetworkError, match="sizes must be at least two positive integers"):
        sbp.mlp([2])
    with pytest.raises(sbp.NetworkError, match="unknown level 'matrix'"):
        sbp.mlp([2, 2], level="matrix")


def test_invalid_shapes():
    with pytest.raises(sbp.NetworkError, match="invalid shape"):
        sbp.Network().input("x", (2, 0))
    with pytest.raises(sbp.NetworkError, match="invalid shape"):
        sbp.Network().input("x", (2, 2, 0))
    assert sbp.Network().input("x", (2, 2, 2)).shape == (2, 2, 2)  # a tensor of rank 3


def test_tensor_and_explicit_matrix_do_not_mix():
    net = sbp.Network()
    x = net.input("x", (2, 1))
    with pytest.raises(TypeError, match="explicit SymPy matrix cannot be combined"):
        x + sp.Matrix([1, 2])


def test_backprop_of_something_else():
    with pytest.raises(TypeError, match="backprop expects a symbackprop Network"):
        sbp.backprop("z1 = W1 @ x")
