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

__all__ = ["fork_processes", "fork_context"]


def fork_processes(limit: int = 8) -> int:
    """Processes to use: one per core (up to ``limit``) on Linux, else 1."""
    if sys.platform != "linux" or "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, limit))


def fork_context() -> mp.context.BaseContext:
    return mp.get_context("fork")
