"""Loaders: seized-data exports -> normalised evidence tables with provenance.

One ``read_*`` per source for single files, :func:`read` to pick the reader by
content, and :func:`read_case` for a whole case folder.
"""

from __future__ import annotations

from ._common import FileReport, Loaded, Reject
from .bank import read_bank_statement
from .bills import read_alipay, read_wechat_pay
from .case import Case, LoadReport, read_case, read_case_toml
from .chats import read_memotrace, read_pywxdump
from .contacts import read_cellebrite_contacts, read_contact_sheet, read_vcard
from .registry import READERS, read, register_reader, sniff
from .ufdr import read_ufdr_chats, read_ufdr_contacts

__all__ = [
    "Case", "LoadReport", "FileReport", "Loaded", "Reject", "READERS",
    "read", "read_case", "read_case_toml", "register_reader", "sniff",
    "read_wechat_pay", "read_alipay", "read_bank_statement", "read_memotrace", "read_pywxdump",
    "read_vcard", "read_contact_sheet", "read_cellebrite_contacts", "read_ufdr_chats",
    "read_ufdr_contacts",
]
