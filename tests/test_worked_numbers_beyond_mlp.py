"""The whole page's worked example on networks beyond the MLP: every number it prints is the network's.

The page is read back as a reader would read it: each forward-pass entry's last value
and each ``∂L/∂θ`` entry's last value are parsed from the Markdown and compared with
``Derivation.evaluate`` (itself checked against PyTorch elsewhere), to the places
printed.  Every section of the reference page is there, in its order, in both
languages; the LaTeX of the harder pages compiles without an overfull box.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.printing.names import Notation
from tests.test_page import headings, section
from tests.test_typesetting import overfull_boxes
from tests.tooling import compile_latex, require_pdflatex


def _scalar_level() -> sbp.Network:
    net = sbp.Network()
    x = net.input("x", (2, 1), elements=True)
    y = net.input("y")
    W = net.param("W", (2, 2), elements=True)
    a = net.param("a")
    z = net.node("z", sp.Matrix([W[0, 0] * x[0] + W[0, 1] * x[1], W[1, 0] * x[0] * a]))
    h = net.node("h", sp.Matrix([sbp.tanh(z[0]), sbp.sigmoid(z[1])]))
    net.loss("L", (h[0] + h[1] - y) ** 2 / 2)
    return net


def _scalars_only() -> sbp.Network:
    net = sbp.Network()
    x, y, w, b = net.input("x"), net.input("y"), net.param("w"), net.param("b")
    h = net.node("h", sbp.sigmoid(net.node("z", w * x + b)))
    net.loss("L", (h - y) ** 2 / 2)
    return net


def _sum_times_a_tensor_and_a_power() -> sbp.Network:
    net = sbp.Network()
    x, y = net.input("x", (3, 1)), net.input("y", (2, 1))
    W, c = net.param("W", (2, 3)), net.param("c")
    z = net.node("z", W @ x)
    s = net.node("s", sbp.total(z) * z + c)
    net.loss("L", sbp.half_squared_error(s, y) + c ** 2 / 4)
    return net


NETWORKS = {
    "mlp_tanh": lambda: sbp.models.mlp([3, 4, 2], activation="tanh"),
    "residual_block": lambda: sbp.models.residual_block(3, hidden=4, activation="tanh"),
    "layer_norm": lambda: sbp.models.layer_norm(4),
    "rms_norm_tokens": lambda: sbp.models.rms_norm(3, T=2),
    "swiglu": lambda: sbp.models.swiglu_mlp(3, 4),
    "attention_head": lambda: sbp.models.attention_head(4, T=3, d_k=2, d_v=3),
    "rnn": lambda: sbp.models.rnn(2, 3, T=3),
    "scalar_level": _scalar_level,
    "scalars_only": _scalars_only,
    "sum_times_a_tensor_and_a_power": _sum_times_a_tensor_and_a_power,
}


def prepared(name: str):
    """The derivation of ``NETWORKS[name]`` and random values of its inputs and parameters."""
    net = NETWORKS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = sbp.backprop(net)
    rng = np.random.default_rng(sum(map(ord, name)))
    values = {q.name: rng.normal(size=q.matrix_shape) for q in net.quantities("input", "param")}
    return d, values


_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)(?:\s*\\times\s*10\^\{(-?\d+)\})?")


def parse_value(text: str) -> np.ndarray:
    """A printed number or bmatrix as an array (rows × columns)."""
    text = text.strip().removesuffix(r"\\").strip()
    text = re.sub(r"\\left\(|\\right\)", "", text)
    match = re.fullmatch(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}", text, re.S)
    rows = re.split(r"\\\\(?:\[6pt\])?", match.group(1)) if match else [text]
    parsed = []
    for row in rows:
        cells = []
        for cell in row.split("&"):
            number = _NUMBER.fullmatch(cell.strip())
            assert number, f"not a printed number: {cell!r} in {text!r}"
            cells.append(float(number.group(1)) * 10.0 ** int(number.group(2) or 0))
        parsed.append(cells)
    return np.array(parsed)


def entries(block: str) -> dict[str, str]:
    """Each aligned entry's left-hand side and the text after its last '=' (its value)."""
    found: dict[str, str] = {}
    lhs = None
    for line in block.splitlines():
        line = line.strip()
        if "&\\leftarrow" in line:  # the update step that follows: not a value of the pass
            lhs = None
        if "&=" not in line:
            continue
        left, right = line.split("&=", 1)
        if left.strip():
            lhs = left.strip()
        if lhs is not None:
            found[lhs] = right.rsplit("=", 1)[-1]  # a later entry of the same name (a total) wins
    return found


def assert_printed(printed: str, actual, decimals: int, what: str) -> None:
    shown, actual = parse_value(printed), np.asarray(actual, dtype=float)
    assert shown.size == actual.size, f"{what}: {shown.shape} printed for {actual.shape}"
    actual = actual.reshape(shown.shape)
    # a rounded number is within half a unit of its last place; a tiny one keeps significant digits
    tolerance = 0.5 * 10.0 ** -decimals + 1e-9 + 0.05 * np.abs(actual) * (np.abs(actual) < 10.0 ** -decimals)
    assert np.all(np.abs(shown - actual) <= tolerance), f"{what}: printed {shown}, evaluated {actual}"


@pytest.mark.parametrize("decimals", [2, 4])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_every_number_of_the_worked_example_is_the_networks(name, decimals):
    d, values = prepared(name)
    net, evaluation = d.network, d.evaluate(values)
    notation = Notation(net)
    worked = section(d.to_markdown(values, page="full", decimals=decimals), "Worked example")
    assert "+ -" not in worked and "- -" not in worked, f"{name}: a sign printed twice"
    forward, backward = worked.split("### Backward Pass")
    shown = entries(forward)
    for q in _scalars_or_tensors(net, "node", "loss"):
        assert notation.name(q.name) in shown, f"{name}: the forward pass has no value of {q.name}"
        assert_printed(shown[notation.name(q.name)], _value(evaluation.forward, q), decimals, f"{name}: {q.name}")
    shown = entries(backward)
    for q in _scalars_or_tensors(net, "param"):
        if q.name in d.unreached:
            continue
        lhs = notation.adjoint(q.name)
        assert lhs in shown, f"{name}: the backward pass has no ∂L/∂{q.name}"
        assert_printed(shown[lhs], _value(evaluation.grad, q), decimals, f"{name}: ∂L/∂{q.name}")


def _scalars_or_tensors(net: sbp.Network, *kinds: str):
    """The quantities a page shows one by one: a tensor whole, a tensor written element by element per element."""
    return [q for q in net.quantities(*kinds, elements=True) if q.elements is None]


def _value(values: dict, quantity):
    if quantity.group is None:
        return values[quantity.name]
    return np.asarray(values[quantity.group], dtype=float)[quantity.index]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_network_gets_every_section_of_the_page_in_order(lang):
    reference = sbp.backprop(sbp.reference_network())
    with_values = headings(reference.to_markdown(sbp.reference_values(), page="full", lang=lang, decimals=2))
    without = headings(reference.to_markdown(None, page="full", lang=lang))
    assert len(without) < len(with_values)  # no worked example without numbers
    for name in NETWORKS:
        d, values = prepared(name)
        assert headings(d.to_markdown(values, page="full", lang=lang, decimals=2)) == with_values, name
        assert headings(d.to_markdown(None, page="full", lang=lang)) == without, f"{name} without values"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("name", ["attention_head", "rnn", "scalar_level"])
def test_the_page_compiles_without_an_overfull_box(tmp_path, name, lang):
    require_pdflatex(korean=lang == "ko")
    d, values = prepared(name)
    path = d.write(tmp_path / f"{name}-{lang}.tex", values, page="full", lang=lang, decimals=2)
    compiled = compile_latex(path.read_text(encoding="utf-8"))
    assert compiled.ok, compiled.log[-2000:]
    assert overfull_boxes(compiled.log) == [], name


_EQUATION = re.compile(r"^(\\frac\{\\partial [^{}]+\}\{\\partial [^{}]+\}) &?= (.*?)(?:\\\\)?$", re.M)


@pytest.mark.parametrize("page", ["derivation", "full"])
def test_no_gradient_is_written_in_terms_of_itself(page):
    """Where c reaches the loss directly and through s, the loss's own term is ∂L/∂c|_s, not ∂L/∂c."""
    for name in NETWORKS:
        d, values = prepared(name)
        for lhs, rhs in _EQUATION.findall(d.to_markdown(values, page=page)):
            unheld = re.sub(r"\\left\.\\frac\{[^{}]*\}\{[^{}]*\}\\right\|_\{[^{}]*\}", "", rhs)
            assert lhs not in unheld, f"{name}: {lhs} = {rhs}"
    d, values = prepared("sum_times_a_tensor_and_a_power")
    text = d.to_markdown(values, page=page)
    assert r"\left.\frac{\partial L}{\partial c}\right|_{s}" in text


def test_writing_a_document_warns_only_once_about_an_unused_parameter():
    d, values = prepared("scalar_level")
    assert "W_2_2" in d.unreached
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.to_markdown(values, page="full")
