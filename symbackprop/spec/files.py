"""Reading a spec or values file: bounded in size, UTF-8, TOML or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import SpecError

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None  # type: ignore[assignment]

__all__ = ["parse_json", "parse_toml", "read_text"]


def read_text(path: Path, limit: int) -> str:
    """The file's text; at most ``limit`` bytes are read, so a hostile file cannot make the parsers work hard."""
    # OSError (missing file, permissions, a directory) reaches the caller unchanged:
    # its message already names the file.
    with open(path, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise SpecError(f"{path}: the file is larger than {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise SpecError("reading TOML on Python 3.10 needs the 'tomli' package: pip install tomli")
    return _decoded(_toml.loads, _toml.TOMLDecodeError, "TOML", text, source)


def parse_json(text: str, source: str) -> Any:
    return _decoded(json.loads, json.JSONDecodeError, "JSON", text, source)


def _decoded(loads: Callable[[str], Any], decode_error: type[Exception], language: str, text: str, source: str) -> Any:
    try:
        return loads(text)
    except decode_error as error:
        raise SpecError(f"{source}: not valid {language}: {error}") from None
    except RecursionError:
        raise SpecError(f"{source}: not valid {language}: nested too deeply") from None
