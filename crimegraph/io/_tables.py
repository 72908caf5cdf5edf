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
    none_for_missing,
    object_frame,
    parse_amount,
    parse_time_series,
)

__all__ = ["finish_transfers", "stable_id", "dedupe"]


def stable_id(*parts: object) -> str:
    """A short stable hash of ``parts`` (same input, same id, on every machine)."""
    text = "\x1f".join(["" if p is None else str(p) for p in parts])   # (a list joins faster than a generator)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def dedupe(frame: pd.DataFrame, keys: Sequence[str], report: FileReport | None,
           reason: str) -> pd.DataFrame:
    """Drop rows whose ``keys`` repeat an earlier row; count them as skipped."""
    if frame.empty:
        return frame
    dup = frame.duplicated(subset=list(keys), keep="first")
    n = int(dup.sum())
    if n and report is not None:
        report.accepted -= n
        report.skip(reason, n)
    return frame.loc[~dup].reset_index(drop=True)


def finish_transfers(records: list[dict[str, Any]] | pd.DataFrame, report: FileReport, *, channel: str,
                     source_file: str, device: str | None,
                     raw_of: Callable[[int], str] | None = None) -> pd.DataFrame:
    """Validate time and amount of parsed bill rows (vectorised), reject the bad
    ones with their line, normalise counterparty identifiers, drop repeats.

    ``records`` is a list of dicts or a frame of object columns; the raw text of
    a rejected row comes from its ``raw`` field, else from ``raw_of(row position)``.
    """
    if len(records) == 0:
        report.finish()
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TRANSFER_COLUMNS})
    if isinstance(records, pd.DataFrame):
        df = records
    else:
        df = object_frame({c: [r.get(c) for r in records] for c in records[0]})
    times = parse_time_series(df["time_raw"])
    amounts = pd.Series(map_unique(df["amount_raw"], parse_amount), dtype=object)
    bad_time = times.isna().to_numpy()
    bad_amount = np.array([a is None or a < 0 for a in amounts], dtype=bool)
    for i in np.flatnonzero(bad_time | bad_amount):
        reason = (bad_value_reason("time", df["time_raw"].iat[i]) if bad_time[i]
                  else bad_value_reason("amount", df["amount_raw"].iat[i]))
        raw = str(df["raw"].iat[i]) if "raw" in df else (raw_of(int(i)) if raw_of else "")
        report.reject(int(df["source_line"].iat[i]), reason, raw)
    keep = ~(bad_time | bad_amount)
    if not keep.all():
        df = df.loc[keep].reset_index(drop=True)
    df["time"] = times[keep].reset_index(drop=True)
    df["amount"] = amounts[keep].reset_index(drop=True)
    report.accepted = len(df)
    df["channel"] = channel
    tid = clean_column(df["tid"])
    df["transfer_id"] = [f"{channel}:{t}" if t else f"{channel}:noid-{stable_id(source_file, line)}"
                         for t, line in zip(tid, df["source_line"], strict=True)]
    acct = clean_column(df["counterparty_account"]) if "counterparty_account" in df else [None] * len(df)
    df["counterparty_account"] = pd.Series(acct, dtype=object)
    df["counterparty_phone"] = map_unique(acct, lambda a: None if (a is None or is_masked(a)) else normalize_mobile(a))
    card_src = clean_column(df["counterparty_card"]) if "counterparty_card" in df else acct
    df["counterparty_card"] = map_unique(card_src, normalize_bank_card)
    for c in ("counterparty_id_number", "owner_id_number"):
        if c in df:
            df[c] = map_unique(df[c], normalize_id_number)
    df["device"] = device or ""
    df["source_file"] = source_file
    for c in TRANSFER_COLUMNS:
        if c not in df:
            df[c] = None
    for c in ("kind", "status", "product", "note", "counterparty", "owner_name", "owner_nickname",
              "owner_account", "counterparty_bank"):
        df[c] = pd.Series(clean_column(df[c]), dtype=object)
    df = df[list(TRANSFER_COLUMNS)]
    df["source_line"] = df["source_line"].astype("int64")
    df["completed"] = df["completed"].astype(bool)
    owner_key = df["owner_account"].fillna("") + "|" + df["owner_nickname"].fillna("")
    df["_owner"] = owner_key
    df = dedupe(df, ["transfer_id", "direction", "_owner", "amount"], report,
                "duplicate transaction id (same record seen twice)")
    report.finish()
    text = [c for c in TRANSFER_COLUMNS if c not in ("time", "amount", "completed", "source_line")]
    return none_for_missing(df.drop(columns="_owner"), text)
