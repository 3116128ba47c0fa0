"""Memory: what each backward step reads, how it scales, and checkpointing checked on numbers."""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.memory import checkpoint_plan, checkpointed_evaluation, forward_reads


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


def test_each_step_reads_what_its_formula_uses(reference):
    report = reference.memory(batch=1)
    reads = {s.target: (s.nodes, s.inputs, s.params) for s in report.steps}
    assert reads["h2"] == (("h2",), ("y",), ())        # h2 − y
    assert reads["z2"] == (("z2",), (), ())            # ∂L/∂h2 · H(z2)
    assert reads["W2"] == (("h1",), (), ())            # ∂L/∂z2 · h1ᵀ
    assert reads["b2"] == ((), (), ())                 # ∂L/∂z2 as it is
    assert reads["h1"] == ((), (), ("W2",))            # W2ᵀ ∂L/∂z2
    assert reads["z1"] == (("z1",), (), ())            # ∂L/∂h1 ⊙ relu′(z1)
    assert reads["W1"] == ((), ("x",), ())             # ∂L/∂z1 xᵀ
    assert report.stored == ("z1", "h1", "z2", "h2")


def test_numbers_scale_as_layers_times_batch_times_hidden(reference):
    assert reference.memory(batch=1).activation_numbers == 2 + 2 + 1 + 1
    assert reference.memory(batch=32).activation_numbers == 32 * 6
    assert reference.memory(batch=32).parameter_numbers == 4 + 2  # W1, W2 (biases are not read)

    def stored(layers: int, hidden: int, batch: int) -> int:
        d = sbp.backprop(sbp.mlp([3] + [hidden] * layers + [1], "tanh", "identity"))
        return d.memory(batch=batch).activation_numbers

    base = stored(4, 8, 16)
    # zk and hk of every hidden layer per sample, and the output h5 (the identity's f′ = 1 reads no z5)
    assert base == 16 * (2 * 4 * 8 + 1)
    assert stored(4, 16, 16) - 16 == 2 * (base - 16)
    assert stored(8, 8, 16) - 16 == 2 * (base - 16)
    assert stored(4, 8, 32) == 2 * base


def _random_values(d, batch: int | None, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    values = {}
    for q in d.network.quantities("input", "param"):
        rows, columns = q.matrix_shape
        if q.kind == "input" and batch:
            values[q.name] = rng.normal(size=(batch, rows) if columns == 1 else (batch, rows, columns))
        else:
            values[q.name] = rng.normal(size=(rows, columns))
    return values


CASES = [
    ([3] + [5] * 10 + [2], "vector", False, 4),
    ([3] + [5] * 10 + [2], "vector", True, 3),
    ([2, 3, 3, 1], "vector", False, None),
    ([2, 3, 3, 1], "scalar", False, None),
    ([2, 3, 2, 2], "scalar", True, 2),
]


@pytest.mark.parametrize(("sizes", "level", "batch_mode", "batch"), CASES)
@pytest.mark.parametrize("every", [None, 1, 2, 3, 5])
def test_checkpointed_gradients_equal_plain_ones(sizes, level, batch_mode, batch, every):
    d = sbp.backprop(sbp.mlp(sizes, "tanh", "sigmoid", "mse", level=level), batch=batch_mode)
    values = _random_values(d, batch, seed=len(sizes) + (every or 0))
    plain = d.evaluate(values)
    run = checkpointed_evaluation(d, values, checkpoint_every=every)
    for name in d.parameters:
        np.testing.assert_allclose(run.grad[name], plain.grad[name], rtol=1e-12, atol=1e-14)
        assert np.shape(run.grad[name]) == np.shape(plain.grad[name])
    assert run.loss == pytest.approx(float(plain.loss), rel=1e-14)
    assert run.peak_numbers == run.plan.peak_numbers  # the arrays held at the peak are what the plan said


def test_checkpointing_trades_memory_for_recomputation():
    d = sbp.backprop(sbp.mlp([3] + [16] * 12 + [1], "relu", "identity"))
    plain = checkpoint_plan(d, None, batch=64)
    every3 = checkpoint_plan(d, 3, batch=64)
    assert plain.recomputed == () and plain.recompute_operations == 0
    assert plain.peak_numbers == plain.stored_numbers == 64 * (2 * 12 * 16 + 1)
    assert every3.stored == ("h3", "h6", "h9", "h12")
    assert every3.stored_numbers == 64 * 16 * 4
    assert every3.peak_numbers < plain.peak_numbers / 2
    assert 0.5 < every3.recompute_ratio < 1.0  # at most about one more forward pass
    report = d.memory(batch=64)
    assert report.checkpointed.every == 4  # √12 rounded
    assert "checkpoint every 4" in str(report)


def test_forward_reads_of_a_scalar_level_step():
    d = sbp.backprop(sbp.mlp([2, 2, 1], level="scalar"))
    step = next(s for s in d.steps if s.target == "W1_1_1")
    assert forward_reads(step, d.network) == ("x_1",)


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_invalid_plans_are_refused(reference, bad):
    with pytest.raises(ValueError):
        checkpoint_plan(reference, bad)
    with pytest.raises(ValueError):
        reference.memory(batch=bad)


@pytest.mark.parametrize(("sizes", "level", "batch"), [([2, 3, 3, 1], "vector", 5), ([2, 3, 2, 2], "scalar", 4)])
def test_the_plain_plan_runs_the_generated_programs_arithmetic(sizes, level, batch):
    """Checkpointed evaluation runs the generated program's lines: without recomputation, the same bits."""
    d = sbp.backprop(sbp.mlp(sizes, "tanh", "sigmoid", "mse", level=level), batch=True)
    values = _random_values(d, batch, seed=7)
    plain = d.evaluate(values)
    for every in (None, 1):
        run = checkpointed_evaluation(d, values, checkpoint_every=every)
        for name in d.parameters:
            assert np.array_equal(run.grad[name], plain.grad[name]), name


def test_memory_summary_in_both_languages(reference):
    report = reference.memory(batch=4)
    assert "forward values it reads: z1, h1, z2, h2" in report.summary() == str(report)
    assert "읽는 forward 값: z1, h1, z2, h2" in report.summary("ko")
