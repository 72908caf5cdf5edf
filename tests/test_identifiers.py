"""Identifier rules of DESIGN.md §2 (issue #2): table tests of tricky cases and properties."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crimegraph.exceptions import InvalidIdentifierError
from crimegraph.identifiers import (
    check_id_number,
    extract_identifiers,
    extract_otp_codes,
    id_check_digit,
    is_masked,
    luhn_check_digit,
    luhn_valid,
    mask_bank_card,
    mask_id_number,
    mask_phone,
    mask_text,
    normalize_bank_card,
    normalize_id_number,
    normalize_mobile,
    normalize_phone,
)

VALID_ID = "450103195502141219"
VALID_ID_X = "11010519491231002X"
VALID_CARD = "6222021234567890128"


# ----------------------------------------------------------------------- phones
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("0086-138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("tel:+86-138-0013-8000", "13800138000"),
        ("'13800138000", "13800138000"),          # spreadsheet text guard
        ("13800138000\t", "13800138000"),          # bill export TAB
        ("19912345678", "19912345678"),
        ("0771-2000303", "0771-2000303"),
        ("(0771) 2000303", "0771-2000303"),
        ("07712000303", "0771-2000303"),
        ("010-62345678", "010-62345678"),
        ("+86 771 2000303", "0771-2000303"),
        ("12800138000", None),                     # 12x is not a mobile segment
        ("1380013800", None),                      # 10 digits
        ("138001380001", None),                    # 12 digits
        ("213800138000", None),
        ("139******01", None),                     # masked
        ("138****0611", None),
        ("", None),
        (None, None),
        ("/", None),
        ("abc", None),
    ],
)
def test_normalize_phone_table(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["139******01", "138****0611", "4501**********996X",
                                 "6222 **** **** 0128", "+86 138****0611"])
def test_masked_values_detected(raw):
    assert is_masked(raw)
    assert normalize_phone(raw) is None
    assert normalize_id_number(raw) is None
    assert normalize_bank_card(raw) is None


def test_unmasked_not_masked():
    assert not is_masked("13800138000")
    assert not is_masked("*")
    assert not is_masked(None)


# --------------------------------------------------------------------------- IDs
@pytest.mark.parametrize(
    ("raw", "expected", "reason_part"),
    [
        (VALID_ID, VALID_ID, ""),
        (VALID_ID_X.lower(), VALID_ID_X, ""),
        (VALID_ID_X, VALID_ID_X, ""),
        (" " + VALID_ID + "\t", VALID_ID, ""),
        ("110105491231002", VALID_ID_X, ""),                  # 15-digit legacy upgrade
        ("450103195502141218", None, "check digit"),
        ("450103195502301219", None, "birth date"),           # 30 February
        ("990103195502141219", None, "province"),
        ("45010319550214121", None, "length"),
        ("4501031955021412199", None, "length"),
        ("45010319550214121Y", None, "digit or X"),
        ("110105491331002", None, "birth date"),              # month 13 in a legacy ID
        ("4501**********996X", None, ""),
    ],
)
def test_check_id_number_table(raw, expected, reason_part):
    chk = check_id_number(raw)
    assert chk.normalized == expected
    assert chk.valid is (expected is not None)
    assert reason_part in chk.reason


def test_id_details():
    chk = check_id_number(VALID_ID)
    assert chk.birth_date == dt.date(1955, 2, 14)
    assert chk.sex == "M"  # order code 121: odd
    assert chk.region == "450103"


def test_id_check_digit_rejects_bad_input():
    with pytest.raises(InvalidIdentifierError):
        id_check_digit("123")
    with pytest.raises(ValueError):  # catchable as a built-in
        id_check_digit("1234567890123456a")


_bodies = st.builds(
    lambda prov, area, d, order: f"{prov}{area:04d}{d:%Y%m%d}{order:03d}",
    st.sampled_from([11, 31, 44, 45, 65, 81]),
    st.integers(0, 9999),
    st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)),
    st.integers(0, 999),
)


@given(_bodies)
def test_id_with_computed_check_digit_is_valid(body):
    full = body + id_check_digit(body)
    assert normalize_id_number(full) == full
    for wrong in "0123456789X":
        if wrong != full[-1]:
            assert normalize_id_number(body + wrong) is None


@given(_bodies.filter(lambda b: b[6:8] == "19"))
def test_legacy_15_digit_upgrade(body):
    legacy = body[:6] + body[8:17]
    assert normalize_id_number(legacy) == body + id_check_digit(body)


# -------------------------------------------------------------------------- cards
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID_CARD, VALID_CARD),
        ("6222 0212 3456 7890 128", VALID_CARD),
        ("6222-0212-3456-7890-128", VALID_CARD),
        ("6222021234567890129", None),   # Luhn fails
        ("622202123456789", None),       # 15 digits
        ("62220212345678901289", None),  # 20 digits
    ],
)
def test_normalize_bank_card_table(raw, expected):
    assert normalize_bank_card(raw) == expected


def test_valid_id_passing_luhn_is_not_a_card():
    # Search a valid ID that is Luhn-valid: it must still not be a card.
    for order in range(1000):
        body = f"45010319550214{order:03d}"
        full = body + id_check_digit(body)
        if full.isdigit() and luhn_valid(full):
            assert normalize_bank_card(full) is None
            assert extract_identifiers(f"卡号 {full}").bank_cards == ()
            assert extract_identifiers(f"卡号 {full}").id_numbers == (full,)
            return
    pytest.fail("no Luhn-valid ID found")


@given(st.text(alphabet="0123456789", min_size=15, max_size=18))
def test_luhn_check_digit_property(partial):
    card = partial + luhn_check_digit(partial)
    assert luhn_valid(card)
    assert normalize_bank_card(card) in (card, None)
    if normalize_bank_card(card) is None:
        assert normalize_id_number(card) is not None


# --------------------------------------------------------------------------- OTPs
@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("【拼多多】验证码482913，5分钟内有效，请勿泄露", ("482913",)),
        ("【美团】8306（登录验证码），请勿告诉他人", ("8306",)),
        ("验证码 482913", ("482913",)),
        ("码：4829 验证码", ("4829",)),
        ("【淘宝】您正在登录，123456，请勿泄露", ("123456",)),
        ("今天做了1200元", ()),
        ("验证码已发送，有效期10分钟", ()),
        ("验证码5分钟有效", ()),
        ("2024年的验证码", ()),
        ("验证码 13800138000", ()),          # a phone, not a code
        ("验证码 1234567", ()),              # 7 digits
        ("验证码 ****56", ()),
        ("老板 482913", ()),                 # no code context
        ("8306【美团】4829", ("4829",)),      # without a keyword: only after the bracket
        ("验证码如下" + "，" * 30 + "校验码 5678", ("5678",)),   # near the second keyword only
        ("5678 是校验码，验证码 5678", ("5678",)),               # before a keyword; once
        (None, ()),
    ],
)
def test_extract_otp_codes_table(text, codes):
    assert extract_otp_codes(text) == codes


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["验证码", "动态密码", "【美团】", "【", "】", "code", "CODE", "Verification Code",
                                  "482913", "元", " ", "码", "平台"]) | st.text(max_size=3), max_size=8).map("".join))
def test_otp_precheck_never_skips_a_context(text):
    from crimegraph.identifiers import _OTP_KEYWORDS, _SMS_BRACKET, _may_have_otp_context

    if not _may_have_otp_context(text):
        assert _OTP_KEYWORDS.search(text) is None and _SMS_BRACKET.search(text) is None
        assert extract_otp_codes(text) == ()


def test_otp_precheck_case_folding_is_ascii_only():
    # the keyword pattern ignores case; the precheck lower-cases: only ASCII C, O, D, E fold
    # to (or lower-case into text containing) c, o, d, e, so the two agree on "code"
    import sys

    folds = [c for c in map(chr, range(sys.maxunicode + 1))
             if c not in "cCoOdDeE" and (any(x in c.lower() for x in "code")
                                         or re.fullmatch("(?i)[code]", c))]
    assert folds == []


# --------------------------------------------------------------------- extraction
def test_extract_posting_with_everything():
    text = f"李桂兰 {VALID_ID} 13912345678 卡{VALID_CARD} 验证码 482913"
    e = extract_identifiers(text)
    assert e.id_numbers == (VALID_ID,)
    assert e.phones == ("13912345678",)
    assert e.bank_cards == (VALID_CARD,)
    assert e.otp_codes == ("482913",)
    assert bool(e)


@pytest.mark.parametrize(
    "text",
    [
        "订单号 2024051713800138000123",       # phone inside a longer run
        "交易单号4200001234202405171380013800",
        "wxid_13800138000",                   # glued to letters
        "139******01",
        "138****0611",
        "流水 113800138000",
    ],
)
def test_no_phone_inside_longer_runs(text):
    assert extract_identifiers(text).phones == ()


def test_extract_spaced_and_prefixed_phones():
    assert extract_identifiers("电话 +86 138 0013 8000 好").phones == ("13800138000",)
    assert extract_identifiers("电话0086-138-0013-8000").phones == ("13800138000",)
    assert extract_identifiers("座机 0771-2000303").landlines == ("0771-2000303",)


def test_extract_flags_invalid_id_without_storing_it():
    e = extract_identifiers("身份证450103195502141218")
    assert e.id_numbers == ()
    assert e.invalid_id_numbers == ("450103195502141218",)


def test_extract_lowercase_x():
    assert extract_identifiers(f"身份证{VALID_ID_X.lower()}").id_numbers == (VALID_ID_X,)


def test_extract_id_and_phone_separated_by_space():
    e = extract_identifiers(f"{VALID_ID} 13912345678")
    assert e.id_numbers == (VALID_ID,) and e.phones == ("13912345678",)


_mobiles = st.builds(lambda a, rest: f"1{a}{rest:09d}", st.sampled_from("3456789"),
                     st.integers(0, 999_999_999))


@given(_mobiles, st.sampled_from(["{p}", "+86{p}", "+86 {p}", "0086{p}", "86{p}",
                                  "{a} {b} {c}", "{a}-{b}-{c}", "+86-{a}-{b}-{c}"]))
def test_phone_formats_normalise(mobile, fmt):
    raw = fmt.format(p=mobile, a=mobile[:3], b=mobile[3:7], c=mobile[7:])
    assert normalize_phone(raw) == mobile
    assert normalize_mobile(raw) == mobile
    assert extract_identifiers(f"电话：{raw}，谢谢").phones == (mobile,)


@given(_mobiles, st.text(alphabet="0123456789", min_size=1, max_size=6),
       st.text(alphabet="0123456789", max_size=6))
def test_phone_in_longer_digit_run_never_extracted(mobile, prefix, suffix):
    # "86" / "0086" directly before a mobile is the country code (DESIGN.md §2), not a longer run
    assume(not (prefix in ("86", "0086") and suffix == ""))
    assert mobile not in extract_identifiers(f"单号{prefix}{mobile}{suffix}").phones


@given(_mobiles, st.integers(2, 6))
def test_masked_phone_never_a_phone(mobile, n):
    masked = mobile[:3] + "*" * n + mobile[3 + n:]
    assert normalize_phone(masked) is None
    assert extract_identifiers(f"对方 {masked}").phones == ()


@settings(max_examples=60)
@given(_bodies, _mobiles, st.text(alphabet="张王李赵刘陈 ，。收到", max_size=8))
def test_mask_text_removes_every_identifier(body, mobile, filler):
    full = body + id_check_digit(body)
    text = f"{filler}{full} {mobile}{filler}"
    masked = mask_text(text)
    found = extract_identifiers(masked)
    assert found.id_numbers == () and found.phones == ()
    assert full not in masked and mobile not in masked
    assert mask_id_number(full) in masked
    assert mask_phone(mobile) in masked


# ------------------------------------------------------------------------ masking
def test_masking_helpers():
    assert mask_id_number("45010319550214996X") == "4501**********996X"
    assert mask_phone("13800000611") == "138****0611"
    assert mask_phone("0771-2000303") == "0771-***0303"
    assert mask_bank_card(VALID_CARD) == "6222***********0128"
    assert mask_phone("") == ""
    assert mask_id_number(None) == ""
    assert mask_text("+86 138 0013 8000") == "138****8000"
    assert mask_text(None) == ""


@given(st.sampled_from([11, 31, 45, 65, 82, 10, 99]), st.integers(0, 9999), st.integers(1890, 2110),
       st.integers(0, 13), st.integers(0, 32), st.integers(0, 999), st.sampled_from(list("0123456789Xx")))
@settings(max_examples=500)
def test_extraction_takes_ids_exactly_as_check_id_number(province, county, year, month, day, order, check):
    """Extraction checks 18-digit spans without building a check result: same verdict."""
    from crimegraph.identifiers import _classify_compact

    s = f"{province:02d}{county:04d}{year:04d}{month:02d}{day:02d}{order:03d}{check}"
    chk = check_id_number(s)
    hit = _classify_compact(s, False)
    if chk.valid:
        assert hit == ("id", chk.normalized)
    else:
        assert hit is None or hit[0] != "id"


@given(st.text(alphabet="0123456789Xx٣１", min_size=18, max_size=18))
@settings(max_examples=500)
def test_fast_id_check_agrees_with_the_explained_one(s):
    """_id18_valid (set lookups) accepts exactly what _id18_problem finds no problem with."""
    from crimegraph.identifiers import _id18_problem, _id18_valid

    s = s[:17] + s[17].upper()
    assert _id18_valid(s) == (not _id18_problem(s))


def test_birth_dates_are_the_dates_birth_date_accepts():
    from crimegraph.identifiers import _birth_date, _birth_dates

    dates = _birth_dates()
    assert len(dates) == sum(366 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 365
                             for y in range(1900, 2100))
    for y in (1899, 1900, 1999, 2000, 2023, 2024, 2099, 2100):
        for m in range(0, 14):
            for d in range(0, 33):
                s = f"{y:04d}{m:02d}{d:02d}"
                assert (s in dates) == (_birth_date(s) is not None), s


def test_extracted_columns_follow_their_names():
    from crimegraph.identifiers import extract_identifiers
    from crimegraph.io.chats import _EXTRACTED, _extract

    text = ("李桂兰 450103195502141219 13912345678 卡号 6222021234567890128 验证码 482913 "
            "错号 450103195502141218")
    e = extract_identifiers(text)
    assert all(getattr(e, c) for c in _EXTRACTED)
    assert _extract([text], ["text"]) == [tuple(";".join(getattr(e, c)) for c in _EXTRACTED)]


def test_extract_many_messages_once_each_none_in_system_or_empty_ones():
    """_extract gives each message the identifiers of its own text (repeats and texts met
    in an earlier call alike), and none to system messages, empty or missing texts."""
    from crimegraph.identifiers import extract_identifiers
    from crimegraph.io.chats import _EXTRACTED, _NONE_FOUND, _extract

    posts = [f"王秀英 45010319550214121{i} 手机1380013800{i}" for i in range(10)] + ["你好", "验证码 482913"]
    contents = [*posts, posts[0], None, "", posts[3], posts[1]]
    types = ["text"] * len(contents)
    types[3] = types[-1] = "system"
    want = [tuple(";".join(getattr(extract_identifiers(c), f)) for f in _EXTRACTED)
            if c and t != "system" else _NONE_FOUND for c, t in zip(contents, types, strict=True)]
    assert _extract(contents, types) == want
    assert _extract(list(reversed(contents)), list(reversed(types))) == list(reversed(want))   # (cached now)
    as_text = _extract(contents, ["text"] * len(contents))   # the system message's text, taken as text
    assert as_text[3] != _NONE_FOUND and as_text[3][2] == "13800138003"


# ------------------------------------------------------------- many texts at once
_FIELDS = ("id_numbers", "invalid_id_numbers", "phones", "landlines", "bank_cards", "otp_codes")


def _one_by_one(texts: list[str]) -> list[list[str]]:
    found = [extract_identifiers(t) for t in texts]
    return [[";".join(getattr(e, f)) for e in found] for f in _FIELDS]


def _id_with_check(body17: str) -> str:
    return body17 + id_check_digit(body17)


_IDS = [VALID_ID, VALID_ID_X, VALID_ID_X.lower(), "450103195502141218", "990103195502141219",
        "450103195513141219", "440524188001010014", _id_with_check("45010320000229123"),
        _id_with_check("45010319000229123"), "450103550214121", "450103551314121"]
#: A valid ID number that also passes the Luhn check: in groups, neither an ID nor a card.
ID_LUHN = "450103195502100150"
_GROUPED = ["138 0013 8000", "138-0013-8000", "138 00 138 000", "86 138 0013 8000", "86-138-0013-8000",
            "4501 0319 5502 1000 15 0", "4501 0319 5502 1001 50", "6222 0212 3456 7890 128", "8306【美团】4829"]
_TOKENS = [*_IDS, ID_LUHN, *_GROUPED, "13800138000", "8613800138000", "19912345678", "12345678901", VALID_CARD,
           "6222021234567890124", "4111111111111111", "41111111111111111", "0771-2000303", "010 62345678",
           "0086", "+86", "86", "0", "00", "验证码", "【美团】", "code", "CODE", "元", "分钟", "x", "X", "a", "_",
           "*", "＊", "，", "。", "\n", "１３８", "٣", "\x00", "138 001 380 00"]
_SEPS = ["", "", " ", "-", "\u00a0", "  ", "，"]


@st.composite
def _texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(st.sampled_from(_TOKENS), st.text("0123456789", min_size=1, max_size=20),
                                    st.sampled_from(_SEPS)), max_size=12))
    return "".join(parts)


@settings(max_examples=400, deadline=None)
@given(st.lists(_texts(), max_size=8))
def test_find_identifiers_many_is_extract_identifiers_on_each(texts):
    from crimegraph.identifiers import find_identifiers_many

    assert find_identifiers_many(texts) == _one_by_one(texts)


@pytest.mark.parametrize("text", [
    f"{VALID_ID} 13800138000",             # one span of two numbers: each group alone
    "电话 138 0013 8000 / 138-0013-8000",    # one number written in groups, twice: once
    "4501 0319 5502 1412 19",              # a valid ID in groups: neither an ID nor a card
    "4501 0319 5502 1001 50 4501-0319-5502-1001-50",   # ... even when it passes the Luhn check
    f"{ID_LUHN} 13800138000",              # ... but a valid ID written alone
    "138 00 138 000 / 13 800 138 000",     # not a grouping read as one number
    "86 138 0013 8000 / 86-13800138000",   # a country code without its +
    "8306【美团】 / 【美团】4829",            # an SMS code after the bracket only
    "6222 0212 3456 7890 128",             # a card in groups
    "11010519491231002x 13800138000",      # the check letter upper-cased
    "450103550214121",                     # a legacy 15-digit ID upgraded
    "+86 138 0013 8000，0086-13800138001，86 13800138002",
    "座机 0771-2000303 010\u00a062345678",
    f"{VALID_ID}，{VALID_ID}，13800138000，13800138000",   # repeats in one message: once
    "450103195502141218 450103195513141219",             # a bad check digit; a bad birth date
    "【美团】8306（登录验证码），5分钟内有效", "你好", "",
    "138 001 380 00 / 12 34 / 123 / 123X", # grouped as a phone, but no four digits in a row: none
    "a1234 138 001 380 00",                # four digits in a row outside every span: one phone
    "NUL\x00 13800138000",                 # (the texts are searched joined, but for this one)
])
def test_find_identifiers_many_cases(text):
    from crimegraph.identifiers import find_identifiers_many

    texts = [text, "无", text]
    assert find_identifiers_many(texts) == _one_by_one(texts)


def test_chat_extraction_cache_is_emptied_when_full(monkeypatch):
    from crimegraph.io import chats

    monkeypatch.setattr(chats, "_SEEN", {})
    monkeypatch.setattr(chats, "_SEEN_MAX", 3)
    texts = [f"客户{i} 1380013800{i}" for i in range(5)]
    expect = [tuple(";".join(getattr(extract_identifiers(t), f)) for f in
                    ("id_numbers", "invalid_id_numbers", "phones", "bank_cards", "otp_codes")) for t in texts]
    assert chats._extract(texts[:2], ["text"] * 2) == expect[:2]
    assert len(chats._SEEN) == 2
    assert chats._extract(texts, ["text", "system", "text", "text", "text"]) == [
        expect[0], chats._NONE_FOUND, *expect[2:]]
    assert set(chats._SEEN) == set(texts[2:])   # emptied, then the texts new to this call
