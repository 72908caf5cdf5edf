"""Identifiers found in seized evidence: normalise, validate, extract, mask.

The normalised forms are fixed by the product contract (``DESIGN.md`` §2):

* **Mainland mobile**: 11 digits ``1[3-9]xxxxxxxxx``; ``+86``, ``0086``, ``86``,
  spaces and dashes are stripped. Landlines keep the area code: ``0771-2000303``.
  Masked values (``139******01``) are never phone numbers, and digits inside a
  longer digit run are not phone numbers.
* **Resident ID number** (GB 11643-1999): 18 characters, check digit verified,
  ``x`` becomes ``X``; 15-digit legacy numbers are upgraded. An invalid number
  is *flagged*, never returned as a valid identity.
* **Bank card**: 16-19 digits, Luhn-valid, and not a valid ID number.
* **Verification code** (OTP): 4-6 digits in an SMS-code context
  (``验证码``, ``【平台】``, ``登录验证码`` ...).

Examples
--------
>>> from crimegraph.identifiers import normalize_phone, normalize_id_number
>>> normalize_phone("+86 138-0013-8000")
'13800138000'
>>> normalize_phone("139******01") is None
True
>>> normalize_id_number("11010519491231002x")
'11010519491231002X'
>>> extract_identifiers("王秀英 450103195502141219 手机13800138000").phones
('13800138000',)
"""

from __future__ import annotations

import datetime as _dt
import functools
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any

from .exceptions import InvalidIdentifierError

__all__ = [
    "IdNumberCheck",
    "Extracted",
    "id_check_digit",
    "check_id_number",
    "normalize_id_number",
    "is_valid_id_number",
    "normalize_phone",
    "normalize_mobile",
    "is_mobile",
    "is_masked",
    "luhn_valid",
    "luhn_check_digit",
    "normalize_bank_card",
    "extract_otp_codes",
    "extract_identifiers",
    "find_identifiers_many",
    "mask_id_number",
    "mask_phone",
    "mask_bank_card",
    "mask_text",
]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHT_SUM = sum(_ID_WEIGHTS)
_ID_CHECK = "10X98765432"
# First two digits of a resident ID: province-level division codes (GB/T 2260).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44,
     45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
# Characters a masking tool uses in place of digits.
_MASK_CHARS = "*＊×xX•●#"
_MASKED_RE = re.compile(r"^\+?\d*[*＊×•●#]{2,}[\dXx]*$")
_SEP_RE = re.compile(r"[\s\-\u00a0\u2005\u3000]")


# --------------------------------------------------------------------------- IDs
def id_check_digit(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits of an ID.

    Examples
    --------
    >>> id_check_digit("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidIdentifierError(
            f"id_check_digit needs exactly 17 ASCII digits, got {first17!r}"
        )
    # ASCII digits are their code points less 48: one C-level pass over the bytes
    total = sum(map(operator.mul, first17.encode("ascii"), _ID_WEIGHTS)) - 48 * _ID_WEIGHT_SUM
    return _ID_CHECK[total % 11]


@dataclass(frozen=True, slots=True)
class IdNumberCheck:
    """Outcome of checking one resident ID number.

    Attributes
    ----------
    raw : str
        The value as given.
    normalized : str or None
        The 18-character form when ``valid``; ``None`` otherwise.
    valid : bool
        Whether the value is a well-formed ID with a correct check digit.
    reason : str
        Empty when valid, otherwise why it was rejected.
    birth_date : datetime.date or None
        Date of birth encoded in a valid ID.
    sex : {"M", "F"} or None
        From the parity of the order code (odd = male).
    region : str or None
        The 6-digit administrative division code.
    """

    raw: str
    normalized: str | None
    valid: bool
    reason: str = ""
    birth_date: _dt.date | None = None
    sex: str | None = None
    region: str | None = None


def _birth_date(yyyymmdd: str) -> _dt.date | None:
    try:
        d = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    if not 1900 <= d.year <= 2099:
        return None
    return d


def check_id_number(value: object) -> IdNumberCheck:
    """Check a resident ID number and explain the verdict.

    Parameters
    ----------
    value : object
        An 18-character ID (last character may be ``x``/``X``) or a 15-digit
        legacy ID. Surrounding spaces, a trailing TAB or a leading ``'`` (as
        spreadsheets and bank exports add) are tolerated.

    Returns
    -------
    IdNumberCheck
        ``valid`` tells whether it is a real-looking ID; ``reason`` says why not.

    Examples
    --------
    >>> check_id_number("110105491231002").normalized   # 15-digit upgrade
    '11010519491231002X'
    >>> check_id_number("110105194912310021").reason
    'check digit is 1, expected X'
    """
    raw = "" if value is None else str(value)
    s = raw.strip().lstrip("'").strip()
    if len(s) == 15 and s.isascii() and s.isdigit():
        s17 = s[:6] + "19" + s[6:]
        birth = _birth_date(s17[6:14])
        if birth is None:
            return IdNumberCheck(raw, None, False, "15-digit ID has an invalid birth date")
        s = s17 + id_check_digit(s17)
    elif len(s) == 18:
        s = s[:17] + s[17].upper()
    else:
        return IdNumberCheck(raw, None, False, f"length {len(s)}, expected 18 (or 15)")
    problem = _id18_problem(s)
    if problem:
        return IdNumberCheck(raw, None, False, problem)
    sex = "M" if int(s[16]) % 2 else "F"
    return IdNumberCheck(raw, s, True, "", _birth_date(s[6:14]), sex, s[:6])


def _id18_problem(s: str) -> str:
    """Why the 18 characters ``s`` (check letter upper-cased) are not a valid ID; ``""`` if they are."""
    if not (s[:17].isascii() and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X")):
        return "not 17 digits followed by a digit or X"
    if int(s[:2]) not in _PROVINCES:
        return f"unknown province code {s[:2]}"
    if _birth_date(s[6:14]) is None:
        return f"invalid birth date {s[6:14]}"
    expected = id_check_digit(s[:17])
    if s[17] != expected:
        return f"check digit is {s[17]}, expected {expected}"
    return ""


def _id18_valid(s: str) -> bool:
    """``not _id18_problem(s)``, with set lookups for the province and the birth date (the
    extraction's common case: a valid ID in a chat message)."""
    head = s[:17]
    return (head.isascii() and head.isdigit() and s[:2] in _PROVINCE_TEXT and s[6:14] in _birth_dates()
            and _ID_CHECK[(sum(map(operator.mul, head.encode("ascii"), _ID_WEIGHTS)) - 48 * _ID_WEIGHT_SUM) % 11]
            == s[17])


_PROVINCE_TEXT = frozenset(str(p) for p in _PROVINCES)   # (all two digits)


@functools.cache
def _birth_dates() -> frozenset[str]:
    """Every ``YYYYMMDD`` that :func:`_birth_date` accepts (1900 to 2099): 73,049 dates."""
    import calendar

    return frozenset(f"{y}{m:02d}{d:02d}" for y in range(1900, 2100) for m in range(1, 13)
                     for d in range(1, calendar.monthrange(y, m)[1] + 1))


def normalize_id_number(value: object) -> str | None:
    """Return the normalised 18-character ID, or ``None`` if it is not valid.

    Examples
    --------
    >>> normalize_id_number("11010519491231002x")
    '11010519491231002X'
    >>> normalize_id_number("110105194912310021") is None
    True
    """
    return check_id_number(value).normalized


def is_valid_id_number(value: object) -> bool:
    """Whether ``value`` is a valid resident ID number (18 or 15 digits)."""
    return check_id_number(value).valid


# ------------------------------------------------------------------------ phones
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^(0[1-9]\d{1,2})[\-\s]?([2-9]\d{6,7})$")
_LANDLINE_AREA3 = frozenset({"010", "020", "021", "022", "023", "024", "025", "027", "028", "029"})


def is_masked(value: object) -> bool:
    """Whether ``value`` looks like a masked number (``139******01``, ``4501****996X``).

    Examples
    --------
    >>> is_masked("138****0611"), is_masked("13800000611")
    (True, False)
    """
    if value is None:
        return False
    s = _SEP_RE.sub("", str(value))
    return bool(_MASKED_RE.match(s)) and any(ch.isdigit() for ch in s)


def normalize_mobile(value: object) -> str | None:
    """Return an 11-digit mainland mobile number, or ``None``.

    Strips ``+86``/``0086``/``86``, spaces, dashes and a ``tel:`` prefix.
    Masked values and longer digit runs give ``None``.

    Examples
    --------
    >>> normalize_mobile("0086 138 0013 8000")
    '13800138000'
    >>> normalize_mobile("213800138000") is None
    True
    """
    if value is None:
        return None
    s = str(value).strip().lstrip("'").strip()
    if s.lower().startswith("tel:"):
        s = s[4:]
    s = _SEP_RE.sub("", s).replace("(", "").replace(")", "")
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    elif s.startswith("86") and len(s) == 13:
        s = s[2:]
    return s if _MOBILE_RE.match(s) else None


def is_mobile(value: object) -> bool:
    """Whether ``value`` normalises to a mainland mobile number."""
    return normalize_mobile(value) is not None


def normalize_phone(value: object) -> str | None:
    """Return a mobile (``13800138000``) or landline (``0771-2000303``), or ``None``.

    Examples
    --------
    >>> normalize_phone("tel:+86-138-0013-8000")
    '13800138000'
    >>> normalize_phone("(0771) 2000303")
    '0771-2000303'
    >>> normalize_phone("010-62345678")
    '010-62345678'
    >>> normalize_phone("139******01") is None
    True
    """
    mobile = normalize_mobile(value)
    if mobile is not None:
        return mobile
    if value is None:
        return None
    s = str(value).strip().lstrip("'").strip()
    if s.lower().startswith("tel:"):
        s = s[4:]
    if s.startswith("+86"):
        s = "0" + s[3:].lstrip(" -")
    s = s.replace("(", "").replace(")", " ").strip()
    s = re.sub(r"\s+", " ", s)
    m = _LANDLINE_RE.match(s)
    if not m:
        compact = _SEP_RE.sub("", s)
        if not compact.isdigit() or not 10 <= len(compact) <= 12 or compact[0] != "0":
            return None
        area = compact[:3] if compact[:3] in _LANDLINE_AREA3 else compact[:4]
        m = _LANDLINE_RE.match(area + "-" + compact[len(area):])
        if not m:
            return None
    area, local = m.group(1), m.group(2)
    if len(area) == 3 and area not in _LANDLINE_AREA3:
        return None
    return f"{area}-{local}"


# ------------------------------------------------------------------------- cards
def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn (mod 10) check."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """Return the Luhn check digit to append to ``partial``.

    Examples
    --------
    >>> luhn_check_digit("622202123456789012")
    '8'
    """
    for d in "0123456789":
        if luhn_valid(partial + d):
            return d
    raise InvalidIdentifierError(f"luhn_check_digit needs digits, got {partial!r}")


def normalize_bank_card(value: object) -> str | None:
    """Return a 16-19 digit Luhn-valid card number that is not an ID number, or ``None``.

    Examples
    --------
    >>> normalize_bank_card("6222 0212 3456 7890 128")
    '6222021234567890128'
    >>> normalize_bank_card("6222021234567890124") is None   # Luhn fails
    True
    """
    if value is None:
        return None
    s = _SEP_RE.sub("", str(value).strip().lstrip("'"))
    if not (16 <= len(s) <= 19) or not s.isascii() or not s.isdigit():
        return None
    if not luhn_valid(s) or is_valid_id_number(s):
        return None
    return s


# -------------------------------------------------------------------------- OTPs
_OTP_KEYWORDS = re.compile(
    r"验证码|校验码|动态码|动态密码|确认码|短信码|登录码|激活码|安全码|verification code|code",
    re.IGNORECASE,
)
_SMS_BRACKET = re.compile(r"【[^】]{1,12}】")
_OTP_CANDIDATE = re.compile(r"(?<![0-9A-Za-z_.*¥￥$])(\d{4,6})(?![0-9A-Za-z_.*%])")
_OTP_NOT_AFTER = re.compile(r"\s*(?:元|块|分钟|秒|小时|天|年|月|日|号|个|笔|条|人|岁|次|万)")
_OTP_WINDOW = 24


def _may_have_otp_context(s: str) -> bool:
    """Whether ``s`` can hold a code keyword or an SMS bracket: each Chinese keyword has 码,
    the English ones have "code", a bracket starts with 【 (plain substring tests, much
    cheaper than the case-insensitive keyword pattern on the many messages without them)."""
    return "码" in s or "【" in s or "code" in s.lower()


def extract_otp_codes(text: object) -> tuple[str, ...]:
    """Verification codes (4-6 digits) in an SMS-code context.

    A candidate must stand alone (not inside a longer digit run or a masked
    value), must not be a quantity (``1200元``, ``5分钟``), and must lie near a
    code keyword (``验证码`` ...) or in a message that starts like an SMS
    (``【平台】``).

    Examples
    --------
    >>> extract_otp_codes("【美团】8306（登录验证码），请勿泄露")
    ('8306',)
    >>> extract_otp_codes("验证码 482913 5分钟内有效")
    ('482913',)
    >>> extract_otp_codes("今天做了1200元")
    ()
    """
    if text is None:
        return ()
    s = str(text)
    if not _may_have_otp_context(s):
        return ()
    keywords = [m.span() for m in _OTP_KEYWORDS.finditer(s)]
    brackets = _SMS_BRACKET.search(s)
    if not keywords and not brackets:
        return ()
    sms = brackets is not None and not keywords
    out: list[str] = []
    for m in _OTP_CANDIDATE.finditer(s):
        start, end = m.span()
        if _OTP_NOT_AFTER.match(s, end):
            continue
        near = sms and brackets.start() < start   # type: ignore[union-attr]
        for ks, ke in keywords:
            if ke <= start <= ke + _OTP_WINDOW or end <= ks <= end + _OTP_WINDOW:
                near = True
                break
        if near and m.group(1) not in out:
            out.append(m.group(1))
    return tuple(out)


# -------------------------------------------------------------------- extraction
@dataclass(frozen=True, slots=True)
class Extracted:
    """Identifiers found in one piece of free text.

    Attributes
    ----------
    id_numbers : tuple of str
        Valid resident ID numbers, normalised.
    invalid_id_numbers : tuple of str
        ID-shaped values whose check failed (kept as written, for review).
    phones : tuple of str
        Mainland mobiles, normalised.
    landlines : tuple of str
        Landline numbers ``AREA-LOCAL``.
    bank_cards : tuple of str
        Luhn-valid card numbers.
    otp_codes : tuple of str
        Verification codes in SMS-code context.
    """

    id_numbers: tuple[str, ...] = ()
    invalid_id_numbers: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    landlines: tuple[str, ...] = ()
    bank_cards: tuple[str, ...] = ()
    otp_codes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any((self.id_numbers, self.invalid_id_numbers, self.phones,
                    self.landlines, self.bank_cards, self.otp_codes))


# A run of digits with single spaces/dashes between them, optionally led by
# +86/0086 and ended by an ID check letter. Not glued to letters, digits or masks.
_SPAN_RE = re.compile(
    r"(?<![0-9A-Za-z_*＊×•●#])"
    r"(\+?\d(?:[ \-\u00a0]?\d)*[Xx]?)"
    r"(?![0-9A-Za-z_*＊×•●#])"
)
_CC_PREFIX = re.compile(r"^(?:\+86|0086|\+?86(?=[ \-]))[ \-]?")


def _classify_compact(compact: str, grouped: bool) -> tuple[str, str] | None:
    """Classify a digit string; ``grouped`` when it was written with separators."""
    if len(compact) == 18 and not grouped:   # (check_id_number without its result object)
        upper = compact[:17] + compact[17].upper()
        if _id18_valid(upper):
            return ("id", upper)
        if compact[:17].isdigit() and int(compact[:2]) in _PROVINCES and _birth_date(compact[6:14]) is not None:
            return ("invalid_id", upper)
    elif len(compact) == 15 and not grouped:
        chk = check_id_number(compact)
        if chk.valid:
            return ("id", chk.normalized or "")
    if not compact.isdigit():
        return None
    if len(compact) == 11 and _MOBILE_RE.match(compact):
        return ("phone", compact)
    if len(compact) == 13 and compact.startswith("86") and _MOBILE_RE.match(compact[2:]):
        return ("phone", compact[2:])
    if 16 <= len(compact) <= 19:
        card = normalize_bank_card(compact)
        if card is not None:
            return ("card", card)
    return None


def _groups_ok(groups: list[str]) -> bool:
    """Separator groupings we accept as one number: 3-4-4 phones, 4-4-4-4(-3) cards."""
    if len(groups) == 1:
        return True
    if any(len(g) > 4 for g in groups[:-1]) or len(groups[-1]) > 4:
        return False
    return all(len(g) >= 3 for g in groups[:-1])


def extract_identifiers(text: object) -> Extracted:
    """Find ID numbers, phones, landlines, bank cards and OTP codes in free text.

    Digits inside longer digit runs, glued to letters (``wxid_138...``) or next
    to masking characters are ignored. A space-separated sequence is read as one
    number only when its grouping looks like one (``138 0013 8000``); otherwise
    each group is read on its own (``<ID> <phone>``).

    Examples
    --------
    >>> e = extract_identifiers("李桂兰 450103195502141219 13912345678 验证码 482913")
    >>> e.id_numbers, e.phones, e.otp_codes
    (('450103195502141219',), ('13912345678',), ('482913',))
    >>> extract_identifiers("订单号 2024051713800138000123").phones
    ()
    """
    if text is None:
        return _NOTHING
    found = _find_identifiers(str(text))
    if found is None:
        return _NOTHING
    ids, bad, phones, lands, cards, otps = found
    return Extracted(tuple(ids), tuple(bad), tuple(phones), tuple(lands), tuple(cards), otps)


_Found = tuple[list[str], list[str], list[str], list[str], list[str], tuple[str, ...]]


def _find_identifiers(s: str) -> _Found | None:
    """:func:`extract_identifiers` as lists (ID numbers, invalid ID numbers, phones,
    landlines, cards) and the OTP codes; ``None`` when nothing is found. (For the chat
    readers, which join the lists: no :class:`Extracted` is made for each message.)"""
    if _FOUR_DIGITS.search(s) is None:   # every identifier and code has a run of 4+ digits
        return None
    ids: list[str] = []
    bad: list[str] = []
    phones: list[str] = []
    lands: list[str] = []
    cards: list[str] = []
    buckets = {"id": ids, "invalid_id": bad, "phone": phones, "land": lands, "card": cards}
    for span in _SPAN_RE.findall(s):
        for kind, value in _span_hits(span):
            bucket = buckets[kind]
            if value not in bucket:
                bucket.append(value)
    otps = extract_otp_codes(s)
    if not (ids or bad or phones or lands or cards or otps):
        return None
    return ids, bad, phones, lands, cards, otps


def _span_hits(span: str) -> list[tuple[str, str]]:
    """``(kind, value)`` of each identifier in one span of :data:`_SPAN_RE`, in order (kinds:
    ``id``, ``invalid_id``, ``phone``, ``land``, ``card``): a landline, a ``+86`` mobile, a
    grouping read as one number, or else each group on its own."""
    if span.isdigit() and span[0] != "0":
        hit = _classify_compact(span, False)
        return [] if hit is None else [hit]
    land = normalize_phone(span) if span.startswith("0") and not span.startswith("00") else None
    if land is not None and "-" in land:
        return [("land", land)]
    body = _CC_PREFIX.sub("", span)
    groups = [g for g in _GROUP_SEP.split(body.lstrip("+")) if g]
    compact = "".join(groups)
    if body != span:   # a country code: only a mobile
        return [("phone", compact)] if _MOBILE_RE.match(compact) and _groups_ok(groups) else []
    hit = _classify_compact(compact, len(groups) > 1) if _groups_ok(groups) else None
    if hit is not None:
        return [hit]
    if len(groups) > 1:
        return [h for h in (_classify_compact(g, False) for g in groups) if h is not None]
    return []


#: Kinds of :func:`_span_hits`, in the column order of :func:`find_identifiers_many`.
_KINDS = ("id", "invalid_id", "phone", "land", "card")
_KIND_CODE = {k: i for i, k in enumerate(_KINDS)}


def find_identifiers_many(texts: Sequence[str]) -> list[list[str]]:
    """:func:`extract_identifiers` of many texts at once, as ``;``-joined columns.

    Parameters
    ----------
    texts : sequence of str

    Returns
    -------
    list of six lists of str
        ID numbers, invalid ID numbers, phones, landlines, bank cards and OTP codes
        of each text, each kind's values joined with ``;`` in the order of
        :func:`extract_identifiers` (``""`` where there are none).

    Notes
    -----
    The same values as calling :func:`extract_identifiers` on each text, found
    faster on big inputs: the spans are matched text by text, but the plain digit
    runs and simple groupings (nearly all of them in chat exports) are classified
    together with numpy, by length; the rest one by one as before.

    Examples
    --------
    >>> ids, bad, phones, lands, cards, otps = find_identifiers_many(
    ...     ["王秀英 450103195502141219 手机138 0013 8000", "验证码 482913", "你好"])
    >>> ids, phones, otps
    (['450103195502141219', '', ''], ['13800138000', '', ''], ['', '482913', ''])
    """
    texts = list(texts)
    n = len(texts)
    flat, owner, simple = _text_spans(texts)
    digits, owner, grouped, kind, value = _atoms(flat, owner, simple)
    _classify_atoms(digits, grouped, kind, value)
    columns = [_join_by_text(owner[kind == k], value[kind == k], n) for k in range(len(_KINDS))]
    otps = [""] * n
    for t in compress(range(n), map(_may_have_otp_context, texts)):
        codes = extract_otp_codes(texts[t])
        if codes:
            otps[t] = ";".join(codes)
    return [*columns, otps]


#: A span that is one run of ASCII digits not led by 0, maybe ended by an ID check letter.
_SIMPLE_SPAN = re.compile(r"[1-9][0-9]*[Xx]?")
#: A span of ASCII digit groups not led by 0 grouped as one number (see :func:`_groups_ok`;
#: a country code 86 is a group too short), and one that is not (nor led by 86 and a separator).
_GROUPED_SPAN = re.compile(r"[1-9][0-9]{2,3}(?:[ -][0-9]{3,4})*[ -](?:[0-9]{1,4}|[0-9]{1,3}[Xx])")
_SPLIT_SPAN = re.compile(r"(?!86[ -])[1-9][0-9 -]*[Xx]?")


#: Where :func:`_text_spans` joins texts: a character no span holds, and which, before or
#: after a span, reads as the start or end of a text (see :data:`_SPAN_RE`).
_TEXT_BREAK = "\x00"
#: :data:`_SPAN_RE`, or a text break (found as ``""``: a span is never empty).
_SPAN_OR_BREAK = re.compile(f"{_SPAN_RE.pattern}|{_TEXT_BREAK}")


def _text_spans(texts: list[str]) -> tuple[list[str], Any, Any]:
    """``_SPAN_RE.findall`` of each text that has a run of four digits (as
    :func:`extract_identifiers`): the spans of all texts in order, the text of each, and
    whether each is a simple span (:data:`_SIMPLE_SPAN`).

    The texts are searched joined, in one call (a call per text took twice as long for
    a million chat messages); texts holding the joining character one by one."""
    import numpy as np

    n = len(texts)
    joined = _TEXT_BREAK.join(texts)
    if joined.count(_TEXT_BREAK) == max(n - 1, 0):
        found = _SPAN_OR_BREAK.findall(joined)
        is_break = np.fromiter(map(operator.not_, found), dtype=bool, count=len(found))
        owner = np.cumsum(is_break)[~is_break]   # (breaks before a span: its text)
        spans = list(compress(found, (~is_break).tolist()))
    else:
        per_text = [_SPAN_RE.findall(s) for s in texts]
        spans = list(chain.from_iterable(per_text))
        owner = np.repeat(np.arange(n, dtype=np.int64), np.fromiter(map(len, per_text), dtype=np.int64, count=n))
    simple = np.fromiter(map(bool, map(_SIMPLE_SPAN.fullmatch, spans)), dtype=bool, count=len(spans))
    # Only texts with four digits in a row count. A simple span of four digits or more shows
    # its text has them; a text none of whose spans shows it is searched itself.
    lengths = np.fromiter(map(len, spans), dtype=np.int64, count=len(spans))
    check = np.fromiter((s[-1] in "Xx" for s in spans), dtype=bool, count=len(spans))   # (spans are never empty)
    has_four = np.zeros(n, dtype=bool)
    has_four[owner[simple & (lengths - check >= 4)]] = True
    for t in np.unique(owner[~has_four[owner]]).tolist():
        has_four[t] = _FOUR_DIGITS.search(texts[t]) is not None
    keep = has_four[owner]
    if not keep.all():
        spans, owner, simple = list(compress(spans, keep.tolist())), owner[keep], simple[keep]
    return spans, owner.astype(np.int64), simple


def _atoms(spans: list[str], owner: Any, simple: Any) -> tuple[Any, Any, Any, Any, Any]:
    """What :func:`_classify_atoms` classifies, in output order: a span gives its digits
    (nearly always), or those of each of its groups, or its hits found one by one
    (:func:`_span_hits`). Returns the atoms' digit strings (``""`` for a hit found already),
    their texts (``owner`` of their span), whether each was written in groups, and the
    kind codes and values found already (-1 for the others). ``simple``: which spans are
    one run of digits (:data:`_SIMPLE_SPAN`)."""
    import numpy as np

    other = np.flatnonzero(~simple).tolist()
    parts: list[tuple[str, ...]] = []   # each other span's atoms
    known: dict[tuple[int, int], tuple[str, str]] = {}   # (other span, atom) -> hit
    grouped_at: list[tuple[int, int]] = []
    for j, i in enumerate(other):
        span = spans[i]
        if _GROUPED_SPAN.fullmatch(span):   # (each group alone is then too short to be anything)
            parts.append((span.replace("-", "").replace(" ", ""),))
            grouped_at.append((j, 0))
        elif _SPLIT_SPAN.fullmatch(span):
            parts.append(tuple(span.replace("-", " ").split(" ")))
        else:   # country codes, leading zeros, other separators
            hits = _span_hits(span)
            parts.append(("",) * len(hits))
            known.update(((j, a), hit) for a, hit in enumerate(hits))
    per_span = np.ones(len(spans), dtype=np.int64)
    per_span[other] = [len(p) for p in parts]
    start = np.cumsum(per_span) - per_span
    m = int(per_span.sum())
    digits = np.empty(m, dtype=object)
    digits[start[simple]] = np.array(spans, dtype=object)[simple] if spans else []
    for i, p in zip(other, parts, strict=True):
        digits[start[i]:start[i] + len(p)] = p
    at = start[other] if other else np.zeros(0, dtype=np.int64)
    grouped = np.zeros(m, dtype=bool)
    grouped[[int(at[j]) + a for j, a in grouped_at]] = True
    kind = np.full(m, -1, dtype=np.int8)
    value = np.empty(m, dtype=object)
    for (j, a), (k, v) in known.items():
        kind[at[j] + a], value[at[j] + a] = _KIND_CODE[k], v
    return digits, np.repeat(owner, per_span), grouped, kind, value


def _classify_atoms(digits: Any, grouped: Any, kind: Any, value: Any) -> None:
    """:func:`_classify_compact` of each atom of :func:`_atoms`, vectorised by length: sets
    its kind code (index in :data:`_KINDS`; left at -1 for none) and value."""
    import numpy as np

    lengths = np.fromiter(map(len, digits), dtype=np.int64, count=len(digits))
    for length in (11, 13, 15, 16, 17, 18, 19):
        idx = np.flatnonzero(lengths == length)
        if not len(idx):
            continue
        part = digits[idx].tolist()
        if length == 15:   # legacy ID numbers: rare, one by one
            for i, a in zip(idx.tolist(), part, strict=True):
                hit = _classify_compact(a, bool(grouped[i]))
                if hit is not None:
                    kind[i], value[i] = _KIND_CODE[hit[0]], hit[1]
            continue
        raw = np.frombuffer("".join(part).encode("ascii"), dtype=np.uint8).reshape(len(part), length)
        last_x = (raw[:, -1] == ord("X")) | (raw[:, -1] == ord("x"))
        d = raw.astype(np.int64) - ord("0")
        plain = ~last_x
        k = np.full(len(part), -1, dtype=np.int8)
        vals = digits[idx]
        if length == 11:
            k[plain & (d[:, 0] == 1) & (d[:, 1] >= 3)] = _KIND_CODE["phone"]
        elif length == 13:
            ok = plain & (d[:, 0] == 8) & (d[:, 1] == 6) & (d[:, 2] == 1) & (d[:, 3] >= 3)
            k[ok] = _KIND_CODE["phone"]
            vals[ok] = [t[2:] for t in compress(part, ok)]
        else:
            valid_id = np.zeros(len(part), dtype=bool)
            if length == 18:
                d[last_x, 17] = 10
                valid_id, plausible = _id18_checks(d)
                alone = ~grouped[idx]
                k[alone & plausible] = _KIND_CODE["invalid_id"]
                k[alone & valid_id] = _KIND_CODE["id"]
                upper = alone & plausible & (raw[:, -1] == ord("x"))
                vals[upper] = [t[:17] + "X" for t in compress(part, upper)]
            card = (k == -1) & plain & ~valid_id
            card[card] = _luhn_many(d[card])
            k[card] = _KIND_CODE["card"]
        kind[idx], value[idx] = k, vals


def _id18_checks(d: Any) -> tuple[Any, Any]:
    """For rows of 18 digits (an X as 10, last only): valid ID numbers, and those with a
    known province and a real birth date (invalid ones are flagged, see :func:`_classify_compact`)."""
    import numpy as np

    province = np.isin(d[:, 0] * 10 + d[:, 1], list(_PROVINCES))
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month = d[:, 10] * 10 + d[:, 11]
    day = d[:, 12] * 10 + d[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    month_days = month_days + ((month == 2) & leap)
    plausible = (province & (year >= 1900) & (year <= 2099) & (month >= 1) & (month <= 12)
                 & (day >= 1) & (day <= month_days))
    check = (d[:, :17] @ np.array(_ID_WEIGHTS)) % 11
    expected = np.array([ord(c) - ord("0") if c.isdigit() else 10 for c in _ID_CHECK])[check]
    return plausible & (expected == d[:, 17]), plausible


def _luhn_many(d: Any) -> Any:
    """:func:`luhn_valid` of each row of digits."""
    doubled = d[:, ::-1].copy()
    odd = doubled[:, 1::2] * 2
    doubled[:, 1::2] = odd - 9 * (odd > 9)
    return doubled.sum(axis=1) % 10 == 0


def _join_by_text(owner: Any, values: Any, n: int) -> list[str]:
    """``;``-joined distinct values of each of ``n`` texts, in order (``owner``: each value's
    text, in order)."""
    import numpy as np

    out = np.full(n, "", dtype=object)
    if len(owner):
        alone = np.bincount(owner, minlength=n)[owner] == 1   # (nearly all: one value per text)
        out[owner[alone]] = values[alone]
        for t, v in dict.fromkeys(zip(owner[~alone].tolist(), values[~alone].tolist(), strict=True)):
            out[t] = v if not out[t] else f"{out[t]};{v}"
    return out.tolist()   # type: ignore[no-any-return]


_NOTHING = Extracted()
_FOUR_DIGITS = re.compile(r"\d{4}")
_GROUP_SEP = re.compile(r"[ \-\u00a0]")


# ----------------------------------------------------------------------- masking
def mask_id_number(value: object) -> str:
    """Mask an ID number for briefings: keep the first 4 and last 4 characters.

    Examples
    --------
    >>> mask_id_number("45010319550214996X")
    '4501**********996X'
    """
    s = "" if value is None else str(value).strip()
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def mask_phone(value: object) -> str:
    """Mask a phone number: ``138****0611``; landlines keep the area code.

    Examples
    --------
    >>> mask_phone("13800000611")
    '138****0611'
    >>> mask_phone("0771-2000303")
    '0771-***0303'
    """
    s = "" if value is None else str(value).strip()
    if "-" in s:
        area, local = s.split("-", 1)
        return f"{area}-{'*' * max(len(local) - 4, 0)}{local[-4:]}"
    if len(s) <= 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def mask_bank_card(value: object) -> str:
    """Mask a bank card: first 4 and last 4 digits.

    Examples
    --------
    >>> mask_bank_card("6222021234567890128")
    '6222***********0128'
    """
    return mask_id_number(value)


def mask_text(text: object) -> str:
    """Mask every ID number, phone and bank card found in free text.

    Examples
    --------
    >>> mask_text("李桂兰 450103195502141219 13912345678")
    '李桂兰 4501**********1219 139****5678'
    """
    if text is None:
        return ""
    s = str(text)

    def repl(m: re.Match[str]) -> str:
        span = m.group(1)
        found = extract_identifiers(span)
        digits = re.sub(r"\D", "", span)
        if found.phones == (digits[-11:],) and not (found.id_numbers or found.bank_cards
                                                      or found.invalid_id_numbers):
            return mask_phone(found.phones[0])
        out = span
        for v in found.id_numbers + found.invalid_id_numbers:
            out = out.replace(v, mask_id_number(v)).replace(v[:17] + "x", mask_id_number(v))
        for v in found.bank_cards:
            out = out.replace(v, mask_bank_card(v))
        for v in found.phones:
            out = out.replace(v, mask_phone(v))
        return out

    return _SPAN_RE.sub(repl, s)
