"""Networks far past the textbook: long sequences, deep stacks and long specs derive, compile and print.

Nothing here is timed; what is checked is that no stage recurses as deep as the network (Python's
stack holds about a thousand frames) and that the gradients of long flat sums and deep chains are
right, against finite differences of a forward pass written here in NumPy.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop import tensor as T
from symbackprop.analysis.paths import chain_paths
from symbackprop.cli import main
from symbackprop.derivation import SUM
from symbackprop.printing.names import Notation
from symbackprop.printing.tensors import TensorPrinter

RNG_SEED = 20


def _values(network: sbp.Network, scale: float = 0.5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(RNG_SEED)
    return {q.name: np.asarray(rng.normal(size=q.shape) * scale) for q in network.quantities("input", "param")}


def _rnn_loss(values: dict[str, np.ndarray]) -> float:
    """½‖[h1 … hT] − y‖² of h_t = tanh(W h_{t−1} + U x_t + b), written out step by step."""
    h, states = values["h0"], []
    for t in range(values["X"].shape[1]):
        h = np.tanh(values["W"] @ h + values["U"] @ values["X"][:, t:t + 1] + values["b"])
        states.append(h)
    return 0.5 * float(np.sum((np.hstack(states) - values["y"]) ** 2))


def _mlp_loss(values: dict[str, np.ndarray], depth: int) -> float:
    """tanh layers, an identity output and ½(h − y)², as _deep_mlp builds them."""
    h = values["x"]
    for layer in range(1, depth + 1):
        z = values[f"W{layer}"] @ h + values[f"b{layer}"]
        h = z if layer == depth else np.tanh(z)
    return 0.5 * float(np.sum((h - values["y"]) ** 2))


def _deep_mlp(width: int, depth: int) -> sbp.Network:
    return sbp.mlp([width] * depth + [1], activation="tanh", output_activation="identity")


def _central_difference(loss, values: dict[str, np.ndarray], name: str, index: tuple[int, ...],
                        step: float = 1e-6) -> float:
    shifted = {key: value.copy() for key, value in values.items()}
    shifted[name][index] += step
    above = loss(shifted)
    shifted[name][index] -= 2 * step
    return (above - loss(shifted)) / (2 * step)


def _agrees_with_finite_differences(gradients: dict[str, np.ndarray], loss, values: dict[str, np.ndarray],
                                    elements: list[tuple[str, tuple[int, ...]]]) -> None:
    for name, index in elements:
        expected = _central_difference(loss, values, name, index)
        assert np.asarray(gradients[name])[index] == pytest.approx(expected, rel=1e-5, abs=1e-7), (name, index)


@pytest.fixture
def shallow_stack():
    """A Python stack far shallower than any of the networks below is deep."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)
    yield
    sys.setrecursionlimit(limit)


# -- a flat sum: one term per step of a long sequence ---------------------------------------------


def test_a_gradient_over_many_paths_is_one_flat_sum():
    d = sbp.backprop(sbp.models.rnn(2, 3, 40))
    (total,) = [s for s in d.steps if s.kind == SUM and s.target == "W"]
    assert isinstance(total.result, T.AddAll)
    assert len(total.result.terms) == 40
    assert all(not isinstance(term, (T.Add, T.AddAll)) for term in total.result.terms)


def test_a_long_flat_sum_prints_its_first_and_last_terms():
    network = sbp.models.rnn(2, 3, 40)
    d = sbp.backprop(network)
    (total,) = [s for s in d.steps if s.kind == SUM and s.target == "W"]
    text = TensorPrinter(Notation(network)).doprint(total.result)
    assert text.count(r"\cdots") == 1
    assert text.count(" + ") == 6  # four terms, ⋯, the last two


def test_a_short_flat_sum_prints_as_the_two_term_sums_did():
    network = sbp.Network()
    a, b, c = (network.input(n, (2, 1)) for n in "abc")
    printer = TensorPrinter(Notation(network))
    flat = T.add_all([a, T.scale(-2, b), c])
    assert printer.doprint(flat) == printer.doprint(T.add(T.add(a, T.scale(-2, b)), c))


def test_a_flat_sum_refuses_shapes_that_do_not_broadcast():
    with pytest.raises(sbp.ShapeMismatchError):
        T.add_all([T.Ref("a", (2, 1)), T.Ref("b", (1, 3)), T.Ref("c", (3, 1))])


@pytest.mark.parametrize("steps", [2, 17, 300])
def test_backpropagation_through_time_against_finite_differences(steps):
    network = sbp.models.rnn(2, 3, steps)
    values = _values(network)
    gradients = sbp.backprop(network).lambdify()(**values)
    _agrees_with_finite_differences(gradients, _rnn_loss, values,
                                    [("W", (0, 1)), ("W", (2, 2)), ("U", (1, 0)), ("b", (2, 0))])


@pytest.mark.parametrize("depth", [3, 40, 200])
def test_a_deep_chain_against_finite_differences(depth):
    network = _deep_mlp(3, depth)
    values = _values(network, scale=0.9)
    gradients = sbp.backprop(network).lambdify()(**values)
    _agrees_with_finite_differences(gradients, lambda v: _mlp_loss(v, depth), values,
                                    [("W1", (0, 0)), ("b1", (1, 0)), (f"W{depth}", (0, 2)), (f"b{depth}", ()),
                                     (f"b{depth // 2 + 1}", (0, 0))])


# -- trees as deep as the network: shape, hash and equality never recurse --------------------------


def test_a_left_deep_chain_of_additions_has_a_shape_a_hash_and_an_equality(shallow_stack):
    def chain():
        total = T.Ref("a", (2, 1))
        for _ in range(5000):
            total = total + T.Ref("b", (2, 1))
        return total

    first, second = chain(), chain()
    assert first.shape == (2, 1)
    assert hash(first) == hash(second)
    assert first == second
    assert first != second + T.Ref("c", (2, 1))


def test_paths_of_a_deep_network_are_walked_without_recursion(shallow_stack):
    d = sbp.backprop(sbp.mlp([2] * 600 + [1]))
    found, total = chain_paths(d, limit=3, keep=4).into("W1")
    assert total == 1 and found[0].head[0] == d.loss and found[0].last == "W1"
    assert found[0].length == 1 + 2 * 600 + 1  # L, then h and z of every layer, then W1


# -- the sizes of the issue ----------------------------------------------------------------------


@pytest.mark.slow
def test_an_rnn_of_ten_thousand_steps_derives_compiles_and_prints():
    network = sbp.models.rnn(2, 3, 10_000)
    d = sbp.backprop(network)
    values = _values(network, scale=0.3)
    gradients = d.lambdify()(**values)
    _agrees_with_finite_differences(gradients, _rnn_loss, values, [("W", (1, 2)), ("U", (0, 1)), ("b", (1, 0))])
    text = d.to_markdown(sections=())
    assert r"\cdots" in text


@pytest.mark.slow
def test_an_mlp_two_thousand_layers_deep_derives_compiles_and_evaluates():
    depth = 2_000
    network = _deep_mlp(2, depth)
    d = sbp.backprop(network)
    values = _values(network, scale=0.9)
    gradients = d.lambdify()(**values)
    _agrees_with_finite_differences(gradients, lambda v: _mlp_loss(v, depth), values,
                                    [(f"W{depth}", (0, 1)), (f"b{depth}", ()), (f"W{depth - 1}", (1, 0))])
    np.testing.assert_allclose(d.evaluate(values).grad["W1"], gradients["W1"], rtol=1e-12, atol=1e-300)
    text = d.to_markdown()  # every default section: the efficiency and memory sections too
    assert f"W_{{{depth}}}" in text and "W_{1}" in text and r"\cdots" in text
    assert len(text) < 4_000 * depth  # each layer's share of the text is bounded, not as long as the network


@pytest.mark.slow
def test_a_document_of_a_network_deeper_than_the_stack_is_written(shallow_stack):
    # Deeper than the stack allows frames: nothing on the way recurses along the layers.
    d = sbp.backprop(_deep_mlp(1, 300))
    values = _values(_deep_mlp(1, 300), scale=0.9)
    text = d.to_markdown(values)  # the default sections, the gradient flow among them
    assert "W_{300}" in text and "W_{1}" in text


@pytest.mark.slow
def test_a_spec_of_five_thousand_chained_nodes_derives_from_the_command_line(tmp_path):
    count = 5_000
    lines = ["[inputs]", "x = [2, 1]", "y = [2, 1]", "[params]", "W = [2, 2]", "b = [2, 1]", "[nodes]",
             'h0 = "tanh(W @ x + b)"']
    lines += [f'h{i} = "tanh(W @ h{i - 1} + b)"' for i in range(1, count)]
    lines += ["[loss]", f'L = "sum((h{count - 1} - y)**2)"']
    spec = tmp_path / "chain.toml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "chain.md"
    assert main(["derive", str(spec), "-o", str(out), "--sections", "none"]) == 0
    assert f"h_{{{count - 1}}}" in out.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_gradient_flow_of_a_long_recurrence_is_written(shallow_stack):
    # each hidden state's upstream product is built from the next one's: a chain as long as T
    network = sbp.models.rnn(2, 3, 300)
    d = sbp.backprop(network)
    text = d.to_markdown(_values(network, scale=0.3))  # the default sections, the gradient flow among them
    assert "Gradient flow: vanishing and exploding gradients" in text and "h_{300}" in text


def test_the_garbage_collector_is_paused_only_while_a_derivation_is_built():
    import gc

    from symbackprop import collector

    seen = []
    original = collector.gc.disable

    def disable():
        seen.append("paused")
        original()

    collector.gc.disable = disable
    try:
        d = sbp.backprop(sbp.reference_network())
        d.lambdify()
    finally:
        collector.gc.disable = original
    assert seen.count("paused") >= 2 and gc.isenabled()  # the sweep and the program, then on again
    gc.disable()
    try:
        sbp.backprop(sbp.reference_network())
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()
