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

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import PurePath
from typing import Any

import pandas as pd

from ..exceptions import FormatError
from ..identifiers import extract_identifiers
from ..schema import MESSAGE_COLUMNS
from ._common import (
    FileReport,
    Loaded,
    PathOrBuffer,
    bad_value_reason,
    clean,
    csv_records,
    decode_text,
    none_for_missing,
    parse_time_series,
    read_source,
)
from ._tables import dedupe, stable_id

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


@lru_cache(maxsize=200_000)
def _extract_cached(content: str) -> Any:
    """The same message exported from several phones is extracted once."""
    return extract_identifiers(content)


def _open_csv(path_or_buffer: PathOrBuffer, source_name: str | None
              ) -> tuple[str, list[str], Iterator[tuple[int, list[str]]]]:
    """Name for provenance, stripped header, and the remaining records of a chat CSV."""
    src = read_source(path_or_buffer)
    name = source_name or src.name
    text, _enc = decode_text(src)
    recs = csv_records(text)
    try:
        _, header = next(recs)
    except StopIteration:
        raise FormatError("empty file", path=name) from None
    return name, [h.strip() for h in header], recs


def message_ids(df: pd.DataFrame) -> list[str]:
    """Identity of a message across exports: chat, instant, type and content."""
    return [stable_id(c, t.value, k, x) for c, t, k, x in
            zip(df["chat_id"], df["time"], df["msg_type"], df["content"], strict=True)]


def finish_messages(records: list[dict[str, Any]], report: FileReport, *, source_file: str,
                    device: str | None) -> pd.DataFrame:
    """Validate times (vectorised), reject bad rows, extract identifiers, drop repeats."""
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in MESSAGE_COLUMNS})
    df = pd.DataFrame.from_records(records)
    times = parse_time_series(df["time_raw"])
    if "time_alt" in df:
        alt = parse_time_series(df["time_alt"])
        times = times.fillna(alt)
    bad = times.isna()
    for i in df.index[bad]:
        report.reject(int(df.at[i, "source_line"]), bad_value_reason("time", df.at[i, "time_raw"]),
                      str(df.at[i, "raw"]))
    df = df.loc[~bad].copy()
    df["time"] = times[~bad]
    report.accepted = len(df)
    df["content"] = df["content"].fillna("")
    ext = [_extract_cached(c) if t != "system" and c else None
           for c, t in zip(df["content"], df["msg_type"], strict=True)]
    for col, attr in (("id_numbers", "id_numbers"), ("invalid_id_numbers", "invalid_id_numbers"),
                      ("phones", "phones"), ("bank_cards", "bank_cards"), ("otp_codes", "otp_codes")):
        df[col] = [";".join(getattr(e, attr)) if e else "" for e in ext]
    df["message_id"] = message_ids(df)
    df["copies"] = 1
    df["device"] = device or ""
    df["source_file"] = source_file
    df["is_group"] = df["chat_id"].fillna("").str.endswith("@chatroom")
    for c in MESSAGE_COLUMNS:
        if c not in df:
            df[c] = None
    df = df[list(MESSAGE_COLUMNS)].reset_index(drop=True)
    df["source_line"] = df["source_line"].astype("int64")
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
    name, header, recs = _open_csv(path_or_buffer, source_name)
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
    records = []
    owner_ids: set[str] = set()
    owner_nicks: set[str] = set()
    is_group = cid.endswith("@chatroom")
    for line, f in recs:
        report.rows_read += 1
        if not any(x.strip() for x in f):
            report.skip("blank line")
            continue
        if len(f) < len(MEMOTRACE_HEADER):
            report.reject(line, f"truncated row: {len(f)} of {len(header)} fields", ",".join(f))
            continue

        def g(col: str, f: list[str] = f) -> str | None:
            i = idx.get(col)
            return clean(f[i]) if i is not None and i < len(f) else None

        mtype = _MT_TYPES.get((g("Type") or "").strip(), "other")
        from_owner = (g("IsSender") or "0") == "1"
        sender = g("Sender")
        nick = g("NickName")
        remark = g("Remark")
        if mtype == "system":
            sender = nick = remark = None
        elif not is_group and not sender:
            sender = None if from_owner else cid
        if from_owner and sender and mtype != "system":
            owner_ids.add(sender)
            if nick:
                owner_nicks.add(nick)
        records.append({
            "chat_id": cid, "chat_name": cname, "time_raw": g("CreateTime"), "time_alt": g("StrTime"),
            "msg_type": mtype, "from_owner": from_owner, "sender_wxid": sender, "sender_name": nick,
            "sender_remark": remark, "content": f[idx["StrContent"]], "source_line": line,
            "raw": ",".join(f),
        })
    frame = finish_messages(records, report, source_file=name, device=device)
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
    name, header, recs = _open_csv(path_or_buffer, source_name)
    if tuple(header) not in PYWXDUMP_HEADERS:
        raise FormatError("not a PyWxDump chat export: header is not "
                          + " or ".join(",".join(h) for h in PYWXDUMP_HEADERS), path=name)
    idx = {h: i for i, h in enumerate(header)}
    content_col = "msg" if "msg" in idx else "content"
    report = FileReport(name, "pywxdump_csv", device=device, table="messages")
    records = []
    for line, f in recs:
        report.rows_read += 1
        if not any(x.strip() for x in f):
            report.skip("blank line")
            continue
        if len(f) != len(header):
            report.reject(line, f"malformed row: {len(f)} fields, expected {len(header)}", ",".join(f))
            continue
        room = clean(f[idx["room_name"]])
        if room is None:
            report.reject(line, "no room_name (chat id)", ",".join(f))
            continue
        talker = clean(f[idx["talker"]])
        from_owner = talker == "我" or (clean(f[idx["is_sender"]]) or "0") == "1"
        mtype = _PW_TYPES.get(clean(f[idx["type_name"]]) or "", "other")
        sender = None if (from_owner or talker in (None, "未知") or mtype == "system") else talker
        if not room.endswith("@chatroom") and not from_owner and sender is None and mtype != "system":
            sender = room
        records.append({
            "chat_id": room, "chat_name": None, "time_raw": f[idx["CreateTime"]], "msg_type": mtype,
            "from_owner": from_owner, "sender_wxid": sender, "sender_name": None, "sender_remark": None,
            "content": f[idx[content_col]], "source_line": line, "raw": ",".join(f),
        })
    frame = finish_messages(records, report, source_file=name, device=device)
    return Loaded("messages", frame, report)
