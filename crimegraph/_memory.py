"""Give memory freed by a big stage back to the operating system.

CPython frees millions of small objects into the C allocator, which keeps the
pages: after reading a Dingtao-scale case about 1 GB of the process is free but
still resident. Forked children then share those pages, and the whole job looks
(and, for the machine, is) 1 GB bigger than its data. ``malloc_trim`` hands them
back (glibc only; elsewhere this does nothing).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Any

__all__ = ["release_free_memory"]


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
