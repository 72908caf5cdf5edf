"""Plumbing shared by every loader: one path helper, decoding, value parsers,
and the per-file accounting (rows read = accepted + rejected + skipped).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import operator
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ..exceptions import FormatError

__all__ = ["TZ", "NULLS", "PathOrBuffer", "Source", "read_source", "decode_text", "FileReport",
           "Reject", "Loaded", "clean", "map_unique", "clean_column", "read_csv_text", "parse_amount",
           "parse_time_series", "csv_records",
           "xlsx_rows", "xlsx_sheets", "empty_frame", "object_frame", "MAX_FILE_BYTES", "bad_value_reason", "none_for_missing"]

TZ = dt.timezone(dt.timedelta(hours=8), "+08:00")
#: Values that mean "no value" in seized exports.
NULLS = frozenset({"", "/", "\\N", "-", "--", "null", "NULL", "None", "nan", "NaN", "N/A", "无"})
MAX_FILE_BYTES = 2 * 1024**3
PathOrBuffer = str | os.PathLike[str] | IO[bytes] | IO[str]


@dataclass(frozen=True)
class Source:
    """The bytes of one input and where they came from."""

    name: str           # path as given (for messages) or "<buffer>"
    data: bytes

    @property
    def is_zip(self) -> bool:
        return self.data[:4] == b"PK\x03\x04"


def read_source(path_or_buffer: PathOrBuffer) -> Source:
    """Read a path, path-like or file object into memory (the one path helper).

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    FormatError
        The path is a directory, or the file is larger than 2 GiB.
    """
    if hasattr(path_or_buffer, "read"):
        raw = path_or_buffer.read()  # type: ignore[union-attr]
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        return Source(str(getattr(path_or_buffer, "name", "<buffer>")), data)
    path = Path(os.fspath(path_or_buffer))   # type: ignore[arg-type]
    if path.is_dir():
        raise FormatError("is a folder; pass a file, or use crimegraph.read_case() for a case folder",
                          path=path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FormatError(f"file is {size} bytes, larger than the {MAX_FILE_BYTES} byte limit", path=path)
    return Source(str(path), path.read_bytes())


def decode_text(src: Source) -> tuple[str, str]:
    """Decode text: UTF-8 (with or without BOM) first, else GB18030 (a superset of GBK).

    Returns the text and the encoding used. Raises :class:`FormatError` for
    binary data.
    """
    data = src.data
    if b"\x00" in data[:4096]:
        raise FormatError("binary data (NUL bytes), not a text export", path=src.name)
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(f"neither UTF-8 nor GB18030 text (bad byte at offset {exc.start})",
                          path=src.name, line=line) from None


# ---------------------------------------------------------------------- accounting
@dataclass(frozen=True, slots=True)
class Reject:
    """A row that was refused: where and why."""

    file: str
    line: int
    reason: str
    raw: str = ""


@dataclass
class FileReport:
    """What happened to one input file.

    ``rows_read == accepted + rejected + skipped`` always holds; ``skipped``
    rows carry a reason in ``skip_reasons`` (duplicates, footers, blank lines).
    ``status`` is ``loaded``, ``unrecognised`` or ``failed`` (the file as a
    whole could not be read; ``reason`` says why).
    """

    file: str
    format: str = ""
    status: str = "loaded"
    reason: str = ""
    device: str | None = None
    table: str = ""
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)

    def finish(self) -> None:
        """Order rejects by line (they are found in more than one pass)."""
        self.rejects.sort(key=lambda r: r.line)

    def reject(self, line: int, reason: str, raw: str = "") -> None:
        self.rejected += 1
        self.rejects.append(Reject(self.file, line, reason, raw[:200]))

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped += n
        self.skip_reasons[reason] += n

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.accepted + self.rejected + self.skipped

    def as_row(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "status": self.status, "reason": self.reason,
                "device": self.device or "", "table": self.table, "rows_read": self.rows_read,
                "accepted": self.accepted, "rejected": self.rejected, "skipped": self.skipped,
                "skip_reasons": "; ".join(f"{k}: {v}" for k, v in sorted(self.skip_reasons.items()))}


@dataclass
class Loaded:
    """Result of a single-file reader: a normalised table and its report."""

    table: str                 # transfers, messages, contacts
    frame: pd.DataFrame
    report: FileReport
    owner: dict[str, Any] = field(default_factory=dict)   # what the file says of its owner

    def _repr_html_(self) -> str:
        r = self.report
        return (f"<p><b>{_esc(r.file)}</b> ({_esc(r.format)}): {r.rows_read} rows read, "
                f"{r.accepted} accepted, {r.rejected} rejected, {r.skipped} skipped</p>"
                + self.frame.head(10).to_html(escape=True))


def _esc(s: str) -> str:
    import html

    return html.escape(str(s))


# ------------------------------------------------------------------------- values
_WS = re.compile(r"^[\s'\u00a0\u3000]+|[\s\u00a0\u3000]+$")


def clean(value: object) -> str | None:
    """Strip padding, TAB guards and a leading ``'``; map null markers to ``None``."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    s = str(value)
    if s and s[-1].isspace():   # (\s is str.isspace: the common trailing TAB in C)
        s = s.rstrip()
    if s and (s[0].isspace() or s[0] == "'"):
        s = _WS.sub("", s)
    return None if s in NULLS else s


def map_unique(values: Sequence[Any] | pd.Series, fn: Callable[[Any], Any]) -> list[Any]:
    """``[fn(v) for v in values]``, calling ``fn`` once per distinct value.

    Exports repeat the same few values (types, statuses, senders, amounts) over
    and over; this keeps per-value Python work proportional to the distinct
    values, not the rows. Missing values (None, NaN, NaT, NA) are passed to ``fn``
    as None (once per kind of missing value found). Values are distinct as
    ``pd.factorize`` finds them: ``1``, ``1.0`` and ``True`` are one value.

    Examples
    --------
    >>> map_unique(["a ", "a ", None, "/"], clean)
    ['a', 'a', None, None]
    """
    if isinstance(values, pd.Series):
        values = values.tolist()
    # the distinct values (dict keys: equal as pd.factorize finds them equal), and each row's
    # result, looked up in C-level passes
    table = {v: fn(None if _missing(v) else v) for v in dict.fromkeys(values)}
    return list(map(table.__getitem__, values))


def clean_column(values: Sequence[Any] | pd.Series) -> list[str | None]:
    """:func:`clean` applied to a whole column: once per distinct value, or value by value
    when the column starts with mostly distinct text (times, transaction ids: finding the
    few repeats costs more than cleaning them twice). The same list either way."""
    if not isinstance(values, pd.Series):
        vals = values if isinstance(values, list | tuple) else list(values)
        head = vals[:_HEAD]
        if len(vals) > 2 * _HEAD and all(type(v) is str for v in head) and len(set(head)) > _HEAD * 3 // 4:
            if set(map(type, vals)) == {str}:
                return _clean_texts(vals)
            return [clean(v) if type(v) is str else _clean_cell(v) for v in vals]
        values = vals
    return map_unique(values, clean)


_HEAD = 64   # (values looked at to choose)


def _clean_texts(values: Sequence[str]) -> list[str | None]:
    """``[clean(v) for v in values]`` for values that are all ``str``, in C-level passes: the
    usual value (trailing padding at most) is only right-stripped; a value padded or quoted in
    front, or a null marker once stripped, goes through :func:`clean` itself."""
    out = list(map(str.rstrip, values))   # (clean's own first step)
    n = len(out)
    front = np.fromiter(map(operator.is_not, map(str.lstrip, out), out), dtype=bool, count=n)   # (a str is
    front |= np.fromiter(map(str.startswith, out, repeat("'")), dtype=bool, count=n)   # its own lstrip if unpadded)
    front |= np.fromiter(map(NULLS.__contains__, out), dtype=bool, count=n)
    for i in np.flatnonzero(front).tolist():
        out[i] = clean(values[i])
    return out   # type: ignore[return-value]


def _missing(v: Any) -> bool:
    """Whether ``v`` is a missing value (None, NaN, NaT, NA), which :func:`map_unique` gives
    its function as None."""
    return v is None or (type(v) is not str and pd.api.types.is_scalar(v) and pd.isna(v))


def _clean_cell(v: Any) -> str | None:
    """:func:`clean` as :func:`map_unique` calls it: missing values (NaN, NaT, NA) as None."""
    return None if _missing(v) else clean(v)


def read_csv_text(text: str, *, start_line: int = 1) -> tuple[list[int], list[list[str]]]:
    """All records of CSV ``text`` as ``(lines, rows)``: what :func:`csv_records` yields,
    as two lists.

    Without a quote in the text every record is one line, and the rows come from one
    C-level pass of the csv module. Otherwise (chat exports quote multi-line messages)
    each record's last line is the reader's line count once it is read: the next record
    starts after it. After a csv error (NUL, oversized field) :func:`csv_records` reads
    the text again.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    rows: list[list[str]] = []
    try:
        if '"' not in text:   # (no quoted field: a line break always ends a record)
            rows = list(reader)
            return list(range(start_line, start_line + len(rows))), rows
        ends: list[int] = []
        add_row, add_end = rows.append, ends.append
        for row in reader:
            add_row(row)
            add_end(reader.line_num)
    except csv.Error:
        lines: list[int] = []
        rows = []
        for line, f in csv_records(text, start_line=start_line):
            lines.append(line)
            rows.append(f)
        return lines, rows
    return [start_line, *(start_line + e for e in ends[:-1])] if rows else [], rows


_AMOUNT_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def parse_amount(value: object) -> Decimal | None:
    """Parse ``¥1,200.00``, ``￥28.16``, ``1200``, ``"  12.50 "``, a float cell; ``None`` if not a number.

    Examples
    --------
    >>> parse_amount("¥1,200.00"), parse_amount("￥28.16"), parse_amount("12,3a.0")
    (Decimal('1200.00'), Decimal('28.16'), None)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != value:
            return None
        return Decimal(f"{value:.2f}")
    if isinstance(value, Decimal):
        return value
    s = clean(value)
    if s is None:
        return None
    s = s.replace("¥", "").replace("￥", "").replace("元", "").replace(",", "").replace(" ", "")
    if s.startswith("\\"):
        s = s[1:]
    if not _AMOUNT_RE.match(s):
        return None
    try:
        return Decimal(s).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M",
                 "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y.%m.%d %H:%M:%S", "%Y-%m-%d")


def parse_time_series(values: pd.Series) -> pd.Series:
    """Parse local (+08:00) times in the formats seen in exports; NaT where unparseable.

    Tries each known format on the rows still unparsed (vectorised per format).
    Epoch seconds (10 digits) are read as UTC instants. Values with an explicit
    offset keep it and are converted to +08:00.
    """
    uniform = _uniform_times(values)
    return uniform if uniform is not None else _parse_times(values)


_TIME_DTYPE = f"datetime64[ns, {TZ}]"   # (both paths: the dtype pandas makes of this text)


def _uniform_times(values: pd.Series) -> pd.Series | None:
    """:func:`parse_time_series` of a column of one clean shape, in one step (most files;
    the general path costs a few milliseconds a column even for a few rows): every value
    plain epoch seconds, or every value in the first format. ``None`` otherwise (the
    general path then gives the same answer)."""
    v = values.to_numpy(dtype=object)
    if len(v) == 0 or set(map(type, v)) != {str}:
        return None
    if set(map(len, v)) == {10}:
        joined = "".join(v)
        if joined.isascii() and joined.isdigit():   # epoch seconds: their digits read in bulk
            digits = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 10) - ord("0")
            seconds = digits.astype(np.int64) @ 10 ** np.arange(9, -1, -1, dtype=np.int64)
            utc = pd.Series(pd.to_datetime(seconds, unit="s", utc=True), index=values.index)
            return utc.dt.tz_convert(TZ).astype(_TIME_DTYPE)
    parsed = pd.Series(pd.to_datetime(v, format=_TIME_FORMATS[0], errors="coerce"), index=values.index)
    if parsed.isna().any():
        return None
    return parsed.dt.tz_localize(TZ).astype(_TIME_DTYPE)


def _parse_times(values: pd.Series) -> pd.Series:
    """:func:`parse_time_series`, value by value through every known format."""
    s = values.astype("string").str.strip().str.strip("'")
    out = pd.Series(pd.NaT, index=s.index, dtype=_TIME_DTYPE)
    todo = s.notna() & ~s.isin(list(NULLS))
    epoch = todo & s.str.fullmatch(r"\d{10}").fillna(False)
    if epoch.any():
        out[epoch] = pd.to_datetime(s[epoch].astype("int64"), unit="s", utc=True).dt.tz_convert(TZ)
        todo &= ~epoch
    for fmt in _TIME_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(s[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        if ok.any():
            idx = ok[ok].index
            out[idx] = parsed[ok].dt.tz_localize(TZ)
            todo[idx] = False
    if todo.any():   # ISO strings with an explicit offset
        parsed = pd.to_datetime(s[todo], errors="coerce", utc=True, format="ISO8601")
        ok = parsed.notna()
        if ok.any():
            out[ok[ok].index] = parsed[ok].dt.tz_convert(TZ)
    return out


def csv_records(text: str, *, start_line: int = 1) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(physical line where the record starts, fields)`` for CSV text.

    A record whose quotes never close is yielded with what was read; the caller
    rejects it by its field count.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    prev = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            # a NUL or a field too large: skip to the next line
            yield start_line + prev, ["\x00csv-error"]
            prev = reader.line_num
            continue
        yield start_line + prev, row
        prev = reader.line_num


def xlsx_rows(src: Source) -> list[tuple[str, list[tuple[int, list[Any]]]]]:
    """All sheets of an XLSX as ``(sheet name, [(row number, values)])``.

    The last few workbooks are cached by content, so sniffing a file and then
    reading it parses it once.
    """
    return [(title, [(i, list(v)) for i, v in rows]) for title, rows in xlsx_sheets(src)]


def xlsx_sheets(src: Source) -> tuple[tuple[str, tuple[tuple[int, tuple[Any, ...]], ...]], ...]:
    """:func:`xlsx_rows` as the cached tuples themselves (no copy of each row: for readers
    and sniffers that only look at the cells)."""
    return _xlsx_rows_cached(src.data, src.name)


def xlsx_engine() -> str:
    """``calamine`` (the ``[fast]`` extra) when installed, else ``openpyxl``; force one with
    ``CRIMEGRAPH_XLSX_ENGINE=openpyxl|calamine``. Both give the same rows."""
    want = os.environ.get("CRIMEGRAPH_XLSX_ENGINE", "auto")
    if want not in ("auto", "openpyxl", "calamine"):
        raise ValueError(f"CRIMEGRAPH_XLSX_ENGINE={want!r}; use auto, openpyxl or calamine")
    if want == "openpyxl":
        return "openpyxl"
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        if want == "calamine":
            from ..exceptions import MissingDependencyError

            raise MissingDependencyError("python-calamine is not installed: pip install crimegraph[fast]") from None
        return "openpyxl"
    return "calamine"


def _normal_row(values: Any) -> tuple[Any, ...]:
    """One cell convention for both engines: blanks are None, whole floats are ints,
    trailing blanks dropped."""
    return _without_trailing_blanks([_normal_cell(v) for v in values])


def _without_trailing_blanks(values: list[Any]) -> tuple[Any, ...]:
    """``values`` as a tuple, trailing ``None`` dropped (``values`` is emptied of them)."""
    while values and values[-1] is None:
        values.pop()
    return tuple(values)


def _normal_cell(v: Any) -> Any:
    return None if v is None or v == "" else (int(v) if isinstance(v, float) and v.is_integer() else v)


def _normal_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """:func:`_normal_row` of every row, worked column by column when the rows are one width
    (a sheet's used range: the usual case). A column of text only changes where a cell is
    ``""``; other columns go cell by cell."""
    width = len(rows[0]) if rows else 0
    if not width or any(len(r) != width for r in rows):
        return [_normal_row(r) for r in rows]
    columns: list[tuple[Any, ...] | list[Any]] = []
    for col in zip(*rows, strict=True):
        if set(map(type, col)) <= _TEXT_OR_NONE:
            columns.append(col if "" not in col else [None if v == "" else v for v in col])
        else:
            columns.append([_normal_cell(v) for v in col])
    out = list(zip(*columns, strict=True))
    if None in columns[-1]:   # rows ending in blanks: trimmed one by one
        for i, v in enumerate(columns[-1]):
            if v is None:
                out[i] = _without_trailing_blanks(list(out[i]))
    return out


_TEXT_OR_NONE = frozenset({str, type(None)})


def _trim_rows(rows: list[tuple[int, tuple[Any, ...]]]) -> tuple[tuple[int, tuple[Any, ...]], ...]:
    """Drop empty rows after the last row with content (not data; engines disagree on them)."""
    while rows and not rows[-1][1]:
        rows.pop()
    return tuple(rows)


@lru_cache(maxsize=4)
def _xlsx_rows_cached(data: bytes, name: str) -> tuple[tuple[str, tuple[tuple[int, tuple[Any, ...]], ...]], ...]:
    if xlsx_engine() == "calamine":
        return _calamine_rows(data, name)
    from openpyxl import load_workbook

    src = Source(name, data)

    try:
        wb = load_workbook(io.BytesIO(src.data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken zips
        raise FormatError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                          path=src.name) from None
    sheets: list[tuple[str, tuple[tuple[int, tuple[Any, ...]], ...]]] = []
    try:
        for ws in wb.worksheets:
            rows = _trim_rows(list(enumerate(_normal_rows(list(ws.iter_rows(values_only=True))), start=1)))
            sheets.append((ws.title, rows))
    except Exception as exc:
        raise FormatError(f"XLSX workbook is damaged ({type(exc).__name__}: {exc})",
                          path=src.name) from None
    finally:
        wb.close()
    return tuple(sheets)


def _calamine_rows(data: bytes, name: str) -> tuple[tuple[str, tuple[tuple[int, tuple[Any, ...]], ...]], ...]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for i, title in enumerate(wb.sheet_names):
            rows = wb.get_sheet_by_index(i).to_python(skip_empty_area=False)
            sheets.append((title, _trim_rows(list(enumerate(_normal_rows(rows), start=1)))))
    except Exception as exc:   # calamine raises its own error types for broken files
        raise FormatError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", path=name) from None
    return tuple(sheets)


def bad_value_reason(what: str, value: object) -> str:
    """``missing time`` or ``unparseable time '...'`` for a reject."""
    if clean(value) is None:
        return f"missing {what}"
    return f"unparseable {what} {value!r}"


def none_for_missing(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Text columns hold ``None`` (not NaN) where a value is missing (object dtype)."""
    for c in columns:
        vals = df[c].to_numpy(dtype=object, copy=True)
        mask = pd.isna(vals)
        if mask.any():
            vals[mask] = None
        if mask.any() or df[c].dtype != object:
            df[c] = pd.Series(vals, index=df.index, dtype=object)
    return df


def object_array(values: Sequence[Any]) -> np.ndarray:
    """``values`` as a 1-D object array, each value as it is (a tuple stays one value).
    Made by ``np.fromiter``: pandas and numpy fill an array from a list through their
    sequence checks, five times as slow for ``None`` and a fifth slower for text."""
    return np.fromiter(values, dtype=object, count=len(values))


def object_series(values: Sequence[Any]) -> pd.Series:
    """``pd.Series(values, dtype=object)``, made as :func:`object_array`."""
    return pd.Series(object_array(values), dtype=object, copy=False)


def object_frame(columns: dict[str, Sequence[Any]]) -> pd.DataFrame:
    """A DataFrame of ``object`` columns, ``None`` kept as ``None`` (pandas 3 would
    otherwise infer its ``str`` dtype and turn ``None`` into NaN)."""
    return pd.DataFrame({c: object_series(v) for c, v in columns.items()}, copy=False)


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
