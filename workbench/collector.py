"""The cyclic garbage collector, paused where a step makes hundreds of thousands of objects that hold no cycle.

Verifying an export, consolidating a share of a round and passing either between processes each allocate a few
hundred thousand rows, cells and texts that all stay alive until the step ends. Left running, the collector would
walk them again and again (about a tenth of the step's time) and find nothing: reference counting frees them.
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (and back on after, if it was on)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def pickled_call(function: Callable[..., Any], *args: Any) -> bytes:
    """function(*args), pickled: what a pool's process runs, so that the result is also pickled with the collector
    paused (the pool would pickle it after the call, with the collector running)."""
    with paused():
        return pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL)


def unpickled(data: bytes) -> Any:
    """What pickled_call returned, read back with the collector paused."""
    with paused():
        return pickle.loads(data)
