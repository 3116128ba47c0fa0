"""The practice commands: ``exercise`` (a worksheet and its key) and ``grade`` (a student's answers).

    symbackprop exercise [NET] -o sheet.pdf [--key key.pdf] [--seed S] [--lang ko] [--blanks …]
    symbackprop grade [NET] ANSWERS.toml [--values FILE | --seed S] [--lang ko]

The answers file is TOML or JSON: ``dW2 = [-1.46, -1.46]``, ``dh1 = "W2.T @ dz2"``; its text is read
by the spec files' parser, never run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import EXIT_MISMATCH, EXIT_OK, CommandError
from .loading import load_net, values_for
from .progress import Progress

#: The largest answers file read (a worksheet's answers are a few hundred numbers).
MAX_ANSWERS_BYTES = 5_000_000
SUFFIXES = (".tex", ".md", ".markdown", ".html", ".htm", ".pdf")


def add_practice_commands(commands: Any, common: argparse.ArgumentParser,
                          add_net_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
    sheet = commands.add_parser(
        "exercise", parents=[common], help="write a worksheet of the backward pass and its answer key",
        description="Write a worksheet: NET, its values and forward pass with numbers, and a box for each "
                    "gradient of the backward pass; --key writes the answers. Without --values the numbers "
                    "are drawn from --seed: one decimal place, the same sheet for the same seed.",
        epilog="Example: symbackprop exercise -o sheet.pdf --key key.pdf --seed 7 --lang ko",
    )
    add_net_arguments(sheet)
    sheet.add_argument("-o", "--output", metavar="OUT", required=True,
                       help="the worksheet: .pdf, .tex, .md or .html")
    sheet.add_argument("--key", metavar="KEY", help="the answer key: .pdf, .tex, .md or .html")
    _add_practice_options(sheet)
    sheet.add_argument("--decimals", type=int, default=2, metavar="N",
                       help="decimal places the answers are asked to (default: 2)")
    sheet.set_defaults(run=run_exercise)

    grade = commands.add_parser(
        "grade", parents=[common], help="grade a student's backward pass, step by step",
        description="Grade the answers (a TOML or JSON file of dW2 = numbers or \"expression\") for NET's "
                    "backward pass: a row per gradient with its verdict, the mistake and a hint. Exit status "
                    "0 when every answer is right, 1 when one is not, 2 when the answers cannot be read.",
        epilog="Example: symbackprop grade answers.toml --seed 7; symbackprop grade net.toml answers.toml",
    )
    grade.add_argument("files", nargs="+", metavar="[NET] ANSWERS",
                       help="the network (default: the reference network) and the answers file")
    grade.add_argument("--values", metavar="FILE",
                       help="the worksheet's values (.toml or .json); default: NET's own, or --seed's")
    grade.add_argument("--level", default="vector", help=argparse.SUPPRESS)
    _add_practice_options(grade)
    grade.set_defaults(run=run_grade)


def _add_practice_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, metavar="S",
                        help="draw the numbers from seed S (exercise: default 0 when no --values)")
    parser.add_argument("--lang", choices=("en", "ko"), default="en", help="language (default: en)")
    parser.add_argument("--blanks", default="backward", metavar="WHICH",
                        help="backward (every gradient; default), parameters, or a comma-separated list of names")


def _blanks(text: str) -> Any:
    if text in ("backward", "parameters"):
        return text
    return [name.strip() for name in text.split(",") if name.strip()]


def run_exercise(args: argparse.Namespace, progress: Progress) -> int:
    import symbackprop as sbp

    for path in (args.output, args.key):
        if path is not None and Path(path).suffix.lower() not in SUFFIXES:
            raise CommandError(f"{path}: a worksheet is written as {', '.join(SUFFIXES)}")
    with progress.stage("reading the network"):
        loaded = load_net(args.net, level=args.level)
        values = values_for(args, loaded) if args.values else None
    with progress.stage("deriving the gradients"):
        derivation = sbp.backprop(loaded.network, batch=loaded.batch)
    seed = args.seed if args.seed is not None else 0
    sheet = sbp.exercise(derivation, values, seed=seed, blanks=_blanks(args.blanks), lang=args.lang,
                         decimals=args.decimals)
    with progress.stage("writing the worksheet"):
        sheet.write(args.output)
    progress.note("wrote", path=args.output)
    if args.key is not None:
        with progress.stage("writing the answer key"):
            sheet.write_key(args.key)
        progress.note("wrote", path=args.key)
    return EXIT_OK


def run_grade(args: argparse.Namespace, progress: Progress) -> int:
    import symbackprop as sbp

    if len(args.files) > 2:
        raise CommandError("grade takes [NET] ANSWERS: at most two files")
    net, answers_path = (None, args.files[0]) if len(args.files) == 1 else args.files
    if args.values and args.seed is not None:
        raise CommandError("give the values either as --values FILE or as --seed S, not both")
    args.net = net
    with progress.stage("reading the network"):
        loaded = load_net(net, level=args.level)
        values = values_for(args, loaded) if args.seed is None else None
        answers = read_answers_file(Path(answers_path))
    with progress.stage("deriving the gradients"):
        derivation = sbp.backprop(loaded.network, batch=loaded.batch)
    if args.seed is not None:
        values = sbp.exercise(derivation, seed=args.seed).values
    if values is None:
        raise CommandError("grade needs the worksheet's values: give --values FILE or --seed S "
                           "(or a [values] table in the spec)")
    with progress.stage("grading"):
        graded = sbp.grade(derivation, answers, values, lang=args.lang, blanks=_blanks(args.blanks))
    print(graded.to_text(), end="")
    return EXIT_OK if graded.passed else EXIT_MISMATCH


def read_answers_file(path: Path) -> dict[str, Any]:
    """The answers table of a .toml or .json file (a file with one [answers] table works too)."""
    from ..practice import AnswerError
    from ..spec.files import parse_json, parse_toml, read_text

    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise CommandError(f"{path}: an answers file ends in .toml or .json")
    text = read_text(path, MAX_ANSWERS_BYTES)
    table = parse_toml(text, str(path)) if suffix == ".toml" else parse_json(text, str(path))
    if isinstance(table, dict) and set(table) == {"answers"} and isinstance(table["answers"], dict):
        table = table["answers"]
    if not isinstance(table, dict):
        raise AnswerError(f"{path}: the answers are a table of names to numbers or expressions (dW2 = ...)")
    return table


__all__ = ["add_practice_commands", "read_answers_file", "run_exercise", "run_grade"]
