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


# -- the batch program of d.lambdify() on each block, and the blocks' sizes ---------------------------------


def _classifier():
    """Class indices as integers: cross-entropy of a column of logits against the index of its class."""
    net = sbp.Network()
    x, k = net.input("x", (4, 1)), net.input("k")
    w1, b1 = net.param("W1", (8, 4)), net.param("b1", (8, 1))
    w2, b2 = net.param("W2", (3, 8)), net.param("b2", (3, 1))
    h = net.node("h", sbp.relu(w1 @ x + b1))
    net.loss("L", sbp.cross_entropy(net.node("z", w2 @ h + b2), k))
    return net


def _network_case(net, samples, seed=3):
    rng = np.random.default_rng(seed)
    data = {}
    for q in net.quantities("input"):
        if q.name == "k":
            data[q.name] = rng.integers(0, 3, size=samples)
        else:
            rows, columns = q.matrix_shape
            data[q.name] = rng.normal(size=(samples, rows) if columns == 1 and rows > 1 else (samples,))
    params = {q.name: rng.normal(size=q.matrix_shape) / 2 for q in net.params}
    d = sbp.backprop(net)
    return d, data, params, d.lambdify()(**data, **params)


@pytest.mark.parametrize("net", [sbp.mlp([8, 16, 16, 1]), sbp.mlp([5, 7, 3], activation="tanh", loss="mse"),
                                 _classifier()], ids=["relu-mlp", "tanh-mse", "class-indices"])
@pytest.mark.parametrize("chunks,block_size", [((100, 1, 299, 600), None), (((37,) * 27 + (1,)), None),
                                               ((250,) * 4, 300), ((1000,), None), ((3,) * 333 + (1,), "chunks")],
                         ids=["uneven", "small-chunks", "explicit-blocks", "one-block", "one-task-per-chunk"])
def test_the_batch_program_on_blocks_gives_lambdifys_batch_mean(net, chunks, block_size):
    d, data, params, expected = _network_case(net, 1000)
    arrays = {name: da.from_array(value, chunks=(chunks, *value.shape[1:])) for name, value in data.items()}
    _agree(sbp.dask_gradients(d, arrays, params, block_size=block_size, scheduler="sync"), expected)


def test_each_block_runs_lambdifys_direct_program_and_a_rank_3_network_its_samples():
    from symbackprop.backends.block_program import shipped_program

    d = sbp.backprop(sbp.mlp([8, 16, 16, 1]))
    params = {q.name: np.ones(q.matrix_shape) for q in d.network.params}
    program = shipped_program(d, params, {"x": (8, 1), "y": (1, 1)}, by_sample=False)
    assert program.function == "derivation_rows_direct" and program.trailing == {"x": (8,), "y": (1,)}
    assert program.slice_size == 1024  # its widest value, 16 numbers a sample, within 128 KiB
    scope = dict(program.constants)
    exec(compile(program.text, "shipped", "exec"), scope)  # a module of its own: nothing but NumPy imported
    assert callable(scope[program.function])
    general = shipped_program(d, params, {"x": (8, 1), "y": (1, 1)}, by_sample=True)
    assert general.function == "derivation" and general.slice_size == 1


def test_an_rnns_blocks_run_its_steps_one_by_one_as_a_large_batch_does():
    """A slice holds hundreds of samples: the program of a large batch, not the stacked one of a small batch."""
    from symbackprop.backends.block_program import shipped_program

    net = sbp.models.rnn(2, 3, T=4)
    d = sbp.backprop(net)
    rng = np.random.default_rng(5)
    params = {q.name: rng.normal(size=q.matrix_shape) / 2 for q in net.params}
    features = {q.name: q.matrix_shape for q in net.quantities("input")}
    program = shipped_program(d, params, features, by_sample=False)
    assert program.function == "derivation_rows_direct" and "the steps stacked" not in program.text
    data = {name: rng.normal(size=(600, *shape)) for name, shape in features.items()}
    expected = d.lambdify()(**data, **params)
    arrays = {name: da.from_array(value, chunks=((100, 1, 499), *value.shape[1:])) for name, value in data.items()}
    _agree(sbp.dask_gradients(d, arrays, params, scheduler="sync"), expected)


def test_a_worker_compiles_each_program_once():
    from symbackprop.backends import block_program

    d, x, y, params, expected = _case(samples=40)
    data = {"x": da.from_array(x, chunks=10), "y": da.from_array(y, chunks=10)}
    _agree(sbp.dask_gradients(d, data, params, scheduler="sync", block_size="chunks"), expected)
    compiled = dict(block_program._COMPILED)
    _agree(sbp.dask_gradients(d, data, params, scheduler="sync", block_size="chunks"), expected)
    assert block_program._COMPILED == compiled


def test_chunks_join_the_block_their_first_sample_falls_in():
    from symbackprop.backends.blockwise import _groups

    assert _groups((10, 10, 10, 10, 5), 20) == [(0, 2), (2, 4), (4, 5)]
    assert _groups((10, 10, 10, 10, 5), 25) == [(0, 3), (3, 5)]
    assert _groups((50, 3, 3), 20) == [(0, 1), (1, 3)]  # a chunk larger than a block is taken whole
    assert _groups((4, 4), "chunks") == [(0, 1), (1, 2)]
    assert _groups((4, 4), 1) == [(0, 1), (1, 2)]


def test_the_chosen_blocks_hold_a_tasks_work_and_are_a_multiple_of_the_workers():
    from symbackprop.backends.blockwise import TASK_BYTES, TASK_SECONDS, _chosen_block_size

    per_sample = TASK_SECONDS / 250_000  # a task's work is 250,000 samples
    assert _chosen_block_size(per_sample, 100, 10 ** 6, 1) == 250_000
    assert _chosen_block_size(per_sample, 100, 10 ** 6, 3) == 166_667  # 6 tasks, not 4
    assert _chosen_block_size(per_sample, 100, 10 ** 5, 2) == 10 ** 5  # too little work to split
    assert _chosen_block_size(per_sample, TASK_BYTES // 1000, 10 ** 6, 1) == 1000  # held to TASK_BYTES


@pytest.mark.parametrize("count, chunk, workers, expected", [
    (32, 8192, 2, 2 * 8192),  # 2.7 chunks of work: 2 a task, 16 tasks (3 would make 11, the last worker alone)
    (128, 65536, 2, 16 * 65536),  # 17 of work: 16 a task, 8 tasks of equal work
    (32, 8192, 3, None),  # no whole number of chunks makes a multiple of 3 tasks: blocks of samples, as before
])
def test_chunks_of_one_size_are_grouped_a_whole_number_at_a_time(count, chunk, workers, expected):
    from symbackprop.backends.blockwise import TASK_SECONDS, _chosen_block_size, _groups

    per_sample = TASK_SECONDS / (2.72 * chunk if count == 32 else 17 * chunk)
    chunks = (chunk,) * count
    size = _chosen_block_size(per_sample, 100, count * chunk, workers, chunks)
    groups = _groups(chunks, size)
    if expected is None:
        assert size == _chosen_block_size(per_sample, 100, count * chunk, workers)
    else:
        assert size == expected and len(groups) % workers == 0
        assert {last - first for first, last in groups} == {expected // chunk}


def test_a_scalar_level_network_runs_its_grouped_program():
    d, x, y, params, expected = _case("scalar", samples=30)
    data = {"x": da.from_array(x, chunks=7), "y": da.from_array(y, chunks=7)}
    _agree(sbp.dask_gradients(d, data, params, scheduler="sync"), expected)


def test_a_bad_block_size_is_a_typed_error():
    d, x, y, params, _ = _case(samples=10)
    data = {"x": da.from_array(x), "y": da.from_array(y)}
    for bad in (0, -5, 2.5, True, "rows"):
        with pytest.raises(ValuesError, match="block_size must be a positive number of samples"):
            sbp.dask_gradients(d, data, params, block_size=bad, scheduler="sync")
