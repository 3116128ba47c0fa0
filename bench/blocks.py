"""The blocks suite: each block's generated gradient against the best hand-written forward+backward.

    python bench/run.py --blocks

Each block is written once by hand in array code that NumPy, jax.numpy and torch all run (through
the small ``Ops`` adaptor below), in the form a careful person writes it: the stored tanh reused for
its derivative, one reduction per quantity, and where two ways compete (the RNN's steps one by one, or
stacked into a few larger products) both, the faster of each round being the baseline. The hand code is
checked against
our gradient before it is timed. Every ratio is the median over interleaved rounds of ours ÷ hand on
the same backend (NumPy, ``jax.jit`` of the hand code, torch eager without autograd), one thread,
float64.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import symbackprop as sbp

#: The targets of the issue "Every block at the speed of hand-written code".
NUMPY_TARGET, NUMPY_SINGLE_TARGET, JAX_TARGET, TORCH_TARGET = 1.1, 1.5, 1.05, 1.2


class Ops:
    """What the hand code needs that NumPy, jax.numpy and torch spell differently."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "torch":
            import torch

            self.xp = torch
        elif name == "jax":
            import jax.numpy as jnp

            self.xp = jnp
        else:
            self.xp = np

    def sum(self, a, axis, keepdims=False):
        if self.name == "torch":
            return a.sum(dim=axis, keepdim=keepdims)
        return a.sum(axis=axis, keepdims=keepdims)

    def t(self, a):
        return a.transpose(-1, -2) if self.name == "torch" else self.xp.swapaxes(a, -1, -2)

    def stack(self, arrays, axis):
        return self.xp.stack(arrays, dim=axis) if self.name == "torch" else self.xp.stack(arrays, axis=axis)

    def concat(self, arrays, axis):
        return self.xp.cat(arrays, dim=axis) if self.name == "torch" else self.xp.concatenate(arrays, axis=axis)

    def zeros_like(self, a):
        return self.xp.zeros_like(a)

    def minus_one_at(self, p, rows, columns):
        """p with 1 taken from p[rows, columns] (softmax − one-hot)."""
        if self.name == "jax":
            return p.at[rows, columns].add(-1.0)
        p = p.clone() if self.name == "torch" else p.copy()
        p[rows, columns] -= 1.0
        return p

    def arange(self, n):
        return self.xp.arange(n)


# -- the blocks, each with its hand-written gradient ------------------------------------------------


def _rnn_hand(ops: Ops, v: dict) -> dict:
    """Backpropagation through time as a textbook writes it, step by step: per step two products forward,
    and backward the weight gradients accumulated as each step's dz is found (stacking the steps into one
    product measured slower here: the copies cost more than the small products they save)."""
    xp = ops.xp
    X, W, U, b = v["X"], v["W"], v["U"], v["b"][:, 0]  # noqa: N806
    n, _, steps = X.shape
    xs = [X[:, :, t] for t in range(steps)]
    h = v["h0"][:, :, 0]
    hs = [h]
    for t in range(steps):
        h = xp.tanh(h @ ops.t(W) + xs[t] @ ops.t(U) + b)
        hs.append(h)
    y = v["y"]
    dW, dU, db, dh = ops.zeros_like(W), ops.zeros_like(U), ops.zeros_like(b), ops.zeros_like(h)  # noqa: N806
    for t in range(steps - 1, -1, -1):
        dh = dh + (hs[t + 1] - y[:, :, t]) / n
        dz = dh * (1 - hs[t + 1] * hs[t + 1])
        dW, dU, db = dW + ops.t(dz) @ hs[t], dU + ops.t(dz) @ xs[t], db + ops.sum(dz, 0)  # noqa: N806
        dh = dz @ W
    return {"W": dW, "U": dU, "b": db[:, None]}


def _rnn_hand_stacked(ops: Ops, v: dict) -> dict:
    """The same with the steps stacked: every U x_t + b as one product before the loop, the weight gradients
    as one product after it (fewer, larger products: faster for one sample, slower for a batch here)."""
    xp = ops.xp
    X, W, U = v["X"], v["W"], v["U"]  # noqa: N806
    n, d_in, steps = X.shape
    hidden = W.shape[0]
    xs = ops.t(X).reshape(n * steps, d_in)
    inputs = (xs @ ops.t(U) + v["b"][:, 0]).reshape(n, steps, hidden)
    h = v["h0"][:, :, 0]
    states = []
    for t in range(steps):
        h = xp.tanh(h @ ops.t(W) + inputs[:, t])
        states.append(h)
    out = ops.stack(states, 1)
    d_out = (out - ops.t(v["y"])) / n
    dh = ops.zeros_like(h)
    dz = [None] * steps
    for t in range(steps - 1, -1, -1):
        dh = d_out[:, t] + dh
        dz[t] = dh * (1 - states[t] * states[t])
        dh = dz[t] @ W
    dZ = ops.stack(dz, 1).reshape(-1, hidden)  # noqa: N806
    previous = ops.concat([v["h0"][:, None, :, 0], out[:, :-1]], 1).reshape(-1, hidden)
    return {"W": ops.t(dZ) @ previous, "U": ops.t(dZ) @ xs, "b": ops.sum(dZ, 0)[:, None]}


def _swiglu_hand(ops: Ops, v: dict) -> dict:
    xp = ops.xp
    X, W1, W2, W3 = v["x"][:, :, 0], v["W1"], v["W2"], v["W3"]  # noqa: N806
    n = X.shape[0]
    a = X @ ops.t(W1)
    s = 1 / (1 + xp.exp(-a))
    g = a * s
    u = X @ ops.t(W3)
    h = g * u
    d_out = (h @ ops.t(W2) - v["y"][:, :, 0]) / n
    dh = d_out @ W2
    da = dh * u * (s * (1 + a * (1 - s)))
    return {"W2": ops.t(d_out) @ h, "W1": ops.t(da) @ X, "W3": ops.t(dh * g) @ X}


def _rms_norm_hand(ops: Ops, v: dict) -> dict:
    xp = ops.xp
    X = v["X"]  # noqa: N806
    d = X.shape[-1]
    xhat = X / xp.sqrt(ops.sum(X * X, -1, keepdims=True) / d + float(np.finfo(float).eps))
    out = v["gamma"] * xhat
    d_out = (out - v["y"]) / X.shape[0]
    return {"gamma": ops.sum(ops.sum(d_out * xhat, 0), 0)[None, :]}


def _layer_norm_hand(ops: Ops, v: dict) -> dict:
    xp = ops.xp
    X = v["X"]  # noqa: N806
    d = X.shape[-1]
    xc = X - ops.sum(X, -1, keepdims=True) / d
    xhat = xc / xp.sqrt(ops.sum(xc * xc, -1, keepdims=True) / d + 1e-5)
    d_out = v["gamma"] * xhat + v["beta"] - v["y"]
    return {"gamma": ops.sum(d_out * xhat, 0, keepdims=True), "beta": ops.sum(d_out, 0, keepdims=True)}


def _classifier_hand(ops: Ops, v: dict) -> dict:
    xp = ops.xp
    X, W1, W2 = v["X"], v["W1"], v["W2"]  # noqa: N806
    n = X.shape[0]
    z1 = X @ W1 + v["b1"]
    h = z1 * (z1 > 0)
    z2 = h @ W2 + v["b2"]
    e = xp.exp(z2 - xp.max(z2) if ops.name != "torch" else z2 - z2.max())
    p = e / ops.sum(e, 1, keepdims=True)
    dz2 = ops.minus_one_at(p, ops.arange(n), v["y"][:, 0]) / n
    dz1 = (dz2 @ ops.t(W2)) * (z1 > 0)
    return {"W2": ops.t(h) @ dz2, "b2": ops.sum(dz2, 0, keepdims=True),
            "W1": ops.t(X) @ dz1, "b1": ops.sum(dz1, 0, keepdims=True)}


def _attention_hand(ops: Ops, v: dict) -> dict:
    xp = ops.xp
    X, Wq, Wk, Wv = v["X"], v["Wq"], v["Wk"], v["Wv"]  # noqa: N806
    scale = 1 / math.sqrt(Wq.shape[1])
    q, k, values = X @ Wq, X @ Wk, X @ Wv
    s = (q @ ops.t(k)) * scale
    e = xp.exp(s - (xp.max(s, axis=1, keepdims=True) if ops.name != "torch" else s.max(dim=1, keepdim=True).values))
    a = e / ops.sum(e, 1, keepdims=True)
    d_out = a @ values - v["y"]
    da = d_out @ ops.t(values)
    ds = a * (da - ops.sum(da * a, 1, keepdims=True)) * scale
    return {"Wq": ops.t(X) @ (ds @ k), "Wk": ops.t(X) @ (ops.t(ds) @ q), "Wv": ops.t(X) @ (ops.t(a) @ d_out)}


@dataclass(frozen=True)
class Block:
    label: str
    network: Callable[[], sbp.Network]
    batch: int | None  # None: the network's rows are the samples (no batch axis)
    hand: Callable[[Ops, dict], dict] | tuple[Callable[[Ops, dict], dict], ...]  # variants: the best is the baseline
    integers: tuple[str, ...] = ()


def _classifier() -> sbp.Network:
    net = sbp.Network()
    x, y = net.input("X", (32, 64)), net.input("y", (32, 1))
    w1, b1 = net.param("W1", (64, 128)), net.param("b1", (1, 128))
    w2, b2 = net.param("W2", (128, 10)), net.param("b2", (1, 10))
    h = net.node("h", sbp.relu(x @ w1 + b1))
    net.loss("L", sbp.cross_entropy(net.node("z", h @ w2 + b2), y, axis=1))
    return net


BLOCKS = (
    Block("rnn T16 H32, N64", lambda: sbp.models.rnn(32, 32, T=16), 64, (_rnn_hand, _rnn_hand_stacked)),
    Block("rnn T64 H32, N64", lambda: sbp.models.rnn(32, 32, T=64), 64, (_rnn_hand, _rnn_hand_stacked)),
    Block("rnn T16 H32, N1", lambda: sbp.models.rnn(32, 32, T=16), 1, (_rnn_hand, _rnn_hand_stacked)),
    Block("swiglu 128→512, N1024", lambda: sbp.models.swiglu_mlp(128, 512), 1024, _swiglu_hand),
    Block("rms_norm T64 d128, N32", lambda: sbp.models.rms_norm(128, T=64), 32, _rms_norm_hand),
    Block("classifier, class indices, N32", _classifier, None, _classifier_hand, integers=("y",)),
    Block("attention T128 d32", lambda: sbp.models.attention_head(32, T=128), None, _attention_hand),
    Block("layer_norm T64 d128, N1", lambda: sbp.models.layer_norm(128, T=64), None, _layer_norm_hand),
)


def block_values(block: Block, network: sbp.Network, rng: np.random.Generator) -> dict[str, np.ndarray]:
    values = {}
    for q in network.quantities("input", "param"):
        leading = (block.batch,) if block.batch and q.kind == "input" else ()
        if q.name in block.integers:
            values[q.name] = rng.integers(0, 10, size=leading + q.shape)
        else:
            values[q.name] = rng.normal(size=leading + q.shape) * (0.3 if q.kind == "param" else 1.0)
    return values


def _backend(name: str) -> tuple[Callable, Callable] | None:
    """How to bring arrays to a backend and wait for its result; None when it is not installed."""
    if name == "numpy":
        return (lambda a: a), (lambda r: r)
    if importlib.util.find_spec(name) is None:
        return None
    if name == "jax":
        import jax
        import jax.numpy as jnp

        return jnp.asarray, jax.block_until_ready
    import torch

    torch.set_num_threads(1)
    return torch.as_tensor, (lambda r: r)


def _caller(function: Callable, arrays: dict, ready: Callable) -> Callable[[], Any]:
    return lambda: ready(function(**arrays))


def _hand_caller(hand: Callable, ops: Ops, arrays: dict, ready: Callable) -> Callable[[], Any]:
    if ops.name == "jax":
        import jax

        jitted = jax.jit(lambda v: hand(ops, v))
        return lambda: ready(jitted(arrays))
    return lambda: ready(hand(ops, arrays))


def block_row(block: Block, rounds: int) -> list[str]:
    from run import interleaved, ratio_of

    rng = np.random.default_rng(0)
    network = block.network()
    derivation = sbp.backprop(network)
    values = block_values(block, network, rng)
    hand_values = values
    if block.batch == 1:  # one sample: the hand code takes it with a batch axis of 1, ours without one
        inputs = {q.name for q in network.quantities("input")}
        values = {k: (v[0] if k in inputs else v) for k, v in values.items()}
    reference = derivation.lambdify()(**values)
    cells = [block.label]
    for name in ("numpy", "jax", "torch"):
        backend = _backend(name)
        if backend is None:
            cells += ["—", "—"]
            continue
        to, ready = backend
        ops = Ops(name)
        ours_function = derivation.lambdify() if name == "numpy" else derivation.lambdify(backend=name)
        ours_arrays = {k: to(v) for k, v in values.items()}
        hand_arrays = {k: to(v) for k, v in hand_values.items()}
        functions = {"ours": _caller(ours_function, ours_arrays, ready)}
        variants = block.hand if isinstance(block.hand, tuple) else (block.hand,)
        for k, hand in enumerate(variants):
            functions[f"hand {k}"] = _hand_caller(hand, ops, hand_arrays, ready)
            for key, value in functions[f"hand {k}"]().items():  # the hand code is right before it is timed
                np.testing.assert_allclose(np.asarray(value).reshape(reference[key].shape), reference[key],
                                           rtol=1e-8, atol=1e-10, err_msg=f"{block.label}, {name}, {key}")
        times = interleaved(functions, rounds=rounds, number=5)
        # the best hand-written variant of each round is the baseline
        times["hand"] = [min(round_times) for round_times in zip(*(times[f"hand {k}"] for k in range(len(variants))))]
        cells += [f"{min(times['hand']) * 1e3:.3f} ms", f"{ratio_of(times, 'ours', 'hand'):.2f}×"]
    return cells


def blocks_suite(run_table: Callable[..., None], rounds: int = 21, quick: bool = False) -> None:
    blocks = BLOCKS[:1] + BLOCKS[5:6] if quick else BLOCKS
    rows = [block_row(block, rounds) for block in blocks]
    run_table("10. blocks: ours ÷ the best hand-written forward+backward on each backend (median of interleaved "
              f"rounds, one thread, float64; targets {NUMPY_TARGET}× NumPy at N ≥ 32 and {NUMPY_SINGLE_TARGET}× "
              f"at N = 1, {JAX_TARGET}× JAX, {TORCH_TARGET}× torch)",
              ["block", "hand NumPy", "ours NumPy", "jax.jit(hand)", "ours, jax", "hand torch", "ours, torch"],
              rows)


# -- the first call's memory: a fresh process per side ------------------------------------------------

_FIRST_CALL = """
import sys
import numpy as np
sys.path.insert(0, {bench!r})
sizes, batch, side = {sizes!r}, {batch!r}, {side!r}
rng = np.random.default_rng(0)
x, y = rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1]))
weights = [rng.normal(size=(sizes[k + 1], sizes[k])) / np.sqrt(sizes[k]) for k in range(len(sizes) - 1)]
biases = [rng.normal(size=(sizes[k + 1], 1)) * 0.1 for k in range(len(sizes) - 1)]
if side == "hand NumPy":
    from run import hand_backprop
    hand_backprop(weights, biases, x, y)
elif side == "torch eager":
    import torch
    from run import torch_backprop
    leaves = [torch.tensor(a, requires_grad=True) for a in (*weights, *biases)]
    layers = len(weights)
    torch_backprop(torch, leaves[:layers], leaves[layers:], torch.tensor(x), torch.tensor(y))
else:
    import symbackprop as sbp
    values = {{"x": x, "y": y}}
    for k, (w, b) in enumerate(zip(weights, biases), start=1):
        values[f"W{{k}}"], values[f"b{{k}}"] = w, b
    backend = "torch" if side == "ours, torch" else "numpy"
    gradient = sbp.backprop(sbp.mlp(sizes)).lambdify(backend=backend)
    if backend == "torch":
        import torch
        values = {{k: torch.as_tensor(v) for k, v in values.items()}}
    gradient(**values)
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
"""


def first_call_memory_suite(run_table: Callable[..., None], sizes: list[int], batch: int) -> None:
    """Peak resident memory (VmHWM) of a fresh process making one gradient call, each side on its own."""
    import subprocess
    import sys
    from pathlib import Path

    bench = str(Path(__file__).resolve().parent)
    peaks = {}
    sides = ["hand NumPy", "ours, NumPy"]
    if importlib.util.find_spec("torch") is not None:
        sides += ["torch eager", "ours, torch"]
    for side in sides:
        code = _FIRST_CALL.format(bench=bench, sizes=sizes, batch=batch, side=side)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=True)
        peaks[side] = float(result.stdout.strip())
    baseline = {side: peaks["hand NumPy" if "NumPy" in side else "torch eager"] for side in peaks}
    rows = [[side, f"{peak:.0f} MB", f"{peak / baseline[side]:.2f}×"] for side, peak in peaks.items()]
    run_table(f"11. memory: peak of a fresh process making the first gradient call, {sizes} at batch {batch:,} "
              "(each side includes its imports; targets 1.1× hand NumPy, 1.2× torch eager)",
              ["side", "peak resident", "÷ its baseline"], rows)


__all__ = ["BLOCKS", "Block", "Ops", "block_row", "blocks_suite", "first_call_memory_suite"]
