"""The performance suite: each figure beside a baseline measured in the same process, and the ratio.

    python bench/run.py            # the full suite (several minutes: the naive baseline is slow)
    python bench/run.py --quick    # a small suite for CI (well under a minute)
    python bench/run.py --numeric  # only the numeric suites, 3 and 8, full size (a few minutes)
    python bench/run.py --scale    # every stage against network size (bench/scale.py; --quick: small sizes)
    python bench/run.py --dask     # only 9, Dask against a loop in memory on 1 and 2 workers (a few minutes)

Numbers are medians of repeated calls on one thread (float64); the numeric suite times every side
in interleaved rounds and reports the best time and the median ratio of each round. The baselines:
``sympy.diff`` of the whole loss once per parameter (the naive way, with a time
cap), a hand-written NumPy backprop of the same network, and PyTorch's eager
autograd when torch is installed.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # one thread for every library, set before NumPy loads

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import symbackprop as sbp  # noqa: E402


def median_seconds(function: Callable[[], object], *, repeat: int = 7, number: int = 1) -> float:
    function()  # warm caches and lazily built programs outside the timing
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def once(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def label(sizes: list[int]) -> str:
    hidden = sizes[1:-1]
    if len(hidden) > 4 and len(set(hidden)) == 1:
        return f"width {hidden[0]} × depth {len(hidden)}"
    return str(sizes)


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")


# -- 1. scalar level: the reverse sweep against sympy.diff per parameter -----------------------


def _naive_sympy_diff(sizes: list[int], cap: float) -> tuple[float | None, int]:
    """sympy.diff of the whole loss per parameter; None if it passes ``cap`` seconds."""
    net = sbp.mlp(sizes, level="scalar")
    d = sbp.backprop(net)
    loss = d.forward_expression("L", expand=True)
    start = time.perf_counter()
    done = 0
    for q in net.quantities("param", elements=True):
        if q.group is None and q.elements is not None:
            continue
        sp.diff(loss, q.symbol)
        done += 1
        if time.perf_counter() - start > cap:
            return None, done
    return time.perf_counter() - start, done


def _naive_worker(sizes, cap, queue):
    queue.put(_naive_sympy_diff(sizes, cap))


def naive_with_cap(sizes: list[int], cap: float) -> tuple[float | None, int]:
    """Run the naive baseline in a child process, so a swelling expression cannot outlive its cap."""
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_naive_worker, args=(sizes, cap, queue))
    child.start()
    child.join(cap * 3 + 30)
    if child.is_alive():
        child.terminate()
        return None, 0
    return queue.get() if not queue.empty() else (None, 0)


def scalar_suite(networks: list[list[int]], naive: dict[str, float]) -> None:
    rows = []
    for sizes in networks:
        seconds, d = once(lambda s=sizes: sbp.backprop(sbp.mlp(s, level="scalar")))
        params = sum(q.size for q in d.network.params)
        counts = operation_ratio(d)
        baseline = ""
        if label(sizes) in naive:
            cap = naive[label(sizes)]
            naive_seconds, done = naive_with_cap(sizes, cap)
            baseline = (f"{naive_seconds:.2f} s → {naive_seconds / seconds:,.0f}× faster" if naive_seconds
                        else f"over {cap:.0f} s ({done} of {params} params) → over {cap / seconds:,.0f}× faster")
        rows.append([label(sizes), f"{params:,}", f"{len(d.steps):,}", f"{seconds:.3f} s", counts, baseline])
    table("1. Scalar level: every weight a Symbol, every step recorded",
          ["network", "params", "steps", "backprop", "backward/forward ops", "sympy.diff per parameter"], rows)


def operation_ratio(d: sbp.Derivation) -> str:
    from symbackprop.cost import count_operations

    counts = count_operations(d)
    return f"{counts.backward:,} / {counts.forward:,} = {counts.backward / counts.forward:.2f}"


# -- 2. vector level: independent of width, linear in depth -------------------------------------


def vector_suite(quick: bool) -> None:
    rows = []
    small = median_seconds(lambda: sbp.backprop(sbp.mlp([2, 2, 2, 1])), repeat=5)
    for sizes in ([2, 2, 2, 1], [2, 1024, 1024, 1], [2] + [4] * 10 + [1], [2] + [4] * 100 + [1]):
        seconds = median_seconds(lambda s=sizes: sbp.backprop(sbp.mlp(s)), repeat=3 if quick else 5)
        d = sbp.backprop(sbp.mlp(sizes))
        rows.append([label(sizes), f"{len(d.steps)}", f"{seconds * 1000:.2f} ms", f"{seconds / small:.2f}×"])
    table("2. Vector level: derivation time (median) against [2, 2, 2, 1]",
          ["network", "steps", "backprop", "vs [2, 2, 2, 1]"], rows)


# -- 3. numeric: generated NumPy against hand-written NumPy and PyTorch -------------------------


def hand_backprop(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    """Textbook NumPy backprop, samples as rows: ReLU layers, ½‖h − y‖² averaged over the batch."""
    n = x.shape[0]
    hs, zs = [x], []
    for W, b in zip(weights, biases):
        z = hs[-1] @ W.T + b[:, 0]
        zs.append(z)
        hs.append(np.maximum(z, 0.0))
    g = (hs[-1] - y) / n
    grads = []
    for k in range(len(weights) - 1, -1, -1):
        g = g * (zs[k] > 0)
        grads.append((g.T @ hs[k], g.sum(axis=0)[:, None]))
        g = g @ weights[k]
    return grads[::-1]


def torch_backprop(torch, weights, biases, x, y):
    h = x
    for W, b in zip(weights, biases):
        h = torch.relu(h @ W.T + b[:, 0])
    loss = 0.5 * ((h - y) ** 2).sum(dim=1).mean()
    for p in (*weights, *biases):
        p.grad = None
    loss.backward()


def interleaved(functions: dict[str, Callable[[], object]], *, rounds: int, number: int) -> dict[str, list[float]]:
    """Seconds per call of each function, round by round: every round times each function once, side by side,
    so that a busy machine slows all of them alike in that round."""
    times: dict[str, list[float]] = {key: [] for key in functions}
    for _ in range(rounds):
        for key, function in functions.items():
            function()  # its caches warm again after the others ran (and lazily built programs, the first time)
            start = time.perf_counter()
            for _ in range(number):
                function()
            times[key].append((time.perf_counter() - start) / number)
    return times


def ratio_of(times: dict[str, list[float]], ours: str, theirs: str) -> float:
    """The median over rounds of ours / theirs measured in the same round."""
    return statistics.median(a / b for a, b in zip(times[ours], times[theirs]))


def _jax_hand(sizes: list[int]):
    """jax.jit of the hand-written backprop (bench/backends.py's), in float64; None without JAX."""
    if importlib.util.find_spec("jax") is None:
        return None
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from backends import _hand

    return jax, jnp, jax.jit(lambda w, b, x, y: _hand(jnp, w, b, x, y))


def _numeric_row(level: str, sizes: list[int], batch: int, rng: np.random.Generator, torch, rounds: int) -> list[str]:
    d = sbp.backprop(sbp.mlp(sizes, level=level))
    grad, fast = d.lambdify(), d.lambdify(check=False)
    layers = len(sizes) - 1
    weights = [rng.normal(size=(sizes[k + 1], sizes[k])) / np.sqrt(sizes[k]) for k in range(layers)]
    biases = [rng.normal(size=(sizes[k + 1], 1)) * 0.1 for k in range(layers)]
    x, y = rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1]))
    values = {"x": x, "y": y if sizes[-1] > 1 else y[:, 0]}
    for k in range(layers):
        values[f"W{k + 1}"], values[f"b{k + 1}"] = weights[k], biases[k]
    for ours in (grad(**values), fast(**values)):
        for k, (dW, db) in enumerate(hand_backprop(weights, biases, x, y)):  # agree before being timed
            np.testing.assert_allclose(ours[f"W{k + 1}"], dW, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(np.reshape(ours[f"b{k + 1}"], db.shape), db, rtol=1e-9, atol=1e-12)
    functions = {"ours": lambda: grad(**values), "fast": lambda: fast(**values),
                 "hand": lambda: hand_backprop(weights, biases, x, y)}
    if torch is not None:
        tw = [torch.tensor(w, requires_grad=True) for w in weights]
        tb = [torch.tensor(b, requires_grad=True) for b in biases]
        tx, ty = torch.tensor(x), torch.tensor(y)
        functions["torch"] = lambda: torch_backprop(torch, tw, tb, tx, ty)
    jax_hand = _jax_hand(sizes) if level == "vector" else None
    if jax_hand is not None:
        jax, jnp, jitted = jax_hand
        jw, jb, jx, jy = [jnp.asarray(w) for w in weights], [jnp.asarray(b) for b in biases], jnp.asarray(x), \
            jnp.asarray(y)
        functions["jax"] = lambda: jax.block_until_ready(jitted(jw, jb, jx, jy))
    start = time.perf_counter()
    hand_backprop(weights, biases, x, y)
    number = max(1, min(50, int(2e-3 / max(time.perf_counter() - start, 1e-7))))
    times = interleaved(functions, rounds=rounds, number=number)
    best = {key: min(t) for key, t in times.items()}
    cells = [f"{label(sizes)} ({level})", f"{best['ours'] * 1e3:.3f} ms", f"{best['fast'] * 1e3:.3f} ms",
             f"{best['hand'] * 1e3:.3f} ms", f"{ratio_of(times, 'ours', 'hand'):.2f}×",
             f"{ratio_of(times, 'fast', 'hand'):.2f}×"]
    for key in ("jax", "torch"):
        cells.append(f"{best[key] * 1e3:.3f} ms ({ratio_of(times, 'ours', key):.2f}×)" if key in times else "")
    return cells


def numeric_suite(networks: list[list[int]], scalar_networks: list[list[int]], batch: int, rounds: int = 15) -> None:
    torch = None
    if importlib.util.find_spec("torch"):
        import torch

        torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = [_numeric_row(level, sizes, batch, rng, torch, rounds)
            for level, nets in (("vector", networks), ("scalar", scalar_networks)) for sizes in nets]
    table(f"3. Numeric: gradients of a batch of {batch} (best of {rounds} interleaved rounds per call; ratios: the "
          "median over rounds of the two measured side by side; one thread)",
          ["network", "d.lambdify()", "check=False", "hand NumPy", "ratio", "ratio, check=False",
           "jax.jit(hand) (ours ÷ it)", "PyTorch eager (ours ÷ it)"], rows)


# -- 4. rendering and 5. memory ------------------------------------------------------------------


def rendering_suite(quick: bool) -> None:
    rows = []
    cases = [("vector", [2] + [4] * 32 + [1]), ("scalar", [4, 8, 8, 1] if quick else [8, 16, 16, 1])]
    for level, sizes in cases:
        d = sbp.backprop(sbp.mlp(sizes, level=level))
        try:
            seconds, text = once(lambda d=d: d.to_latex())
        except ImportError as error:
            rows.append([f"{label(sizes)} ({level})", "printers not available", str(error), ""])
            continue
        rows.append([f"{label(sizes)} ({level})", f"{len(d.steps):,}", f"{seconds:.3f} s",
                     f"{len(text) / 1e3:,.0f} kB"])
    table("4. Rendering: the LaTeX document", ["network", "steps", "to_latex()", "size"], rows)


# VmHWM, not ru_maxrss: the latter keeps the high-water mark of the forked parent across exec
_PEAK = """
import sys
sys.path.insert(0, {root!r})
import symbackprop as sbp
sbp.backprop(sbp.mlp({sizes!r}, level="scalar"))
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
"""


def memory_suite(sizes: list[int]) -> None:
    """Peak RSS of a fresh interpreter that imports symbackprop and derives (Linux's VmHWM, in kB)."""
    code = _PEAK.format(root=str(Path(__file__).resolve().parent.parent), sizes=sizes)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    peak = float(result.stdout.strip())
    table("5. Memory: peak resident set of a fresh process that derives",
          ["network", "peak RSS", "target"], [[f"{label(sizes)} (scalar)", f"{peak:.0f} MB", "under 300 MB"]])


# -- 6. blocks: the matrix level independent of width ----------------------------------------


def attention_suite(quick: bool) -> None:
    """sbp.backprop(sbp.models.attention_head(d)) at d = 512 against d = 4: the target is at most 2×."""
    repeat = 7 if quick else 15
    widths = (4, 64, 512)
    times = {d: median_seconds(lambda d=d: sbp.backprop(sbp.models.attention_head(d=d)), repeat=repeat)
             for d in widths}
    rows = []
    for d in widths:
        steps = len(sbp.backprop(sbp.models.attention_head(d=d)).steps)
        rows.append([f"attention_head(d={d})", f"{steps}", f"{times[d] * 1000:.2f} ms", f"{times[d] / times[4]:.2f}×"])
    table("6. Blocks: one attention head derived (median), against d = 4 (target: d = 512 at most 2×)",
          ["network", "steps", "backprop", "vs d = 4"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small suite for CI")
    parser.add_argument("--numeric", action="store_true", help="only the numeric suites (3 and 8), full size")
    parser.add_argument("--scale", action="store_true", help="every stage against network size (bench/scale.py)")
    parser.add_argument("--blocks", action="store_true", help="each block against hand-written code (bench/blocks.py)")
    parser.add_argument("--dask", action="store_true", help="only 9, Dask against a loop in memory")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help="--scale: the longest one call may take before its larger sizes skip it (60; quick: 5)")
    args = parser.parse_args(argv)
    print(f"symbackprop {sbp.__version__}, sympy {sp.__version__}, numpy {np.__version__}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if args.dask:
        import backends

        backends.dask_suite([([8, 16, 16, 1], 2 ** 20, 2 ** 16)], rounds=2) if args.quick else \
            backends.dask_suite(DASK_CASES)
    elif args.blocks:
        import blocks

        blocks.blocks_suite(table, quick=args.quick)
        blocks.first_call_memory_suite(table, [64, 256, 256, 10], 2 ** 13 if args.quick else 2 ** 16)
    elif args.scale:
        import scale

        scale.scale_suite(table, quick=args.quick, budget=args.budget)
    elif args.numeric:
        nets = [[8, 16, 16, 1], [16, 32, 32, 1], [64, 256, 256, 10], [4] + [4] * 32 + [1]]
        for batch in (1024, 32):
            numeric_suite(nets, [[4, 8, 8, 1], [8, 16, 16, 1]], batch=batch, rounds=21)
        import backends

        backends.backend_suite(nets, batch=1024, repeat=9)
    elif args.quick:
        scalar_suite([[4, 8, 8, 1], [8, 16, 16, 1]], naive={"[4, 8, 8, 1]": 10.0})
        vector_suite(quick=True)
        numeric_suite([[8, 16, 16, 1]], [[4, 8, 8, 1]], batch=256, rounds=7)
        numeric_suite([[8, 16, 16, 1]], [], batch=32, rounds=7)
        rendering_suite(quick=True)
        memory_suite([8, 16, 16, 1])
        attention_suite(quick=True)
        _check_backend_and_dask_suites(quick=True)
    else:
        scalar_suite([[4, 8, 8, 1], [8, 16, 16, 1], [16, 32, 32, 1], [4] + [4] * 8 + [1], [4] + [4] * 32 + [1]],
                     naive={"[4, 8, 8, 1]": 60.0, "[8, 16, 16, 1]": 90.0, "[16, 32, 32, 1]": 120.0,
                            "width 4 × depth 8": 120.0})
        vector_suite(quick=False)
        numeric_suite([[8, 16, 16, 1], [16, 32, 32, 1], [64, 256, 256, 10], [4] + [4] * 32 + [1]],
                      [[4, 8, 8, 1], [8, 16, 16, 1]], batch=1024)
        numeric_suite([[8, 16, 16, 1], [16, 32, 32, 1], [64, 256, 256, 10], [4] + [4] * 32 + [1]],
                      [[4, 8, 8, 1], [8, 16, 16, 1]], batch=32)
        rendering_suite(quick=False)
        memory_suite([16, 32, 32, 1])
        attention_suite(quick=False)
        _check_backend_and_dask_suites(quick=False)
    return 0


#: Section 9's networks: (sizes, samples, samples per chunk), about two seconds of work each on one core.
DASK_CASES = [([8, 16, 16, 1], 2 ** 23, 2 ** 16), ([16, 32, 32, 1], 2 ** 22, 2 ** 16),
              ([64, 256, 256, 10], 2 ** 18, 2 ** 13)]


def _check_backend_and_dask_suites(quick: bool) -> None:
    """7. checks, 8. JAX and PyTorch beside hand code, 9. Dask (bench/backends.py)."""
    import tempfile

    import backends

    with tempfile.TemporaryDirectory() as work:
        backends.check_suite(Path(work))
    if quick:
        backends.backend_suite([[8, 16, 16, 1]], batch=256, repeat=5)
        backends.dask_suite([([8, 16, 16, 1], 2 ** 20, 2 ** 16)], rounds=2)
    else:
        backends.backend_suite([[8, 16, 16, 1], [16, 32, 32, 1], [64, 256, 256, 10], [4] + [4] * 32 + [1]],
                               batch=1024, repeat=9)
        backends.dask_suite(DASK_CASES)


if __name__ == "__main__":
    sys.exit(main())
