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

import numpy as np
import pandas as pd

from .identifiers import is_masked, normalize_bank_card, normalize_id_number, normalize_mobile
from .io._tables import text_codes, transfer_codes
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


class _Ledger:
    """What is known about each identifier key and the merges between keys, kept as
    columns (millions of keys at Dingtao scale) and resolved into persons in bulk.

    A merge is *recorded* (``Resolution.merges``) when it joined two keys not yet
    joined by earlier merges, in the order the merges were made; a component's
    root is its smallest key.
    """

    def __init__(self) -> None:
        self.note_key: list[str] = []
        self.note_kind: list[str] = []
        self.note_src: list[str] = []
        self.label_note: list[int] = []   # position in the note lists of each label
        self.label_what: list[str] = []
        self.label_value: list[str] = []
        self.merge_a: list[str] = []
        self.merge_b: list[str] = []
        self.merge_reason: list[str] = []
        self.merge_source: list[str] = []
        self._keys: np.ndarray | None = None
        self._index: pd.Index | None = None
        self._note_codes = np.empty(0, dtype=np.int64)
        self._merge_codes = np.empty((2, 0), dtype=np.int64)

    def note(self, key: str, what: str, value: str | None, kind: str, src: str = "") -> None:
        self.note_many([key], [what], [value], kind, [src])

    def note_many(self, keys: list[str], what: list[str] | None, values: list[str | None] | None, kind: str,
                  srcs: list[str]) -> None:
        """Note ``values`` (a label: what they are) on ``keys``, in order; ``None``: only
        the keys (their kind and source)."""
        base = len(self.note_key)
        for i, (w, v) in enumerate(zip(what or (), values or (), strict=True)):
            if v and v not in NOT_A_PERSON:
                self.label_note.append(base + i)
                self.label_what.append(w)
                self.label_value.append(v)
        self.note_key.extend(keys)
        self.note_kind.extend([kind] * len(keys))
        self.note_src.extend(srcs)

    def merge(self, a: str, b: str, reason: str, source: str) -> None:
        self.merge_many([a], [b], reason, [source])

    def merge_many(self, a: list[str], b: list[str], reason: str, sources: list[str]) -> None:
        """Merge the keys ``a[i]`` and ``b[i]`` for ``reason``, in order."""
        if self._keys is not None and (self.codes(a + b) < 0).any():
            self._keys = self._index = None   # a key not seen before: index the keys again
        self.merge_a.extend(a)
        self.merge_b.extend(b)
        self.merge_reason.extend([reason] * len(a))
        self.merge_source.extend(sources)

    # -- key codes ----------------------------------------------------------------------
    @property
    def keys(self) -> np.ndarray:
        """Every key, sorted (object array); a key's code is its position here."""
        if self._keys is None:
            n_notes, n_a = len(self.note_key), len(self.merge_a)
            codes, self._keys = text_codes(np.array(self.note_key + self.merge_a + self.merge_b, dtype=object))
            self._note_codes = codes[:n_notes]
            self._merge_codes = np.vstack([codes[n_notes:n_notes + n_a], codes[n_notes + n_a:]])
        return self._keys

    @property
    def index(self) -> pd.Index:
        """:attr:`keys` as an index, for looking up a few keys."""
        if self._index is None:
            self._index = pd.Index(self.keys, dtype=object)
        return self._index

    def codes(self, keys: list[str]) -> np.ndarray:
        """Code of each key (-1 if unknown). A few keys are looked up by binary search of the
        sorted keys (hashing a million keys into :attr:`index` costs more than that)."""
        known = self.keys
        if len(keys) * _FEW_KEYS >= len(known):
            return self.index.get_indexer(pd.Index(np.array(keys, dtype=object), dtype=object))
        wanted = np.array(keys, dtype=object)
        at = np.searchsorted(known, wanted)   # (the keys sort as Python compares them: text_order)
        found = at < len(known)
        found[found] = known[at[found]] == wanted[found]
        return np.where(found, at, -1)

    def note_codes(self) -> np.ndarray:
        """Code of the key of every note."""
        _ = self.keys
        return self._note_codes

    def merge_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Codes of both ends of every merge (merges made after indexing are looked up)."""
        _ = self.keys
        done = self._merge_codes.shape[1]
        if done < len(self.merge_a):
            more = np.vstack([self.codes(self.merge_a[done:]), self.codes(self.merge_b[done:])])
            self._merge_codes = np.hstack([self._merge_codes, more])
        return self._merge_codes[0], self._merge_codes[1]

    def components(self) -> np.ndarray:
        """Root (smallest key's code) of every key's component."""
        import scipy.sparse
        from scipy.sparse.csgraph import connected_components

        n = len(self.keys)
        a, b = self.merge_codes()
        adj = scipy.sparse.coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
        _, label = connected_components(adj, directed=False)
        _, first = np.unique(label, return_index=True)   # keys are sorted: first = smallest
        return first[label]

    def recorded(self, root: np.ndarray) -> np.ndarray:
        """Which merges joined two components at the time they were made."""
        a, b = self.merge_codes()
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        first = (lo != hi) & ~pd.Series(lo.astype(np.int64) * len(self.keys) + hi).duplicated().to_numpy()
        comp = root[lo]
        edges = np.bincount(comp[first], minlength=len(root))
        nodes = np.bincount(root, minlength=len(root))
        out = first & (edges[comp] == nodes[comp] - 1)   # a tree: every first edge joined two parts
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.get(x, x) != x:
                parent[x] = parent.get(parent[x], parent[x])
                x = parent[x]
            return x

        for i in np.flatnonzero(first & ~out).tolist():   # components with cycles: in order
            ra, rb = find(int(lo[i])), find(int(hi[i]))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
                out[i] = True
        return out


#: :meth:`_Ledger.codes` searches the sorted keys for fewer than 1/_FEW_KEYS of their number.
_FEW_KEYS = 16


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
    return _resolve_entities(case, None)


def _resolve_entities(case: Case, transfer_ids: np.ndarray | None) -> Resolution:
    """:func:`resolve_entities`; ``transfer_ids``: :func:`transfer_codes` of the case's
    transfers where known already (``crimegraph.io.case._read_case`` works them out)."""
    ledger = _Ledger()
    note, merge = ledger.note, ledger.merge

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
        # (only the columns used: dropping rows of the whole table would copy every column)
        spk = msgs[["sender_wxid", "sender_name", "source_file", "source_line"]].dropna(subset=["sender_wxid"])
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
        _note_postings(ledger, msgs[msgs["id_numbers"] != ""])

    # 6. a real name corroborated by a shared counterparty (until nothing changes) --------
    root = ledger.components()
    for _ in range(5):
        if not _merge_corroborated_names(case, ledger, root):
            break
        root = ledger.components()

    # -- persons from components ----------------------------------------------------------
    persons, key_to_person, person_of_key = _persons_from_components(ledger, root)
    transfers, orgs, extra = _link_transfers(case, key_to_person, persons, transfer_ids)
    if extra:
        persons = pd.concat([persons, pd.DataFrame(extra)], ignore_index=True)
        for row in extra:
            key_to_person[row["keys"]] = row["person_id"]
    keep = ledger.recorded(root)
    merges_df = pd.DataFrame({
        "a": np.array(ledger.merge_a, dtype=object)[keep], "b": np.array(ledger.merge_b, dtype=object)[keep],
        "reason": np.array(ledger.merge_reason, dtype=object)[keep],
        "source": np.array(ledger.merge_source, dtype=object)[keep]}, dtype=object)
    merges_df["person_id"] = person_of_key[ledger.merge_codes()[0][keep]]
    return Resolution(persons, merges_df, key_to_person, transfers, orgs, _first_seen(ledger))


def _plain_value(cell: Any) -> bool:
    """Whether a cell is one value that :func:`_split` keeps as it is (digits, or an ID
    number's digits and check letter): the usual extracted ID number or phone."""
    return type(cell) is str and (cell.isdigit() or (cell[-1:] in ("X", "x") and cell[:-1].isdigit()))


def _note_postings(ledger: _Ledger, posted: pd.DataFrame) -> None:
    """Step 5 of :func:`resolve_entities` for every posting at once (the same notes and
    merges, in the same order, as one message at a time). A message with one plain ID
    number and no phone or one plain phone (nearly all) is noted without splitting.
    A posting's values are its keys' own (``idn:X`` is ID number X), which a label would
    only repeat: the keys are noted without labels."""
    ids = posted["id_numbers"].to_numpy(dtype=object)
    phones = posted["phones"].to_numpy(dtype=object)
    n = len(ids)
    srcs = np.array([f"{f}:{line}" for f, line in zip(posted["source_file"].tolist(),
                                                        posted["source_line"].tolist(), strict=True)], dtype=object)
    id_plain = np.fromiter(map(_plain_value, ids.tolist()), dtype=bool, count=n)
    phone_plain = np.fromiter(map(_plain_value, phones.tolist()), dtype=bool, count=n)
    no_phone = np.fromiter((p == "" for p in phones.tolist()), dtype=bool, count=n)
    plain = id_plain & (phone_plain | no_phone)
    # each message's ID numbers and phones, and whether it pairs them (one of each)
    id_lists = np.empty(n, dtype=object)
    pair_phone = np.full(n, None, dtype=object)
    pair_phone[plain & phone_plain] = phones[plain & phone_plain]
    n_notes = np.where(plain, 1 + phone_plain, 0)
    for i in np.flatnonzero(~plain).tolist():
        row_ids, row_phones = _split(ids[i]), _split(phones[i])
        id_lists[i] = row_ids
        paired = len(row_ids) == 1 and len(row_phones) == 1
        if paired:
            pair_phone[i] = row_phones[0]
        n_notes[i] = len(row_ids) + paired
    first = np.cumsum(n_notes) - n_notes   # position of each message's first note
    values = np.empty(int(n_notes.sum()), dtype=object)
    values[first[plain]] = ids[plain]
    for i in np.flatnonzero(~plain).tolist():
        values[first[i]:first[i] + len(id_lists[i])] = id_lists[i]
    pairs = np.flatnonzero(pair_phone != None)   # noqa: E711 (elementwise)
    at = first[pairs] + n_notes[pairs] - 1   # the phone: after the message's one ID number
    values[at] = pair_phone[pairs]
    keys = "idn:" + values   # (right where the value is an ID number)
    phone_keys = "phone:" + values[at]
    keys[at] = phone_keys
    ledger.note_many(keys.tolist(), None, None, "posted", srcs[np.repeat(np.arange(n), n_notes)].tolist())
    ledger.merge_many(keys[at - 1].tolist(), phone_keys.tolist(),
                      "posted together (ID number and phone in one message)", srcs[pairs].tolist())


def _first_seen(ledger: _Ledger) -> dict[str, str]:
    """Key -> where it was first noted with a source (``file:line`` or device folder)."""
    src = np.array(ledger.note_src, dtype=object)
    noted = np.flatnonzero(src != "")
    codes = ledger.note_codes()[noted]
    first = ~pd.Series(codes).duplicated().to_numpy()   # in the order of the notes
    return dict(zip(ledger.keys[codes[first]].tolist(), src[noted[first]].tolist(), strict=True))


def _merge_corroborated_names(case: Case, ledger: _Ledger, root: np.ndarray) -> bool:
    """Merge a bank card into a device owner when two independent facts agree: the card
    holder's real name equals the owner's, and the card paid or was paid by someone the
    owner deals with (1:1 chat, address book). A name alone is never enough.
    ``root`` is :meth:`_Ledger.components` before this round. Returns whether anything
    was merged."""
    keys = ledger.keys

    def roots_of(ks: list[str]) -> list[str | None]:
        """Root key of each key's component (None for a key never seen)."""
        return [keys[root[c]] if c >= 0 else None for c in ledger.codes(ks).tolist()]

    names_by_root: dict[str, set[str]] = defaultdict(set)
    note_codes = ledger.note_codes()
    for i, w, v in zip(ledger.label_note, ledger.label_what, ledger.label_value, strict=True):
        if w == "names":
            names_by_root[keys[root[note_codes[i]]]].add(v)

    def names(r: str) -> set[str]:
        return names_by_root.get(r, set())

    card_partners: dict[str, set[str]] = defaultdict(set)
    tr = case.transfers
    pairs = []
    for r in (tr[tr["channel"] == "bank"] if not tr.empty else tr).itertuples(index=False):
        a = normalize_bank_card(r.owner_account)
        if a and r.counterparty_card:
            pairs.append((f"card:{a}", f"card:{r.counterparty_card}"))
    ra_list = roots_of([x for x, _ in pairs])
    rb_list = roots_of([y for _, y in pairs])
    for (x, y), ra, rb in zip(pairs, ra_list, rb_list, strict=True):
        ra, rb = ra or x, rb or y   # a card never noted is its own component
        card_partners[ra].add(rb)
        card_partners[rb].add(ra)
    dev_partners: dict[str, set[str]] = defaultdict(set)

    def partners(pairs: list[tuple[str, str]], both: bool) -> None:
        for ra, rb in zip(roots_of([x for x, _ in pairs]), roots_of([y for _, y in pairs]), strict=True):
            if ra is not None and rb is not None:
                dev_partners[ra].add(rb)
                if both:
                    dev_partners[rb].add(ra)

    msgs = case.messages
    if not msgs.empty:
        direct = msgs[~msgs["is_group"].astype(bool) & msgs["sender_wxid"].notna()]
        spoke = direct[["device", "sender_wxid"]].drop_duplicates()
        partners([(f"device:{d}", f"wx:{w}") for d, w in zip(spoke["device"].tolist(),
                                                               spoke["sender_wxid"].tolist(), strict=True)], False)
        # a canonical 1:1 chat id names both sides, whichever phone's copy was kept
        partners([tuple(f"wx:{x}" for x in c[3:].split("|", 1))   # type: ignore[misc]
                  for c in sorted(set(direct["chat_id"])) if c.startswith("dm:") and "|" in c], True)
    partners([(f"device:{c.device}", f"phone:{p}") for c in case.contacts.itertuples(index=False)
              for p in _split(c.phones)], False)

    def tokens(roots: set[str]) -> set[str]:
        """A counterparty is recognised by its identity, or by its real name."""
        out = set(roots)
        for r in roots:
            out |= {f"name:{n}" for n in names(r)}
        return out

    lo, hi = np.searchsorted(keys, ["device:", "device;"])   # keys are sorted: "device:..." is one run
    device_roots = set(keys[root[lo:hi]].tolist())
    dev_tokens = {d: tokens(dev_partners.get(d, set())) for d in device_roots}
    merged = False
    for card_root, partner_roots in sorted(card_partners.items()):
        if card_root in device_roots:
            continue
        card_tokens = tokens(partner_roots)
        for name in sorted(names(card_root)):
            cands = sorted(d for d in device_roots if name in names(d) and dev_tokens[d] & card_tokens)
            if len(cands) == 1:
                shared = sorted(dev_tokens[cands[0]] & card_tokens)[0]
                if shared.startswith("name:"):
                    who = shared[5:]
                else:
                    code = ledger.codes([shared])[0]
                    members = keys[root == root[code]].tolist() if code >= 0 else [shared]
                    who = (sorted(k for k in members if not k.startswith("device:")) or [shared])[0]
                ledger.merge(cands[0], card_root, f"same real name {name!r}, and both deal with {who}",
                             "bank statement + device")
                merged = True
                break
    return merged


_KIND_ORDER = ("device_owner", "chat", "counterparty", "contact", "posted")


_BUCKETS = {"wx": "wechat_ids", "phone": "phones", "card": "bank_cards", "idn": "id_numbers",
            "alipay": "alipay_accounts", "device": "devices"}
_PERSON_COLUMNS = ("names", "nicknames", "aliases", "phones", "wechat_ids", "alipay_accounts", "bank_cards",
                   "id_numbers", "devices")


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integer codes by sorting (numpy's hash-based unique is slower here)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _pair_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code of each pair ``(a[i], b[i])``, numbered in order of first appearance (-1 where
    either is missing), and each code's ``a`` and ``b`` value."""
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    ok = (ca >= 0) & (cb >= 0)
    codes = np.full(len(ca), -1, dtype=np.int64)
    width = max(len(ub), 1)
    codes[ok], firsts = pd.factorize(ca[ok].astype(np.int64) * width + cb[ok])
    return codes, ua[firsts // width], ub[firsts % width]


def _join_runs(groups: np.ndarray, values: np.ndarray, *, distinct: bool = True, sep: str = ";"
               ) -> tuple[np.ndarray, np.ndarray]:
    """Join (with ``sep``) the ``values`` of each run of equal ``groups`` (runs are contiguous):
    the group of each run and its text; ``distinct`` values sorted, else all in order.
    Runs of one value (most of them) need no Python."""
    if len(groups) == 0:
        return groups, values
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    ends = np.r_[starts[1:], len(groups)]
    joined = values[starts].astype(object)
    two = np.flatnonzero(ends - starts == 2)   # pairs (a victim's ID number and phone) in bulk
    if len(two):
        a, b = values[starts[two]], values[starts[two] + 1]
        if distinct:
            a, b = np.where(a <= b, a, b), np.where(a <= b, b, a)
            joined[two] = np.where(a == b, a, a + sep + b)
        else:
            joined[two] = a + sep + b
    for i in np.flatnonzero(ends - starts > 2).tolist():
        run = values[starts[i]:ends[i]].tolist()
        joined[i] = sep.join(sorted(set(run)) if distinct else run)
    return groups[starts], joined


def _run_sources(starts: np.ndarray, ends: np.ndarray, files: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """``file:line;file:line`` of the rows ``starts[i]:ends[i]`` of each run (no text per row
    is built first: a million payments seen twice would need two million strings)."""
    out = np.empty(len(starts), dtype=object)
    size = ends - starts
    one, two = np.flatnonzero(size == 1), np.flatnonzero(size == 2)
    out[one] = [f"{f}:{n}" for f, n in zip(files[starts[one]].tolist(), lines[starts[one]].tolist(), strict=True)]
    first, second = starts[two], starts[two] + 1
    out[two] = [f"{f}:{n};{g}:{m}" for f, n, g, m in zip(files[first].tolist(), lines[first].tolist(),
                                                          files[second].tolist(), lines[second].tolist(), strict=True)]
    for i in np.flatnonzero(size > 2).tolist():
        run = slice(starts[i], ends[i])
        out[i] = ";".join(f"{f}:{n}" for f, n in zip(files[run].tolist(), lines[run].tolist(), strict=True))
    return out


def _persons_from_components(ledger: _Ledger, root: np.ndarray) -> tuple[pd.DataFrame, dict[str, str], np.ndarray]:
    """One person per component, ordered by the best kind of its keys, then its smallest key;
    the persons, each key's person id (a dict, and an array by key code)."""
    keys = ledger.keys
    rank = {k: i for i, k in enumerate(_KIND_ORDER)}
    posted = rank["posted"]
    note_codes = ledger.note_codes()
    first_note = np.flatnonzero(~pd.Series(note_codes).duplicated().to_numpy())   # a key's kind: its first note
    key_rank = np.full(len(keys), posted, dtype=np.int64)
    key_rank[note_codes[first_note]] = pd.Series(np.array(ledger.note_kind, dtype=object)[first_note]).map(
        rank).fillna(posted).to_numpy(np.int64)
    comp_rank = np.full(len(keys), posted, dtype=np.int64)
    np.minimum.at(comp_rank, root, key_rank)
    roots = _sorted_unique(root)   # = their smallest keys, in key order
    ordered = roots[np.lexsort((roots, comp_rank[roots]))]
    person_no = np.empty(len(keys), dtype=np.int64)
    person_no[ordered] = np.arange(len(ordered))
    pids = np.array([f"P{i:06d}" for i in range(1, len(ordered) + 1)], dtype=object)
    key_person = person_no[root]
    key_to_person = dict(zip(keys.tolist(), pids[key_person].tolist(), strict=True))

    columns: dict[str, Any] = {"person_id": pids}
    by_person = np.argsort(key_person, kind="stable")   # keys stay sorted within a person
    _, columns["keys"] = _join_runs(key_person[by_person], keys[by_person], distinct=False)
    columns["kind"] = np.array(_KIND_ORDER, dtype=object)[comp_rank[ordered]]
    # values per (person, column): identifier values of the keys, and the labels noted on them
    col_code = {c: i for i, c in enumerate(_PERSON_COLUMNS)}
    persons_l, cols_l, values_l = [], [], []
    for typ, bucket in _BUCKETS.items():   # keys are sorted: each type is one run
        lo, hi = np.searchsorted(keys, [f"{typ}:", f"{typ};"])
        persons_l.append(key_person[lo:hi])
        cols_l.append(np.full(hi - lo, col_code[bucket], dtype=np.int64))
        values_l.append(np.array([k[len(typ) + 1:] for k in keys[lo:hi].tolist()], dtype=object))
    label_codes = note_codes[np.array(ledger.label_note, dtype=np.int64)]
    typ_of = {b: t for t, b in _BUCKETS.items()}
    what = pd.Series(np.array(ledger.label_what, dtype=object)).map(col_code)
    # a label that repeats its own key's value (idn:X noted with id_numbers X) adds nothing
    use = what.notna().to_numpy() & np.array(
        [k != f"{typ_of.get(w)}:{v}" for k, w, v in zip(keys[label_codes].tolist(), ledger.label_what,
                                                          ledger.label_value, strict=True)], dtype=bool)
    persons_l.append(key_person[label_codes[use]])
    cols_l.append(what[use].to_numpy(np.int64))
    values_l.append(np.array(ledger.label_value, dtype=object)[use])
    person, col, value = np.concatenate(persons_l), np.concatenate(cols_l), np.concatenate(values_l)
    order = np.lexsort((person, col))
    person, col, value = person[order], col[order], value[order]
    for i, name in enumerate(_PERSON_COLUMNS):
        out = np.full(len(ordered), "", dtype=object)
        lo, hi = np.searchsorted(col, [i, i + 1])
        who, joined = _join_runs(person[lo:hi], value[lo:hi])
        out[who] = joined
        columns[name] = out
    frame = pd.DataFrame({c: pd.Series(columns[c], dtype=object)
                          for c in ("person_id", "keys", "kind", *_PERSON_COLUMNS)})
    return frame, key_to_person, pids[key_person]


def _owner_key(channel: str, owner_account: str | None, device: str | None) -> str | None:
    """Identifier of whoever's records a payment row comes from."""
    if channel == "bank":
        card = normalize_bank_card(owner_account)
        return f"card:{card}" if card else None
    return f"device:{device}" if device else None


def _link_transfers(case: Case, key_to_person: dict[str, str], persons: pd.DataFrame,
                    codes: np.ndarray | None) -> tuple[pd.DataFrame, list[str], list[dict[str, Any]]]:
    """One row per unique payment with payer and payee resolved (see module docstring);
    ``codes``: :func:`transfer_codes` of the transfers, where known already."""
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
    devices = tr["device"].fillna("")
    owner_pid = devices.map({d: key_to_person.get(f"device:{d}") for d in devices.unique() if d})
    owner_pid = np.array(owner_pid.astype(object).where(owner_pid.notna(), None), dtype=object)
    for i in bank.nonzero()[0]:
        key = _owner_key("bank", tr["owner_account"].iat[i], None)
        owner_pid[i] = key_to_person.get(key) if key else None
    owners = pd.DataFrame({"owner_pid": owner_pid, "channel": tr["channel"].to_numpy(dtype=object)})
    for pid, channel in owners.dropna().drop_duplicates().itertuples(index=False):
        seized[pid].add(channel)
    del owners

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
    # (each column is taken in that order when needed: the table itself is never copied)
    if codes is None or len(codes) != len(tr):
        codes = transfer_codes(tr["transfer_id"])   # (numbered in transfer id order)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])   # one run of rows per transfer
    direction = tr["direction"].to_numpy(dtype=object)[order]
    pid = owner_pid[order]

    def first_rows(mask: np.ndarray) -> np.ndarray:
        rows = np.flatnonzero(mask)
        return rows[np.unique(codes[rows], return_index=True)[1]]

    first_out, first_in = first_rows(direction == "out"), first_rows(direction == "in")
    payee_of = np.full(len(starts), None, dtype=object)
    payee_of[codes[first_in]] = pid[first_in]
    paired = first_out[pd.notna(pid[first_out]) & pd.notna(payee_of[codes[first_out]])]
    completed = np.logical_and.reduceat(tr["completed"].to_numpy(dtype=bool)[order], starts)
    pc = codes[paired]
    sources = _run_sources(starts[pc], np.r_[starts[1:], len(codes)][pc], tr["source_file"].to_numpy(dtype=object)[order],
                           tr["source_line"].to_numpy()[order])
    at = order[paired]   # the paired rows in the table's own order
    bulk = pd.DataFrame({
        "transfer_id": tr["transfer_id"].to_numpy(dtype=object)[at],
        "channel": tr["channel"].to_numpy(dtype=object)[at], "time": tr["time"].array[at],
        "amount": tr["amount"].to_numpy(dtype=object)[at], "completed": completed[pc],
        "payer": pid[paired], "payee": payee_of[pc], "link": "same transaction id in both parties' records",
        "kind": tr["kind"].to_numpy(dtype=object)[at], "sources": sources}, columns=cols)
    is_paired = np.zeros(len(starts), dtype=bool)
    is_paired[pc] = True
    left = order[~is_paired[codes]]
    rest = tr.iloc[left].assign(owner_pid=owner_pid[left])
    rest_codes = np.flatnonzero(~is_paired)

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
    out = out.iloc[np.argsort(np.r_[pc, rest_codes], kind="stable")].reset_index(drop=True)
    return out, sorted(orgs), list(extra.values())

