"""A plot of the gradient norm per layer, from a gradient-flow report (matplotlib is optional)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ..atomic import write_atomically
from .flow import GradientFlow


def plot_gradient_flow(report: GradientFlow, path: Any, *, title: str | None = None) -> None:
    """Write a PNG (or any format matplotlib knows from the suffix) of the norm per layer.

    Raises ModuleNotFoundError with the install command when matplotlib is missing.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ModuleNotFoundError(
            "plot_gradient_flow needs matplotlib: pip install 'symbackprop[plot]' (or pip install matplotlib)"
        ) from error
    layers = list(report.layers)
    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.subplots()
    indices = [lf.index for lf in layers]
    axes.plot(indices, [lf.output_norm for lf in layers], "o-", label="‖∂L/∂output‖ per layer")
    weighted = [lf for lf in layers if lf.weight_norm is not None]
    if weighted:
        axes.plot([lf.index for lf in weighted], [lf.weight_norm for lf in weighted], "s--", label="‖∂L/∂W‖")
    reference = next((lf.output_norm for lf in reversed(layers) if lf.output_norm > 0), None)
    if reference:
        axes.axhline(reference * report.vanishing, color="tab:blue", linestyle=":", linewidth=1,
                     label=f"vanishing ({report.vanishing:g} × top)")
        axes.axhline(reference * report.exploding, color="tab:red", linestyle=":", linewidth=1,
                     label=f"exploding ({report.exploding:g} × top)")
    if all(lf.output_norm > 0 for lf in layers):
        axes.set_yscale("log")
    axes.set_xlabel("layer (0 = input)")
    axes.set_ylabel("gradient norm (Frobenius)")
    axes.set_title(title or "gradient norm per layer")
    axes.legend(fontsize="small")
    figure.tight_layout()
    _save(figure, path)


def _save(figure: Any, path: Any) -> None:
    """A file named by a path is replaced whole (see :mod:`symbackprop.atomic`); a stream is written to."""
    if not isinstance(path, (str, os.PathLike)):
        figure.savefig(path)
        return
    target = Path(path)
    if not target.suffix:  # as matplotlib does: the default format, and its suffix appended
        target = target.with_name(f"{target.name}.png")
    image = io.BytesIO()
    figure.savefig(image, format=target.suffix[1:].lower())
    write_atomically(target, image.getvalue())


__all__ = ["plot_gradient_flow"]
