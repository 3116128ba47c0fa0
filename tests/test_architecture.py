"""The shape of the code: small modules, no import cycle at module level, each operation in one home."""

from __future__ import annotations

import ast
import re
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


def _module_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules imported when ``name`` is executed: top-level statements, not TYPE_CHECKING or functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
                continue
            if isinstance(statement, (ast.If, ast.Try)):
                visit(statement.body)
                visit(getattr(statement, "orelse", []))
                for handler in getattr(statement, "handlers", []):
                    visit(handler.body)
            elif isinstance(statement, ast.Import):
                imported.update(alias.name for alias in statement.names if alias.name in known)
            elif isinstance(statement, ast.ImportFrom):
                base = statement.module or ""
                if statement.level:
                    anchor = package.split(".")[: len(package.split(".")) - statement.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in statement.names:
                    candidate = f"{base}.{alias.name}"
                    imported.add(candidate if candidate in known else base)
    visit(tree.body)
    return {m for m in imported if m in known and m != name}


def test_no_module_is_over_the_line_budget():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > MODULE_LINE_BUDGET} == {}


def test_no_import_cycle_at_module_level():
    modules = _modules()
    known = set(modules)
    graph = {name: _module_level_imports(name, path, known) for name, path in modules.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def search(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for successor in sorted(graph[node]):
            if state.get(successor) == 1:
                return stack[stack.index(successor):] + [successor]
            if successor not in state:
                cycle = search(successor)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = search(module)
            assert cycle is None, " → ".join(cycle)


def _modules_naming(word: str) -> list[str]:
    pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
    return [name for name, path in _modules().items() if pattern.search(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("operation", ["softplus", "leaky_relu", "silu", "mish", "bce_with_logits",
                                       "binary_cross_entropy", "cross_entropy"])
def test_an_operation_is_named_in_at_most_three_modules(operation):
    # its record, the package's export, and at most one module with a reason of its own
    assert len(_modules_naming(operation)) <= 3, _modules_naming(operation)
