"""d.lambdify(backend="jax" | "torch"): the generated program on JAX and PyTorch, against NumPy's (1e-12).

NumPy's lambdify is itself held against PyTorch's autograd elsewhere; here every kernel the
NumPy namespace can provide is ported and compared, and whole networks — both levels, a batch and
one sample, every activation and loss, and the other node types (softmax, slices, concatenation,
axis sums, broadcasting, division) — give the same gradients on every backend.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.backends import BACKENDS
from symbackprop.backends.porting import port_namespace
from symbackprop.errors import OptionError, ValueShapeError
from symbackprop.kernels import KERNELS
from symbackprop.ops import ACTIVATION_OPS, LOSS_OPS, NUMPY_KERNELS

REQUIRED = os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1"
TOLERANCE = 1e-12


def _backend(name: str):
    if REQUIRED:
        __import__(name)
    else:
        pytest.importorskip(name, reason=f"{name} is not installed (pip install 'symbackprop[{name}]')")
    from symbackprop.backends import jax_arrays, torch_arrays

    return jax_arrays.jax_backend() if name == "jax" else torch_arrays.torch_backend()


BACKEND_NAMES = [b for b in BACKENDS if b != "numpy"]


# -- every kernel -------------------------------------------------------------------------------

def _kernel_table() -> dict:
    """Every kernel the NumPy namespace can provide: helpers, functions of the records, losses."""
    table = {**KERNELS, **{n: k for n, k in NUMPY_KERNELS.items() if callable(k)}}
    try:
        from symbackprop.ops.softmax import SOFTMAX_KERNELS

        table.update(SOFTMAX_KERNELS)
    except ImportError:
        pass
    try:
        from symbackprop.tensor import indexing

        table.update({n: getattr(indexing, n) for n in ("_embed", "_concat") if hasattr(indexing, n)})
    except ImportError:
        pass
    for name, op in LOSS_OPS.items():
        table[f"_loss_{name}"] = op.numeric
        table[f"_d_{name}_d_prediction"] = op.prediction.numeric
        table[f"_d_{name}_d_target"] = op.target.numeric
    return table


def _arguments(name: str, kernel, rng: np.random.Generator) -> list:
    columns = rng.uniform(0.05, 0.95, size=(4, 3, 1))
    with_zero = np.array([[-1.5], [0.0], [np.nan], [2.0]])[None].repeat(2, axis=0)
    scalar = rng.normal(size=(4, 1, 1))
    special = {
        "_T": [rng.normal(size=(4, 3, 2))],
        "_total_of": [columns, 3], "_axis_sum": [columns, 0], "_broadcast": [scalar, 3, 2],
        "_step": [with_zero, 0.5], "_gate": [rng.normal(size=(2, 4, 1)), with_zero, 0.5],
        "_mm": [rng.normal(size=(2, 3)), columns], "_mm_t": [rng.normal(size=(3, 2)), columns],
        "_batch_sum": [columns, 4], "_outer_sum": [columns, rng.normal(size=(4, 2, 1)), 4],
        "_mm_sum": [rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 2, 3)), 4], "_mul_sum": [scalar, scalar * 2, 4],
        "_blocks": [[[scalar, scalar * 2], [scalar * 3, np.ones((1, 1))]]],
        "_embed": [scalar, 3, 2, 1, 2, 0, 1], "_concat": [0, columns[:, :2], scalar],
        "_softmax": [rng.normal(size=(4, 3, 2)), -2], "_log_softmax": [rng.normal(size=(4, 3, 2)), -1],
        "polygamma": [1, columns], "LambertW": [columns, 0], "besselj": [1, columns],
    }
    if name in special:
        return special[name]
    parameters = inspect.signature(kernel).parameters.values()
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return [columns, columns * 2, columns - 1]
    required = [p for p in parameters if p.default is p.empty]
    return [columns if k == 0 else rng.uniform(0.05, 0.95, size=(4, 3, 1)) for k in range(len(required))]


def _to(backend_name: str, value):
    if isinstance(value, list):
        return [_to(backend_name, v) for v in value]
    if not isinstance(value, np.ndarray):
        return value
    if backend_name == "jax":
        import jax.numpy as jnp

        return jnp.asarray(value)
    import torch

    return torch.tensor(value)


def _numpy(value) -> np.ndarray:
    return np.asarray(value.detach().numpy() if hasattr(value, "detach") else value, dtype=float)


def test_the_kernel_table_covers_every_name_a_program_resolves():
    names = set(_kernel_table())
    assert set(KERNELS) <= names and {n for n, k in NUMPY_KERNELS.items() if callable(k)} <= names
    assert len(names) >= len(KERNELS) + 3 * len(LOSS_OPS)


@pytest.mark.slow
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_every_kernel_has_a_counterpart_that_gives_numpys_numbers(backend_name):
    backend = _backend(backend_name)
    table = _kernel_table()
    ported = port_namespace(table, backend)
    rng = np.random.default_rng(0)
    jit = None
    if backend_name == "jax":
        import jax

        jit = jax.jit
    for name, kernel in sorted(table.items()):
        arguments = _arguments(name, kernel, rng)
        with np.errstate(all="ignore"):
            expected = np.asarray(kernel(*arguments), dtype=float)
        assert ported[name] is not kernel, name
        counterpart = ported[name]
        if jit is not None:  # under jax.jit: no value may steer the code
            arrays = [i for i, a in enumerate(arguments) if isinstance(a, (np.ndarray, list))]
            fixed = {i: a for i, a in enumerate(arguments) if i not in arrays}
            count = len(arguments)

            def traced(*values, _f=counterpart, _fixed=fixed, _n=count, _arrays=arrays):
                given = dict(zip(_arrays, values))
                return _f(*[given[i] if i in given else _fixed[i] for i in range(_n)])

            result = jit(traced)(*[_to(backend_name, arguments[i]) for i in arrays])
        else:
            result = counterpart(*[_to(backend_name, a) for a in arguments])
        got = _numpy(result)
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True, err_msg=name)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=name)


# -- whole networks ---------------------------------------------------------------------------------

def _random_values(net: sbp.Network, batch: int | None, rng: np.random.Generator, probabilities: bool) -> dict:
    values = {}
    for q in net.quantities("input", "param"):
        shape = q.matrix_shape if q.kind == "param" or batch is None else (batch, *q.matrix_shape)
        if q.name == "y" and probabilities:
            values[q.name] = rng.uniform(0.1, 0.9, size=shape)
        else:
            values[q.name] = rng.normal(size=shape) / 2
    return values


def _agree(d: sbp.Derivation, values: dict, backend_name: str) -> None:
    expected = d.lambdify()(**values)
    grad = d.lambdify(backend=backend_name)
    got = grad(**values)
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(_numpy(got[name]), value, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


ACTIVATIONS = sorted(ACTIVATION_OPS)


@pytest.mark.slow
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_on_every_backend(backend_name, level, activation):
    _backend(backend_name)
    net = sbp.mlp([3, 4, 2], activation=activation, output_activation=activation, level=level)
    d = sbp.backprop(net)
    rng = np.random.default_rng(1)
    for batch in (None, 5):
        values = _random_values(net, batch, rng, False)
        if activation in ("log", "sqrt"):  # their domain: positive pre-activations
            values = {k: np.abs(v) + 0.1 for k, v in values.items()}
        _agree(d, values, backend_name)


@pytest.mark.slow
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("loss", sorted(LOSS_OPS))
def test_every_loss_on_every_backend(backend_name, level, loss):
    _backend(backend_name)
    net = sbp.mlp([3, 4, 3], activation="tanh", output_activation="sigmoid", loss=loss, level=level)
    d = sbp.backprop(net)
    rng = np.random.default_rng(2)
    for batch in (None, 6):
        _agree(d, _random_values(net, batch, rng, True), backend_name)


def _other_nodes() -> sbp.Network:
    """Softmax along rows, slices, concatenation, axis sums and means, broadcasting, division."""
    net = sbp.Network()
    X = net.input("X", (3, 4))
    W = net.param("W", (4, 4))
    b = net.param("b", (1, 4))
    Z = net.node("Z", X @ W + b)
    A = net.node("A", sbp.softmax(Z, axis=1))
    H = net.node("H", sbp.concat([A[:, :2], Z[:, 2:] / (1 + sbp.abs(Z[:, 2:]))], axis=1))
    mu = net.node("mu", sbp.mean(H, axis=1))
    net.loss("L", sbp.total(sbp.tanh(H - mu) * H))
    return net


@pytest.mark.slow
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_softmax_slices_concatenation_and_broadcasting_on_every_backend(backend_name):
    _backend(backend_name)
    net = _other_nodes()
    d = sbp.backprop(net)
    rng = np.random.default_rng(3)
    for batch in (None, 3):
        _agree(d, _random_values(net, batch, rng, False), backend_name)


MODEL_BLOCKS = ["layer_norm", "rms_norm", "attention_head", "rnn", "swiglu_mlp", "residual_block"]


@pytest.mark.slow
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("block", MODEL_BLOCKS)
def test_the_model_blocks_on_every_backend(backend_name, block):
    _backend(backend_name)
    build = getattr(sbp.models, block, None)
    if build is None:
        pytest.skip(f"sbp.models.{block} is not part of this version")
    arguments = {"layer_norm": (3,), "rms_norm": (3,), "attention_head": (2,), "rnn": (2, 2, 3),
                 "swiglu_mlp": (2, 3), "residual_block": (2,)}[block]
    net = build(*arguments)
    d = sbp.backprop(net)
    rng = np.random.default_rng(4)
    for batch in (None, 3):
        _agree(d, _random_values(net, batch, rng, False), backend_name)


# -- how the functions behave ------------------------------------------------------------------------

@pytest.mark.slow
def test_jax_gives_a_jit_compiled_function_of_jax_arrays():
    _backend("jax")
    import jax
    import jax.numpy as jnp

    d = sbp.backprop(sbp.mlp([3, 4, 1]))
    grad = d.lambdify(backend="jax")
    rng = np.random.default_rng(5)
    values = {k: jnp.asarray(v) for k, v in _random_values(d.network, 8, rng, False).items()}
    got = grad(**values)
    assert all(isinstance(v, jax.Array) and v.dtype == jnp.float64 for v in got.values())
    assert hasattr(grad.function, "lower")  # jax.jit's compiled function
    again = jax.jit(grad.gradients)(**values)  # inside a caller's own jit too
    for name in got:
        np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(again[name]))


@pytest.mark.slow
def test_torch_compile_takes_the_torch_function():
    _backend("torch")
    import torch

    d = sbp.backprop(sbp.mlp([3, 4, 2], activation="tanh", loss="mse"))
    grad = d.lambdify(backend="torch")
    rng = np.random.default_rng(6)
    values = {k: torch.tensor(v) for k, v in _random_values(d.network, 8, rng, False).items()}
    eager = grad(**values)
    assert all(v.dtype == torch.float64 for v in eager.values())
    compiled = torch.compile(grad.gradients, backend="eager", fullgraph=True)
    got = compiled(**values)
    for name in eager:
        np.testing.assert_allclose(got[name].numpy(), eager[name].numpy(), rtol=TOLERANCE, atol=TOLERANCE)


def test_an_unknown_backend_and_a_misshapen_value_are_typed_errors():
    d = sbp.backprop(sbp.mlp([3, 4, 1]))
    with pytest.raises(OptionError, match="backend must be one of 'numpy', 'jax', 'torch', not 'tensorflow'"):
        d.lambdify(backend="tensorflow")
    for name in BACKEND_NAMES:
        if not REQUIRED and importlib_missing(name):
            continue
        grad = d.lambdify(backend=name)
        values = _random_values(d.network, None, np.random.default_rng(0), False)
        values["W1"] = np.ones((3, 4))
        with pytest.raises(ValueShapeError, match=r"param 'W1' has shape \(3, 4\); expected shape \(4, 3\)"):
            grad(**values)


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("axis", [0, 1])
def test_class_indices_on_every_backend(backend_name, axis):
    _backend(backend_name)
    net = sbp.Network()
    shape, targets = ((5, 4), (1, 4)) if axis == 0 else ((4, 5), (4, 1))
    x = net.input("X", (shape[0], 3) if axis == 1 else (3, shape[1]))
    w = net.param("W", (3, shape[1]) if axis == 1 else (shape[0], 3))
    y = net.input("y", targets)
    z = net.node("Z", x @ w if axis == 1 else w @ x)
    net.loss("L", sbp.cross_entropy(z, y, axis=axis))
    d = sbp.backprop(net)
    rng = np.random.default_rng(5)
    for batch in (None, 3):
        leading = () if batch is None else (batch,)
        values = {"X": rng.normal(size=leading + x.shape), "W": rng.normal(size=w.shape),
                  "y": rng.integers(0, 5, size=leading + targets)}
        _agree(d, values, backend_name)
