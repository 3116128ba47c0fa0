"""The rows program rewritten for XLA (backends/xla_rows.py): the same numbers, bit for bit, with fewer joins.

The rewrite takes columns through element-wise expressions of states joined as columns;
each rewritten program is run on NumPy against the program it came from, and every form
it must leave alone is left alone.  Whether the steps are stacked (a small batch's inputs
by one transpose) is the rows program's choice, by the batch's size, checked on the RNN.
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
    rewritten = for_xla(JOINED, "", NAMESPACE, _joined_arguments())
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
    rewritten = for_xla(source, "", NAMESPACE, _joined_arguments())
    assert "np.stack(" in rewritten
    _same(source, rewritten, _joined_arguments())


def test_a_program_of_another_form_is_left_as_it_is():
    source = JOINED.replace("    g = 1.0 / batch_size\n", "    for _ in ():\n        pass\n    g = 1.0 / batch_size\n")
    assert for_xla(source, "", NAMESPACE, _joined_arguments()) == source


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
