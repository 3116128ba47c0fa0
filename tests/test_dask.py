"""sbp.dask_gradients: the batch-mean gradient over chunked Dask arrays, against the in-memory result (1e-12).

The in-memory result is d.lambdify() on the whole batch, itself held against PyTorch elsewhere;
here blocks of unequal size must weigh what their samples weigh, on Dask's local schedulers and on
a distributed LocalCluster of two workers.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import ExtraValueError, MissingValueError, ValuesError, ValueShapeError

if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
    import dask.array as da
else:
    da = pytest.importorskip("dask.array", reason="Dask is not installed (pip install 'symbackprop[dask]')")

TOLERANCE = 1e-12


def _case(level: str = "vector", samples: int = 50, seed: int = 0):
    net = sbp.mlp([3, 4, 2], activation="tanh", output_activation="sigmoid", loss="mse", level=level)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(samples, 3)), rng.uniform(size=(samples, 2))
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=(4, 1)),
              "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=(2, 1))}
    d = sbp.backprop(net)
    return d, x, y, params, d.lambdify()(x=x, y=y, **params)


def _agree(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert isinstance(got[name], np.ndarray) and got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name], value, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
def test_unequal_chunks_on_the_local_schedulers(level, scheduler):
    d, x, y, params, expected = _case(level)
    data = {"x": da.from_array(x, chunks=((10, 25, 15), (3,))), "y": da.from_array(y, chunks=(7, 2))}
    _agree(sbp.dask_gradients(d, data, params, scheduler=scheduler), expected)


def test_one_block_and_blocks_of_one_sample():
    d, x, y, params, expected = _case(samples=5)
    _agree(sbp.dask_gradients(d, {"x": da.from_array(x), "y": da.from_array(y)}, params, scheduler="sync"),
           expected)
    _agree(sbp.dask_gradients(d, {"x": da.from_array(x, chunks=1), "y": da.from_array(y, chunks=1)}, params,
                              scheduler="sync"), expected)


def test_a_scalar_target_and_samples_as_columns():
    net = sbp.mlp([3, 4, 1], activation="tanh")
    d = sbp.backprop(net)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=(4, 1)),
              "W2": rng.normal(size=(1, 4)), "b2": rng.normal(size=(1, 1))}
    expected = d.lambdify()(x=x, y=y, **params)
    data = {"x": da.from_array(x.reshape(30, 3, 1), chunks=(8, 3, 1)), "y": da.from_array(y, chunks=11)}
    _agree(sbp.dask_gradients(d, data, params, scheduler="sync"), expected)


@pytest.mark.slow
def test_a_distributed_cluster_of_two_workers():
    distributed = pytest.importorskip("distributed", reason="distributed is not installed") \
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") != "1" else __import__("distributed")
    d, x, y, params, expected = _case(samples=200)
    data = {"x": da.from_array(x, chunks=((60, 40, 70, 30), (3,))), "y": da.from_array(y, chunks=(45, 2))}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got = sbp.dask_gradients(d, data, params)  # the active client's scheduler, nothing passed
    _agree(got, expected)


def test_bad_data_and_parameters_are_typed_errors():
    d, x, y, params, _ = _case(samples=10)
    data = {"x": da.from_array(x), "y": da.from_array(y)}
    with pytest.raises(MissingValueError, match="params is missing values for 'b2'"):
        sbp.dask_gradients(d, data, {k: v for k, v in params.items() if k != "b2"})
    with pytest.raises(ExtraValueError, match=r"data gives values for names that are not its inputs: \['W1'\]"):
        sbp.dask_gradients(d, {**data, "W1": da.from_array(params["W1"])}, params)
    with pytest.raises(ValueShapeError, match=r"data\['x'\] has shape \(10, 4\); expected \(samples, 3, 1\)"):
        sbp.dask_gradients(d, {**data, "x": da.from_array(np.ones((10, 4)))}, params)
    with pytest.raises(ValueShapeError, match=r"inputs disagree about the number of samples \(x: 10, y: 9\)"):
        sbp.dask_gradients(d, {**data, "y": da.from_array(y[:9])}, params)
    with pytest.raises(ValueShapeError, match="param 'W1' has shape"):
        sbp.dask_gradients(d, data, {**params, "W1": np.ones((3, 4))})
    with pytest.raises(ValuesError, match=r"data\['x'\] must be a dask array"):
        sbp.dask_gradients(d, {**data, "x": x}, params)
