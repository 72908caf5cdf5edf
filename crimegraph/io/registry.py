"""Reader registry and content sniffing: files are recognised by what they hold,
never by their name (DESIGN.md §1).

Third-party readers register through the entry-point group
``crimegraph.readers``: the entry point must load a reader callable
``reader(path_or_buffer, *, source_name=None, device=None) -> Loaded`` that has
a ``sniff(source) -> bool`` attribute.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Protocol

from ..exceptions import FormatError
from ._common import Loaded, PathOrBuffer, Source, csv_records, read_source, xlsx_sheets
from .bank import match_bank_header, read_bank_statement
from .bills import ALIPAY_LAYOUTS, read_alipay, read_wechat_pay
from .chats import MEMOTRACE_HEADER, PYWXDUMP_HEADERS, read_memotrace, read_pywxdump
from .contacts import (
    _is_cellebrite_header,
    match_contact_header,
    read_cellebrite_contacts,
    read_contact_sheet,
    read_vcard,
)
from .ufdr import is_ufdr_report, read_ufdr_chats, read_ufdr_contacts

__all__ = ["READERS", "register_reader", "sniff", "read", "Reader", "describe_unknown"]


class Reader(Protocol):
    def __call__(self, path_or_buffer: PathOrBuffer, *, source_name: str | None = ...,
                 device: str | None = ...) -> Loaded: ...


READERS: dict[str, Reader] = {
    "wechat_pay": read_wechat_pay,
    "alipay": read_alipay,
    "bank_statement": read_bank_statement,
    "memotrace": read_memotrace,
    "pywxdump": read_pywxdump,
    "vcard": read_vcard,
    "contact_sheet": read_contact_sheet,
    "cellebrite_contacts": read_cellebrite_contacts,
    "ufdr_chats": read_ufdr_chats,
    "ufdr_contacts": read_ufdr_contacts,
}
_EXTRA_SNIFFERS: dict[str, Callable[[Source], bool]] = {}
_entry_points_loaded = False


def register_reader(name: str, reader: Reader, sniff: Callable[[Source], bool]) -> None:
    """Add a reader under ``name``; ``sniff(source)`` says whether a file is its format.

    Raises
    ------
    ValueError
        ``name`` is already registered.
    """
    if name in READERS:
        raise ValueError(f"a reader named {name!r} is already registered; choose another name")
    READERS[name] = reader
    _EXTRA_SNIFFERS[name] = sniff


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group="crimegraph.readers"), key=lambda e: e.name):
        reader = ep.load()
        snf = getattr(reader, "sniff", None)
        if snf is None:
            raise ValueError(f"entry point crimegraph.readers:{ep.name} has no sniff() attribute")
        register_reader(ep.name, reader, snf)


def _sniff_xlsx(src: Source) -> list[str]:
    try:
        sheets = xlsx_sheets(src)
    except FormatError:
        return []
    for _title, rows in sheets:
        head = rows[:25]
        if any(v and v[0] and "微信支付账单明细" in str(v[0]) for _, v in head):
            return ["wechat_pay"]
        if any(match_bank_header(v) for _, v in head):
            return ["bank_statement"]
        if any(_is_cellebrite_header(v) for _, v in head[:5]):
            return ["cellebrite_contacts"]
        if any(match_contact_header(v) for _, v in head[:5]):
            return ["contact_sheet"]
    return []


def _decode_head(head: bytes) -> str | None:
    """Decode the first bytes of a file, UTF-8 then GB18030, like :func:`decode_text`.

    The cut may fall inside a multi-byte character: incremental decoders keep
    such a tail back instead of failing (or, worse, reading UTF-8 as GB18030).
    """
    if b"\x00" in head[:4096]:
        return None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return codecs.getincrementaldecoder(enc)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
    return None


def sniff(src: Source) -> list[str]:
    """Names of the readers that recognise ``src`` by content (empty if none)."""
    _load_entry_points()
    found: list[str] = [n for n, s in _EXTRA_SNIFFERS.items() if s(src)]
    if found:
        return found
    if src.is_zip:
        if b"xl/workbook.xml" in src.data or b"[Content_Types].xml" in src.data[:2000]:
            return _sniff_xlsx(src)
        if b"report.xml" in src.data:
            return ["ufdr_chats", "ufdr_contacts"]
        return []
    head_bytes = src.data[:65536]
    if is_ufdr_report(head_bytes[:4096]):
        return ["ufdr_chats", "ufdr_contacts"]
    text = _decode_head(head_bytes)
    if text is None:
        return []
    stripped = text.lstrip("\ufeff \r\n\t")
    if stripped.startswith("微信支付账单明细"):
        return ["wechat_pay"]
    if "BEGIN:VCARD" in stripped[:2000].upper():
        return ["vcard"]
    first = next(csv_records(stripped.split("\n", 1)[0]), (0, []))[1]
    first = [h.strip() for h in first]
    if tuple(first[: len(MEMOTRACE_HEADER)]) == MEMOTRACE_HEADER:
        return ["memotrace"]
    if tuple(first) in PYWXDUMP_HEADERS:
        return ["pywxdump"]
    lines = text.splitlines()[:60]
    for s in lines:
        if "," in s:
            names = tuple(f.strip() for f in next(csv_records(s))[1] if f.strip())
            if any(names[: len(c)] == c for c in ALIPAY_LAYOUTS.values()):
                return ["alipay"]
    for _, cells in list(csv_records("\n".join(lines[:20])))[:20]:
        if match_bank_header(cells):
            return ["bank_statement"]
    for _, cells in list(csv_records("\n".join(lines[:5])))[:5]:
        if match_contact_header(cells):
            return ["contact_sheet"]
    return []


def describe_unknown(src: Source) -> str:
    """A reason for the load report when no reader recognises ``src``."""
    if not src.data:
        return "empty file"
    if src.is_zip:
        return "zip archive that is not a known export (no bill sheet, contact sheet or report.xml)"
    text = _decode_head(src.data[:4096])
    if text is None:
        return "binary file, not a known export"
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()[:60]
    return f"not a known export format (first line: {first!r})"


def read(path_or_buffer: PathOrBuffer, *, format: str | None = None, source_name: str | None = None,
         device: str | None = None) -> list[Loaded]:
    """Read one file with the reader(s) its content calls for, or the named ``format``.

    Returns a list because one file can hold several tables (a UFDR report
    holds chats and contacts).

    Raises
    ------
    FormatError
        The content matches no registered reader.
    ValueError
        ``format`` is not a registered reader name.

    Examples
    --------
    >>> import crimegraph
    >>> [r.table for r in crimegraph.read("data/samples/small/case/S002_宋浩_手机/contacts.vcf")]
    ['contacts']
    """
    src = read_source(path_or_buffer)
    if format is not None:
        if format not in READERS:
            raise ValueError(f"format={format!r} is not a registered reader; choose one of {sorted(READERS)}")
        names = [format]
    else:
        names = sniff(src)
        if not names:
            raise FormatError(describe_unknown(src) + "; pass format=... to force a reader",
                              path=source_name or src.name)
    return [READERS[n](_NamedBytes(src), source_name=source_name or src.name, device=device) for n in names]


class _NamedBytes:
    """A file-like view of already-read bytes that keeps the original name."""

    def __init__(self, src: Source) -> None:
        self.name = src.name
        self._data = src.data

    def read(self) -> bytes:
        return self._data

