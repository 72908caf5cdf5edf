"""Atomic file writing (the only place crimegraph writes files).

A failed export never leaves a truncated or 0-byte file behind: data goes to a
temporary file in the target folder, then replaces the target in one step.
"""

from __future__ import annotations

import os
import tempfile
from os import PathLike
from pathlib import Path

import pandas as pd

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


def write_csv(df: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Write a table as UTF-8 CSV with a BOM (Excel opens Chinese text correctly), atomically."""
    return atomic_write_bytes(path, df.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
