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

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pandas as pd

from .io.case import Case
from .resolve import Resolution, resolve_entities

__all__ = ["NODE_TYPES", "EDGE_TYPES", "CaseGraph", "build_graph", "to_frames", "from_frames",
           "suspect_projection"]

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

    @property
    def persons(self) -> pd.DataFrame:
        return self.resolution.persons

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


def build_graph(case: Case, resolution: Resolution | None = None) -> CaseGraph:
    """Build the typed case graph.

    Parameters
    ----------
    case : Case
    resolution : Resolution, optional
        Computed with :func:`crimegraph.resolve_entities` when not given.

    Returns
    -------
    CaseGraph

    Examples
    --------
    >>> import crimegraph
    >>> cg = crimegraph.build_graph(crimegraph.read_case("data/samples/small/case"))
    >>> {d["type"] for _, d in cg.graph.nodes(data=True)} <= set(crimegraph.graph.NODE_TYPES)
    True
    """
    res = resolution if resolution is not None else resolve_entities(case)
    G = nx.MultiDiGraph(title=case.title)
    k2p = res.key_to_person
    merge_src: dict[str, list[str]] = defaultdict(list)
    for m in res.merges.itertuples(index=False):
        merge_src[m.a].append(f"{m.source} ({m.reason})")
        merge_src[m.b].append(f"{m.source} ({m.reason})")

    for p in res.persons.itertuples(index=False):
        node = f"person:{p.person_id}"
        G.add_node(node, type="person", person_id=p.person_id, label=_label(p), kind=p.kind,
                   names=p.names, nicknames=p.nicknames, aliases=p.aliases, devices=p.devices,
                   source=p.devices)
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
        for chat_id, grp in msgs.groupby("chat_id", sort=True):
            is_group = bool(grp["is_group"].iloc[0])
            name = grp["chat_name"].dropna()
            if is_group:
                G.add_node(f"chat_group:{chat_id}", type="chat_group", chat_id=chat_id,
                           label=str(name.iloc[0]) if len(name) else chat_id,
                           source=";".join(sorted(set(grp["source_file"]))[:5]))
        senders = msgs.dropna(subset=["sender_wxid"])
        for (chat_id, wx), grp in senders.groupby(["chat_id", "sender_wxid"], sort=True):
            pid = k2p.get(f"wx:{wx}")
            if pid is None:
                continue
            src = f"{grp['source_file'].iloc[0]}:{grp['source_line'].iloc[0]}"
            if bool(grp["is_group"].iloc[0]):
                G.add_edge(f"person:{pid}", f"chat_group:{chat_id}", key="member_of", type="member_of",
                           messages=len(grp), source=src)
                ids = sorted(set(";".join(grp["id_numbers"]).split(";")) - {""})
                if ids:
                    G.add_edge(f"person:{pid}", f"chat_group:{chat_id}", key="posted", type="posted",
                               identities=len(ids), otp_codes=int((grp["otp_codes"] != "").sum()),
                               source=src)
        posted = senders[senders["id_numbers"] != ""]
        for r in posted.itertuples(index=False):
            pid = k2p.get(f"wx:{r.sender_wxid}")
            if pid is None:
                continue
            for idn in r.id_numbers.split(";"):
                u, v = f"person:{pid}", f"identity:{idn}"
                if not G.has_node(v):
                    G.add_node(v, type="identity", label=idn, source="")
                if not G.has_edge(u, v, key="leaked_identity"):
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
    for t in res.transfers.itertuples(index=False):
        u, v = _party(G, t.payer), _party(G, t.payee)
        G.add_edge(u, v, key=f"transfer:{t.transfer_id}", type="transfer", transfer_id=t.transfer_id,
                   channel=t.channel, amount=t.amount, weight=float(t.amount), time=t.time,
                   completed=bool(t.completed), link=t.link, kind=t.kind or "", source=t.sources)
    _fill_node_provenance(G)
    return CaseGraph(G, case, res)


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
    money: dict[tuple[str, str], float] = defaultdict(float)
    for u, v, d in G.edges(data=True):
        t = d["type"]
        if t == "member_of" and u in H:
            members[v].append(u)
        elif t in ("contact", "direct_chat", "transfer") and u in H and v in H and u != v:
            a, b = (u, v) if u < v else (v, u)
            if t == "transfer":
                if d.get("completed"):
                    money[(a, b)] += d["weight"]
            else:
                w[(a, b)] += contact_weight if t == "contact" else chat_weight
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
