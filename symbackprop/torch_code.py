"""To PyTorch: the inverse of :func:`~symbackprop.torch_bridge.from_torch`, as Python source.

:func:`torch_code` writes the reference page's PyTorch section for a network: an
``nn.Sequential`` of ``nn.Linear`` and activation modules, the parameters set to the
given values (``torch.no_grad`` copies), the loss, ``loss.backward()`` and a print of
every parameter's ``.grad``.  It is built from the network's structure alone: each
layer from its definition (Wk·h + bk, an activation of the previous value), each
activation's module from its record's ``.torch``, the loss from its record (an
``nn`` loss module, or the loss written out element by element).  A network that no
``nn.Sequential`` of those modules computes raises :class:`TorchCodeError` with the
reason, rather than code that computes something else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from . import tensor as T
from .errors import SymbackpropError
from .network import INPUT, NODE, PARAM, Network
from .ops import ACTIVATION_OPS, LOSS_OPS, activation_op_of
from .values import conform

__all__ = ["CODE_COMMENTS", "TorchCodeError", "TorchModel", "torch_code", "torch_model"]

#: The comments of the generated program, as the page's code has them.
CODE_COMMENTS: dict[str, dict[str, str]] = {
    "en": {"model": "Define the model", "values": "Parameters set to the given values",
           "data": "Input and target", "forward": "Forward pass", "loss": "Compute the loss",
           "backward": "Backward pass (backpropagation runs automatically)",
           "grad": "The gradient of every parameter"},
    "ko": {"model": "모델 정의", "values": "파라미터를 주어진 값으로 설정", "data": "입력과 정답",
           "forward": "Forward pass", "loss": "손실 계산", "backward": "Backward pass (역전파 자동 실행)",
           "grad": "모든 파라미터의 gradient 확인"},
}

#: Digits the program prints (float64 throughout, so that .grad can be compared to 1e-6 and better).
PRINT_PRECISION = 10


class TorchCodeError(SymbackpropError, ValueError):
    """The network is not one that an ``nn.Sequential`` of Linear and activation modules computes."""


@dataclass(frozen=True)
class Module:
    """One entry of the ``nn.Sequential``: ``nn.Linear(inputs, outputs)`` or an activation module."""

    code: str
    weight: str | None = None  # the network's names of a Linear layer's parameters
    bias: str | None = None
    shape: tuple[int, int] | None = None  # (outputs, inputs) of a Linear layer


@dataclass(frozen=True)
class TorchModel:
    """The network read as PyTorch modules: the input, the target, the modules and the loss line."""

    input: str
    target: str
    features: int
    modules: tuple[Module, ...]
    loss: str  # the right-hand side of ``loss = …``, of ``y_pred`` and ``y``

    def parameter_names(self) -> dict[str, str]:
        """PyTorch's ``named_parameters()`` names (``0.weight``) mapped to the network's (``W1``)."""
        names = {}
        for index, module in enumerate(self.modules):
            if module.weight is not None:
                names[f"{index}.weight"] = module.weight
            if module.bias is not None:
                names[f"{index}.bias"] = module.bias
        return names


def torch_model(network: Network) -> TorchModel:
    """The modules of the network, from its definitions; :class:`TorchCodeError` where there are none."""
    if network.loss_name is None:
        raise TorchCodeError("the network has no loss, so there is nothing to call backward() on")
    if any(q.elements is not None for q in network.quantities()):
        raise TorchCodeError("the network is written element by element (scalar level); PyTorch's nn.Linear "
                             "holds whole matrices: build it with vectors")
    loss = network[network.loss_name]
    inputs = network.quantities(INPUT)
    nodes = network.quantities(NODE)
    reader = _Reader(network)
    target_name = next((d for d in loss.dependencies if network[d].kind == INPUT), None)
    first_inputs = [q.name for q in inputs if q.name != target_name]
    if target_name is None or len(first_inputs) != 1:
        raise TorchCodeError("an nn.Sequential takes one input x and its loss compares the output with one "
                             f"target; this network has the inputs {', '.join(q.name for q in inputs)}")
    current = first_inputs[0]
    features = _rows(network, current)
    modules: list[Module] = []
    for node in nodes:
        module = reader.module(node.name, node.definition, current)
        modules.append(module)
        current = node.name
    used = {m.weight for m in modules} | {m.bias for m in modules}
    unused = [q.name for q in network.params if q.name not in used]
    if unused:
        raise TorchCodeError(f"the parameter(s) {', '.join(unused)} are not the weight or bias of a Linear layer")
    if not any(m.weight for m in modules):
        raise TorchCodeError("the network has no linear layer W·h + b, so an nn.Sequential has no parameters")
    line = reader.loss(loss.definition, current, target_name)
    return TorchModel(first_inputs[0], target_name, features, tuple(modules), line)


def torch_code(network: Network, values: Mapping[str, Any] | None = None, *, lang: str = "en") -> str:
    """The PyTorch program of the network; with ``values`` (inputs and parameters) it sets them and
    prints each parameter's ``.grad``, which equals the derivation's gradient at those values; without
    them the parameters keep PyTorch's initial values and the input and target are random."""
    model = torch_model(network)
    comments = CODE_COMMENTS[lang]
    lines = ["import torch", "import torch.nn as nn", "",
             "torch.set_default_dtype(torch.float64)",
             f"torch.set_printoptions(precision={PRINT_PRECISION})", "",
             f"# {comments['model']}", "model = nn.Sequential("]
    lines += [f"    {module.code}," for module in model.modules]
    lines.append(")")
    if values is not None:
        lines += ["", f"# {comments['values']}", "with torch.no_grad():"]
        for index, module in enumerate(model.modules):
            if module.weight is not None:
                weight = _array(network, values, module.weight).reshape(module.shape)
                lines.append(f"    model[{index}].weight.copy_(torch.tensor({_literal(weight)}))")
            if module.bias is not None:
                bias = _array(network, values, module.bias).reshape(module.shape[0])
                lines.append(f"    model[{index}].bias.copy_(torch.tensor({_literal(bias)}))")
        outputs = _rows(network, model.target)
        x = _array(network, values, model.input).reshape(-1, model.features)
        y = _array(network, values, model.target).reshape(-1, outputs)
        lines += ["", f"# {comments['data']}", f"x = torch.tensor({_literal(x)})", f"y = torch.tensor({_literal(y)})"]
    else:  # numbers in [0, 1), which every loss accepts as a target
        outputs = _rows(network, model.target)
        lines += ["", f"# {comments['data']}", f"x = torch.rand(1, {model.features})", f"y = torch.rand(1, {outputs})"]
    lines += ["", f"# {comments['forward']}", "y_pred = model(x)", "", f"# {comments['loss']}",
              f"loss = {model.loss}", "", f"# {comments['backward']}", "loss.backward()", "",
              f"# {comments['grad']}", "for name, param in model.named_parameters():",
              '    print(f"{name}: {param.grad}")']
    return "\n".join(lines) + "\n"


# -- reading the definitions -------------------------------------------------------------------


def _rows(network: Network, name: str) -> int:
    shape = network[name].shape
    if shape is None:
        return 1
    if shape[1] != 1:
        raise TorchCodeError(f"{name} has shape {shape[0]}×{shape[1]}; nn.Linear takes column vectors (n×1)")
    return shape[0]


@dataclass
class _Reader:
    network: Network

    def name(self, node: Any) -> str | None:
        return self.network.leaf_name(node)

    def module(self, name: str, definition: Any, previous: str) -> Module:
        activation = self.activation(definition, previous)
        if activation is not None:
            return Module(f"nn.{activation}()")
        weight, bias = self.affine(definition, previous)
        if weight is None:
            raise TorchCodeError(f"{name} is neither W·{previous} + b nor an activation of {previous} with a "
                                 "PyTorch module, so no nn.Sequential computes it")
        outputs, inputs = self.network[weight].shape or (1, 1)
        if inputs != _rows(self.network, previous) or outputs != _rows(self.network, name):
            raise TorchCodeError(f"{weight} has shape {outputs}×{inputs}, not what nn.Linear maps {previous} with")
        if bias is not None and _rows(self.network, bias) != outputs:
            raise TorchCodeError(f"{bias} has {_rows(self.network, bias)} rows, not {outputs} as nn.Linear's bias")
        code = f"nn.Linear({inputs}, {outputs})" if bias is not None else f"nn.Linear({inputs}, {outputs}, bias=False)"
        return Module(code, weight, bias, (outputs, inputs))

    def activation(self, definition: Any, previous: str) -> str | None:
        """The module name of a built-in activation of ``previous`` with PyTorch's defaults, else None."""
        if isinstance(definition, T.Elementwise):
            op = ACTIVATION_OPS.get(definition.function.name)
            if op is None or op.torch is None or definition.function is not op.activation:
                return None  # a user's function, or one with options of its own (a slope)
            return op.torch if self.name(definition.operand) == previous else None
        if isinstance(definition, sp.Basic):
            op = activation_op_of(definition)
            if op is None or op.torch is None or self.name(definition.args[0]) != previous:
                return None
            return op.torch if op.activation.formula(definition.args[0]) == definition else None
        return None

    def affine(self, definition: Any, previous: str) -> tuple[str | None, str | None]:
        """(W, b) where the definition is W·previous + b (or W·previous), else (None, None)."""
        terms = self.terms(definition)
        products = [t for t in terms if self.product(t, previous) is not None]
        others = [t for t in terms if self.product(t, previous) is None]
        if len(products) != 1 or len(others) > 1:
            return None, None
        weight = self.product(products[0], previous)
        bias = self.name(others[0]) if others else None
        if others and (bias is None or self.network[bias].kind != PARAM or bias == weight):
            return None, None
        return weight, bias

    def terms(self, definition: Any) -> list[Any]:
        if isinstance(definition, T.Add):
            return [*self.terms(definition.left), *self.terms(definition.right)]
        if isinstance(definition, sp.Add):
            return list(definition.args)
        return [definition]

    def product(self, term: Any, previous: str) -> str | None:
        """W where the term is W·previous with W a parameter."""
        if isinstance(term, T.MatMul):
            left, right = self.name(term.left), self.name(term.right)
        elif isinstance(term, sp.Mul) and len(term.args) == 2:
            names = [self.name(a) for a in term.args]
            left, right = (names[0], names[1]) if names[1] == previous else (names[1], names[0])
        else:
            return None
        if right != previous or left is None or self.network[left].kind != PARAM:
            return None
        return left

    def loss(self, definition: Any, prediction: str, target: str) -> str:
        """``loss = …`` of y_pred and y (rows: samples), the mean over the batch as the derivation takes it."""
        rows = _rows(self.network, prediction)
        if _rows(self.network, target) != rows:
            raise TorchCodeError(f"the target {target} and the output {prediction} have different shapes")
        if isinstance(definition, T.LossNode):
            if self.name(definition.prediction) != prediction or self.name(definition.target) != target:
                raise TorchCodeError(f"the loss is not of the last layer's output {prediction} against {target}")
            if definition.options:
                raise TorchCodeError(f"the {definition.kind} loss has options that the nn module is not given here")
            record = LOSS_OPS[definition.kind]
            if record.torch.startswith("nn."):
                return f"{record.torch}()(y_pred, y)"
            pairs = [(sp.Symbol(f"p{i}"), sp.Symbol(f"t{i}")) for i in range(rows)]
            expression = record.written_out(pairs)
            names = {p: f"y_pred[:, {i}]" for i, (p, _) in enumerate(pairs)}
            names.update({t: f"y[:, {i}]" for i, (_, t) in enumerate(pairs)})
            return f"({_TorchPrinter(names).doprint(expression)}).mean()"
        if isinstance(definition, sp.Basic) and self.network[prediction].shape is None:
            names = {self.network[prediction].symbol: "y_pred[:, 0]", self.network[target].symbol: "y[:, 0]"}
            if definition.free_symbols - set(names):
                raise TorchCodeError("the loss depends on more than the output and the target")
            return f"({_TorchPrinter(names).doprint(definition)}).mean()"
        raise TorchCodeError("the loss is not a loss of the last layer's output against the target")


class _TorchPrinter(StrPrinter):
    """Arithmetic of the output and the target as torch code (SymPy's own precedence rules);
    exp, log and abs become torch's, and any other function is refused."""

    _FUNCTIONS = {"exp": "torch.exp", "log": "torch.log", "Abs": "torch.abs"}

    def __init__(self, names: Mapping[sp.Symbol, str]) -> None:
        super().__init__({"order": "none"})
        self.names = names

    def doprint(self, expression: Any) -> str:
        expression = sp.sympify(expression)
        unknown = expression.free_symbols - set(self.names)
        if unknown:
            raise TorchCodeError(f"the loss uses {', '.join(sorted(map(str, unknown)))}, which is not the output "
                                 "or the target")
        return super().doprint(expression)

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names[expr]

    def _print_Function(self, expr: sp.Function) -> str:
        function = self._FUNCTIONS.get(type(expr).__name__)
        if function is None:
            raise TorchCodeError(f"the loss uses {type(expr).__name__}, which is written here only as an nn "
                                 "module's loss")
        return f"{function}({self._print(expr.args[0])})"

    _print_exp = _print_log = _print_Function
    _print_Abs = _print_Function  # noqa: N815 - SymPy's printer dispatches on the class name

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp in (sp.S.Half, -sp.S.Half):  # StrPrinter would write sqrt(), which torch lacks
            root = f"torch.sqrt({self._print(expr.base)})"
            return root if expr.exp == sp.S.Half else f"1/{root}"
        return super()._print_Pow(expr, rational)

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"{expr.p}/{expr.q}" if expr.q != 1 else str(expr.p)


def _array(network: Network, values: Mapping[str, Any], name: str) -> np.ndarray:
    """The value of ``name``, checked as every value is (its shape, a batch axis for an input, finite numbers)."""
    if name not in values:
        raise TorchCodeError(f"no value for {name}")
    return conform(network[name], values[name])[0]


def _literal(array: np.ndarray) -> str:
    """A nested list of floats, each written exactly (repr round-trips)."""
    if array.ndim == 0:
        return repr(float(array))
    return "[" + ", ".join(_literal(row) for row in array) + "]"

