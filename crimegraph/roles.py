"""Role inference along the chain (DESIGN.md §3), with confidence and evidence.

Behaviour, not names or fixed amounts, decides a role:

* **pusher** posts victims' ID numbers (and SMS codes) into a chat group and is
  paid small amounts by someone in that group;
* **merchant** is in groups where others post identities, pays those posters
  small amounts (fan-out) and/or receives large payments;
* **resale** pays merchants large amounts (buys accounts) without posting
  identities;
* **victim** is a person known only as a leaked identity;
* **other** has evidence but no part in the chain (family, friends, shops);
* **unknown** has too little evidence.

"Small" and "large" are parameters (``commission_max``, ``sale_min``); the
defaults follow the domain (commissions of a few to tens of yuan per account,
account sales in bulk).
"""

from __future__ import annotations

import html
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from .graph import CaseGraph, in_set, is_person_ref, person_ref_mask
from .io._common import map_unique
from .resolve import _join_runs, _pair_codes, _sorted_unique

__all__ = ["ROLES", "RoleResult", "infer_roles", "money_flows"]

ROLES = ("pusher", "merchant", "resale", "victim", "other", "unknown")


@dataclass
class RoleResult:
    """Roles of every person.

    Attributes
    ----------
    table : pandas.DataFrame
        ``person_id, label, role, confidence, crew, evidence`` plus the behaviour
        counts behind them.
    params : dict
    """

    table: pd.DataFrame
    params: dict[str, float]

    def role_of(self, person_id: str) -> str:
        return str(self.table.set_index("person_id").at[person_id, "role"])

    def _repr_html_(self) -> str:
        counts = self.table["role"].value_counts()
        rows = "".join(f"<tr><td>{html.escape(r)}</td><td>{counts.get(r, 0)}</td></tr>" for r in ROLES)
        return f"<div><b>Roles</b><table>{rows}</table></div>"


def _fmt_range(lo: Decimal, hi: Decimal) -> str:
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


@dataclass(frozen=True)
class _Paid:
    """Small payments from one payer to one payee: how many, smallest, largest (the first
    of equal amounts in payment order, as ``min``/``max`` of the list would give)."""

    n: int
    lo: Decimal
    hi: Decimal


def infer_roles(cg: CaseGraph, *, commission_max: float = 100.0, sale_min: float = 200.0) -> RoleResult:
    """Infer each person's role from behaviour along the chain.

    Parameters
    ----------
    cg : CaseGraph
    commission_max : float, default 100
        Largest single payment (yuan) counted as a per-account commission.
    sale_min : float, default 200
        Smallest single payment (yuan) counted as a bulk account sale.

    Returns
    -------
    RoleResult

    Examples
    --------
    >>> import crimegraph
    >>> cg = crimegraph.build_graph(crimegraph.read_case("data/samples/small/case"))
    >>> r = crimegraph.infer_roles(cg)
    >>> r.table["role"].value_counts()[["pusher", "merchant", "resale"]].tolist()
    [14, 3, 2]
    """
    G = cg.graph
    in_graph = sorted(n for n, d in G.nodes(data=True) if d["type"] == "person")
    label = {n: G.nodes[n]["label"] for n in in_graph}
    ids_posted: Counter[str] = Counter()
    otps: Counter[str] = Counter()
    posted_in: dict[str, Counter[str]] = defaultdict(Counter)
    members: dict[str, set[str]] = defaultdict(set)
    groups_of: dict[str, set[str]] = defaultdict(set)
    big_in: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    big_out: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    degree: Counter[str] = _payment_degree(cg)
    chats: dict[str, set[str]] = defaultdict(set)
    for u, v, d in G.edges(data=True):
        t = d["type"]
        if t in ("contact", "direct_chat", "member_of"):
            degree[u] += 1
            degree[v] += 1
        if t == "posted":
            ids_posted[u] += d["identities"]
            otps[u] += d.get("otp_codes", 0)
            posted_in[u][v] += d["identities"]
        elif t == "member_of":
            members[v].add(u)
            groups_of[u].add(v)
        elif t == "direct_chat":
            chats[u].add(v)
            chats[v].add(u)
    cmax, smin = Decimal(str(commission_max)), Decimal(str(sale_min))
    pay = cg.payments
    amount = pay["amount"].to_numpy(dtype=object)
    red = np.array(map_unique(pay["kind"], lambda k: "红包" in (k or "")), dtype=bool).reshape(-1)
    small_in = _small_payments(pay, (amount <= cmax) & ~red)   # red packets are social, not commissions
    big = pay[amount >= smin]
    for payer, payee, amt in zip(big["payer"].tolist(), big["payee"].tolist(), big["amount"].tolist(), strict=True):
        u, v = f"person:{payer}", f"person:{payee}"
        big_in[v][u].append(amt)
        big_out[u][v].append(amt)
    id_groups = {g for p in posted_in for g in posted_in[p]}
    glabel = {g: G.nodes[g].get("label", g) for g in id_groups}

    role: dict[str, str] = {}
    conf: dict[str, float] = {}
    evidence: dict[str, list[str]] = defaultdict(list)
    crew: dict[str, str] = {}

    # 1. pushers: post identities, paid small amounts by a co-member
    for p in in_graph:
        if ids_posted[p] == 0:
            continue
        where = ", ".join(f"{glabel[g]}" for g, _ in posted_in[p].most_common(3))
        evidence[p].append(f"posted {ids_posted[p]} ID numbers" + (f" and {otps[p]} SMS codes" if otps[p] else "")
                           + f" in {where}")
        co = set().union(*(members[g] for g in posted_in[p])) - {p}
        payers = {q: a for q, a in small_in[p].items() if q in co}
        score = 0.55 + min(0.25, 0.05 * math.log2(1 + ids_posted[p]))
        if payers:
            score += 0.15
            for q, paid in sorted(payers.items(), key=lambda x: -x[1].n)[:2]:
                evidence[p].append(f"received {paid.n} payments of {_fmt_range(paid.lo, paid.hi)} yuan from "
                                   f"{label[q]} ({q[7:]})")
        role[p], conf[p] = "pusher", round(min(score, 0.99), 2)

    pushers = {p for p, r in role.items() if r == "pusher"}
    paid_by: dict[str, set[str]] = defaultdict(set)   # payer -> pushers it paid small amounts
    for q in pushers:
        for payer in small_in.get(q, {}):
            paid_by[payer].add(q)
    # 2. merchants: receive identities in their groups, pay the posters, sell accounts
    for p in in_graph:
        if p in role:
            continue
        groups = [g for g in groups_of.get(p, ()) if g in id_groups]
        paid = paid_by.get(p, set())
        n_posts = sum(sum(posted_in[q][g] for q in pushers) for g in groups)
        if not groups and len(paid) < 2:
            continue
        if groups and not paid and not big_in[p]:
            continue   # only a bystander in the group
        score = 0.5 + (0.2 if groups else 0) + min(0.2, 0.04 * len(paid)) + (0.08 if big_in[p] else 0)
        if groups:
            evidence[p].append(f"member of {', '.join(glabel[g] for g in sorted(groups))}, where "
                               f"{n_posts} ID numbers were posted by others")
        if paid:
            each = [small_in[q][p] for q in paid]
            lo, hi = min(e.lo for e in each), max(e.hi for e in each)
            evidence[p].append(f"paid {sum(e.n for e in each)} small amounts ({_fmt_range(lo, hi)} yuan) to "
                               f"{len(paid)} posters")
        if big_in[p]:
            total = sum(sum(a) for a in big_in[p].values())
            evidence[p].append(f"received {sum(len(a) for a in big_in[p].values())} large payments "
                               f"({total:g} yuan) from {len(big_in[p])} payers")
        role[p], conf[p] = "merchant", round(min(score, 0.99), 2)

    merchants = {p for p, r in role.items() if r == "merchant"}
    # 3. resale: buy accounts from merchants
    for p in in_graph:
        if p in role:
            continue
        bought = {q: a for q, a in big_out.get(p, {}).items() if q in merchants}
        if not bought:
            continue
        total = sum(sum(a) for a in bought.values())
        n = sum(len(a) for a in bought.values())
        talked = sorted(q for q in bought if q in chats[p])
        line = (f"paid {n} large amounts ({total:g} yuan) to merchants "
                + ", ".join(f"{label[q]} ({q[7:]})" for q in sorted(bought)))
        if n < 2 and not talked:
            evidence[p].append(line + "; a single payment without other dealings is not enough "
                                      "to call it an account purchase")
            continue   # one large payment (a relative, a loan) is not a pattern of purchases
        if talked:
            line += "; 1:1 chats with " + ", ".join(label[q] for q in talked)
        evidence[p].append(line)
        role[p], conf[p] = "resale", round(min(0.6 + 0.1 * n + 0.1 * len(bought) + 0.1 * len(talked), 0.95), 2)

    # 4. victims, other, unknown (victims left out of a compact graph: in bulk, below)
    posted = [p[7:] for p in in_graph if p not in role and G.nodes[p].get("kind") == "posted"]
    rows = np.flatnonzero(cg.persons["person_id"].isin(posted).to_numpy())
    who, texts = _posters_of_victims(cg, rows, label)
    posters_of = dict(zip(cg.persons["person_id"].to_numpy(dtype=object)[who].tolist(), texts.tolist(), strict=True))
    for p in in_graph:
        if p in role:
            continue
        if G.nodes[p].get("kind") == "posted":
            role[p], conf[p] = "victim", 0.95
            evidence[p].append("identity posted by " + posters_of.get(p[7:], ""))
        elif degree[p] >= 2 or G.nodes[p].get("kind") == "device_owner":
            role[p], conf[p] = "other", 0.6
            evidence[p].append(f"{degree[p]} contacts/payments/chats, no part in the chain")
        else:
            role[p], conf[p] = "unknown", 0.3
            evidence[p].append("known from a single record")

    # crews: a pusher belongs to the merchant who paid it most, else whose group it posts in
    for p in merchants:
        crew[p] = p
    for p in pushers:
        payers = {q: a.n for q, a in small_in[p].items() if q in merchants}
        if payers:
            crew[p] = max(sorted(payers), key=lambda q: payers[q])
            continue
        for g, _ in posted_in[p].most_common():
            ms = sorted(members[g] & merchants)
            if ms:
                crew[p] = ms[0]
                break
    columns = ["person_id", "label", "role", "confidence", "crew", "ids_posted", "otp_codes", "evidence"]
    table = pd.DataFrame([{"person_id": p[7:], "label": label[p], "role": role[p], "confidence": conf[p],
                           "crew": crew[p][7:] if p in crew else "", "ids_posted": ids_posted[p],
                           "otp_codes": otps[p], "evidence": "; ".join(evidence[p])} for p in in_graph],
                         columns=columns)
    if cg.collapsed:
        table = pd.concat([table, _collapsed_victims(cg, label)[columns]], ignore_index=True)
        table = table.iloc[np.argsort(table["person_id"].to_numpy(dtype=object).astype(str), kind="stable")]
        table = table.reset_index(drop=True)
    return RoleResult(table, {"commission_max": commission_max, "sale_min": sale_min})


def decimal_sums(frame: pd.DataFrame, by: list[str], column: str = "amount") -> dict[Any, Decimal]:
    """Exact ``Decimal`` sums of ``column`` per group of ``by`` (vectorised in whole cents,
    Python sums only when an amount has finer precision)."""
    if frame.empty:
        return {}
    cents = _cents_column(frame[column])
    if cents is None:
        g = frame.groupby(by, sort=False)[column]
        return g.agg(lambda s: sum(s, Decimal("0"))).to_dict()
    sums = pd.Series(cents).groupby([frame[c].to_numpy() for c in by], sort=False).sum()
    return {k: Decimal(int(v)).scaleb(-2) for k, v in sums.items()}


def _cents(a: Any) -> int | None:
    if a is None:
        return None
    c = Decimal(a) * 100
    return int(c) if c == c.to_integral_value() else None


def _cents_column(amounts: pd.Series) -> np.ndarray | None:
    """Whole cents (int64) of each amount, or None when one is missing or finer than a cent.
    Decided once per distinct amount."""
    codes, uniques = pd.factorize(amounts.to_numpy(dtype=object))
    table = [_cents(a) for a in uniques.tolist()]
    if (codes < 0).any() or None in table:
        return None
    return np.array(table, dtype=np.int64)[codes]


def _money_in_cents(done: pd.DataFrame, cents: np.ndarray, ids: list[str]
                    ) -> tuple[dict[tuple[str, str], Decimal], dict[str, list[Any]]]:
    """:func:`money_flows` on whole cents: sums per (payer, payee) and the per-person
    columns in the order of ``ids``."""
    payer_codes, payers = pd.factorize(done["payer"].to_numpy(dtype=object))
    payee_codes, payees = pd.factorize(done["payee"].to_numpy(dtype=object))
    columns: dict[str, list[Any]] = {}
    position = _positions(ids)
    for codes, refs, total, count in ((payee_codes, payees, "money_in", "payments_in"),
                                      (payer_codes, payers, "money_out", "payments_out")):
        ok = codes >= 0
        sums = np.zeros(len(refs), dtype=np.int64)
        np.add.at(sums, codes[ok], cents[ok])
        n = np.bincount(codes[ok], minlength=len(refs))
        at = np.full(len(ids), -1, dtype=np.int64)   # row of each person in refs; -1: no payments
        where = position(refs.tolist())
        at[where[where >= 0]] = np.flatnonzero(where >= 0)
        money = np.append(np.array([Decimal(v).scaleb(-2) for v in sums.tolist()], dtype=object), Decimal("0"))
        columns[total] = money[at].tolist()
        columns[count] = np.append(n, 0)[at].tolist()
    both = (payer_codes >= 0) & (payee_codes >= 0)
    key, a, b = _pair_codes(payer_codes[both], payee_codes[both])
    sums = np.zeros(len(a), dtype=np.int64)
    np.add.at(sums, key, cents[both])
    pair = {(x, y): Decimal(v).scaleb(-2)
            for x, y, v in zip(payers[a].tolist(), payees[b].tolist(), sums.tolist(), strict=True)}
    return pair, {k: columns[k] for k in ("money_in", "money_out", "payments_in", "payments_out")}


def _positions(ids: list[str]) -> Callable[[list[str]], np.ndarray]:
    """A lookup of the position of each of a few values in ``ids`` (-1: absent); binary search
    when ``ids`` is sorted (a role table is), else a dictionary of all of them."""
    arr = np.array(ids, dtype=object)
    if len(arr) < 2 or bool((arr[:-1] < arr[1:]).all()):
        def search(values: list[str]) -> np.ndarray:
            at = np.searchsorted(arr, np.array(values, dtype=object)).clip(0, max(len(arr) - 1, 0))
            hit = arr[at] == np.array(values, dtype=object) if len(arr) else np.zeros(len(values), dtype=bool)
            return np.where(hit, at, -1)
        return search
    index = {p: i for i, p in enumerate(ids)}
    return lambda values: np.array([index.get(v, -1) for v in values], dtype=np.int64)


def _small_payments(pay: pd.DataFrame, small: np.ndarray) -> defaultdict[str, dict[str, _Paid]]:
    """payee node -> payer node -> :class:`_Paid`, over the payments where ``small``."""
    out: defaultdict[str, dict[str, _Paid]] = defaultdict(dict)
    rows = np.flatnonzero(small)
    if len(rows) == 0:
        return out
    pair, payee, payer = _pair_codes(pay["payee"].to_numpy(dtype=object)[rows], pay["payer"].to_numpy(dtype=object)[rows])
    yuan, amount = pay["yuan"].to_numpy(dtype=float)[rows], pay["amount"].to_numpy(dtype=object)[rows]
    n = np.bincount(pair, minlength=len(payee))
    by_pair = pd.Series(yuan).groupby(pair, sort=True)   # pairs 0, 1, ...: first smallest / largest
    lo, hi = by_pair.idxmin().to_numpy(), by_pair.idxmax().to_numpy()
    for v, u, k, a, b in zip(payee.tolist(), payer.tolist(), n.tolist(), amount[lo].tolist(), amount[hi].tolist(),
                             strict=True):
        out[f"person:{v}"][f"person:{u}"] = _Paid(k, a, b)
    return out


def _payment_degree(cg: CaseGraph) -> Counter[str]:
    """Payments (any status, any counterparty) each person node took part in."""
    tr = cg.resolution.transfers
    out: Counter[str] = Counter()
    if tr.empty:
        return out
    for col in ("payer", "payee"):
        for ref, n in tr[col].value_counts(sort=False).items():
            if is_person_ref(ref):
                out[f"person:{ref}"] += int(n)
    return out


def _posters_of_victims(cg: CaseGraph, rows: np.ndarray, label: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Victims (positions ``rows`` in ``cg.persons``) whose ID numbers were posted, and for
    each ``label (id)`` of the posters, sorted by poster id: (positions, texts)."""
    p, leaks = cg.persons, cg.leaks
    none = np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    if len(rows) == 0 or leaks.empty:
        return none
    ids = p["id_numbers"].to_numpy(dtype=object)[rows]
    many = np.flatnonzero([";" in s for s in ids.tolist()])
    if len(many):   # a person with several ID numbers: one row per number
        split = [s.split(";") for s in ids[many].tolist()]
        extra_rows = np.repeat(rows[many], [len(s) for s in split])
        rows = np.concatenate([np.delete(rows, many), extra_rows])
        ids = np.concatenate([np.delete(ids, many), np.array([x for s in split for x in s], dtype=object)])
    id_codes, id_uniques = pd.factorize(np.concatenate([ids, leaks["id_number"].to_numpy(dtype=object)]))
    mine, leaked = id_codes[:len(ids)], id_codes[len(ids):]
    # every (victim, leak) pair with the same ID number: sort both sides by number, pair the runs
    by_mine, by_leak = np.argsort(mine, kind="stable"), np.argsort(leaked, kind="stable")
    lo = np.searchsorted(leaked[by_leak], mine[by_mine], side="left")
    hi = np.searchsorted(leaked[by_leak], mine[by_mine], side="right")
    n = hi - lo
    victim = np.repeat(rows[by_mine], n)
    leak = by_leak[np.repeat(lo - np.cumsum(np.r_[0, n[:-1]]), n) + np.arange(n.sum())]
    poster_codes, posters = pd.factorize(leaks["poster"].to_numpy(dtype=object)[leak], sort=True)
    pair = _sorted_unique(victim.astype(np.int64) * max(len(posters), 1) + poster_codes)   # by victim, then poster
    victim, poster_codes = pair // max(len(posters), 1), pair % max(len(posters), 1)
    text = np.array([f"{label.get('person:' + q, q)} ({q})" for q in posters.tolist()], dtype=object)
    return _join_runs(victim, text[poster_codes], distinct=False, sep=", ")


def _collapsed_victims(cg: CaseGraph, label: dict[str, str]) -> pd.DataFrame:
    """Role rows of the victims left out of a compact graph: only known from postings, so
    victims; labelled as the graph would label them (crimegraph.graph._label)."""
    p = cg.persons
    rows = np.flatnonzero(in_set(p["person_id"], cg.collapsed))
    pids = p["person_id"].to_numpy(dtype=object)[rows]
    first = np.full(len(rows), "", dtype=object)
    for col in ("aliases", "nicknames", "names"):   # the first non-empty of names, nicknames, aliases
        values = p[col].to_numpy(dtype=object)[rows]
        first = np.where(values != "", values, first)
    many = np.flatnonzero([";" in s for s in first.tolist()])
    first[many] = [s.split(";", 1)[0] for s in first[many].tolist()]
    evidence = np.full(len(rows), "identity posted by ", dtype=object)
    who, posters = _posters_of_victims(cg, rows, label)
    evidence[np.searchsorted(rows, who)] = "identity posted by " + posters
    return pd.DataFrame({
        "person_id": pids, "label": np.where(first != "", first, pids), "role": "victim",
        "confidence": 0.95, "crew": "", "ids_posted": 0, "otp_codes": 0, "evidence": evidence})


def money_flows(cg: CaseGraph, roles: RoleResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Money in and out per person, and per crew.

    Only completed payments count; a payment seen in both parties' records is
    counted once.

    Returns
    -------
    per_person : DataFrame
        ``person_id, money_in, money_out, payments_in, payments_out`` (Decimal yuan).
    per_crew : DataFrame
        ``crew, merchant, pushers, victims, commissions_paid, sales_received``.
    """
    t = roles.table
    ids = t["person_id"].tolist()
    zero = Decimal("0")
    tr = cg.resolution.transfers
    done = tr[tr["completed"].astype(bool)] if not tr.empty else tr
    cents = _cents_column(done["amount"]) if not done.empty else None
    if cents is None:   # nothing paid, or amounts finer than a cent: exact Python sums
        inc: dict[str, Decimal] = {}
        out: dict[str, Decimal] = {}
        n_in: dict[str, int] = {}
        n_out: dict[str, int] = {}
        for col, total, count in (("payer", out, n_out), ("payee", inc, n_in)):
            mine = done[person_ref_mask(done[col])] if not done.empty else done
            total.update(decimal_sums(mine, [col]))
            count.update(mine.groupby(col, sort=False).size().to_dict())
        pair = decimal_sums(done, ["payer", "payee"])
        money = {"money_in": [inc.get(p, zero) for p in ids], "money_out": [out.get(p, zero) for p in ids],
                 "payments_in": [n_in.get(p, 0) for p in ids], "payments_out": [n_out.get(p, 0) for p in ids]}
    else:
        pair, money = _money_in_cents(done, cents, ids)
    per_person = pd.DataFrame({"person_id": t["person_id"], **money})
    sales: dict[str, Decimal] = {}
    role = dict(zip(t["person_id"].tolist(), t["role"].tolist(), strict=True))
    for (a_, b_), a in pair.items():
        if role.get(a_) == "resale":
            sales[b_] = sales.get(b_, zero) + a
    rows = []
    members = t.loc[t["crew"] != "", ["person_id", "label", "role", "crew", "ids_posted"]]
    pushers_of: dict[str, list[str]] = defaultdict(list)
    merchant: dict[str, str] = {}
    for p, lab, r, m in zip(*(members[c].tolist() for c in ("person_id", "label", "role", "crew")), strict=True):
        if r == "pusher":
            pushers_of[m].append(p)
        if p == m:
            merchant[m] = lab
    victims = members.groupby("crew", sort=True)["ids_posted"].sum()
    for m, n_ids in zip(victims.index.tolist(), victims.tolist(), strict=True):
        pushers = pushers_of.get(m, [])
        rows.append({
            "crew": m, "merchant": merchant.get(m, ""), "pushers": len(pushers), "victims": int(n_ids),
            "commissions_paid": sum((pair.get((m, p), Decimal("0")) for p in pushers), Decimal("0")),
            "sales_received": sales.get(m, Decimal("0")),
        })
    per_crew = pd.DataFrame(rows, columns=["crew", "merchant", "pushers", "victims", "commissions_paid",
                                           "sales_received"])
    return per_person, per_crew
