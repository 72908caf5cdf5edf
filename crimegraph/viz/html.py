"""Interactive offline map (``map.html``) - the one module that touches pyvis.

pyvis builds the node and edge records (``Network.add_node``/``add_edge``); the
page itself comes from crimegraph's own Jinja2 template (autoescape on), with
vis-network's JavaScript and CSS inlined from the installed pyvis package. So
the page makes no network request (no CDN, no bootstrap), nothing is written
next to it (no ``lib/``), and:

* the layout is computed in Python (communities on a circle, a seeded spring
  layout inside each), physics is off and edges are straight, so thousands of
  nodes open at once;
* persons are coloured by role, grouped by community and sized by harm;
  victims are aggregated into one count node per pusher whose tooltip lists
  them (ID numbers and phones masked unless ``mask=False``);
* every label and tooltip is plain text: vis-network 9 renders string titles
  as text, and the data block is JSON with ``<``, ``>`` and ``&`` escaped, so a
  nickname such as ``<img src=x onerror=alert(1)>`` shows as written;
* large cases stay usable: above ``max_nodes`` pushers are aggregated per crew;
  ``community=`` or ``focus=`` draw one community or one person's neighbourhood.
"""

from __future__ import annotations

import html
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from .._fileio import atomic_write_text
from ..analysis import Analysis
from ..identifiers import mask_id_number, mask_phone

__all__ = ["ROLE_COLORS", "MapHTML", "map_data", "to_html", "save_html", "show_map"]

ROLE_COLORS = {"merchant": "#d62728", "resale": "#7b3fa0", "pusher": "#ff8c1a", "victims": "#5b8db8",
               "group": "#17a398", "other": "#9e9e9e", "unknown": "#cfcfcf", "crew": "#ffb366"}
ROLE_NAMES = {"merchant": "号商 merchant", "resale": "收号/卖号 resale", "pusher": "地推 pusher",
              "victims": "受害人 victims (count)", "group": "微信群 chat group", "other": "其他 other",
              "unknown": "不明 unknown", "crew": "地推组 pusher crew (aggregated)"}
_SHAPES = {"group": "diamond", "victims": "dot", "crew": "triangle"}


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    """vis-network JS and CSS from the installed pyvis package (Apache-2.0 / MIT)."""
    import importlib.util

    spec = importlib.util.find_spec("pyvis")
    if spec is None or not spec.submodule_search_locations:
        from ..exceptions import MissingDependencyError

        raise MissingDependencyError("pyvis is required for maps: pip install pyvis")
    lib = Path(next(iter(spec.submodule_search_locations))) / "templates" / "lib" / "vis-9.1.2"
    return (lib / "vis-network.min.js").read_text(encoding="utf-8"), \
        (lib / "vis-network.css").read_text(encoding="utf-8")


def _json_for_script(obj: Any) -> str:
    """JSON safe inside a <script> element (no '</script>', no HTML comment tricks)."""
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@dataclass
class MapData:
    """Nodes, edges and legend of a map, before rendering."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    legend: list[tuple[str, str, int]]
    title: str
    note: str


def _layout(groups: dict[int, list[str]], adj: nx.Graph, seed: int) -> dict[str, tuple[float, float]]:
    """Communities on a circle; a seeded spring layout inside each."""
    pos: dict[str, tuple[float, float]] = {}
    order = sorted(groups, key=lambda g: (-len(groups[g]), g))
    ring = 260 * math.sqrt(max(len(order), 1)) + 160
    for i, g in enumerate(order):
        members = sorted(groups[g])
        angle = 2 * math.pi * i / max(len(order), 1)
        cx, cy = (0.0, 0.0) if len(order) == 1 else (ring * math.cos(angle), ring * math.sin(angle))
        radius = 90 + 70 * math.sqrt(len(members))
        # built in sorted order: a subgraph view iterates a set, whose order changes from run
        # to run (string hashing), and the spring layout depends on the node order
        inside = set(members)
        sub = nx.Graph()
        sub.add_nodes_from(members)
        sub.add_edges_from(sorted((u, v) if u < v else (v, u) for u, v in adj.edges(members)
                                  if u in inside and v in inside))
        inner = nx.spring_layout(sub, seed=seed, iterations=60 if len(members) < 500 else 25) \
            if len(members) > 1 else {members[0]: (0.0, 0.0)}
        for n in members:
            x, y = inner[n]
            pos[n] = (round(cx + radius * float(x), 1), round(cy + radius * float(y), 1))
    return pos


def _records(table: pd.DataFrame, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The rows of ``table`` (indexed by person) for the persons ``ids`` that it has, by person."""
    sub = table.loc[table.index.isin(list(ids))]
    return dict(zip(sub.index.tolist(), sub.to_dict("records"), strict=True))


def map_data(analysis: Analysis, *, targets: Any = None, community: int | None = None,
             focus: str | None = None, radius: int = 2, max_nodes: int = 1500, mask: bool = True,
             show_unknown: bool = False, seed: int = 0) -> MapData:
    """Build the map's nodes and edges (pure; see :func:`to_html`)."""
    from pyvis.network import Network  # imported here only: pyvis pulls in IPython

    G = analysis.graph.graph
    roles = analysis.roles.table.set_index("person_id")
    persons = analysis.graph.persons.set_index("person_id")
    membership = analysis.partition.membership
    rank = {} if targets is None else {r.person_id: r.rank for r in targets.table.itertuples(index=False)}
    role_col = roles["role"]   # (whole-column tests: a person at a time through pandas' str
    #  dtype costs about a second per million persons, and most persons are victims)
    chain = set(roles.index[role_col.isin(["pusher", "merchant", "resale"]).to_numpy()].tolist())
    # who is drawn: chain members, plus others tied to them (family, contacts), unless focused
    P = analysis.projection
    keep = set(chain)
    skip = ["victim", "unknown" if not show_unknown else ""]
    for p in roles.index[~role_col.isin([*skip, "pusher", "merchant", "resale"]).to_numpy()].tolist():
        node = f"person:{p}"
        if node in P and any(n[7:] in chain for n in P.neighbors(node)):
            keep.add(p)
    note = ""
    if community is not None:
        keep = {p for p in keep if membership.get(f"person:{p}") == community}
        note = f"community {community} only"
    if focus is not None:
        if f"person:{focus}" not in P:
            raise ValueError(f"focus={focus!r} is not a person of this case; see people.csv for person_id values")
        near = nx.single_source_shortest_path_length(P, f"person:{focus}", cutoff=radius)
        keep = {n[7:] for n in near}
        note = f"neighbourhood of {focus} (radius {radius})"
    R = _records(roles, keep)   # (the drawn persons' rows: a lookup in pandas costs ~50 us)
    crews = defaultdict(list)
    for p in sorted(keep):
        if R[p]["role"] == "pusher":
            crews[R[p]["crew"] or "none"].append(p)
    R.update(_records(roles, set(crews) - keep))
    Q = _records(persons, keep)
    victims_of: dict[str, list[str]] = defaultdict(list)
    leaks = analysis.graph.leaks
    for poster, idn in zip(leaks["poster"].tolist(), leaks["id_number"].tolist(), strict=True):
        if poster in keep:
            victims_of[poster].append(idn)
    aggregate = len(keep) + len(victims_of) > max_nodes
    persons_by_id = analysis.graph.persons.set_index("person_id")["phones"]
    k2p = analysis.graph.resolution.key_to_person

    def victim_phone(idn: str) -> str:
        """The first phone of the person holding this ID number (posted beside it)."""
        phones = persons_by_id.get(k2p.get(f"idn:{idn}", ""), "")
        return phones.split(";")[0] if phones else ""

    if aggregate:
        note = (note + "; " if note else "") + f"more than {max_nodes} nodes: pushers aggregated per crew"

    net = Network(directed=True)   # the record builder; rendering is ours
    group_of: dict[str, int] = {}
    adj = nx.Graph()
    counts: dict[str, int] = defaultdict(int)

    def add(node_id: str, label: str, kind: str, title: str, size: float, comm: int) -> None:
        net.add_node(node_id, label=label, title=title, color=ROLE_COLORS[kind], size=round(size, 1),
                     shape=_SHAPES.get(kind, "dot"), kind=kind, font={"size": 14 if kind != "victims" else 11})
        group_of[node_id] = comm
        adj.add_node(node_id)
        counts[kind] += 1

    def person_title(p: str) -> str:
        r, q = R[p], Q[p]
        lines = [f"{r['label']} ({p})", f"role: {r['role']} (confidence {r['confidence']:.2f})"]
        if p in rank:
            lines.append(f"target rank: {rank[p]}")
        for col, name in (("phones", "phones"), ("wechat_ids", "WeChat"), ("alipay_accounts", "Alipay"),
                          ("bank_cards", "cards"), ("devices", "seized devices")):
            if q[col]:
                lines.append(f"{name}: {q[col].replace(';', ', ')}")
        if r["evidence"]:
            lines.append("evidence: " + r["evidence"])
        src = G.nodes[f"person:{p}"].get("source", "")
        if src:
            lines.append("source: " + src.split(";")[0])
        return "\n".join(lines)

    drawn: set[str] = set()
    for p in sorted(keep):
        role = R[p]["role"]
        comm = membership.get(f"person:{p}", -1)
        if aggregate and role == "pusher":
            continue
        kind = role if role in ROLE_COLORS else "unknown"
        harm = int(R[p]["ids_posted"])
        size = 10 + 4 * math.sqrt(harm + (sum(int(R[x]["ids_posted"]) for x in crews.get(p, []))
                                        if role == "merchant" else 0))
        if role == "resale":
            size = 22
        label = str(R[p]["label"])
        if p in rank:
            label = f"#{rank[p]} {label}"
        add(f"person:{p}", label, kind, person_title(p), size, comm)
        drawn.add(p)
    if aggregate:
        for m, ps in sorted(crews.items()):
            n_ids = sum(int(R[x]["ids_posted"]) for x in ps)
            title = f"crew of {R[m]['label'] if m in R else m}: {len(ps)} pushers, " \
                    f"{n_ids} leaked identities\n" + "\n".join(f"{R[x]['label']} ({x})" for x in ps[:40])
            add(f"crew:{m}", f"{len(ps)} pushers", "crew", title, 12 + 2 * math.sqrt(len(ps)),
                membership.get(f"person:{m}", -1))
            if m in drawn:
                net.add_edge(f"crew:{m}", f"person:{m}", title="works for", color="#ffb366")
                adj.add_edge(f"crew:{m}", f"person:{m}")
            victims_of[f"crew:{m}"] = [v for x in ps for v in victims_of.get(x, [])]
    # victims aggregated per pusher (or per crew)
    for owner, ids in sorted(victims_of.items()):
        node = owner if owner.startswith("crew:") else f"person:{owner}"
        if node not in adj:
            continue
        ids = sorted(set(ids))
        shown = []
        for idn in ids[:30]:
            phone = victim_phone(idn)
            if mask:
                shown.append(f"{mask_id_number(idn)} {mask_phone(phone) if phone else ''}".strip())
            else:
                shown.append(f"{idn} {phone}".strip())
        more = f"\n... and {len(ids) - 30} more" if len(ids) > 30 else ""
        vnode = f"victims:{owner}"
        add(vnode, f"{len(ids)} victims", "victims",
            f"{len(ids)} leaked identities" + (" (masked)" if mask else "") + "\n" + "\n".join(shown) + more,
            6 + 2 * math.sqrt(len(ids)), group_of[node])
        net.add_edge(node, vnode, title=f"posted {len(ids)} ID numbers", color="#9fb8d0", dashes=True)
        adj.add_edge(node, vnode)
    # person-person edges: money, chats, contacts, shared groups
    pair: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"n": 0, "yuan": 0.0, "types": set()})
    for u, v, d in G.edges(data=True):
        if not (u.startswith("person:") and v.startswith("person:")) or d["type"] == "transfer":
            continue
        a, b = u[7:], v[7:]
        if a in drawn and b in drawn and a != b:
            pair[(a, b)]["types"].add(d["type"])
    pay = analysis.graph.payments   # completed payments, whichever graph detail
    among = (pay["payer"].isin(drawn) & pay["payee"].isin(drawn)).to_numpy()   # (in order, as all were)
    pay = pay.loc[among]
    for a, b, yuan in zip(pay["payer"].tolist(), pay["payee"].tolist(), pay["yuan"].tolist(), strict=True):
        if a != b:
            e = pair[(a, b)]
            e["types"].add("transfer")
            e["n"] += 1
            e["yuan"] += yuan
    for (a, b), e in sorted(pair.items()):
        if "transfer" in e["types"] and e["n"]:
            net.add_edge(f"person:{a}", f"person:{b}", width=round(1 + math.log10(1 + e["yuan"]), 2),
                         title=f"{e['n']} payments, {e['yuan']:,.2f} yuan", color="#555555", arrows="to")
        else:
            kind = "1:1 chat" if "direct_chat" in e["types"] else "in address book"
            net.add_edge(f"person:{a}", f"person:{b}", title=kind, color="#bbbbbb", dashes=True)
        adj.add_edge(f"person:{a}", f"person:{b}")
    # chat groups where identities were posted
    for g, d in sorted(G.nodes(data=True)):
        if d["type"] != "chat_group":
            continue
        posters = [u[7:] for u, _, e in G.in_edges(g, data=True) if e["type"] == "posted" and u[7:] in keep]
        if not posters:
            continue
        members = sorted({u[7:] for u, _, e in G.in_edges(g, data=True) if e["type"] == "member_of"} & keep)
        n_ids = sum(e.get("identities", 0) for _, _, e in G.in_edges(g, data=True) if e["type"] == "posted")
        comm = next((membership.get(f"person:{m}", -1) for m in members if R[m]["role"] == "merchant"),
                    membership.get(f"person:{posters[0]}", -1))
        add(g, str(d.get("label", g)), "group",
            f"chat group {d.get('label', g)} ({d.get('chat_id', g)})\n{len(members)} members, "
            f"{n_ids} ID numbers posted\nsource: {str(d.get('source', '')).split(';')[0]}", 14, comm)
        for m in members:
            src = f"person:{m}" if m in drawn else (f"crew:{R[m]['crew']}" if aggregate else None)
            if src and src in adj and not adj.has_edge(src, g):
                net.add_edge(src, g, title="member", color="#8fd3cb")
                adj.add_edge(src, g)
    groups: dict[int, list[str]] = defaultdict(list)
    for n, c in group_of.items():
        groups[c].append(n)
    pos = _layout(groups, adj, seed)
    nodes = []
    for rec in net.nodes:
        n = dict(rec)
        n["x"], n["y"] = pos[n["id"]]
        n["group_id"] = group_of[n["id"]]
        n.pop("group", None)
        nodes.append(n)
    edges = [dict(e) for e in net.edges]
    legend = [(ROLE_NAMES[k], ROLE_COLORS[k], counts[k]) for k in ROLE_COLORS if counts.get(k)]
    return MapData(sorted(nodes, key=lambda n: n["id"]), edges, legend, analysis.case.title, note)


def to_html(analysis: Analysis, **kwargs: Any) -> str:
    """The map as one self-contained HTML document (pure: writes nothing).

    Parameters
    ----------
    analysis : Analysis
    targets : Ranking, optional
        Marks ranked targets (``#1 name``).
    community : int, optional
        Draw one community only.
    focus : str, optional
        Draw the neighbourhood of this person id (``radius`` hops, default 2).
    max_nodes : int, default 1500
        Above this, pushers are aggregated per crew.
    mask : bool, default True
        Mask victims' ID numbers and phones.
    show_unknown : bool, default False
        Also draw persons known from a single record (listed in people.csv anyway).
    seed : int, default 0
        Seed of the layout.

    Examples
    --------
    >>> import crimegraph
    >>> from crimegraph.viz.html import to_html
    >>> doc = to_html(crimegraph.analyse(crimegraph.read_case("data/samples/small/case")))
    >>> import re
    >>> re.search(r"(src|href)=.?https?:", doc) is None and "<script src" not in doc
    True
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    data = map_data(analysis, **kwargs)
    js, css = _assets()
    env = Environment(loader=PackageLoader("crimegraph", "templates"), autoescape=select_autoescape(["html"]))
    options = {"physics": {"enabled": False}, "edges": {"smooth": False, "arrows": {"to": {"scaleFactor": 0.5}}},
               "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False,
                               "keyboard": True, "hideEdgesOnDrag": True},
               "nodes": {"borderWidth": 1}}
    from markupsafe import Markup

    return env.get_template("map.html").render(
        title=data.title, note=data.note, legend=data.legend, n_nodes=len(data.nodes), n_edges=len(data.edges),
        vis_js=Markup(js), vis_css=Markup(css), nodes_json=Markup(_json_for_script(data.nodes)),
        edges_json=Markup(_json_for_script(data.edges)), options_json=Markup(_json_for_script(options)),
        masked=kwargs.get("mask", True))


def save_html(analysis: Analysis, path: str | PathLike[str], **kwargs: Any) -> Path:
    """Write :func:`to_html` to ``path`` (UTF-8, atomic). Nothing else is written."""
    return atomic_write_text(path, to_html(analysis, **kwargs))


class MapHTML:
    """A map for Jupyter: shows inline as an ``<iframe srcdoc>`` (no file, no server;
    its CSS cannot restyle the notebook). Works in JupyterLab and VS Code."""

    def __init__(self, document: str, height: int = 720) -> None:
        self.document = document
        self.height = height

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.document, quote=True)}" style="width:100%;'
                f'height:{self.height}px;border:1px solid #ddd" sandbox="allow-scripts"></iframe>')

    def save(self, path: str | PathLike[str]) -> Path:
        return atomic_write_text(path, self.document)


def show_map(analysis: Analysis, *, height: int = 720, **kwargs: Any) -> MapHTML:
    """The map of ``analysis`` as an inline notebook object (see :func:`to_html` for options)."""
    return MapHTML(to_html(analysis, **kwargs), height=height)
