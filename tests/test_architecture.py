"""The shape of the code: small modules, imports down the layers and in no cycle, each operation in one home."""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symbackprop"
MODULE_LINE_BUDGET = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module ``name`` imports: at the top, inside functions and in branches (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                imported.add(candidate if candidate in known else base)
        pending.extend(ast.iter_child_nodes(node))
    return {m for m in imported if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


#: The layers, lowest first: a module may import its own layer and those below. Everything not listed is core.
LAYERS = {
    "analysis": ("analysis", "cost", "flow", "memory", "training", "checking", "check_plan"),
    "printing": ("printing", "graph", "torch_code", "practice"),  # practice writes worksheets and grades
    "cli": ("cli", "api", "__main__", ""),  # "" is the package itself, whose names load everything on first use
}
LAYER_ORDER = ("core", "analysis", "printing", "cli")

#: The only imports that go against the layers (or close a cycle), each with its reason.
ALLOWED = [
    ("tensor.base", ("tensor.algebra", "tensor.division", "tensor.hadamard", "tensor.indexing", "tensor.reshape",
                     "tensor.permute"),
     "a tensor's operators and methods (x + y, x * y, x / y, x[i, :], x.reshape, x.permute) build through the "
     "constructors, which build on this base"),
    ("ops.*", ("printing.precedence",), "a record's LaTeX says how tightly it binds"),
    ("tensor.*", ("printing.precedence",), "an operation's LaTeX says how tightly it binds"),
    ("derivation", ("analysis.reports", "cost", "flow", "memory", "printing.*"),
     "the one-line conveniences d.to_latex(), d.write(), d.cost(), d.gradient_flow(), d.memory()"),
    ("analysis.*", ("printing.report_text", "printing.rich"), "str(report) and a report's notebook display"),
    ("checking", ("printing.check_text",), "str(check) and its notebook display"),
    ("evaluation", ("printing.rich",), "an evaluation's notebook display"),
]


def _short(module: str) -> str:
    return module.removeprefix("symbackprop").removeprefix(".")


def _layer(module: str) -> int:
    short = _short(module)
    for layer, prefixes in LAYERS.items():
        if any(short == p or p and short.startswith(p + ".") for p in prefixes):
            return LAYER_ORDER.index(layer)
    return 0


def _allowed(importer: str, imported: str) -> bool:
    return any(fnmatch(_short(importer), source) and any(fnmatch(_short(imported), t) for t in targets)
               for source, targets, _ in ALLOWED)


def test_no_module_is_over_the_line_budget():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > MODULE_LINE_BUDGET} == {}


def test_imports_go_down_the_layers_core_analysis_printing_cli():
    graph = _graph()
    upward = sorted(f"{_short(a)} → {_short(b)}" for a, imported in graph.items() for b in imported
                    if _layer(b) > _layer(a) and not _allowed(a, b))
    assert upward == []


def test_every_allowed_import_is_still_made():
    graph = _graph()
    for source, targets, reason in ALLOWED:
        for target in targets:
            assert any(fnmatch(_short(a), source) and fnmatch(_short(b), target) for a, bs in graph.items()
                       for b in bs), f"{source} → {target} ({reason}) is no longer imported: drop it from ALLOWED"


def test_no_import_cycle_counting_imports_inside_functions():
    graph = {a: {b for b in imported if not _allowed(a, b)} for a, imported in _graph().items()}
    state: dict[str, int] = {}
    for root in sorted(graph):
        if root in state:
            continue
        path: list[str] = []
        pending: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        state[root] = 1
        path.append(root)
        while pending:
            node, successors = pending[-1]
            if not successors:
                pending.pop()
                path.pop()
                state[node] = 2
                continue
            successor = successors.pop()
            if state.get(successor) == 1:
                cycle = path[path.index(successor):] + [successor]
                raise AssertionError(" → ".join(_short(m) for m in cycle))
            if successor not in state:
                state[successor] = 1
                path.append(successor)
                pending.append((successor, sorted(graph[successor])))


def _modules_naming(word: str) -> list[str]:
    pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
    return [name for name, path in _modules().items() if pattern.search(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("operation", ["softplus", "leaky_relu", "silu", "mish", "bce_with_logits",
                                       "binary_cross_entropy", "cross_entropy"])
def test_an_operation_is_named_in_at_most_three_modules(operation):
    # its record, the package's export, and at most one module with a reason of its own
    assert len(_modules_naming(operation)) <= 3, _modules_naming(operation)


@pytest.mark.parametrize("operation", ["Slice", "Divide", "Hadamard", "AxisSum", "Concat", "Softmax", "BroadcastTo",
                                       "Maximum"])
def test_a_tensor_operation_is_named_in_at_most_three_modules(operation):
    # its module, the tensor package's export, and at most one more (softmax's kernels); Python's own ast.Slice
    # is another name
    pattern = re.compile(rf"(?<!ast\.)\b{operation}\b")
    naming = [name for name, path in _modules().items() if pattern.search(path.read_text(encoding="utf-8"))]
    assert len(naming) <= 3, naming


def test_every_file_the_architecture_document_names_exists():
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:symbackprop|tests|docs)/[\w/]+\.(?:py|md))`", text))
    assert len(named) >= 10
    assert sorted(path for path in named if not (PACKAGE.parent / path).exists()) == []
    missing = []
    for row in re.findall(r"^\| (`.+?) \| (.+) \|$", text, re.MULTILINE):  # the table of modules
        folders = [PACKAGE / f for f in re.findall(r"`(\w+)/`", row[0])] + [PACKAGE]
        for name in re.findall(r"`(\w+\.py)`", row[0] + row[1]):
            if not any((folder / name).exists() for folder in folders):
                missing.append(name)
    assert missing == []
