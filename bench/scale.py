"""The scale table: every stage of symbackprop against the size of the network.

    python bench/run.py --scale                 # every family at every size (each call capped by a budget)
    python bench/run.py --scale --quick         # small sizes only (for CI, well under a minute)
    python bench/run.py --scale --budget 20     # a smaller per-call budget

A family is one kind of network grown along one axis: an RNN over T steps, a perceptron in depth,
the scalar level in width, an attention head in d, and one lecture-sized network (a character-level
MLP with an embedding, a batchnorm and a cross-entropy written out step by step). Its size is the
number of scalars in all its quantities (inputs, parameters, nodes and the loss), so that a stage
linear in the network has slope 1 against it whatever the family grows along.

Each size runs in a child process that reports each stage as it finishes; a stage still running
after the budget is stopped there, and the family's larger sizes skip it ("—"). The slope of a stage
is the log-log slope of its time over the two largest sizes it completed; slopes over 1.15 and
default documents of networks under 2,000 parameters that take over 3 s are flagged.
"""

from __future__ import annotations

import math
import multiprocessing
import queue as queues
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The stages, in the order a child runs them (documents after evaluate: its numbers are reused).
STAGES = (
    "backprop", "evaluate", "lambdify", "first call", "check", "graph",
    "latex ()", "markdown ()", "html ()", "latex", "markdown", "html", "page full", "interactive",
)
#: The stages that write a document with its default sections (the 3 s target below 2,000 parameters).
DEFAULT_DOCUMENTS = ("latex", "markdown", "html")
SLOPE_LIMIT = 1.15
DOCUMENT_SECONDS = 3.0
SMALL_NETWORK_PARAMETERS = 2000
SKIPPED = "—"
#: The longest one call may take before the family's larger sizes skip its stage.
BUDGET_SECONDS = 60.0
QUICK_BUDGET_SECONDS = 5.0


@dataclass(frozen=True)
class Family:
    name: str
    axis: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    build: Callable[[int], Any]


def _rnn(steps: int):
    import symbackprop as sbp

    return sbp.models.rnn(2, 3, T=steps)


def _mlp_depth(depth: int):
    import symbackprop as sbp

    return sbp.mlp([4] * depth + [1])


def _scalar_width(width: int):
    import symbackprop as sbp

    return sbp.mlp([width, width, 1], level="scalar")


def _attention(d: int):
    import symbackprop as sbp

    return sbp.models.attention_head(d)


def lecture_network(batch: int = 4, vocabulary: int = 5, block: int = 3, embedding: int = 4, hidden: int = 16):
    """A character-level MLP as a lecture writes it out step by step: each context character a one-hot
    row times the embedding table C, the embeddings side by side, a linear layer, a batchnorm in its
    pieces (mean, deviation, variance, inverse deviation, scale and shift), tanh, the output layer and a
    cross-entropy in its pieces (exp, row sums, their inverse, probabilities, log, the batch mean)."""
    import sympy as sp

    import symbackprop as sbp

    net = sbp.Network()
    characters = [net.input(f"X{k + 1}", (batch, vocabulary)) for k in range(block)]
    targets = net.input("Y", (batch, vocabulary))
    C = net.param("C", (vocabulary, embedding))  # noqa: N806
    W1 = net.param("W1", (block * embedding, hidden))  # noqa: N806
    b1 = net.param("b1", (1, hidden))
    gain = net.param("bngain", (1, hidden))
    bias = net.param("bnbias", (1, hidden))
    W2 = net.param("W2", (hidden, vocabulary))  # noqa: N806
    b2 = net.param("b2", (1, vocabulary))
    embedded = [net.node(f"emb{k + 1}", x @ C) for k, x in enumerate(characters)]
    joined = net.node("embcat", sbp.concat(embedded, axis=1))
    before = net.node("hprebn", joined @ W1 + b1)
    mean = net.node("bnmeani", sbp.mean(before, axis=0))
    deviation = net.node("bndiff", before - mean)
    squared = net.node("bndiff2", deviation ** 2)
    variance = net.node("bnvar", sbp.total(squared, axis=0) / (batch - 1))
    inverse = net.node("bnvar_inv", (variance + sp.Rational(1, 100000)) ** sp.Rational(-1, 2))
    normalized = net.node("bnraw", deviation * inverse)
    preactivation = net.node("hpreact", gain * normalized + bias)
    h = net.node("h", sbp.tanh(preactivation))
    logits = net.node("logits", h @ W2 + b2)
    counts = net.node("counts", sbp.exp(logits))
    counts_sum = net.node("counts_sum", sbp.total(counts, axis=1))
    counts_sum_inv = net.node("counts_sum_inv", counts_sum ** -1)
    probs = net.node("probs", counts * counts_sum_inv)
    logprobs = net.node("logprobs", sbp.log(probs))
    net.loss("L", -sbp.total(targets * logprobs) / batch)
    return net


def _lecture(batch: int):
    return lecture_network(batch=batch)


FAMILIES = (
    Family("RNN rnn(2, 3, T)", "T", (4, 16, 64, 256, 1024, 4096), (2, 4), _rnn),
    Family("MLP mlp([4]*depth + [1])", "depth", (4, 16, 64, 256, 1024), (4, 16), _mlp_depth),
    Family("scalar level mlp([w, w, 1])", "w", (4, 8, 16, 32, 64), (4, 8), _scalar_width),
    Family("attention_head(d)", "d", (4, 64, 512), (4, 8), _attention),
    Family("lecture MLP (vocabulary 5)", "batch", (4,), (4,), _lecture),
)


def random_values(network: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """Normal numbers for every input and parameter; a target of one-hot rows where the name says Y."""
    rng = np.random.default_rng(seed)
    values = {}
    for quantity in network.quantities("input", "param"):
        shape = quantity.shape or (1, 1)
        if quantity.name == "Y":
            values[quantity.name] = np.eye(shape[1])[rng.integers(shape[1], size=shape[0])]
        else:
            values[quantity.name] = rng.normal(size=shape) * 0.5
    return values


def network_size(network: Any) -> int:
    """Scalars in every quantity: what a stage linear in the network grows with."""
    return sum(1 if q.shape is None else q.shape[0] * q.shape[1] for q in network.quantities())


def parameter_count(network: Any) -> int:
    return sum(1 if q.shape is None else q.shape[0] * q.shape[1] for q in network.quantities("param"))


def _stage_calls(derivation: Any, values: dict[str, Any], state: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    import symbackprop as sbp
    from symbackprop.graph import to_dot

    def build():
        state["gradient"] = derivation.lambdify()

    return {
        "evaluate": lambda: derivation.evaluate(values),
        "lambdify": build,
        "first call": lambda: state["gradient"](**values),
        "check": lambda: sbp.check_gradients(derivation, values),
        "graph": lambda: to_dot(derivation.network, values=values),
        "latex ()": lambda: derivation.to_latex(values=values, sections=()),
        "markdown ()": lambda: derivation.to_markdown(values=values, sections=()),
        "html ()": lambda: derivation.to_html(values=values, sections=()),
        "latex": lambda: derivation.to_latex(values=values),
        "markdown": lambda: derivation.to_markdown(values=values),
        "html": lambda: derivation.to_html(values=values),
        "page full": lambda: derivation.to_latex(values=values, page="full"),
        "interactive": lambda: derivation.to_html(values=values, interactive=True),
    }


def _child(family_index: int, size: int, stages: tuple[str, ...], report: Any) -> None:
    """Build the network, then time each stage in ``stages`` and report it as soon as it finishes."""
    import warnings

    import symbackprop as sbp

    warnings.simplefilter("ignore")
    network = FAMILIES[family_index].build(size)
    values = random_values(network)
    report.put(("network", (network_size(network), parameter_count(network))))
    if not stages:
        report.put(("done", None))
        return
    start = time.perf_counter()
    try:
        derivation = sbp.backprop(network)
    except Exception as error:  # RecursionError, say: nothing else can run
        report.put(("backprop", type(error).__name__))
        report.put(("done", None))
        return
    if "backprop" in stages:
        report.put(("backprop", time.perf_counter() - start))
    state: dict[str, Any] = {}
    calls = _stage_calls(derivation, values, state)
    for needed, before in (("evaluate", "latex ()"), ("lambdify", "first call")):  # a restarted child's caches
        if needed not in stages and any(STAGES.index(s) >= STAGES.index(before) for s in stages):
            _quietly(calls[needed])
    report.put(("ready", None))  # each stage's budget starts here
    for stage in stages:
        if stage == "backprop":
            continue
        start = time.perf_counter()
        try:
            calls[stage]()
        except Exception as error:  # a stage that fails is a figure too: it is printed, not hidden
            report.put((stage, f"{type(error).__name__}"))
            continue
        report.put((stage, time.perf_counter() - start))
    report.put(("done", None))


def _quietly(call: Callable[[], Any]) -> None:
    try:
        call()
    except Exception:  # noqa: S110 - its own stage reports the failure
        pass


def warm_up() -> None:
    """Every stage once on the reference network, so that the children start with every module imported."""
    import symbackprop as sbp

    derivation = sbp.backprop(sbp.reference_network())
    state: dict[str, Any] = {}
    for call in _stage_calls(derivation, sbp.reference_values(), state).values():
        _quietly(call)


@dataclass
class Row:
    size: int
    network_size: int = 0
    parameters: int = 0
    cells: dict[str, Any] = field(default_factory=dict)


def measure(family_index: int, size: int, stages: tuple[str, ...], budget: float) -> Row:
    """One size of a family: its stages in child processes, each stopped after ``budget`` seconds."""
    row = Row(size)
    context = multiprocessing.get_context("fork")
    remaining = list(stages)
    started = False
    while remaining or not started:
        started = True
        report = context.Queue()
        child = context.Process(target=_child, args=(family_index, size, tuple(remaining), report), daemon=True)
        child.start()
        setup = budget * 2 + 30  # building the network, and a backprop outside the stages
        deadline = time.monotonic() + setup
        while True:
            message = _next_report(report, child, deadline)
            if message is None:  # over the budget, or the child died (out of memory, say)
                if remaining:
                    row.cells[remaining.pop(0)] = f"> {budget:.0f} s" if child.is_alive() else "crashed"
                break
            key, value = message
            if key == "done":
                remaining.clear()
                break
            if key == "network":
                row.network_size, row.parameters = value
                deadline = time.monotonic() + (budget if "backprop" in remaining else setup)
            elif key == "ready":
                deadline = time.monotonic() + budget
            else:
                row.cells[key] = value
                remaining.remove(key)
                deadline = time.monotonic() + budget
        child.kill()
        child.join()
        if isinstance(row.cells.get("backprop"), str):  # nothing else can run without a derivation
            for stage in remaining:
                row.cells[stage] = SKIPPED
            remaining.clear()
    return row


def _next_report(report: Any, child: Any, deadline: float) -> tuple[str, Any] | None:
    """The child's next message, or None once ``deadline`` passes or the child has died without one."""
    while time.monotonic() < deadline:
        try:
            return report.get(timeout=min(1.0, max(deadline - time.monotonic(), 0.01)))
        except queues.Empty:
            if not child.is_alive():
                try:
                    return report.get(timeout=1.0)  # what it sent just before it ended
                except queues.Empty:
                    return None
    return None


def slope(rows: list[Row], stage: str) -> float | None:
    """The log-log slope of ``stage``'s time against network size over its two largest completed sizes."""
    done = [(r.network_size, r.cells[stage]) for r in rows if isinstance(r.cells.get(stage), float)]
    done = [(n, t) for n, t in done if t > 0]
    if len(done) < 2 or done[-1][0] == done[-2][0]:
        return None
    (n1, t1), (n2, t2) = done[-2], done[-1]
    return math.log(t2 / t1) / math.log(n2 / n1)


def _cell(value: Any) -> str:
    if value is None:
        return SKIPPED
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


def _slope_cell(rows: list[Row], stage: str, value: float | None) -> str:
    """The slope, flagged over the limit, and the largest size it reaches where that is not the family's largest."""
    if value is None:
        return SKIPPED
    text = f"{value:.2f}" + (" ⚠" if value > SLOPE_LIMIT else "")
    reached = [r.size for r in rows if isinstance(r.cells.get(stage), float)][-1]
    return text if reached == rows[-1].size else f"{text} (to {reached})"


def family_table(family: Family, rows: list[Row], print_table: Callable[..., None]) -> list[str]:
    """Print one family's table and return its flags."""
    header = [family.axis, "scalars", "params", *STAGES]
    body = [[str(r.size), f"{r.network_size:,}", f"{r.parameters:,}", *(_cell(r.cells.get(s)) for s in STAGES)]
            for r in rows]
    slopes = {stage: slope(rows, stage) for stage in STAGES}
    body.append(["slope", "", "", *(_slope_cell(rows, stage, s) for stage, s in slopes.items())])
    print_table(f"Scale: {family.name} (seconds per call)", header, body)
    flags = [f"{family.name}: {stage} slope {s:.2f} > {SLOPE_LIMIT}" for stage, s in slopes.items()
             if s is not None and s > SLOPE_LIMIT]
    for r in rows:
        for stage in DEFAULT_DOCUMENTS:
            seconds = r.cells.get(stage)
            if seconds is None or seconds == SKIPPED:
                continue  # flagged at the size that went over
            slow = isinstance(seconds, str) or seconds > DOCUMENT_SECONDS
            if r.parameters < SMALL_NETWORK_PARAMETERS and slow:
                flags.append(f"{family.name} {family.axis} = {r.size} ({r.parameters} params): default {stage} "
                             f"{_cell(seconds)} (target ≤ {DOCUMENT_SECONDS:.0f} s)")
    return flags


def scale_suite(print_table: Callable[..., None], *, quick: bool = False, budget: float | None = None) -> list[str]:
    """Every family at every size (the quick sizes with ``quick``); returns the flags it printed."""
    budget = budget or (QUICK_BUDGET_SECONDS if quick else BUDGET_SECONDS)
    warm_up()
    flags = []
    for index, family in enumerate(FAMILIES):
        rows: list[Row] = []
        over: set[str] = set()
        for size in family.quick_sizes if quick else family.sizes:
            stages = tuple(s for s in STAGES if s not in over)
            row = measure(index, size, stages, budget)
            for stage in over:
                row.cells[stage] = SKIPPED
            over |= {s for s, v in row.cells.items() if isinstance(v, str)}
            rows.append(row)
        flags += family_table(family, rows, print_table)
        if over:
            print(f"\nskipped at larger sizes after going over the budget ({budget:.0f} s) or failing: "
                  f"{', '.join(s for s in STAGES if s in over)}")
    print("\n## Scale: flags\n")
    print("\n".join(f"- {flag}" for flag in flags) if flags else "none: every slope ≤ 1.15, every small document ≤ 3 s")
    return flags
