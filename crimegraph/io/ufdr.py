"""Cellebrite UFDR ``report.xml`` (namespace ``http://pa.cellebrite.com/report/2.0``).

Parsed with :mod:`defusedxml` (no DTDs, no entity expansion: a seized report
is untrusted input) through SAX, so every model keeps the line it starts on.
A ``.ufdr`` zip is opened and its ``report.xml`` read.

Chats: ``<modelType type="Chat">`` models with ``Id``, ``Name``, ``Source``,
``Participants`` (Party: Identifier, Name, IsPhoneOwner) and ``Messages``
(InstantMessage: Body, TimeStamp, From). Contacts: ``<modelType type="Contact">``
with ``Name`` and ``Entries`` (PhoneNumber/UserID/EMailAddress with Value).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.sax.handler import ContentHandler

from ..exceptions import FormatError
from ._common import FileReport, Loaded, PathOrBuffer, Source, clean, object_frame, read_source
from .chats import finish_messages
from .contacts import _note_with_unparsed, _phones, finish_contacts

__all__ = ["read_ufdr_chats", "read_ufdr_contacts", "is_ufdr_report"]

NS = "http://pa.cellebrite.com/report/2.0"


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    line: int
    text: str = ""
    children: list[_Node] = field(default_factory=list)

    def kids(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]

    def field_value(self, name: str) -> str | None:
        for f in self.children:
            if f.tag == "field" and f.attrs.get("name") == name:
                for v in f.kids("value"):
                    return v.text
                return None
        return None

    def sub_models(self, tag: str, name: str) -> list[_Node]:
        out: list[_Node] = []
        for f in self.children:
            if f.tag == tag and f.attrs.get("name") == name:
                out += f.kids("model")
        return out


class _Builder(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[_Node] = []
        self.root: _Node | None = None
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 (SAX API)
        self.locator = locator

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802
        tag = name.split(":")[-1]
        node = _Node(tag, dict(attrs), self.locator.getLineNumber() if self.locator else 0)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def endElement(self, name: str) -> None:  # noqa: N802
        self.stack.pop()

    def characters(self, content: str) -> None:
        if self.stack:
            self.stack[-1].text += content


def _xml_bytes(src: Source) -> bytes:
    if src.is_zip:
        try:
            with zipfile.ZipFile(io.BytesIO(src.data)) as z:
                names = [n for n in z.namelist() if n.rsplit("/", 1)[-1] == "report.xml"]
                if not names:
                    raise FormatError("zip archive without report.xml (not a UFDR)", path=src.name)
                return z.read(names[0])
        except FormatError:
            raise
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError, ValueError) as exc:
            # zipfile raises all of these for damaged archives (unknown version, bad offsets)
            raise FormatError(f"damaged zip archive ({type(exc).__name__}: {exc})", path=src.name) from None
    return src.data


def is_ufdr_report(head: bytes) -> bool:
    """Whether the first bytes look like a Cellebrite report.xml."""
    return b"<project" in head and b"cellebrite.com/report" in head


def _parse(src: Source) -> _Node:
    from defusedxml import sax as dsax
    from defusedxml.common import DefusedXmlException

    data = _xml_bytes(src)
    if not is_ufdr_report(data[:4096]):
        raise FormatError("not a Cellebrite report.xml (no <project> in namespace " + NS + ")",
                          path=src.name)
    b = _Builder()
    try:
        dsax.parseString(data, b)
    except DefusedXmlException as exc:
        raise FormatError(f"refused unsafe XML ({type(exc).__name__}): DTDs and entities are not "
                          "allowed in evidence files", path=src.name) from None
    except Exception as exc:  # SAXParseException carries the line
        line = exc.getLineNumber() if hasattr(exc, "getLineNumber") else None
        msg = exc.getMessage() if hasattr(exc, "getMessage") else str(exc)
        raise FormatError(f"malformed XML: {msg}", path=src.name, line=line) from None
    if b.root is None:
        raise FormatError("empty XML document", path=src.name)
    return b.root


def _models(root: _Node, model_type: str) -> list[_Node]:
    out: list[_Node] = []
    for dd in root.kids("decodedData"):
        for mt in dd.kids("modelType"):
            if mt.attrs.get("type") == model_type:
                out += mt.kids("model")
    return out


def read_ufdr_chats(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                    device: str | None = None) -> Loaded:
    """Read the chats of a Cellebrite ``report.xml`` (or ``.ufdr`` zip).

    One row per InstantMessage; a message without a timestamp is rejected with
    its line. ``owner`` lists the identifiers of parties flagged ``IsPhoneOwner``.
    """
    src = read_source(path_or_buffer)
    name = source_name or src.name
    root = _parse(src)
    report = FileReport(name, "ufdr_chats", device=device, table="messages")
    records: list[dict[str, Any]] = []
    owner_ids: set[str] = set()
    for chat in _models(root, "Chat"):
        cid = clean(chat.field_value("Id")) or f"ufdr:{chat.attrs.get('id', chat.line)}"
        cname = clean(chat.field_value("Name"))
        names: dict[str, str] = {}
        for party in chat.sub_models("multiModelField", "Participants"):
            ident = clean(party.field_value("Identifier"))
            if ident:
                names[ident] = clean(party.field_value("Name")) or ""
                if (party.field_value("IsPhoneOwner") or "").strip().lower() == "true":
                    owner_ids.add(ident)
        for msg in chat.sub_models("multiModelField", "Messages"):
            report.rows_read += 1
            frm = next(iter(msg.sub_models("modelField", "From")), None)
            sender = clean(frm.field_value("Identifier")) if frm else None
            sname = (clean(frm.field_value("Name")) if frm else None) or names.get(sender or "", None)
            from_owner = sender in owner_ids if sender else False
            if frm is not None and (frm.field_value("IsPhoneOwner") or "").lower() == "true":
                from_owner = True
            body = msg.field_value("Body") or ""
            records.append({
                "chat_id": cid, "chat_name": cname, "time_raw": clean(msg.field_value("TimeStamp")),
                "msg_type": "text" if body else "other", "from_owner": from_owner,
                "sender_wxid": sender, "sender_name": sname, "sender_remark": None, "content": body,
                "source_line": msg.line, "raw": body[:200],
            })
    raws = [r.pop("raw") for r in records]
    frame = object_frame({c: [r[c] for r in records] for c in records[0]}) if records else object_frame({})
    frame = finish_messages(frame, report, source_file=name, device=device, raw_of=raws.__getitem__)
    return Loaded("messages", frame, report, {"wechat_ids": sorted(owner_ids)} if owner_ids else {})


def read_ufdr_contacts(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                       device: str | None = None) -> Loaded:
    """Read the contacts of a Cellebrite ``report.xml`` (or ``.ufdr`` zip)."""
    src = read_source(path_or_buffer)
    name = source_name or src.name
    root = _parse(src)
    report = FileReport(name, "ufdr_contacts", device=device, table="contacts")
    out = []
    for c in _models(root, "Contact"):
        report.rows_read += 1
        tel, wx, mail = [], [], []
        for e in c.sub_models("multiModelField", "Entries"):
            val = clean(e.field_value("Value"))
            if not val:
                continue
            kind = e.attrs.get("type", "")
            cat = (e.field_value("Category") or "") + " " + (e.field_value("Domain") or "")
            if kind == "PhoneNumber":
                tel.append(val)
            elif kind == "UserID" and ("wechat" in cat.lower() or "weixin" in cat.lower()):
                wx.append(val)
            elif kind == "EmailAddress" or kind == "EMailAddress":
                mail.append(val)
        phones, bad = _phones(tel)
        nm = clean(c.field_value("Name")) or ""
        if not nm and not phones and not wx:
            report.skip("empty contact (no name, phone or WeChat id)")
            continue
        note = _note_with_unparsed("", bad)
        out.append({"name": nm, "phones": phones, "wechat_ids": ";".join(wx), "emails": ";".join(mail),
                    "note": note, "source_line": c.line})
    frame = finish_contacts(out, report, source_file=name, device=device)
    return Loaded("contacts", frame, report)
