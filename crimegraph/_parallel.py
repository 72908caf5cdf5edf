"""Worker processes for the big-case paths (reading files, writing large tables).

Only ``fork`` is used: children see the parent's data without pickling it, so a
table is never copied through a pipe to be worked on. Where ``fork`` is not
available or not safe (Windows, macOS), everything runs in one process; the
result is the same either way.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["fork_processes", "fork_context", "run_forked"]

T = TypeVar("T")


def fork_processes(limit: int = 8) -> int:
    """Processes to use: one per core (up to ``limit``) on Linux, else 1."""
    if sys.platform != "linux" or "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, limit))


def fork_context() -> mp.context.BaseContext:
    return mp.get_context("fork")


_CALLS: list[Callable[[], Any]] = []   # what forked children run (they inherit this list)


def _run_call(i: int) -> Any:
    return _CALLS[i]()


def run_forked(calls: list[Callable[[], T]], *, processes: int | None = None) -> list[T]:
    """``[c() for c in calls]``, the first in this process and the others at the same time
    in forked children (their results come back pickled; their errors are raised here).

    The children see this process's data as it is (no pickling of inputs). With
    ``processes=1``, or where ``fork`` is unavailable, the calls run one after another.
    """
    procs = fork_processes() if processes is None else max(1, processes)
    if procs <= 1 or len(calls) <= 1:
        return [c() for c in calls]
    global _CALLS
    if _CALLS:
        raise RuntimeError("run_forked is not re-entrant")
    _CALLS = list(calls)
    try:
        with ProcessPoolExecutor(max_workers=min(procs, len(calls)) - 1 or 1, mp_context=fork_context()) as pool:
            rest = [pool.submit(_run_call, i) for i in range(1, len(calls))]
            first = calls[0]()
            return [first] + [f.result() for f in rest]
    finally:
        _CALLS = []
