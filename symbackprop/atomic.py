"""Writing a file so that a failure of any kind leaves either the old file or the complete new one.

The content goes to a temporary file of a unique name in the target's folder (the same file
system, so the rename is atomic), is flushed and fsynced, and is renamed over the target.  On any
failure (a full disk, an interrupt) the temporary file is removed and the error names the target.
Two writers of the same target never share a temporary file; the last rename wins whole.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import Any

from .errors import FileWriteError

#: Bytes handed to one write call; a failure part-way through a large file is then a failure of one call.
WRITE_CHUNK = 1 << 16
#: How much of the target's name the temporary name repeats, so it stays under the usual 255-byte limit.
_NAME_KEPT = 80
_NEW_FILE_MODE = 0o666  # narrowed by the umask, as for any file the process creates


def write_atomically(path: Any, content: bytes | str, *, make_parents: bool = False) -> Path:
    """Replace ``path`` by ``content`` (text is written as UTF-8) all at once; returns the path.

    ``make_parents`` creates missing folders first.  Raises :class:`FileWriteError` naming
    ``path`` when the target is a folder or anything fails; the old file is then untouched.
    """
    target = Path(path)
    if target.is_symlink():  # the file the link points at is replaced, and the link kept
        target = target.resolve()
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if target.is_dir():
        raise FileWriteError(f"cannot write {target}: it is a folder; name a file inside it", target, errno.EISDIR)
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, data)
    except OSError as error:
        if isinstance(error, FileWriteError):
            raise
        reason = error.strerror or str(error)
        raise FileWriteError(f"cannot write {target}: {reason}; any earlier file there is unchanged",
                             target, error.errno) from None
    return target


def _replace(target: Path, data: bytes) -> None:
    temporary, descriptor = _create_temporary(target)
    try:
        try:
            _fit_mode(descriptor, target)
            view = memoryview(data)
            for start in range(0, len(view), WRITE_CHUNK):
                _write_all(descriptor, view[start:start + WRITE_CHUNK])
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    except BaseException:
        _remove_quietly(temporary)
        raise
    _sync_folder(target.parent)


def _create_temporary(target: Path) -> tuple[Path, int]:
    """A new file beside the target that no other writer can have opened (O_EXCL on a random name)."""
    while True:
        temporary = target.with_name(f".{target.name[:_NAME_KEPT]}.{secrets.token_hex(6)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return temporary, os.open(temporary, flags, _NEW_FILE_MODE)
        except FileExistsError:
            continue


def _fit_mode(descriptor: int, target: Path) -> None:
    """Keep the permissions of the file being replaced."""
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        return
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, mode)


def _write_all(descriptor: int, chunk: memoryview) -> None:
    while chunk:
        written = os.write(descriptor, chunk)
        chunk = chunk[written:]


def _remove_quietly(temporary: Path) -> None:
    try:
        temporary.unlink()
    except OSError:
        pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the system allows opening a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


__all__ = ["FileWriteError", "WRITE_CHUNK", "write_atomically"]
