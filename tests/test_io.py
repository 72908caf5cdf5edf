"""Loader contract (issue #3): every layout, exact counts, values and rejects;
the sample case with zero unexplained rows; fuzzing with random and mangled input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import crimegraph as cg
from crimegraph.exceptions import CrimegraphError, FormatError
from crimegraph.io import READERS, read_case
from crimegraph.io._common import Source
from crimegraph.io.registry import sniff
from crimegraph.schema import CONTACT_COLUMNS, MESSAGE_COLUMNS, TRANSFER_COLUMNS
from crimegraph.synth import SCALES, build_world

from . import fixtures as fx

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "small"
TZ8 = dt.timezone(dt.timedelta(hours=8))
COLUMNS = {"transfers": TRANSFER_COLUMNS, "messages": MESSAGE_COLUMNS, "contacts": CONTACT_COLUMNS}


def _read(path: str) -> list[cg.io.Loaded]:
    data = fx.all_fixtures()[path]
    return cg.read(fx.as_buffer(data, path), source_name=path, device=path.split("/")[0])


def _one(path: str) -> cg.io.Loaded:
    (res,) = _read(path)
    return res


def _counts(res: cg.io.Loaded) -> tuple[int, int, int, int]:
    r = res.report
    return r.rows_read, r.accepted, r.rejected, r.skipped


def _rejects(res: cg.io.Loaded) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in res.report.rejects]


# ------------------------------------------------------------------ the contract
EXPECTED = {
    # path: (format, (read, accepted, rejected, skipped), rejects)
    "S1_阿强_手机/微信支付账单(20240301-20240331).csv": (
        "wechat_pay_csv", (7, 5, 2, 0),
        [(23, "unparseable time '2024-03-3x 10:00:00'"), (24, "truncated row: 5 of 11 fields")]),
    "S1_阿强_手机/wechat_fullwidth.csv": (
        "wechat_pay_csv", (7, 5, 2, 0),
        [(23, "unparseable time '2024-03-3x 10:00:00'"), (24, "truncated row: 5 of 11 fields")]),
    "S1_阿强_手机/微信支付账单2025.xlsx": (
        "wechat_pay_xlsx_2025", (4, 3, 1, 0), [(21, "truncated row: 3 of 11 cells filled")]),
    "S1_阿强_手机/微信支付账单2026.xlsx": (
        "wechat_pay_xlsx_2026", (4, 3, 1, 0), [(22, "truncated row: 3 of 11 cells filled")]),
    "S2_赵国栋_手机/alipay_record_20200301_20200531.csv": ("alipay_web", (10, 3, 0, 7), []),
    "S2_赵国栋_手机/支付宝2021.csv": ("alipay_2021", (8, 3, 0, 5), []),
    "S2_赵国栋_手机/支付宝交易明细2023.csv": (
        "alipay_2023", (6, 5, 1, 0), [(31, "malformed row: 6 fields, expected 12")]),
    "银行反馈/中国工商银行交易明细信息.csv": (
        "bank_csv", (6, 4, 1, 1), [(6, "malformed row: 30 fields, expected 29")]),
    "银行反馈/某银行流水.csv": ("bank_csv", (3, 2, 1, 0), [(4, "neither debit nor credit amount")]),
    "银行反馈/中信银行_资金查询反馈.xlsx": ("bank_xlsx", (3, 2, 1, 0), [(4, "unknown direction '??'")]),
    "S1_阿强_手机/contacts_android.vcf": (
        "vcard", (4, 2, 1, 1), [(18, "vCard cut off (no END:VCARD)")]),
    "S1_阿强_手机/contacts_iphone.vcf": ("vcard", (1, 1, 0, 0), []),
    "S2_赵国栋_手机/contacts_v4.vcf": ("vcard", (1, 1, 0, 0), []),
    "S1_阿强_手机/通讯录.csv": ("contact_sheet_csv", (4, 3, 0, 1), []),
    "S2_赵国栋_手机/通讯录.xlsx": ("contact_sheet_xlsx", (2, 2, 0, 0), []),
    # the trailing all-blank row after the data is not a row (both XLSX engines agree)
    "S3_老板_手机/Cellebrite_Contacts.xlsx": ("cellebrite_contacts_xlsx", (2, 2, 0, 0), []),
    fx.MEMOTRACE_GROUP_PATH: (
        "memotrace_csv", (8, 6, 2, 0),
        [(9, "unparseable time 'abc'"), (10, "truncated row: 6 of 12 fields")]),
    fx.MEMOTRACE_DM_PATH: ("memotrace_csv", (2, 2, 0, 0), []),
    "S3_老板_手机/wxid_boss_20240301_20240331.csv": (
        "pywxdump_csv", (6, 4, 2, 0),
        [(6, "no room_name (chat id)"), (7, "malformed row: 8 fields, expected 9")]),
}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_every_layout_counts_and_rejects(path):
    fmt, counts, rejects = EXPECTED[path]
    res = _one(path)
    assert res.report.format == fmt
    assert _counts(res) == counts
    assert res.report.balanced
    assert _rejects(res) == rejects
    assert list(res.frame.columns) == list(COLUMNS[res.table])
    assert len(res.frame) == res.report.accepted
    # provenance on every row
    assert (res.frame["source_file"] == path).all()
    assert res.frame["source_line"].gt(0).all()


def test_wechat_csv_values():
    f = _one("S1_阿强_手机/微信支付账单(20240301-20240331).csv").frame
    assert f["transfer_id"].tolist()[:2] == ["wechat:100005000120240305000000000001",
                                             "wechat:100005000120240305000000000002"]
    assert f["amount"].tolist() == [Decimal("15.00"), Decimal("1200.00"), Decimal("28.16"),
                                    Decimal("100.00"), Decimal("11.84")]
    assert all(isinstance(a, Decimal) for a in f["amount"])
    assert f["direction"].tolist() == ["in", "in", "out", "neutral", "out"]
    assert f["time"].iloc[0] == dt.datetime(2024, 3, 5, 14, 22, 10, tzinfo=TZ8)
    assert f["time"].iloc[0].utcoffset() == dt.timedelta(hours=8)
    assert f["owner_nickname"].unique().tolist() == ["阿强"]
    assert f["note"].tolist()[:2] == ["佣金", None]     # "/" and '"/"' are empty
    assert f["counterparty"].iloc[0] == "鑫源收号"


@pytest.mark.parametrize("layout", [2025, 2026])
def test_wechat_xlsx_values(layout):
    path = f"S1_阿强_手机/微信支付账单{layout}.xlsx"
    res = _one(path)
    assert res.frame["amount"].tolist() == [Decimal("15.00"), Decimal("1200.00"), Decimal("28.16")]
    assert res.owner == {"wechat_nicknames": ["阿强"]}


def test_wechat_xlsx_truncated_row_raw_text():
    """The rejects report keeps a short XLSX row's cells as a list, as read."""
    for layout in (2025, 2026):
        res = _one(f"S1_阿强_手机/微信支付账单{layout}.xlsx")
        assert [r.raw for r in res.report.rejects] == ["['2024-03-10 10:00:00', '转账', '小李']"]


_CELLS = st.one_of(st.none(), st.just(""), st.text(max_size=4), st.integers(-5, 5), st.booleans(),
                   st.floats(allow_nan=True, allow_infinity=True), st.just(2.0), st.just(-0.0),
                   st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)))


@given(st.integers(0, 6).flatmap(lambda w: st.lists(st.lists(_CELLS, min_size=w, max_size=w), max_size=8)),
       st.booleans())
@settings(max_examples=300)
def test_xlsx_cells_normalised_by_column_as_by_row(rows, ragged):
    """Both XLSX engines' cells, normalised a column at a time (rows of one width) or a row at
    a time: blanks None, whole floats ints, trailing blanks dropped; the same rows."""
    from crimegraph.io._common import _normal_row, _normal_rows

    if ragged and rows:
        rows[0] = rows[0] + [None, "x"]
    got = _normal_rows(rows)
    want = [_normal_row(r) for r in rows]
    assert [tuple(map(repr, r)) for r in got] == [tuple(map(repr, r)) for r in want]
    assert all(type(r) is tuple for r in got)


@given(st.lists(st.one_of(st.sampled_from(["a", "b ", "/", ""]), st.text(alphabet="ab1 ", max_size=3), st.none(),
                          st.just(float("nan")), st.floats(allow_nan=True), st.just(pd.NaT), st.just(pd.NA),
                          st.just(Decimal("NaN")), st.integers(-2, 2), st.booleans(), st.just(1.0)), max_size=60),
       st.booleans())
@settings(max_examples=400)
def test_map_unique_equals_its_definition_by_factorize(values, series):
    """map_unique maps each distinct value once: the same list as mapping pd.factorize's
    distinct values (1, 1.0 and True one value; every missing value given to fn as None)
    and taking each row's, and fn is called at most once per distinct value and once for
    each kind of missing value."""
    from crimegraph.io._common import map_unique

    calls = []

    def fn(v):
        calls.append(v)
        return f"{type(v).__name__}:{v!r}"

    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    want = [fn(uniques[c]) if c >= 0 else fn(None) for c in codes]
    calls.clear()
    got = map_unique(pd.Series(values, dtype=object) if series else values, fn)
    assert got == want
    assert len(calls) <= len(uniques) + sum(1 for v in dict.fromkeys(values) if pd.isna(v) is True)


@given(st.lists(st.one_of(st.text(alphabet=" \t'/\u3000\u00a0ab1-", max_size=5), st.none(), st.just(float("nan")),
                          st.just(pd.NaT), st.just(pd.NA), st.just(Decimal("NaN")), st.integers(0, 3)),
                max_size=40), st.integers(0, 200))
@settings(max_examples=300)
def test_clean_column_either_path_equals_cleaning_each_distinct_value(odd, distinct):
    """clean_column takes a column that starts with mostly distinct text value by value, else
    once per distinct value: the same list as map_unique(values, clean) either way."""
    from crimegraph.io._common import clean, clean_column, map_unique

    values = [f" v{i}\t" if i % 3 else f"'v{i}" for i in range(distinct)] + odd
    want = map_unique(values, clean)
    for column in (values, tuple(values), pd.Series(values, dtype=object)):
        assert list(map(repr, clean_column(column))) == list(map(repr, want))


@given(st.lists(st.text(alphabet=" \t\n'/\u3000\u00a0\u2005ab1-N", max_size=5), max_size=60), st.integers(130, 300))
@settings(max_examples=300)
def test_clean_column_of_distinct_text_equals_cleaning_each_value(odd, distinct):
    """A column of text only, mostly distinct (ids, times), is cleaned in C-level passes
    (padding, quotes in front, null markers such as "/" or "N/A" left to clean itself): the
    same list as clean of each value, wherever the odd values fall."""
    from crimegraph.io._common import _clean_texts, clean, clean_column

    values = [f"42000{i}\t" for i in range(distinct)]
    for k, v in enumerate(odd):
        values.insert((k * 37) % len(values), v)
    values += ["N/A", " /", "'", "'\u3000x", "\u3000'y ", "z\u00a0"]
    want = [clean(v) for v in values]
    assert list(map(repr, clean_column(values))) == list(map(repr, want))
    assert list(map(repr, _clean_texts(values))) == list(map(repr, want))


def test_alipay_layouts_values():
    web = _one("S2_赵国栋_手机/alipay_record_20200301_20200531.csv")
    assert web.owner == {"names": "赵国栋", "alipay_accounts": "20880012345678900156"}
    assert web.frame["completed"].tolist() == [True, False, True]          # 交易关闭
    assert web.frame["counterparty"].tolist() == ["王建国", "华联超市", "周建明"]   # padding stripped
    assert web.frame["amount"].tolist() == [Decimal("500.00"), Decimal("32.50"), Decimal("1800.00")]

    a21 = _one("S2_赵国栋_手机/支付宝2021.csv")
    assert a21.owner == {"names": "赵国栋", "alipay_accounts": "13800138000"}
    assert a21.frame["direction"].tolist() == ["out", "in", "neutral"]
    assert a21.frame["counterparty_phone"].tolist() == [None, None, None]   # masked: not phones

    a23 = _one("S2_赵国栋_手机/支付宝交易明细2023.csv").frame
    assert a23["counterparty_account"].tolist() == ["139******01", None, "13912345678", None, None]
    assert a23["counterparty_phone"].tolist() == [None, None, "13912345678", None, None]
    # closed order (交易关闭 / 不计收支) loaded but not completed; 不计收支 never completed
    assert a23["completed"].tolist() == [True, True, True, False, False]
    assert a23["source_line"].tolist() == [26, 27, 28, 29, 30]


def test_bank_values_and_duplicate_serial():
    res = _one("银行反馈/中国工商银行交易明细信息.csv")
    f = res.frame
    assert f["transfer_id"].tolist() == ["bank:S0001", "bank:S0002", "bank:S0003", "bank:S0005"]
    assert res.report.skip_reasons == {"duplicate transaction id (same record seen twice)": 1}
    assert f["owner_account"].unique().tolist() == [fx.CARD_A]
    assert f["owner_id_number"].unique().tolist() == [fx.ID_A]
    assert f["counterparty_card"].tolist()[:2] == [fx.CARD_B, fx.CARD_B]
    assert f["counterparty_id_number"].tolist()[:2] == [fx.ID_B, fx.ID_B]
    assert f["counterparty"].tolist()[3] is None                       # "-" is null
    assert f["completed"].tolist() == [True, True, True, False]        # 交易是否成功 = 失败


def test_bank_split_columns_and_14_digit_times():
    f = _one("银行反馈/某银行流水.csv").frame
    assert f["direction"].tolist() == ["in", "out"]
    assert f["amount"].tolist() == [Decimal("3000.00"), Decimal("1200.50")]
    assert f["time"].iloc[0] == dt.datetime(2024, 3, 5, 14, 22, 10, tzinfo=TZ8)
    x = _one("银行反馈/中信银行_资金查询反馈.xlsx").frame
    assert x["time"].iloc[0] == dt.datetime(2024, 3, 5, 14, 22, 10, tzinfo=TZ8)
    assert x["completed"].tolist() == [True, False]                    # 交易是否成功 02


def test_contacts_values():
    a = _one("S1_阿强_手机/contacts_android.vcf").frame
    assert a["name"].tolist() == ["张三丰", "李四"]       # QP soft break split a UTF-8 char; GB2312
    assert a["phones"].tolist() == ["13800138000;0771-2000303", "13912345678"]
    assert "139******01" in a["note"].iloc[1]             # masked kept as a note, not a phone
    i = _one("S1_阿强_手机/contacts_iphone.vcf").frame
    assert i["phones"].tolist() == ["18600001111;13500001111"]
    assert i["note"].tolist() == ["上线, 鑫源"]
    v4 = _one("S2_赵国栋_手机/contacts_v4.vcf").frame
    assert (v4["phones"].tolist(), v4["emails"].tolist()) == (["15000002222"], ["zjm@example.com"])
    cb = _one("S3_老板_手机/Cellebrite_Contacts.xlsx")
    assert cb.frame["wechat_ids"].tolist() == ["wxid_aq123", ""]
    assert cb.frame["phones"].tolist() == ["13800138000", "13900001111;0771-2000303"]
    sheet = _one("S2_赵国栋_手机/通讯录.xlsx").frame
    assert sheet["phones"].tolist() == ["13800138000", "13700001111"]   # numeric cell


def test_memotrace_values():
    res = _one(fx.MEMOTRACE_GROUP_PATH)
    f = res.frame
    assert f["chat_id"].unique().tolist() == ["12345678901@chatroom"]   # from the folder name
    assert f["chat_name"].unique().tolist() == ["地推拉新3群"]
    system = f[f["msg_type"] == "system"]
    assert len(system) == 1 and system["sender_wxid"].isna().all()      # system: no person
    assert f["id_numbers"].tolist()[1] == fx.ID_A
    assert f["id_numbers"].tolist()[4] == fx.ID_B                        # lowercase x normalised
    assert f["otp_codes"].tolist()[3] == "482913"
    assert f["sender_name"].iloc[-1] == "<img src=x onerror=alert(1)>"  # kept verbatim as data
    assert res.owner == {"wechat_ids": ["wxid_aq123"], "wechat_nicknames": ["阿强"]}
    assert f["time"].iloc[1] == dt.datetime(2024, 3, 5, 12, 42, 10, tzinfo=TZ8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=6)), st.integers(0, 2**62),
                          st.one_of(st.none(), st.sampled_from(["text", "system"])), st.text(max_size=12)),
                min_size=1, max_size=6))
def test_message_ids_are_stable_ids_of_chat_instant_type_and_content(rows):
    from crimegraph.io._tables import stable_id
    from crimegraph.io.chats import message_ids

    chats, ns, types, contents = map(list, zip(*rows, strict=True))
    df = pd.DataFrame({"chat_id": pd.Series(chats, dtype=object),
                       "time": pd.to_datetime(pd.Series(ns, dtype="int64"), unit="ns", utc=True).dt.tz_convert(TZ8),
                       "msg_type": pd.Series(types, dtype=object), "content": pd.Series(contents, dtype=object)})
    assert message_ids(df) == [stable_id(*r) for r in zip(chats, ns, types, contents, strict=True)]


@pytest.mark.parametrize("whole", [True, False])
def test_memotrace_direct_chat_senders(whole):
    """A 1:1 chat: a row without Sender is the peer's unless the owner sent it; a system row
    has no person, even without Sender; the owner is named by the rows they sent. ``whole``:
    every row has its fields (the reader's fast path), else a short row is rejected too."""
    head = "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender"
    rows = ["1,9,1,0,0,1709700000,2,在吗,2024-03-06 12:40:00,,,",
            "2,9,10000,0,0,1709700050,2,你撤回了一条消息,2024-03-06 12:40:50,,,",
            "3,9,1,0,1,1709700100,2,好的,2024-03-06 12:41:40,,阿强,",
            "4,9,1,0,1,1709700200,2,收到,2024-03-06 12:43:20,,阿强,wxid_aq123"]
    if not whole:
        rows.insert(2, "5,9,1")
    res = cg.io.read_memotrace(io.BytesIO("\n".join([head, *rows]).encode()),
                               source_name="S1/聊天记录/老板(wxid_boss)/老板_utf8.csv")
    f = res.frame
    assert f["sender_wxid"].tolist() == ["wxid_boss", None, None, "wxid_aq123"]
    assert f["sender_name"].tolist() == [None, None, "阿强", "阿强"]
    assert res.owner == {"wechat_ids": ["wxid_aq123"], "wechat_nicknames": ["阿强"]}
    assert _rejects(res) == ([] if whole else [(4, "truncated row: 3 of 12 fields")])
    assert f["source_line"].tolist() == ([2, 3, 4, 5] if whole else [2, 3, 5, 6])


def test_memotrace_reads_strtime_where_createtime_fails():
    """StrTime is the fallback, cleaned (a leading quote and padding) only for the rows that need it;
    a row with neither time is rejected with its CreateTime."""
    text = "\r\n".join([
        "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender",
        "1,7,1,0,0,1709613730,2,a,2099-01-01 00:00:00,,x,wxid_x",     # CreateTime wins
        "2,7,1,0,0,/,2,b,' 2024-03-05 12:44:10\t,,x,wxid_x",         # StrTime, cleaned
        "3,7,1,0,0,abc,2,c,无,,x,wxid_x",                               # neither
    ]) + "\r\n"
    res = cg.io.read_memotrace(io.BytesIO(text.encode()), source_name="g(1@chatroom)/g_utf8.csv")
    assert res.frame["time"].tolist() == [dt.datetime(2024, 3, 5, 12, 42, 10, tzinfo=TZ8),
                                          dt.datetime(2024, 3, 5, 12, 44, 10, tzinfo=TZ8)]
    assert _counts(res) == (3, 2, 1, 0) and _rejects(res) == [(4, "unparseable time 'abc'")]


def test_pywxdump_values():
    f = _one("S3_老板_手机/wxid_boss_20240301_20240331.csv").frame
    assert f["from_owner"].tolist() == [True, False, False, False]
    assert f["sender_wxid"].tolist() == [None, "wxid_boss", None, None]   # 我 and 未知 are not persons


def test_ufdr_chats_and_contacts():
    chats, contacts = _read("S3_老板_手机/report.xml")
    assert chats.table == "messages" and contacts.table == "contacts"
    assert _counts(chats) == (3, 2, 1, 0)
    assert _rejects(chats) == [(37, "missing time")]
    assert chats.frame["sender_name"].tolist() == ["阿强", "鑫源收号"]
    assert chats.frame["from_owner"].tolist() == [True, False]
    # explicit UTC offset converted to +08:00
    assert chats.frame["time"].iloc[1] == dt.datetime(2024, 3, 5, 12, 44, 10, tzinfo=TZ8)
    assert _counts(contacts) == (2, 1, 0, 1)
    assert contacts.frame[["name", "phones", "wechat_ids"]].values.tolist() == [
        ["老板", "13900001111", "wxid_boss"]]


def test_unsafe_xml_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b'<project xmlns="http://pa.cellebrite.com/report/2.0">&lol2;</project>')
    with pytest.raises(FormatError, match="unsafe XML"):
        cg.read_ufdr_chats(fx.as_buffer(bomb))


def test_damaged_zip_versions_are_format_errors():
    """Found by the fuzzer: a zip whose 'version needed' says 6.4 made zipfile raise
    NotImplementedError out of the UFDR reader."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("report.xml", "<project/>")
    data = bytearray(buf.getvalue())
    cd = data.index(b"PK\x01\x02")
    data[cd + 6] = 64                             # version needed to extract: 6.4
    with pytest.raises(FormatError, match="damaged zip archive"):
        cg.read_ufdr_chats(fx.as_buffer(bytes(data)))


def test_unrecognised_file_raises_with_reason():
    with pytest.raises(FormatError, match="not a known export format"):
        _read("S3_老板_手机/readme.txt")


def test_sniff_recognises_by_content_not_name():
    for path, data in fx.all_fixtures().items():
        names = sniff(Source("renamed.bin", data))
        if path.endswith("readme.txt"):
            assert names == []
        else:
            assert names, path


@pytest.mark.parametrize("path", ["S1_阿强_手机/微信支付账单(20240301-20240331).csv", "银行反馈/中国工商银行交易明细信息.csv",
                                  "S1_阿强_手机/聊天记录/地推拉新3群(12345678901@chatroom)/地推拉新3群_utf8.csv"])
def test_sniff_large_file_whose_window_cuts_a_character(path):
    """Regression (Dingtao scale): the 64 KiB sniffing window ended inside a 3-byte
    CJK character, the head was then decoded as GB18030 (mojibake), and 87 big
    bills and chats were reported as unrecognised."""
    data = fx.all_fixtures()[path].rstrip(b"\n") + b"\n"
    filler = ("转账" * 30 + "\n").encode()     # 3-byte characters up to the cut
    expected = sniff(Source("small.csv", data))
    assert expected
    for shift in range(3):                      # the cut keeps 0, 1 or 2 bytes of a character
        big = data + b" " * shift + filler * (70_000 // len(filler) + 1)
        assert sniff(Source("big.csv", big)) == expected, shift


def test_read_with_explicit_format_and_bad_format():
    data = fx.all_fixtures()[fx.MEMOTRACE_GROUP_PATH]
    with pytest.raises(ValueError, match="not a registered reader"):
        cg.read(fx.as_buffer(data), format="nope")
    with pytest.raises(FormatError, match="chat id"):
        cg.read(fx.as_buffer(data), format="memotrace")   # no folder name: cannot tell the chat


def test_register_reader_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        cg.io.register_reader("vcard", READERS["vcard"], lambda s: False)


# -------------------------------------------------------------- a fixture case
@pytest.fixture()
def fixture_case(tmp_path):
    root = tmp_path / "case"
    for rel, data in fx.all_fixtures().items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    # the same bill twice (CSV and a copy): counted once
    dup = root / "S1_阿强_手机" / "copy_of_bill.csv"
    dup.write_bytes(fx.WECHAT_CSV_BOM)
    (root / "case.toml").write_text(
        '[case]\ntitle = "测试案"\n[[device]]\nfolder = "S2_赵国栋_手机"\nowner = "赵国栋"\n'
        f'phones = ["13800138000"]\nid_number = "{fx.ID_A}"\nbank_cards = ["{fx.CARD_A}"]\n',
        encoding="utf-8")
    return root


def test_read_case_on_fixtures(fixture_case):
    case = read_case(fixture_case)
    rep = case.report
    assert rep.unexplained_rows == 0
    lr = rep.to_frame()
    assert lr.loc[lr["file"] == "S3_老板_手机/readme.txt", "status"].tolist() == ["unrecognised"]
    # three copies of the same CSV bill (files sorted: the copy loads first), and the XLSX
    # exports of its first rows: every transaction is counted once
    bills = lr[lr["file"].isin(["S1_阿强_手机/copy_of_bill.csv", "S1_阿强_手机/wechat_fullwidth.csv",
                                "S1_阿强_手机/微信支付账单(20240301-20240331).csv",
                                "S1_阿强_手机/微信支付账单2025.xlsx", "S1_阿强_手机/微信支付账单2026.xlsx"])]
    assert bills["accepted"].sum() == 5
    assert bills.set_index("file").loc["S1_阿强_手机/copy_of_bill.csv", "accepted"] == 5
    assert bills["skip_reasons"].str.contains("duplicate").sum() == 4
    assert case.transfers.groupby(["transfer_id", "direction", "owner_nickname", "owner_account"],
                                  dropna=False).size().max() == 1
    # the same group message exported by MemoTrace, PyWxDump and UFDR is one message, seen 3 times
    posting = case.messages[case.messages["id_numbers"] == fx.ID_A]
    assert len(posting) == 1 and posting["copies"].iloc[0] == 3
    # owners: case.toml and inference
    dev = case.devices.set_index("device")
    assert dev.loc["S2_赵国栋_手机", "owner_name"] == "赵国栋"
    assert dev.loc["S2_赵国栋_手机", "id_number"] == fx.ID_A
    assert dev.loc["S1_阿强_手机", "wechat_ids"] == "wxid_aq123"
    assert "case.toml" in dev.loc["S2_赵国栋_手机", "evidence"]
    assert "银行反馈" not in dev.index
    # the PyWxDump owner message got the owner's id where the device says it
    assert case.title == "测试案"
    assert set(case.memberships["member_wxid"]) >= {"wxid_aq123", "wxid_boss"}
    html = case._repr_html_()
    assert "<table>" in html


def test_transfer_codes_worked_out_while_reading_are_those_of_the_loaded_transfers(fixture_case):
    """``_read_case`` numbers the transaction ids before dropping the repeats across files:
    the codes it gives (one per kept row, dense, in id text order) are those of the table
    it returns, and resolving with them gives the same resolution."""
    from crimegraph.io._tables import transfer_codes
    from crimegraph.io.case import _read_case
    from crimegraph.resolve import _resolve_entities, resolve_entities

    case, codes = _read_case(fixture_case)
    skipped = case.report.to_frame()["skip_reasons"].str.contains("another file").sum()
    assert skipped > 0   # (repeats across files were dropped after the codes were made)
    ids = case.transfers["transfer_id"]
    assert codes.tolist() == transfer_codes(ids).tolist()
    assert codes.tolist() == [sorted(set(ids)).index(i) for i in ids]
    pd.testing.assert_frame_equal(_resolve_entities(case, codes).transfers, resolve_entities(case).transfers)
    assert transfer_codes(pd.Series([None, None], dtype=object)).tolist() == [-1, -1]


def test_transfers_joined_without_repeats_as_if_dropped_after_joining():
    """Rows dropped from each file's frame before the frames are joined give the table that
    joining them first and dropping the rows after gives, column types included (a frame
    left empty still counts, as it did with its rows)."""
    from crimegraph.io.case import _join_without, _repeat_keys

    a = pd.DataFrame({"transfer_id": ["t1", "t2"], "direction": ["out", "in"], "owner_account": [None, "x"],
                      "owner_nickname": ["n", None], "amount": [Decimal("1.00"), Decimal("2.00")],
                      "source_file": ["a.csv"] * 2, "note": pd.Series([None, None], dtype=object)})
    b = a.assign(source_file="b.csv", note=pd.Series([1.5, 2.5]))   # (another type: all of b dropped)
    c = a.iloc[:1].assign(source_file="c.csv", transfer_id="t3")
    dup = np.array([False, False, True, True, False])
    want = pd.concat([a, b, c], ignore_index=True).loc[~dup].reset_index(drop=True)
    pd.testing.assert_frame_equal(_join_without([a, b, c], dup), want)
    assert str(_join_without([a, b, c], dup)["note"].dtype) == "object"
    keys = _repeat_keys([a, b, c])
    assert keys["source_file"].tolist() == ["a.csv"] * 2 + ["b.csv"] * 2 + ["c.csv"]
    assert keys["amount"].tolist() == [Decimal("1.00"), Decimal("2.00")] * 2 + [Decimal("1.00")]
    assert _join_without([], np.zeros(0, dtype=bool)).empty and _repeat_keys([]).empty


def test_read_case_errors(tmp_path):
    with pytest.raises(FormatError, match="not a case folder"):
        read_case(tmp_path / "missing")
    (tmp_path / "case.toml").write_text("[case\n", encoding="utf-8")
    with pytest.raises(FormatError, match="not valid TOML"):
        read_case(tmp_path)


# ---------------------------------------------------------------- sample case
@pytest.fixture(scope="module")
def sample():
    return read_case(SAMPLE / "case")


@pytest.fixture(scope="module")
def truth():
    return json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))


def test_sample_zero_unexplained_rows(sample, truth):
    rep = sample.report
    assert rep.unexplained_rows == 0
    assert all(f.balanced for f in rep.files)
    got = sorted((r.file, r.line) for f in rep.files for r in f.rejects)
    want = sorted((m["file"], m["line"]) for m in truth["malformed_rows"])
    assert got == want
    lr = rep.to_frame()
    unrec = lr[lr["status"] == "unrecognised"]["file"].tolist()
    assert unrec == [u["file"] for u in truth["unrecognised_files"]]
    assert (lr["status"] != "failed").all()
    for _first, b in truth["duplicate_files"]:
        twin = lr[lr["file"] == b].iloc[0]
        assert twin["accepted"] == 0 and twin["skipped"] == twin["rows_read"]
    loaded = {f.file for f in rep.files if f.status == "loaded"}
    assert set(truth["files"]) <= loaded


def test_sample_tables_match_ground_truth(sample, truth):
    assert len(sample.messages) == truth["counts"]["messages"]
    with open(SAMPLE / "ground_truth_victims.csv", encoding="utf-8") as fh:
        victims = {r["id_number"] for r in csv.DictReader(fh)}
    leaked = set(";".join(sample.messages["id_numbers"]).split(";")) - {""}
    assert leaked == victims
    # transfers: every transaction id of the world is loaded, except a row only held by a
    # damaged line
    world = build_world(SCALES["small"], seed=1)
    ids = {f"{t.channel}:{t.tid}" for t in world.transfers} | {f"bank:{b.serial}" for b in world.bank}
    loaded = set(sample.transfers["transfer_id"])
    assert loaded <= ids
    assert len(ids - loaded) <= len(truth["malformed_rows"])
    owners = sample.devices.set_index("device")
    for d in truth["devices"]:
        person = next(p for p in truth["persons"] if p["person_id"] == d["owner"])
        assert d["folder"] in owners.index
        row = owners.loc[d["folder"]]
        known = set(row["wechat_ids"].split(";")) | set(row["wechat_nicknames"].split(";")) | {row["owner_name"]}
        assert {person["wechat_id"], person["nickname"], person["name"]} & known


def test_sample_amounts_are_decimals_and_times_aware(sample):
    assert all(isinstance(a, Decimal) for a in sample.transfers["amount"])
    assert sample.transfers["time"].iloc[0].utcoffset() == dt.timedelta(hours=8)
    assert sample.messages["time"].iloc[0].utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_read_case_is_deterministic(sample, workers):
    """Same tables and reports whatever the number of reading processes."""
    again = read_case(SAMPLE / "case", workers=workers)
    for table in ("transfers", "messages", "contacts", "memberships", "devices"):
        pd.testing.assert_frame_equal(getattr(again, table), getattr(sample, table))
    pd.testing.assert_frame_equal(again.report.to_frame(), sample.report.to_frame())
    pd.testing.assert_frame_equal(again.report.rejects(), sample.report.rejects())


def test_read_case_pauses_the_cycle_collector_and_restores_it(monkeypatch):
    """Reading runs with the cycle collector off (and the workers forked then keep it off);
    it is on again afterwards, also when reading fails."""
    import gc

    import crimegraph.io.case as case_mod

    seen = []
    real = case_mod._devices

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(case_mod, "_devices", spy)
    assert gc.isenabled()
    read_case(SAMPLE / "case")
    assert seen == [False] and gc.isenabled()

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(case_mod, "_devices", broken)
    with pytest.raises(OSError, match="disk gone"):
        read_case(SAMPLE / "case")
    assert gc.isenabled()


def test_read_case_workers_validated():
    with pytest.raises(ValueError, match="workers"):
        read_case(SAMPLE / "case", workers=0)


# ------------------------------------------------------------------------ fuzz
def _check_any_outcome(data: bytes, reader: str | None = None) -> None:
    try:
        results = cg.read(fx.as_buffer(data, "fuzz.bin"), format=reader)
    except CrimegraphError:
        return
    for res in results:
        assert res.report.balanced, res.report
        assert len(res.frame) == res.report.accepted


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes(data):
    _check_any_outcome(data)


_FIXTURE_ITEMS = sorted(fx.all_fixtures().items())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FIXTURE_ITEMS), st.data())
def test_fuzz_mangled_formats(item, data):
    _path, raw = item
    op = data.draw(st.sampled_from(["truncate", "flip", "insert", "dup_line", "drop_line", "junk_line"]))
    b = bytearray(raw)
    if op == "truncate":
        b = b[: data.draw(st.integers(0, len(b)))]
    elif op == "flip" and b:
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(b) - 1))
            b[i] = data.draw(st.integers(0, 255))
    elif op == "insert":
        i = data.draw(st.integers(0, len(b)))
        b[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    else:
        lines = bytes(b).split(b"\n")
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "dup_line":
            lines.insert(i, lines[i])
        elif op == "drop_line" and lines:
            lines.pop(i)
        else:
            lines.insert(i, data.draw(st.sampled_from([b'",,,"', b"\\N,\\N", b"-" * 90, b"\x00\x01",
                                                       b"END:VCARD", b"<model>", b",,,,,,,,,,,,,"])))
        b = bytearray(b"\n".join(lines))
    _check_any_outcome(bytes(b))
    for name in READERS:
        _check_any_outcome(bytes(b), name)


def test_fuzz_case_folder_never_raises(tmp_path):
    root = tmp_path / "c"
    (root / "dev").mkdir(parents=True)
    (root / "dev" / "garbage.csv").write_bytes(b"\xff\xfe\x00garbage")
    (root / "dev" / "empty.csv").write_bytes(b"")
    (root / "dev" / "bad.xlsx").write_bytes(b"PK\x03\x04not really a zip")
    (root / "dev" / "half.vcf").write_bytes(b"BEGIN:VCARD\r\nFN:x")
    case = read_case(root)
    assert case.report.unexplained_rows == 0
    statuses = case.report.to_frame().set_index("file")["status"].to_dict()
    assert statuses["dev/garbage.csv"] == "unrecognised"
    assert statuses["dev/empty.csv"] == "unrecognised"
    assert statuses["dev/half.vcf"] == "loaded"
    assert case.report.rejects()["reason"].tolist() == ["vCard cut off (no END:VCARD)"]


def test_loaded_repr_html_escapes():
    res = _one(fx.MEMOTRACE_GROUP_PATH)
    assert "<img src=x" not in res._repr_html_()


def test_read_source_accepts_paths_and_buffers(tmp_path):
    p = tmp_path / "x.vcf"
    p.write_bytes(fx.VCARD_40)
    a = cg.read_vcard(p).frame
    b = cg.read_vcard(str(p)).frame
    c = cg.read_vcard(io.BytesIO(fx.VCARD_40)).frame
    assert a["phones"].tolist() == b["phones"].tolist() == c["phones"].tolist()
    with pytest.raises(FormatError, match="is a folder"):
        cg.read_vcard(tmp_path)


def test_xlsx_engines_give_the_same_tables(monkeypatch):
    """The [fast] XLSX engine (python-calamine) and openpyxl read every XLSX layout alike (issue #7)."""
    pytest.importorskip("python_calamine")
    from crimegraph.io._common import _xlsx_rows_cached

    results = {}
    for engine in ("openpyxl", "calamine"):
        monkeypatch.setenv("CRIMEGRAPH_XLSX_ENGINE", engine)
        _xlsx_rows_cached.cache_clear()
        results[engine] = {p: [(r.table, r.frame, _counts(r), _rejects(r)) for r in _read(p)]
                           for p in fx.all_fixtures() if p.endswith(".xlsx")}
    _xlsx_rows_cached.cache_clear()
    for path, got in results["calamine"].items():
        for (t1, f1, c1, r1), (t2, f2, c2, r2) in zip(results["openpyxl"][path], got, strict=True):
            assert (t1, c1, r1) == (t2, c2, r2), path
            pd.testing.assert_frame_equal(f1, f2)


def test_read_tasks_keep_a_group_chat_in_one_worker(tmp_path):
    """A group chat exported from several phones is read in one process (its messages'
    identifiers are then extracted once); every file is read exactly once."""
    from crimegraph.io.case import _tasks

    names = ["A/聊天记录/群(12345678@chatroom)/群_utf8.csv", "A/contacts.vcf", "A/bill.csv",
             "B/聊天记录/群(12345678@chatroom)/群_utf8.csv", "B/微信聊天记录/12345678@chatroom_20251101_20251130.csv",
             "B/contacts.vcf", "C/聊天记录/另一群(87654321@chatroom)/另一群_utf8.csv", "C/x.csv", "C/y.csv"]
    files = []
    for i, n in enumerate(names):
        p = tmp_path / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * (10 + i))
        files.append(p)
    tasks = _tasks(tmp_path, files)
    assert sorted(i for t in tasks for i in t) == list(range(len(files)))
    assert [0, 3, 4] in tasks and [6] in tasks
    sizes = [sum(files[i].stat().st_size for i in t) for t in tasks]
    assert sizes == sorted(sizes, reverse=True)


def test_chat_export_whose_every_row_is_rejected_still_accounts(tmp_path):
    """All rows with unreadable times: each is rejected, the file is read (not failed)."""
    from crimegraph.io import read_memotrace
    from crimegraph.io.chats import MEMOTRACE_HEADER

    folder = tmp_path / "S1" / "聊天记录" / "群(12345678@chatroom)"
    folder.mkdir(parents=True)
    rows = [",".join(MEMOTRACE_HEADER),
            "1,1,1,0,0,not-a-time,2,李桂兰 450103195502141219,also-not-a-time",
            "2,1,1,0,0,9999-99-99,2,hello,??"]
    p = folder / "群_utf8.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    res = read_memotrace(p)
    assert res.report.rows_read == 2 and res.report.rejected == 2 and res.report.accepted == 0
    assert res.frame.empty and "id_numbers" in res.frame.columns


@given(st.text(alphabet=st.sampled_from(list(" \t\n\r\x0b\x1c\x85\u2028'\u00a0\u3000\u2005\u200bx/-阿")),
               max_size=8))
def test_clean_strips_like_its_pattern(text):
    """clean() skips the regex when nothing can be stripped; the result is the pattern's."""
    from crimegraph.io._common import _WS, NULLS, clean

    stripped = _WS.sub("", text)
    assert clean(text) == (None if stripped in NULLS else stripped)


@given(st.text(alphabet=st.sampled_from(list('a,"\n\r \x00\u2028阿')), max_size=40), st.integers(1, 30))
@example('"x\r","\ny"\na\n', 1)   # a field ending in CR, the next starting with LF: two line breaks
@example('"a\r\nb",c\r\n"d\re"\n\nf', 5)
@settings(max_examples=1000)
def test_read_csv_text_is_csv_records_in_two_lists(text, start):
    """The one-pass path (a text without quotes: a line per record), the path that reads
    each record's last line off the reader, and the error path agree with csv_records on
    every text: quoted line breaks, CR/LF mixes, NULs, blank lines."""
    from crimegraph.io._common import csv_records, read_csv_text

    recs = list(csv_records(text, start_line=start))
    assert read_csv_text(text, start_line=start) == ([line for line, _ in recs], [f for _, f in recs])


_EPOCHS = st.integers(1_000_000_000, 2_000_000_000).map(str)
_CLOCK = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2035, 12, 31)).map(
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
_ODD_TIMES = st.sampled_from([
    "", "/", "无", " 2025-11-03 09:17:40", "'2025-11-03 09:17:40", "2025-11-03 09:17:40\t", "2025-02-30 10:00:00",
    "2025/11/03 09:17:40", "20251103091740", "0123456789", "１７６２１３２８００", "2025-11-03T09:17:40+00:00",
    "2025-11-03 09:17", "2025-11-03"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_EPOCHS, min_size=1, max_size=6), st.lists(_CLOCK, min_size=1, max_size=6),
                 st.lists(st.one_of(_EPOCHS, _CLOCK, _ODD_TIMES, st.none()), min_size=1, max_size=6)))
def test_times_of_one_shape_parse_as_the_general_path_does(values):
    from crimegraph.io._common import _parse_times, parse_time_series

    s = pd.Series(values, index=range(3, 3 + len(values)), dtype=object)
    fast, general = parse_time_series(s), _parse_times(s)
    pd.testing.assert_series_equal(fast, general)
    assert str(fast.dtype) == str(general.dtype) == "datetime64[ns, UTC+08:00]"


def test_finish_transfers_rejects_drops_repeats_and_keeps_none_for_missing():
    from decimal import Decimal

    from crimegraph.io._common import FileReport
    from crimegraph.io._tables import finish_transfers, stable_id

    rep = FileReport("b.csv", "x", table="transfers", rows_read=4)
    cols = {"time_raw": ["2025-11-03 09:00:00", "2025-11-03 09:00:00", "bad", "2025-11-03 10:00:00"],
            "amount_raw": ["5.0", "5.00", "1", "7"], "tid": ["T1", "T1", "T2", None],
            "direction": ["out", "out", "in", float("nan")], "completed": [True, True, True, None],
            "status": ["/", "支付成功", "x", " 已收钱\t"], "source_line": [2, 3, 4, 5]}
    df = finish_transfers(cols, rep, channel="wechat", source_file="b.csv", device="S1", raw_of=lambda i: f"row {i}")
    assert list(df.columns) == list(TRANSFER_COLUMNS)
    # the second row repeats the first (5.00 == 5.0); the third has a bad time
    assert (rep.accepted, rep.rejected, rep.skipped, rep.balanced) == (2, 1, 1, True)
    assert [(r.line, r.raw) for r in rep.rejects] == [(4, "row 2")]
    assert df["transfer_id"].tolist() == ["wechat:T1", f"wechat:noid-{stable_id('b.csv', 5)}"]
    assert df["amount"].tolist() == [Decimal("5.0"), Decimal("7")]
    assert df["direction"].tolist() == ["out", None] and df["status"].tolist() == [None, "已收钱"]
    assert df["counterparty"].tolist() == [None, None] and df["device"].tolist() == ["S1", "S1"]
    assert df["completed"].tolist() == [True, False] and df["source_line"].tolist() == [2, 5]
    assert {c: str(t) for c, t in df.dtypes.items() if str(t) != "object"} == {
        "time": "datetime64[ns, UTC+08:00]", "completed": "bool", "source_line": "int64"}
    rep = FileReport("c.csv", "x", table="transfers", rows_read=1)
    empty = finish_transfers({**{c: v[2:3] for c, v in cols.items()}}, rep, channel="wechat",
                             source_file="c.csv", device=None)
    assert empty.empty and list(empty.columns) == list(TRANSFER_COLUMNS) and rep.balanced
    assert str(empty.dtypes["time"]) == "datetime64[ns, UTC+08:00]"


def test_merge_messages_keeps_first_copies_fills_senders_and_orders_by_chat_time_id():
    """One row per message id (its first copy), how many copies were seen, sender details
    the first copy lacks taken from a later one, and the rows ordered by chat (no chat
    last), time (missing first, as its int64 form sorts), then message id."""
    from crimegraph.io._common import FileReport
    from crimegraph.io.case import _merge_messages

    t = pd.to_datetime(["2025-01-02 10:00", "2025-01-01 09:00", "2025-01-01 09:00", None,
                        "2025-01-01 08:00", "2025-01-01 09:00"]).tz_localize("Asia/Shanghai")
    df = pd.DataFrame({
        "message_id": ["m3", "m2", "m1", "m4", "m5", "m1"],
        "chat_id": ["c1", "c1", "c1", "c1", None, "c1"],
        "chat_name": [None, "群", "群", "群", None, "群"],
        "time": t,
        "sender_wxid": ["w3", "w2", None, "w4", "w5", "w1"],
        "sender_name": ["三", None, None, "四", "五", "甲"],
        "copies": [1] * 6,
        "source_file": ["a.csv"] * 5 + ["b.csv"],
        "source_line": [2, 3, 4, 5, 6, 2],
    })
    reports = {"a.csv": FileReport("a.csv", rows_read=5, accepted=5),
               "b.csv": FileReport("b.csv", rows_read=1, accepted=1)}
    out = _merge_messages(df, reports)
    assert out["message_id"].tolist() == ["m4", "m1", "m2", "m3", "m5"]
    assert out["copies"].tolist() == [1, 2, 1, 1, 1] and out["copies"].dtype == "int64"
    m1 = out.iloc[1]
    assert (m1["sender_wxid"], m1["sender_name"], m1["source_file"], m1["source_line"]) == ("w1", "甲", "a.csv", 4)
    assert out["chat_name"].tolist()[:3] == ["群"] * 3 and out.index.tolist() == list(range(5))
    assert list(out.columns) == list(df.columns)
    assert (reports["b.csv"].accepted, reports["b.csv"].skipped, reports["a.csv"].skipped) == (0, 1, 0)
    assert "another phone's export" in next(iter(reports["b.csv"].skip_reasons))


def test_merge_messages_orders_ties_by_id_and_fills_only_from_copies_of_the_same_message():
    """Runs of messages with one chat and instant, anywhere in the table, come out in
    message id order; a detail missing from every copy stays missing (None), and a detail
    is never taken from another message."""
    from crimegraph.io._common import FileReport
    from crimegraph.io.case import _merge_messages

    rng = np.random.default_rng(7)
    n = 400
    ids = [f"{i:04x}" for i in rng.permutation(n)]
    chats = rng.choice(["c1", "c2", "c3"], n).tolist()
    times = pd.to_datetime(rng.integers(0, 6, n), unit="s").tz_localize("Asia/Shanghai")   # many ties
    names = [None if i % 3 else f"n{i}" for i in range(n)]
    df = pd.DataFrame({"message_id": ids + ids[:50], "chat_id": chats + chats[:50],
                       "chat_name": [None] * (n + 50), "time": list(times) + list(times[:50]),
                       "sender_wxid": ["w"] * (n + 50), "sender_name": names + [f"later{i}" for i in range(50)],
                       "copies": 1, "source_file": ["a.csv"] * n + ["b.csv"] * 50, "source_line": range(n + 50)})
    reports = {"a.csv": FileReport("a.csv", rows_read=n, accepted=n),
               "b.csv": FileReport("b.csv", rows_read=50, accepted=50)}
    out = _merge_messages(df, reports)
    expected = sorted(range(n), key=lambda i: (chats[i], times[i], ids[i]))
    assert out["message_id"].tolist() == [ids[i] for i in expected]
    want = {ids[i]: names[i] or (f"later{i}" if i < 50 else None) for i in range(n)}
    assert out["sender_name"].tolist() == [want[m] for m in out["message_id"]]
    assert out["chat_name"].map(lambda v: v is None).all()
    assert out["copies"].tolist() == [2 if i < 50 else 1 for i in expected]


_CELL = st.one_of(st.none(), st.text(alphabet=" a1", max_size=2), st.integers(0, 9))
#: rows near the edge (11 cells, a first cell that may be blank or not text, some cells empty),
#: and any short rows
_SHEET_ROW = st.one_of(st.tuples(st.one_of(st.text(alphabet=" a1", max_size=2), st.none(), st.integers(0, 9)),
                                 *[st.one_of(st.none(), st.just("x"), st.just("x"), st.integers(0, 9))] * 10),
                       st.lists(_CELL, max_size=9).map(tuple))


@given(st.lists(_SHEET_ROW, max_size=6))
@settings(max_examples=400)
def test_filled_rows_is_every_row_a_record(rows):
    """The WeChat Pay XLSX reader takes a sheet's rows in bulk only when each row would be
    taken on its own: a text first cell that is not blank and 9 cells or more filled."""
    from crimegraph.io.bills import _filled_rows

    def record(r):
        return bool(r) and isinstance(r[0], str) and bool(r[0].strip()) and len(r) - r.count(None) >= 9

    assert _filled_rows(rows) == (bool(rows) and all(record(r) for r in rows))
