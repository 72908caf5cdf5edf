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
from typing import Any, Generic, TypeVar

__all__ = ["Forked", "fork_processes", "fork_context", "run_forked", "start_forked"]

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


class Forked(Generic[T]):
    """A call running in a forked child while this process goes on (see :func:`start_forked`)."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._proc: Any = None
        self._outcome: tuple[bool, Any] | None = None
        if fork_processes() <= 1:   # no fork here: run it now, same result
            self._outcome = _outcome(call)
            return
        ctx = fork_context()
        self._conn, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(call, send), name="crimegraph-background")
        self._proc.start()
        send.close()

    def result(self) -> T:
        """Wait for the call; its return value, or its exception raised here."""
        if self._outcome is None:
            try:
                self._outcome = self._conn.recv()
            except EOFError:   # the child died without a word (killed, out of memory)
                self._outcome = (False, RuntimeError(
                    f"a background process of crimegraph stopped (exit code {self._exit()})"))
            finally:
                self._conn.close()
                self._exit()
        ok, value = self._outcome
        if not ok:
            raise value
        return value   # type: ignore[no-any-return]

    def _exit(self) -> int | None:
        self._proc.join()
        return self._proc.exitcode   # type: ignore[no-any-return]


def _outcome(call: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, call()
    except Exception as exc:
        return False, exc


def _child(call: Callable[[], Any], send: Any) -> None:
    outcome = _outcome(call)
    try:
        send.send(outcome)
    except Exception as exc:   # an unpicklable result or exception: say what it was
        send.send((False, RuntimeError(f"background call failed: {outcome[1]!r} ({exc})")))
    send.close()


def start_forked(call: Callable[[], T]) -> Forked[T]:
    """Start ``call()`` in a forked child and return at once; ``.result()`` waits for it.

    The child sees this process's data as it is at the fork (no pickling of inputs);
    its return value comes back pickled. Where ``fork`` is unavailable the call runs
    here, before this returns. Every started call must be waited for with ``.result()``.
    """
    return Forked(call)
