"""Worker processes for the big-case paths (reading files, writing large tables).

Children are forked: they see the parent's data without pickling it, so a table
is never copied through a pipe to be worked on. Where ``fork`` is not available
or not safe (Windows, macOS), everything runs in one process; the result is the
same either way.

A forked child keeps every page of its parent that the parent rewrites while it
runs (a Python process rewrites the objects it only reads, by counting references):
next to a parent of gigabytes, a child that lives for seconds costs up to the
parent's size again. Work on a small input (the case graph's files) therefore goes
to a new interpreter instead (:func:`start_fresh`), its input pickled to it.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Forked", "Fresh", "fork_processes", "fork_context", "run_forked", "start_forked", "start_fresh"]

T = TypeVar("T")


def fork_processes(limit: int = 8) -> int:
    """Processes to use: one per core (up to ``limit``) on Linux, else 1."""
    if sys.platform != "linux" or "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, limit))


def fork_context() -> mp.context.BaseContext:
    return mp.get_context("fork")


def run_forked(calls: list[Callable[[], T]], *, processes: int | None = None) -> list[T]:
    """``[c() for c in calls]``, shared among ``processes`` processes: this one runs calls
    0, n, 2n, ... and forked children the others, at the same time (their results come
    back pickled). Every child has ended when this returns or raises; an error in this
    process comes first, then the children's, in order.

    The children see this process's data as it is (no pickling of inputs). With
    ``processes=1``, or where ``fork`` is unavailable, the calls run one after another.
    """
    procs = fork_processes() if processes is None else max(1, processes)
    n = min(procs, len(calls))
    if n <= 1:
        return _run_all(calls)
    children: list[Forked[list[T]]] = []
    try:
        for w in range(1, n):
            children.append(Forked(functools.partial(_run_all, calls[w::n])))
        mine = _run_all(calls[0::n])
    finally:   # never leave a child running, whatever happened here (a failed fork included)
        outcomes = [_outcome(child.result) for child in children]
    results: list[Any] = [None] * len(calls)
    results[0::n] = mine
    for w, (ok, value) in enumerate(outcomes, start=1):
        if not ok:
            raise value
        results[w::n] = value
    return results


def _run_all(calls: list[Callable[[], T]]) -> list[T]:
    return [c() for c in calls]


class Forked(Generic[T]):
    """A call running in a forked child while this process goes on (see :func:`start_forked`)."""

    def __init__(self, call: Callable[[], T], *, here: bool = False) -> None:
        self._proc: Any = None
        self._outcome: tuple[bool, Any] | None = None
        if here or fork_processes() <= 1:   # no fork here: run it now, same result
            self._outcome = _outcome(call)
            return
        ctx = fork_context()
        self._conn, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(call, send), name="crimegraph-background")
        self._proc.start()
        send.close()

    def wait(self) -> None:
        """Wait for the call to end (its outcome is kept for :meth:`result`)."""
        with contextlib.suppress(Exception):
            self.result()

    def result(self) -> T:
        """Wait for the call; its return value, or its exception raised here."""
        if self._outcome is None:
            self._outcome = self._collect()
        ok, value = self._outcome
        if not ok:
            raise value
        return value   # type: ignore[no-any-return]

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        """On an error in the ``with`` block, wait for the child before it is raised (the
        child's own outcome is dropped); otherwise go on (``.result()`` waits later)."""
        if exc_type is not None:
            self.wait()

    def _collect(self) -> tuple[bool, Any]:
        """The child's outcome, once it has ended."""
        try:
            return self._conn.recv()   # type: ignore[no-any-return]
        except EOFError:   # the child died without a word (killed, out of memory)
            return _stopped(self._exit())
        finally:
            self._conn.close()
            self._exit()

    def _exit(self) -> int | None:
        self._proc.join()
        return self._proc.exitcode   # type: ignore[no-any-return]


def _stopped(code: int | None) -> tuple[bool, Any]:
    return False, RuntimeError(f"a background process of crimegraph stopped (exit code {code})")


def _outcome(call: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, call()
    except Exception as exc:
        return False, exc


def _pickled(outcome: tuple[bool, Any]) -> bytes:
    """``outcome`` pickled; an unpicklable result or exception is said what it was."""
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return pickle.dumps((False, RuntimeError(f"background call failed: {outcome[1]!r} ({exc})")))


def _child(call: Callable[[], Any], send: Any) -> None:
    send.send_bytes(_pickled(_outcome(call)))   # (read by recv: the same pickle)
    send.close()


def start_forked(call: Callable[[], T], *, here: bool = False) -> Forked[T]:
    """Start ``call()`` in a forked child and return at once; ``.result()`` waits for it.

    The child sees this process's data as it is at the fork (no pickling of inputs);
    its return value comes back pickled. With ``here=True`` (small jobs, not worth a
    fork), or where ``fork`` is unavailable, the call runs here, before this returns.
    Every started call must be waited for with ``.result()``; used as a context
    manager, an error in the block waits for it too::

        with start_forked(work) as job:
            other_work()        # an error here is raised once the child has ended
        value = job.result()
    """
    return Forked(call, here=here)


class Fresh(Forked[T]):
    """A call running in a new Python interpreter while this process goes on (see
    :func:`start_fresh`)."""

    def __init__(self, call: Callable[[], T], *, here: bool = False) -> None:
        self._proc = None
        self._outcome = None
        # (nothing forked, nothing started; nor where sys.executable is no Python: a frozen app)
        if here or fork_processes() <= 1 or not sys.executable or getattr(sys, "frozen", False):
            self._outcome = _outcome(call)
            return
        fd, self._path = tempfile.mkstemp(prefix="crimegraph-call-", suffix=".pickle")
        # the child imports this same crimegraph: its folder goes first on the child's path
        # unless it is on that path already (site-packages: nothing moved ahead of the stdlib)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = ("import sys; root = sys.argv[3]; root in sys.path or sys.path.insert(0, root); "
                "from crimegraph._parallel import _fresh_main; _fresh_main(sys.argv[1], int(sys.argv[2]))")
        try:
            with os.fdopen(fd, "wb") as fh:   # (the call in a file: no waiting for the child to read it)
                pickle.dump(call, fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc = subprocess.Popen([sys.executable, "-c", code, self._path, str(os.getpid()), root],
                                          stdin=subprocess.DEVNULL)
        except BaseException:   # (an unpicklable call included: no file left behind)
            os.unlink(self._path)
            raise

    def _collect(self) -> tuple[bool, Any]:
        code = self._proc.wait()
        try:
            with open(self._path + ".out", "rb") as fh:
                return pickle.load(fh)   # type: ignore[no-any-return]
        except (OSError, EOFError, pickle.UnpicklingError):   # killed, out of memory, no Python
            return _stopped(code)
        finally:
            for path in (self._path, self._path + ".out", self._path + ".out.tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(path)


def start_fresh(call: Callable[[], T], *, here: bool = False) -> Fresh[T]:
    """Start ``call()`` in a new Python interpreter and return at once; ``.result()``
    waits for it (as :func:`start_forked`).

    ``call`` is pickled to the child, its outcome pickled back: for calls on small
    inputs from a big process (see the module's docstring). Started where ``fork``
    is available (the big-case paths), else run here at once.
    """
    return Fresh(call, here=here)


def _fresh_main(path: str, parent: int) -> None:
    """The new interpreter's side of :class:`Fresh`: run the call in ``path`` (the file
    removed once read), write its outcome beside it unless the ``parent`` process has
    ended meanwhile (no one to read or remove it)."""
    with open(path, "rb") as fh:
        call = pickle.load(fh)
    os.unlink(path)
    outcome = _outcome(call)
    if os.getppid() != parent:
        return
    with open(path + ".out.tmp", "wb") as fh:
        fh.write(_pickled(outcome))
    os.replace(path + ".out.tmp", path + ".out")   # (all of it or nothing)

