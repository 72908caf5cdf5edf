"""Address books: vCard 2.1/3.0/4.0, contact sheets (CSV/XLSX), Cellebrite Excel.

vCard is parsed here rather than with a general library because seized Android
exports break it in a specific way: quoted-printable values with soft line
breaks (``=`` at the end of a line, next line not indented) that may split a
UTF-8 sequence, and ``CHARSET=GB2312``. The QP bytes of a whole value are
joined first and decoded once, so a split character survives.
"""

from __future__ import annotations

import quopri
import re
from typing import Any

import pandas as pd

from ..exceptions import FormatError
from ..identifiers import normalize_phone
from ..schema import CONTACT_COLUMNS
from ._common import (
    FileReport,
    Loaded,
    PathOrBuffer,
    Source,
    clean,
    csv_records,
    decode_text,
    read_source,
    xlsx_rows,
)
from ._tables import dedupe

__all__ = ["read_vcard", "read_contact_sheet", "read_cellebrite_contacts", "SHEET_ALIASES",
           "match_contact_header", "finish_contacts"]

SHEET_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名称", "联系人", "联系人姓名", "备注名", "Name", "name", "显示名称"),
    "phone": ("电话", "手机", "手机号", "手机号码", "号码", "电话号码", "联系电话", "Phone", "phone",
              "Phone Number", "Mobile"),
    "wechat": ("微信号", "微信", "WeChat", "wechat", "微信ID"),
    "note": ("备注", "Note", "note", "Notes"),
    "email": ("邮箱", "Email", "E-mail", "email"),
}


def finish_contacts(records: list[dict[str, Any]], report: FileReport, *, source_file: str,
                    device: str | None) -> pd.DataFrame:
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in CONTACT_COLUMNS})
    df = pd.DataFrame.from_records(records)
    df["device"] = device or ""
    df["source_file"] = source_file
    for c in CONTACT_COLUMNS:
        if c not in df:
            df[c] = ""
    df = df[list(CONTACT_COLUMNS)].fillna("")
    df["source_line"] = df["source_line"].astype("int64")
    report.accepted = len(df)
    report.finish()
    return dedupe(df, ["name", "phones", "wechat_ids", "emails"], report, "duplicate contact entry")


def _note_with_unparsed(note: str, bad: list[str]) -> str:
    """Keep values that were not phone numbers (masked, malformed) visible in the note."""
    return (note + " " if note else "") + "unparsed numbers: " + ";".join(bad) if bad else note


def _phones(values: list[str]) -> tuple[str, list[str]]:
    """Normalised phones ``;``-joined, and the values that were not phones."""
    good: list[str] = []
    bad: list[str] = []
    for v in values:
        for part in re.split(r"[;；,，/\n]", v):
            part = part.strip()
            if not part:
                continue
            p = normalize_phone(part)
            if p and p not in good:
                good.append(p)
            elif not p:
                bad.append(part)
    return ";".join(good), bad


# ------------------------------------------------------------------------- vCard
def _unfold(text: str) -> list[tuple[int, str]]:
    """Logical vCard lines with their starting physical line; handles RFC folding
    and quoted-printable soft breaks."""
    out: list[tuple[int, str]] = []
    qp_open = False
    for n, raw in enumerate(text.splitlines(), start=1):
        if out and raw[:1] in (" ", "\t") and not qp_open:
            out[-1] = (out[-1][0], out[-1][1] + raw[1:])
            continue
        if out and qp_open:
            out[-1] = (out[-1][0], out[-1][1][:-1] + raw)   # drop the soft-break '='
        else:
            out.append((n, raw))
        cur = out[-1][1]
        qp_open = "QUOTED-PRINTABLE" in cur.split(":", 1)[0].upper() and cur.endswith("=")
    return out


def _decode_value(params: str, value: str) -> str:
    up = params.upper()
    charset = "utf-8"
    m = re.search(r"CHARSET=([\w-]+)", up)
    if m:
        charset = m.group(1).lower()
        if charset in ("gb2312", "gbk"):
            charset = "gb18030"
    if "QUOTED-PRINTABLE" in up:
        raw = quopri.decodestring(value.encode("ascii", "replace"))
        try:
            return raw.decode(charset)
        except (UnicodeDecodeError, LookupError):
            return raw.decode("gb18030", "replace")
    # RFC 6350 escapes (vCard 3.0/4.0)
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def read_vcard(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
               device: str | None = None) -> Loaded:
    """Read a vCard address book (2.1 with quoted-printable, 3.0 ``item1.TEL``, 4.0 ``tel:``).

    Each card is one row; a card that is cut off (no ``END:VCARD``) is rejected.

    Examples
    --------
    >>> import io
    >>> from crimegraph.io import read_vcard
    >>> vcf = (b"BEGIN:VCARD\\r\\nVERSION:2.1\\r\\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;=E5=BC=A0=\\r\\n"
    ...        b"=E4=B8=89;;;\\r\\nTEL;CELL:+86 138 0013 8000\\r\\nEND:VCARD\\r\\n")
    >>> read_vcard(io.BytesIO(vcf)).frame[["name", "phones"]].to_dict("records")
    [{'name': '张三', 'phones': '13800138000'}]
    """
    src = read_source(path_or_buffer)
    name = source_name or src.name
    text, _enc = decode_text(src)
    if "BEGIN:VCARD" not in text.upper():
        raise FormatError("not a vCard file (no BEGIN:VCARD)", path=name)
    report = FileReport(name, "vcard", device=device, table="contacts")
    records: list[dict[str, Any]] = []
    card: dict[str, Any] | None = None
    for line, logical in _unfold(text):
        if not logical.strip():
            continue
        key, _, value = logical.partition(":")
        prop = key.split(";", 1)[0].split(".")[-1].upper()
        params = key[len(key.split(";", 1)[0]):]
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            if card is not None:
                report.rows_read += 1
                report.reject(card["source_line"], "vCard not closed (no END:VCARD)", card["_raw"])
            card = {"source_line": line, "fn": "", "n": "", "tel": [], "wx": [], "email": [], "note": "",
                    "_raw": logical}
            continue
        if card is None:
            continue   # stray line outside a card
        card["_raw"] += "\n" + logical
        if prop == "END":
            report.rows_read += 1
            records.append(card)
            card = None
            continue
        val = _decode_value(params, value).strip()
        if prop == "FN":
            card["fn"] = val
        elif prop == "N":
            parts = [p for p in val.split(";") if p]
            card["n"] = "".join(reversed(parts[:2])) if len(parts) > 1 else "".join(parts)
        elif prop == "TEL":
            card["tel"].append(val[4:] if val.lower().startswith("tel:") else val)
        elif prop in ("X-WECHAT", "X-WEIXIN", "X-WECHAT-ID"):
            card["wx"].append(val)
        elif prop == "EMAIL":
            card["email"].append(val)
        elif prop == "NOTE":
            card["note"] = val
    if card is not None:
        report.rows_read += 1
        report.reject(card["source_line"], "vCard cut off (no END:VCARD)", card["_raw"])
    out = []
    for c in records:
        phones, bad = _phones(c["tel"])
        nm = c["fn"] or c["n"]
        if not nm and not phones and not c["wx"]:
            report.skip("empty card (no name, phone or WeChat id)")
            continue
        note = _note_with_unparsed(c["note"], bad)
        out.append({"name": nm, "phones": phones, "wechat_ids": ";".join(c["wx"]),
                    "emails": ";".join(c["email"]), "note": note, "source_line": c["source_line"]})
    frame = finish_contacts(out, report, source_file=name, device=device)
    return Loaded("contacts", frame, report)


# ------------------------------------------------------------------ contact sheet
def match_contact_header(cells: list[Any]) -> dict[str, int] | None:
    """Map ``name``/``phone``/``wechat``/``note``/``email`` to columns, if a contact header."""
    names = [str(c).strip() if c is not None else "" for c in cells]
    m: dict[str, int] = {}
    for field, aliases in SHEET_ALIASES.items():
        for a in aliases:
            if a in names:
                m[field] = names.index(a)
                break
    return m if "name" in m and ("phone" in m or "wechat" in m) else None


def _sheet_rows(src: Source) -> list[tuple[int, list[Any]]]:
    if src.is_zip:
        for _title, rows in xlsx_rows(src):
            if any(match_contact_header(v) for _, v in rows[:5]):
                return rows
        return []
    text, _enc = decode_text(src)
    return list(csv_records(text))


def read_contact_sheet(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                       device: str | None = None) -> Loaded:
    """Read a contact sheet (CSV or XLSX) with columns like 姓名, 电话, 微信号, 备注."""
    src = read_source(path_or_buffer)
    name = source_name or src.name
    rows = _sheet_rows(src)
    hdr = next((i for i, (_, v) in enumerate(rows[:5]) if match_contact_header(v)), None)
    if hdr is None:
        raise FormatError("not a contact sheet: no header with a name column (姓名/Name) and a phone "
                          "or WeChat column (电话/手机/微信号)", path=name)
    m = match_contact_header(rows[hdr][1]) or {}
    report = FileReport(name, "contact_sheet_xlsx" if src.is_zip else "contact_sheet_csv",
                        device=device, table="contacts")
    out = []
    for line, cells in rows[hdr + 1:]:
        report.rows_read += 1
        if all(clean(c) is None for c in cells):
            report.skip("blank line")
            continue
        if len(cells) <= max(m.values()) and not src.is_zip:
            report.reject(line, f"truncated row: {len(cells)} fields", ",".join(map(str, cells)))
            continue

        def g(f: str, cells: list[Any] = cells) -> str:
            i = m.get(f)
            v = clean(cells[i]) if i is not None and i < len(cells) else None
            return v or ""

        phones, bad = _phones([g("phone")])
        if not g("name") and not phones and not g("wechat"):
            report.skip("empty entry (no name, phone or WeChat id)")
            continue
        note = _note_with_unparsed(g("note"), bad)
        out.append({"name": g("name"), "phones": phones, "wechat_ids": g("wechat"), "emails": g("email"),
                    "note": note, "source_line": line})
    frame = finish_contacts(out, report, source_file=name, device=device)
    return Loaded("contacts", frame, report)


# -------------------------------------------------------------- Cellebrite Excel
_CB_HEADER = ("#", "Name", "Entries")


def _is_cellebrite_header(cells: list[Any]) -> bool:
    names = [str(c).strip() if c is not None else "" for c in cells]
    return all(h in names for h in _CB_HEADER)


def read_cellebrite_contacts(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                             device: str | None = None) -> Loaded:
    """Read the Contacts sheet of a Cellebrite Excel report (header on row 2,
    multi-line ``Entries`` cells such as ``Phone-Mobile: +86 ...``,
    ``User ID-WeChat ID: ...``)."""
    src = read_source(path_or_buffer)
    name = source_name or src.name
    if not src.is_zip:
        raise FormatError("Cellebrite contact reports are XLSX workbooks", path=name)
    sheets = xlsx_rows(src)
    owner: dict[str, Any] = {}
    rows: list[tuple[int, list[Any]]] = []
    for title, srows in sheets:
        if title.lower().startswith(("summary", "device info")):
            for _, v in srows:
                if v and v[0] and "IMEI" in str(v[0]) and len(v) > 1:
                    owner["imei"] = str(v[1])
        if not rows and any(_is_cellebrite_header(v) for _, v in srows[:5]):
            rows = srows
    hdr = next((i for i, (_, v) in enumerate(rows[:5]) if _is_cellebrite_header(v)), None)
    if hdr is None:
        raise FormatError("no Cellebrite Contacts sheet (header #, Name, Entries)", path=name)
    names = [str(c).strip() if c is not None else "" for c in rows[hdr][1]]
    ci = {h: names.index(h) for h in ("Name", "Entries", "Source", "Account") if h in names}
    report = FileReport(name, "cellebrite_contacts_xlsx", device=device, table="contacts")
    out = []
    for line, cells in rows[hdr + 1:]:
        report.rows_read += 1
        if all(clean(c) is None for c in cells):
            report.skip("blank row")
            continue
        nm = clean(cells[ci["Name"]]) if ci["Name"] < len(cells) else None
        entries = str(cells[ci["Entries"]] or "") if ci["Entries"] < len(cells) else ""
        tel, wx, mail = [], [], []
        for ent in entries.splitlines():
            label, _, val = ent.partition(":")
            val = val.strip()
            low = label.lower()
            if low.startswith("phone"):
                tel.append(val)
            elif "wechat" in low or "weixin" in low:
                wx.append(val)
            elif low.startswith("email"):
                mail.append(val)
        phones, bad = _phones(tel)
        if not nm and not phones and not wx:
            report.skip("empty entry (no name, phone or WeChat id)")
            continue
        src_app = clean(cells[ci["Source"]]) if "Source" in ci and ci["Source"] < len(cells) else None
        note = _note_with_unparsed(f"source: {src_app}" if src_app else "", bad)
        out.append({"name": nm or "", "phones": phones, "wechat_ids": ";".join(wx),
                    "emails": ";".join(mail), "note": note, "source_line": line})
    frame = finish_contacts(out, report, source_file=name, device=device)
    return Loaded("contacts", frame, report, owner)
