"""sbp.grade beyond the mistake table: true gradients in every form are correct, the reference page's
rounded numbers pass, and answers that cannot be graded are refused in one line before anything runs."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop import tensor as T
from symbackprop.derivation import SEED
from symbackprop.practice.quantities import backward_quantities

# -- the derivation's own formulas written in spec syntax -------------------------------------------

_LOSS_GRADIENTS = {"half_squared_error": "({h} - {y})", "mse": "(2*({h} - {y})/{n})"}


class _SpecText(sp.printing.str.StrPrinter):
    def _print_Symbol(self, expr):
        return f"d{expr.of}" if isinstance(expr, T.AdjointSymbol) else expr.name

    def _print_Heaviside(self, expr):
        return f"relu_prime({self._print(expr.args[0])})"

    def _print_Function(self, expr):
        name = type(expr).__name__.lower()
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"


def spec_text(node) -> str:
    if not isinstance(node, T.Tensor):
        if isinstance(node, sp.Basic) and node.func.__name__ == "LossGradient":
            raise AssertionError
        return _SpecText().doprint(node)
    if isinstance(node, T.Adjoint):
        return f"d{node.name}"
    if isinstance(node, T.Ref):
        return node.name
    if isinstance(node, T.Transpose):
        return f"({spec_text(node.operand)}).T"
    if isinstance(node, T.MatMul):
        return f"({spec_text(node.left)} @ {spec_text(node.right)})"
    if isinstance(node, T.Hadamard):
        return f"({spec_text(node.left)} * {spec_text(node.right)})"
    if isinstance(node, T.Add):
        return f"({spec_text(node.left)} + {spec_text(node.right)})"
    if isinstance(node, T.Scale):
        return f"({_SpecText().doprint(node.factor)} * {spec_text(node.operand)})"
    if isinstance(node, T.Scalar):
        return f"({_SpecText().doprint(node.expr)})"
    if isinstance(node, T.Elementwise):
        return f"{node.function.name.replace(chr(39), '_prime')}({spec_text(node.operand)})"
    if isinstance(node, T.LossGradient):
        h, y = spec_text(node.prediction), spec_text(node.target)
        return _LOSS_GRADIENTS[node.kind].format(h=h, y=y, n=node.prediction.shape[0])
    raise AssertionError(f"no spec text for {type(node).__name__}")


def formulas(d) -> dict[str, str]:
    """∂L/∂q for every quantity of the backward pass, as the derivation writes it, in spec syntax."""
    answers = {}
    for name in backward_quantities(d):
        step = d.step_for(name)
        result = step.result
        if step.source == d.loss and not isinstance(result, T.Tensor) and result.func.__name__ == "LossGradient":
            raise AssertionError
        answers[f"d{name}"] = spec_text(result) if isinstance(result, T.Tensor) else _scalar_loss_text(d, step)
    return answers


def _scalar_loss_text(d, step) -> str:
    result = step.result
    if step.source == d.loss and "dprediction" in str(result):
        (h, y) = [str(a) for a in result.args]
        return _LOSS_GRADIENTS["half_squared_error"].format(h=h, y=y)
    return _SpecText().doprint(result)


# -- random networks ------------------------------------------------------------------------------------

ACTIVATIONS = ["relu", "sigmoid", "tanh", "identity", "softplus"]


@st.composite
def networks(draw):
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    activation = draw(st.sampled_from(ACTIVATIONS))
    output = draw(st.sampled_from(ACTIVATIONS))
    loss = draw(st.sampled_from(["half_squared_error", "mse"]))
    net = sbp.mlp(sizes, activation=activation, output_activation=output, loss=loss)
    number = st.integers(-9, 9).map(lambda k: k / 10)
    values = {}
    for q in net.quantities("input", "param"):
        rows, columns = q.shape if q.shape else (1, 1)
        values[q.name] = [[draw(number) for _ in range(columns)] for _ in range(rows)]
    return net, values


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_true_gradients_as_numbers_expressions_or_a_function_are_correct(case):
    net, values = case
    d = sbp.backprop(net)
    ev = d.evaluate(values)
    names = backward_quantities(d)
    as_numbers = {f"d{n}": ev.grad[n].tolist() for n in names}
    as_arrays = {f"d{n}": np.array(ev.grad[n]) for n in names}

    def backward(forward):
        assert set(forward) >= {q.name for q in net.quantities()}
        forward["x"][...] = 99  # a copy: the grader's own numbers are not the student's to change
        return {f"d{n}": ev.grad[n] for n in names}

    for answers in (as_numbers, as_arrays, formulas(d), backward):
        g = sbp.grade(d, answers, values)
        assert [r.verdict for r in g] == ["correct"] * len(names), g.to_text()
        assert [r.name for r in g] == names


@st.composite
def batches(draw):
    net, values = draw(networks())
    samples = draw(st.integers(2, 4))
    number = st.integers(-9, 9).map(lambda k: k / 10)
    for q in net.quantities("input"):
        if q.shape is None:
            values[q.name] = [draw(number) for _ in range(samples)]
            continue
        rows, columns = q.shape
        values[q.name] = [[[draw(number) for _ in range(columns)] for _ in range(rows)] for _ in range(samples)]
    return net, values


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.booleans())
def test_true_gradients_of_a_batch_are_correct_and_a_missing_mean_is_named(case, shown_as_mean):
    net, values = case
    d = sbp.backprop(net, batch=shown_as_mean)
    ev = d.evaluate(values)
    names = backward_quantities(d)
    g = sbp.grade(d, lambda forward: {f"d{n}": ev.grad[n] for n in names}, values)
    assert [r.verdict for r in g] == ["correct"] * len(names), g.to_text()
    first = names[0]  # the loss's own step, where the mean's 1/N enters
    if np.any(np.abs(ev.grad[first]) > 1e-6):
        samples = len(values["x"])
        g = sbp.grade(d, {f"d{first}": ev.grad[first] * samples}, values)
        assert (g[first].verdict, g[first].mistake) in (("wrong", "batch_mean"), ("wrong", "factor")), g.to_text()


# -- rounded answers ----------------------------------------------------------------------------------

PAGE = {"dh2": -1.22, "dz2": -1.22, "dW2": [-1.46, -1.46], "db2": -1.22, "dh1": [-0.73, -0.98],
        "dz1": [-0.73, -0.98], "dW1": [[-0.73, -1.46], [-0.98, -1.96]], "db1": [-0.73, -0.98]}


def test_the_reference_pages_two_decimal_numbers_are_never_wrong():
    d = sbp.backprop(sbp.reference_network())
    g = sbp.grade(d, PAGE, sbp.reference_values())
    assert {r.verdict for r in g} <= {"correct", "rounded"}, g.to_text()
    assert g["W1"].verdict == "rounded"  # −1.96 = −0.98 · 2, a product of a rounded factor
    assert g.passed


def test_text_numbers_keep_their_decimals_and_a_misrounded_number_is_wrong():
    d = sbp.backprop(sbp.reference_network())
    answers = {**{k: str(v) for k, v in PAGE.items() if not isinstance(v, list)}, "dW2": [-1.46, -1.48]}
    g = sbp.grade(d, answers, sbp.reference_values())
    assert g["h2"].verdict == "correct" and g["W2"].verdict == "wrong"
    assert g["h1"].verdict == "missing" and g.first_wrong == "W2"


def test_expressions_read_the_students_own_answers():
    d = sbp.backprop(sbp.reference_network())
    answers = {"dh2": "2*(h2 - y)", "dz2": "dh2 * relu_prime(z2)", "dW2": "dz2 @ h1.T", "db2": "dz2",
               "dh1": "W2.T @ dz2", "dz1": "dh1 * relu_prime(z1)", "dW1": "dz1 @ transpose(x)", "db1": "dz1"}
    g = sbp.grade(d, answers, sbp.reference_values())
    assert (g["h2"].verdict, g["h2"].mistake) == ("wrong", "factor")
    assert {r.verdict for r in g.rows[1:]} == {"upstream"}, g.to_text()


def test_an_expression_whose_shapes_do_not_fit_is_wrong_and_a_missing_transpose_is_named():
    d = sbp.backprop(sbp.reference_network())
    g = sbp.grade(d, {"dW2": "dz2 @ h1", "dh1": "W2 @ dz2", "dW1": "dz1 @ x @ x"}, sbp.reference_values())
    assert (g["W2"].verdict, g["W2"].mistake) == ("wrong", "transpose")
    assert "cannot multiply" in g["W2"].hint and "h1ᵀ" in g["W2"].hint
    assert (g["h1"].verdict, g["h1"].mistake) == ("wrong", "transpose") and "W2ᵀ" in g["h1"].hint
    assert (g["W1"].verdict, g["W1"].mistake) == ("wrong", "shape")


def test_a_batch_with_a_leading_axis_is_graded():
    net = sbp.mlp([2, 2, 1], activation="tanh", output_activation="sigmoid")
    d = sbp.backprop(net, batch=True)
    values = {"x": [[0.5, -1.0], [1.0, 0.2], [-0.3, 0.4]], "y": [[1], [0], [1]],
              "W1": [[0.1, 0.2], [-0.3, 0.4]], "b1": [0.0, 0.1], "W2": [[0.7, -0.8]], "b2": [0.05]}
    ev = d.evaluate(values)
    names = backward_quantities(d)
    answers = {f"d{n}": ev.grad[n] for n in names}
    assert sbp.grade(d, answers, values).passed
    answers["dh2"] = ev.grad["h2"] * 3  # the mean's 1/N left out
    g = sbp.grade(d, answers, values)
    assert (g["h2"].verdict, g["h2"].mistake) == ("wrong", "batch_mean")


def test_korean_hints_and_the_displays():
    d = sbp.backprop(sbp.reference_network())
    g = sbp.grade(d, {**PAGE, "dh2": 1.22}, sbp.reference_values(), lang="ko")
    assert "부호" in g["h2"].hint
    assert "<table" in g._repr_html_() and "| ∂L/∂h2 |" in g._repr_markdown_()
    assert g.to_text().splitlines()[0].split()[:2] == ["값", "판정"]


# -- bad answers -------------------------------------------------------------------------------------------

ATTACKS = ["__import__('os').system('touch /tmp/sbp-attack')", "h1.__class__", "(lambda: 1)()",
           "open('/etc/passwd')", "9**9**9**9", "x if y else h1", "[h1]", "dz2.T.__dict__"]


@pytest.mark.parametrize("text", ATTACKS)
def test_attack_strings_are_refused_in_one_line(text, tmp_path):
    d = sbp.backprop(sbp.reference_network())
    with pytest.raises(sbp.AnswerError) as caught:
        sbp.grade(d, {"dW2": text}, sbp.reference_values())
    assert "\n" not in str(caught.value) and "dW2" in str(caught.value)
    assert not (tmp_path.parent / "sbp-attack").exists() and not __import__("os").path.exists("/tmp/sbp-attack")


@pytest.mark.parametrize(("answers", "words"), [
    ({"dW3": 1.0}, "unknown answer name 'dW3'"),
    ({"W2": 1.0}, "unknown answer name 'W2'"),
    ({"dW1": [[1, 2], [3]]}, "different lengths"),
    ({"dW1": [[1, "a"], [3, 4]]}, "expected a number"),
    ({"dW1": {"a": 1}}, "expected a number"),
    ({"dW1": "dq @ x.T"}, "unknown name 'dq'"),
    ({"dW1": "frobnicate(x)"}, "unknown function 'frobnicate'"),
    ({"dW1": True}, "expected a number"),
    ([1, 2], "mapping"),
])
def test_bad_answers_are_one_clear_line(answers, words):
    d = sbp.backprop(sbp.reference_network())
    with pytest.raises(sbp.AnswerError) as caught:
        sbp.grade(d, answers, sbp.reference_values())
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_failing_backward_function_is_one_line():
    d = sbp.backprop(sbp.reference_network())

    def backward(values):
        return {"dW2": values["h1"] @ values["h1"]}

    with pytest.raises(sbp.AnswerError, match="the backward function raised ValueError"):
        sbp.grade(d, backward, sbp.reference_values())


def test_a_non_finite_answer_is_unreadable():
    d = sbp.backprop(sbp.reference_network())
    g = sbp.grade(d, {"dh2": float("nan"), "dz2": -1.22}, sbp.reference_values())
    assert g["h2"].verdict == "unreadable" and g["z2"].verdict == "correct"


def test_seed_is_not_a_row():
    d = sbp.backprop(sbp.reference_network())
    assert all(d.step_for(n).kind != SEED for n in backward_quantities(d))


def test_a_scalar_level_network_is_refused_in_one_line():
    d = sbp.backprop(sbp.mlp([2, 2, 1], level="scalar"))
    with pytest.raises(sbp.OptionError, match="vector-level"):
        sbp.grade(d, {}, sbp.reference_values())
    with pytest.raises(sbp.OptionError, match="vector-level"):
        sbp.exercise(d)
    with pytest.raises(TypeError):
        sbp.grade("d", {}, {})
