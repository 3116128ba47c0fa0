"""Derivation and Step: immutable records of what the reverse sweep derived.

A Step says which gradient it computes (``target``), through which node the
gradient arrives (``source``), the local rule(s) applied, the local derivative
and the result expressed with the upstream gradient ∂L/∂source and the stored
forward values.  A Derivation is the ordered list of steps, loss first, plus
the ways to use them: closed forms (:meth:`Derivation.gradient`), numbers
(:meth:`Derivation.evaluate`, :meth:`Derivation.lambdify`) and documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy as sp

from .collector import collector_paused
from .network import Network

if TYPE_CHECKING:
    from .compiled_gradient import GradientFunction
    from .numeric import Evaluation

SEED, EDGE, SUM = "seed", "edge", "sum"


@dataclass(frozen=True)
class Step:
    """One recorded application of the chain rule.

    * ``kind``: ``"seed"`` (∂L/∂L), ``"edge"`` (what flows from ``source`` into
      ``target``) or ``"sum"`` (fan-out: the edges into ``target`` added up).
    * ``result``: a SymPy scalar or a :class:`~symbackprop.tensor.Tensor` in terms
      of ∂L/∂source (``Adjoint``/``AdjointSymbol``) and stored forward values.
    * ``local``: the local derivative ∂source/∂target where it is one factor
      (``h1ᵀ``, ``f′(z)``, ``Wᵀ``), combined with the upstream gradient as
      ``product`` says (see :mod:`symbackprop.rules`); None where the path
      through the node's expression is longer than one operation.
    * ``complete``: whether ``result`` is the whole ∂L/∂target.
    """

    index: int
    kind: str
    target: str
    source: str | None
    result: Any
    rules: tuple[str, ...]
    local: Any = None
    product: str = "other"
    shape: tuple[int, int] | None = None
    complete: bool = True
    parts: tuple[int, ...] = ()

    @property
    def chain(self) -> tuple[tuple[str, str], ...]:
        """The Leibniz chain as (numerator, denominator) pairs: ∂L/∂z2 = ∂L/∂h2 · ∂h2/∂z2."""
        if self.kind != EDGE:
            return ()
        return (("L", self.source), (self.source, self.target))

    def __getstate__(self) -> dict[str, Any]:
        # a pickled step stays what it was before it joined a derivation (which may not pickle)
        return {k: v for k, v in self.__dict__.items() if k != "_derivation"}

    def _repr_latex_(self) -> str | None:
        derivation = self.__dict__.get("_derivation")  # set by the Derivation that holds the step
        if derivation is None:
            return None
        from .printing.rich import step_latex

        return step_latex(derivation, self)


class Derivation:
    """Every ∂L/∂name of a network, derived in reverse order; see :func:`symbackprop.backprop`."""

    def __init__(self, network: Network, steps: tuple[Step, ...], *, batch: bool,
                 seed: sp.Expr, unreached: tuple[str, ...]) -> None:
        self.network = network
        self.steps = steps
        self.batch = batch
        self.seed = seed
        self.unreached = unreached
        self._complete = {s.target: s for s in steps if s.complete}
        self._into: dict[str, list[Step]] = {}
        for step in steps:
            self._into.setdefault(step.target, []).append(step)
            # a step shown on its own (in a notebook) prints with its derivation's names
            object.__setattr__(step, "_derivation", self)

    def __getstate__(self) -> dict[str, Any]:
        # what it is made of: the compiled program and the closed forms are built again where they are needed
        return {"network": self.network, "steps": self.steps, "batch": self.batch, "seed": self.seed,
                "unreached": self.unreached}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    # -- the records ------------------------------------------------------------------

    @property
    def loss(self) -> str:
        return self.network.loss_name

    def step_for(self, name: str) -> Step | None:
        """The step whose result is the whole ∂L/∂name (None if it does not reach the loss)."""
        self.network[name]
        return self._complete.get(name)

    def steps_into(self, name: str) -> list[Step]:
        """Every step whose target is ``name``: the edges into it, then their sum."""
        return list(self._into.get(name, ()))

    @property
    def edges(self) -> list[Step]:
        return [s for s in self.steps if s.kind == EDGE]

    @property
    def parameters(self) -> list[str]:
        return [q.name for q in self.network.params]

    def __repr__(self) -> str:
        return f"<Derivation of {self.loss}: {len(self.steps)} steps, params {', '.join(self.parameters)}>"

    # -- closed forms ---------------------------------------------------------------------

    def gradient(self, name: str, *, expand: bool = False) -> Any:
        """∂L/∂name as SymPy, with the shape of ``name``.

        By default in terms of the stored forward values (elements of the
        intermediates, such as ``z1[0, 0]``); with ``expand=True`` in terms of the
        inputs and parameters only.  In batch mode it is one sample's term of
        the mean (it contains the factor 1/N).
        """
        return self._closed_forms(expand).gradient(name)

    def forward_expression(self, name: str, *, expand: bool = True) -> Any:
        """The forward value of ``name`` as SymPy (expanded into inputs and parameters by default)."""
        return self._closed_forms(expand).forward(name)

    def _closed_forms(self, expand: bool):
        from .explicit import ClosedForms

        cache = self.__dict__.setdefault("_closed_form_cache", {})
        if expand not in cache:
            cache[expand] = ClosedForms(self, expand=expand)
        return cache[expand]

    # -- numbers ------------------------------------------------------------------------

    @cached_property
    def _program(self):
        """The generated NumPy program that evaluate, the documents' worked numbers and grading run."""
        from .worked import WorkedProgram

        return WorkedProgram(self)

    def evaluate(self, values: dict[str, Any], *, exact: bool = False) -> Evaluation:
        """Every forward value and every ∂L/∂name at ``values``.

        With ``exact=True`` the arithmetic is SymPy's: exact rationals where the
        values are exact (floats are read as the decimals they print as).
        """
        from .numeric import evaluate, evaluate_exact

        return evaluate_exact(self, values) if exact else evaluate(self, values)

    def lambdify(self, *, cse: bool = True, backend: str = "numpy", check: bool = True) -> GradientFunction:
        """A function ``grad(**values) -> {param: gradient}`` (batch axis accepted): NumPy arrays by
        default, a ``jax.jit``-compiled function of JAX arrays with ``backend="jax"``, a function
        of float64 tensors that ``torch.compile`` takes with ``backend="torch"``.  ``check=False``
        lets NaN and infinity through the NumPy function unchecked (names and shapes are still checked)."""
        from .backends import gradient_function

        return gradient_function(self, backend, cse=cse, check=check)

    # -- documents: the reports their sections show are computed here, then printed -----------

    @collector_paused()  # a document allocates as much as it writes and leaves no cycles
    def to_latex(self, values: dict[str, Any] | None = None, **options: Any) -> str:
        from .printing import latex

        return latex.derivation_to_latex(self, values=values, **self._with_reports(values, options))

    @collector_paused()
    def to_markdown(self, values: dict[str, Any] | None = None, **options: Any) -> str:
        from .printing import markdown

        return markdown.derivation_to_markdown(self, values=values, **self._with_reports(values, options))

    @collector_paused()
    def to_html(self, values: dict[str, Any] | None = None, **options: Any) -> str:
        """One HTML page whose math KaTeX renders; ``katex`` is "auto" (inlined when found), "cdn" or a dist folder."""
        from .printing import html

        return html.derivation_to_html(self, values=values, **self._with_reports(values, options))

    @collector_paused()
    def write(self, path: Any, values: dict[str, Any] | None = None, **options: Any) -> Path:
        """A standalone document: ``.tex``, ``.md``, ``.html`` or ``.pdf``, chosen by the suffix."""
        from .printing import documents

        return documents.write(self, path, values=values, **self._with_reports(values, options))

    def _with_reports(self, values: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
        """A document's keywords with the reports its ``sections`` show (the printers compute none)."""
        if "reports" in options:
            return options
        from .analysis.reports import analyse
        from .printing.options import Options
        from .sample_batches import refuse_in_documents

        refuse_in_documents(self, values)
        settings = Options.of_document(options)
        reports = analyse(self, values, sections=settings.sections, batch_size=settings.batch_size,
                          page=settings.page)
        return {**options, "reports": reports}

    def _repr_latex_(self) -> str:
        return self.to_latex()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    # -- the reference page's later sections (each in its own module) ---------------------

    def cost(self, **options: Any):
        """Operation counts: forward pass, reverse sweep, and one derivation per parameter."""
        from .cost import cost

        return cost(self, **options)

    def gradient_flow(self, values: dict[str, Any], **options: Any):
        """Products of local Jacobians from the loss down to each layer, and gradient norms."""
        from .flow import gradient_flow

        return gradient_flow(self, values, **options)

    def memory(self, batch: int = 1, **options: Any):
        """Which forward values the backward pass reads, how many numbers, and checkpointing."""
        from .memory import memory

        return memory(self, batch=batch, **options)
