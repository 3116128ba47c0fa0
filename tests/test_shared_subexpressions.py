"""The program's common-subexpression pass: equal subtrees computed once, different ones never merged."""

from __future__ import annotations

import ast

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop.codegen.lines import Line, share_subexpressions


def _lines(*sources: str) -> list[Line]:
    return [Line(f"r{k}", ast.parse(source, mode="eval").body) for k, source in enumerate(sources)]


def _run(lines: list[Line], **arrays: np.ndarray) -> dict[str, np.ndarray]:
    scope = {"np": np, "f": np.tanh, **arrays}
    for line in lines:
        tree = ast.fix_missing_locations(ast.Expression(line.value))
        scope[line.target] = eval(compile(tree, "<test>", "eval"), scope)  # noqa: S307
    return scope


def _shared(lines: list[Line]) -> list[str]:
    return [ast.unparse(line.value) for line in lines if line.comment == "shared"]


def test_a_repeated_subtree_is_computed_once_before_its_first_use():
    out = share_subexpressions(_lines("f(v @ w) + 1", "f(v @ w) * 2"))
    assert [line.target for line in out][-2:] == ["r0", "r1"]
    assert sum("v @ w" in ast.unparse(line.value) for line in out) == 1


def test_slices_that_differ_only_in_which_bound_is_missing_are_not_merged():
    out = share_subexpressions(_lines("f(v[:n] + 1)", "f(v[n:] + 1)", "f(v[:n] + 1)"))
    printed = {line.target: ast.unparse(line.value) for line in out}
    assert "v[n:]" in printed["r1"]
    assert printed["r0"] == printed["r2"]


def test_operators_keywords_and_attributes_tell_subtrees_apart():
    sources = ("np.sum(v, axis=0) + a", "np.sum(v, axis=1) + a", "np.max(v, axis=0) + a",
               "np.sum(v, axis=0) - a", "-v * a", "+v * a")
    out = share_subexpressions(_lines(*sources, *sources))
    final = {line.target: ast.unparse(line.value) for line in out if not line.comment}
    names = [final[f"r{k}"] for k in range(len(sources))]
    assert names == [final[f"r{k + len(sources)}"] for k in range(len(sources))]  # each repeat is shared
    assert len(set(names)) == len(sources)  # and no two different lines are merged


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a + b", "a - b", "b - a", "a * b", "f(a)", "f(b)", "a[:, :1]", "a[:, 1:2]",
                                  "np.sum(a, axis=0)", "np.sum(a, axis=1)"]), min_size=1, max_size=5),
       st.lists(st.integers(0, 30), min_size=1, max_size=8))
def test_sharing_never_changes_a_value(parts, picks):
    """Random lines built from overlapping pieces give the same numbers with and without sharing."""
    sources = [f"({parts[p % len(parts)]}) * ({parts[(p // 3) % len(parts)]})" for p in picks]
    a, b = np.arange(9.0).reshape(3, 3) - 4.5, np.linspace(-1, 1, 9).reshape(3, 3)
    plain = _run(_lines(*sources), a=a, b=b)
    shared = _run(share_subexpressions(_lines(*sources)), a=a, b=b)
    for k in range(len(sources)):
        np.testing.assert_array_equal(shared[f"r{k}"], plain[f"r{k}"])

