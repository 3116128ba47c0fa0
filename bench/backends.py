"""The suites of gradient checks, of JAX and PyTorch beside hand-written code, and of Dask throughput.

Imported by bench/run.py, which sets one thread per library before NumPy loads; each figure
stands beside its baseline measured in the same process.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import symbackprop as sbp

ROOT = Path(__file__).resolve().parent.parent
CHECKED = [15, 3, 3, 1]  # 64 parameters


def _table(title, header, rows):
    from run import table  # bench/run.py's table, one format for the whole suite

    table(title, header, rows)


def _network_values(sizes: list[int], batch: int | None, rng: np.random.Generator) -> dict[str, np.ndarray]:
    layers = len(sizes) - 1
    values = {"x": rng.normal(size=(batch, sizes[0]) if batch else (sizes[0], 1)),
              "y": rng.normal(size=(batch, sizes[-1]) if batch else (sizes[-1], 1))}
    if sizes[-1] == 1:
        values["y"] = values["y"][:, 0] if batch else 0.5
    for k in range(layers):
        values[f"W{k + 1}"] = rng.normal(size=(sizes[k + 1], sizes[k])) / np.sqrt(sizes[k])
        values[f"b{k + 1}"] = rng.normal(size=(sizes[k + 1], 1)) * 0.1
    return values


# -- 7. checks ----------------------------------------------------------------------------------


_NET_FILE = """
import numpy as np
import symbackprop as sbp

net = sbp.mlp({sizes!r}, level={level!r})
rng = np.random.default_rng(0)
values = {{"x": rng.normal(size={inputs}).tolist(), "y": 0.5}}
for k, (n, m) in enumerate({shapes!r}, start=1):
    values[f"W{{k}}"] = (rng.normal(size=(n, m)) / np.sqrt(m)).tolist()
    values[f"b{{k}}"] = (rng.normal(size=(n, 1)) * 0.1).tolist()
"""


def check_suite(work: Path) -> None:
    """check_gradients and `symbackprop check` on the 64-parameter net, by default and thorough."""
    rows = []
    shapes = [(CHECKED[k + 1], CHECKED[k]) for k in range(len(CHECKED) - 1)]
    for level in ("scalar", "vector"):
        d = sbp.backprop(sbp.mlp(CHECKED, level=level))
        values = _network_values(CHECKED, None, np.random.default_rng(0))
        cells = [f"{CHECKED} ({level}), 64 params"]
        for thorough in (False, True):
            start = time.perf_counter()
            report = sbp.check_gradients(d, values, thorough=thorough)
            cells.append(f"{time.perf_counter() - start:.2f} s ({report.sympy_checked} of 64 by sympy.diff)")
            assert report.passed
        path = work / f"net64_{level}.py"
        path.write_text(_NET_FILE.format(sizes=CHECKED, level=level, inputs=CHECKED[0], shapes=shapes))
        for extra in ([], ["--thorough"]):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "symbackprop", "check", str(path), "-q", *extra], check=True,
                           capture_output=True, cwd=ROOT)
            cells.append(f"{time.perf_counter() - start:.2f} s")
        rows.append(cells)
    _table("7. Checks: check_gradients and `symbackprop check` (the command's time includes starting Python)",
           ["network", "check_gradients", "thorough=True", "symbackprop check", "--thorough"], rows)


# -- 8. JAX and PyTorch: ours against the same hand-written backprop ---------------------------------


def _hand(xp, weights, biases, x, y):
    """bench/run.py's hand_backprop in any NumPy-like module (jax.numpy, torch): samples as rows."""
    n = x.shape[0]
    hs, zs = [x], []
    for W, b in zip(weights, biases):
        z = hs[-1] @ W.T + b[:, 0]
        zs.append(z)
        hs.append(xp.maximum(z, 0.0 * z))
    g = (hs[-1] - y) / n
    grads = []
    for k in range(len(weights) - 1, -1, -1):
        g = g * (zs[k] > 0)
        grads.append((g.T @ hs[k], g.sum(0)[:, None]))
        g = g @ weights[k]
    return grads[::-1]


def _backend_row(backend: str, sizes: list[int], batch: int, rng: np.random.Generator, repeat: int) -> list[str]:
    from run import label

    d = sbp.backprop(sbp.mlp(sizes))
    values = _network_values(sizes, batch, rng)
    layers = len(sizes) - 1
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        to = jnp.asarray
        hand = jax.jit(lambda w, b, x, y: _hand(jnp, w, b, x, y))

        def ready(result):
            return jax.block_until_ready(result)
    else:
        import torch

        to = torch.as_tensor
        hand = lambda w, b, x, y: _hand(torch, w, b, x, y)  # noqa: E731

        def ready(result):
            return result
    grad = d.lambdify(backend=backend)
    arrays = {k: to(v) for k, v in values.items()}
    weights = [arrays[f"W{k + 1}"] for k in range(layers)]
    biases = [arrays[f"b{k + 1}"] for k in range(layers)]
    y = arrays["y"].reshape(batch, sizes[-1])
    ours, theirs = ready(grad(**arrays)), ready(hand(weights, biases, arrays["x"], y))
    reference = d.lambdify()(**values)
    for k, (dW, db) in enumerate(theirs):  # the three agree before being timed
        np.testing.assert_allclose(np.asarray(ours[f"W{k + 1}"]), reference[f"W{k + 1}"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(dW), reference[f"W{k + 1}"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.asarray(db).reshape(-1), reference[f"b{k + 1}"].reshape(-1), rtol=1e-9,
                                   atol=1e-12)
    from run import interleaved, ratio_of

    numpy_grad = d.lambdify()
    times = interleaved({"ours": lambda: ready(grad(**arrays)),
                         "hand": lambda: ready(hand(weights, biases, arrays["x"], y)),
                         "numpy": lambda: numpy_grad(**values)}, rounds=repeat, number=5)
    best = {key: min(t) for key, t in times.items()}
    return [label(sizes), f"{best['ours'] * 1e3:.3f} ms", f"{best['hand'] * 1e3:.3f} ms",
            f"{ratio_of(times, 'ours', 'hand'):.2f}×", f"{best['numpy'] * 1e3:.3f} ms"]


def backend_suite(networks: list[list[int]], batch: int, repeat: int) -> None:
    for backend, title, ours, hand in (
            ("jax", "jax.jit", "jax.jit(d.lambdify(backend=\"jax\"))", "jax.jit(hand JAX)"),
            ("torch", "PyTorch", "d.lambdify(backend=\"torch\")", "hand torch (no autograd)")):
        if importlib.util.find_spec(backend) is None:
            print(f"\n(8. {title}: {backend} is not installed)")
            continue
        if backend == "torch":
            import torch

            torch.set_num_threads(1)
        rng = np.random.default_rng(0)
        rows = [_backend_row(backend, sizes, batch, rng, repeat) for sizes in networks]
        _table(f"8. {title}: our generated program against the same hand-written backprop, batch {batch} "
               "(vector level, float64, best of interleaved rounds, the ratio their median, one thread)",
               ["network", ours, hand, "ratio", "d.lambdify() (NumPy)"], rows)


# -- 9. Dask: throughput at 1 and 2 workers -------------------------------------------------------


#: Raised allocator thresholds for the workers, beside the Nanny's own (MALLOC_TRIM_THRESHOLD_ = 64 KiB, which also
#: fixes glibc's threshold for mapping memory from the system at 128 KiB).
RAISED_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 256 * 2 ** 20, "MALLOC_MMAP_THRESHOLD_": 32 * 2 ** 20}


def _loop_sums(grad, params, blocks, slice_size: int | None) -> dict[str, np.ndarray]:
    """The baseline: d.lambdify()'s gradient on every block in memory, one after another (or on slices of the
    blocks), each mean times its size, summed."""
    total: dict[str, np.ndarray] = {}
    for x, y in blocks:
        step = slice_size or len(x)
        for start in range(0, len(x), step):
            part = grad(x=x[start:start + step], y=y[start:start + step], **params)
            count = len(x[start:start + step])
            for name, value in part.items():
                total[name] = total[name] + value * count if name in total else value * count
    return total


_FORKED: dict = {}  # what the two plain loops' processes inherit instead of receiving it pickled


def _timed_half(half: int) -> float:
    blocks, middle = _FORKED["blocks"], len(_FORKED["blocks"]) // 2
    blocks = blocks[:middle] if half == 0 else blocks[middle:]
    grad = _FORKED["d"].lambdify()
    _loop_sums(grad, _FORKED["params"], blocks[:1], _FORKED["slice_size"])
    seconds, _ = _best_of(_FORKED["rounds"], lambda: _loop_sums(grad, _FORKED["params"], blocks, _FORKED["slice_size"]))
    return seconds


def _best_of(rounds: int, function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def dask_suite(cases: list[tuple[list[int], int, int]], rounds: int = 3) -> None:
    """Per network: the loop over the blocks in memory, sbp.dask_gradients on 1 and 2 workers, the ratios."""
    if importlib.util.find_spec("distributed") is None:
        print("\n(9. Dask: dask/distributed are not installed)")
        return
    rows = [_dask_row(sizes, samples, chunk, rounds) for sizes, samples, chunk in cases]
    _table(f"9. Dask: sbp.dask_gradients on a distributed LocalCluster against a loop in memory (M samples/s, "
           f"best of {rounds}; one thread per process)",
           ["network", "samples", "loop on the chunks", "loop on slices", "two loops in two processes",
            "Dask, 1 worker, the Nanny's allocator", "Dask, 1 worker", "Dask, 2 workers", "1 worker / best loop",
            "2 workers / best loop"], rows)
    print(f"\nWorkers: the Nanny's environment (OMP, MKL and OPENBLAS threads 1) with {RAISED_MALLOC}; the Nanny's "
          "allocator is its own MALLOC_TRIM_THRESHOLD_ = 65536. The loops: one thread for every library, glibc's "
          "defaults. The data is made on the workers by da.random and persisted there before the timing; the loops' "
          "copy is in memory.")


def _dask_row(sizes: list[int], samples: int, chunk: int, rounds: int) -> list[str]:
    import dask
    import dask.array as da
    import distributed

    from symbackprop.backends.block_program import shipped_program

    d = sbp.backprop(sbp.mlp(sizes))
    params = {k: v for k, v in _network_values(sizes, None, np.random.default_rng(0)).items() if k[0] in "Wb"}

    def arrays():  # made block by block where they are computed: on the workers, or here for the loop
        x = da.random.RandomState(1).normal(size=(samples, sizes[0]), chunks=(chunk, sizes[0]))
        y_shape = (samples, sizes[-1]) if sizes[-1] > 1 else (samples,)
        y = da.random.RandomState(2).normal(size=y_shape, chunks=(chunk, *y_shape[1:]))
        return x, y

    blocks = list(zip(*(list(map(np.asarray, dask.compute(*a.to_delayed().reshape(-1), scheduler="sync")))
                        for a in arrays())))
    grad = d.lambdify()
    slice_size = shipped_program(d, {k: np.asarray(v, float) for k, v in params.items()},
                                 {"x": (sizes[0], 1), "y": (sizes[-1], 1)}, False).slice_size
    _loop_sums(grad, params, blocks[:1], None)
    chunk_time, expected = _best_of(rounds, lambda: _loop_sums(grad, params, blocks, None))
    slice_time, _ = _best_of(rounds, lambda: _loop_sums(grad, params, blocks, slice_size))
    loop = min(chunk_time, slice_time)
    _FORKED.update(d=d, params=params, blocks=blocks, slice_size=slice_size, rounds=rounds)
    with multiprocessing.get_context("fork").Pool(2) as pool:  # two plain loops, each on half, the data inherited
        two_loops = max(pool.map(_timed_half, [0, 1]))
    blocks.clear()  # the loop's copy of the data, freed before the workers make theirs
    row = [f"{sizes}", f"{samples:,} in {samples // chunk} chunks of {chunk:,}",
           f"{samples / chunk_time / 1e6:.3f}", f"{samples / slice_time / 1e6:.3f} (slices of {slice_size})",
           f"{samples / two_loops / 1e6:.3f} ({loop / two_loops:.2f}×)"]
    dask_times = []
    for workers, allocator in ((1, {}), (1, RAISED_MALLOC), (2, RAISED_MALLOC)):
        for variable in RAISED_MALLOC:  # a Nanny leaves its variables in this process's environment, where they
            os.environ.pop(variable, None)  # would outrank the configuration of the next cluster's Nanny
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in allocator.items()}), \
                distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            x, y = client.persist(arrays())  # made on the workers and kept there, as the loop keeps its own
            distributed.wait([x, y])
            data = {"x": x, "y": y}
            got = sbp.dask_gradients(d, data, params)  # the workers compile the program
            for name, value in expected.items():
                np.testing.assert_allclose(got[name], value / samples, rtol=1e-9, atol=1e-12, err_msg=name)
            seconds, _ = _best_of(rounds, lambda data=data: sbp.dask_gradients(d, data, params))
            dask_times.append(seconds)
    return row + [f"{samples / t / 1e6:.3f}" for t in dask_times] + [f"{loop / t:.2f}×" for t in dask_times[1:]]
