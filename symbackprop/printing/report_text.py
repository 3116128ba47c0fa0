"""The reports as plain text, in English or Korean: what ``print(d.cost())``, ``print(d.memory())``
and ``print(d.gradient_flow(values))`` show.  The sentences are in :mod:`.report_prose`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .report_prose import report_say

if TYPE_CHECKING:
    from ..analysis.cost import CostReport
    from ..analysis.flow import GradientFlow
    from ..analysis.memory import MemoryReport
    from ..analysis.naive import NaiveCost


def naive_which_key(per_parameter: int) -> str:
    """The key of the phrase that says which elements of each parameter a sampled count derived."""
    return {1: "one", 2: "two"}.get(per_parameter, "many")


def naive_note(naive: NaiveCost, lang: str) -> str:
    """How the naive count was found: counted, or measured exactly, on a sample or skipped."""
    from ..analysis.naive import EXACT, SKIPPED

    if naive.counted:
        return report_say(lang, "naive.forward_passes", forward=f"{naive.measured:,}",
                          parameters=f"{naive.parameters:,}", operations=f"{naive.operations:,}")
    if naive.method == EXACT:
        return report_say(lang, "naive.every_element", parameters=f"{naive.parameters:,}")
    if naive.method == SKIPPED:
        return report_say(lang, f"naive.{naive.reason}", measured=f"{naive.measured:,}", limit=f"{naive.limit:,}")
    which = report_say(lang, f"naive.which.{naive_which_key(naive.per_parameter)}", k=naive.per_parameter)
    why = report_say(lang, f"naive.{naive.reason}", parameters=f"{naive.parameters:,}", limit=f"{naive.limit:,}",
                     loss=f"{naive.loss_operations or 0:,}")
    return report_say(lang, "naive.sampled", derived=f"{naive.derived:,}", parameters=f"{naive.parameters:,}",
                      which=which, why=why)


def cost_rows(report: CostReport, lang: str = "en") -> list[tuple[str, str, str]]:
    """(what, operations, × forward) rows."""
    forward = report.forward or 1
    p = f"{report.parameters:,}"
    inputs = report.counts.input_gradients
    rows = [
        (report_say(lang, "cost.forward"), f"{report.forward:,}", "1"),
        (report_say(lang, "cost.backward", p=p), f"{report.backward:,}", f"{report.backward / forward:.3g}"),
        (report_say(lang, "cost.backprop"), f"{report.backprop:,}", f"{report.backprop / forward:.3g}"),
        (report_say(lang, "cost.inputs"), f"{inputs:,}", f"{inputs / forward:.3g}"),
        (report_say(lang, "cost.page_naive", p=p), f"{report.parameters * report.forward:,}", p),
    ]
    naive = report.naive
    if naive is not None and not naive.counted:  # a counted figure is the page's row above
        if naive.operations is None:
            rows.append((report_say(lang, "cost.naive"), "—", "—"))
        else:
            mark = "≈ " if naive.estimated else ""
            rows.append((report_say(lang, "cost.naive"), f"{mark}{naive.operations:,}",
                         f"{mark}{report.naive_ratio:.3g}"))
    return rows


def cost_summary(report: CostReport, lang: str = "en") -> str:
    rows = cost_rows(report, lang)
    width = max(len(r[0]) for r in rows)
    times = report_say(lang, "cost.times_forward")
    lines = [report_say(lang, "cost.heading")]
    lines += [f"  {what:<{width}}  {ops:>14}  {ratio:>8} {times}" for what, ops, ratio in rows]
    if report.naive is not None:
        lines.append("  " + report_say(lang, "cost.naive_note", note=naive_note(report.naive, lang)))
    return "\n".join(lines)


def flow_summary(report: GradientFlow, lang: str = "en") -> str:
    top = report.layers[-1] if report.layers else None
    against = (report_say(lang, "flow.against", output=top.layer.output, weight=top.layer.weight or "—") if top
               else report_say(lang, "flow.against_unknown"))
    lines = [report_say(lang, "flow.heading", against=against, vanishing=f"{report.vanishing:g}",
                        exploding=f"{report.exploding:g}")]

    def word(key: str) -> str:
        return report_say(lang, f"flow.{key}")

    lines.append(f"  {word('layer'):>5}  {word('output'):>8}  {'‖∂L/∂output‖':>13}  {word('relative'):>10}  "
                 f"{word('weight'):>7}  {'‖∂L/∂W‖':>11}  {word('relative'):>10}  {word('status')}")
    for lf in reversed(report.layers):
        weight = lf.layer.weight or "—"
        wn = "—" if lf.weight_norm is None else f"{lf.weight_norm:.4g}"
        wr = "—" if lf.weight_relative is None else f"{lf.weight_relative:.4g}"
        lines.append(f"  {lf.index:>5}  {lf.layer.output:>8}  {lf.output_norm:>13.4g}  "
                     f"{lf.output_relative:>10.4g}  {weight:>7}  {wn:>11}  {wr:>10}  {word('status.' + lf.status)}")
    return "\n".join(lines)


def memory_summary(report: MemoryReport, lang: str = "en") -> str:
    none = report_say(lang, "memory.none")
    lines = [report_say(lang, "memory.heading", batch=report.batch)]
    body = [
        report_say(lang, "memory.reads", names=", ".join(report.stored) or none),
        report_say(lang, "memory.stored", n=f"{report.activation_numbers:,}", layers=report.layers,
                   batch=report.batch),
        report_say(lang, "memory.also", inputs=f"{report.input_numbers:,}", params=f"{report.parameter_numbers:,}"),
    ]
    for plan in (report.plain, report.checkpointed):
        name = report_say(lang, "memory.plain") if plan.every is None else report_say(lang, "memory.every",
                                                                                       k=plan.every)
        body.append(report_say(lang, "memory.plan", name=name, stored=f"{plan.stored_numbers:,}",
                               names=", ".join(plan.stored) or none, peak=f"{plan.peak_numbers:,}",
                               ops=f"{plan.recompute_operations:,}", ratio=f"{plan.recompute_ratio:.2f}"))
    return "\n".join(lines + ["  " + line for line in body])


__all__ = ["cost_rows", "cost_summary", "flow_summary", "memory_summary", "naive_note", "naive_which_key"]
