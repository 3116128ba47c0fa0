"""Checks generated from the operation table (tests/operation_table.py): every row's value and gradient at
the vector level, in a batch, exactly, on every backend, in spec files and at the scalar level, against its
NumPy oracle and central finite differences always, and against PyTorch where it is installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import UnsupportedRankError
from symbackprop.spec import parse_spec

from .operation_table import ROWS, OperationRow

NAMES = "ab"
BATCH = 3


def _network(row: OperationRow, batched: bool = False) -> sbp.Network:
    """Parameters a (and b), weights C: L = Σ op(a, b) ⊙ C, so ∂L/∂a is the operation's VJP of C.
    In a batch, each sample adds its input X to a."""
    net = sbp.Network()
    operands = [net.param(NAMES[i], shape) for i, shape in enumerate(row.shapes)]
    if batched:
        operands[0] = operands[0] + net.input("X", row.shapes[0])
    z = net.node("z", row.build(*operands))
    weights = net.input("C", z.shape) if hasattr(z, "shape") else net.input("C", (1, 1))  # a 1×1 result
    net.loss("L", sbp.total(z * weights))
    return net


def _values(row: OperationRow, seed: int, batched: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {NAMES[i]: row.domain(i)(rng, shape) for i, shape in enumerate(row.shapes)}
    result = row.numpy(*values.values())
    values["C"] = rng.normal(size=result.shape)
    if batched:
        values["X"] = 0.1 * rng.normal(size=(BATCH, *row.shapes[0]))
        values["C"] = rng.normal(size=(BATCH, *result.shape))
    return values


def _rank_3(row: OperationRow) -> bool:
    return "rank 3" in row.tags


def _mean_loss(row: OperationRow, values: dict[str, np.ndarray]) -> float:
    """The batch's mean loss, sample by sample: a batch axis in front of an operand of rank 2 would meet the first
    axis of a tensor of rank 3 in NumPy's broadcasting, and the oracle must not misread it either."""
    operands = [values[NAMES[i]] for i in range(len(row.shapes))]
    if "X" not in values:
        return float((row.numpy(*operands) * values["C"]).sum())
    return float(np.mean([(row.numpy(operands[0] + x, *operands[1:]) * c).sum()
                          for x, c in zip(values["X"], values["C"])]))


def _finite_differences(row: OperationRow, values: dict[str, np.ndarray], step: float = 1e-6) -> dict:
    gradients = {}
    for name in NAMES[:len(row.shapes)]:
        gradient = np.zeros_like(values[name], dtype=float)
        for index in np.ndindex(values[name].shape):
            plus, minus = ({**values, name: values[name].copy()} for _ in range(2))
            plus[name][index] += step
            minus[name][index] -= step
            gradient[index] = (_mean_loss(row, plus) - _mean_loss(row, minus)) / (2 * step)
        gradients[name] = gradient
    return gradients


def _gradients(evaluation, row: OperationRow) -> dict[str, np.ndarray]:
    return {NAMES[i]: np.asarray(evaluation.grad[NAMES[i]], dtype=float).reshape(shape)
            for i, shape in enumerate(row.shapes)}


@pytest.fixture(params=ROWS, ids=lambda row: row.name)
def row(request) -> OperationRow:
    return request.param


def test_value_and_gradient_against_numpy_and_finite_differences(row):
    values = _values(row, seed=0)
    evaluation = sbp.backprop(_network(row)).evaluate(values)
    np.testing.assert_allclose(np.asarray(evaluation.forward["z"], dtype=float),
                               row.numpy(*(values[n] for n in NAMES[:len(row.shapes)])), rtol=1e-12, atol=1e-12)
    expected = _finite_differences(row, values)
    for name, gradient in _gradients(evaluation, row).items():
        np.testing.assert_allclose(gradient, expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_a_batch_is_the_mean_of_its_samples(row):
    values = _values(row, seed=1, batched=True)  # at rank 3 or more too, the batch run sample by sample
    evaluation = sbp.backprop(_network(row, batched=True)).evaluate(values)
    expected = _finite_differences(row, values)
    for name, gradient in _gradients(evaluation, row).items():
        np.testing.assert_allclose(gradient, expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_against_pytorch(row):
    torch = pytest.importorskip("torch")
    values = _values(row, seed=2)
    tensors = {n: torch.tensor(v, dtype=torch.float64, requires_grad=n in NAMES) for n, v in values.items()}
    loss = (row.torch(*(tensors[n] for n in NAMES[:len(row.shapes)])) * tensors["C"]).sum()
    loss.backward()
    evaluation = sbp.backprop(_network(row)).evaluate(values)
    for name, gradient in _gradients(evaluation, row).items():
        np.testing.assert_allclose(gradient, tensors[name].grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)


def test_exact_evaluation_agrees_with_floats(row):
    if not row.exact:
        pytest.skip(f"{row.name} has no exact evaluation")
    values = {name: np.round(v, 2) for name, v in _values(row, seed=3).items()}
    d = sbp.backprop(_network(row))
    if _rank_3(row):  # closed forms are matrices: refused with the quantity that is not one
        with pytest.raises(UnsupportedRankError, match=r"rank [34]"):  # images of rank 4 too
            d.evaluate(values, exact=True)
        return
    exact, floats = d.evaluate(values, exact=True), d.evaluate(values)
    for name in NAMES[:len(row.shapes)]:
        np.testing.assert_allclose(np.asarray(exact.grad[name], dtype=float), np.asarray(floats.grad[name]),
                                   rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_backend_gives_numpys_numbers(row, backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    values = _values(row, seed=4)
    d = sbp.backprop(_network(row))
    expected = d.lambdify()(**values)
    got = d.lambdify(backend=backend)(**values)
    for name in NAMES[:len(row.shapes)]:
        np.testing.assert_allclose(np.asarray(got[name], dtype=float), np.asarray(expected[name], dtype=float),
                                   rtol=1e-12, atol=1e-12, err_msg=name)


def _spec(row: OperationRow) -> str:
    params = "\n".join(f"{NAMES[i]} = {list(shape)}" for i, shape in enumerate(row.shapes))
    result = list(row.numpy(*(np.ones(s) for s in row.shapes)).shape)
    return (f'[inputs]\nC = {result}\n[params]\n{params}\n[nodes]\nz = "{row.spec}"\n'
            f'[loss]\nL = "sum(z * C)"\n')


@pytest.mark.filterwarnings("ignore::symbackprop.UnusedParameterWarning")  # a slice leaves entries unused
@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_a_spec_file_gives_the_same_gradients(row, level):
    if level == "scalar" and _rank_3(row):  # one symbol per entry is written for vectors and matrices
        with pytest.raises(UnsupportedRankError, match="elements=True"):
            parse_spec(_spec(row), level=level)
        return
    if level == "scalar" and not row.scalar_level:
        pytest.skip(f"{row.name} has no scalar level")
    values = _values(row, seed=5)
    from_spec = sbp.backprop(parse_spec(_spec(row), level=level).network).evaluate(values)
    expected = _finite_differences(row, values)
    for name in NAMES[:len(row.shapes)]:
        np.testing.assert_allclose(np.asarray(from_spec.grad[name], dtype=float).reshape(values[name].shape),
                                   expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_the_convention_at_a_tie_or_kink(row):
    if row.kink is None:
        pytest.skip(f"{row.name} is smooth where it is defined")
    values, expected = row.kink(np.random.default_rng(6))
    evaluation = sbp.backprop(_network(row)).evaluate(values)
    for name, gradient in _gradients(evaluation, row).items():
        np.testing.assert_allclose(gradient, expected[name], rtol=1e-12, atol=1e-12, err_msg=name)
    if importlib.util.find_spec("torch") is not None:
        import torch

        tensors = {n: torch.tensor(v, dtype=torch.float64, requires_grad=n in NAMES) for n, v in values.items()}
        (row.torch(*(tensors[n] for n in NAMES[:len(row.shapes)])) * tensors["C"]).sum().backward()
        for name in NAMES[:len(row.shapes)]:
            np.testing.assert_allclose(tensors[name].grad.numpy(), expected[name], rtol=1e-12, err_msg=name)
