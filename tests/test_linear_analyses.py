"""The analyses at scale: the naive way counted from structure, loss counts without writing out every
entry, gradient-flow chains made once each; work is counted, never timed."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import tensor as T
from symbackprop.analysis import counting, flow
from symbackprop.analysis.naive import NaiveCost
from symbackprop.ops import LOSS_OPS


def test_the_default_naive_figure_is_one_forward_pass_per_parameter_element(monkeypatch):
    d = sbp.backprop(sbp.models.rnn(4, 8, 6))

    def forbidden(*args, **kwargs):
        raise AssertionError("the counted naive figure built or differentiated the expanded loss")

    monkeypatch.setattr(sp, "diff", forbidden)
    monkeypatch.setattr(type(d), "forward_expression", forbidden)
    report = d.cost()
    naive = report.naive
    assert isinstance(naive, NaiveCost) and naive.method == "counted" and naive.counted
    assert not naive.estimated and naive.derived == 0 and naive.loss_operations is None
    assert naive.parameters == report.parameters == 8 * 8 + 8 * 4 + 8
    assert naive.operations == report.parameters * report.forward
    assert {g.name: g.operations for g in naive.groups} == {
        q.name: q.size * report.forward for q in d.network.params}
    assert report.naive_ratio == report.parameters
    assert report.speedup == pytest.approx(naive.operations / report.backprop)


def test_the_counted_figure_grows_with_the_network_as_p_times_forward():
    reports = {t: sbp.backprop(sbp.models.rnn(2, 3, t)).cost() for t in (8, 16)}
    for report in reports.values():
        assert report.naive.operations == report.parameters * report.forward
    # the parameters are shared over time steps: doubling T about doubles the forward pass, not p
    assert reports[8].parameters == reports[16].parameters
    assert 1.8 < reports[16].forward / reports[8].forward < 2.2


@pytest.mark.parametrize("naive", ["sampled", 1, "Measured"])
def test_an_unknown_naive_option_is_refused(naive):
    d = sbp.backprop(sbp.reference_network())
    with pytest.raises(sbp.OptionError, match="'counted'.*'measured'"):
        d.cost(naive=naive)


def test_the_measured_figure_is_an_explicit_opt_in():
    d = sbp.backprop(sbp.reference_network())
    measured = d.cost(naive="measured").naive
    assert measured.method == "exact" and measured.derived == 9 and measured.operations == 346
    assert d.cost(naive="counted") == d.cost() and d.cost(naive=False).naive is None


def _loss_nodes():
    """Every loss on shapes longer than the written-out side, with and without axes and class indices."""
    nodes = []
    for record in LOSS_OPS.values():
        for shape in [(12, 1), (7, 1)] + ([(6, 9), (1, 11)] if record.any_shape else []):
            net = sbp.Network()
            nodes.append(record(net.input("h", shape), net.input("y", shape)))
        if record.construct is not None:
            for axis in (0, 1):
                for shape in [(6, 8), (9, 2)]:
                    net = sbp.Network()
                    h = net.input("h", shape)
                    nodes.append(record(h, net.input("y", shape), axis=axis))
                    indices = net.input("k", (shape[0], 1) if axis == 1 else (1, shape[1]))
                    nodes.append(record(h, indices, axis=axis))
    return nodes


@pytest.mark.slow
@pytest.mark.parametrize("node", _loss_nodes(), ids=repr)
def test_a_loss_counted_on_short_sides_equals_it_written_out_in_full(node, monkeypatch):
    gradients = [T.LossGradient(node.kind, wrt, node.prediction, node.target, node.options)
                 for wrt in ("prediction", "target")]
    extrapolated = [counting.tensor_operations(n) for n in (node, *gradients)]
    monkeypatch.setattr(counting, "LOSS_WRITTEN_OUT_SIDE", 10**6)  # every entry written out
    assert [counting.tensor_operations(n) for n in (node, *gradients)] == extrapolated


def test_a_long_loss_is_never_written_out_in_full(monkeypatch):
    written = []
    element_matrices = counting._element_matrices

    def recording(shape, target_shape=None):
        written.append(shape)
        return element_matrices(shape, target_shape)

    monkeypatch.setattr(counting, "_element_matrices", recording)
    d = sbp.backprop(sbp.models.rnn(2, 3, 400))  # a loss over 3 × 400 entries
    d.cost()
    assert written and max(max(shape) for shape in written) <= counting.LOSS_WRITTEN_OUT_SIDE + 2


def test_each_chain_of_local_factors_is_made_once(monkeypatch):
    made = []
    factor = flow.Factor

    def counted(*args, **kwargs):
        made.append(args)
        return factor(*args, **kwargs)

    monkeypatch.setattr(flow, "Factor", counted)
    net = sbp.mlp([2] * 41 + [1], activation="tanh")
    d = sbp.backprop(net)
    rng = np.random.default_rng(0)
    values = {q.name: rng.normal(size=q.shape) / 2 for q in net.quantities("input", "param")}
    report = d.gradient_flow(values)
    assert len(made) <= len(d.edges)  # one factor per edge at most, not one per edge per name below it
    into = {}
    for step in d.edges:
        into.setdefault(step.target, []).append(step)
    chained = 0
    for entry in report.entries:
        expected, name = [], entry.name  # walked from the name up to the loss, as written by hand
        while name != d.loss and len(into.get(name, [])) == 1:
            expected.append(into[name][0].index)
            name = into[name][0].source
        if name == d.loss and entry.paths == 1:
            assert [f.step for f in entry.factors] == expected[::-1]
            chained += 1
    assert chained > 40


def test_a_long_stretch_between_checkpoints_is_recomputed_without_recursion():
    # 700 layers and no checkpoint inside: recomputing the top layer walks some 1,400 definitions
    d = sbp.backprop(sbp.mlp([2] * 700 + [1], activation="tanh"))
    plan = d.memory(checkpoint_every=10_000).checkpointed
    assert plan.recompute_operations > 0 and plan.recompute_ratio <= 1
