"""Binary cross-entropy of a sigmoid as one line of the generated program, exact in both tails.

The derivation keeps its two steps as the page writes them, ∂L/∂p = (p − y)/(p(1 − p))/n and
∂L/∂z = ∂L/∂p ⊙ σ(z)(1 − σ(z)).  In floats p = σ(z) near 1 has lost the digits of 1 − p (five
of them at z = 26, all beyond z = 37, where PyTorch's BCELoss gives ∂L/∂z = 0 instead of 1), so
the program writes the logit's gradient from z itself: the loss step's line with its kernel of
p replaced by one of z, (1 − y)σ(z) − yσ(−z), whose terms are exact in both tails.  It applies
where p = σ(z) is used by the loss alone and the loss step is a product with that kernel.
"""

from __future__ import annotations

import ast
from typing import Any

import sympy as sp

from .. import tensor as T
from ..network import PARAM
from ..ops import ACTIVATION_OPS
from ..ops.activations import Sigmoid
from ..ops.losses import _bce_of_sigmoid_prediction
from ..ops.stable import _likelihood_logit_slope
from .emitter import call, name, var

#: The kernel of p in a loss step → the name and kernel of the same product with σ′(z), taking z.
_FUSED = {
    "_d_binary_cross_entropy_d_prediction": ("_bce_of_sigmoid_prediction", _bce_of_sigmoid_prediction),
    "LikelihoodSlope": ("_likelihood_logit_slope", _likelihood_logit_slope),
}


def sigmoid_operand(definition: Any) -> str | None:
    """The name z where ``definition`` is σ(z) of a named quantity (a vector's or a scalar's), else None."""
    if isinstance(definition, T.Elementwise) and isinstance(definition.operand, T.Ref):
        if definition.function is ACTIVATION_OPS["sigmoid"].activation:
            return definition.operand.name
    if isinstance(definition, Sigmoid) and isinstance(definition.args[0], sp.Symbol):
        return definition.args[0].name
    return None


def fused_logit_edge(loss_code: ast.expr, probability: str, logit: str, namespace: dict[str, Any]) -> ast.expr | None:
    """The loss step's code for p with its kernel of (p, y) replaced by the kernel of (z, y), or None."""
    calls = [node for node in ast.walk(loss_code) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id in _FUSED]
    reads_p = [node for node in ast.walk(loss_code) if isinstance(node, ast.Name) and node.id == var("v", probability)]
    if len(calls) != 1 or len(reads_p) != 1 or not _is_factor(loss_code, calls[0]):
        return None
    slope = calls[0]
    if len(slope.args) != 2 or slope.keywords or not (isinstance(slope.args[0], ast.Name)
                                                       and slope.args[0].id == var("v", probability)):
        return None
    fused_name, kernel = _FUSED[slope.func.id]
    namespace[fused_name] = kernel
    return _Replace(slope, call(fused_name, name(var("v", logit)), slope.args[1])).visit(loss_code)


def _is_factor(code: ast.expr, target: ast.Call) -> bool:
    """Whether ``code`` is ``target`` times or over other factors (a negation included): linear in it."""
    if code is target:
        return True
    if isinstance(code, ast.UnaryOp) and isinstance(code.op, ast.USub):
        return _is_factor(code.operand, target)
    if isinstance(code, ast.BinOp) and isinstance(code.op, ast.Mult):
        return _is_factor(code.left, target) or _is_factor(code.right, target)
    if isinstance(code, ast.BinOp) and isinstance(code.op, ast.Div):
        return _is_factor(code.left, target)
    return False


class _Replace(ast.NodeTransformer):
    def __init__(self, old: ast.AST, new: ast.expr) -> None:
        self.old, self.new = old, new

    def visit(self, node: ast.AST) -> Any:
        return self.new if node is self.old else super().visit(node)


def logit_edge(program: Any, step: Any, into: dict[str, list]) -> ast.expr | None:
    """The code of the step p → z where p = σ(z) feeds the loss alone, fused with the loss's step; else None."""
    if sigmoid_operand(program.network[step.source].definition) != step.target:
        return None
    loss_steps = into.get(step.source, [])
    if len(loss_steps) != 1 or loss_steps[0].source != program.derivation.loss:
        return None
    code = fused_logit_edge(program._edge(loss_steps[0]), step.source, step.target, program._emit.namespace)
    if code is not None and program.network[step.target].kind == PARAM:
        code = call("_batch_sum", code, name("batch_size"))
    return code
