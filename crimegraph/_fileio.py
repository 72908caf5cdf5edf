"""Atomic file writing (the only place crimegraph writes files).

A failed export never leaves a truncated or 0-byte file behind: data goes to a
temporary file in the target folder, then replaces the target in one step.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import tempfile
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ._parallel import fork_processes, run_forked
from .exceptions import ExportError

__all__ = ["atomic_write_bytes", "atomic_write_text", "write_csv"]


def atomic_write_bytes(path: str | PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; create parent folders.

    Raises
    ------
    ExportError
        The folder cannot be created or the file cannot be written.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}; check the folder exists "
                          "and is writable") from exc
    return target


def atomic_write_text(path: str | PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically (always UTF-8, on every platform)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


#: Tables this long are formatted in several processes (pandas formats ~2 million cells a second).
PARALLEL_ROWS = 200_000
_PART_ROWS = 50_000   # at least this many rows per process


def _csv_bytes(df: pd.DataFrame, first: bool) -> bytes:
    text = _times_as_text(df).to_csv(index=False, header=first, lineterminator="\n")
    return text.encode("utf-8-sig" if first else "utf-8")


def write_csv(df: pd.DataFrame, path: str | PathLike[str], *, processes: int | None = None) -> Path:
    """Write a table as UTF-8 CSV with a BOM (Excel opens Chinese text correctly), atomically.

    Tables of :data:`PARALLEL_ROWS` rows or more are formatted in ``processes``
    parts at once (default: one per core, on Linux); the bytes are the same as
    formatting the whole table in one go.
    """
    n = len(df)
    procs = min(fork_processes() if processes is None else max(1, processes), max(1, n // _PART_ROWS))
    if procs <= 1 or n < PARALLEL_ROWS:
        return atomic_write_bytes(path, _csv_bytes(df, True))
    bounds = np.linspace(0, n, procs + 1).astype(int).tolist()
    parts = run_forked([functools.partial(_csv_bytes, df.iloc[bounds[i]:bounds[i + 1]], i == 0)
                        for i in range(procs)], processes=procs)
    return atomic_write_bytes(path, b"".join(parts))


def _times_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Whole-second times with a fixed UTC offset as the text pandas writes for them
    (``2025-11-03 09:10:27+08:00``; NaT empty), formatted in C: pandas formats each
    timestamp in Python, about 14 s per million."""
    out = None
    for col in df.columns:
        s = df[col]
        tz = getattr(s.dtype, "tz", None)
        if not isinstance(tz, dt.timezone):
            continue
        naive = s.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        nat = np.isnat(naive)
        if (naive[~nat].astype("int64") % 1_000_000_000).any():
            continue   # sub-second values: leave them to pandas
        offset = pd.Timestamp(0, tz=tz).isoformat()[-6:]
        text = np.char.add(np.char.replace(np.datetime_as_string(naive, unit="s"), "T", " "), offset)
        text = text.astype(object)
        text[nat] = ""
        if out is None:
            out = df.copy(deep=False)
        out[col] = text
    return df if out is None else out
