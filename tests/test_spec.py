"""Spec files and values files: what they build, and what they refuse (without running anything)."""

from __future__ import annotations

import json
import re
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import (
    DuplicateNameError,
    ExpressionError,
    InvalidNameError,
    InvalidNumberError,
    NonScalarLossError,
    ShapeMismatchError,
    SymbackpropError,
)
from symbackprop.spec import SPEC_FUNCTIONS, SpecError, load_spec, load_values, parse_spec, values_from_mapping

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

REFERENCE_SPEC = """
[inputs]
x = [2, 1]
y = []

[params]
W1 = [2, 2]
b1 = [2]
W2 = [1, 2]
b2 = []

[nodes]
z1 = "W1 @ x + b1"
h1 = "relu(z1)"
z2 = "W2 @ h1 + b2"
h2 = "relu(z2)"

[loss]
L = "0.5 * (h2 - y)**2"

[values]
x = [1, 2]
y = 3
W1 = [[0.5, 0.3], [0.2, 0.4]]
b1 = [0.1, 0.2]
W2 = [[0.6, 0.8]]
b2 = 0.1
"""

PAGE_W1_GRADIENT = [[-0.732, -1.464], [-0.976, -1.952]]


def spec_with(nodes: str, *, loss: str = 'L = "sum(h)"', inputs: str = "x = [2, 1]", params: str = "W = [2, 2]") -> str:
    return f"[inputs]\n{inputs}\n\n[params]\n{params}\n\n[nodes]\n{nodes}\n\n[loss]\n{loss}\n"


# -- what a spec builds --------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_reference_spec_reproduces_the_page_at_both_levels(level):
    spec = parse_spec(REFERENCE_SPEC, level=level)
    derivation = sbp.backprop(spec.network)
    evaluation = derivation.evaluate(spec.values)
    assert float(evaluation.forward["L"]) == pytest.approx(0.7442, abs=1e-12)
    np.testing.assert_allclose(evaluation.grad["W1"], PAGE_W1_GRADIENT, atol=1e-12)
    assert sbp.check_gradients(derivation, spec.values).passed


def test_vector_spec_builds_the_same_steps_as_the_python_reference():
    from_spec = sbp.backprop(parse_spec(REFERENCE_SPEC).network)
    from_python = sbp.backprop(sbp.reference_network())
    assert [(s.kind, s.target, s.source) for s in from_spec.steps] == \
        [(s.kind, s.target, s.source) for s in from_python.steps]


def test_scalar_level_declares_every_element_as_a_symbol():
    network = parse_spec(REFERENCE_SPEC, level="scalar").network
    names = {q.name for q in network.quantities(elements=True)}
    assert {"W1_1_1", "W1_2_2", "z1_1", "h1_2", "x_2"} <= names


def test_example_spec_matches_the_page():
    spec = load_spec(EXAMPLES / "reference.toml")
    evaluation = sbp.backprop(spec.network).evaluate(spec.values)
    np.testing.assert_allclose(evaluation.grad["W1"], PAGE_W1_GRADIENT, atol=1e-12)
    assert load_values(EXAMPLES / "reference.values.json") == spec.values


def test_loss_functions_and_whitelisted_math_work_in_specs():
    text = spec_with(
        'z = "W @ x"\na = "exp(z) + log(sigmoid(z)) + sin(z) * cos(z) + sqrt(softplus(z))"\n'
        'h = "tanh(a) + leaky_relu(a, negative_slope=0.2) + identity(a)"',
        loss='L = "cross_entropy(h, y)"', inputs="x = [2]\ny = [2]",
    )
    values = {"x": [0.3, -0.2], "y": [0, 1], "W": [[0.5, -0.1], [0.2, 0.4]]}
    for level in ("vector", "scalar"):
        derivation = sbp.backprop(parse_spec(text, level=level).network)
        # Finite differences suffice here: the engine's own tests cover sympy.diff.
        assert sbp.check_gradients(derivation, values, use_sympy=False).passed, level


@pytest.mark.parametrize("loss", ["half_squared_error", "mse", "binary_cross_entropy", "bce_with_logits"])
def test_each_loss_is_available_by_name(loss):
    text = spec_with('p = "sigmoid(W @ x)"', loss=f'L = "{loss}(p, y)"', inputs="x = [2]\ny = [2]")
    values = {"x": [0.3, -0.2], "y": [0, 1], "W": [[0.5, -0.1], [0.2, 0.4]]}
    vector = sbp.backprop(parse_spec(text).network).evaluate(values)
    scalar = sbp.backprop(parse_spec(text, level="scalar").network).evaluate(values)
    np.testing.assert_allclose(vector.grad["W"], scalar.grad["W"], rtol=1e-12, atol=1e-14)


def test_scalar_level_keeps_elementwise_meaning_of_star_and_power():
    text = spec_with('h = "(W @ x) * (W @ x) + 2 * x**2 - x / 4"', loss='L = "sum(h * h)"')
    values = {"x": [1.5, -2.0], "W": [[0.5, -0.1], [0.2, 0.4]]}
    vector = sbp.backprop(parse_spec(text).network).evaluate(values)
    scalar = sbp.backprop(parse_spec(text, level="scalar").network).evaluate(values)
    assert float(vector.forward["L"]) == pytest.approx(float(scalar.forward["L"]))
    np.testing.assert_allclose(vector.grad["W"], scalar.grad["W"])


def test_transpose_is_a_function():
    text = spec_with('h = "transpose(W) @ x"')
    derivation = sbp.backprop(parse_spec(text).network)
    values = {"x": [1.0, 2.0], "W": [[1.0, 2.0], [3.0, 4.0]]}
    np.testing.assert_allclose(derivation.evaluate(values).grad["W"], [[1, 1], [2, 2]])


def test_options_relu_grad_at_zero_and_batch():
    text = REFERENCE_SPEC + '\n[options]\nrelu_grad_at_zero = "1/2"\nbatch = true\n'
    spec = parse_spec(text)
    assert spec.batch is True
    values = dict(spec.values, W1=[[0.0, 0.0], [0.0, 0.0]], b1=[0.0, 0.0])  # z1 = 0 exactly
    gradient = sbp.backprop(spec.network).evaluate(values).grad["b1"]
    default = sbp.backprop(parse_spec(REFERENCE_SPEC).network).evaluate(values).grad["b1"]
    assert np.all(default == 0) and np.all(gradient != 0)


def test_values_file_numbers_as_text_are_exact(tmp_path):
    path = tmp_path / "values.toml"
    path.write_text('x = ["1/3", "-2.5e-3"]\ny = 3\nW = [[1, 2.5], ["7/2", 0]]\n')
    values = load_values(path)
    assert values == {"x": [Fraction(1, 3), Fraction(-1, 400)], "y": 3, "W": [[1, 2.5], [Fraction(7, 2), 0]]}


def test_values_file_may_be_a_values_table(tmp_path):
    path = tmp_path / "values.toml"
    path.write_text("[values]\nb = 1\n")
    assert load_values(path) == {"b": 1}


def test_spec_functions_are_the_documented_whitelist():
    assert set(SPEC_FUNCTIONS) == {
        "relu", "sigmoid", "tanh", "softplus", "identity", "leaky_relu", "exp", "log", "sin", "cos",
        "sqrt", "sum", "transpose", "half_squared_error", "mse", "binary_cross_entropy",
        "bce_with_logits", "cross_entropy", "gelu", "gelu_tanh", "silu", "mish", "asinh", "acosh", "atanh", "erf",
        "erfc", "loggamma", "digamma", "sinc", "concat", "softmax", "log_softmax",
        "abs", "mean", "total", "maximum", "max", "min", "reshape", "permute", "conv2d", "max_pool2d",
        "avg_pool2d",
    }
    documented = (Path(__file__).resolve().parent.parent / "docs" / "spec-format.md").read_text(encoding="utf-8")
    for name in SPEC_FUNCTIONS:
        assert f"`{name}" in documented, name


# -- what a spec refuses, with the place it is wrong --------------------------------------------


@pytest.mark.parametrize(("text", "error", "message"), [
    ("[inputs\nx = 1", SpecError, "not valid TOML"),
    ("[layers]\nx = 1", SpecError, "unknown section 'layers'"),
    ("inputs = 3", SpecError, "[inputs] must be a table"),
    ("[loss]\nL = \"1\"", SpecError, "declares no [inputs] and no [params]"),
    (spec_with('h = "W @ x"', loss=""), SpecError, "exactly one name"),
    (spec_with('h = "W @ x"', loss='L = "sum(h)"\nM = "sum(h)"'), SpecError, "exactly one name"),
    (spec_with('h = "W @ x"', inputs="x = [2, 1.5]"), SpecError, "[inputs] x: a shape is"),
    (spec_with('h = "W @ x"', inputs="x = [0]"), SpecError, "between 1 and"),
    (spec_with('h = "W @ x"', inputs='x = "2x1"'), SpecError, "a shape is"),
    (spec_with('h = "W @ x"', inputs="x = [true, 1]"), SpecError, "a shape is"),
    (spec_with("h = 3"), SpecError, "[nodes] h: expected an expression in quotes"),
    (spec_with('h = "W @ v"'), ExpressionError, "[nodes] h: unknown name 'v'"),
    (spec_with('h = "W @ W @ x @ x"'), ShapeMismatchError, "[nodes] h:"),
    (spec_with('h = "logsumexp(W @ x)"'), ExpressionError, "unknown function 'logsumexp'"),
    (spec_with('h = "W @ x"', loss='L = "h"'), NonScalarLossError, "[loss] L:"),
    (spec_with('h = "W @ x"\nx = "h"'), DuplicateNameError, "[nodes] x: name 'x' is already defined"),
    (spec_with('h = "W @ x"', params='"2W" = [2, 2]'), InvalidNameError, "invalid name '2W'"),
    (spec_with('exp = "W @ x"'), SpecError, "'exp' is the name of a function"),
    (REFERENCE_SPEC + "[options]\nfast = true\n", SpecError, "unknown option"),
    (REFERENCE_SPEC + "[options]\nbatch = 1\n", SpecError, "expected true or false"),
    (REFERENCE_SPEC.replace("y = 3", 'y = "three"'), SpecError, "'three' is not a number"),
    (REFERENCE_SPEC.replace("b2 = 0.1", "b2 = true"), SpecError, "expected a number, got true/false"),
    (REFERENCE_SPEC.replace("x = [1, 2]", "x = [[1, 2], [3]]"), SpecError, "rows of different lengths"),
])
def test_bad_specs_say_where_and_what(text, error, message):
    with pytest.raises(error) as caught:
        parse_spec(text, source="net.toml")
    assert message in str(caught.value)
    assert isinstance(caught.value, SymbackpropError)


def test_scalar_level_refuses_networks_too_large_to_write_out():
    text = spec_with('h = "W @ x"', params="W = [100, 100]", inputs="x = [100]")
    parse_spec(text)  # fine at the vector level
    with pytest.raises(SpecError, match="scalar level"):
        parse_spec(text, level="scalar")


@pytest.mark.parametrize(("content", "suffix", "message"), [
    ('{"x": [1, 2], "W": {"a": 1}}', ".json", "expected a number or a list"),
    ('{"x": [1, 2', ".json", "not valid JSON"),
    ("[1, 2]", ".json", "values must be a table"),
    ('{"__class__": 1}', ".json", "invalid name '__class__'"),
    ('{"x": "1 + q"}', ".json", "is not a number"),
    ('{"x": [[[[1]]]]}', ".json", "nested more than 3 deep"),
    ("[" * 100_000 + "]" * 100_000, ".json", "not valid JSON"),
    ("x = 1", ".yaml", "ends in .toml or .json"),
], ids=["table-value", "broken-json", "not-a-table", "dunder-name", "expression", "too-deep", "deep-brackets",
        "unknown-suffix"])
def test_bad_values_files_are_refused(tmp_path, content, suffix, message):
    path = tmp_path / f"values{suffix}"
    path.write_text(content)
    with pytest.raises(SpecError, match=message.replace("[", r"\[")):
        load_values(path)


def test_values_that_do_not_fit_the_network_are_reported_by_the_engine():
    spec = parse_spec(REFERENCE_SPEC)
    derivation = sbp.backprop(spec.network)
    for change, message in [({"W1": [1, 2]}, "expected shape (2, 2)"), ({"z1": [1, 1]}, "computed"),
                            ({"b2": float("nan")}, "NaN")]:
        with pytest.raises(SymbackpropError, match=message.replace("(", r"\(").replace(")", r"\)")):
            derivation.evaluate(dict(spec.values, **change))


# -- hostile text: refused quickly, nothing executed -----------------------------------------------

ATTACKS = [
    "__import__('os').system('touch {marker}')",
    "x.__class__.__mro__",
    "W.T",
    "(lambda: 0)()",
    "[i for i in (1, 2)]",
    "9**9**9**9",
    "(" * 10_000 + "x" + ")" * 10_000,
    "open('{marker}', 'w')",
    "exec('open(\"{marker}\", \"w\")')",
    "sum(x) if 1 else 0",
    "'{marker}'",
    "x[__import__('os').system('touch {marker}')]",
    "x[W]",
    "x[0].__class__",
    "__builtins__",
    "relu(*x)",
    "x + 1e999999",
]


@pytest.mark.parametrize("attack", ATTACKS, ids=range(len(ATTACKS)))
def test_attack_strings_are_refused_fast_and_run_nothing(tmp_path, attack, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "marker"
    node = attack.format(marker=marker)
    text = spec_with(f"h = {json.dumps(node)}")
    started = time.perf_counter()
    with pytest.raises(SymbackpropError) as caught:
        parse_spec(text)
    assert time.perf_counter() - started < 1.0
    assert "[nodes] h:" in str(caught.value)
    assert not marker.exists()


def test_attack_strings_in_values_files_run_nothing(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"x": f"__import__('os').system('touch {marker}')"}))
    with pytest.raises(SpecError):
        load_values(path)
    assert not marker.exists()


def test_huge_spec_files_are_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("# " + "x" * 2_000_000)
    with pytest.raises(SpecError, match="larger than"):
        load_spec(path)


def test_values_from_mapping_rejects_non_numbers():
    with pytest.raises(SpecError, match="expected a number"):
        values_from_mapping({"x": None})
    with pytest.raises(SpecError, match="invalid name"):
        values_from_mapping({"not a name": 1})


@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize(("node", "culprit", "reason"), [
    ("W @ x + 1/0", "'1/0' at column 9", r"complex infinity \(zoo\), as from a division by zero or log\(0\)"),
    ("W @ x * log(0)", "'log(0)' at column 9", r"complex infinity \(zoo\)"),
    ("W @ x + exp(exp(exp(exp(1000))))", "'exp(1000)' at column 21",
     r"the number exp\(1000\) is too large for floating point"),
    ("W @ x + sqrt(-1)", "'sqrt(-1)' at column 9", r"imaginary unit I"),
])
def test_numbers_that_are_not_finite_reals_are_refused_where_written(node, culprit, reason, level):
    expected = rf"^<spec>: \[nodes\] h: cannot compute {re.escape(culprit)}: .*{reason}"
    with pytest.raises(ExpressionError, match=expected):
        parse_spec(spec_with(f'h = "{node}"'), level=level)


@pytest.mark.parametrize(("level", "error", "message"), [
    ("vector", InvalidNumberError, "cannot divide x by zero"),
    ("scalar", ExpressionError, r"cannot compute 'x / 0' at column 6: it contains complex infinity"),
])
def test_a_quantity_divided_by_zero_is_refused(level, error, message):
    with pytest.raises(error, match=r"^<spec>: \[nodes\] h: " + message):
        parse_spec(spec_with('h = "W @ (x / 0)"'), level=level)
