"""Loading NET: the reference network, a spec file (read, never run), or a Python file (run: it is
the user's own program), and the values to evaluate it at."""

from __future__ import annotations

import argparse
import runpy
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CommandError, UserCodeError
from .messages import say


@dataclass(frozen=True)
class LoadedNet:
    network: Any
    values: dict[str, Any] | None
    batch: bool
    name: str


def load_net(target: str | None, *, level: str = "vector") -> LoadedNet:
    """The network NET names (the reference network when None), with the values it carries."""
    import symbackprop as sbp

    if target is None:
        network = sbp.reference_network() if level == "vector" else sbp.mlp([2, 2, 1], level="scalar")
        return LoadedNet(network, sbp.reference_values(), False, say("reference"))
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        from ..spec import load_spec

        spec = load_spec(path, level=level)
        return LoadedNet(spec.network, spec.values, spec.batch, path.name)
    if suffix == ".py":
        if level != "vector":
            raise CommandError(say("net.level", net=target))
        return load_python(path)
    raise CommandError(say("net.kind", net=target))


def load_python(path: Path) -> LoadedNet:
    """Run a Python NET file and take ``net``, ``values`` and ``batch`` from it."""
    from ..network import Network

    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    # The file is the user's own program: it runs as Python, with its folder importable,
    # but not as __main__, so a script's "write my documents" block stays quiet.
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        namespace = runpy.run_path(str(path), run_name="__symbackprop__")
    except (Exception, SystemExit) as error:
        where = _user_frame(error, path)
        raise UserCodeError(f"{path}{where}: {type(error).__name__}: {error}") from error
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    network = namespace.get("net")
    if not isinstance(network, Network):
        found = say("net.found_nothing") if network is None else say("net.found", kind=type(network).__name__)
        raise CommandError(say("net.missing", path=path, found=found))
    values = namespace.get("values")
    if values is not None and not isinstance(values, Mapping):
        raise CommandError(say("net.values_type", path=path, kind=type(values).__name__))
    return LoadedNet(network, dict(values) if values is not None else None, bool(namespace.get("batch", False)),
                     path.name)


def _user_frame(error: BaseException, path: Path) -> str:
    """', line N' for the deepest traceback frame inside the user's file."""
    line = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if Path(frame.f_code.co_filename).resolve() == path.resolve():
            line = lineno
    return f", line {line}" if line else ""


def values_for(args: argparse.Namespace, loaded: LoadedNet) -> dict[str, Any] | None:
    """The values a command evaluates at: --values, else NET's own; None with --no-values."""
    from ..values import missing_names

    if getattr(args, "no_values", False):
        return None
    if args.values:
        from ..spec import load_values

        values, origin, remedy = load_values(args.values), args.values, say("values.remedy_file")
    else:
        values, origin = loaded.values, args.net
        spec = str(origin).lower().endswith(".toml")
        remedy = say("values.remedy_spec" if spec else "values.remedy_python")
    missing = missing_names(loaded.network, values) if values is not None else []
    if missing:
        raise CommandError(say("values.missing", origin=origin, names=", ".join(repr(n) for n in missing),
                               remedy=remedy))
    return values
