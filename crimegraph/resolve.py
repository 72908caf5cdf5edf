"""Entity resolution: which identifiers belong to one person, and why.

Identifiers are merged only on strong evidence, and every merge records it:

========================  ==========================================================
evidence                  merges
========================  ==========================================================
device owner              the device with the owner's WeChat ids (IsSender rows),
                          phones, ID number, bank cards, Alipay account (case.toml,
                          bill headers)
address-book entry        the phones and WeChat ids of one contact entry
bank statement row        a card with the ID number of its holder (both sides)
posting                   a leaked ID number with the one phone posted beside it
========================  ==========================================================

Never merged on their own: nicknames (common, reused: 阿强), real names,
masked accounts (``139******01``), and never made into persons: ``/``, ``\\N``,
``我``, ``未知``, masked strings, organisations (shops, 财付通, funds, banks).

Payment counterparties are *linked* (not merged) to a person: by the same
transaction id in the other party's records, by a bank card, or by a nickname
that matches exactly one account the owner shares a chat with, when that
account's own bill was not seized (if it was and lacks the transaction, it is
not them). Otherwise the counterparty stays a separate, weakly known person.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .identifiers import is_masked, normalize_bank_card, normalize_id_number, normalize_mobile
from .io.case import Case

__all__ = ["Resolution", "resolve_entities", "is_organisation", "NOT_A_PERSON"]

#: Values that never name a person.
NOT_A_PERSON = frozenset({"", "/", "\\N", "-", "我", "未知", "null", "None", "nan"})
_ORG_RE = re.compile(
    r"公司|超市|银行|商户|商店|便利店|饭店|酒店|外卖|出行|平台|中国石化|中国石油|充值|基金|理财|余额宝|零钱通|"
    r"财付通|支付宝|微信支付|美团|淘宝|京东|拼多多|滴滴|有限|集团|医院|学校|政府|营业厅|加油站|药店|快递|"
    r"\(\d{4}\)|（\d{4}）"
)
_ORG_KINDS = ("商户消费", "扫二维码付款", "零钱提现", "信用卡还款", "零钱充值", "退款", "日用百货", "投资理财")


def is_organisation(name: str | None, kind: str | None = None) -> bool:
    """Whether a counterparty is an organisation (shop, platform, bank, fund), not a person.

    Examples
    --------
    >>> is_organisation("财付通支付科技有限公司"), is_organisation("阿强"), is_organisation("招商银行(1234)")
    (True, False, True)
    """
    if name and _ORG_RE.search(name):
        return True
    return bool(kind) and any(k in (kind or "") for k in _ORG_KINDS)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def add(self, x: str) -> None:
        self.parent.setdefault(x, x)

    def find(self, x: str) -> str:
        self.add(x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


@dataclass
class Resolution:
    """Resolved persons and the reasons behind every merge and link.

    Attributes
    ----------
    persons : pandas.DataFrame
        One row per person: ``person_id``, ``keys`` (``;``-joined identifier
        keys such as ``wx:wxid_x``, ``phone:138...``), ``names``, ``nicknames``,
        ``phones``, ``wechat_ids``, ``alipay_accounts``, ``bank_cards``,
        ``id_numbers``, ``devices``, ``kind`` (``device_owner``, ``chat``,
        ``contact``, ``counterparty``, ``posted``).
    merges : pandas.DataFrame
        ``a``, ``b``, ``reason``, ``source`` for every merge of two identifiers.
    key_to_person : dict
        Identifier key -> person id.
    first_seen : dict
        Identifier key -> where it was first seen (``file:line`` or device folder).
    transfers : pandas.DataFrame
        One row per unique payment: ``transfer_id``, ``payer``, ``payee`` (person
        ids, ``org:<name>``, ``group:<id>`` or ``unidentified:<label>`` for a
        placeholder or masked counterparty), ``amount``, ``time``, ``completed``,
        ``channel``, ``link`` (how the counterparty was identified), ``sources``.
    """

    persons: pd.DataFrame
    merges: pd.DataFrame
    key_to_person: dict[str, str]
    transfers: pd.DataFrame
    organisations: list[str] = field(default_factory=list)
    first_seen: dict[str, str] = field(default_factory=dict)

    def person_of(self, key: str) -> str | None:
        """Person id holding identifier ``key`` (e.g. ``"wx:wxid_x"``), or None."""
        return self.key_to_person.get(key)


def _split(v: Any) -> list[str]:
    """Values of a ``;``-joined cell that can identify someone (no placeholders, no masks)."""
    if v is None or (isinstance(v, float) and v != v):
        return []
    return [x for x in str(v).split(";")
            if x and (x.isdigit() or (x not in NOT_A_PERSON and "*" not in x and not is_masked(x)))]


def _alipay_keys(acct: str) -> list[str]:
    if not acct or is_masked(acct) or acct in NOT_A_PERSON:
        return []
    keys = [f"alipay:{acct}"]
    p = normalize_mobile(acct)
    if p:
        keys.append(f"phone:{p}")
    return keys


def resolve_entities(case: Case) -> Resolution:
    """Resolve persons across all devices and statements of ``case``.

    Parameters
    ----------
    case : Case
        From :func:`crimegraph.read_case`.

    Returns
    -------
    Resolution

    Examples
    --------
    >>> import crimegraph
    >>> res = crimegraph.resolve_entities(crimegraph.read_case("data/samples/small/case"))
    >>> res.persons.loc[res.persons["devices"].str.contains("S006"), "devices"].tolist()
    ['S006_林娜辉_手机;S007_林娜辉_手机2']
    """
    uf = _UnionFind()
    merges: list[tuple[str, str, str, str]] = []
    labels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    kinds: dict[str, str] = {}
    first_seen: dict[str, str] = {}

    def merge(a: str, b: str, reason: str, source: str) -> None:
        uf.add(a)
        uf.add(b)
        if uf.find(a) != uf.find(b):
            merges.append((a, b, reason, source))
        uf.union(a, b)

    def note(key: str, what: str, value: str | None, kind: str, src: str = "") -> None:
        uf.add(key)
        kinds.setdefault(key, kind)
        if src:
            first_seen.setdefault(key, src)
        if value and value not in NOT_A_PERSON:
            labels[key][what].add(value)

    # 1. device owners ---------------------------------------------------------------
    for d in case.devices.itertuples(index=False):
        dev = f"device:{d.device}"
        note(dev, "devices", d.device, "device_owner", d.device)
        if d.owner_name:
            for n in _split(d.owner_name):
                note(dev, "names", n, "device_owner")
        for nick in _split(d.wechat_nicknames):
            note(dev, "nicknames", nick, "device_owner")
        why = f"device owner ({d.evidence})"
        for w in _split(d.wechat_ids):
            merge(dev, f"wx:{w}", why, d.device)
        for p in _split(d.phones):
            merge(dev, f"phone:{p}", why, d.device)
        for c in _split(d.bank_cards):
            merge(dev, f"card:{c}", why, d.device)
        if d.id_number:
            merge(dev, f"idn:{d.id_number}", why, d.device)
        for a in _split(d.alipay_accounts):
            for k in _alipay_keys(a):
                merge(dev, k, why, d.device)

    # 2. chat speakers ---------------------------------------------------------------
    msgs = case.messages
    if not msgs.empty:
        spk = msgs.dropna(subset=["sender_wxid"])
        first = spk.drop_duplicates("sender_wxid").set_index("sender_wxid")
        for wx, nick in spk.groupby("sender_wxid", sort=True)["sender_name"].agg(
                lambda s: sorted(set(s.dropna()))).items():
            key = f"wx:{wx}"
            note(key, "wechat_ids", wx, "chat",
                 f"{first.at[wx, 'source_file']}:{first.at[wx, 'source_line']}")
            for n in nick:
                note(key, "nicknames", n, "chat")

    # 3. address-book entries ------------------------------------------------------------
    for c in case.contacts.itertuples(index=False):
        keys = [f"phone:{p}" for p in _split(c.phones) if normalize_mobile(p)]
        keys += [f"wx:{w}" for w in _split(c.wechat_ids)]
        for k in keys:
            note(k, "aliases", c.name, "contact", f"{c.source_file}:{c.source_line}")
        for k in keys[1:]:
            merge(keys[0], k, "same address-book entry", f"{c.source_file}:{c.source_line}")

    # 4. bank statements: card + holder ID on the same row -------------------------------
    tr = case.transfers
    bank = tr[tr["channel"] == "bank"] if not tr.empty else tr
    for r in bank.itertuples(index=False):
        src = f"{r.source_file}:{r.source_line}"
        card = normalize_bank_card(r.owner_account)
        if card:
            note(f"card:{card}", "names", r.owner_name, "counterparty", src)
            idn = normalize_id_number(r.owner_id_number)
            if idn:
                merge(f"card:{card}", f"idn:{idn}", "bank statement: card holder's ID number", src)
        if r.counterparty_card and not is_organisation(r.counterparty):
            ck = f"card:{r.counterparty_card}"
            note(ck, "names", r.counterparty, "counterparty", src)
            if r.counterparty_id_number:
                merge(ck, f"idn:{r.counterparty_id_number}",
                      "bank statement: counterparty card with its holder's ID number", src)

    # 5. leaked identities: the ID number with the single phone posted beside it ----------
    if not msgs.empty:
        posted = msgs[msgs["id_numbers"] != ""]
        for id_numbers, phone_list, file, line in zip(
                *(posted[c].tolist() for c in ("id_numbers", "phones", "source_file", "source_line")), strict=True):
            ids = _split(id_numbers)
            phones = _split(phone_list)
            src = f"{file}:{line}"
            for i in ids:
                note(f"idn:{i}", "id_numbers", i, "posted", src)
            if len(ids) == 1 and len(phones) == 1:
                ph = f"phone:{phones[0]}"
                note(ph, "phones", phones[0], "posted", src)
                merge(f"idn:{ids[0]}", ph, "posted together (ID number and phone in one message)", src)

    # 6. a real name corroborated by a shared counterparty (until nothing changes) --------
    for _ in range(5):
        if not _merge_corroborated_names(case, uf, labels, merge):
            break

    # -- persons from components ----------------------------------------------------------
    comps: dict[str, list[str]] = defaultdict(list)
    for k in sorted(uf.parent):
        comps[uf.find(k)].append(k)
    persons, key_to_person = _persons_from_components(comps, labels, kinds)
    transfers, orgs, extra = _link_transfers(case, key_to_person, persons)
    if extra:
        persons = pd.concat([persons, pd.DataFrame(extra)], ignore_index=True)
        for row in extra:
            key_to_person[row["keys"]] = row["person_id"]
    merges_df = pd.DataFrame(merges, columns=["a", "b", "reason", "source"])
    merges_df["person_id"] = [key_to_person.get(a, "") for a in merges_df["a"]]
    return Resolution(persons, merges_df, key_to_person, transfers, orgs, first_seen)


def _merge_corroborated_names(case: Case, uf: _UnionFind, labels: dict[str, dict[str, set[str]]],
                              merge: Any) -> bool:
    """Merge a bank card into a device owner when two independent facts agree: the card
    holder's real name equals the owner's, and the card paid or was paid by someone the
    owner deals with (1:1 chat, address book). A name alone is never enough.
    Returns whether anything was merged."""
    comps: dict[str, set[str]] = defaultdict(set)
    for k in list(uf.parent):
        comps[uf.find(k)].add(k)

    def names(root: str) -> set[str]:
        return set().union(*(labels.get(k, {}).get("names", set()) for k in comps[root]))

    card_partners: dict[str, set[str]] = defaultdict(set)
    tr = case.transfers
    for r in (tr[tr["channel"] == "bank"] if not tr.empty else tr).itertuples(index=False):
        a = normalize_bank_card(r.owner_account)
        if a and r.counterparty_card:
            ra, rb = uf.find(f"card:{a}"), uf.find(f"card:{r.counterparty_card}")
            card_partners[ra].add(rb)
            card_partners[rb].add(ra)
    dev_partners: dict[str, set[str]] = defaultdict(set)
    msgs = case.messages
    if not msgs.empty:
        direct = msgs[~msgs["is_group"].astype(bool) & msgs["sender_wxid"].notna()]
        for r in direct[["device", "sender_wxid"]].drop_duplicates().itertuples(index=False):
            if f"device:{r.device}" in uf.parent and f"wx:{r.sender_wxid}" in uf.parent:
                dev_partners[uf.find(f"device:{r.device}")].add(uf.find(f"wx:{r.sender_wxid}"))
        # a canonical 1:1 chat id names both sides, whichever phone's copy was kept
        for chat_id in sorted(set(direct["chat_id"])):
            if chat_id.startswith("dm:") and "|" in chat_id:
                a, b = (f"wx:{x}" for x in chat_id[3:].split("|", 1))
                if a in uf.parent and b in uf.parent:
                    dev_partners[uf.find(a)].add(uf.find(b))
                    dev_partners[uf.find(b)].add(uf.find(a))
    for c in case.contacts.itertuples(index=False):
        if f"device:{c.device}" in uf.parent:
            for p in _split(c.phones):
                if f"phone:{p}" in uf.parent:
                    dev_partners[uf.find(f"device:{c.device}")].add(uf.find(f"phone:{p}"))
    def tokens(roots: set[str]) -> set[str]:
        """A counterparty is recognised by its identity, or by its real name."""
        out = set(roots)
        for r in roots:
            out |= {f"name:{n}" for n in names(r)}
        return out

    device_roots = {r for r, ks in comps.items() if any(k.startswith("device:") for k in ks)}
    dev_tokens = {d: tokens(dev_partners.get(d, set())) for d in device_roots}
    merged = False
    for card_root, partners in sorted(card_partners.items()):
        if card_root in device_roots:
            continue
        card_tokens = tokens(partners)
        for name in sorted(names(card_root)):
            cands = sorted(d for d in device_roots if name in names(d) and dev_tokens[d] & card_tokens)
            if len(cands) == 1:
                shared = sorted(dev_tokens[cands[0]] & card_tokens)[0]
                who = shared[5:] if shared.startswith("name:") else \
                    (sorted(k for k in comps[shared] if not k.startswith("device:")) or [shared])[0]
                merge(cands[0], card_root, f"same real name {name!r}, and both deal with {who}",
                      "bank statement + device")
                merged = True
                break
    return merged


_KIND_ORDER = ("device_owner", "chat", "counterparty", "contact", "posted")


_BUCKETS = {"wx": "wechat_ids", "phone": "phones", "card": "bank_cards", "idn": "id_numbers",
            "alipay": "alipay_accounts", "device": "devices"}
_PERSON_COLUMNS = ("names", "nicknames", "aliases", "phones", "wechat_ids", "alipay_accounts", "bank_cards",
                   "id_numbers", "devices")


def _persons_from_components(comps: dict[str, list[str]], labels: dict[str, dict[str, set[str]]],
                             kinds: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    rank = {k: i for i, k in enumerate(_KIND_ORDER)}
    posted = rank["posted"]
    key_to_person: dict[str, str] = {}

    def order(ks: list[str]) -> tuple[int, str]:
        return min(rank.get(kinds.get(k, "posted"), posted) for k in ks), min(ks)

    ordered = sorted(comps.values(), key=order)
    columns: dict[str, list[str]] = {c: [] for c in ("person_id", "keys", "kind", *_PERSON_COLUMNS)}
    for i, keys in enumerate(ordered, start=1):
        pid = f"P{i:06d}"
        agg: dict[str, set[str]] = defaultdict(set)
        best = posted
        for k in keys:
            key_to_person[k] = pid
            typ, _, val = k.partition(":")
            bucket = _BUCKETS.get(typ)
            if bucket:
                agg[bucket].add(val)
            for what, vals in labels.get(k, {}).items():
                agg[what] |= vals
            best = min(best, rank.get(kinds.get(k, "posted"), posted))
        columns["person_id"].append(pid)
        columns["keys"].append(";".join(sorted(keys)))
        columns["kind"].append(_KIND_ORDER[best])
        for c in _PERSON_COLUMNS:
            vals = agg.get(c)
            columns[c].append(";".join(sorted(vals)) if vals else "")
    return pd.DataFrame(columns), key_to_person


def _joined_by_key(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``;``-join of ``values`` per key, for ``keys`` already sorted (one pass, no per-group pandas)."""
    out_keys: list[Any] = []
    out_vals: list[str] = []
    for k, grp in itertools.groupby(zip(keys, values, strict=True), key=lambda kv: kv[0]):
        out_keys.append(k)
        out_vals.append(";".join(v for _, v in grp))
    return pd.Series(out_vals, index=out_keys, dtype=object)


def _owner_key(channel: str, owner_account: str | None, device: str | None) -> str | None:
    """Identifier of whoever's records a payment row comes from."""
    if channel == "bank":
        card = normalize_bank_card(owner_account)
        return f"card:{card}" if card else None
    return f"device:{device}" if device else None


def _link_transfers(case: Case, key_to_person: dict[str, str], persons: pd.DataFrame
                    ) -> tuple[pd.DataFrame, list[str], list[dict[str, Any]]]:
    """One row per unique payment with payer and payee resolved (see module docstring)."""
    cols = ["transfer_id", "channel", "time", "amount", "completed", "payer", "payee", "link",
            "kind", "sources"]
    tr = case.transfers
    if tr.empty:
        return pd.DataFrame(columns=cols), [], []
    # who shares a chat with whom (for nickname links), and whose bills were seized
    nick_to_persons: dict[str, set[str]] = defaultdict(set)
    for pid, nicknames in zip(persons["person_id"].tolist(), persons["nicknames"].tolist(), strict=True):
        if nicknames:
            for n in _split(nicknames):
                nick_to_persons[n].add(pid)
    chat_members: dict[str, set[str]] = defaultdict(set)
    msgs = case.messages
    speakers = msgs[["chat_id", "sender_wxid"]].dropna().drop_duplicates()
    holders = msgs[["chat_id", "device"]].drop_duplicates()
    for chat, key in itertools.chain(
            zip(speakers["chat_id"], "wx:" + speakers["sender_wxid"], strict=True),
            zip(holders["chat_id"], "device:" + holders["device"].astype(str), strict=True)):
        pid = key_to_person.get(key)
        if pid:
            chat_members[chat].add(pid)
    shares: dict[str, set[str]] = defaultdict(set)
    for members in chat_members.values():
        for m in members:
            shares[m] |= members
    for c in case.contacts.itertuples(index=False):
        owner = key_to_person.get(f"device:{c.device}")
        for p in _split(c.phones):
            other = key_to_person.get(f"phone:{p}")
            if owner and other:
                shares[owner].add(other)
                shares[other].add(owner)
    chat_names = set(case.messages["chat_name"].dropna())
    seized: dict[str, set[str]] = defaultdict(set)   # person -> channels with a seized bill
    bank = (tr["channel"] == "bank").to_numpy()
    owner_keys = [None if not d else f"device:{d}" for d in tr["device"].fillna("")]
    for i in bank.nonzero()[0]:
        owner_keys[i] = _owner_key("bank", tr["owner_account"].iat[i], None)
    tr = tr.assign(owner_pid=[key_to_person.get(k) if k else None for k in owner_keys])
    for pid, channel in tr[["owner_pid", "channel"]].dropna().drop_duplicates().itertuples(index=False):
        seized[pid].add(channel)

    extra: dict[str, dict[str, Any]] = {}
    orgs: set[str] = set()

    def weak_person(label: str, channel: str, owner: str | None) -> str:
        key = f"cp:{channel}:{owner or '?'}:{label}"
        if key not in extra:
            pid = f"P{len(persons) + len(extra) + 1:06d}"
            extra[key] = {"person_id": pid, "keys": key, "kind": "counterparty", "names": "",
                          "nicknames": label, "aliases": "", "phones": "", "wechat_ids": "",
                          "alipay_accounts": "", "bank_cards": "", "id_numbers": "", "devices": ""}
        return extra[key]["person_id"]

    def counterparty(r: Any, owner: str | None, others: list[Any]) -> tuple[str, str]:
        label = r.counterparty or ""
        for o in others:   # the same transaction in the other party's records
            if o.owner_pid and o.owner_pid != owner and o.direction != r.direction:
                return o.owner_pid, "same transaction id in both parties' records"
        if r.counterparty_card and f"card:{r.counterparty_card}" in key_to_person:
            return key_to_person[f"card:{r.counterparty_card}"], "counterparty bank card"
        if label in chat_names:
            return f"group:{label}", "counterparty is a chat group (red packet)"
        if not label or label in NOT_A_PERSON or is_masked(label) or "*" in label:
            return f"unidentified:{label or '(none)'}", "counterparty not named (placeholder or masked)"
        if is_organisation(label, r.kind):
            orgs.add(label)
            return f"org:{label}", "organisation"
        if r.counterparty_phone and f"phone:{r.counterparty_phone}" in key_to_person:
            return key_to_person[f"phone:{r.counterparty_phone}"], "counterparty account is a known phone"
        cands = {p for p in nick_to_persons.get(label, set()) if owner and p in shares.get(owner, ())}
        cands = {p for p in cands if r.channel not in seized.get(p, set())}
        if len(cands) == 1:
            return next(iter(cands)), (f"nickname {label!r} matches one account sharing a chat with the "
                                       "owner, whose own bill was not seized")
        return weak_person(label, r.channel, owner), "nickname only (not linked: weak evidence)"

    # Most payments are seen in both parties' records: pair those in bulk, then resolve the rest
    # (one side only, neutral) one transaction at a time.
    tr = tr.sort_values("transfer_id", kind="stable")
    first_out = tr[tr["direction"] == "out"].drop_duplicates("transfer_id")
    first_in = tr[tr["direction"] == "in"].drop_duplicates("transfer_id").set_index("transfer_id")["owner_pid"]
    paired = first_out.assign(payee=first_out["transfer_id"].map(first_in))
    paired = paired[paired["owner_pid"].notna() & paired["payee"].notna()]
    completed = tr.groupby("transfer_id", sort=True)["completed"].all()
    sources = _joined_by_key(tr["transfer_id"], tr["source_file"] + ":" + tr["source_line"].astype(str))
    bulk = pd.DataFrame({
        "transfer_id": paired["transfer_id"].to_numpy(), "channel": paired["channel"].to_numpy(),
        "time": paired["time"].to_numpy(), "amount": paired["amount"].to_numpy(),
        "completed": paired["transfer_id"].map(completed).astype(bool).to_numpy(),
        "payer": paired["owner_pid"].to_numpy(), "payee": paired["payee"].to_numpy(),
        "link": "same transaction id in both parties' records", "kind": paired["kind"].to_numpy(),
        "sources": paired["transfer_id"].map(sources).to_numpy()}, columns=cols)
    rest = tr[~tr["transfer_id"].isin(set(paired["transfer_id"]))]

    rows = []
    # rest is sorted by transfer_id: one pass, grouping consecutive rows (a per-group
    # DataFrame.itertuples costs a column extraction per column per group)
    for tid, grp in itertools.groupby(rest.itertuples(index=False), key=lambda o: o.transfer_id):
        obs = list(grp)
        outs = [o for o in obs if o.direction == "out"]
        ins = [o for o in obs if o.direction == "in"]
        first = outs[0] if outs else (ins[0] if ins else obs[0])
        if outs:
            payer = outs[0].owner_pid or weak_person(outs[0].owner_name or "?", first.channel, None)
            if ins and ins[0].owner_pid:
                payee, link = ins[0].owner_pid, "same transaction id in both parties' records"
            else:
                payee, link = counterparty(outs[0], outs[0].owner_pid, obs)
        elif ins:
            payee = ins[0].owner_pid or weak_person(ins[0].owner_name or "?", first.channel, None)
            payer, link = counterparty(ins[0], ins[0].owner_pid, obs)
        else:   # neutral (withdrawals, fund transfers): owner to organisation
            payer = first.owner_pid or "?"
            payee = f"org:{first.counterparty or '(unnamed)'}"
            link = "neutral (own funds)" if first.completed else "closed order (not completed)"
            orgs.add(first.counterparty or "(unnamed)")
        rows.append({"transfer_id": tid, "channel": first.channel, "time": first.time,
                     "amount": first.amount, "completed": bool(all(o.completed for o in obs)),
                     "payer": payer, "payee": payee, "link": link, "kind": first.kind,
                     "sources": ";".join(f"{o.source_file}:{o.source_line}" for o in obs)})
    out = pd.concat([bulk, pd.DataFrame(rows, columns=cols)], ignore_index=True)
    out = out.sort_values("transfer_id", kind="stable").reset_index(drop=True)
    return out, sorted(orgs), list(extra.values())

