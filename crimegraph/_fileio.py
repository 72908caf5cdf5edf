"""Atomic file writing (the only place crimegraph writes files).

A failed export never leaves a truncated or 0-byte file behind: data goes to a
temporary file in the target folder, then replaces the target in one step.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from ._parallel import fork_processes, run_forked
from .exceptions import ExportError

__all__ = ["atomic_write_bytes", "atomic_write_text", "csv_text", "write_csv"]


@contextlib.contextmanager
def _atomic_file(path: str | PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` in one step when the block ends without error
    (fsynced first); on any error it is removed and ``path`` is left as it was."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _export_error(target, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _export_error(target, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _export_error(target: Path, exc: OSError) -> ExportError:
    return ExportError(f"cannot write {target}: {exc.strerror or exc}; check the folder exists "
                       "and is writable")


def atomic_write_bytes(path: str | PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; create parent folders.

    Raises
    ------
    ExportError
        The folder cannot be created or the file cannot be written.
    """
    with _atomic_file(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically (always UTF-8, on every platform)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


#: Tables this long are formatted in several processes (pandas formats ~2 million cells a second).
PARALLEL_ROWS = 200_000
_PART_ROWS = 50_000   # at least this many rows per process
_CHUNK_CELLS = 2_000_000   # formatted and written at a time (a few tens of MB of text)


def _csv_bytes(df: pd.DataFrame, first: bool) -> bytes:
    return csv_text(_times_as_text(df), header=first).encode("utf-8-sig" if first else "utf-8")


def csv_text(df: pd.DataFrame, *, header: bool = True) -> str:
    """``df.to_csv(index=False, header=header, lineterminator="\\n")``, the same text.

    Tables of two columns or more whose columns pandas hands to the csv module as they
    are (objects, text, booleans, integers, floats) are written here: each field as the
    csv module writes it (quoted, quotes doubled, where it holds a character that makes
    the csv module quote: :func:`_quote_pattern` asks it which), the rows joined in C.
    The csv module copies text a character at a time, about 25 ns each in Chinese text:
    for the Dingtao victims table its pass took 2.7 times as long as these joins. Other
    tables are left to pandas.
    """
    columns = _csv_columns(df)
    special, chars = _quote_pattern(), _quote_chars()
    if columns is None or special is None or chars is None or len(columns) < 2:   # (one column: '""' for an empty field)
        return df.to_csv(index=False, header=header, lineterminator="\n")
    rows = map(",".join, zip(*(_fields(values, special, chars) for values in columns), strict=True))
    if header:
        rows = itertools.chain([",".join(_fields(list(df.columns), special, chars))], rows)
    text = "\n".join(rows)   # (two columns or more: no row is empty)
    return text + "\n" if text else ""


def _csv_columns(df: pd.DataFrame) -> list[list[Any]] | None:
    """Each column's values as pandas passes them to ``csv.writer`` (missing values as ``""``),
    or ``None`` where a column (or a name) needs pandas' own formatting."""
    if df.shape[1] == 0 or not all(isinstance(c, str) for c in df.columns):
        return None
    out = []
    for _, s in df.items():
        raw = s.to_numpy()
        numpy = isinstance(s.dtype, np.dtype)
        if numpy and s.dtype.kind in "biuf":
            text = raw.astype(str).astype(object)   # (pandas' text for numbers and booleans)
        elif (numpy and s.dtype.kind == "O") or isinstance(s.dtype, pd.StringDtype):
            text = np.array(raw, dtype=object)   # (a copy)
        else:
            return None
        text[pd.isna(raw)] = ""
        out.append(text.tolist())
    return out


def _fields(values: list[Any], special: re.Pattern[str], chars: str) -> list[str]:
    """``values`` as ``csv.writer`` writes them: text as it is, floats (numpy's too) by
    ``float.__repr__``, anything else by ``str``; quoted, quotes doubled, where ``special``
    finds a character (one of ``chars``)."""
    try:
        joined = "".join(values)
    except TypeError:   # not all text
        values = [v if isinstance(v, str) else float.__repr__(v) if isinstance(v, float) else str(v) for v in values]
        joined = "".join(values)
    # (the common case: nothing to quote; a search per character scans the text in C, 19 times
    # faster than the pattern's search on the Dingtao victims table)
    if not any(c in joined for c in chars):
        return values
    return ['"' + v.replace('"', '""') + '"' if special.search(v) else v for v in values]


@functools.cache
def _quote_pattern() -> re.Pattern[str] | None:
    """A pattern that finds one of :func:`_quote_chars`; ``None`` where that is ``None``."""
    chars = _quote_chars()
    return re.compile("[" + re.escape(chars) + "]") if chars else None


@functools.cache
def _quote_chars() -> str | None:
    """The characters that make ``csv.writer`` (pandas' dialect: ``,``, ``"``, QUOTE_MINIMAL,
    lines ended by ``\\n``) quote a field, found by asking it (they differ between Python
    versions: a bare ``\\r`` is quoted from 3.11.9 and 3.12.3 on, CPython gh-67044);
    ``None`` if it does anything else with some character, or quotes none."""
    chars = []
    for c in map(chr, [*range(128), 0x85, 0x2028, 0x2029]):
        buf = io.StringIO()
        try:
            csv.writer(buf, lineterminator="\n").writerow([f"a{c}b", "x"])
        except csv.Error:
            return None
        if buf.getvalue() == f"a{c}b,x\n":
            continue
        if buf.getvalue() != '"' + f"a{c}b".replace('"', '""') + '",x\n':
            return None
        chars.append(c)
    return "".join(chars) or None


def _pandas_chunk(df: pd.DataFrame) -> int:
    """Rows pandas formats at a time in ``to_csv`` (some formats, e.g. sub-second times, are
    decided per such chunk): pieces that start on these boundaries give the same bytes."""
    return (100_000 // (df.shape[1] or 1)) or 1


def _write_csv_rows(fh: BinaryIO, df: pd.DataFrame, start: int, stop: int) -> None:
    """Rows ``start:stop`` of ``df`` as CSV into ``fh`` (header and BOM when ``start == 0``),
    a few MB at a time, so the text of a long table is never in memory at once."""
    step = _pandas_chunk(df) * max(1, _CHUNK_CELLS // max(df.shape[1], 1) // _pandas_chunk(df))
    if start == 0:
        fh.write(_csv_bytes(df.iloc[0:min(step, stop)], True))
        start = min(step, stop)
    for i in range(start, stop, step):
        fh.write(_csv_bytes(df.iloc[i:min(i + step, stop)], False))


def _write_csv_part(df: pd.DataFrame, start: int, stop: int, part: str) -> None:
    """A forked child's rows, into the temporary file ``part`` beside the target."""
    with open(part, "wb") as fh:
        _write_csv_rows(fh, df, start, stop)


def write_csv(df: pd.DataFrame, path: str | PathLike[str], *, processes: int | None = None) -> Path:
    """Write a table as UTF-8 CSV with a BOM (Excel opens Chinese text correctly), atomically.

    Tables of :data:`PARALLEL_ROWS` rows or more are formatted in ``processes``
    parts at once (default: one per core, on Linux); the bytes are the same as
    formatting the whole table in one go. Text is written as it is formatted, a
    few MB at a time.
    """
    target = Path(path)
    n = len(df)
    procs = min(fork_processes() if processes is None else max(1, processes), max(1, n // _PART_ROWS))
    bounds = [0, n]
    if procs > 1 and n >= PARALLEL_ROWS:
        chunk = _pandas_chunk(df)   # parts start where pandas would start a chunk anyway
        inner = {round(n * i / procs / chunk) * chunk for i in range(1, procs)}
        bounds = [0, *sorted(b for b in inner if 0 < b < n), n]
    with _atomic_file(target) as fh:
        if len(bounds) == 2:
            _write_csv_rows(fh, df, 0, n)
            return target
        parts: list[str] = []
        try:
            for _ in bounds[2:]:
                fd, part = tempfile.mkstemp(prefix=f".{target.name}.part.", suffix=".tmp", dir=target.parent)
                os.close(fd)
                parts.append(part)
            calls = [functools.partial(_write_csv_rows, fh, df, 0, bounds[1])]
            calls += [functools.partial(_write_csv_part, df, bounds[i], bounds[i + 1], parts[i - 1])
                      for i in range(1, len(bounds) - 1)]
            run_forked(calls, processes=procs)
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, fh, 1 << 20)
        finally:
            for part in parts:
                Path(part).unlink(missing_ok=True)
    return target


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
