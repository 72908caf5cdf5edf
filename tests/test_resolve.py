"""Entity resolution rules (issue #4) on small hand-made cases, traps included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crimegraph.io.case import Case, LoadReport
from crimegraph.resolve import is_organisation, resolve_entities
from crimegraph.schema import (
    CONTACT_COLUMNS,
    DEVICE_COLUMNS,
    MEMBERSHIP_COLUMNS,
    MESSAGE_COLUMNS,
    TRANSFER_COLUMNS,
)

from .fixtures import CARD_A, CARD_B, ID_A, ID_B

T0 = dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _frame(rows: list[dict], columns: tuple[str, ...], defaults: dict) -> pd.DataFrame:
    full = [{c: r.get(c, defaults.get(c)) for c in columns} for r in rows]
    return pd.DataFrame(full, columns=list(columns))


def make_case(devices=(), messages=(), transfers=(), contacts=()) -> Case:
    dev = _frame(list(devices), DEVICE_COLUMNS, {c: "" for c in DEVICE_COLUMNS})
    msg_defaults = {c: "" for c in MESSAGE_COLUMNS} | {
        "time": T0, "msg_type": "text", "from_owner": False, "sender_wxid": None, "sender_name": None,
        "sender_remark": None, "is_group": True, "copies": 1, "source_line": 2, "source_file": "chat.csv"}
    msgs = _frame([{**m, "message_id": m.get("message_id", f"m{i}")} for i, m in enumerate(messages)],
                  MESSAGE_COLUMNS, msg_defaults)
    tr_defaults = {c: None for c in TRANSFER_COLUMNS} | {
        "time": T0, "completed": True, "source_line": 2, "source_file": "bill.csv", "device": ""}
    trs = _frame(list(transfers), TRANSFER_COLUMNS, tr_defaults)
    con = _frame(list(contacts), CONTACT_COLUMNS, {c: "" for c in CONTACT_COLUMNS} | {"source_line": 2})
    return Case(Path("."), "test", trs, msgs, con, pd.DataFrame(columns=list(MEMBERSHIP_COLUMNS)), dev,
                LoadReport())


def person_with(res, key: str) -> str:
    pid = res.person_of(key)
    assert pid is not None, key
    return pid


def test_device_owner_identifiers_merge_with_reason():
    case = make_case(devices=[{"device": "S1", "owner_name": "赵国栋", "wechat_ids": "wxid_zgd",
                               "phones": "13800138000", "bank_cards": CARD_A, "id_number": ID_A,
                               "evidence": "case.toml"}])
    res = resolve_entities(case)
    pid = person_with(res, "device:S1")
    for key in ("wx:wxid_zgd", "phone:13800138000", f"card:{CARD_A}", f"idn:{ID_A}"):
        assert res.person_of(key) == pid
    assert res.merges["reason"].str.contains("device owner").all()
    assert len(res.persons) == 1


def test_two_phones_of_one_person_merge_on_shared_wechat_id():
    case = make_case(devices=[{"device": "S1", "wechat_ids": "wxid_aq", "evidence": "x"},
                              {"device": "S1b", "wechat_ids": "wxid_aq", "evidence": "y"}])
    res = resolve_entities(case)
    assert res.person_of("device:S1") == res.person_of("device:S1b")


def test_common_nickname_never_merges_two_accounts():
    # two different accounts both called 阿强 in two groups: two persons
    case = make_case(messages=[
        {"chat_id": "g1@chatroom", "sender_wxid": "wxid_a", "sender_name": "阿强", "content": "收到"},
        {"chat_id": "g2@chatroom", "sender_wxid": "wxid_b", "sender_name": "阿强", "content": "好的"},
    ])
    res = resolve_entities(case)
    assert res.person_of("wx:wxid_a") != res.person_of("wx:wxid_b")


def test_nickname_counterparty_not_linked_when_that_persons_bill_lacks_the_payment():
    """Trap: a relative nicknamed 阿强 pays the merchant; pusher 阿强's own bill was seized
    and does not hold that payment, so the payer is not the pusher."""
    devices = [{"device": "M", "wechat_ids": "wxid_boss", "wechat_nicknames": "老板", "evidence": "x"},
               {"device": "P", "wechat_ids": "wxid_aq", "wechat_nicknames": "阿强", "evidence": "x"}]
    messages = [{"chat_id": "g@chatroom", "sender_wxid": "wxid_aq", "sender_name": "阿强", "device": "M",
                 "content": "王秀英 " + ID_A},
                {"chat_id": "g@chatroom", "sender_wxid": "wxid_boss", "sender_name": "老板", "device": "M",
                 "content": "收到", "time": T0 + dt.timedelta(minutes=1)}]
    transfers = [
        # merchant pays the pusher: seen in both bills (same id)
        {"transfer_id": "wechat:1", "channel": "wechat", "direction": "out", "amount": Decimal("15"),
         "counterparty": "阿强", "owner_nickname": "老板", "device": "M", "kind": "转账"},
        {"transfer_id": "wechat:1", "channel": "wechat", "direction": "in", "amount": Decimal("15"),
         "counterparty": "老板", "owner_nickname": "阿强", "device": "P", "kind": "转账"},
        # "阿强" pays the merchant 500: only in the merchant's bill
        {"transfer_id": "wechat:2", "channel": "wechat", "direction": "in", "amount": Decimal("500"),
         "counterparty": "阿强", "owner_nickname": "老板", "device": "M", "kind": "转账"},
    ]
    res = resolve_entities(make_case(devices, messages, transfers))
    tr = res.transfers.set_index("transfer_id")
    boss, pusher = res.person_of("device:M"), res.person_of("device:P")
    assert (tr.at["wechat:1", "payer"], tr.at["wechat:1", "payee"]) == (boss, pusher)
    assert tr.at["wechat:1", "link"] == "same transaction id in both parties' records"
    assert tr.at["wechat:2", "payer"] not in (boss, pusher)
    assert "weak" in tr.at["wechat:2", "link"]


def test_nickname_counterparty_linked_when_unique_in_shared_chat_and_bill_not_seized():
    devices = [{"device": "M", "wechat_ids": "wxid_boss", "wechat_nicknames": "老板", "evidence": "x"}]
    messages = [{"chat_id": "g@chatroom", "sender_wxid": "wxid_aq", "sender_name": "阿强", "device": "M",
                 "content": "hi"}]
    transfers = [{"transfer_id": "wechat:1", "channel": "wechat", "direction": "out", "amount": Decimal("15"),
                  "counterparty": "阿强", "owner_nickname": "老板", "device": "M", "kind": "转账"}]
    res = resolve_entities(make_case(devices, messages, transfers))
    tr = res.transfers.set_index("transfer_id")
    assert tr.at["wechat:1", "payee"] == res.person_of("wx:wxid_aq")
    assert "nickname" in tr.at["wechat:1", "link"]


@pytest.mark.parametrize("label", ["/", "\\N", "我", "未知", "139******01", "*建明"])
def test_placeholders_and_masks_never_become_persons(label):
    case = make_case(
        devices=[{"device": "S1", "wechat_ids": "wxid_a", "evidence": "x"}],
        contacts=[{"name": "x", "phones": "", "wechat_ids": label if label not in ("139******01",) else "",
                   "device": "S1", "source_file": "c.vcf"}],
        transfers=[{"transfer_id": "alipay:9", "channel": "alipay", "direction": "out", "amount": Decimal("5"),
                    "counterparty": label, "counterparty_account": "139******01", "device": "S1",
                    "owner_account": "a@b.c"}])
    res = resolve_entities(case)
    assert not any(k.endswith(f":{label}") for k in res.key_to_person)
    assert "phone:139******01" not in res.key_to_person
    assert res.transfers["payee"].iloc[0].startswith("unidentified:")


@pytest.mark.parametrize("name,kind", [("财付通支付科技有限公司", None), ("兴旺超市", None), ("余额宝", None),
                                       ("招商银行(1234)", None), ("某某", "商户消费")])
def test_organisations_are_not_persons(name, kind):
    assert is_organisation(name, kind)
    case = make_case(devices=[{"device": "S1", "wechat_ids": "wxid_a", "evidence": "x"}],
                     transfers=[{"transfer_id": "wechat:1", "channel": "wechat", "direction": "out",
                                 "amount": Decimal("30"), "counterparty": name, "kind": kind, "device": "S1"}])
    res = resolve_entities(case)
    assert res.transfers["payee"].tolist() == [f"org:{name}"]
    assert len(res.persons) == 1


def test_bank_card_and_id_number_merge_and_counterparty_card_link():
    transfers = [
        {"transfer_id": "bank:S1", "channel": "bank", "direction": "out", "amount": Decimal("3000"),
         "owner_account": CARD_A, "owner_name": "王总", "owner_id_number": ID_A, "counterparty": "周建明",
         "counterparty_card": CARD_B, "counterparty_id_number": ID_B},
        {"transfer_id": "bank:S1", "channel": "bank", "direction": "in", "amount": Decimal("3000"),
         "owner_account": CARD_B, "owner_name": "周建明", "owner_id_number": ID_B, "counterparty": "王总",
         "counterparty_card": CARD_A, "counterparty_id_number": ID_A},
    ]
    res = resolve_entities(make_case(transfers=transfers))
    assert res.person_of(f"card:{CARD_A}") == res.person_of(f"idn:{ID_A}")
    assert res.person_of(f"card:{CARD_B}") == res.person_of(f"idn:{ID_B}")
    tr = res.transfers.iloc[0]
    assert (tr["payer"], tr["payee"]) == (res.person_of(f"card:{CARD_A}"), res.person_of(f"card:{CARD_B}"))


def test_real_name_alone_never_merges_but_corroborated_name_does():
    devices = [{"device": "R", "owner_name": "夏雪", "wechat_ids": "wxid_r", "evidence": "bill header"},
               {"device": "M", "owner_name": "贺珍", "wechat_ids": "wxid_m", "bank_cards": CARD_B,
                "evidence": "case.toml"}]
    bank = [{"transfer_id": "bank:1", "channel": "bank", "direction": "out", "amount": Decimal("3000"),
             "owner_account": CARD_A, "owner_name": "夏雪", "counterparty": "贺珍", "counterparty_card": CARD_B}]
    # name only: the card stays its own person
    res = resolve_entities(make_case(devices, transfers=bank))
    assert res.person_of(f"card:{CARD_A}") != res.person_of("device:R")
    # name + a 1:1 chat between R and M: merged, and the reason says so
    chat = [{"chat_id": "wxid_m", "is_group": False, "sender_wxid": "wxid_m", "sender_name": "贺珍",
             "device": "R", "content": "这周20个号"}]
    res = resolve_entities(make_case(devices, chat, bank))
    assert res.person_of(f"card:{CARD_A}") == res.person_of("device:R")
    assert res.merges["reason"].str.contains("same real name '夏雪'").any()


def test_leaked_identity_merges_with_its_phone_only_when_unambiguous():
    messages = [{"chat_id": "g@chatroom", "sender_wxid": "wxid_p", "id_numbers": ID_A, "phones": "13912345678",
                 "content": f"x {ID_A} 13912345678"},
                {"chat_id": "g@chatroom", "sender_wxid": "wxid_p", "id_numbers": f"{ID_A};{ID_B}",
                 "phones": "13700001111", "content": "two ids", "time": T0 + dt.timedelta(minutes=1)}]
    res = resolve_entities(make_case(messages=messages))
    assert res.person_of(f"idn:{ID_A}") == res.person_of("phone:13912345678")
    assert res.person_of("phone:13700001111") is None
    assert res.person_of(f"idn:{ID_A}") != res.person_of("wx:wxid_p")


def test_resolution_is_deterministic():
    from crimegraph import read_case

    case = read_case(Path(__file__).resolve().parents[1] / "data" / "samples" / "small" / "case")
    a, b = resolve_entities(case), resolve_entities(case)
    pd.testing.assert_frame_equal(a.persons, b.persons)
    pd.testing.assert_frame_equal(a.transfers, b.transfers)


def test_merges_recorded_only_when_they_join_two_parts():
    """A merge is recorded when it joins keys not yet joined (in order): repeats, loops and
    the edge closing a cycle are not; components are rooted at their smallest key."""
    from crimegraph.resolve import _Ledger

    led = _Ledger()
    for a, b in [("k:b", "k:c"), ("k:c", "k:d"), ("k:b", "k:d"), ("k:c", "k:b"), ("k:e", "k:e"),
                 ("k:f", "k:g"), ("k:a", "k:d")]:
        led.merge(a, b, "why", "src")
    led.note("k:h", "names", "x", "chat")
    root = led.components()
    keys = list(led.keys)
    assert keys == ["k:a", "k:b", "k:c", "k:d", "k:e", "k:f", "k:g", "k:h"]
    assert [keys[r] for r in root] == ["k:a"] * 4 + ["k:e", "k:f", "k:f", "k:h"]
    assert led.recorded(root).tolist() == [True, True, False, False, False, True, True]


_CELL_VALUES = (ID_A, ID_B, "13912345678", "13700001111", "138****0611", "4501****996X", "/", "未知", "", "null")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(_CELL_VALUES), max_size=3),
                          st.lists(st.sampled_from(_CELL_VALUES), max_size=3),
                          st.integers(1, 9)), max_size=12))
def test_postings_noted_in_bulk_as_one_message_at_a_time(rows):
    """Step 5 in bulk gives the notes and merges, in order, of one message at a time: its ID
    numbers, then its phone when it has one ID number and one phone (placeholders and
    masked values never count). The keys are noted without labels: a posting's values are
    the keys' own (idn:X is ID number X)."""
    from crimegraph.resolve import _Ledger, _note_postings, _split

    posted = pd.DataFrame({"id_numbers": [";".join(i) for i, _, _ in rows],
                           "phones": [";".join(p) for _, p, _ in rows],
                           "source_file": [f"f{n % 3}.csv" for *_, n in rows],
                           "source_line": [n for *_, n in rows]})
    bulk, one = _Ledger(), _Ledger()
    _note_postings(bulk, posted)
    for ids_cell, ph_cell, f, n in posted.itertuples(index=False):
        ids, phones, src = _split(ids_cell), _split(ph_cell), f"{f}:{n}"
        for i in ids:
            one.note(f"idn:{i}", "id_numbers", None, "posted", src)
        if len(ids) == 1 and len(phones) == 1:
            one.note(f"phone:{phones[0]}", "phones", None, "posted", src)
            one.merge(f"idn:{ids[0]}", f"phone:{phones[0]}",
                      "posted together (ID number and phone in one message)", src)
    for attr in ("note_key", "note_kind", "note_src", "label_note", "label_what", "label_value",
                 "merge_a", "merge_b", "merge_reason", "merge_source"):
        assert getattr(bulk, attr) == getattr(one, attr), attr


def test_text_order_sorts_as_python_does():
    """Keys and transaction ids are sorted as UTF-8 bytes in C: the order Python gives,
    for any text (non-ASCII, surrogates from broken exports, NUL inside and at the end)."""
    import numpy as np

    from crimegraph.io._tables import text_order

    texts = ["wx:b", "wx:a", "idn:4501", "李桂兰", "a\u00e9", "az", "\U0001f600", "\ufffd", "x\ud800", "x\ue000",
             "", "a", "wx:a"]
    for extra in ([], ["a\x00", "a\x00b"]):
        values = np.array(extra + texts, dtype=object)   # (a NUL-ended text before its equal)
        expect = sorted(range(len(values)), key=values.__getitem__)   # (stable: equal texts in order)
        assert text_order(values).tolist() == expect


def test_ledger_codes_by_search_and_by_index_agree():
    """A few keys are looked up by binary search of the sorted keys, many through the
    index: the same code (-1 for a key never noted) either way, for any text."""
    from crimegraph.resolve import _FEW_KEYS, _Ledger

    ledger = _Ledger()
    noted = [f"idn:{i:06d}" for i in range(40 * _FEW_KEYS)] + ["wx:李", "wx:a\u00e9", "phone:1", "x\ud800", "\U0001f600"]
    ledger.note_many(noted, None, None, "posted", [""] * len(noted))
    asked = ["wx:李", "idn:000000", "\U0001f600", "idn:9", "", "wx:b", "x\ud800", "zzz", f"idn:{40 * _FEW_KEYS - 1:06d}"]
    few = ledger.codes(asked)   # (fewer than 1/_FEW_KEYS of the keys: searched)
    many = ledger.codes(asked * 4 * _FEW_KEYS)[:len(asked)]   # (through the index)
    assert few.tolist() == many.tolist()
    keys = ledger.keys.tolist()
    assert few.tolist() == [keys.index(k) if k in keys else -1 for k in asked]
    assert ledger.codes([]).tolist() == []
