"""Whom to arrest first: harm removed from the victim-to-money flow, after recovery.

The chain is read from an :class:`~crimegraph.analysis.Analysis`: each crew
(a merchant and its pushers) turns leaked identities into accounts; merchants
sell accounts to resale nodes. Harm is measured as

* **identities**: leaked identities per period that still reach a monetisation
  node (a merchant, or a resale node through its merchant);
* **money**: yuan still flowing along the chain (commissions and account sales).

Arrests are followed by **recovery**, because that is how these networks
behave (pushers are cheap and replaceable; merchants and resale nodes are not):

* a removed pusher's work is taken over by the rest of its crew
  (``pusher_takeover`` of it, default all of it) - only the last pusher of a
  crew takes the crew's capacity down;
* a removed merchant's pushers move to another merchant in reach (one that
  shares a group member, a contact, a buyer or a 1:1 chat with it) for a share
  ``merchant_recovery`` (default 0.3) of the crew's flow; with none in reach
  the crew's flow stops;
* a removed resale node's merchants sell to another resale node they already
  deal with (full recovery) or that is in reach (``resale_recovery``, 0.5).

:func:`rank_targets` chooses greedily the arrest that removes the most harm
after recovery, given the arrests already chosen.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import networkx as nx
import pandas as pd

from .analysis import Analysis
from .disruption import score_nodes
from .roles import decimal_sums

__all__ = ["ChainModel", "Ranking", "chain_model", "rank_targets", "compare_strategies",
           "TARGET_COLUMNS"]

#: ``targets.csv`` (DESIGN.md §4), with ``money_cut`` appended
TARGET_COLUMNS = ("rank", "person_id", "name", "role", "score", "victims_cut", "reason", "money_cut")
_ROLE_PRIORITY = {"merchant": 2, "resale": 1, "pusher": 0}


@dataclass
class ChainModel:
    """The crews, buyers and flows a harm evaluation needs."""

    crews: dict[str, list[str]]                  # merchant -> pushers
    identities: dict[str, int]                   # pusher -> identities posted
    commissions: dict[str, float]                # pusher -> yuan received from its merchant
    sales: dict[tuple[str, str], float]          # (resale, merchant) -> yuan
    reach: dict[str, set[str]]                   # merchant -> merchants in reach
    labels: dict[str, str]                       # pushers, merchants and resale nodes
    roles: dict[str, str]                        # the same persons
    params: dict[str, float] = field(default_factory=dict)

    @property
    def chain_nodes(self) -> list[str]:
        nodes = set(self.crews) | {p for ps in self.crews.values() for p in ps} | {r for r, _ in self.sales}
        return sorted(nodes)

    @functools.cached_property
    def _flows(self) -> dict[str, Any]:
        """What ``harm`` needs that does not depend on who is removed (the model is not
        changed after :func:`chain_model` builds it)."""
        buyers: dict[str, set[str]] = defaultdict(set)
        crew_sales: dict[str, Any] = defaultdict(int)
        for (r, m), v in self.sales.items():
            buyers[m].add(r)
            crew_sales[m] += v
        # a crew's terms depend on who is gone only among: its pushers, itself, the merchants in
        # its reach, its buyers and theirs
        affected: dict[str, set[str]] = defaultdict(set)
        for m, pushers in self.crews.items():
            reach = self.reach.get(m, set())
            for x in {*pushers, m, *reach, *buyers.get(m, ()), *(r for y in reach for r in buyers.get(y, ()))}:
                affected[x].add(m)
        return {"buyers": buyers, "sales": crew_sales, "affected": affected,
                "members": {m: sorted(set(ps)) for m, ps in self.crews.items()},
                "ids": {m: sum(self.identities.get(p, 0) for p in ps) for m, ps in self.crews.items()},
                "comm": {m: sum(self.commissions.get(p, 0.0) for p in ps) for m, ps in self.crews.items()}}

    def harm(self, removed: Iterable[Hashable]) -> dict[str, float]:
        """Identities and money still flowing after ``removed`` are arrested, after recovery."""
        gone = {str(x) for x in removed}
        return self._total({m: self._crew_harm(m, gone) for m in self.crews})

    def _crew_harm(self, m: str, gone: set[str]) -> tuple[float, float, float] | None:
        """Crew ``m``'s identities, commissions and sales left (None: a crew without pushers)."""
        pushers = self.crews[m]
        if not pushers:
            return None
        f = self._flows
        crew_ids = f["ids"][m]
        arrested = [p for p in f["members"][m] if p in gone]
        if len(arrested) < len(f["members"][m]):   # pushers left
            lost = sum(self.identities.get(p, 0) * pushers.count(p) for p in arrested)
            capacity = 1.0 - (lost * (1 - self.params.get("pusher_takeover", 1.0)) / crew_ids if crew_ids else 0.0)
        else:
            capacity = 0.0
        if m in gone:
            alive = [x for x in self.reach.get(m, ()) if x not in gone]
            capacity *= self.params.get("merchant_recovery", 0.3) if alive else 0.0
        crew_sales = f["sales"].get(m, 0)
        sale_factor = 0.0
        if crew_sales:
            if f["buyers"][m] - gone:
                sale_factor = 1.0
            else:
                in_reach = {r for x in self.reach.get(m, ()) for r in f["buyers"][x]} - gone
                sale_factor = self.params.get("resale_recovery", 0.5) if in_reach else 0.0
        return crew_ids * capacity, f["comm"][m] * capacity, crew_sales * capacity * sale_factor if crew_sales else 0.0

    def _total(self, terms: dict[str, tuple[float, float, float] | None]) -> dict[str, float]:
        """Crew terms added up crew by crew (one fixed order, so the same floats every time;
        adding a crew's 0.0 sales changes nothing)."""
        ids_left = money_left = 0.0
        for m in self.crews:
            t = terms[m]
            if t is not None:
                ids_left += t[0]
                money_left += t[1]
                money_left += t[2]
        return {"identities": ids_left, "money": money_left}

    def _harm_adding(self, terms: dict[str, tuple[float, float, float] | None], gone: set[str],
                     p: str) -> dict[str, float]:
        """``harm(gone | {p})`` given the crew terms of ``gone``: only the crews whose
        terms can depend on ``p`` are evaluated again."""
        new = set(gone) | {p}
        changed = dict(terms)
        for m in self._flows["affected"].get(p, ()):
            changed[m] = self._crew_harm(m, new)
        return self._total(changed)


def chain_model(analysis: Analysis, *, pusher_takeover: float = 1.0, merchant_recovery: float = 0.3,
                resale_recovery: float = 0.5) -> ChainModel:
    """Read crews, flows and reach from an analysis (see module docstring)."""
    t = analysis.roles.table
    t = t[t["role"].isin(["pusher", "merchant", "resale"])]   # the chain (not its victims)
    roles = dict(zip(t["person_id"].tolist(), t["role"].tolist(), strict=True))
    labels = dict(zip(t["person_id"].tolist(), t["label"].tolist(), strict=True))
    crews: dict[str, list[str]] = {m: [] for m in t.loc[t["role"] == "merchant", "person_id"]}
    identities: dict[str, int] = {}
    for r in t[t["role"] == "pusher"].itertuples(index=False):
        identities[r.person_id] = int(r.ids_posted)
        if r.crew in crews:
            crews[r.crew].append(r.person_id)
    commissions: dict[str, float] = defaultdict(float)
    sales: dict[tuple[str, str], float] = defaultdict(float)
    for (a, b), amount in decimal_sums(analysis.graph.payments, ["payer", "payee"]).items():
        if roles.get(a) == "merchant" and roles.get(b) == "pusher":
            commissions[b] += float(amount)
        elif roles.get(a) == "resale" and roles.get(b) == "merchant":
            sales[(a, b)] += float(amount)
    P = analysis.projection
    reach: dict[str, set[str]] = defaultdict(set)
    merchants = sorted(crews)
    for m in merchants:
        node = f"person:{m}"
        if node not in P:
            continue
        near = set(nx.single_source_shortest_path_length(P, node, cutoff=2))
        reach[m] = {x[7:] for x in near if x[7:] in crews and x != node}
    return ChainModel(crews, identities, dict(commissions), dict(sales), dict(reach), labels, roles,
                      {"pusher_takeover": pusher_takeover, "merchant_recovery": merchant_recovery,
                       "resale_recovery": resale_recovery})


@dataclass
class Ranking:
    """Ranked targets (``targets.csv``) and the model behind them."""

    table: pd.DataFrame
    model: ChainModel
    baseline: dict[str, float]

    def _repr_html_(self) -> str:
        return "<div><b>Targets</b>" + self.table.head(10).to_html(index=False, escape=True) + "</div>"


def _combined(h: dict[str, float], base: dict[str, float]) -> float:
    parts = [h[k] / base[k] for k in ("identities", "money") if base.get(k)]
    return sum(parts) / len(parts) if parts else 0.0


def rank_targets(analysis: Analysis, k: int = 10, **model_params: float) -> Ranking:
    """Rank arrests by the harm they remove after recovery (greedy, re-ranked after each pick).

    Parameters
    ----------
    analysis : Analysis
    k : int, default 10
        Targets to rank.
    **model_params
        ``pusher_takeover``, ``merchant_recovery``, ``resale_recovery`` (see
        :func:`chain_model`).

    Returns
    -------
    Ranking
        ``table`` columns: ``rank, person_id, name, role, score, victims_cut,
        reason, money_cut``; ``score`` is the share of the starting harm (mean
        of identities and money) this arrest removes.

    Examples
    --------
    >>> import crimegraph
    >>> a = crimegraph.analyse(crimegraph.read_case("data/samples/small/case"))
    >>> r = crimegraph.rank_targets(a, k=3)
    >>> r.table["role"].tolist()[0] in ("merchant", "resale")
    True
    """
    model = chain_model(analysis, **model_params)
    base = model.harm(())
    terms = {m: model._crew_harm(m, set()) for m in model.crews}
    alone = {p: _combined(base, base) - _combined(model._harm_adding(terms, set(), p), base)
             for p in model.chain_nodes}
    chosen: list[str] = []
    rows = []
    current = base
    for rank in range(1, k + 1):
        best = None
        for p in model.chain_nodes:
            if p in chosen:
                continue
            h = model._harm_adding(terms, set(chosen), p)
            gain = _combined(current, base) - _combined(h, base)
            # ties (e.g. no harm left): the less replaceable role, then the larger harm alone
            key = (round(gain, 12), _ROLE_PRIORITY.get(model.roles.get(p, ""), -1), round(alone[p], 12),
                   [-ord(c) for c in p])
            if best is None or key > best[0]:
                best = (key, p, h, gain)
        if best is None:
            break
        _, p, h, gain = best
        chosen.append(p)
        terms = {m: model._crew_harm(m, set(chosen)) for m in model.crews}
        cut_ids = current["identities"] - h["identities"]
        cut_money = current["money"] - h["money"]
        rows.append({"rank": rank, "person_id": p, "name": model.labels.get(p, p), "role": model.roles.get(p, ""),
                     "score": round(gain, 4), "victims_cut": round(cut_ids, 1),
                     "money_cut": Decimal(f"{cut_money:.2f}"), "reason": _reason(model, p, cut_ids, cut_money)})
        current = h
    return Ranking(pd.DataFrame(rows, columns=list(TARGET_COLUMNS)), model, base)


def _reason(model: ChainModel, p: str, ids: float, money: float) -> str:
    role = model.roles.get(p, "")
    if role == "merchant":
        n = len(model.crews.get(p, []))
        alt = len(model.reach.get(p, ()))
        rec = (f"only {alt} other merchant(s) in reach, so most of the crew's flow stops" if alt
               else "no other merchant in reach: the crew's flow stops")
        return (f"number merchant paying {n} pushers; arrest cuts about {ids:.0f} leaked identities and "
                f"{money:,.0f} yuan after recovery ({rec})")
    if role == "resale":
        ms = sorted({m for r, m in model.sales if r == p})
        if money < 0.5:
            return (f"resale node buying accounts from {len(ms)} merchant(s); no flow left to cut once the "
                    "targets ranked above are arrested")
        return (f"resale node buying accounts from {len(ms)} merchant(s); arrest cuts {money:,.0f} yuan of "
                "account sales their merchants cannot replace")
    if role == "pusher":
        if ids < 0.5:
            return "pusher: cheap and replaceable, the rest of the crew takes over its work"
        return f"last active pusher of its crew: cuts about {ids:.0f} leaked identities"
    return "no measurable part in the chain"


def compare_strategies(analysis: Analysis, ks: Iterable[int] = (1, 3, 5, 10), *, seed: int = 0,
                       backend: str = "networkx", **model_params: float) -> pd.DataFrame:
    """Harm remaining (share of the start, after recovery) after the first k arrests of each
    strategy: ours, degree and betweenness on the suspect projection, and the minimum vertex
    cut between leaked identities and monetisation nodes. ``backend="igraph"`` computes the
    betweenness with igraph: the same order, each ranking in 0.85 s instead of networkx's 32 s
    on the Dingtao projection (see :mod:`crimegraph.disruption`)."""
    model = chain_model(analysis, **model_params)
    base = model.harm(())
    ks = sorted(ks)
    kmax = max(ks)
    chain = set(model.chain_nodes)
    P = analysis.projection
    orders: dict[str, list[str]] = {"ours": rank_targets(analysis, kmax, **model_params).table["person_id"].tolist()}
    for name in ("degree", "betweenness"):
        H = P.copy()
        order: list[str] = []
        for _ in range(kmax):   # sequential: re-rank after each arrest
            scores = {n: s for n, s in score_nodes(H, name, seed=seed, backend=backend).items() if n[7:] in chain}
            if not scores:
                break
            n = max(sorted(scores), key=lambda x: scores[x])
            order.append(n[7:])
            H.remove_node(n)
        orders[name] = order
    orders["min_vertex_cut"] = _min_cut_order(analysis, model)
    rows = []
    for name, order in orders.items():
        row: dict[str, object] = {"strategy": name}
        for kk in ks:
            row[f"harm_left_k{kk}"] = round(_combined(model.harm(order[:kk]), base), 4)
        row["first_targets"] = ";".join(order[:5])
        rows.append(row)
    return pd.DataFrame(rows)


def _min_cut_order(analysis: Analysis, model: ChainModel) -> list[str]:
    """Minimum vertex cut separating leaked identities from monetisation nodes (networkx),
    cut nodes ordered by the harm each removes alone."""
    F = nx.DiGraph()
    leaks = analysis.graph.leaks
    for idn, poster in sorted(set(zip(leaks["id_number"].tolist(), leaks["poster"].tolist(), strict=True))):
        F.add_edge("SRC", f"identity:{idn}")
        F.add_edge(f"identity:{idn}", f"person:{poster}")
    pushers = {p for ps in model.crews.values() for p in ps}
    for m, ps in model.crews.items():
        for p in ps:
            F.add_edge(f"person:{p}", f"person:{m}")
        F.add_edge(f"person:{m}", "SNK")
    for r, m in model.sales:
        F.add_edge(f"person:{m}", f"person:{r}")
        F.add_edge(f"person:{r}", "SNK")
    if "SRC" not in F or "SNK" not in F:
        return []
    cut = nx.minimum_node_cut(F, "SRC", "SNK")
    if any(c.startswith("identity:") for c in cut):
        # victims cannot be arrested: if the smallest cut runs through identities, cut at the pushers
        cut = {n for n in cut if not n.startswith("identity:")} | {f"person:{p}" for p in pushers}
    base = model.harm(())
    return sorted((c[7:] for c in cut), key=lambda p: (_combined(model.harm([p]), base), p))
