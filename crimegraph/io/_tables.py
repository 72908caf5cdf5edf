"""Turning parsed records into normalised tables, with row accounting."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..identifiers import is_masked, normalize_bank_card, normalize_id_number, normalize_mobile
from ..schema import TRANSFER_COLUMNS
from ._common import (
    FileReport,
    bad_value_reason,
    clean_column,
    map_unique,
    object_array,
    object_series,
    parse_amount,
    parse_time_series,
)

__all__ = ["finish_transfers", "repeated_transfers", "REPEAT_COLUMNS", "stable_id", "dedupe", "text_codes", "text_order", "transfer_codes"]


def stable_id(*parts: object) -> str:
    """A short stable hash of ``parts`` (same input, same id, on every machine)."""
    text = "\x1f".join(["" if p is None else str(p) for p in parts])   # (a list joins faster than a generator)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def dedupe(frame: pd.DataFrame, keys: Sequence[str], report: FileReport | None,
           reason: str) -> pd.DataFrame:
    """Drop rows whose ``keys`` repeat an earlier row; count them as skipped."""
    if frame.empty:
        return frame
    return _drop_repeats(frame, frame.duplicated(subset=list(keys), keep="first").to_numpy(), report, reason)


def _drop_repeats(frame: pd.DataFrame, dup: np.ndarray, report: FileReport | None,
                  reason: str) -> pd.DataFrame:
    """``frame`` without the rows where ``dup``, counted as skipped for ``reason``."""
    n = int(dup.sum())
    if n and report is not None:
        report.accepted -= n
        report.skip(reason, n)
    return frame.loc[~dup].reset_index(drop=True)


#: The columns of a transfers table that :func:`repeated_transfers` compares.
REPEAT_COLUMNS = ("transfer_id", "direction", "owner_account", "owner_nickname", "amount")


def repeated_transfers(df: pd.DataFrame, ids: np.ndarray | None = None) -> np.ndarray:
    """Rows of a transfers table that repeat an earlier row's record: the same transaction
    id, direction, owner (account and nickname) and amount. ``ids``: the transaction ids as
    codes (:func:`transfer_codes`), where known (numbers are compared faster than text)."""
    owner = df["owner_account"].fillna("") + "|" + df["owner_nickname"].fillna("")
    keys = pd.DataFrame({"transfer_id": df["transfer_id"] if ids is None else ids, "direction": df["direction"],
                         "owner": owner, "amount": df["amount"]})
    return keys.duplicated(keep="first").to_numpy()


def transfer_codes(ids: pd.Series) -> np.ndarray:
    """A code per transaction id, numbered in the order of the ids' text (0 for the first
    id, one more for each next distinct id; -1 where the id is missing)."""
    return text_codes(ids)[0]


def text_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A code per value of ``values`` (text), numbered in the order of the text (-1 where
    missing), and the distinct values in that order (an object array: code ``i`` is its
    ``i``-th value)."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    if len(uniques) == 0:
        return codes.astype(np.int64), uniques
    order = text_order(uniques)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    return np.where(codes >= 0, rank[codes], codes).astype(np.int64), uniques[order]


def text_order(values: np.ndarray) -> np.ndarray:
    """Positions that sort ``values`` (an object array of text) as Python sorts them,
    stably: ``sorted(range(n), key=values.__getitem__)``, sorted in C.

    The texts are sorted by their UTF-8 bytes, in the order of their code points, as
    fixed-width bytes (a quarter of the size of fixed-width text, and about twice as
    fast to sort). Fixed-width bytes (and text) cannot tell a text from the same text
    with a NUL at its end: where a text holds NUL, Python sorts them.

    Examples
    --------
    >>> import numpy as np
    >>> text_order(np.array(["b", "a\u00e9", "ab", "李", "a"], dtype=object)).tolist()
    [4, 2, 1, 0, 3]
    """
    data = [v.encode("utf-8", "surrogatepass") for v in values.tolist()]
    if not data or b"\x00" in b"".join(data):
        return np.array(sorted(range(len(data)), key=values.__getitem__), dtype=np.int64)
    return np.argsort(np.array(data, dtype=bytes), kind="stable")


def finish_transfers(records: list[dict[str, Any]] | dict[str, Sequence[Any]] | pd.DataFrame, report: FileReport,
                     *, channel: str, source_file: str, device: str | None,
                     raw_of: Callable[[int], str] | None = None) -> pd.DataFrame:
    """Validate time and amount of parsed bill rows (vectorised), reject the bad
    ones with their line, normalise counterparty identifiers, drop repeats.

    ``records`` is a list of dicts, or columns (a dict of equal-length lists, or a
    frame); the raw text of a rejected row comes from its ``raw`` field, else from
    ``raw_of(row position)``. The columns are worked on as lists and the table is
    made once at the end (a bill of a few rows costs little more than its rows).
    """
    if isinstance(records, pd.DataFrame):
        cols = {c: records[c].tolist() for c in records.columns}
    elif isinstance(records, dict):
        cols = {c: list(v) for c, v in records.items()}
    else:
        cols = {c: [r.get(c) for r in records] for c in records[0]} if records else {}
    n = len(cols["time_raw"]) if cols else 0
    if n == 0:
        report.finish()
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TRANSFER_COLUMNS})
    times = parse_time_series(object_series(cols["time_raw"]))
    amounts = map_unique(cols["amount_raw"], parse_amount)
    bad_time = times.isna().to_numpy()
    bad_amount = np.array([a is None or a < 0 for a in amounts], dtype=bool)
    bad = bad_time | bad_amount
    for i in np.flatnonzero(bad).tolist():
        reason = (bad_value_reason("time", cols["time_raw"][i]) if bad_time[i]
                  else bad_value_reason("amount", cols["amount_raw"][i]))
        raw = str(cols["raw"][i]) if "raw" in cols else (raw_of(i) if raw_of else "")
        report.reject(int(cols["source_line"][i]), reason, raw)
    if bad.any():
        kept = np.flatnonzero(~bad).tolist()
        cols = {c: [v[i] for i in kept] for c, v in cols.items()}
        amounts = [amounts[i] for i in kept]
        times = times[~bad]
    m = len(amounts)
    report.accepted = m
    missing = [None] * m
    tid = clean_column(cols["tid"])
    acct = clean_column(cols["counterparty_account"]) if "counterparty_account" in cols else missing
    card_src = clean_column(cols["counterparty_card"]) if "counterparty_card" in cols else acct
    out: dict[str, Any] = {
        "transfer_id": [f"{channel}:{t}" if t else f"{channel}:noid-{stable_id(source_file, line)}"
                        for t, line in zip(tid, cols["source_line"], strict=True)],
        "channel": [channel] * m, "direction": cols.get("direction", missing),
        "counterparty_account": acct,
        "counterparty_phone": map_unique(acct, lambda a: None if (a is None or is_masked(a)) else normalize_mobile(a)),
        "counterparty_card": map_unique(card_src, normalize_bank_card),
        "device": [device or ""] * m, "source_file": [source_file] * m,
    }
    for c in ("counterparty_id_number", "owner_id_number"):
        out[c] = map_unique(cols[c], normalize_id_number) if c in cols else missing
    for c in ("kind", "status", "product", "note", "counterparty", "owner_name", "owner_nickname",
              "owner_account", "counterparty_bank"):
        out[c] = clean_column(cols[c]) if c in cols else missing
    for c in out:   # text: None where missing (never NaN); cleaned and mapped values have no NaN
        out[c] = _objects(out[c], missing=c in _RAW)
    out["time"] = times.array
    out["amount"] = _objects(amounts)
    completed = cols["completed"] if "completed" in cols else missing
    out["completed"] = np.fromiter(map(bool, completed), dtype=bool, count=m)
    out["source_line"] = np.asarray(cols["source_line"], dtype=np.int64)
    df = pd.DataFrame({c: pd.Series(out[c], dtype=out[c].dtype, copy=False) for c in TRANSFER_COLUMNS}, copy=False)
    # (a repeat shares its transaction id: a bill whose ids are all distinct has none)
    dup = repeated_transfers(df) if len(set(out["transfer_id"])) < m else None
    if dup is not None and dup.any():
        df = _drop_repeats(df, dup, report, "duplicate transaction id (same record seen twice)")
    report.finish()
    return df


# columns of finish_transfers' table taken as the reader gave them (not cleaned or mapped)
_RAW = frozenset({"direction"})


def _objects(values: Sequence[Any], *, missing: bool = True) -> np.ndarray:
    """``values`` as a 1-D object array, ``None`` where missing (NaN, NaT, NA); ``missing=False``
    when ``values`` can hold no missing value other than ``None``."""
    arr = object_array(values)
    if missing:
        na = pd.isna(arr)
        if na.any():
            arr[na] = None
    return arr
