"""An answer written as an expression, turned into numbers by the same code generator as the derivation.

The expression has already been parsed through the whitelist into a tensor tree (or a SymPy
scalar) over the network's quantities and the ``d…`` gradients; here the tree is written as one
NumPy function of the forward values and of the gradients the grader chooses (the student's own
earlier answers), so ``"W2.T @ dz2"`` means W2ᵀ times the student's ∂L/∂z2.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ..codegen import Line, TreeEmitter, call, function_source, name, resolve, var
from ..network import PARAM, Network
from ..threads import one_tree_at_a_time


@one_tree_at_a_time
def compiled_expression(network: Network, target: str, tree: Any) -> Any:
    """``function(forward, adjoints, batch_size)``: the value of ``tree`` as the gradient of ``target``."""
    emit = TreeEmitter()
    names = [q.name for q in network.quantities(elements=True)]
    code = emit.value(tree)
    if network[target].kind == PARAM:  # a parameter's gradient adds up the samples, as the derivation's does
        code = call("_batch_sum", code, name("batch_size"))
    arguments = [var("v", n) for n in names] + [var("g", n) for n in names] + ["batch_size"]
    source = function_source("answer", arguments, [Line("value", code)], ast.Name("value", ast.Load()))
    parsed = ast.parse("\n\n\n".join([source, *(ast.unparse(d) for d in emit.definitions)]))
    scope = dict(resolve(parsed, emit.namespace))
    exec(compile(parsed, "<symbackprop answer>", "exec"), scope)  # written from a whitelisted tree
    function = scope["answer"]

    def evaluate(forward: dict[str, Any], adjoints: dict[str, Any], batch_size: int) -> np.ndarray:
        arguments = {var("v", n): forward.get(n) for n in names}
        arguments.update({var("g", n): adjoints.get(n) for n in names})
        with np.errstate(all="ignore"):
            return np.asarray(function(**arguments, batch_size=batch_size), dtype=float)

    return evaluate


__all__ = ["compiled_expression"]
