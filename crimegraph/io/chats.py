"""WeChat chat exports: MemoTrace / WeChatMsg CSV and PyWxDump CSV.

MemoTrace writes ``<export>/<remark>(<id>)/<remark>_utf8.csv``: the group's
``...@chatroom`` id (or the peer's wxid for a 1:1 chat) is only in the folder
name. In groups, ``Remark``/``NickName``/``Sender`` name the member who spoke;
system messages (type 10000) have no person. PyWxDump writes ``talker`` (``我``
for the owner, ``未知`` when unknown) and ``room_name`` (the chat id).

Identity numbers, phones, bank cards and OTP codes are extracted from every
text message (:func:`crimegraph.identifiers.extract_identifiers`).
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable
from itertools import compress, repeat
from operator import itemgetter
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import FormatError
from ..identifiers import find_identifiers_many
from ..schema import MESSAGE_COLUMNS
from ._common import (
    FileReport,
    Loaded,
    PathOrBuffer,
    bad_value_reason,
    clean,
    clean_column,
    decode_text,
    map_unique,
    none_for_missing,
    object_frame,
    object_series,
    parse_time_series,
    read_csv_text,
    read_source,
)
from ._tables import dedupe

__all__ = ["read_memotrace", "read_pywxdump", "MEMOTRACE_HEADER", "PYWXDUMP_HEADERS", "chat_from_path",
           "finish_messages", "message_ids"]

MEMOTRACE_HEADER = ("localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status",
                    "StrContent", "StrTime")
PYWXDUMP_HEADERS = (
    ("id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime"),
    ("id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "content", "CreateTime"),
)
_MT_TYPES = {"1": "text", "3": "image", "34": "voice", "42": "card", "43": "video", "47": "sticker",
             "48": "location", "49": "app", "50": "call", "10000": "system", "10002": "system"}
_PW_TYPES = {"文本": "text", "图片": "image", "语音": "voice", "视频": "video", "动画表情": "sticker",
             "文件": "file", "引用回复": "text", "转账": "app", "红包": "app", "系统通知": "system",
             "拍一拍": "system", "邀请加群": "system"}
_FOLDER_RE = re.compile(r"^(?P<name>.*)\((?P<id>[^()]+)\)$")


def chat_from_path(name: str) -> tuple[str | None, str | None]:
    """``(chat_id, chat_name)`` from a MemoTrace path ``.../<remark>(<id>)/<remark>_utf8.csv``.

    Examples
    --------
    >>> chat_from_path("S1/聊天记录/地推拉新3群(12345678901@chatroom)/地推拉新3群_utf8.csv")
    ('12345678901@chatroom', '地推拉新3群')
    """
    parts = PurePath(name.replace("\\", "/")).parts
    for part in reversed(parts[:-1]):
        m = _FOLDER_RE.match(part)
        if m:
            return m.group("id"), m.group("name")
    stem = PurePath(name).stem
    return None, (stem[: -len("_utf8")] if stem.endswith("_utf8") else stem) or None


_EXTRACTED = ("id_numbers", "invalid_id_numbers", "phones", "bank_cards", "otp_codes")
_NONE_FOUND = ("",) * len(_EXTRACTED)


#: Identifiers found per message text in this process (see :func:`_extract`); emptied when
#: it would pass :data:`_SEEN_MAX` texts.
_SEEN: dict[str, tuple[str, ...]] = {}
_SEEN_MAX = 200_000


def _extract(contents: list[str | None], types: list[str]) -> list[tuple[str, ...]]:
    """The ``;``-joined identifiers of :data:`_EXTRACTED` in each message (none in system
    messages). The same message exported from several phones is extracted once (``read_case``
    reads a chat's exports in one process); the new texts all at once
    (:func:`crimegraph.identifiers.find_identifiers_many`)."""
    texts = contents if "system" not in types else [
        c if t != "system" else "" for c, t in zip(contents, types, strict=True)]
    distinct = [c for c in dict.fromkeys(texts) if c]   # (each text once, in order)
    # this call's own table (another thread may empty the cache meanwhile), in C-level passes
    found: dict[str | None, tuple[str, ...] | None] = dict(zip(distinct, map(_SEEN.get, distinct), strict=True))
    new = list(compress(distinct, map(operator.is_, found.values(), repeat(None))))
    if new:
        ids, bad, phones, _lands, cards, otps = find_identifiers_many(new)
        fresh = dict(zip(new, zip(ids, bad, phones, cards, otps, strict=True), strict=True))   # (_EXTRACTED)
        found.update(fresh)
        if len(_SEEN) + len(fresh) > _SEEN_MAX:
            _SEEN.clear()
        _SEEN.update(fresh)
    found[""] = found[None] = _NONE_FOUND   # (no text: nothing found)
    return list(map(found.__getitem__, texts))   # type: ignore[arg-type]


def _open_csv(path_or_buffer: PathOrBuffer, source_name: str | None
              ) -> tuple[str, list[str], list[int], list[list[str]]]:
    """Name for provenance, stripped header, and the remaining records of a chat CSV
    (their lines and fields)."""
    src = read_source(path_or_buffer)
    name = source_name or src.name
    text, _enc = decode_text(src)
    lines, rows = read_csv_text(text)
    if not rows:
        raise FormatError("empty file", path=name)
    return name, [h.strip() for h in rows[0]], lines[1:], rows[1:]


def message_ids(df: pd.DataFrame) -> list[str]:
    """Identity of a message across exports: chat, instant, type and content
    (:func:`stable_id` of the four; the instant as nanoseconds since the epoch)."""
    ns = df["time"].dt.as_unit("ns").array.asi8.tolist()
    blake2b = hashlib.blake2b   # (stable_id, inlined: a call per row costs a third of the time)
    return [blake2b(f"{c}\x1f{t}\x1f{k}\x1f{x}".encode(), digest_size=10).hexdigest() for c, t, k, x in
            zip(_text(df["chat_id"]), ns, _text(df["msg_type"]), _text(df["content"]), strict=True)]


def _text(column: pd.Series) -> list[Any]:
    """The values of ``column``, ``""`` for ``None`` (as :func:`stable_id` reads them)."""
    values = column.tolist()
    return ["" if v is None else v for v in values] if None in values else values


def _is_group_chat(chat_id: str | None) -> bool:
    return bool(chat_id) and chat_id.endswith("@chatroom")   # type: ignore[union-attr]


def _blank(f: list[str]) -> bool:
    return not any(x.strip() for x in f)


class _Columns:
    """The fields of ``rows`` by column, transposed once: ``columns(i)`` is field ``i`` of
    every row ("" where the row is shorter or the column is absent)."""

    def __init__(self, rows: list[list[str]]) -> None:
        width = max(map(len, rows), default=0)
        if min(map(len, rows), default=0) < width:
            rows = [f if len(f) == width else [*f, *[""] * (width - len(f))] for f in rows]
        self._cols = list(zip(*rows, strict=True))   # (all padded to one width)
        self._n = len(rows)

    def __call__(self, i: int | None) -> list[str]:
        return list(self._cols[i]) if i is not None and i < len(self._cols) else [""] * self._n


def finish_messages(frame: pd.DataFrame, report: FileReport, *, source_file: str,
                    device: str | None, raw_of: Callable[[int], str]) -> pd.DataFrame:
    """Validate times (vectorised), reject bad rows, extract identifiers, drop repeats.

    ``frame`` has one row per parsed record (object columns), cleaned except for the
    optional ``time_alt``, the raw text of a second time read where ``time_raw`` does not
    parse; ``raw_of(i)`` gives the raw text of row ``i`` for the rejects report.
    """
    if frame.empty:
        report.finish()
        return pd.DataFrame({c: pd.Series(dtype="object") for c in MESSAGE_COLUMNS})
    df = frame
    times = parse_time_series(df["time_raw"])
    if "time_alt" in df:   # (raw text, cleaned here for the rows that need it)
        miss = times.isna().to_numpy()
        if miss.any():
            alt = df["time_alt"][miss]
            times = times.fillna(parse_time_series(pd.Series(clean_column(alt), index=alt.index, dtype=object)))
    bad = times.isna().to_numpy()
    for i in np.flatnonzero(bad):
        report.reject(int(df["source_line"].iat[i]), bad_value_reason("time", df["time_raw"].iat[i]), raw_of(int(i)))
    if bad.any():
        df = df.loc[~bad].reset_index(drop=True)
        times = times[~bad].reset_index(drop=True)
    df["time"] = times
    report.accepted = len(df)
    content = _text(df["content"])
    df["content"] = object_series(content)
    ext = _extract(content, df["msg_type"].tolist())
    found = list(zip(*ext, strict=True)) or [()] * len(_EXTRACTED)   # no rows left: empty columns
    for col, values in zip(_EXTRACTED, found, strict=True):
        df[col] = object_series(values)
    df["message_id"] = message_ids(df)
    df["copies"] = 1
    df["device"] = device or ""
    df["source_file"] = source_file
    df["is_group"] = np.array(map_unique(df["chat_id"], _is_group_chat), dtype=bool)
    for c in MESSAGE_COLUMNS:
        if c not in df:
            df[c] = None
    df = df[list(MESSAGE_COLUMNS)]
    df["source_line"] = df["source_line"].astype("int64")
    df["from_owner"] = df["from_owner"].astype(bool)
    report.finish()
    df = dedupe(df, ["message_id"], report, "duplicate message in the same export")
    return none_for_missing(df, ["chat_id", "chat_name", "sender_wxid", "sender_name", "sender_remark"])


def read_memotrace(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                   device: str | None = None, chat_id: str | None = None,
                   chat_name: str | None = None) -> Loaded:
    """Read a MemoTrace / WeChatMsg chat CSV.

    Parameters
    ----------
    path_or_buffer : str, path-like or file object
    source_name : str, optional
        Provenance name; its folder ``<remark>(<id>)`` gives the chat id.
    device : str, optional
    chat_id, chat_name : str, optional
        Override what the folder name says.

    Returns
    -------
    Loaded
        ``table == "messages"``; ``owner["wechat_ids"]``/``["wechat_nicknames"]``
        from the rows the owner sent.

    Examples
    --------
    >>> from crimegraph.io import read_memotrace
    >>> p = ("data/samples/small/case/S006_林娜辉_手机/聊天记录/医保电子凭证推广1群(77428858773@chatroom)/"
    ...      "医保电子凭证推广1群_utf8.csv")
    >>> res = read_memotrace(p)
    >>> res.frame["chat_id"].iloc[0], res.report.rejected
    ('77428858773@chatroom', 1)
    """
    name, header, lines, rows = _open_csv(path_or_buffer, source_name)
    if tuple(header[: len(MEMOTRACE_HEADER)]) != MEMOTRACE_HEADER:
        raise FormatError("not a MemoTrace chat export: header does not start with "
                          + ",".join(MEMOTRACE_HEADER), path=name)
    cid, cname = chat_from_path(name)
    cid, cname = chat_id or cid, chat_name or cname
    if cid is None:
        raise FormatError("cannot tell which chat this is: MemoTrace keeps the chat id only in the "
                          "folder name '<remark>(<id>)'; pass chat_id=...", path=name)
    idx = {h: i for i, h in enumerate(header)}
    report = FileReport(name, "memotrace_csv", device=device, table="messages")
    report.rows_read = len(rows)
    if rows and min(map(len, rows)) >= len(MEMOTRACE_HEADER) and all(map(str.strip, map(itemgetter(0), rows))):
        kept, kept_lines = rows, lines   # every row whole, with a localId (the usual file)
    else:
        ok: list[int] = []
        for k, f in enumerate(rows):
            if len(f) >= len(MEMOTRACE_HEADER) and f[0].strip():
                ok.append(k)
            elif _blank(f):
                report.skip("blank line")
            elif len(f) < len(MEMOTRACE_HEADER):
                report.reject(lines[k], f"truncated row: {len(f)} of {len(header)} fields", ",".join(f))
            else:
                ok.append(k)
        kept, kept_lines = [rows[k] for k in ok], [lines[k] for k in ok]
    column = _Columns(kept)
    is_group = _is_group_chat(cid)
    mtype = map_unique(column(idx.get("Type")), lambda v: _MT_TYPES.get(clean(v) or "", "other"))
    from_owner = map_unique(column(idx.get("IsSender")), lambda v: (clean(v) or "0") == "1")
    sender = clean_column(column(idx.get("Sender")))
    nick = clean_column(column(idx.get("NickName")))
    remark = clean_column(column(idx.get("Remark")))
    system = [j for j, t in enumerate(mtype) if t == "system"] if "system" in mtype else []
    for j in system:   # (no person)
        sender[j] = nick[j] = remark[j] = None
    if not is_group:   # a 1:1 chat: the peer sent what the owner did not
        no_system = set(system)
        for j, snd in enumerate(sender):
            if not snd and j not in no_system:
                sender[j] = None if from_owner[j] else cid
    owner_ids: set[str] = set()
    owner_nicks: set[str] = set()
    for j in compress(range(len(kept)), from_owner):   # (system rows have no sender by now)
        if sender[j]:
            owner_ids.add(sender[j])   # type: ignore[arg-type]
            if nick[j]:
                owner_nicks.add(nick[j])   # type: ignore[arg-type]
    frame = object_frame({
        "chat_id": [cid] * len(kept), "chat_name": [cname] * len(kept),
        "time_raw": clean_column(column(idx.get("CreateTime"))),
        "time_alt": column(idx.get("StrTime")),   # (the fallback: cleaned where CreateTime fails)
        "msg_type": mtype, "from_owner": from_owner, "sender_wxid": sender, "sender_name": nick,
        "sender_remark": remark, "content": column(idx["StrContent"]),
        "source_line": kept_lines,
    })
    frame = finish_messages(frame, report, source_file=name, device=device,
                            raw_of=lambda i: ",".join(kept[i]))
    owner: dict[str, Any] = {}
    if owner_ids:
        owner["wechat_ids"] = sorted(owner_ids)
    if owner_nicks:
        owner["wechat_nicknames"] = sorted(owner_nicks)
    return Loaded("messages", frame, report, owner)


def read_pywxdump(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                  device: str | None = None) -> Loaded:
    """Read a PyWxDump chat CSV (``talker`` is ``我`` for the owner, ``未知`` if unknown).

    Returns
    -------
    Loaded
        ``table == "messages"``.
    """
    name, header, lines, rows = _open_csv(path_or_buffer, source_name)
    if tuple(header) not in PYWXDUMP_HEADERS:
        raise FormatError("not a PyWxDump chat export: header is not "
                          + " or ".join(",".join(h) for h in PYWXDUMP_HEADERS), path=name)
    idx = {h: i for i, h in enumerate(header)}
    content_col = "msg" if "msg" in idx else "content"
    report = FileReport(name, "pywxdump_csv", device=device, table="messages")
    report.rows_read = len(rows)
    ok: list[int] = []
    room_i = idx["room_name"]
    for k, f in enumerate(rows):
        if len(f) == len(header) and f[room_i].strip():
            ok.append(k)
        elif _blank(f):
            report.skip("blank line")
        elif len(f) != len(header):
            report.reject(lines[k], f"malformed row: {len(f)} fields, expected {len(header)}", ",".join(f))
        else:
            ok.append(k)   # room_name checked below, after cleaning
    kept = [rows[k] for k in ok]
    room = clean_column(_Columns(kept)(room_i))
    if any(r is None for r in room):
        no_room = {j for j, r in enumerate(room) if r is None}
        for j in sorted(no_room):
            report.reject(lines[ok[j]], "no room_name (chat id)", ",".join(kept[j]))
        ok = [k for j, k in enumerate(ok) if j not in no_room]
        kept = [rows[k] for k in ok]
        room = [r for r in room if r is not None]
    column = _Columns(kept)
    talker = clean_column(column(idx["talker"]))
    is_sender = map_unique(column(idx["is_sender"]), lambda v: (clean(v) or "0") == "1")
    mtype = map_unique(column(idx["type_name"]), lambda v: _PW_TYPES.get(clean(v) or "", "other"))
    from_owner = [t == "我" or s_ for t, s_ in zip(talker, is_sender, strict=True)]
    sender: list[str | None] = []
    for r, t, own, mt in zip(room, talker, from_owner, mtype, strict=True):
        snd = None if (own or t in (None, "未知") or mt == "system") else t
        if snd is None and not own and mt != "system" and not _is_group_chat(r):
            snd = r
        sender.append(snd)
    n = len(kept)
    frame = object_frame({
        "chat_id": room, "chat_name": [None] * n, "time_raw": column(idx["CreateTime"]),
        "msg_type": mtype, "from_owner": from_owner, "sender_wxid": sender, "sender_name": [None] * n,
        "sender_remark": [None] * n, "content": column(idx[content_col]),
        "source_line": [lines[k] for k in ok],
    })
    frame = finish_messages(frame, report, source_file=name, device=device,
                            raw_of=lambda i: ",".join(kept[i]))
    return Loaded("messages", frame, report)
