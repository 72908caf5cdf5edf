"""Memory and the garbage collector on the big-case paths.

**Freed memory back to the operating system.**

CPython frees millions of small objects into the C allocator, which keeps the
pages: after reading a Dingtao-scale case about 1 GB of the process is free but
still resident. Forked children then share those pages, and the whole job looks
(and, for the machine, is) 1 GB bigger than its data. ``malloc_trim`` hands them
back (glibc only; elsewhere this does nothing).

**The cycle collector paused while parsing.** Parsing makes millions of short-lived
containers (a list per CSV record) and hardly any reference cycles. The collector
runs every few hundred new containers, and its full collections walk every container
in the process (pandas, numpy, what was read so far) to find almost nothing: about a
fifth of the time of reading the Dingtao files.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["gc_paused", "release_free_memory"]


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    if sys.platform != "linux":
        return None
    try:
        # the running program's own symbols: no ctypes.util.find_library, which forks a
        # subprocess (a child of a big process counts all its pages as resident)
        libc = ctypes.CDLL(None)
        libc.malloc_trim  # noqa: B018 (glibc only: AttributeError elsewhere, e.g. musl)
    except (OSError, AttributeError):
        return None
    return libc


def release_free_memory() -> bool:
    """Return the C allocator's free pages to the OS; ``True`` if any were returned."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cycle collector off for the block (back as it was after; nests).

    Objects freed in the block are freed at once as usual (reference counts); only
    reference cycles wait for the next collection after the block.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
