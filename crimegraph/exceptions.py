"""Exception hierarchy of crimegraph.

All errors raised on purpose by crimegraph derive from :class:`CrimegraphError`.
Each subclass also derives from the matching built-in exception, so callers who
do not know crimegraph can still catch ``ValueError``, ``KeyError``,
``TypeError``, ``OSError`` or ``ImportError`` (networkx ``exception.py``,
networkx/networkx#7245).

The hierarchy is deliberately shallow::

    CrimegraphError
    ├── SchemaError (ValueError)
    │   ├── MissingColumnError (KeyError)
    │   └── InvalidIdentifierError
    ├── FormatError (ValueError)          file not recognised / not parseable
    ├── UnsupportedGraphError (TypeError)
    ├── ExportError (OSError)
    └── MissingDependencyError (ImportError)
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "CrimegraphError",
    "SchemaError",
    "MissingColumnError",
    "InvalidIdentifierError",
    "FormatError",
    "UnsupportedGraphError",
    "ExportError",
    "MissingDependencyError",
]


class CrimegraphError(Exception):
    """Base class of every error raised on purpose by crimegraph."""


class SchemaError(CrimegraphError, ValueError):
    """A table or record does not have the expected shape or values."""


class MissingColumnError(SchemaError, KeyError):
    """A required column is absent from a table.

    ``KeyError`` quotes its argument in ``str()``; this class keeps the plain
    message so that it reads as a sentence.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidIdentifierError(SchemaError):
    """A value was required to be a valid identifier (phone, ID number, card)."""


class FormatError(CrimegraphError, ValueError):
    """A file cannot be recognised or parsed.

    Parameters
    ----------
    reason : str
        What is wrong and, where possible, how to fix it.
    path : str or path-like, optional
        The file concerned.
    line : int, optional
        1-based physical line (or spreadsheet row) where the problem is.
    """

    def __init__(self, reason: str, *, path: str | PathLike[str] | None = None,
                 line: int | None = None) -> None:
        self.reason = reason
        self.path = None if path is None else str(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}, line {line}"
            where += ": "
        super().__init__(where + reason)


class UnsupportedGraphError(CrimegraphError, TypeError):
    """An algorithm was given a graph type it does not support."""


class ExportError(CrimegraphError, OSError):
    """Writing an output file failed."""


class MissingDependencyError(CrimegraphError, ImportError):
    """An optional dependency needed by the called function is not installed."""
