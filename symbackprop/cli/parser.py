"""The command line's options: ``symbackprop [-q] [--traceback] COMMAND [NET] [options]``."""

from __future__ import annotations

import argparse
from typing import Any

from ..choices import ABRIDGE, ANALYSES, PAGES, PAPERS
from .commands import FORMATS, run_check, run_derive, run_graph
from .practice import add_practice_commands


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

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
    derive.add_argument("--format", choices=FORMATS,
                        help="document format (default: from OUT's suffix, else tex)")
    derive.add_argument("--lang", choices=("en", "ko"), default="en", help="language of the prose (default: en)")
    derive.add_argument("--batch", action="store_true",
                        help="show the loss as the batch mean L = (1/N) Σ Lᵢ")
    derive.add_argument("--digits", type=int, metavar="N",
                        help="significant digits of decimal numbers in the worked example (default: 4)")
    derive.add_argument("--decimals", type=int, metavar="N",
                        help="round decimals to at most N places after the point instead (2: the page's 1.78, -1.22)")
    derive.add_argument("--paper", choices=PAPERS,
                        help="page size of a LaTeX or PDF document (default: letter)")
    derive.add_argument("--page", choices=PAGES, default="derivation",
                        help="derivation: the derivation and its later sections (default); full: every section "
                             "of the reference page in its order, each built from NET")
    derive.add_argument("--abridge", metavar="N", type=_abridge_limit, default=ABRIDGE,
                        help="write at most N forward equations and layers of backward steps per pass, the first "
                             f"and last halves and how many lie between; 'all' writes every one (default: {ABRIDGE})")
    derive.add_argument("--sections", metavar="LIST", type=_section_list,
                        help=f"comma-separated later sections to include, of {', '.join(ANALYSES)}, "
                             "or 'none' (default: all; flow needs values)")
    derive.add_argument("--batch-size", type=int, metavar="N",
                        help="the batch the memory section counts numbers for (default: 32)")
    derive.add_argument("--interactive", action="store_true",
                        help="for html: the computational graph to click, each node's value, gradient and step, "
                             "and a button that walks the backward pass")
    derive.add_argument("--practice", action="store_true",
                        help="for html: the interactive page asks for each gradient's numbers before it shows them, "
                             "and answers with a verdict and a hint (needs values)")
    derive.add_argument("--learning-rate", metavar="ETA",
                        help="learning rate of the gradient-descent update, e.g. 0.01 or 1/100 (default: 1/100)")
    derive.add_argument("--title", help="the document's title")
    derive.add_argument("--code", action="store_true", help="add the generated NumPy code")
    derive.add_argument("--links", action="store_true",
                        help="Markdown/HTML: [[wikilinks]] for Chain rule, Gradient, … (Obsidian style)")
    derive.add_argument("--katex", default="auto", metavar="SOURCE",
                        help="for html: 'auto' (inline a local KaTeX from node_modules/katex/dist if found, "
                             "else write the formulas as MathML), 'mathml', 'cdn' (link KaTeX from a CDN), "
                             "or the path of KaTeX's dist directory to inline")
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
    check.add_argument("--thorough", action="store_true",
                       help="derive every element with sympy.diff (default: the first, the last and evenly "
                            "spaced elements between, at most 4 per parameter; finite differences check all)")
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
    add_practice_commands(commands, common, _add_net_arguments)
    return parser


def _section_list(text: str) -> tuple[str, ...]:
    """``efficiency,memory`` → ("efficiency", "memory"); ``none`` → ()."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if names == ("none",):
        return ()
    unknown = [name for name in names if name not in ANALYSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{text!r}: use a comma-separated list of {', '.join(ANALYSES)}, or none")
    return names


def _abridge_limit(text: str) -> int | None:
    """``40`` → 40; ``all`` → None (every item written)."""
    if text.strip() == "all":
        return None
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: use a whole number of at least 2, or all")
    return limit


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
