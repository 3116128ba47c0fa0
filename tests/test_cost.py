"""Operation counts: the definition on single expressions, the reference network by hand, and the naive way."""

from __future__ import annotations

import time

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import tensor as T
from symbackprop.cost import (
    count_operations,
    naive_operations,
    operations,
    sample_positions,
    scalar_operations,
    tensor_operations,
)
from symbackprop.ops.activations import ReLU

a, b, c, x, y = sp.symbols("a b c x y", real=True)


@pytest.mark.parametrize(("expr", "expected"), [
    (x, 0), (sp.Integer(3), 0),
    (x - y, 1),                      # one subtraction: the sign is part of it
    (-x, 1),                         # a lone negation
    (-x * y, 2),
    (x + y + a, 2),
    (-a - b, 1),
    (x / y, 1), (1 / y, 1), (1 / (a * b), 2), (x / y**2, 2),
    (2 * x, 1), (x**2, 1), (sp.Rational(1, 2) * (x - y) ** 2, 3),
    (sp.exp(-x), 2), (ReLU(a * x + b), 3), (sp.Heaviside(x, 0), 1),
])
def test_scalar_operation_definition(expr, expected):
    assert scalar_operations(expr) == expected


def test_a_repeated_subexpression_counts_each_time():
    inner = ReLU(a * x + b)  # 3 operations
    assert scalar_operations(sp.exp(inner) + sp.sin(inner)) == (1 + 3) + (1 + 3) + 1


def test_matrix_product_counts_mnk_multiplications_and_mn_k_minus_1_additions():
    W, v = T.Ref("W", (3, 4)), T.Ref("v", (4, 2))
    assert tensor_operations(W @ v) == 3 * 2 * 4 + 3 * 2 * 3
    assert tensor_operations(W.T) == 0
    assert tensor_operations((W @ v) + T.Ref("B", (3, 2))) == 42 + 6
    assert tensor_operations(sbp.relu(T.Ref("z", (5, 1)))) == 5
    assert tensor_operations(T.Ref("z", (5, 1)) - T.Ref("u", (5, 1))) == 5  # subtractions
    assert tensor_operations(T.total(T.Ref("z", (5, 1)))) == 4


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


def test_reference_network_counted_by_hand(reference):
    counts = count_operations(reference)
    # z1 = W1 x + b1: 4 ×, 2 + (the product), 2 + (the bias); h1 = relu: 2; z2 = W2 h1 + b2: 2 ×, 1 +, 1 +;
    # h2 = relu: 1; L = ½(h2 − y)²: one −, one square, one ×½.
    assert dict(counts.per_node) == {"z1": 8, "h1": 2, "z2": 4, "h2": 1, "L": 3}
    assert counts.forward == 18
    # h2 − y: 1; ∂L/∂h2·H(z2): 2; ∂L/∂z2 h1ᵀ: 2; ∂L/∂b2: 0; W2ᵀ ∂L/∂z2: 2; ∂L/∂h1 ⊙ relu′(z1): 2 × and 2 f;
    # ∂L/∂z1 xᵀ: 4; ∂L/∂b1: 0.
    assert counts.backward == 1 + 2 + 2 + 0 + 2 + 4 + 4 + 0 == 15
    # ∂L/∂y = y − h2: 1; ∂L/∂x = W1ᵀ ∂L/∂z1: 4 × and 2 +.
    assert counts.input_gradients == 7
    assert counts.backprop == 33
    assert counts.backprop_ratio == pytest.approx(33 / 18)


def test_reference_naive_count_recomputed_independently(reference):
    W = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"w{i}{j}", real=True))
    b1 = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"c{i}", real=True))
    W2 = sp.Matrix(1, 2, lambda i, j: sp.Symbol(f"v{j}", real=True))
    b2 = sp.Symbol("d", real=True)
    xs = sp.Matrix([sp.Symbol("x0", real=True), sp.Symbol("x1", real=True)])
    h1 = (W * xs + b1).applyfunc(ReLU)
    h2 = ReLU((W2 * h1)[0, 0] + b2)
    loss = sp.Rational(1, 2) * (h2 - y) ** 2
    expected = sum(scalar_operations(sp.diff(loss, p)) for p in [*W, *b1, *W2, b2])
    naive = naive_operations(reference)
    assert naive.method == "exact" and not naive.estimated
    assert naive.parameters == naive.derived == 9
    assert naive.operations == expected
    assert naive.loss_operations == scalar_operations(loss)


def test_one_parameter_by_hand():
    net = sbp.Network()
    xs, ys, w = net.input("x"), net.input("y"), net.param("w")
    net.loss("L", sp.Rational(1, 2) * (w * xs - ys) ** 2)
    report = sbp.backprop(net).cost(naive="measured")
    assert report.forward == 4          # w·x, − y, square, ×½
    assert report.naive.operations == 3  # x·(w·x − y)
    assert report.backward == 3          # the one step is the same x·(w·x − y): nothing to share here
    assert sbp.backprop(net).cost().naive.operations == 4  # counted: one forward pass for the one parameter


def test_report_ratios_and_summary(reference):
    report = reference.cost()
    assert report.parameters == 9 and report.page_naive_ratio == 9
    assert report.naive_ratio == pytest.approx(report.naive.operations / 18)
    assert report.speedup == pytest.approx(report.naive.operations / 33)
    text = str(report)
    assert "forward pass" in text and "18" in text and "1.83" in text and "sympy.diff" in text


def test_derivation_delegates_with_options(reference):
    assert reference.cost(naive=False).naive is None


@pytest.mark.parametrize(("sizes", "activation", "loss"), [
    ([2, 3, 1], "relu", "half_squared_error"),
    ([3, 4, 2], "sigmoid", "mse"),
    ([2, 3, 3, 2], "tanh", "bce_with_logits"),
    ([2, 3, 1], "leaky_relu", "binary_cross_entropy"),
    ([3, 4, 2], "identity", "mse"),
])
def test_one_definition_for_both_levels(sizes, activation, loss):
    output = "sigmoid" if loss == "binary_cross_entropy" else activation
    counts = [count_operations(sbp.backprop(sbp.mlp(sizes, activation, output, loss, level=level)))
              for level in ("vector", "scalar")]
    assert (counts[0].forward, counts[0].backward, counts[0].input_gradients) == \
           (counts[1].forward, counts[1].backward, counts[1].input_gradients)


def test_mlp_counts_follow_the_layer_formulas():
    sizes = [3, 5, 4, 2]
    counts = count_operations(sbp.backprop(sbp.mlp(sizes, "relu", "relu", "half_squared_error")))
    layers = list(zip(sizes[:-1], sizes[1:]))
    # each layer: W·h (m·n ×, (m − 1)·n +), + b (n), relu (n); SymPy writes ½Σ(h − y)² as Σ (h − y)²/2:
    # per output one −, one square, one ×½, and n − 1 additions
    outputs = sizes[-1]
    assert counts.forward == sum(2 * m * n + n for m, n in layers) + 4 * outputs - 1
    backward = 0
    for k, (m, n) in enumerate(reversed(layers)):
        backward += 2 * n          # ∂L/∂h ⊙ relu′(z): n × and n relu′
        backward += n * m          # ∂L/∂W = ∂L/∂z hᵀ
        if k < len(layers) - 1:
            backward += n * m + (n - 1) * m  # ∂L/∂h below = Wᵀ ∂L/∂z
    backward += sizes[-1]          # h − y
    assert counts.backward == backward


def test_sampled_estimate_equals_the_exact_count():
    d = sbp.backprop(sbp.mlp([2, 3, 3, 1]))
    exact = naive_operations(d, cap=1000)
    sampled = naive_operations(d, cap=5, sample=2)
    assert exact.method == "exact" and sampled.method == "sampled" and sampled.estimated
    assert sampled.derived == 2 * 6 - 1  # b2 is a single element
    assert sampled.operations == exact.operations  # the elements of one weight have derivatives of one form
    assert all(g.estimated for g in sampled.groups if g.elements > 2)


def test_the_sample_is_fixed_elements_of_each_parameter(monkeypatch):
    d = sbp.backprop(sbp.mlp([4, 8, 8, 1], level="scalar"))  # 121 elements, over the cap of 64
    derived = []
    differentiate = sp.diff
    monkeypatch.setattr(sp, "diff", lambda expr, symbol: derived.append(symbol) or differentiate(expr, symbol))
    naive = naive_operations(d)
    assert naive.method == "sampled" and naive.reason == "over_cap" and naive.per_parameter == 2
    groups = {g.name: g for g in naive.groups}
    assert groups["W1"].positions == ((0, 0), (7, 3)) and groups["W2"].positions == ((0, 0), (7, 7))
    assert groups["b3"].positions == ((0, 0),) and not groups["b3"].estimated
    assert len(derived) == naive.derived == 2 * 5 + 1
    assert "the first and the last element of each parameter" in naive.note and "cap of 64" in naive.note


def test_the_work_bound_shrinks_the_sample_to_one_element_per_parameter():
    d = sbp.backprop(sbp.mlp([2, 3, 3, 1]))
    loss = scalar_operations(d.forward_expression(d.loss))
    naive = naive_operations(d, cap=1000, work=6 * loss)  # one element for each of the six parameters
    assert naive.method == "sampled" and naive.reason == "over_work" and naive.derived == 6
    assert all(g.positions == ((0, 0),) for g in naive.groups)
    assert f"{naive.limit:,}" in naive.note and "work bound" in naive.note
    assert sample_positions(10, 3) == [0, 4, 9] and sample_positions(3, 5) == [0, 1, 2]


def test_the_naive_count_has_no_clock(monkeypatch):
    d = sbp.backprop(sbp.mlp([2, 3, 3, 1]))
    first = naive_operations(d, cap=5)
    ticks = iter(range(0, 10**9, 1000))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))
    monkeypatch.setattr(time, "monotonic", lambda: float(next(ticks)))
    assert naive_operations(d, cap=5) == first


def test_summaries_in_both_languages(reference):
    report = reference.cost(naive="measured")
    english, korean = report.summary("en"), report.summary("ko")
    assert english == str(report) and "forward pass" in english and "every one of the 9" in english
    assert "파라미터 원소 9개 모두" in korean and "18" in korean
    counted = reference.cost()
    assert "counted, not measured: one forward pass (18 operations) for each of the 9" in str(counted)
    assert "측정하지 않고 센 값: 파라미터 원소 9개마다 forward pass 한 번 (연산 18개)" in counted.summary("ko")


@pytest.mark.parametrize("sizes", [[2, 256, 256, 1], [4] * 13])
def test_big_networks_do_not_hang(sizes):
    d = sbp.backprop(sbp.mlp(sizes))
    counted = d.cost().naive
    assert counted.method == "counted" and counted.operations == counted.parameters * d.cost().forward
    report = d.cost(naive="measured")
    assert report.naive.method == "skipped" and report.naive.operations is None
    assert report.naive_ratio is None and report.speedup is None
    assert "not attempted" in report.naive.note and "—" in str(report)
    assert report.backward_ratio < 1.6


def test_batch_derivation_counts_its_seed():
    plain = count_operations(sbp.backprop(sbp.reference_network()))
    batch = count_operations(sbp.backprop(sbp.reference_network(), batch=True))
    assert batch.forward == plain.forward
    assert dict(batch.per_step)[0] == 1  # 1/N


def test_operations_dispatches_on_kind():
    assert operations(x * y + 1) == 2
    assert operations(T.Ref("W", (2, 2)) @ T.Ref("v", (2, 1))) == 6
