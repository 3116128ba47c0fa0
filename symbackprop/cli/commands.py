"""The three commands: derive (write the document), check (against two oracles), graph (draw it)."""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path
from typing import Any

from ..stages import listening
from .errors import EXIT_MISMATCH, EXIT_OK, CommandError
from .loading import load_net, values_for
from .messages import say
from .progress import Progress

FORMATS = ("tex", "md", "pdf", "html")
SUFFIX_FORMATS = {".tex": "tex", ".md": "md", ".markdown": "md", ".pdf": "pdf", ".html": "html", ".htm": "html"}
LATEX_TIMEOUT_SECONDS = 180


# -- derive ------------------------------------------------------------------------------------


def run_derive(args: argparse.Namespace, progress: Progress) -> int:
    import symbackprop as sbp

    from ..printing.katex import MATHML, katex_head, resolve_katex
    from ..printing.options import DocumentOptionError

    fmt = document_format(args.format, args.output)
    refuse_a_folder(args.output)
    options = document_options(args, fmt)
    head = ""
    if fmt == "html":  # a bad --katex is reported before any derivation work
        try:
            dist = resolve_katex(args.katex)
        except DocumentOptionError as error:
            raise CommandError(say("option.invalid", option="--katex", reason=error)) from None
        if dist == MATHML and args.katex == "auto":
            progress.note("katex.mathml")
        head = katex_head(dist)
    with progress.stage(say("stage.reading")):
        loaded = load_net(args.net, level=args.level)
        values = values_for(args, loaded)
    with progress.stage(say("stage.deriving")):
        derivation = sbp.backprop(loaded.network, batch=args.batch or loaded.batch)
    if values is not None:
        with progress.stage(say("stage.evaluating")):
            derivation.evaluate(values)  # names, shapes and numbers, reported before any file is written
    output = args.output
    if fmt == "pdf" and output is None:
        output = "derivation.pdf"
    with progress.stage(say("stage.writing", format=fmt)) as part, listening(part):  # each section named as it begins
        content = document(derivation, fmt, values=values, options=options, katex_head=head, progress=progress)
    if output is None or output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        write_file(Path(output), content)
        progress.note("wrote", path=output)
    return EXIT_OK


def document_options(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    """The printers' options the command line sets (the printers check their values)."""
    options: dict[str, Any] = {"lang": args.lang}
    if args.digits is not None and args.decimals is not None:
        raise CommandError(say("option.rounding"))
    if args.digits is not None:
        options["digits"] = args.digits
    if args.learning_rate is not None:
        options["learning_rate"] = _exact_number(args.learning_rate, "--learning-rate")
    if args.title is not None:
        options["title"] = args.title
    if args.code:
        options["code"] = True
    if args.links:
        if fmt not in ("md", "html"):
            raise CommandError(say("option.links"))
        options["links"] = True
    if args.decimals is not None:
        options["decimals"] = args.decimals
    if args.paper is not None:
        if fmt not in ("tex", "pdf"):
            raise CommandError(say("option.paper"))
        options["paper"] = args.paper
    if args.page != "derivation":
        options["page"] = args.page
    if args.sections is not None:
        options["sections"] = args.sections
    options["abridge"] = args.abridge
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    if args.practice:
        if fmt != "html":
            raise CommandError("--practice applies to HTML documents (--format html or OUT ending in .html)")
        options["practice"] = True
    if args.interactive:
        if fmt != "html":
            raise CommandError(say("option.interactive"))
        options["interactive"] = True
    return options


def _exact_number(text: str, option: str) -> Any:
    from ..spec import SpecError, values_from_mapping

    try:
        return values_from_mapping({"value": text}, source=option)["value"]
    except SpecError as error:
        raise CommandError(str(error).replace("value 'value': ", "")) from None


def document_format(requested: str | None, output: str | None) -> str:
    """The format --format names, else OUT's suffix, else tex; they must agree when both are given."""
    suffix = Path(output).suffix.lower() if output and output != "-" else ""
    implied = SUFFIX_FORMATS.get(suffix)
    if requested and implied and requested != implied:
        raise CommandError(say("option.format_mismatch", output=output, suffix=suffix, format=requested))
    if requested:
        return requested
    if implied:
        return implied
    if suffix:
        raise CommandError(say("option.format_unknown", output=output, suffix=suffix, formats=", ".join(FORMATS)))
    return "tex"


def document(derivation: Any, fmt: str, *, values: dict[str, Any] | None, options: dict[str, Any],
             katex_head: str, progress: Progress) -> bytes:
    if fmt == "html":
        return derivation.to_html(values=values, katex_head=katex_head, **options).encode("utf-8")
    if fmt == "md":
        return derivation.to_markdown(values=values, **options).encode("utf-8")
    latex = derivation.to_latex(values=values, standalone=True, **options)
    if fmt == "tex":
        return latex.encode("utf-8")
    from ..printing.documents import compile_pdf  # LaTeX's tools, for a PDF only

    with progress.stage(say("stage.compiling")):
        return compile_pdf(latex, timeout=LATEX_TIMEOUT_SECONDS)


def refuse_a_folder(output: str | None) -> None:
    """``-o`` naming a folder, reported before any work is done (the write would refuse it too)."""
    if output and output != "-" and Path(output).is_dir():
        raise CommandError(say("option.output_folder", output=output))


def write_file(path: Path, content: bytes) -> None:
    from ..atomic import write_atomically

    write_atomically(path, content, make_parents=True)


# -- check -------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace, progress: Progress) -> int:
    import symbackprop as sbp

    if not (math.isfinite(args.tolerance) and args.tolerance > 0):  # before any work is done
        raise CommandError(say("option.tolerance", tolerance=args.tolerance))
    with progress.stage(say("stage.reading")):
        loaded = load_net(args.net, level=args.level)
        values = values_for(args, loaded)
    if values is None:
        raise CommandError(say("check.needs_values"))
    with progress.stage(say("stage.deriving")):
        derivation = sbp.backprop(loaded.network, batch=loaded.batch)
    with progress.stage(say("stage.checking" if args.no_sympy else "stage.checking_sympy")):
        report = sbp.check_gradients(derivation, values, tolerance=args.tolerance,
                                     use_sympy=False if args.no_sympy else None, thorough=args.thorough)
    print(format_check(report))
    return EXIT_OK if report.passed else EXIT_MISMATCH


def format_check(report: Any, lang: str = "en") -> str:
    """The check as an aligned text table, a line per parameter, what each oracle covered, and a verdict."""
    from ..printing.check_text import check_table

    return check_table(report, lang)


# -- graph -------------------------------------------------------------------------------------


def run_graph(args: argparse.Namespace, progress: Progress) -> int:
    from ..graph import GRAPH_FORMATS, INSTALL_GRAPHVIZ, to_dot, write_graph

    with progress.stage(say("stage.reading")):
        loaded = load_net(args.net, level=args.level)
        values = values_for(args, loaded)
    if args.output is None or args.output == "-":
        with progress.stage(say("stage.drawing")):
            sys.stdout.write(to_dot(loaded.network, values=values))
        return EXIT_OK
    refuse_a_folder(args.output)
    path = Path(args.output)
    kind = GRAPH_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise CommandError(say("graph.suffix", output=args.output))
    if kind != "dot" and shutil.which("dot") is None:
        raise CommandError(say("graph.needs_dot", output=args.output, install=INSTALL_GRAPHVIZ))
    with progress.stage(say("stage.drawing")):
        write_graph(loaded.network, path, values=values)
    progress.note("wrote", path=args.output)
    return EXIT_OK
