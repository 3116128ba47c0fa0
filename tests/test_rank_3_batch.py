"""A batch axis on a network with tensors of rank 3 or more: inputs (N, *declared shape), the loss the batch's
mean, a parameter's gradient the mean of the samples' — checked against PyTorch float64 with the batch as
PyTorch's batch dimension, against central differences of the batch's loss, and against the batched program
of matrices (the combination is the same).
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import ValueShapeError

HEADS, T, D, D_MODEL, VOCAB = 2, 3, 4, 5, 6


def _heads() -> sbp.Network:
    """X (T, d_model) projected by each head's Wq into (heads, T, d), a bias of rank 3, then a squared error and
    a cross-entropy of each row of the heads' outputs against class indices (heads, T, 1)."""
    net = sbp.Network()
    X, Y, K = net.input("X", (T, D_MODEL)), net.input("Y", (HEADS, T, D)), net.input("K", (HEADS, T, 1))
    Wq, b = net.param("Wq", (HEADS, D_MODEL, D)), net.param("b", (HEADS, 1, D))
    Q = net.node("Q", sbp.tanh(X @ Wq + b))
    net.loss("L", sbp.mse(Q, Y) + sbp.cross_entropy(Q, K, axis=-1))
    return net


def _values(N: int | None, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    batch = () if N is None else (N,)
    return {"X": rng.normal(size=(*batch, T, D_MODEL)), "Y": rng.normal(size=(*batch, HEADS, T, D)),
            "K": rng.integers(0, D, size=(*batch, HEADS, T, 1)),
            "Wq": rng.normal(size=(HEADS, D_MODEL, D)), "b": rng.normal(size=(HEADS, 1, D))}


def _torch(values, torch):
    F = torch.nn.functional
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in ("Wq", "b", "X")) for k, v in values.items()}
    Q = torch.tanh(t["X"].unsqueeze(1) @ t["Wq"] + t["b"])  # (N, heads, T, d): the heads broadcast per sample
    Q.retain_grad()
    per_sample = ((Q - t["Y"]) ** 2).mean(dim=(1, 2, 3)) + torch.stack(
        [F.cross_entropy(Q[n].reshape(-1, D), t["K"][n].long().reshape(-1)) for n in range(Q.shape[0])])
    loss = per_sample.mean()
    loss.backward()
    return loss, Q, t


@pytest.mark.parametrize("N", [1, 2, 5])
def test_a_batch_agrees_with_pytorch_s_batch_dimension(N):
    torch = pytest.importorskip("torch")
    values = _values(N, N)
    d = sbp.backprop(_heads())
    evaluation = d.evaluate(values)
    loss, Q, t = _torch(values, torch)
    assert evaluation.batch_size == N
    np.testing.assert_allclose(evaluation.forward["L"], loss.item(), rtol=1e-13)
    np.testing.assert_allclose(evaluation.forward["Q"], Q.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(evaluation.grad["Q"], Q.grad.numpy(), rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(evaluation.grad["X"], t["X"].grad.numpy(), rtol=1e-11, atol=1e-15)
    compiled = d.lambdify()(**values)
    for name in ("Wq", "b"):
        np.testing.assert_allclose(evaluation.grad[name], t[name].grad.numpy(), rtol=1e-11, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(compiled[name], t[name].grad.numpy(), rtol=1e-11, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_other_backends_take_the_batch_too(backend):
    torch = pytest.importorskip("torch")
    pytest.importorskip(backend)
    values = _values(3, 7)
    _, _, t = _torch(values, torch)
    got = sbp.backprop(_heads()).lambdify(backend=backend)(**values)
    for name in ("Wq", "b"):
        np.testing.assert_allclose(np.asarray(got[name], dtype=float), t[name].grad.numpy(), rtol=1e-11, atol=1e-15)


def test_a_batch_s_gradients_agree_with_central_differences_of_its_mean_loss():
    values = _values(3, 8)
    d = sbp.backprop(_heads())
    evaluation = d.evaluate(values)
    step = 1e-6
    for name in ("Wq", "b"):
        expected = np.zeros_like(values[name])
        for index in np.ndindex(values[name].shape):
            plus, minus = values[name].copy(), values[name].copy()
            plus[index] += step
            minus[index] -= step
            expected[index] = (float(d.evaluate({**values, name: plus}).forward["L"])
                               - float(d.evaluate({**values, name: minus}).forward["L"])) / (2 * step)
        np.testing.assert_allclose(evaluation.grad[name], expected, rtol=1e-6, atol=1e-9, err_msg=name)
    assert sbp.check_gradients(d, values).passed


def test_a_batch_is_the_mean_of_its_samples():
    """Without PyTorch: the batch's loss and parameter gradients are the means of the samples' own, an input's
    gradient 1/N of its sample's."""
    values = _values(4, 9)
    d = sbp.backprop(_heads())
    batch = d.evaluate(values)
    alone = [d.evaluate({k: v[n] if k in ("X", "Y", "K") else v for k, v in values.items()}) for n in range(4)]
    np.testing.assert_allclose(batch.forward["L"], np.mean([e.forward["L"] for e in alone]), rtol=1e-14)
    for name in ("Wq", "b"):
        np.testing.assert_allclose(batch.grad[name], np.mean([e.grad[name] for e in alone], axis=0), rtol=1e-13)
    np.testing.assert_allclose(batch.grad["X"], np.stack([e.grad["X"] for e in alone]) / 4, rtol=1e-13)


def test_the_samples_combine_as_the_batched_program_of_matrices_combines_them():
    """The same combination on a network of matrices gives the numbers of its own batched program."""
    from symbackprop.network import INPUT, PARAM
    from symbackprop.sample_batches import forward_and_gradients, parameter_gradients
    from symbackprop.values import conform_all

    net = sbp.mlp([3, 4, 2])
    d = sbp.backprop(net)
    rng = np.random.default_rng(10)
    values = {q.name: rng.normal(size=q.shape or ()) for q in net.quantities(PARAM)}
    values |= {q.name: rng.normal(size=(5, *(q.shape or ()))) for q in net.quantities(INPUT)}
    batched = d.evaluate(values)
    arrays, N = conform_all(d, values)
    program = d._program
    arguments = [arrays[q.name] for q in net.quantities(INPUT, PARAM)]
    forward, gradient = forward_and_gradients(lambda sample: program.function(*sample, 1), net, arguments, N)
    parameters = parameter_gradients(lambda sample: program.function(*sample, 1), net, arguments, N)
    for q in net.quantities():
        if q.name == d.loss:
            continue
        np.testing.assert_allclose(np.reshape(gradient[q.name], np.shape(batched.grad[q.name])),
                                   batched.grad[q.name], rtol=1e-12, atol=1e-15, err_msg=q.name)
        if q.kind == PARAM:
            np.testing.assert_allclose(np.reshape(parameters[q.name], np.shape(batched.grad[q.name])),
                                       batched.grad[q.name], rtol=1e-12, atol=1e-15, err_msg=q.name)
        else:
            np.testing.assert_allclose(np.reshape(forward[q.name], np.shape(batched.forward[q.name])),
                                       batched.forward[q.name], rtol=1e-14, err_msg=q.name)


def test_what_a_batch_cannot_be_is_refused_by_name():
    d = sbp.backprop(_heads())
    values = _values(3, 11)
    with pytest.raises(ValueShapeError, match="'Wq'.* a parameter is shared by every sample and takes no batch axis"):
        d.evaluate({**values, "Wq": np.broadcast_to(values["Wq"], (3, HEADS, D_MODEL, D))})
    with pytest.raises(ValueShapeError, match="inputs disagree about the batch size"):
        d.evaluate({**values, "X": values["X"][:2]})
    with pytest.raises(ValueShapeError, match="inputs disagree about the batch size"):
        d.evaluate({**values, "X": values["X"][0]})
    with pytest.raises(ValueShapeError, match=r"expected shape \(2, 3, 4\) \(or with a leading batch axis\)"):
        d.evaluate({**values, "Y": values["Y"][..., :2]})
    with pytest.raises(ValueShapeError, match=r"one sample's numbers.*\{name: value\[n\]\}"):
        d.to_latex(values=values)
    one = {k: v[0] if k in ("X", "Y", "K") else v for k, v in values.items()}
    assert d.to_latex(values=one)  # one sample's document writes


def test_one_sample_given_a_batch_axis_of_one_is_that_sample():
    d = sbp.backprop(_heads())
    values = _values(None, 12)
    one = d.evaluate(values)
    batch_of_one = d.evaluate({k: v[np.newaxis] if k in ("X", "Y", "K") else v for k, v in values.items()})
    np.testing.assert_allclose(batch_of_one.forward["L"], one.forward["L"], rtol=1e-15)
    for name in ("Wq", "b"):
        np.testing.assert_allclose(batch_of_one.grad[name], one.grad[name], rtol=1e-15)


def test_dask_gradients_of_a_network_of_rank_3_are_the_batch_s():
    da = pytest.importorskip("dask.array")
    values = _values(5, 13)
    d = sbp.backprop(_heads())
    data = {name: da.from_array(values[name], chunks=2) for name in ("X", "Y", "K")}
    got = sbp.dask_gradients(d, data, {name: values[name] for name in ("Wq", "b")}, scheduler="synchronous")
    expected = d.evaluate(values)
    for name in ("Wq", "b"):
        np.testing.assert_allclose(got[name], expected.grad[name], rtol=1e-13, atol=1e-15, err_msg=name)
    with pytest.raises(ValueShapeError, match=r"data\['Y'\] has shape \(5, 2, 3, 3\); expected \(samples, 2, 3, 4\)"):
        sbp.dask_gradients(d, {**data, "Y": data["Y"][..., :3]}, {name: values[name] for name in ("Wq", "b")})


def test_a_training_step_on_a_batch_of_rank_3_follows_the_batch_s_gradient():
    d = sbp.backprop(_heads())
    values = _values(4, 14)
    data, start = {k: values[k] for k in ("X", "Y", "K")}, {k: values[k] for k in ("Wq", "b")}
    history = sbp.train(d, data, 0.1, 1, params=start, shuffle=False)
    gradient = d.evaluate(values).grad
    for name in ("Wq", "b"):
        np.testing.assert_allclose(history.params[name], start[name] - 0.1 * gradient[name], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(history.losses[0], d.evaluate(values).loss, rtol=1e-14)
