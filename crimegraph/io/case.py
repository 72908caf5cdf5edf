"""Read a whole case folder (DESIGN.md §1) into normalised evidence tables.

:func:`read_case` walks the folder in sorted order, recognises every file by
content, reads it, merges the tables, counts the same evidence once (a bill in
CSV and XLSX, a group exported from several phones), works out who owns each
device (``case.toml``, then the files' own headers) and returns a :class:`Case`
with a :class:`LoadReport` that accounts for every row.
"""

from __future__ import annotations

import functools
import html
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._memory import gc_paused, release_free_memory
from .._parallel import fork_context, fork_processes, start_forked
from .._validation import check_positive_int
from ..exceptions import FormatError
from ..identifiers import normalize_bank_card, normalize_id_number, normalize_phone
from ..schema import (
    CONTACT_COLUMNS,
    DEVICE_COLUMNS,
    MEMBERSHIP_COLUMNS,
    MESSAGE_COLUMNS,
    TRANSFER_COLUMNS,
)
from ._common import FileReport, Loaded, Source, empty_frame
from ._tables import REPEAT_COLUMNS, repeated_transfers, transfer_codes
from .chats import message_ids
from .registry import READERS, _NamedBytes, describe_unknown, sniff

__all__ = ["Case", "LoadReport", "read_case", "read_case_toml"]

_TABLES = {"transfers": TRANSFER_COLUMNS, "messages": MESSAGE_COLUMNS, "contacts": CONTACT_COLUMNS}


@dataclass
class LoadReport:
    """Per-file accounting of a case load.

    Attributes
    ----------
    files : list of FileReport
        One entry per (file, table) read, plus one per unrecognised or failed file.
    """

    files: list[FileReport] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """``load_report.csv``: file, format, status, reason, rows read/accepted/rejected/skipped."""
        cols = ["file", "format", "status", "reason", "device", "table", "rows_read", "accepted",
                "rejected", "skipped", "skip_reasons"]
        return pd.DataFrame([f.as_row() for f in self.files], columns=cols)

    def rejects(self) -> pd.DataFrame:
        """``rejects.csv``: one row per rejected row (file, line, reason, raw text)."""
        rows = [{"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw}
                for f in self.files for r in sorted(f.rejects, key=lambda r: r.line)]
        return pd.DataFrame(rows, columns=["file", "line", "reason", "raw"])

    @property
    def totals(self) -> dict[str, int]:
        t = {"files": len({f.file for f in self.files}), "rows_read": 0, "accepted": 0, "rejected": 0,
             "skipped": 0}
        for f in self.files:
            for k in ("rows_read", "accepted", "rejected", "skipped"):
                t[k] += getattr(f, k)
        t["unrecognised_files"] = sum(f.status == "unrecognised" for f in self.files)
        t["failed_files"] = sum(f.status == "failed" for f in self.files)
        return t

    @property
    def unexplained_rows(self) -> int:
        """Rows neither accepted, rejected nor skipped with a reason (must be 0)."""
        return sum(f.rows_read - f.accepted - f.rejected - f.skipped for f in self.files)


@dataclass
class Case:
    """A loaded case: evidence tables with provenance, device owners, load report.

    Attributes
    ----------
    path : pathlib.Path
    title : str
    transfers, messages, contacts, memberships, devices : pandas.DataFrame
        See :mod:`crimegraph.schema` for the columns.
    report : LoadReport
    """

    path: Path
    title: str
    transfers: pd.DataFrame
    messages: pd.DataFrame
    contacts: pd.DataFrame
    memberships: pd.DataFrame
    devices: pd.DataFrame
    report: LoadReport

    def summary(self) -> dict[str, Any]:
        """Counts an analyst checks first."""
        t = self.report.totals
        leaked = set()
        for ids in self.messages["id_numbers"]:
            if ids:
                leaked.update(ids.split(";"))
        return {"devices": len(self.devices), "files": t["files"], "rows_read": t["rows_read"],
                "rows_rejected": t["rejected"], "messages": len(self.messages),
                "transfers": int(self.transfers["transfer_id"].nunique()),
                "contacts": len(self.contacts), "leaked_id_numbers": len(leaked),
                "unrecognised_files": t["unrecognised_files"]}

    def _repr_html_(self) -> str:
        s = self.summary()
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{v}</td></tr>"
                       for k, v in s.items())
        return f"<div><b>Case</b> {html.escape(self.title)}<table>{rows}</table></div>"

    def __repr__(self) -> str:
        return f"Case({self.title!r}, {self.summary()})"


def read_case_toml(path: str | PathLike[str]) -> dict[str, Any]:
    """Parse ``case.toml``: ``[case] title`` and ``[[device]]`` entries.

    Raises
    ------
    FormatError
        The file is not valid TOML or a device entry has no ``folder``.
    """
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"case.toml is not valid TOML: {exc}", path=p) from None
    devices = doc.get("device", [])
    if not isinstance(devices, list):
        raise FormatError("[[device]] must be an array of tables", path=p)
    for i, d in enumerate(devices):
        if not isinstance(d, dict) or not d.get("folder"):
            raise FormatError(f"device entry #{i + 1} has no folder = \"...\"", path=p)
    return doc


def _list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def _progress_bar(total: int, progress: bool | None) -> Any:
    if progress is False or total < 50:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="reading files", unit="file", disable=None if progress is None else False)


def _progress(items: Iterable[Any], total: int, progress: bool | None) -> Iterator[Any]:
    bar = _progress_bar(total, progress)
    for item in items:
        yield item
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()


_Result = list["Loaded | FileReport"]


def _read_file(root: Path, p: Path) -> _Result:
    """Recognise and read one file of a case: a :class:`Loaded` per reader that took it, or the
    :class:`FileReport` saying why none did."""
    rel = p.relative_to(root).as_posix()
    if rel == "case.toml":
        return [FileReport(rel, "case_toml", table="config")]
    parts = rel.split("/")
    device = parts[0] if len(parts) > 1 else None
    try:
        src = Source(rel, p.read_bytes())
    except OSError as exc:
        return [FileReport(rel, status="failed", reason=f"cannot read: {exc}", device=device)]
    with gc_paused():   # parsing: a list per record, no cycles (see crimegraph._memory)
        return _read_known(src, rel, device)


def _read_known(src: Source, rel: str, device: str | None) -> _Result:
    """:func:`_read_file` once the bytes are read."""
    names = sniff(src)
    if not names:
        return [FileReport(rel, status="unrecognised", reason=describe_unknown(src), device=device)]
    out: _Result = []
    for name in names:
        dev = None if name == "bank_statement" else device
        try:
            res: Loaded = READERS[name](_NamedBytes(src), source_name=rel, device=dev)
        except FormatError as exc:
            out.append(FileReport(rel, name, status="failed", reason=exc.reason, device=dev))
            continue
        except Exception as exc:  # never a raw traceback for garbage input
            out.append(FileReport(rel, name, status="failed", device=dev,
                                  reason=f"unreadable ({type(exc).__name__}: {exc})"))
            continue
        out.append(res)
    return out


def _default_workers(n_files: int) -> int:
    """Processes for reading: one per core (up to 8) for big cases where ``fork`` is safe (Linux)."""
    return 1 if n_files < 200 else fork_processes()


_GROUP_CHAT_RE = re.compile(r"(\d{5,}@chatroom)")


def _tasks(root: Path, files: list[Path]) -> list[list[int]]:
    """Files (by position) to read together in one worker, biggest task first.

    The exports of one group chat from several phones go to the same worker, so
    each message's identifiers are extracted once (see ``chats._extract``);
    other files go in runs of four.
    """
    by_chat: dict[str, list[int]] = defaultdict(list)
    rest: list[int] = []
    for i, p in enumerate(files):
        m = _GROUP_CHAT_RE.search(p.relative_to(root).as_posix())
        if m:
            by_chat[m.group(1)].append(i)
        else:
            rest.append(i)
    tasks = list(by_chat.values()) + [rest[i:i + 4] for i in range(0, len(rest), 4)]
    size = {i: _size(p) for i, p in enumerate(files)}
    return sorted(tasks, key=lambda t: (-sum(size[i] for i in t), t[0]))


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _read_task(root: Path, files: list[Path]) -> list[_Result]:
    return [_read_file(root, p) for p in files]


def _read_files(root: Path, files: list[Path], workers: int, progress: bool | None) -> Iterator[_Result]:
    """Results of :func:`_read_file` in the order of ``files`` (in ``workers`` processes)."""
    if workers <= 1:
        yield from _progress((_read_file(root, p) for p in files), len(files), progress)
        return
    tasks = _tasks(root, files)
    results: list[_Result | None] = [None] * len(files)
    with ProcessPoolExecutor(max_workers=workers, mp_context=fork_context()) as pool:
        futures = {pool.submit(_read_task, root, [files[i] for i in t]): t for t in tasks}
        bar = _progress_bar(len(files), progress)
        for fut in as_completed(futures):
            for i, res in zip(futures[fut], fut.result(), strict=True):
                results[i] = res
            if bar is not None:
                bar.update(len(futures[fut]))
        if bar is not None:
            bar.close()
    for res in results:
        if res is None:   # every file belongs to exactly one task
            raise RuntimeError("internal error: a file of the case was not read")
        yield res


def read_case(path: str | PathLike[str], *, progress: bool | None = None, workers: int | None = None) -> Case:
    """Read a case folder into evidence tables, accounting for every row.

    Parameters
    ----------
    path : str or path-like
        The case folder: one sub-folder per seized device, other sub-folders
        with bank statements, an optional ``case.toml``.
    progress : bool or None, default None
        Show a progress bar: ``None`` = only on a terminal and for 50+ files.
    workers : int, optional
        Processes reading files. Default: one per core (up to 8) for 200+ files
        on Linux, else 1. The result is the same for any number of workers.

    Returns
    -------
    Case

    Raises
    ------
    FormatError
        ``path`` is not a folder, or ``case.toml`` is invalid.

    Examples
    --------
    >>> import crimegraph
    >>> case = crimegraph.read_case("data/samples/small/case")
    >>> case.report.unexplained_rows
    0
    >>> sorted(case.report.rejects()["reason"].str.split(":").str[0])
    ['truncated row', "unparseable amount '12,3a.0'", "unparseable time '16x8'"]
    """
    return _read_case(path, progress=progress, workers=workers)[0]


@gc_paused()   # (the workers forked here keep it paused: reading makes hardly any cycles)
def _read_case(path: str | PathLike[str], *, progress: bool | None = None, workers: int | None = None
               ) -> tuple[Case, np.ndarray]:
    """:func:`read_case`, and the transfers' :func:`transfer_codes` worked out on the way (for
    :func:`crimegraph.resolve._resolve_entities`). The cycle collector is paused throughout,
    in the worker processes too: with it, their CPU was 2 to 5% more and this process's
    about 15% more, for about 20 objects in cycles found over a Dingtao-scale case."""
    root = Path(path)
    if not root.is_dir():
        raise FormatError("not a case folder (expected a folder of device sub-folders)", path=root)
    toml_path = root / "case.toml"
    config = read_case_toml(toml_path) if toml_path.is_file() else {}
    report = LoadReport()
    frames: dict[str, list[pd.DataFrame]] = defaultdict(list)
    owners: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    n_workers = _default_workers(len(files)) if workers is None else check_positive_int("workers", workers)
    for results in _read_files(root, files, n_workers, progress):
        for res in results:
            if isinstance(res, FileReport):
                report.files.append(res)
                continue
            report.files.append(res.report)
            frames[res.table].append(res.frame)
            dev = res.report.device
            if dev:
                for k, v in res.owner.items():
                    owners[dev][k].update(_list(v))
    # the transfers are joined once their repeats across files are known (dropped from each
    # file's frame first: the table is copied once); the other tables now
    transfer_frames = [f for f in frames.pop("transfers", []) if not f.empty]
    tables = {t: _concat(frames.pop(t, []), cols) for t, cols in _TABLES.items() if t != "transfers"}
    release_free_memory()   # each file's frame, now in the tables
    by_file = {f.file: f for f in report.files if f.table in _TABLES}
    # which transfers repeat across files: on a big case a forked child works it out (from
    # the columns compared) while this process merges the messages (the same result)
    keys = _repeat_keys(transfer_frames)
    with start_forked(functools.partial(_repeated, keys), here=n_workers <= 1) as repeats:
        _owner_from_other_copies(tables["messages"], owners)
        devices = _devices(root, config, owners, files)
        messages = _fill_owner_sender(tables["messages"], devices)
        messages = _merge_messages(_canonical_direct_chats(messages, devices), by_file)
        memberships = _memberships(messages)
    dup, codes = repeats.result()
    if dup.any():
        _count_skipped(keys.loc[dup, "source_file"], by_file,
                       "duplicate: same transaction already loaded from another file")
    del keys
    transfers = _join_without(transfer_frames, dup)
    codes = codes[~dup]   # (a repeat's id stays: its first row is kept, so the codes stay dense)
    contacts = tables["contacts"]
    title = str(config.get("case", {}).get("title") or root.name)
    del tables
    release_free_memory()   # the per-file frames and intermediate copies: ~1 GB at Dingtao scale
    return Case(root, title, transfers, messages, contacts, memberships, devices, report), codes


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    full = [f for f in frames if not f.empty]
    return pd.concat(full, ignore_index=True) if full else empty_frame(columns)


def _repeated(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """:func:`repeated_transfers` of the merged table, and its :func:`transfer_codes` (which
    it compares; nothing to collect: no cycles made)."""
    with gc_paused():
        codes = transfer_codes(df["transfer_id"])
        return repeated_transfers(df, codes), codes


#: Columns of the transfers table that :func:`repeated_transfers` compares, and the file.
_REPEAT_KEYS = (*REPEAT_COLUMNS, "source_file")


def _repeat_keys(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """:data:`_REPEAT_KEYS` of the transfers of ``frames`` (non-empty), joined."""
    if not frames:
        return empty_frame(_REPEAT_KEYS)
    return pd.DataFrame({c: np.concatenate([f[c].to_numpy(dtype=object) for f in frames])
                         for c in _REPEAT_KEYS}, dtype=object, copy=False)


def _join_without(frames: list[pd.DataFrame], dup: np.ndarray) -> pd.DataFrame:
    """The transfers table: ``frames`` (non-empty) joined, without the rows where ``dup``
    (one flag per row of the frames, in order). The same table as joining them and then
    dropping those rows (a frame left empty still counts for the columns' types)."""
    if not frames:
        return empty_frame(TRANSFER_COLUMNS)
    ends = np.cumsum([len(f) for f in frames])
    kept = [f.loc[~d] if d.any() else f for f, d in zip(frames, np.split(dup, ends[:-1]), strict=True)]
    return pd.concat(kept, ignore_index=True)


def _count_skipped(files: pd.Series, by_file: dict[str, FileReport], reason: str) -> None:
    """Move rows of ``files`` (one entry per row) from accepted to skipped, with ``reason``."""
    for f, n in files.value_counts(sort=False).items():
        rep = by_file[f]
        rep.accepted -= int(n)
        rep.skip(reason, int(n))


def _merge_messages(df: pd.DataFrame, by_file: dict[str, FileReport]) -> pd.DataFrame:
    """Keep one row per message; count on how many exports it was seen."""
    if df.empty:
        return df
    codes, uniques = pd.factorize(df["message_id"])
    # each message's first copy: where its code first appears (factorize numbers the codes in
    # order of appearance, so that is where a code passes all codes before it)
    keep = np.empty(len(df), dtype=bool)
    keep[0] = True
    np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=keep[1:])
    _count_skipped(df.loc[~keep, "source_file"], by_file,
                   "duplicate: same message already loaded from another phone's export")
    kept = np.flatnonzero(keep)   # the first copies, in the table's order
    rows = kept[_chat_time_id_order(df, kept)]
    out = df.take(rows).reset_index(drop=True)   # (the one copy of the table)
    kept_codes = codes[rows]
    out["copies"] = np.bincount(codes, minlength=len(uniques))[kept_codes].astype("int64")
    # fill sender details missing in the first copy (PyWxDump lacks nicknames) from later copies
    for col in ("sender_wxid", "sender_name", "chat_name"):
        values = df[col].to_numpy(dtype=object)
        mine = values[rows]
        miss = np.flatnonzero(pd.isna(mine))
        if len(miss):
            wanted = np.zeros(len(uniques), dtype=bool)
            wanted[kept_codes[miss]] = True
            copies = np.flatnonzero(wanted[codes])   # every copy of those messages, in table order
            known = copies[pd.notna(values[copies])]
            firsts = known[np.unique(codes[known], return_index=True)[1]]
            best = np.full(len(uniques), None, dtype=object)
            best[codes[firsts]] = values[firsts]
            mine[miss] = best[kept_codes[miss]]   # (None where no copy has it)
        out[col] = pd.Series(mine, index=out.index, dtype=object)
    return out


def _chat_time_id_order(df: pd.DataFrame, kept: np.ndarray) -> np.ndarray:
    """The order of rows ``kept`` by chat (none last), time, then message id (codes sort like
    the text: chat ids by factorize; the ids, in C, only where chat and time tie)."""
    chat, _ = pd.factorize(df["chat_id"].to_numpy(dtype=object)[kept], sort=True)
    chat = np.where(chat < 0, chat.max() + 1, chat)   # a message without a chat id sorts last
    time = df["time"].array[kept].as_unit("ns").asi8
    order = np.lexsort((time, chat))
    c, t = chat[order], time[order]
    tie = (c[1:] == c[:-1]) & (t[1:] == t[:-1])
    if tie.any():   # runs of rows with one chat and time: each put in message id order
        in_run = np.zeros(len(order), dtype=bool)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        at = np.flatnonzero(in_run)
        sub = order[at]
        ids = df["message_id"].to_numpy(dtype=object)[kept[sub]].astype(str)
        order[at] = sub[np.lexsort((ids, time[sub], chat[sub]))]
    return order


def _devices(root: Path, config: dict[str, Any], owners: dict[str, dict[str, set[str]]],
             files: list[Path]) -> pd.DataFrame:
    declared = {d["folder"]: d for d in config.get("device", [])}
    folders = sorted({p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1})
    rows = []
    for folder in folders:
        inferred = owners.get(folder, {})
        d = declared.get(folder, {})
        if not d and not inferred:
            continue   # e.g. the bank statement folder: not a seized device
        evidence = []
        if d:
            evidence.append("case.toml")
        if inferred:
            evidence.append("inferred from " + ", ".join(sorted(inferred)))
        phones = sorted({p for p in (normalize_phone(x) for x in _list(d.get("phones"))) if p})
        cards = sorted({c for c in (normalize_bank_card(x) for x in _list(d.get("bank_cards"))) if c})
        idn = normalize_id_number(d.get("id_number")) if d.get("id_number") else None
        alipay = sorted(set(_list(d.get("alipay_accounts"))) | inferred.get("alipay_accounts", set()))
        rows.append({
            "device": folder,
            "owner_name": d.get("owner") or ";".join(sorted(inferred.get("names", set()))),
            "phones": ";".join(phones),
            "wechat_ids": ";".join(sorted(set(_list(d.get("wechat_ids"))) | inferred.get("wechat_ids", set())
                                          | inferred.get("wechat_ids (same messages in other phones' exports)",
                                                         set()))),
            "wechat_nicknames": ";".join(sorted(inferred.get("wechat_nicknames", set()))),
            "alipay_accounts": ";".join(alipay),
            "id_number": idn or "",
            "bank_cards": ";".join(cards),
            "seized_on": str(d.get("seized_on", "")),
            "seized_at": str(d.get("seized_at", "")),
            "evidence": "; ".join(evidence),
        })
    return pd.DataFrame(rows, columns=list(DEVICE_COLUMNS))


def _owner_from_other_copies(messages: pd.DataFrame, owners: dict[str, dict[str, set[str]]]) -> None:
    """A device whose export does not name its owner (PyWxDump ``我``) learns the owner's
    WeChat id from other phones' copies of the same messages, where the sender is named."""
    if messages.empty:
        return
    mine = messages["from_owner"].astype(bool) & messages["sender_wxid"].isna()
    if not mine.any():
        return
    # a 1:1 chat is named after the peer on each phone, so match on instant, type and content
    # (only messages sent at the instant of an unnamed one can match: only those are hashed)
    named = messages["sender_wxid"].notna() & messages["time"].isin(messages.loc[mine, "time"].unique())
    look = mine | named
    key = pd.Series(0, index=messages.index, dtype="uint64")
    key[look] = pd.util.hash_pandas_object(messages.loc[look, ["time", "msg_type", "content"]], index=False).to_numpy()
    pairs = pd.DataFrame({"key": key[named].to_numpy(), "wx": messages.loc[named, "sender_wxid"].to_numpy()})
    pairs = pairs.drop_duplicates()
    unique = pairs.drop_duplicates("key", keep=False)   # keys whose named copies agree on one sender
    by_key = pd.Series(unique["wx"].to_numpy(), index=unique["key"].to_numpy())
    for device, idx in messages[mine].groupby("device", sort=True).groups.items():
        if not device or owners.get(device, {}).get("wechat_ids"):
            continue
        ids = set(key[idx].map(by_key).dropna())
        if len(ids) == 1:   # all the owner's messages point at one account
            owners[device]["wechat_ids (same messages in other phones' exports)"] = ids


def _fill_owner_sender(messages: pd.DataFrame, devices: pd.DataFrame) -> pd.DataFrame:
    """Messages the owner sent without a sender id (PyWxDump ``我``) get the owner's
    WeChat id when the device has exactly one."""
    if messages.empty or devices.empty:
        return messages
    one = {r.device: r.wechat_ids for r in devices.itertuples() if r.wechat_ids and ";" not in r.wechat_ids}
    need = messages["from_owner"].astype(bool) & messages["sender_wxid"].isna()
    if need.any():
        messages.loc[need, "sender_wxid"] = messages.loc[need, "device"].map(one)
    return messages


def _canonical_direct_chats(messages: pd.DataFrame, devices: pd.DataFrame) -> pd.DataFrame:
    """A 1:1 chat is named after the peer on each phone; where the owner's WeChat id
    is known, name it ``dm:<a>|<b>`` (sorted) so both phones' copies are one chat."""
    if messages.empty or devices.empty:
        return messages
    one = {r.device: r.wechat_ids for r in devices.itertuples() if r.wechat_ids and ";" not in r.wechat_ids}
    direct = ~messages["is_group"].astype(bool) & messages["device"].isin(list(one))
    if not direct.any():
        return messages
    # (read_case's own intermediate table, changed in place: no copy of millions of rows)
    own = messages.loc[direct, "device"].map(one)
    peer = messages.loc[direct, "chat_id"]
    messages.loc[direct, "chat_id"] = ["dm:" + "|".join(sorted((a, b))) for a, b in zip(own, peer, strict=True)]
    messages.loc[direct, "message_id"] = message_ids(messages.loc[direct])
    return messages


def _memberships(messages: pd.DataFrame) -> pd.DataFrame:
    """Who spoke in which chat, with a message count and the first place seen."""
    if messages.empty:
        return empty_frame(MEMBERSHIP_COLUMNS)
    spoke = messages[["chat_id", "sender_wxid", "chat_name", "is_group", "sender_name", "message_id", "device",
                      "source_file", "source_line"]].dropna(subset=["sender_wxid"])   # (the columns used)
    if spoke.empty:
        return empty_frame(MEMBERSHIP_COLUMNS)
    g = spoke.groupby(["chat_id", "sender_wxid"], sort=True)
    out = g.agg(chat_name=("chat_name", "first"), is_group=("is_group", "first"),
                member_name=("sender_name", "first"), messages=("message_id", "size"),
                device=("device", "first"), source_file=("source_file", "first"),
                source_line=("source_line", "first")).reset_index()
    out = out.rename(columns={"sender_wxid": "member_wxid"})
    return out[list(MEMBERSHIP_COLUMNS)]
