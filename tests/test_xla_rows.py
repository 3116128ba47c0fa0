"""The rows program rewritten for XLA (backends/xla_rows.py): the same numbers, bit for bit, with fewer joins.

The rewrite takes columns through element-wise expressions of states joined as columns,
and stacks a small batch's inputs by one transpose; each rewritten program is run on
NumPy against the program it came from, and every form it must leave alone is left alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.backends.xla_rows import TRANSPOSED_BATCH, for_xla
from symbackprop.network import INPUT, PARAM


def _error(h, y):
    return h - y


def _shifted(h):
    return h.sum(axis=0) + h


NAMESPACE = {"_error": _error, "_shifted": _shifted}

JOINED = """def derivation_rows(v_a, v_b, v_y, batch_size):
    _t0 = np.stack([v_a, v_b], axis=2)
    g = 1.0 / batch_size
    _t1 = _error(_t0, v_y)
    _t2 = g * _t1
    p_a = _t2[..., 0:3, 0]  # via out
    p_b = -_t2[..., 0:3, 1]
    return ({}, {'a': p_a, 'b': p_b})
"""


def _run(source: str, arguments: list) -> dict:
    scope = {"np": np, **NAMESPACE}
    exec(compile(source, "<test>", "exec"), scope)
    return scope["derivation_rows"](*arguments)[1]


def _same(source: str, rewritten: str, arguments: list) -> None:
    expected, got = _run(source, arguments), _run(rewritten, arguments)
    assert set(expected) == set(got)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value)


def _joined_arguments(batch: int = 2) -> list:
    rng = np.random.default_rng(0)
    return [rng.normal(size=(batch, 3)), rng.normal(size=(batch, 3)), rng.normal(size=(batch, 3, 2)), batch]


def test_columns_of_an_elementwise_expression_of_joined_states_are_taken_from_each_state():
    rewritten = for_xla(JOINED, "", NAMESPACE, _joined_arguments(), 64)
    assert "np.stack(" not in rewritten and "_t2" not in rewritten
    assert "p_a = g * _error(v_a, v_y[..., 0:3, 0])  # via out" in rewritten
    _same(JOINED, rewritten, _joined_arguments())
    _same(JOINED, rewritten, _joined_arguments(batch=5))  # learnt on two samples, run on any batch


@pytest.mark.parametrize("change", [
    ("p_b = -_t2[..., 0:3, 1]", "p_b = -_t2[..., 0:2, 1]"),  # part of a column
    ("p_b = -_t2[..., 0:3, 1]", "p_b = np.add.reduce(_t2, 2)"),  # a reader that is not a column
    ("_t1 = _error(_t0, v_y)", "_t1 = _shifted(_t0) - v_y"),  # not element-wise
    ("_t2 = g * _t1", "_t2 = v_a[:, :, None] * _t1"),  # an operand of another shape, broadcast
    ("return ({}, {'a': p_a, 'b': p_b})", "return ({}, {'a': p_a, 'b': _t2})"),  # the expression returned
])
def test_what_is_not_a_column_of_an_elementwise_expression_is_left_alone(change):
    source = JOINED.replace(*change)
    rewritten = for_xla(source, "", NAMESPACE, _joined_arguments(), 64)
    assert "np.stack(" in rewritten
    _same(source, rewritten, _joined_arguments())


STACKED = """def derivation_rows(v_X, v_U, batch_size):
    v_x1 = v_X[..., 0:3, 1]
    v_x2 = v_X[..., 0:3, 2]
    v_x3 = v_X[..., 0:3, 3]
    _s = np.concatenate([v_x1, v_x2, v_x3], 0)  # the steps stacked
    _p = _s @ v_U.T
    return ({}, {'U': _s.T @ _p})
"""


def _stacked_arguments(batch: int = 2) -> list:
    rng = np.random.default_rng(1)
    return [rng.normal(size=(batch, 4, 5)), rng.normal(size=(2, 3)), batch]


def test_a_small_batch_stacks_its_steps_inputs_by_one_transpose():
    rewritten = for_xla(STACKED, "", {}, _stacked_arguments(), TRANSPOSED_BATCH)
    assert "_s = np.transpose(v_X[..., 0:3, 1:4], (2, 0, 1)).reshape(-1, 3)  # the steps stacked" in rewritten
    assert "v_x1" not in rewritten
    _same(STACKED, rewritten, _stacked_arguments())
    _same(STACKED, rewritten, _stacked_arguments(batch=7))


@pytest.mark.parametrize("source", [
    STACKED.replace("v_x3 = v_X[..., 0:3, 3]", "v_x3 = v_X[..., 0:3, 4]"),  # not consecutive steps
    STACKED.replace("v_x3 = v_X[..., 0:3, 3]", "v_x3 = v_X[..., 1:4, 3]"),  # other rows
])
def test_a_stacking_that_is_not_of_consecutive_columns_is_left_alone(source):
    rewritten = for_xla(source, "", {}, _stacked_arguments(), 1)
    assert "np.transpose" not in rewritten
    _same(source, rewritten, _stacked_arguments())


def test_a_larger_batch_does_not_transpose_its_inputs():
    assert for_xla(STACKED, "", {}, _stacked_arguments(), TRANSPOSED_BATCH + 1) == STACKED


APART = """def derivation_rows(v_X, v_U, batch_size):
    v_x1 = v_X[..., 0:3, 0]
    v_x2 = v_X[..., 0:3, 1]
    _s = np.concatenate([v_x1, v_x2], 0)  # the steps stacked
    _p = _s @ v_U.T  # the steps' products as one
    _t1 = _p[0 * batch_size:1 * batch_size]
    _t2 = _p[1 * batch_size:2 * batch_size]
    a1 = np.tanh(_t1)
    a2 = np.tanh(_t2)
    _g = np.concatenate([a1, a2], 0)
    g_U = _g.T @ _s  # fan-out
    g_b = np.add.reduce(_g, 0)[:, None]
    return ({}, {'U': g_U, 'b': g_b})
"""


def test_a_larger_batch_keeps_its_steps_apart():
    rewritten = for_xla(APART, "", {}, _stacked_arguments(), TRANSPOSED_BATCH + 1)
    assert "np.concatenate(" not in rewritten
    assert "_t2 = v_x2 @ v_U.T" in rewritten
    # a sum over the steps added up as each step's term is known, as a hand-written loop accumulates it
    assert rewritten.index("_g_U_0 = a1.T @ v_x1") < rewritten.index("a2 = np.tanh(_t2)")
    assert "g_U = _g_U_0 + a2.T @ v_x2  # fan-out" in rewritten
    assert "_g_b_1 = _g_b_0 + np.add.reduce(a2, 0)" in rewritten and "g_b = _g_b_1[:, None]" in rewritten
    arguments = _stacked_arguments(batch=TRANSPOSED_BATCH + 1)
    expected, got = _run(APART, arguments), _run(rewritten, arguments)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-12, atol=1e-12)


def test_a_program_of_another_form_is_left_as_it_is():
    source = STACKED.replace("    _p = _s @ v_U.T\n", "    for _ in ():\n        pass\n    _p = _s @ v_U.T\n")
    assert for_xla(source, "", {}, _stacked_arguments(), 1) == source


@pytest.mark.parametrize("batch", [1, TRANSPOSED_BATCH + 8])
def test_the_rnn_on_jax_joins_no_states_at_either_size(batch):
    pytest.importorskip("jax", reason="jax is not installed (pip install 'symbackprop[jax]')")
    import jax.numpy as jnp

    d = sbp.backprop(sbp.models.rnn(2, 3, T=4))
    rng = np.random.default_rng(5)
    values = {q.name: rng.normal(size=q.matrix_shape if q.kind == PARAM else (batch, *q.matrix_shape)) / 2
              for q in d.network.quantities(INPUT, PARAM)}
    expected = d.lambdify()(**values)
    grad = d.lambdify(backend="jax")
    got = grad(**{k: jnp.asarray(v) for k, v in values.items()})
    for name, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[name]), value, rtol=1e-12, atol=1e-12, err_msg=name)
    (function,) = grad._rows.values()
    assert "np.stack(" not in function.source
    assert ("np.transpose(v_X" in function.source) == (batch <= TRANSPOSED_BATCH)
    assert ("np.concatenate(" in function.source) == (batch <= TRANSPOSED_BATCH)


def test_one_jax_function_keeps_a_program_for_a_small_batch_and_one_for_a_larger():
    pytest.importorskip("jax", reason="jax is not installed (pip install 'symbackprop[jax]')")
    import jax.numpy as jnp

    d = sbp.backprop(sbp.models.rnn(2, 3, T=3))
    grad = d.lambdify(backend="jax")
    for batch in (4, TRANSPOSED_BATCH + 1):
        rng = np.random.default_rng(batch)
        values = {q.name: rng.normal(size=q.matrix_shape if q.kind == PARAM else (batch, *q.matrix_shape))
                  for q in d.network.quantities(INPUT, PARAM)}
        got = grad(**{k: jnp.asarray(v) for k, v in values.items()})
        expected = d.lambdify()(**values)
        for name, value in expected.items():
            np.testing.assert_allclose(np.asarray(got[name]), value, rtol=1e-12, atol=1e-12, err_msg=name)
    assert sorted(key[-1] for key in grad._rows) == [False, True]
