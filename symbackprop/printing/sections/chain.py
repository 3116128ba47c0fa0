"""The chain rule for each parameter: every path from the loss, and the order backpropagation takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...analysis.paths import Path, chain_paths
from .. import structure as S
from ..abridge import GAP_ROW, Omitted, WrittenOnRead
from ..blocks import Block, Bullets, Display, Heading, Paragraph
from ..names import partial
from ..numbers import elided_indices
from ..widths import ROW_WIDTH, fraction_width

if TYPE_CHECKING:
    from ..compose import Writer

#: How many paths of one parameter the chain-rule section writes out before summarising.
PATH_LIMIT = 4
#: Quantities kept at each end of a long path; the ones between them are written ⋯.
PATH_ENDS = 6
#: Factors of a chain, and terms of a sum, per displayed row.
FACTORS_PER_ROW = 6
TERMS_PER_ROW = 3
#: What a row of factors may take of a row's width: the rest is the left side or the indent and "+".
FACTORS_WIDTH = ROW_WIDTH - 16


def chain_factors(w: Writer, path: Path) -> list[str]:
    if path.length == 2:  # the loss's own term, one of the paths into a parameter it also reaches otherwise
        return [w.loss_term(path.last)]
    head = path.head if path.elided else (*path.head, *path.tail)
    factors = [partial(w.notation.loss, w.name(head[1])), *(w.local(a, b) for a, b in zip(head[1:], head[2:]))]
    if path.elided:
        factors += [r"\cdots", *(w.local(a, b) for a, b in zip(path.tail, path.tail[1:]))]
    return factors


def chain_section(w: Writer) -> list[Block]:
    rows: list[str] = []
    crowded: list[str] = []
    longest: Path | None = None
    paths = chain_paths(w.derivation, limit=PATH_LIMIT, keep=PATH_ENDS)
    order = {q.name: i for i, q in enumerate(w.network.quantities(elements=True))}
    shown = w.abridged(list(S.reached_parameters(w.derivation)))
    for name in shown:
        if isinstance(name, Omitted):
            rows.append(GAP_ROW)
            continue
        found, total = paths.into(name)
        if total > PATH_LIMIT:
            sources = {s.source for s in w.derivation.steps_into(name) if s.source}
            # in the order the sources were defined, as the backward pass prints the same sum
            terms = WrittenOnRead(sorted(sources, key=order.get), lambda s, name=name: w.loss_term(name)
                                  if s == w.derivation.loss else f"{w.adjoint(s)} \\cdot {w.local(s, name)}")
            rows += broken_sum(w.adjoint(name), terms)
            crowded.append(f"${w.adjoint(name)}$: {w.say('chain.paths', n=total)}")
            continue
        products = [broken_product(chain_factors(w, path)) for path in found]
        rows += broken_sum(w.adjoint(name), [p[0] for p in products], continued=[p[1:] for p in products])
        for path in found:
            if longest is None or path.length > longest.length:
                longest = path
    blocks: list[Block] = [Heading(2, w.say("chain.heading")), Paragraph(w.say("chain.intro"))]
    if rows:
        blocks += [Display(tuple(rows)), *w.gap_note(shown)]
    if crowded:
        blocks.append(Bullets(tuple(crowded)))
    if longest is not None and longest.length > 2:
        blocks += [Paragraph(w.say("chain.order", name=w.adjoint(longest.last))),
                   Bullets(tuple(order_items(w, longest)), numbered=True), Paragraph(w.say("chain.outro"))]
    return blocks


def order_items(w: Writer, path: Path) -> list[str]:
    """The steps backpropagation takes along a path, each reusing the last; a long path's middle is ⋯."""
    head = path.head if path.elided else (*path.head, *path.tail)
    items = [w.say("chain.first", adjoint=w.adjoint(head[1]))]
    pairs = list(zip(head[1:], head[2:]))
    if path.elided:
        pairs += [None, *zip(path.tail, path.tail[1:])]
    for pair in pairs:
        if pair is None:
            items.append(r"$\cdots$")
            continue
        previous, current = pair
        product = f"{w.adjoint(previous)} \\cdot {w.local(previous, current)}"
        items.append(w.say("chain.step", product=product, adjoint=w.adjoint(current)))
    return items


def broken_product(factors: list[str]) -> list[str]:
    """A long chain of factors split into balanced rows of at most FACTORS_PER_ROW, and more rows where
    long names (∂counts_sum_inv/∂counts_sum) would make six of them wider than the line."""
    width = sum(fraction_width(factor) + 2 for factor in factors)  # each with its centred dot
    count = max(-(-len(factors) // FACTORS_PER_ROW), -(-width // FACTORS_WIDTH))
    size = -(-len(factors) // count) if factors else 1
    chunks = [factors[i:i + size] for i in range(0, len(factors), size)]
    return [r" \cdot ".join(chunk) for chunk in chunks]


def broken_sum(lhs: str, terms: Sequence[str], continued: Sequence[list[str]] | None = None) -> list[str]:
    """``lhs &= t1 + t2 + …`` on rows of TERMS_PER_ROW terms; a term may carry continuation rows.
    A long sum shows its first four and last two terms around ⋯, as a long matrix does."""
    continued = continued or [[] for _ in range(len(terms))]
    shown = elided_indices(len(terms))
    terms = [r"\cdots" if i is None else terms[i] for i in shown]
    continued = [[] if i is None else continued[i] for i in shown]
    rows: list[str] = []
    line: list[str] = []
    for term, more in zip(terms, continued):
        line.append(term)
        if more or len(line) == TERMS_PER_ROW:
            rows.append(" + ".join(line))
            rows += [r"\cdot " + m for m in more]
            line = []
    if line:
        rows.append(" + ".join(line))
    result = []
    for i, row in enumerate(rows):
        if i == 0:
            result.append(f"{lhs} &= {row}")
        elif row.startswith(r"\cdot"):
            result.append(rf"&\quad {row}")
        else:
            result.append(rf"&\quad + {row}")
    return result

