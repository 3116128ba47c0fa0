"""Python's cyclic garbage collector, paused while a derivation's trees and programs are built.

Building a derivation allocates many small objects that all stay alive (nodes, steps, syntax trees).
The collector, run on every so many allocations, walks the whole older generation each time it gets
there, so on a large network it spends as long as the building itself: paused, backprop of a
1,024-layer MLP takes 0.10 s instead of 0.56 s. Nothing built here is garbage to collect.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, and on again after it if it was on before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
