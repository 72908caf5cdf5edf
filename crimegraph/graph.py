"""The typed case graph (networkx ``MultiDiGraph``) and its suspect-level projection.

Node ids are ``"<type>:<value>"``; the ``type`` attribute is one of
:data:`NODE_TYPES`. Edges are keyed by their type (:data:`EDGE_TYPES`); every
node and edge carries provenance: ``source`` (``file:line`` list, ``;``-joined)
and, where known, ``device``.

==================  ==============================================================
edge type           meaning
==================  ==============================================================
``owns``            person -> phone / wechat / alipay / bank_card / identity
``member_of``       person -> chat_group (spoke there; ``messages`` count)
``posted``          person -> chat_group (posted ``identities`` leaked ID numbers)
``leaked_identity`` person -> identity (the poster; ``time``, ``chat_id``)
``contact``         device owner -> person in the owner's address book
``direct_chat``     person -> person (1:1 conversation; ``messages``)
``transfer``        payer -> payee (person, organisation, group, or an
                    ``unidentified`` counterparty: placeholder or masked); ``amount`` exact
                    ``Decimal``, ``weight`` float yuan, ``completed``, ``transfer_id``
==================  ==============================================================
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from .io.case import Case
from .resolve import Resolution, _join_runs, _pair_codes, _sorted_unique, resolve_entities

__all__ = ["NODE_TYPES", "EDGE_TYPES", "DETAILS", "CaseGraph", "build_graph", "to_frames", "from_frames",
           "suspect_projection", "leaked_identities", "person_payments", "is_person_ref", "person_ref_mask"]

#: ``full``: every payment an edge, every victim a node; ``compact``: payments
#: summed per (payer, payee) and victims known only from postings kept as counts
#: (tables keep the detail); ``auto``: compact past :data:`COMPACT_ABOVE` rows.
DETAILS = ("auto", "full", "compact")
#: ``auto`` builds a compact graph when there are more payments or leaked identities than this.
COMPACT_ABOVE = 50_000

NODE_TYPES = ("person", "phone", "wechat", "alipay", "bank_card", "chat_group", "identity", "organisation",
              "unidentified")
EDGE_TYPES = ("owns", "member_of", "posted", "leaked_identity", "contact", "direct_chat", "transfer")
_KEY_TYPES = {"wx": "wechat", "phone": "phone", "alipay": "alipay", "card": "bank_card", "idn": "identity"}


@dataclass
class CaseGraph:
    """A case as a typed graph, with the tables it was built from.

    Attributes
    ----------
    graph : networkx.MultiDiGraph
    case : Case
    resolution : Resolution
    """

    graph: nx.MultiDiGraph
    case: Case
    resolution: Resolution
    detail: str = "full"
    #: person ids of victims kept out of a compact graph (leaves: known only from postings)
    collapsed: frozenset[str] = frozenset()

    @property
    def persons(self) -> pd.DataFrame:
        return self.resolution.persons

    @functools.cached_property
    def leaks(self) -> pd.DataFrame:
        """One row per (poster, leaked ID number), first posting: ``poster, id_number,
        phones, time, chat_id, device, source_file, source_line`` (messages order)."""
        return leaked_identities(self.case, self.resolution.key_to_person)

    @functools.cached_property
    def payments(self) -> pd.DataFrame:
        """Completed payments between two persons: ``payer, payee`` (person ids),
        ``amount`` (Decimal), ``yuan`` (float), ``kind``; one row per payment."""
        return person_payments(self.resolution.transfers)

    def _repr_html_(self) -> str:
        import html

        counts = pd.Series([d["type"] for _, d in self.graph.nodes(data=True)]).value_counts()
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v}</td></tr>" for k, v in counts.items())
        return (f"<div><b>CaseGraph</b> {html.escape(self.case.title)}: {self.graph.number_of_nodes()} "
                f"nodes, {self.graph.number_of_edges()} edges<table>{rows}</table></div>")


def _label(p: Any) -> str:
    for col in ("names", "nicknames", "aliases"):
        v = getattr(p, col)
        if v:
            return v.split(";")[0]
    return p.person_id


def is_person_ref(ref: str) -> bool:
    """Whether a payer/payee reference of :attr:`Resolution.transfers` is a person id
    (not ``org:``, ``group:`` or ``unidentified:``)."""
    return ":" not in ref


def person_ref_mask(refs: pd.Series | np.ndarray) -> np.ndarray:
    """:func:`is_person_ref` for a whole column, decided once per distinct reference
    (a missing reference is not a person)."""
    codes, uniques = pd.factorize(np.asarray(refs, dtype=object))
    person = np.fromiter((":" not in u for u in uniques.tolist()), dtype=bool, count=len(uniques))
    return np.append(person, False)[codes]


def in_set(values: pd.Series | np.ndarray | list[Any], members: frozenset[str] | set[str]) -> np.ndarray:
    """Whether each value is in ``members``, as a boolean array (a look-up in the set
    itself: ``Series.isin`` first hashes the whole set into a table of its own).

    Examples
    --------
    >>> in_set(["P1", "P2", None], {"P2"}).tolist()
    [False, True, False]
    """
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    if not members:
        return np.zeros(len(items), dtype=bool)
    return np.fromiter((v in members for v in items), dtype=bool, count=len(items))


def person_payments(transfers: pd.DataFrame) -> pd.DataFrame:
    """Completed payments between two persons (see :attr:`CaseGraph.payments`)."""
    cols = ["payer", "payee", "amount", "yuan", "kind"]
    if transfers.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    keep = (transfers["completed"].astype(bool).to_numpy() & person_ref_mask(transfers["payer"])
            & person_ref_mask(transfers["payee"]))
    out = pd.DataFrame({c: transfers[c].to_numpy(dtype=object)[keep] for c in ("payer", "payee", "amount", "kind")})
    out["kind"] = out["kind"].fillna("")
    out["yuan"] = out["amount"].astype(float)
    return out[cols]


def leaked_identities(case: Case, key_to_person: dict[str, str]) -> pd.DataFrame:
    """One row per (poster, leaked ID number) at its first posting (messages order)."""
    cols = ["poster", "id_number", "phones", "n_ids", "time", "chat_id", "chat_name", "copies", "device",
            "source_file", "source_line", "content", "message_id"]
    m = case.messages
    if m.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    posted = m[(m["id_numbers"] != "") & m["sender_wxid"].notna()]
    wx = pd.Series({w: key_to_person.get(f"wx:{w}") for w in posted["sender_wxid"].unique()}, dtype=object)
    df = posted.assign(poster=posted["sender_wxid"].map(wx))
    df = df[df["poster"].notna()]
    text = df["id_numbers"].to_numpy(dtype=object)
    many = np.array([";" in s for s in text.tolist()], dtype=bool)
    if many.any():   # messages with several ID numbers: one row per number
        ids = df["id_numbers"].str.split(";")
        df = df.assign(id_number=ids, n_ids=ids.str.len()).explode("id_number")
    else:   # one ID number per message (nearly always): nothing to split
        df = df.assign(id_number=text, n_ids=1)
    df = df.drop_duplicates(["poster", "id_number"], keep="first")
    return df[cols].reset_index(drop=True)


def _victim_leaves(case: Case, res: Resolution) -> set[str]:
    """Victims known only from postings: no payment, no address-book entry points at them."""
    p = res.persons
    victims = set(p.loc[p["kind"] == "posted", "person_id"].tolist())
    if not victims:
        return victims
    tr = res.transfers
    if not tr.empty:
        victims -= set(tr["payer"].unique().tolist()) | set(tr["payee"].unique().tolist())
    k2p = res.key_to_person
    for phones, wechat_ids in zip(case.contacts["phones"].tolist(), case.contacts["wechat_ids"].tolist(), strict=True):
        for key in [f"phone:{x}" for x in phones.split(";") if x] + [f"wx:{w}" for w in wechat_ids.split(";") if w]:
            victims.discard(k2p.get(key, ""))
    return victims


def build_graph(case: Case, resolution: Resolution | None = None, *, detail: str = "auto") -> CaseGraph:
    """Build the typed case graph.

    Parameters
    ----------
    case : Case
    resolution : Resolution, optional
        Computed with :func:`crimegraph.resolve_entities` when not given.
    detail : {"auto", "full", "compact"}, default "auto"
        ``full``: one ``transfer`` edge per payment and every victim as a person
        with its identity. ``compact`` (DESIGN.md §6, victims are leaves): one
        ``transfer`` edge per (payer, payee) with ``payments``, ``amount`` (sum of
        the completed ones) and ``first_time``/``last_time``; victims known only
        from postings become a ``victims`` count on their posters. Roles, money,
        communities and targets are the same either way: they read the payment
        and leak tables (:attr:`CaseGraph.payments`, :attr:`CaseGraph.leaks`).
        ``auto`` is compact past 50,000 payments or leaked identities.

    Returns
    -------
    CaseGraph

    Examples
    --------
    >>> import crimegraph
    >>> case = crimegraph.read_case("data/samples/small/case")
    >>> cg = crimegraph.build_graph(case)
    >>> {d["type"] for _, d in cg.graph.nodes(data=True)} <= set(crimegraph.graph.NODE_TYPES)
    True
    >>> small = crimegraph.build_graph(case, detail="compact")
    >>> cg.detail, small.detail, small.graph.number_of_nodes() < cg.graph.number_of_nodes()
    ('full', 'compact', True)
    """
    if detail not in DETAILS:
        raise ValueError(f"detail={detail!r}; use one of {', '.join(DETAILS)}")
    res = resolution if resolution is not None else resolve_entities(case)
    if detail == "auto":
        n_ids = int((res.persons["kind"] == "posted").sum())
        detail = "compact" if max(len(res.transfers), n_ids) > COMPACT_ABOVE else "full"
    collapsed = _victim_leaves(case, res) if detail == "compact" else set()
    G = nx.MultiDiGraph(title=case.title)
    cg = CaseGraph(G, case, res, detail, frozenset(collapsed))
    k2p = res.key_to_person
    merge_src: dict[str, list[str]] = defaultdict(list)
    merges = res.merges[~in_set(res.merges["person_id"], collapsed)]
    for a, b, source, reason in zip(*(merges[c].tolist() for c in ("a", "b", "source", "reason")), strict=True):
        merge_src[a].append(f"{source} ({reason})")
        merge_src[b].append(f"{source} ({reason})")
    leaks = cg.leaks
    # (a leak is one (poster, ID number): a poster's rows are its distinct ID numbers)
    victims_of = leaks["poster"].value_counts(sort=False).to_dict() if len(leaks) else {}

    kept = res.persons[~in_set(res.persons["person_id"], collapsed)]
    for p in kept.itertuples(index=False):
        node = f"person:{p.person_id}"
        G.add_node(node, type="person", person_id=p.person_id, label=_label(p), kind=p.kind,
                   names=p.names, nicknames=p.nicknames, aliases=p.aliases, devices=p.devices,
                   victims=int(victims_of.get(p.person_id, 0)), source=p.devices)
        for key in p.keys.split(";"):
            typ, _, val = key.partition(":")
            ntype = _KEY_TYPES.get(typ)
            if ntype is None:
                continue
            n = f"{ntype}:{val}"
            src = ";".join(merge_src.get(key, [])) or res.first_seen.get(key, "")
            G.add_node(n, type=ntype, label=val, source=src)
            G.add_edge(node, n, key="owns", type="owns", source=src)

    msgs = case.messages
    # groups, membership, postings
    if not msgs.empty:
        # (per chat and per speaker as whole-column aggregates: no sub-table per group)
        chats = msgs.groupby("chat_id", sort=True).agg(is_group=("is_group", "first"),
                                                       name=("chat_name", "first"))   # first known name
        files = msgs[["chat_id", "source_file"]].drop_duplicates().sort_values(["chat_id", "source_file"])
        files = files.groupby("chat_id", sort=True)["source_file"].agg(lambda s: ";".join(s.iloc[:5]))
        for chat_id, is_group, name in zip(chats.index.tolist(), chats["is_group"].tolist(),
                                           chats["name"].tolist(), strict=True):
            if is_group:
                G.add_node(f"chat_group:{chat_id}", type="chat_group", chat_id=chat_id,
                           label=str(name) if pd.notna(name) else chat_id, source=files[chat_id])
        senders = msgs.loc[msgs["sender_wxid"].notna(), ["chat_id", "sender_wxid", "is_group", "source_file",
                                                         "source_line", "otp_codes", "id_numbers"]]
        posted_ids = set(zip(leaks["chat_id"].tolist(), leaks["poster"].tolist(), strict=True))   # (who posted where)
        spoke = senders.assign(otp=senders["otp_codes"] != "").groupby(["chat_id", "sender_wxid"], sort=True).agg(
            messages=("is_group", "size"), is_group=("is_group", "first"), file=("source_file", "first"),
            line=("source_line", "first"), otp=("otp", "sum"))
        ids_of = _distinct_ids(senders)
        for (chat_id, wx), n, is_group, file, line, otp in zip(
                spoke.index.tolist(), *(spoke[c].tolist() for c in ("messages", "is_group", "file", "line", "otp")),
                strict=True):
            pid = k2p.get(f"wx:{wx}")
            if pid is None or not is_group:
                continue
            src = f"{file}:{line}"
            G.add_edge(f"person:{pid}", f"chat_group:{chat_id}", key="member_of", type="member_of",
                       messages=n, source=src)
            ids = ids_of.get((chat_id, wx), 0) if (chat_id, pid) in posted_ids else 0
            if ids:
                G.add_edge(f"person:{pid}", f"chat_group:{chat_id}", key="posted", type="posted",
                           identities=ids, otp_codes=otp, source=src)
        shown = np.ones(len(leaks), dtype=bool)
        if collapsed and len(leaks):
            owners = map(k2p.get, ("idn:" + leaks["id_number"].astype(object)).tolist())
            shown = ~in_set(list(owners), collapsed)
        for r in leaks[shown].itertuples(index=False):   # collapsed victims' leaks are counts, not edges
            u, v = f"person:{r.poster}", f"identity:{r.id_number}"
            if not G.has_node(v):
                G.add_node(v, type="identity", label=r.id_number, source="")
            G.add_edge(u, v, key="leaked_identity", type="leaked_identity", time=r.time,
                       chat_id=r.chat_id, device=r.device, source=f"{r.source_file}:{r.source_line}")
        direct = senders[~senders["is_group"].astype(bool)]
        for chat_id, grp in direct.groupby("chat_id", sort=True):
            pids = sorted({k2p[f"wx:{w}"] for w in grp["sender_wxid"] if f"wx:{w}" in k2p})
            if len(pids) == 2:
                G.add_edge(f"person:{pids[0]}", f"person:{pids[1]}", key="direct_chat", type="direct_chat",
                           messages=len(grp), chat_id=chat_id,
                           source=f"{grp['source_file'].iloc[0]}:{grp['source_line'].iloc[0]}")
    # address books
    for c in case.contacts.itertuples(index=False):
        owner = k2p.get(f"device:{c.device}")
        if owner is None:
            continue
        for key in [f"phone:{p}" for p in c.phones.split(";") if p] + \
                   [f"wx:{w}" for w in c.wechat_ids.split(";") if w]:
            other = k2p.get(key)
            if other and other != owner and not G.has_edge(f"person:{owner}", f"person:{other}", key="contact"):
                G.add_edge(f"person:{owner}", f"person:{other}", key="contact", type="contact", remark=c.name,
                           device=c.device, source=f"{c.source_file}:{c.source_line}")
    # payments
    if detail == "full":
        for t in res.transfers.itertuples(index=False):
            u, v = _party(G, t.payer), _party(G, t.payee)
            G.add_edge(u, v, key=f"transfer:{t.transfer_id}", type="transfer", transfer_id=t.transfer_id,
                       channel=t.channel, amount=t.amount, weight=float(t.amount), time=t.time,
                       completed=bool(t.completed), link=t.link, kind=t.kind or "", source=t.sources)
    else:
        _add_payment_summaries(G, res.transfers)
    _fill_node_provenance(G)
    return cg


def _distinct_ids(senders: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Distinct ID numbers each speaker posted in each chat: ``{(chat_id, sender_wxid): n}``."""
    posts = senders.loc[senders["id_numbers"] != "", ["chat_id", "sender_wxid", "id_numbers"]]
    ids = posts["id_numbers"].to_numpy(dtype=object)
    if any(";" in s for s in ids.tolist()):   # several numbers in one message: one row each
        posts = posts.assign(id_numbers=posts["id_numbers"].str.split(";")).explode("id_numbers")
        posts = posts[posts["id_numbers"] != ""]
    n = posts.drop_duplicates().groupby(["chat_id", "sender_wxid"], sort=False).size()
    return dict(zip(n.index.tolist(), n.tolist(), strict=True))


def _add_payment_summaries(G: nx.MultiDiGraph, transfers: pd.DataFrame) -> None:
    """One ``transfer`` edge per (payer, payee): counts, completed sum, first/last time."""
    if transfers.empty:
        return
    from .roles import decimal_sums

    t = transfers.assign(done=transfers["completed"].astype(bool))
    keys = ["payer", "payee"]
    g = t.groupby(keys, sort=True)
    summary = g.agg(payments=("transfer_id", "size"), completed_payments=("done", "sum"),
                    first_time=("time", "min"), last_time=("time", "max"))
    paid = decimal_sums(t[t["done"]], keys)

    # a pair code per payment (-1 without both parties: no edge, as groupby leaves them out)
    pair, payers, payees = _pair_codes(t["payer"].to_numpy(dtype=object), t["payee"].to_numpy(dtype=object))

    def joined(col: str, first: int | None = None) -> dict[tuple[str, str], str]:
        """Per (payer, payee): its distinct values sorted, or its ``first`` values in order."""
        values = t[col].to_numpy(dtype=object)
        if first is None:
            codes, uniques = pd.factorize(values, sort=True)   # code order = value order
            both = _sorted_unique((pair * len(uniques) + codes)[pair >= 0])
            groups, texts = _join_runs(both // len(uniques), np.asarray(uniques, dtype=object)[both % len(uniques)],
                                       distinct=False)
        else:
            order = np.argsort(pair, kind="stable")
            runs = pair[order]
            starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
            rank = np.arange(len(runs)) - np.repeat(starts, np.diff(np.r_[starts, len(runs)]))
            keep = order[(rank < first) & (runs >= 0)]
            groups, texts = _join_runs(pair[keep], values[keep], distinct=False)
        return {(payers[g], payees[g]): s for g, s in zip(groups.tolist(), texts.tolist(), strict=True)}

    channels, links, sources = joined("channel"), joined("link"), joined("sources", first=3)
    for (payer, payee), r in zip(summary.index, summary.itertuples(index=False), strict=True):
        u, v = _party(G, payer), _party(G, payee)
        amount = paid.get((payer, payee), Decimal("0.00"))
        G.add_edge(u, v, key="transfer", type="transfer", payments=int(r.payments),
                   completed_payments=int(r.completed_payments), completed=bool(r.completed_payments),
                   amount=amount, weight=float(amount), first_time=r.first_time, last_time=r.last_time,
                   channel=channels[(payer, payee)], link=links[(payer, payee)], source=sources[(payer, payee)])


def _fill_node_provenance(G: nx.MultiDiGraph) -> None:
    """A node with no provenance of its own takes that of the first edge that mentions it."""
    for n, d in G.nodes(data=True):
        if d.get("source"):
            continue
        for _, _, e in sorted(G.in_edges(n, data=True), key=lambda x: x[0])[:1] or \
                sorted(G.out_edges(n, data=True), key=lambda x: x[1])[:1]:
            d["source"] = e.get("source", "").split(";")[0]


def _party(G: nx.MultiDiGraph, ref: str) -> str:
    if ref.startswith("unidentified:"):
        if not G.has_node(ref):
            G.add_node(ref, type="unidentified", label=ref[13:], source="")
        return ref
    if ref.startswith("org:"):
        if not G.has_node(f"organisation:{ref[4:]}"):
            G.add_node(f"organisation:{ref[4:]}", type="organisation", label=ref[4:], source="")
        return f"organisation:{ref[4:]}"
    if ref.startswith("group:"):
        n = f"chat_group:{ref[6:]}"
        if not G.has_node(n):
            G.add_node(n, type="chat_group", label=ref[6:], source="")
        return n
    return f"person:{ref}"


def to_frames(G: nx.MultiDiGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(nodes, edges)`` DataFrames of a case graph (networkx ``to_pandas_edgelist`` for both).

    ``nodes`` has ``id`` plus every node attribute; ``edges`` has ``source_id``,
    ``target_id``, ``key`` plus every edge attribute (``source`` stays the
    provenance column).
    """
    nodes = pd.DataFrame([{"id": n, **d} for n, d in G.nodes(data=True)])
    edges = pd.DataFrame([{"source_id": u, "target_id": v, "key": k, **d}
                          for u, v, k, d in G.edges(keys=True, data=True)])
    return nodes, edges


def from_frames(nodes: pd.DataFrame, edges: pd.DataFrame) -> nx.MultiDiGraph:
    """Inverse of :func:`to_frames`."""
    G = nx.MultiDiGraph()
    for rec in nodes.to_dict("records"):
        n = rec.pop("id")
        G.add_node(n, **{k: v for k, v in rec.items() if not (isinstance(v, float) and math.isnan(v))})
    for rec in edges.to_dict("records"):
        u, v, k = rec.pop("source_id"), rec.pop("target_id"), rec.pop("key")
        G.add_edge(u, v, key=k, **{a: b for a, b in rec.items() if not (isinstance(b, float) and math.isnan(b))})
    return G


def suspect_projection(cg: CaseGraph, *, money_weight: float = 1.0, group_weight: float = 1.0,
                       contact_weight: float = 0.5, chat_weight: float = 1.0) -> nx.Graph:
    """Undirected person-only graph on which analytics run (victims and organisations left out).

    The weight of a pair is ``group_weight`` per chat group both spoke in,
    ``contact_weight`` if either has the other in the address book,
    ``chat_weight`` for a 1:1 chat, and ``money_weight * log10(1 + yuan)`` of the
    completed payments between them. The direction of payments is collapsed
    explicitly here (python-louvain needs an undirected graph); directed money
    stays on the case graph.

    Supported graph types: a :class:`CaseGraph` (typed ``MultiDiGraph``).
    """
    G = cg.graph
    H = nx.Graph()
    persons = sorted(n for n, d in G.nodes(data=True) if d["type"] == "person")
    victims = {n for n in persons if G.nodes[n].get("kind") == "posted"}
    keep = [n for n in persons if n not in victims]
    for n in keep:
        H.add_node(n, label=G.nodes[n]["label"])
    w: dict[tuple[str, str], float] = defaultdict(float)
    members: dict[str, list[str]] = defaultdict(list)
    for u, v, d in G.edges(data=True):
        t = d["type"]
        if t == "member_of" and u in H:
            members[v].append(u)
        elif t in ("contact", "direct_chat") and u in H and v in H and u != v:
            a, b = (u, v) if u < v else (v, u)
            w[(a, b)] += contact_weight if t == "contact" else chat_weight
    money = _money_between(cg.payments, {n[7:] for n in keep})   # whichever graph detail
    for _g, ms in sorted(members.items()):
        ms = sorted(set(ms))
        for i, a in enumerate(ms):
            for b in ms[i + 1:]:
                w[(a, b)] += group_weight
    for pair, yuan in money.items():
        w[pair] += money_weight * math.log10(1 + yuan)
    for (a, b), weight in sorted(w.items()):
        if weight > 0:
            H.add_edge(a, b, weight=weight)
    return H


def _money_between(pay: pd.DataFrame, persons: set[str]) -> dict[tuple[str, str], float]:
    """Yuan paid either way between two different ``persons``, per node pair ``(a, b)``
    with ``a < b``; each pair summed in payment order (the same floats as a loop)."""
    n = len(pay)
    if n == 0:
        return {}
    codes, names = pd.factorize(np.concatenate([pay["payer"].to_numpy(dtype=object),
                                                pay["payee"].to_numpy(dtype=object)]), sort=True)
    known = np.append(np.fromiter((x in persons for x in names.tolist()), dtype=bool, count=len(names)), False)
    payer, payee = codes[:n], codes[n:]
    keep = known[payer] & known[payee] & (payer != payee)
    lo, hi = np.minimum(payer, payee)[keep], np.maximum(payer, payee)[keep]   # codes sort like the ids
    pair, a, b = _pair_codes(lo, hi)
    sums = np.bincount(pair, weights=pay["yuan"].to_numpy(dtype=float)[keep], minlength=len(a))   # in row order, like +=
    return {(f"person:{x}", f"person:{y}"): s
            for x, y, s in zip(names[a].tolist(), names[b].tolist(), sums.tolist(), strict=True)}
