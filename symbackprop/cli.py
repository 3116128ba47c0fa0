"""The ``symbackprop`` command: derive, check and draw a network without writing Python.

    symbackprop derive [NET] [--values FILE] [--format tex|md|pdf|html] [--lang en|ko] [-o OUT]
    symbackprop check  [NET] [--values FILE]
    symbackprop graph  [NET] [--values FILE] [-o OUT]

NET is a TOML spec file (read by :mod:`symbackprop.spec`, never executed) or a
Python file that defines ``net`` (run as Python: it is the user's own code).
Without NET, the reference page's network and numbers are used.

Exit status: 0 on success, 1 when ``check`` finds a gradient that disagrees
with its oracles, 2 for any error (which is printed as one line on stderr).
"""

from __future__ import annotations

import argparse
import base64
import html
import math
import os
import re
import runpy
import shutil
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2

INSTALL_LATEX = "apt-get install texlive-latex-base texlive-lang-korean latexmk"
KATEX_VERSION = "0.16.11"
KATEX_CDN = f"https://cdn.jsdelivr.net/npm/katex@{KATEX_VERSION}/dist"

_FORMATS = ("tex", "md", "pdf", "html")
_SUFFIX_FORMATS = {".tex": "tex", ".md": "md", ".markdown": "md", ".pdf": "pdf", ".html": "html", ".htm": "html"}
#: A stage that takes longer than this is announced on stderr, then reported every few seconds.
_PROGRESS_AFTER_SECONDS = 1.0
_PROGRESS_EVERY_SECONDS = 5.0
_LATEX_TIMEOUT_SECONDS = 180


class CommandError(Exception):
    """An error the command reports as one line, with the exit status it carries."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


# -- the entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting (the console script exits)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return int(exit_.code or 0)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    progress = Progress(enabled=not args.quiet)
    try:
        with warnings.catch_warnings():
            # A warning (an unused parameter, say) is one line too, not Python's two-line report.
            warnings.showwarning = _show_warning
            return args.run(args, progress)
    except KeyboardInterrupt:
        print("symbackprop: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the one place where every failure becomes one line
        if args.traceback:
            traceback.print_exc()
        print(f"symbackprop: error: {_describe(error)}", file=sys.stderr)
        return error.status if isinstance(error, CommandError) else EXIT_ERROR


def _show_warning(message: Warning | str, category: type[Warning], *_args: Any, **_kwargs: Any) -> None:
    print(f"symbackprop: warning: {_one_line(str(message))}", file=sys.stderr)


def _describe(error: BaseException) -> str:
    from .errors import SymbackpropError

    if isinstance(error, (CommandError, SymbackpropError)):
        return _one_line(str(error))
    if isinstance(error, OSError) and error.filename is not None:
        reason = error.strerror or str(error)
        return f"{error.filename}: {reason}"
    if isinstance(error, UserCodeError):
        return _one_line(str(error))
    # Anything else is a bug in symbackprop: say so, keep it to one line, point at --traceback.
    return _one_line(f"unexpected {type(error).__name__}: {error} (run with --traceback for details)")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    # -q and --traceback are accepted before and after the command; the command's copies default to
    # "not given", so that they cannot reset what was given before the command.
    common = argparse.ArgumentParser(add_help=False)
    _add_common_options(common, default=argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="symbackprop",
        description="Backpropagation derived symbolically: every chain-rule step as LaTeX or Markdown, "
                    "checked numerically.",
        epilog="Without NET, the reference network is used: x = [1, 2], y = 3, two ReLU layers, "
               "L = ½(h2 − y)². Run 'symbackprop COMMAND --help' for a command's options.",
    )
    _add_common_options(parser, default=False)
    parser.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    derive = commands.add_parser(
        "derive", parents=[common], help="write the step-by-step derivation (LaTeX, Markdown, PDF or HTML)",
        description="Derive every gradient of NET by backpropagation and write the derivation as a document: "
                    "the forward equations, the forward pass, each backward step and, with values, "
                    "the worked example with numbers.",
        epilog="Examples: symbackprop derive -o derivation.tex; "
               "symbackprop derive net.toml --lang ko -o derivation.pdf; "
               "symbackprop derive net.py --values values.json --format md",
    )
    _add_net_arguments(derive)
    derive.add_argument("--no-values", action="store_true",
                        help="leave out the worked example even where NET carries values")
    derive.add_argument("--format", choices=_FORMATS,
                        help="document format (default: from OUT's suffix, else tex)")
    derive.add_argument("--lang", choices=("en", "ko"), default="en", help="language of the prose (default: en)")
    derive.add_argument("--batch", action="store_true",
                        help="show the loss as the batch mean L = (1/N) Σ Lᵢ")
    derive.add_argument("--digits", type=int, metavar="N",
                        help="significant digits of decimal numbers in the worked example (default: 4)")
    derive.add_argument("--learning-rate", metavar="ETA",
                        help="learning rate of the gradient-descent update, e.g. 0.01 or 1/100 (default: 1/100)")
    derive.add_argument("--title", help="the document's title")
    derive.add_argument("--code", action="store_true", help="add the generated NumPy code")
    derive.add_argument("--links", action="store_true",
                        help="Markdown/HTML: [[wikilinks]] for Chain rule, Gradient, … (Obsidian style)")
    derive.add_argument("--katex", default="auto", metavar="SOURCE",
                        help="for html: 'auto' (inline a local KaTeX from node_modules/katex/dist if found, "
                             "else link to a CDN), 'cdn', or the path of KaTeX's dist directory to inline")
    derive.add_argument("-o", "--output", metavar="OUT",
                        help="file to write (default: standard output; derivation.pdf for pdf)")
    derive.set_defaults(run=run_derive)

    check = commands.add_parser(
        "check", parents=[common], help="compare the derived gradients with finite differences and sympy.diff",
        description="Evaluate every parameter's derived gradient at the given values and compare it with "
                    "central finite differences and with sympy.diff of the whole loss. "
                    "Exit status 1 if any disagrees.",
    )
    _add_net_arguments(check)
    check.add_argument("--tolerance", type=float, default=1e-5, metavar="TOL",
                       help="largest relative error that passes (default: 1e-5)")
    check.add_argument("--no-sympy", action="store_true",
                       help="skip the sympy.diff oracle (it is slow for large networks)")
    check.set_defaults(run=run_check)

    graph = commands.add_parser(
        "graph", parents=[common], help="draw the computational graph (DOT; SVG, PNG or PDF with Graphviz)",
        description="Write NET's computational graph: a box per quantity, a circle per operation. "
                    "With values, each box also shows its forward value and its gradient.",
    )
    _add_net_arguments(graph)
    graph.add_argument("--no-values", action="store_true", help="draw the graph without numbers")
    graph.add_argument("-o", "--output", metavar="OUT",
                       help="file to write: .dot or .gv (DOT), .svg, .png or .pdf (needs Graphviz's dot); "
                            "default: DOT on standard output")
    graph.set_defaults(run=run_graph)
    return parser


def _add_common_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="print nothing on stderr except errors")
    parser.add_argument("--traceback", action="store_true", default=default,
                        help="on an error, also print the Python traceback (for debugging your own net.py)")


def _add_net_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("net", nargs="?", metavar="NET",
                        help="a network spec (.toml) or a Python file defining `net` (.py); "
                             "default: the reference network")
    parser.add_argument("--values", metavar="FILE",
                        help="inputs and parameters as a .toml or .json table of names to numbers or lists")
    parser.add_argument("--level", choices=("vector", "scalar"), default="vector",
                        help="vector: the page's matrix notation; scalar: every weight its own symbol "
                             "(reference network and spec files)")


# -- loading a network -------------------------------------------------------------------------


class UserCodeError(Exception):
    """A Python NET file raised an exception while it ran."""


@dataclass(frozen=True)
class LoadedNet:
    network: Any
    values: dict[str, Any] | None
    batch: bool
    name: str


def load_net(target: str | None, *, level: str = "vector") -> LoadedNet:
    """The network NET names (the reference network when None), with the values it carries."""
    import symbackprop as sbp

    if target is None:
        network = sbp.reference_network() if level == "vector" else sbp.mlp([2, 2, 1], level="scalar")
        return LoadedNet(network, sbp.reference_values(), False, "the reference network")
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        from .spec import load_spec

        spec = load_spec(path, level=level)
        return LoadedNet(spec.network, spec.values, spec.batch, path.name)
    if suffix == ".py":
        if level != "vector":
            raise CommandError(f"{target}: --level applies to the reference network and to spec files; "
                               "a Python file declares its own level (net.input(..., elements=True))")
        return _load_python(path)
    raise CommandError(f"{target}: NET must be a network spec (.toml) or a Python file (.py)")


def _load_python(path: Path) -> LoadedNet:
    from .network import Network

    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    # The file is the user's own program: it runs as Python, with its folder importable,
    # but not as __main__, so a script's "write my documents" block stays quiet.
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        namespace = runpy.run_path(str(path), run_name="__symbackprop__")
    except (Exception, SystemExit) as error:
        where = _user_frame(error, path)
        raise UserCodeError(f"{path}{where}: {type(error).__name__}: {error}") from error
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    network = namespace.get("net")
    if not isinstance(network, Network):
        found = "nothing" if network is None else f"a {type(network).__name__}"
        raise CommandError(f"{path}: a Python NET file must define `net`, a symbackprop Network "
                           f"(net = sbp.Network() …); it defines {found}")
    values = namespace.get("values")
    if values is not None and not isinstance(values, Mapping):
        raise CommandError(f"{path}: `values` must be a dict of names to numbers, not {type(values).__name__}")
    return LoadedNet(network, dict(values) if values is not None else None, bool(namespace.get("batch", False)),
                     path.name)


def _user_frame(error: BaseException, path: Path) -> str:
    """', line N' for the deepest traceback frame inside the user's file."""
    line = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if Path(frame.f_code.co_filename).resolve() == path.resolve():
            line = lineno
    return f", line {line}" if line else ""


def _values_for(args: argparse.Namespace, loaded: LoadedNet) -> dict[str, Any] | None:
    from .values import missing_names

    if getattr(args, "no_values", False):
        return None
    if args.values:
        from .spec import load_values

        values, origin, remedy = load_values(args.values), args.values, "add them to this --values file"
    else:
        values, origin = loaded.values, args.net
        table = "its [values] table" if str(origin).lower().endswith(".toml") else "its `values` dict"
        remedy = f"add them to {table}, or give every value with --values FILE"
    missing = missing_names(loaded.network, values) if values is not None else []
    if missing:
        raise CommandError(f"{origin}: missing values for {', '.join(repr(n) for n in missing)}; {remedy}")
    return values


# -- derive ------------------------------------------------------------------------------------


def run_derive(args: argparse.Namespace, progress: Progress) -> int:
    import symbackprop as sbp

    fmt = _document_format(args.format, args.output)
    # A bad --katex is reported before any derivation work.
    katex_head = katex_head_for(args.katex) if fmt == "html" else ""
    if fmt == "html" and KATEX_CDN in katex_head and args.katex == "auto":
        progress.say("KaTeX was not found in node_modules; the page will load it from a CDN when opened "
                     "(npm install katex here to put it inside the page, for offline reading)")
    with progress.stage("reading the network"):
        loaded = load_net(args.net, level=args.level)
        values = _values_for(args, loaded)
    with progress.stage("deriving the gradients"):
        derivation = sbp.backprop(loaded.network, batch=args.batch or loaded.batch)
    if values is not None:
        with progress.stage("evaluating the worked example"):
            derivation.evaluate(values)  # names, shapes and numbers, reported before any file is written
    output = args.output
    if fmt == "pdf" and output is None:
        output = "derivation.pdf"
    with progress.stage(f"writing the {fmt} document"):
        content = _document(derivation, fmt, values=values, options=_document_options(args, fmt),
                            katex_head=katex_head, title=f"Backpropagation: {loaded.name}", progress=progress)
    if output is None or output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        _write_file(Path(output), content)
        progress.say(f"wrote {output}")
    return EXIT_OK


def _document_options(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    """The printers' options the command line sets (the printers check their values)."""
    options: dict[str, Any] = {"lang": args.lang}
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
            raise CommandError("--links applies to Markdown and HTML documents (--format md or html)")
        options["links"] = True
    return options


def _exact_number(text: str, option: str) -> Any:
    from .spec import SpecError, values_from_mapping

    try:
        return values_from_mapping({"value": text}, source=option)["value"]
    except SpecError as error:
        raise CommandError(str(error).replace("value 'value': ", "")) from None


def _document_format(requested: str | None, output: str | None) -> str:
    suffix = Path(output).suffix.lower() if output and output != "-" else ""
    implied = _SUFFIX_FORMATS.get(suffix)
    if requested and implied and requested != implied:
        raise CommandError(f"-o {output} ends in {suffix} but --format is {requested}; make them agree")
    if requested:
        return requested
    if implied:
        return implied
    if suffix:
        raise CommandError(f"-o {output}: cannot tell the format from {suffix}; "
                           f"add --format ({', '.join(_FORMATS)}) or use .tex, .md, .pdf or .html")
    return "tex"


def _document(derivation: Any, fmt: str, *, values: dict[str, Any] | None, options: dict[str, Any],
              katex_head: str, title: str, progress: Progress) -> bytes:
    if fmt == "html":
        markdown = derivation.to_markdown(values=values, **options)
        heading = re.search(r"^# (.+)$", markdown, flags=re.MULTILINE)
        page_title = options.get("title") or (heading.group(1).strip() if heading else title)
        return html_page(markdown, title=page_title, lang=options["lang"], katex_head=katex_head).encode("utf-8")
    if fmt == "md":
        return derivation.to_markdown(values=values, **options).encode("utf-8")
    latex = derivation.to_latex(values=values, standalone=True, **options)
    if fmt == "tex":
        return latex.encode("utf-8")
    with progress.stage("compiling the PDF with LaTeX"):
        return compile_pdf(latex)


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so a failure never leaves half a document.
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def compile_pdf(latex: str) -> bytes:
    """The PDF of a standalone LaTeX document, compiled by the printers with pdflatex."""
    from .printing.documents import compile_pdf as compile_with_pdflatex
    from .printing.options import DocumentBuildError

    if shutil.which("pdflatex") is None:
        raise CommandError(f"--format pdf needs pdflatex, which was not found; install TeX Live with: "
                           f"{INSTALL_LATEX} (or write .tex and compile it yourself)")
    try:
        return compile_with_pdflatex(latex, timeout=_LATEX_TIMEOUT_SECONDS)
    except DocumentBuildError as error:
        message = str(error)
        if "kotex.sty" in message:
            message += "; Korean documents need kotex: apt-get install texlive-lang-korean"
        elif "not found" in message:
            message += f"; install the missing LaTeX package ({INSTALL_LATEX})"
        raise CommandError(message) from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"pdflatex did not finish within {_LATEX_TIMEOUT_SECONDS} s") from None


# -- HTML: the Markdown document with its math rendered by KaTeX in the browser ----------------


def html_page(markdown: str, *, title: str = "Backpropagation", lang: str = "en", katex: str = "auto",
              katex_head: str | None = None, base: Path | None = None) -> str:
    """A self-contained HTML page for a Markdown derivation whose ``$…$`` math KaTeX renders.

    ``katex="auto"`` inlines a local copy of KaTeX (fonts included) when
    ``node_modules/katex/dist`` exists in or above the current folder, so the page
    works offline; otherwise, and with ``katex="cdn"``, the page loads KaTeX from a
    CDN when it is opened.  Any other value is the path of KaTeX's ``dist`` folder.
    ``katex_head`` is what :func:`katex_head_for` returned, when already computed.
    """
    head = katex_head if katex_head is not None else katex_head_for(katex)
    body = markdown_to_html(markdown, base=base)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n{_PAGE_STYLE}\n{head}\n</head>\n"
        f'<body>\n<main>\n{body}\n</main>\n{_AUTO_RENDER_CALL}\n</body>\n</html>\n'
    )


_PAGE_STYLE = """<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans KR", sans-serif; line-height: 1.55;
       color: #1f2937; margin: 0; }
main { max-width: 54rem; margin: 2rem auto; padding: 0 1.25rem; }
h1, h2, h3 { line-height: 1.25; } h2 { border-bottom: 1px solid #e5e7eb; padding-bottom: .2rem; }
pre { background: #f3f4f6; padding: .75rem; overflow-x: auto; border-radius: 4px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; }
table { border-collapse: collapse; } th, td { border: 1px solid #d1d5db; padding: .25rem .6rem; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: .2rem 0; }
.wikilink { color: #4338ca; }
</style>"""

_AUTO_RENDER_CALL = """<script>
document.addEventListener("DOMContentLoaded", function () {
  if (typeof renderMathInElement !== "function") { return; }
  renderMathInElement(document.body, {
    delimiters: [
      {left: "$$", right: "$$", display: true},
      {left: "\\\\[", right: "\\\\]", display: true},
      {left: "$", right: "$", display: false},
      {left: "\\\\(", right: "\\\\)", display: false}
    ],
    throwOnError: false
  });
});
</script>"""


def find_katex(start: Path | None = None) -> Path | None:
    """KaTeX's dist folder under node_modules in ``start`` (default: the current folder) or above it,
    or else beside a source checkout of symbackprop."""
    starts = [(start or Path.cwd()).resolve(), Path(__file__).resolve().parent.parent]
    for folder in starts:
        for candidate in (folder, *folder.parents):
            dist = candidate / "node_modules" / "katex" / "dist"
            if (dist / "katex.min.js").is_file():
                return dist
    return None


def katex_head_for(katex: str) -> str:
    """The ``<head>`` elements that load KaTeX: inlined from a local copy, or linked to a CDN."""
    if katex == "cdn":
        dist = None
    elif katex == "auto":
        dist = find_katex()
    else:
        dist = Path(katex)
        if not (dist / "katex.min.js").is_file():
            raise CommandError(f"--katex {katex}: no katex.min.js there; give KaTeX's dist folder "
                               "(npm install katex puts it in node_modules/katex/dist), 'auto' or 'cdn'")
    if dist is None:
        return (f'<link rel="stylesheet" href="{KATEX_CDN}/katex.min.css">\n'
                f'<script defer src="{KATEX_CDN}/katex.min.js"></script>\n'
                f'<script defer src="{KATEX_CDN}/contrib/auto-render.min.js"></script>')
    css = _inline_fonts((dist / "katex.min.css").read_text(encoding="utf-8"), dist)
    scripts = [(dist / "katex.min.js").read_text(encoding="utf-8"),
               (dist / "contrib" / "auto-render.min.js").read_text(encoding="utf-8")]
    # "</script" inside inlined code would end the element early.
    scripts = [s.replace("</script", "<\\/script") for s in scripts]
    return f"<style>{css}</style>\n" + "\n".join(f"<script>{s}</script>" for s in scripts)


_FONT_SOURCE = re.compile(
    r"src:url\((fonts/[^)]+?)\.woff2\) format\(\"woff2\"\)(?:,url\([^)]*\) format\(\"[^\"]*\"\))*"
)


def _inline_fonts(css: str, dist: Path) -> str:
    """KaTeX's CSS with each font as a woff2 data URI (every browser in use reads woff2)."""

    def embed(match: re.Match[str]) -> str:
        font = dist / f"{match.group(1)}.woff2"
        data = base64.b64encode(font.read_bytes()).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    return _FONT_SOURCE.sub(embed, css)


_MATH = re.compile(r"(\$\$.+?\$\$|(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$|\\\(.+?\\\)|\\\[.+?\\\])", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_WIKILINK = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_COMMENT = re.compile(r"<!--(?:(?!-->).)*-->")
_HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"\s*[-*+]\s+(.*)")
_NUMBERED = re.compile(r"\s*\d+[.)]\s+(.*)")
_TABLE_RULE = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*")


def markdown_to_html(markdown: str, *, base: Path | None = None) -> str:
    """The Markdown the printers write, as HTML: headings, paragraphs, lists, tables, code, math.

    Math is left as text between its delimiters for KaTeX; nothing inside it is
    touched except HTML escaping, so ``z_1`` and ``a*b`` stay what they are.
    """
    lines = markdown.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    paragraph: list[str] = []
    index = 0

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph), base)}</p>")
            paragraph.clear()

    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith("```"):
                end += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(lines[index + 1:end]))}</code></pre>")
            index = end + 1
            continue
        if stripped.startswith("$$") and not (len(stripped) > 4 and stripped.endswith("$$")):
            # A display block over several lines: kept whole, as one math element.
            flush()
            end = index + 1
            while end < len(lines) and "$$" not in lines[end]:
                end += 1
            block = "\n".join(lines[index:end + 1])
            out.append(f'<div class="math">{html.escape(block, quote=False)}</div>')
            index = end + 1
            continue
        if not stripped:
            flush()
        elif _COMMENT.fullmatch(stripped):
            flush()
            out.append(stripped)  # the printers mark steps with comments; they stay invisible
        elif heading := _HEADING.fullmatch(stripped):
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2), base)}</h{level}>")
        elif re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", stripped):
            flush()
            out.append("<hr>")
        elif _BULLET.fullmatch(line) or _NUMBERED.fullmatch(line):
            flush()
            ordered = _BULLET.fullmatch(line) is None
            pattern = _NUMBERED if ordered else _BULLET
            items = []
            while index < len(lines) and (item := pattern.fullmatch(lines[index])):
                items.append(f"<li>{_inline(item.group(1), base)}</li>")
                index += 1
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>\n" + "\n".join(items) + f"\n</{tag}>")
            continue
        elif stripped.startswith("|") and index + 1 < len(lines) and _TABLE_RULE.fullmatch(lines[index + 1]):
            flush()
            header = _cells(stripped)
            rows = []
            index += 2
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(_cells(lines[index].strip()))
                index += 1
            head = "".join(f"<th>{_inline(c, base)}</th>" for c in header)
            body = "\n".join("<tr>" + "".join(f"<td>{_inline(c, base)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")
            continue
        elif stripped.startswith(">"):
            flush()
            out.append(f"<blockquote>{_inline(stripped.lstrip('> '), base)}</blockquote>")
        else:
            paragraph.append(stripped)
        index += 1
    flush()
    return "\n".join(out)


def _cells(row: str) -> list[str]:
    # A "|" inside math (|x|) would split a cell; the printers' tables keep such math out.
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _inline(text: str, base: Path | None) -> str:
    parts = _MATH.split(text)
    rendered = []
    for position, part in enumerate(parts):
        if position % 2 == 1:  # math: escaped, otherwise untouched
            rendered.append(html.escape(part, quote=False))
        else:
            rendered.append(_inline_markup(part, base))
    return "".join(rendered)


def _inline_markup(text: str, base: Path | None) -> str:
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{html.escape(match.group(1))}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _INLINE_CODE.sub(keep_code, text)
    text = html.escape(text, quote=False)
    text = _IMAGE.sub(lambda m: _image(m.group(1), m.group(2), base), text)
    text = _LINK.sub(_link, text)
    text = _WIKILINK.sub(lambda m: f'<span class="wikilink">{m.group(2) or m.group(1)}</span>', text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _ITALIC.sub(r"<em>\1</em>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)


def _link(match: re.Match[str]) -> str:
    label, target = match.group(1), match.group(2)
    scheme = target.split(":", 1)[0].lower() if ":" in target else ""
    if scheme and scheme not in ("http", "https", "mailto"):
        return label  # a javascript: or data: link has no place in a derivation
    return f'<a href="{html.escape(target)}">{label}</a>'


def _image(alt: str, source: str, base: Path | None) -> str:
    """An image, embedded when it is a local PNG/SVG so that the page stays one file."""
    path = (base or Path.cwd()) / source
    kinds = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
    if "://" not in source and path.suffix.lower() in kinds and path.is_file():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        source = f"data:{kinds[path.suffix.lower()]};base64,{data}"
    return f'<img alt="{html.escape(alt)}" src="{html.escape(source)}">'


# -- check -------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace, progress: Progress) -> int:
    import symbackprop as sbp

    if not (math.isfinite(args.tolerance) and args.tolerance > 0):  # before any work is done
        raise CommandError(f"--tolerance {args.tolerance:g}: give a positive number, such as 1e-5")
    with progress.stage("reading the network"):
        loaded = load_net(args.net, level=args.level)
        values = _values_for(args, loaded)
    if values is None:
        raise CommandError("check needs values: give --values FILE (or a [values] table in the spec, "
                           "or `values` in the Python file)")
    with progress.stage("deriving the gradients"):
        derivation = sbp.backprop(loaded.network, batch=loaded.batch)
    stage = ("checking against finite differences" if args.no_sympy
             else "checking against finite differences and sympy.diff (--no-sympy skips the slower sympy.diff)")
    with progress.stage(stage):
        report = sbp.check_gradients(derivation, values, tolerance=args.tolerance,
                                     use_sympy=False if args.no_sympy else None)
    print(format_check(report))
    return EXIT_OK if report.passed else EXIT_MISMATCH


def format_check(report: Any) -> str:
    """The check as an aligned text table, a line per parameter, and a verdict."""
    header = ("parameter", "derived", "finite differences", "sympy.diff", "max rel. error", "result")
    rows = [header]
    for row in report.rows:
        rows.append((
            row.name,
            _array_text(row.derived),
            _array_text(row.finite_differences),
            "skipped" if row.sympy_diff is None else _array_text(row.sympy_diff),
            f"{row.max_relative_error:.2e}",
            "pass" if row.passed else "FAIL",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.extend(f"note: {note}" for note in report.notes)
    failed = [r.name for r in report.rows if not r.passed]
    if failed:
        lines.append(f"MISMATCH: {', '.join(failed)} disagree with the oracles (tolerance {report.tolerance:g})")
    else:
        lines.append(f"ok: all {len(report.rows)} gradients agree (tolerance {report.tolerance:g})")
    return "\n".join(lines)


#: Arrays with more elements than this are shown by their first and last elements and their shape.
_CHECK_CELL_ELEMENTS = 6


def _array_text(value: Any) -> str:
    import numpy as np

    array = np.asarray(value, dtype=float)
    shape = "×".join(str(n) for n in array.shape)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.size > _CHECK_CELL_ELEMENTS:
        flat = [f"{v:.6g}" for v in array.ravel()]
        return f"[{flat[0]}, {flat[1]}, …, {flat[-1]}] ({shape})"
    text = np.array2string(array, separator=", ", max_line_width=10**6,
                           formatter={"float_kind": lambda v: f"{v:.6g}"})
    return " ".join(text.split())


# -- graph -------------------------------------------------------------------------------------


def run_graph(args: argparse.Namespace, progress: Progress) -> int:
    from .graph import GRAPH_FORMATS, INSTALL_GRAPHVIZ, to_dot, write_graph

    with progress.stage("reading the network"):
        loaded = load_net(args.net, level=args.level)
        values = _values_for(args, loaded)
    if args.output is None or args.output == "-":
        with progress.stage("drawing the graph"):
            sys.stdout.write(to_dot(loaded.network, values=values))
        return EXIT_OK
    path = Path(args.output)
    kind = GRAPH_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise CommandError(f"-o {args.output}: use .dot or .gv for DOT, or .svg, .png or .pdf")
    if kind != "dot" and shutil.which("dot") is None:
        raise CommandError(f"-o {args.output} needs Graphviz's 'dot' program, which was not found; "
                           f"{INSTALL_GRAPHVIZ}, or write .dot instead")
    with progress.stage("drawing the graph"):
        write_graph(loaded.network, path, values=values)
    progress.say(f"wrote {args.output}")
    return EXIT_OK


# -- progress ----------------------------------------------------------------------------------


class Progress:
    """Stages on stderr, announced only when they take more than a moment."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled

    def say(self, message: str) -> None:
        if self.enabled:
            print(f"symbackprop: {message}", file=sys.stderr, flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        done = threading.Event()
        started = time.monotonic()
        announced = threading.Event()

        def watch() -> None:
            if done.wait(_PROGRESS_AFTER_SECONDS):
                return
            announced.set()
            self.say(f"{name} …")
            while not done.wait(_PROGRESS_EVERY_SECONDS):
                self.say(f"{name} … {time.monotonic() - started:.0f} s")

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
            if announced.is_set():
                self.say(f"{name}: done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":  # pragma: no cover - python -m symbackprop.cli
    sys.exit(main())
