"""Python code in the documents, through latexify-py where it is installed.

latexify renders Python functions: a user's activation written as a plain
Python function, and the lines of the generated NumPy gradient code.  It is an
optional dependency (it declares Python < 3.14), so everything here falls back
to SymPy's formula or to the code as text when it is missing or declines.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..functions import Activation
from .blocks import Block, Code, Display, Heading, Paragraph
from .names import Notation
from .scalars import ScalarPrinter
from .tensors import activation_name

if TYPE_CHECKING:
    from .compose import Writer

#: Module prefixes a user's function may call through (sp.exp, sympy.tanh, np.exp …).
_PREFIXES = {"math", "numpy", "np", "sympy", "sp", "sbp", "symbackprop"}


def latexify_module() -> Any | None:
    """The latexify package, or None where it is not importable."""
    try:
        import latexify
    except ImportError:
        return None
    return latexify


def activation_latex(activation: Activation, notation: Notation) -> str:
    """``name(t) = formula`` for an activation: latexify's rendering of its Python source, else SymPy's."""
    latexify = latexify_module()
    if latexify is not None and activation.source is not None:
        try:
            return latexify.get_latex(activation.source, use_math_symbols=True, prefixes=_PREFIXES)
        except Exception:  # latexify rejects lambdas, loops and unknown syntax: fall back to SymPy
            pass
    variable = sp.Symbol("t", real=True)
    body = ScalarPrinter(notation).doprint(sp.sympify(activation.formula(variable)))
    return rf"{activation_name(activation)}\left(t\right) = {body}"


def gradient_lines(source: str) -> list[str] | None:
    """The generated code's gradient assignments (``g_…``) as aligned LaTeX rows, via latexify."""
    latexify = latexify_module()
    if latexify is None:
        return None
    from latexify import codegen

    rows = []
    try:
        function = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "derivation")
        for statement in function.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name) and target.id.startswith("g_"):
                    name = codegen.ExpressionCodegen().visit(target)
                    value = codegen.ExpressionCodegen().visit(statement.value)
                    rows.append(f"{name} &= {value}")
    except Exception:  # a construct latexify does not support: show the code as text only
        return None
    return rows or None


def code_section(writer: Writer) -> list[Block]:
    source = writer.derivation.lambdify().program.derivation_source  # the module's helpers would bury it
    blocks: list[Block] = [Heading(2, writer.say("code.heading")), Paragraph(writer.say("code.intro")),
                           Code(source, "python")]
    if latexify_module() is None:
        blocks.append(Paragraph(writer.say("code.no_latexify")))
        return blocks
    rows = gradient_lines(source)
    if rows is not None:  # None: latexify declined a construct, and the code above stands alone
        blocks += [Paragraph(writer.say("code.latexify")), Display(tuple(rows))]
    return blocks
