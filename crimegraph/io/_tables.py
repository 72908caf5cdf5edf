"""Turning parsed records into normalised tables, with row accounting."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..identifiers import is_masked, normalize_bank_card, normalize_id_number, normalize_mobile
from ..schema import TRANSFER_COLUMNS
from ._common import (
    FileReport,
    bad_value_reason,
    clean,
    none_for_missing,
    parse_amount,
    parse_time_series,
)

__all__ = ["finish_transfers", "stable_id", "dedupe"]


def stable_id(*parts: object) -> str:
    """A short stable hash of ``parts`` (same input, same id, on every machine)."""
    h = hashlib.blake2b("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8"),
                        digest_size=10)
    return h.hexdigest()


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


def finish_transfers(records: list[dict[str, Any]], report: FileReport, *, channel: str,
                     source_file: str, device: str | None) -> pd.DataFrame:
    """Validate time and amount of parsed bill rows (vectorised), reject the bad
    ones with their line, normalise counterparty identifiers, drop repeats."""
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TRANSFER_COLUMNS})
    df = pd.DataFrame.from_records(records)
    times = parse_time_series(df["time_raw"])
    amounts = df["amount_raw"].map(parse_amount)
    bad_time = times.isna()
    bad_amount = amounts.isna() | amounts.map(lambda a: a is not None and a < 0)
    for i in df.index[bad_time | bad_amount]:
        reason = (bad_value_reason("time", df.at[i, "time_raw"]) if bad_time[i]
                  else bad_value_reason("amount", df.at[i, "amount_raw"]))
        report.reject(int(df.at[i, "source_line"]), reason, str(df.at[i, "raw"]))
    keep = ~(bad_time | bad_amount)
    df = df.loc[keep].copy()
    df["time"] = times[keep]
    df["amount"] = amounts[keep]
    report.accepted = len(df)
    df["channel"] = channel
    tid = df["tid"].map(clean)
    fallback = [stable_id(source_file, line) for line in df["source_line"]]
    df["transfer_id"] = [f"{channel}:{t}" if t else f"{channel}:noid-{f}"
                         for t, f in zip(tid, fallback, strict=True)]
    acct = df.get("counterparty_account", pd.Series(None, index=df.index)).map(clean)
    df["counterparty_account"] = acct
    df["counterparty_phone"] = [None if (a is None or is_masked(a)) else normalize_mobile(a) for a in acct]
    card_src = df.get("counterparty_card", acct)
    df["counterparty_card"] = [normalize_bank_card(c) for c in card_src.map(clean)]
    if "counterparty_id_number" in df:
        df["counterparty_id_number"] = df["counterparty_id_number"].map(normalize_id_number)
    if "owner_id_number" in df:
        df["owner_id_number"] = df["owner_id_number"].map(normalize_id_number)
    df["device"] = device or ""
    df["source_file"] = source_file
    for c in TRANSFER_COLUMNS:
        if c not in df:
            df[c] = None
    for c in ("kind", "status", "product", "note", "counterparty", "owner_name", "owner_nickname",
              "owner_account", "counterparty_bank"):
        df[c] = df[c].map(clean)
    df = df[list(TRANSFER_COLUMNS)].reset_index(drop=True)
    df["source_line"] = df["source_line"].astype("int64")
    owner_key = df["owner_account"].fillna("") + "|" + df["owner_nickname"].fillna("")
    df["_owner"] = owner_key
    df = dedupe(df, ["transfer_id", "direction", "_owner", "amount"], report,
                "duplicate transaction id (same record seen twice)")
    report.finish()
    text = [c for c in TRANSFER_COLUMNS if c not in ("time", "amount", "completed", "source_line")]
    return none_for_missing(df.drop(columns="_owner"), text)
