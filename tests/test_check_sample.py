"""The sympy.diff oracle of check_gradients: a deterministic sample of elements by default, every one when thorough.

The oracle's own numbers are held against PyTorch's autograd (float64) and, where
torch is absent, against finite differences of a hand-written NumPy forward pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop import cli
from symbackprop.sympy_oracle import SYMPY_ORACLE_SAMPLE, sampled_elements

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


def test_the_sample_is_the_first_the_last_and_evenly_spaced_elements():
    assert sampled_elements((3, 15), 4) == [(0, 0), (1, 0), (1, 14), (2, 14)]
    assert sampled_elements((3, 1), 4) == [(0, 0), (1, 0), (2, 0)]
    assert sampled_elements((1, 1), 4) == [(0, 0)]
    assert sampled_elements((3, 15), None) == list(np.ndindex(3, 15))
    assert sampled_elements((3, 15), 4) == sampled_elements((3, 15), 4)  # nothing random


@pytest.mark.parametrize("level", ["scalar", "vector"])
def test_the_default_check_samples_and_says_which(level):
    d = sbp.backprop(sbp.mlp(SIZES, level=level))
    report = sbp.check_gradients(d, _values())
    assert report.passed and report.sympy_sample == SYMPY_ORACLE_SAMPLE
    assert report.elements == 64 and report.sympy_sampled
    for row in report.rows:
        chosen = [tuple(int(i) for i in e) for e in row.sympy_elements]
        shape = np.shape(row.derived)
        assert chosen == [e if shape else () for e in sampled_elements(shape or (1, 1), SYMPY_ORACLE_SAMPLE)]
        unchosen = np.ones(shape, dtype=bool)
        for e in chosen:
            unchosen[e] = False
        assert np.isnan(row.sympy_diff[unchosen]).all() and np.isfinite(row.sympy_diff[~unchosen]).all()
    assert report.sympy_checked == sum(min(r.size, SYMPY_ORACLE_SAMPLE) for r in report.rows)


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


def test_a_wrong_element_in_the_sample_is_caught_by_sympy_diff_alone(monkeypatch):
    d = sbp.backprop(sbp.mlp(SIZES, level="vector"))
    values = _values()
    right = d.evaluate(values)
    wrong_grad = dict(right.grad)
    wrong_grad["W1"] = right.grad["W1"].copy()
    wrong_grad["W1"][2, 14] += 1e-3  # the last element: always in the sample
    wrong = type(right)(right.forward, wrong_grad, right.batch_size, right.exact, right._loss_name)
    monkeypatch.setattr(type(d), "evaluate", lambda self, v, **k: wrong)
    report = sbp.check_gradients(d, values)
    row = next(r for r in report.rows if r.name == "W1")
    assert not row.passed
    assert abs(row.sympy_diff[2, 14] - right.grad["W1"][2, 14]) < 1e-10


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


def test_the_command_says_which_elements_sympy_diff_derived(invoke):
    status, out = invoke("check", "net64.py", "-q")
    assert status == 0, out
    checked = sum(min(n, SYMPY_ORACLE_SAMPLE) for n in (45, 3, 9, 3, 3, 1))
    assert (f"sympy.diff derived {checked} of the 64 parameter elements: in each parameter the first, the last "
            f"and evenly spaced ones between, at most {SYMPY_ORACLE_SAMPLE}") in out
    assert out.splitlines()[-1].startswith("ok: all 6 gradients agree")  # the verdict closes the report


def test_thorough_derives_every_element(invoke):
    status, out = invoke("check", "net64.py", "-q", "--thorough")
    assert status == 0 and "sympy.diff derived" not in out
    assert "nan" not in out


def test_the_sample_line_in_korean():
    report = sbp.check_gradients(sbp.backprop(sbp.mlp(SIZES)), _values())
    korean = cli.format_check(report, lang="ko")
    assert f"sympy.diff는 파라미터 원소 64개 중 {report.sympy_checked}개를 유도했습니다" in korean
