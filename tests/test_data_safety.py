"""Nothing the library or the command writes is ever lost half-way: every file is replaced whole or not at all.

Faults are made real where the system allows (a file-size limit makes the kernel refuse a write part-way,
as a full disk does) and otherwise by making a write call fail part-way through the file.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop import atomic
from symbackprop.graph import write_graph
from symbackprop.reference import reference_network, reference_values

ROOT = Path(__file__).resolve().parent.parent
OLD = "the old document, which must survive\n"


def fail_part_way(monkeypatch: pytest.MonkeyPatch, after_calls: int = 2,
                  error: BaseException | None = None) -> None:
    """Writes go through in 64-byte calls; the call after ``after_calls`` writes half its bytes and fails."""
    calls = {"n": 0}
    write_all = atomic._write_all

    def failing(descriptor: int, chunk: memoryview) -> None:
        calls["n"] += 1
        if calls["n"] > after_calls:
            os.write(descriptor, chunk[: len(chunk) // 2])
            raise error or OSError(errno.ENOSPC, "No space left on device")
        write_all(descriptor, chunk)

    monkeypatch.setattr(atomic, "WRITE_CHUNK", 64)
    monkeypatch.setattr(atomic, "_write_all", failing)


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def derivation():
    return sbp.backprop(reference_network())


@pytest.mark.parametrize("name", ["out.md", "out.tex", "out.html"])
def test_a_document_write_that_fails_part_way_leaves_the_old_document(tmp_path, monkeypatch, derivation, name):
    target = tmp_path / name
    target.write_text(OLD, encoding="utf-8")
    fail_part_way(monkeypatch)
    with pytest.raises(sbp.FileWriteError) as caught:
        derivation.write(target, reference_values())
    assert target.read_text(encoding="utf-8") == OLD
    assert folder_listing(tmp_path) == [name]
    message = str(caught.value)  # names the document, or the plot a .tex document puts beside itself first
    assert message.startswith(f"cannot write {tmp_path / target.stem}") and "No space left" in message
    assert ".tmp" not in message
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.ENOSPC


@pytest.mark.parametrize("name", ["g.dot", "g.svg"])
def test_a_graph_write_that_fails_part_way_leaves_the_old_graph(tmp_path, monkeypatch, name):
    if name.endswith(".svg") and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    target = tmp_path / name
    target.write_text(OLD, encoding="utf-8")
    fail_part_way(monkeypatch)
    with pytest.raises(sbp.FileWriteError) as caught:
        write_graph(reference_network(), target)
    assert target.read_text(encoding="utf-8") == OLD
    assert folder_listing(tmp_path) == [name]
    assert str(target) in str(caught.value) and ".tmp" not in str(caught.value)


def test_an_interrupt_part_way_removes_the_temporary_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "out.md"
    target.write_text(OLD, encoding="utf-8")
    fail_part_way(monkeypatch, error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        atomic.write_atomically(target, "x" * 1000)
    assert target.read_text(encoding="utf-8") == OLD
    assert folder_listing(tmp_path) == ["out.md"]


def test_a_complete_write_replaces_the_file_and_leaves_nothing_else(tmp_path, derivation):
    target = tmp_path / "out.md"
    target.write_text(OLD, encoding="utf-8")
    derivation.write(target, reference_values())
    assert target.read_text(encoding="utf-8") == derivation.to_markdown(reference_values())
    assert folder_listing(tmp_path) == ["out.md"]


def test_a_new_file_gets_the_usual_permissions_and_a_replaced_file_keeps_its_own(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    fresh = atomic.write_atomically(tmp_path / "fresh.md", "text")
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask
    kept = tmp_path / "kept.md"
    kept.write_text(OLD, encoding="utf-8")
    kept.chmod(0o640)
    atomic.write_atomically(kept, "new text")
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text(encoding="utf-8") == "new text"


def test_a_symbolic_link_keeps_pointing_at_the_file_it_named(tmp_path):
    real = tmp_path / "real.md"
    real.write_text(OLD, encoding="utf-8")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    atomic.write_atomically(link, "new text")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new text"
    assert folder_listing(tmp_path) == ["link.md", "real.md"]


def test_a_folder_as_the_target_is_a_clear_error_and_is_left_alone(tmp_path, derivation):
    folder = tmp_path / "o.md"
    folder.mkdir()
    with pytest.raises(sbp.FileWriteError, match="is a folder"):
        derivation.write(folder)
    assert folder_listing(tmp_path) == ["o.md"] and folder_listing(folder) == []


def at_once(calls: list) -> list[BaseException]:
    """Run the calls in threads released together; the errors they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(call) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - collected and asserted on by the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_writers_of_the_same_file_at_once_never_collide(tmp_path):
    target = tmp_path / "out.md"
    contents = [f"writer {i}\n" * 20000 for i in range(8)]
    for _ in range(5):
        assert at_once([functools.partial(atomic.write_atomically, target, c) for c in contents]) == []
        assert target.read_text(encoding="utf-8") in contents
        assert folder_listing(tmp_path) == ["out.md"]


def test_plot_gradient_flow_replaces_its_picture_whole(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    d = sbp.backprop(reference_network())
    report = d.gradient_flow(reference_values())
    target = tmp_path / "flow.png"
    target.write_bytes(b"old picture")
    fail_part_way(monkeypatch)
    with pytest.raises(sbp.FileWriteError):
        sbp.plot_gradient_flow(report, target)
    assert target.read_bytes() == b"old picture" and folder_listing(tmp_path) == ["flow.png"]


# -- the command line, with the kernel refusing writes past a size as on a full disk ---------------


def run_with_file_size_limit(args: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess:
    resource = pytest.importorskip("resource")
    import signal

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "symbackprop", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=limit_file_size)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["derive", "-o", "out.md"], ["graph", "-o", "out.dot"]])
def test_the_command_on_a_full_disk_keeps_the_old_file_and_says_so_in_one_line(tmp_path, command):
    target = tmp_path / command[-1]
    target.write_text(OLD, encoding="utf-8")
    result = run_with_file_size_limit(command, tmp_path, limit=200)
    assert result.returncode == 2
    assert target.read_text(encoding="utf-8") == OLD
    assert folder_listing(tmp_path) == [target.name]
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"symbackprop: error: cannot write {target.name}: File too large")
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr and ".tmp" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["derive", "-o", "o.md"], ["graph", "-o", "o.dot"]])
def test_the_command_refuses_a_folder_as_its_output(tmp_path, command):
    (tmp_path / command[-1]).mkdir()
    result = run_with_file_size_limit(command, tmp_path, limit=1 << 30)
    assert result.returncode == 2
    folder = command[-1]
    assert result.stderr == f"symbackprop: error: -o {folder}: that is a folder; name the file to write inside it\n"
    assert folder_listing(tmp_path) == [command[-1]] and folder_listing(tmp_path / command[-1]) == []


# -- the command's reader going away, and the caller's arrays -------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", [["check"], ["derive", "--format", "md"], ["graph"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path, command):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", *command], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # as `| head -1` does once it has its line, here before any output is written
    stderr = process.stderr.read().decode("utf-8")
    assert process.wait(timeout=300) == 141  # as a command ended by SIGPIPE
    assert stderr == ""


def test_an_evaluation_never_shares_memory_with_the_callers_arrays(derivation):
    values = {name: np.array(value, dtype=float) for name, value in reference_values().items()}
    values = {name: value.reshape(-1, 1) if value.ndim == 1 else value for name, value in values.items()}
    before = {name: value.copy() for name, value in values.items()}
    evaluation = derivation.evaluate(values)
    for result in (evaluation.forward, evaluation.grad):
        for name, array in result.items():
            assert not any(np.shares_memory(np.asarray(array), value) for value in values.values()), name
            np.asarray(array)[...] = 7.0  # the caller's arrays stay as they were
    for name, value in values.items():
        np.testing.assert_array_equal(value, before[name])
