"""JAX and torch run a batch through the rows program: NumPy's numbers (1e-12), the general program kept as fallback.

The rows program (samples as rows, one GEMM per layer, the steps that share a weight
stacked) is learnt from NumPy arrays of the call's shapes and run in the backend's
namespace.  Each network is compared with ``d.lambdify()`` on NumPy, and the
multilayer perceptron with torch's autograd as well; a batch of five, a batch of one
and one sample without a batch axis (run as a batch of one after the first calls).
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.compiled_gradient import CALLS_BEFORE_ROWS, fast_function
from symbackprop.network import INPUT, PARAM

BACKEND_NAMES = ["jax", "torch"]
TOLERANCE = 1e-12


def _backend(name: str):
    return pytest.importorskip(name, reason=f"{name} is not installed (pip install 'symbackprop[{name}]')")


def _to(backend_name: str, value: np.ndarray):
    if backend_name == "jax":
        import jax.numpy as jnp

        return jnp.asarray(value)
    import torch

    return torch.as_tensor(value)


def _values(net: sbp.Network, batch: int | None, rng: np.random.Generator, indices: dict | None = None) -> dict:
    indices = indices or {}
    values = {}
    for q in net.quantities(INPUT, PARAM):
        shape = q.matrix_shape if q.kind == PARAM or batch is None else (batch, *q.matrix_shape)
        values[q.name] = rng.integers(0, indices[q.name], size=shape) if q.name in indices else \
            rng.normal(size=shape) / 2
    return values


def _rows_built(grad) -> bool:
    return any(function is not grad._derivation for function in grad._rows.values())


def _agree(d: sbp.Derivation, values: dict, backend_name: str) -> object:
    """The backend's gradients against NumPy's, on the calls before the rewrite and the one after it."""
    _backend(backend_name)
    expected = d.lambdify()(**values)
    grad = d.lambdify(backend=backend_name)
    given = {k: _to(backend_name, v) for k, v in values.items()}
    for _ in range(CALLS_BEFORE_ROWS + 1):
        got = grad(**given)
        assert set(got) == set(expected)
        for name, value in expected.items():
            np.testing.assert_allclose(np.asarray(got[name]), value, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)
    return grad


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("batch", [None, 1, 5])
def test_an_mlp_runs_as_rows(backend_name, activation, batch):
    d = sbp.backprop(sbp.mlp([3, 5, 4, 2], activation=activation))
    grad = _agree(d, _values(d.network, batch, np.random.default_rng(0)), backend_name)
    assert _rows_built(grad)
    (function,) = [f for f in grad._rows.values()]
    assert "v_x @ v_W1.T" in function.source and "_mm(" not in function.source


def _classifier() -> sbp.Network:
    net = sbp.Network()
    x = net.input("x", (3, 1))
    y = net.input("y", (1, 1))
    w, b = net.param("W", (4, 3)), net.param("b", (4, 1))
    h = net.node("h", sbp.relu(w @ x + b))
    v = net.param("V", (5, 4))
    net.loss("L", sbp.cross_entropy(net.node("z", v @ h), y, axis=0))
    return net


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("batch", [None, 1, 5])
def test_cross_entropy_with_class_indices(backend_name, batch):
    net = _classifier()
    d = sbp.backprop(net)
    grad = _agree(d, _values(net, batch, np.random.default_rng(1), indices={"y": 5}), backend_name)
    assert _rows_built(grad)


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("batch", [None, 1, 5])
def test_the_rnn_stacks_its_steps(backend_name, batch):
    d = sbp.backprop(sbp.models.rnn(2, 3, T=4))
    grad = _agree(d, _values(d.network, batch, np.random.default_rng(2)), backend_name)
    (function,) = [f for f in grad._rows.values()]
    # the x of every step, stacked once for U's products and its gradient (as X transposed, one copy), b added to
    # them once; the dz, shared by W, U and b; the h (on JAX the states never joined as columns: xla_rows.py)
    assert function.source.count("np.concatenate(") == 2
    assert "_stacked0 = np.transpose(v_X[..., 0:2, 0:4], (2, 0, 1)).reshape(-1, 2)" in function.source
    assert "_stacked0 @ v_U.T + v_b.T" in function.source and "g_U = _stacked1.T @ _stacked0" in function.source
    assert "v_X[..., 0:2, 0]" not in function.source  # no view of a step's column left
    if backend_name == "jax":
        assert "np.stack(" not in function.source
    assert "g_W = _stacked1.T @ _stacked2" in function.source and "np.add.reduce(_stacked1, 0)" in function.source
    assert "_transposed_v_W = v_W.T" in function.source  # read at every step: transposed once


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("batch", [None, 1, 5])
def test_swiglu(backend_name, batch):
    d = sbp.backprop(sbp.models.swiglu_mlp(2, 3))
    assert _rows_built(_agree(d, _values(d.network, batch, np.random.default_rng(3)), backend_name))


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("block, arguments", [("rms_norm", (3,)), ("layer_norm", (3,)), ("attention_head", (2,))])
@pytest.mark.parametrize("batch", [None, 5])
def test_matrix_input_blocks_keep_the_general_program(backend_name, block, arguments, batch):
    """Their rewrite writes no product for the rows: the general program, as fast, runs them."""
    d = sbp.backprop(getattr(sbp.models, block)(*arguments))
    grad = _agree(d, _values(d.network, batch, np.random.default_rng(4)), backend_name)
    assert not _rows_built(grad)


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("batch", [1, 5])
def test_a_scalar_level_mlp_runs_its_grouped_program(backend_name, batch):
    d = sbp.backprop(sbp.mlp([2, 3, 2], activation="tanh", level="scalar"))
    grad = _agree(d, _values(d.network, batch, np.random.default_rng(5)), backend_name)
    (function,) = [f for f in grad._rows.values()]
    assert function.__name__ == "derivation_grouped"


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_a_rewrite_without_a_rule_falls_back_to_the_general_program(backend_name, monkeypatch):
    monkeypatch.setattr(sbp.numeric.Program, "rows_function", lambda *arguments, **options: None)
    d = sbp.backprop(sbp.mlp([3, 4, 2]))
    for batch in (None, 5):
        grad = _agree(d, _values(d.network, batch, np.random.default_rng(6)), backend_name)
        assert not _rows_built(grad)


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_nan_falls_where_numpy_puts_it(backend_name):
    """ReLU′'s gate keeps a NaN of its input (torch's own heaviside would give 0 there)."""
    _backend(backend_name)
    d = sbp.backprop(sbp.mlp([2, 3, 2]))
    values = _values(d.network, 4, np.random.default_rng(7))
    values["x"][0, 0] = np.nan
    expected = d.lambdify(check=False)(**values)
    got = d.lambdify(backend=backend_name)(**{k: _to(backend_name, v) for k, v in values.items()})
    for name, value in expected.items():
        np.testing.assert_array_equal(np.isnan(np.asarray(got[name])), np.isnan(value), err_msg=name)
        np.testing.assert_allclose(np.asarray(got[name]), value, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True)


@pytest.mark.parametrize("network", ["mlp", "rnn", "classifier", "scalar"])
def test_the_rewrite_learns_from_axes_not_numbers(network):
    """Random numbers (zeros for class indices) of the call's shapes give the rewrite the call's own arrays give."""
    from symbackprop.backends.rows import learning_arrays

    net = {"mlp": lambda: sbp.mlp([3, 4, 2]), "rnn": lambda: sbp.models.rnn(2, 3, T=3),
           "classifier": lambda: _classifier(),
           "scalar": lambda: sbp.mlp([2, 3, 1], level="scalar")}[network]()
    d = sbp.backprop(net)
    grad = d.lambdify()
    own, batch_size = grad._values.arguments(_values(net, 6, np.random.default_rng(8), indices={"y": 5}))
    learnt = learning_arrays(d, [a.shape for a in own])
    sources = [fast_function(d, grad.program, arguments, batch_size, traced=True).source
               for arguments in (own, learnt)]
    assert sources[0] == sources[1]


def test_the_mlp_on_torch_matches_autograd():
    torch = _backend("torch")
    from torch import nn

    from symbackprop.torch_bridge import from_torch, torch_parameter_names

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    net, parameters = from_torch(model, loss="mse")
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    grad = sbp.backprop(net).lambdify(backend="torch")
    got = grad(**{k: torch.as_tensor(v) for k, v in {**parameters, "x": x, "y": y}.items()})
    assert _rows_built(grad)
    model.zero_grad()
    ((model(torch.as_tensor(x)) - torch.as_tensor(y)) ** 2).mean().backward()
    for torch_name, ours in torch_parameter_names(model).items():
        expected = dict(model.named_parameters())[torch_name].grad.numpy()
        np.testing.assert_allclose(got[ours].numpy().reshape(expected.shape), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # torch.compile's first trace takes seconds
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_the_rows_program_is_traced_whole(backend_name):
    """jax.jit of the call takes the rows program; so does torch.compile with fullgraph (no branch on numbers)."""
    _backend(backend_name)
    d = sbp.backprop(sbp.models.rnn(2, 3, T=3))
    values = {k: _to(backend_name, v) for k, v in _values(d.network, 5, np.random.default_rng(10)).items()}
    grad = d.lambdify(backend=backend_name)
    eager = grad(**values)
    if backend_name == "jax":
        import jax

        again = jax.jit(grad.gradients)(**values)
    else:
        import torch

        again = torch.compile(grad.gradients, backend="eager", fullgraph=True)(**values)
    assert _rows_built(grad)
    for name in eager:
        np.testing.assert_allclose(np.asarray(again[name]), np.asarray(eager[name]), rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_sigmoid_in_one_pass_gives_the_stable_forms_numbers(backend_name):
    """Each backend's own σ (one pass) against NumPy's stable form, from tail to tail (NaN kept)."""
    _backend(backend_name)
    from symbackprop.backends import jax_arrays, torch_arrays
    from symbackprop.ops.activations import stable_sigmoid

    backend = jax_arrays.jax_backend() if backend_name == "jax" else torch_arrays.torch_backend()
    z = np.concatenate([np.linspace(-708.0, 708.0, 4001), [-np.inf, np.inf, 0.0, np.nan]])
    got = np.asarray(backend.replaced["stable_sigmoid"](_to(backend_name, z)))
    expected = stable_sigmoid(z.copy())
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0, equal_nan=True)
