"""The oracles of check_gradients: a deterministic sample of elements chosen by work, every one when thorough.

The oracle's own numbers are held against PyTorch's autograd (float64) and, where
torch is absent, against finite differences of a hand-written NumPy forward pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop import cli
from symbackprop.check_plan import spread

SIZES = [15, 3, 3, 1]  # 64 parameters


def _values(seed: int = 0, batch: int | None = None) -> dict:
    rng = np.random.default_rng(seed)
    values = {"x": rng.normal(size=(batch, SIZES[0]) if batch else (SIZES[0], 1)),
              "y": rng.normal(size=batch) if batch else 0.5}
    for k in range(len(SIZES) - 1):
        values[f"W{k + 1}"] = rng.normal(size=(SIZES[k + 1], SIZES[k])) / 2
        values[f"b{k + 1}"] = rng.normal(size=(SIZES[k + 1], 1)) / 2
    return values


def _torch_gradients(values: dict, activation: str = "relu") -> dict[str, np.ndarray]:
    torch = pytest.importorskip("torch", reason="PyTorch is the independent oracle of the oracle")
    params = {k: torch.tensor(np.asarray(v, dtype=float), requires_grad=True)
              for k, v in values.items() if k[0] in "Wb"}
    x = torch.tensor(np.asarray(values["x"], dtype=float))
    h = x.T if x.shape[-1] == 1 else x  # one column, or samples as rows
    y = torch.tensor(np.asarray(values["y"], dtype=float)).reshape(-1, 1)
    f = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    for k in range(len(SIZES) - 1):
        h = f(h @ params[f"W{k + 1}"].T + params[f"b{k + 1}"][:, 0])
    (0.5 * ((h - y) ** 2).sum(dim=1).mean()).backward()
    return {k: p.grad.numpy() for k, p in params.items()}


def test_the_spread_is_the_first_the_last_then_midpoints_of_finer_halves():
    assert list(spread(5)) == [0, 4, 2, 1, 3]
    assert list(spread(1)) == [0] and list(spread(0)) == []
    for count in (2, 7, 45, 100):
        order = list(spread(count))
        assert sorted(order) == list(range(count))  # every position, once
        assert order[:2] == [0, count - 1]


@pytest.mark.parametrize("level", ["scalar", "vector"])
def test_the_default_check_samples_by_work_and_says_which(level):
    d = sbp.backprop(sbp.mlp(SIZES, level=level))
    report = sbp.check_gradients(d, _values())
    assert report.passed and report.elements == 64 and report.sympy_sampled
    assert report.finite_checked == 64 and all(r.finite_elements is None for r in report.rows)
    assert all(r.sympy_elements for r in report.rows)  # a small network: every parameter has its sample
    for row in report.rows:
        chosen = [tuple(int(i) for i in e) for e in row.sympy_elements]
        shape = np.shape(row.derived)
        flat = [np.ravel_multi_index(e, shape) if shape else 0 for e in chosen]
        assert sorted(flat) == sorted(list(spread(row.size))[:len(flat)])  # the first, the last, midpoints
        unchosen = np.ones(shape, dtype=bool)
        for e in chosen:
            unchosen[e] = False
        assert np.isnan(row.sympy_diff[unchosen]).all() and np.isfinite(row.sympy_diff[~unchosen]).all()
    again = sbp.check_gradients(d, _values())
    assert [r.sympy_elements for r in again.rows] == [r.sympy_elements for r in report.rows]  # nothing random
    coverage = f"sympy.diff: {report.sympy_checked} of 64 elements; finite differences: 64 of 64 elements"
    assert report.coverage() == coverage
    assert report.sympy_sample == max(len(r.sympy_elements) for r in report.rows)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["scalar", "vector"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_the_thorough_oracle_agrees_with_pytorch_at_every_element(level, activation):
    values = _values(seed=3)
    net = sbp.mlp(SIZES, level=level, activation=getattr(sbp, activation), output_activation=getattr(sbp, activation))
    report = sbp.check_gradients(sbp.backprop(net), values, thorough=True)
    assert report.passed and not report.sympy_sampled and report.sympy_sample is None
    expected = _torch_gradients(values, activation)
    for row in report.rows:
        assert len(row.sympy_elements) == row.size
        np.testing.assert_allclose(row.sympy_diff, expected[row.name].reshape(np.shape(row.sympy_diff)),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_the_oracle_on_a_batch_is_the_mean_over_samples():
    values = _values(seed=5, batch=3)
    report = sbp.check_gradients(sbp.backprop(sbp.mlp(SIZES)), values, thorough=True)
    expected = _torch_gradients(values)
    for row in report.rows:
        np.testing.assert_allclose(row.sympy_diff, expected[row.name].reshape(np.shape(row.sympy_diff)),
                                   rtol=1e-10, atol=1e-12)


def test_relu_at_exactly_zero_differentiates_the_branch_that_holds():
    # b1 = −W1·x puts every first-layer pre-activation at exactly 0, where ReLU′ is 0 (PyTorch's)
    net = sbp.mlp([2, 2, 1])
    values = {"x": [[1.0], [2.0]], "y": 0.5, "W1": [[0.5, -0.25], [1.0, 0.5]], "b1": [[0.0], [-2.0]],
              "W2": [[0.7, -0.3]], "b2": [[0.1]]}
    report = sbp.check_gradients(sbp.backprop(net), values, thorough=True)
    rows = {r.name: r for r in report.rows}
    np.testing.assert_array_equal(rows["W1"].sympy_diff, np.zeros((2, 2)))
    np.testing.assert_array_equal(rows["b1"].sympy_diff, np.zeros((2, 1)))


def _with_a_wrong_element(monkeypatch, d, values, name: str, element: tuple[int, int]):
    """Make ``d.evaluate`` return a gradient 1e-3 off at one element; returns the right gradients."""
    right = d.evaluate(values)
    wrong_grad = dict(right.grad)
    wrong_grad[name] = right.grad[name].copy()
    wrong_grad[name][element] += 1e-3
    wrong = type(right)(right.forward, wrong_grad, right.batch_size, right.exact, right._loss_name)
    monkeypatch.setattr(type(d), "evaluate", lambda self, v, **k: wrong)
    return right.grad


def test_a_wrong_element_in_the_sample_is_caught_by_sympy_diff(monkeypatch):
    d = sbp.backprop(sbp.mlp(SIZES, level="vector"))
    values = _values()
    sample = {r.name: r.sympy_elements for r in sbp.check_gradients(d, values).rows}
    element = sample["W1"][-1]
    right = _with_a_wrong_element(monkeypatch, d, values, "W1", element)
    report = sbp.check_gradients(d, values)
    row = next(r for r in report.rows if r.name == "W1")
    assert not row.passed and not report.passed
    assert abs(row.sympy_diff[element] - right["W1"][element]) < 1e-10  # sympy.diff holds the right value
    assert abs(row.finite_differences[element] - right["W1"][element]) < 1e-6  # and so do finite differences


def test_a_wrong_element_is_caught_by_finite_differences_alone(monkeypatch):
    d = sbp.backprop(sbp.mlp(SIZES, level="vector"))
    values = _values()
    right = _with_a_wrong_element(monkeypatch, d, values, "W1", (1, 7))  # not in sympy.diff's sample
    report = sbp.check_gradients(d, values, use_sympy=False)
    row = next(r for r in report.rows if r.name == "W1")
    assert not row.passed and row.sympy_diff is None and report.sympy_skipped
    assert abs(row.finite_differences[1, 7] - right["W1"][1, 7]) < 1e-6


NET_FILE = """
import numpy as np
import symbackprop as sbp

net = sbp.mlp([15, 3, 3, 1], level="scalar")
rng = np.random.default_rng(0)
values = {"x": rng.normal(size=15).tolist(), "y": 0.5}
for k, (n, m) in enumerate([(3, 15), (3, 3), (1, 3)], start=1):
    values[f"W{k}"] = (rng.normal(size=(n, m)) / 2).tolist()
    values[f"b{k}"] = (rng.normal(size=(n, 1)) / 2).tolist()
"""


@pytest.fixture
def invoke(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net64.py").write_text(NET_FILE)

    def call(*args: str) -> tuple[int, str]:
        status = cli.main(list(args))
        return status, capsys.readouterr().out

    return call


@pytest.mark.slow
def test_the_command_says_what_each_oracle_covered(invoke):
    status, out = invoke("check", "net64.py", "-q")
    assert status == 0, out
    report = sbp.check_gradients(sbp.backprop(sbp.mlp(SIZES, level="scalar")), _values())
    assert (f"sympy.diff: {report.sympy_checked} of 64 elements; finite differences: 64 of 64 elements") in out
    assert "— marks an element that oracle did not look at" in out and "—" in out.split("sympy.diff: ")[0]
    assert "nan" not in out
    assert out.splitlines()[-1].startswith("ok: all 6 gradients agree")  # the verdict closes the report


@pytest.mark.slow
def test_thorough_derives_every_element(invoke):
    status, out = invoke("check", "net64.py", "-q", "--thorough")
    assert status == 0 and "sympy.diff: 64 of 64 elements; finite differences: 64 of 64 elements" in out
    assert "nan" not in out and "—" not in out


def test_the_coverage_line_in_korean():
    report = sbp.check_gradients(sbp.backprop(sbp.mlp(SIZES)), _values())
    korean = cli.format_check(report, lang="ko")
    assert f"sympy.diff: 원소 64개 중 {report.sympy_checked}개; 유한 차분: 원소 64개 중 64개" in korean
    assert "—는 그 기준이 보지 않은 원소입니다" in korean
