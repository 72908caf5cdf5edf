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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from .graph import CaseGraph
from .io._common import map_unique
from .resolve import _join_runs

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


def _fmt_range(amounts: list[Decimal]) -> str:
    lo, hi = min(amounts), max(amounts)
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


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
    small_in: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
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
    for payer, payee, amt, kind in zip(pay["payer"].tolist(), pay["payee"].tolist(), pay["amount"].tolist(), pay["kind"].tolist(), strict=True):
        u, v = f"person:{payer}", f"person:{payee}"
        if amt <= cmax and "红包" not in kind:
            small_in[v][u].append(amt)   # red packets are social, not commissions
        if amt >= smin:
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
            for q, amts in sorted(payers.items(), key=lambda x: -len(x[1]))[:2]:
                evidence[p].append(f"received {len(amts)} payments of {_fmt_range(amts)} yuan from "
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
            amts = [a for q in paid for a in small_in[q][p]]
            evidence[p].append(f"paid {len(amts)} small amounts ({_fmt_range(amts)} yuan) to "
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
    posted = [p for p in in_graph if p not in role and G.nodes[p].get("kind") == "posted"]
    posters_of = _posters_of_victims(cg, [p[7:] for p in posted], label) if posted else {}
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
        payers = {q: len(a) for q, a in small_in[p].items() if q in merchants}
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
    cents = pd.Series(map_unique(frame[column], _cents), index=frame.index, dtype=object)
    if cents.isna().any():
        g = frame.groupby(by, sort=False)[column]
        return g.agg(lambda s: sum(s, Decimal("0"))).to_dict()
    sums = cents.astype("int64").groupby([frame[c] for c in by], sort=False).sum()
    return {k: Decimal(int(v)).scaleb(-2) for k, v in sums.items()}


def _cents(a: Any) -> int | None:
    if a is None:
        return None
    c = Decimal(a) * 100
    return int(c) if c == c.to_integral_value() else None


def _payment_degree(cg: CaseGraph) -> Counter[str]:
    """Payments (any status, any counterparty) each person node took part in."""
    tr = cg.resolution.transfers
    out: Counter[str] = Counter()
    if tr.empty:
        return out
    for col in ("payer", "payee"):
        refs = tr[col]
        counts = refs[~refs.str.contains(":", regex=False)].value_counts()
        for ref, n in counts.items():
            out[f"person:{ref}"] += int(n)
    return out


def _posters_of_victims(cg: CaseGraph, victims: list[str], label: dict[str, str]) -> dict[str, str]:
    """Victim person id -> ``label (id)`` of the posters of its ID numbers, sorted by poster id."""
    p = cg.persons
    v = p.loc[p["person_id"].isin(victims), ["person_id", "id_numbers"]]
    leaks = cg.leaks
    if v.empty or leaks.empty:
        return {}
    v = v.assign(id_number=v["id_numbers"].str.split(";")).explode("id_number")
    j = v.merge(leaks[["id_number", "poster"]], on="id_number").drop_duplicates(["person_id", "poster"])
    pid, poster = j["person_id"].to_numpy(dtype=object), j["poster"].to_numpy(dtype=object)
    order = np.lexsort((poster.astype(str), pid.astype(str)))
    pid, poster = pid[order], poster[order]
    text = np.array([f"{label.get('person:' + q, q)} ({q})" for q in poster.tolist()], dtype=object)
    who, joined = _join_runs(pid, text, distinct=False, sep=", ")
    return dict(zip(who.tolist(), joined.tolist(), strict=True))


def _collapsed_victims(cg: CaseGraph, label: dict[str, str]) -> pd.DataFrame:
    """Role rows of the victims left out of a compact graph: only known from postings, so
    victims; labelled as the graph would label them (crimegraph.graph._label)."""
    p = cg.persons
    v = p.loc[p["person_id"].isin(cg.collapsed), ["person_id", "names", "nicknames", "aliases"]]
    first = v["names"].where(v["names"] != "", v["nicknames"])
    first = first.where(first != "", v["aliases"])
    names = first.str.split(";", n=1).str[0]
    pids = v["person_id"].tolist()
    posters = _posters_of_victims(cg, pids, label)
    return pd.DataFrame({
        "person_id": pids, "label": names.where(names != "", v["person_id"]).tolist(), "role": "victim",
        "confidence": 0.95, "crew": "", "ids_posted": 0, "otp_codes": 0,
        "evidence": ["identity posted by " + posters.get(q, "") for q in pids]})


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
    tr = cg.resolution.transfers
    inc: dict[str, Decimal] = {}
    out: dict[str, Decimal] = {}
    n_in: dict[str, int] = {}
    n_out: dict[str, int] = {}
    pair: dict[tuple[str, str], Decimal] = {}
    if not tr.empty:
        done = tr[tr["completed"].astype(bool)]
        for col, total, count in (("payer", out, n_out), ("payee", inc, n_in)):
            mine = done[~done[col].str.contains(":", regex=False)]
            total.update(decimal_sums(mine, [col]))
            count.update(mine.groupby(col, sort=False).size().to_dict())
        pair = decimal_sums(done, ["payer", "payee"])
    t = roles.table
    ids = t["person_id"].tolist()
    zero = Decimal("0")
    per_person = pd.DataFrame({
        "person_id": t["person_id"],
        "money_in": [inc.get(p, zero) for p in ids], "money_out": [out.get(p, zero) for p in ids],
        "payments_in": [n_in.get(p, 0) for p in ids], "payments_out": [n_out.get(p, 0) for p in ids],
    })
    rows = []
    role = dict(zip(t["person_id"].tolist(), t["role"].tolist(), strict=True))
    for m, grp in t[t["crew"] != ""].groupby("crew", sort=True):
        pushers = grp.loc[grp["role"] == "pusher", "person_id"].tolist()
        rows.append({
            "crew": m, "merchant": grp.loc[grp["person_id"] == m, "label"].squeeze() if (grp["person_id"] == m).any() else "",
            "pushers": len(pushers), "victims": int(grp["ids_posted"].sum()),
            "commissions_paid": sum((pair.get((m, p), Decimal("0")) for p in pushers), Decimal("0")),
            "sales_received": sum((a for (a_, b_), a in pair.items() if b_ == m and role.get(a_) == "resale"),
                                  Decimal("0")),
        })
    per_crew = pd.DataFrame(rows, columns=["crew", "merchant", "pushers", "victims", "commissions_paid",
                                           "sales_received"])
    return per_person, per_crew
