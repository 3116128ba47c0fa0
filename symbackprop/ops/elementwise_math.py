"""SymPy's elementary functions applied element by element: ``sbp.exp``, ``log``, ``sqrt``, ``sin``, ``cos``, ``abs``.

On a scalar each is SymPy's own function (``sbp.exp(z)`` is ``sp.exp(z)``), on
a tensor an element-wise node, as every activation is.  Their derivatives are
SymPy's: abs′ is sign, with sign(0) = 0 as PyTorch's abs′(0) and NumPy's
sign(0).  NumPy and PyTorch give log(0) = −inf, log and sqrt of a negative
number NaN; exact evaluation gives the same (see :mod:`symbackprop.ieee`).
"""

from __future__ import annotations

import sympy as sp

from .record import Activation, ActivationOp, declare

exp = Activation("exp", sp.exp)
log = Activation("log", sp.log)
sqrt = Activation("sqrt", sp.sqrt)
sin = Activation("sin", sp.sin)
cos = Activation("cos", sp.cos)
abs = Activation("abs", sp.Abs)  # noqa: A001 - sbp.abs, as NumPy and PyTorch name it


def _sqrt_latex(argument: str) -> str:
    return rf"\sqrt{{{argument}}}"


def _abs_latex(argument: str) -> str:
    return rf"\left|{argument}\right|"


declare(ActivationOp("exp", exp, r"\exp", "exp",
                     (r"exp multiplies the gradient element-wise by its derivative $\exp(z)$",
                      r"exp: gradient에 도함수 $\exp(z)$를 원소별로 곱함"), elementary=True,
                     from_output=lambda y: y))
declare(ActivationOp("log", log, r"\log", "log",
                     ("log multiplies the gradient element-wise by its derivative $1/z$",
                      "log: gradient에 도함수 $1/z$를 원소별로 곱함"), elementary=True))
declare(ActivationOp("sqrt", sqrt, r"\operatorname{sqrt}", "√",
                     (r"the square root multiplies the gradient element-wise by its derivative $1/(2\sqrt{z})$",
                      r"제곱근: gradient에 도함수 $1/(2\sqrt{z})$를 원소별로 곱함"), elementary=True,
                     call_latex=_sqrt_latex))
declare(ActivationOp("sin", sin, r"\sin", "sin",
                     (r"sin multiplies the gradient element-wise by its derivative $\cos(z)$",
                      r"sin: gradient에 도함수 $\cos(z)$를 원소별로 곱함"), elementary=True))
declare(ActivationOp("cos", cos, r"\cos", "cos",
                     (r"cos multiplies the gradient element-wise by its derivative $-\sin(z)$",
                      r"cos: gradient에 도함수 $-\sin(z)$를 원소별로 곱함"), elementary=True))
declare(ActivationOp("abs", abs, r"\operatorname{abs}", "|·|",
                     (r"the absolute value multiplies the gradient element-wise by its derivative "
                      r"$\operatorname{sign}(z)$, with $\operatorname{sign}(0) = 0$ as in PyTorch",
                      r"절댓값: gradient에 도함수 $\operatorname{sign}(z)$를 원소별로 곱함 "
                      r"(PyTorch처럼 $\operatorname{sign}(0) = 0$)"),
                     elementary=True, call_latex=_abs_latex))

__all__ = ["abs", "cos", "exp", "log", "sin", "sqrt"]
