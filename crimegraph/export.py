"""Exports for Gephi and Neo4j: GraphML, GEXF and ``neo4j-admin database import`` CSVs.

networkx's writers fail on ``None``, lists, dicts, ``Decimal`` and numpy values,
and GEXF files with mixed-type attributes cannot be read back (networkx#1490,
#3572, #8527). :func:`sanitize_graph` therefore makes every attribute a plain
``str``/``int``/``float``/``bool`` with one type per key (mixed keys become
``str``; ``None`` becomes ``""``; sequences are ``;``-joined). Every file is
written atomically: a failed export leaves no partial file behind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree import ElementTree

import networkx as nx
import pandas as pd
from networkx.readwrite.gexf import GEXFWriter
from networkx.readwrite.graphml import GraphMLWriter

from ._fileio import _atomic_file, atomic_write_bytes, csv_text, write_csv
from ._memory import gc_paused
from .exceptions import ExportError

__all__ = ["sanitize_graph", "write_graphml", "write_gexf", "write_graphml_and_gexf", "write_neo4j", "write_csv",
           "write_csv_plain"]


def _plain(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool | int | float | str):
        if isinstance(v, float) and v != v:
            return ""
        return v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dt.datetime | dt.date | pd.Timestamp):
        return v.isoformat()
    if isinstance(v, list | tuple | set | frozenset):
        return ";".join(str(_plain(x)) for x in (sorted(v, key=str) if isinstance(v, set | frozenset) else v))
    if isinstance(v, dict):
        return ";".join(f"{k}={_plain(x)}" for k, x in sorted(v.items(), key=lambda kv: str(kv[0])))
    if hasattr(v, "item"):   # numpy scalar
        return _plain(v.item())
    return str(v)


def _unify(items: list[dict[str, Any]]) -> None:
    kinds: dict[str, set[type]] = defaultdict(set)
    for d in items:
        for k, v in d.items():
            kinds[k].add(bool if isinstance(v, bool) else type(v))
    for k, ts in kinds.items():
        if ts == {int, float}:
            for d in items:
                if k in d:
                    d[k] = float(d[k])
        elif len(ts) > 1:
            for d in items:
                if k in d:
                    d[k] = str(d[k])
    for d in items:   # every element carries every key, so readers see one type per key
        for k, ts in kinds.items():
            if k not in d:
                t = next(iter(ts)) if len(ts) == 1 else str
                d[k] = "" if t is str else (False if t is bool else t(0))


def sanitize_graph(G: nx.Graph) -> nx.Graph:
    """A copy of ``G`` whose attributes GraphML/GEXF writers and readers accept."""
    H = G.__class__()
    H.graph.update({k: _plain(v) for k, v in G.graph.items()})
    nodes = [{k: _plain(v) for k, v in d.items()} for _, d in G.nodes(data=True)]
    _unify(nodes)
    for (n, _), d in zip(G.nodes(data=True), nodes, strict=True):
        H.add_node(str(n), **d)
    if G.is_multigraph():
        edges = [(str(u), str(v), k, {a: _plain(b) for a, b in d.items()})
                 for u, v, k, d in G.edges(keys=True, data=True)]
    else:
        edges = [(str(u), str(v), None, {a: _plain(b) for a, b in d.items()}) for u, v, d in G.edges(data=True)]
    _unify([e[3] for e in edges])
    for u, v, k, d in edges:
        if G.is_multigraph():
            H.add_edge(u, v, key=str(k), **d)
        else:
            H.add_edge(u, v, **d)
    return H


def _write_xml(writer: Any, fmt: str, G: nx.Graph, path: str | PathLike[str], *, clean: nx.Graph | None = None
               ) -> Path:
    """Sanitise (``clean``: ``G`` sanitised already) and write atomically (no partial file
    on failure).

    ``writer(H)`` fills a networkx writer object with the XML tree of ``H``; the tree is
    written as networkx's ``write`` writes it, the same bytes, encoded a chunk at a time
    (networkx's own goes through a ``TextIOWrapper`` that encodes each of millions of small
    pieces separately: 7 to 8% more time on the Dingtao graph; and the whole text is never
    held, nor its bytes: 150 MB or more of a Dingtao graph's GEXF).
    """
    H = _sanitized(G, fmt) if clean is None else clean
    try:
        with gc_paused():   # hundreds of thousands of XML elements, no cycles
            xml = writer(H)
            xml.indent(xml.xml)   # (networkx's pretty-printing, as its write does)
            with _atomic_file(path) as fh:
                fh.write(b"<?xml version='1.0' encoding='utf-8'?>\n")
                _write_xml_text(xml.xml, fh)
    except (TypeError, ValueError, nx.NetworkXError) as exc:
        raise ExportError(f"cannot write {fmt}: {exc}") from exc
    return Path(path)


def _sanitized(G: nx.Graph, fmt: str) -> nx.Graph:
    """:func:`sanitize_graph` of ``G``, its failure said as an :class:`ExportError` of ``fmt``."""
    try:
        with gc_paused():
            return sanitize_graph(G)
    except (TypeError, ValueError, nx.NetworkXError) as exc:
        raise ExportError(f"cannot write {fmt}: {exc}") from exc


_CDATA_SPECIAL = re.compile("[&<>]")
_ATTRIB_SPECIAL = re.compile('[&<>"\r\n\t]')
_ATTRIB_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;",
                                 "\n": "&#10;", "\t": "&#09;"})
_CDATA_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _write_xml_text(root: ElementTree.Element, fh: BinaryIO) -> None:
    """``ElementTree.tostring(root, encoding="unicode")``, the same text, written to ``fh``
    as UTF-8 (characters it cannot encode as references), a chunk at a time, in about half
    the time for trees of plain elements (text tags and attribute names without a
    namespace, text attribute values: what networkx's writers make); other trees are left
    to ElementTree. (ElementTree first walks the whole tree for namespaces, then writes
    each piece through a file object.)"""
    start = fh.tell()
    parts: list[str] = []
    append = parts.append

    def flush() -> None:
        fh.write("".join(parts).encode("utf-8", "xmlcharrefreplace"))
        parts.clear()

    def plain(name: Any) -> bool:
        return type(name) is str and not name.startswith("{")

    def walk(elem: ElementTree.Element) -> bool:
        tag = elem.tag
        if not plain(tag):
            return False
        if len(parts) > 50_000:   # (a few MB of text at a time)
            flush()
        append("<" + tag)
        for k, v in elem.items():
            if not plain(k) or type(v) is not str:
                return False
            append(f' {k}="{v.translate(_ATTRIB_ESCAPES) if _ATTRIB_SPECIAL.search(v) else v}"')
        text = elem.text
        if text or len(elem):
            append(">")
            if text:
                append(text.translate(_CDATA_ESCAPES) if _CDATA_SPECIAL.search(text) else text)
            for child in elem:
                if not walk(child):
                    return False
            append(f"</{tag}>")
        else:
            append(" />")
        tail = elem.tail
        if tail:
            append(tail.translate(_CDATA_ESCAPES) if _CDATA_SPECIAL.search(tail) else tail)
        return True

    if walk(root):
        flush()
        return
    fh.seek(start)   # (what was written of it: written again, by ElementTree)
    fh.truncate()
    fh.write(ElementTree.tostring(root, encoding="unicode").encode("utf-8", "xmlcharrefreplace"))


def _graphml_writer(H: nx.Graph) -> Any:
    xml = GraphMLWriter(encoding="utf-8")   # (nx.write_graphml without lxml)
    xml.add_graph_element(H)
    return xml


def _gexf_writer(H: nx.Graph) -> Any:
    xml = GEXFWriter(encoding="utf-8")   # (nx.write_gexf)
    xml.add_graph(H)
    return xml


def write_graphml(G: nx.Graph, path: str | PathLike[str]) -> Path:
    """Write ``G`` as GraphML (sanitised, UTF-8, atomic).

    Examples
    --------
    >>> import networkx as nx, tempfile, pathlib
    >>> G = nx.MultiDiGraph(); _ = G.add_edge("a", "b", amount=None, tags=["x", "y"])
    >>> p = write_graphml(G, pathlib.Path(tempfile.mkdtemp()) / "g.graphml")
    >>> [d["amount"] for *_, d in nx.read_graphml(p).edges(data=True)], sorted(nx.read_graphml(p))
    ([''], ['a', 'b'])
    """
    return _write_xml(_graphml_writer, "GraphML", G, path)


def write_gexf(G: nx.Graph, path: str | PathLike[str]) -> Path:
    """Write ``G`` as GEXF 1.2 for Gephi (sanitised, UTF-8, atomic)."""
    return _write_xml(_gexf_writer, "GEXF", G, path)


def write_graphml_and_gexf(G: nx.Graph, graphml: str | PathLike[str], gexf: str | PathLike[str]) -> list[Path]:
    """:func:`write_graphml` and :func:`write_gexf` of ``G`` (the same files), sanitised once."""
    clean = _sanitized(G, "GraphML")
    return [_write_xml(_graphml_writer, "GraphML", G, graphml, clean=clean),
            _write_xml(_gexf_writer, "GEXF", G, gexf, clean=clean)]


_NEO4J_LABELS = {"person": "Person", "phone": "Phone", "wechat": "WeChatAccount", "alipay": "AlipayAccount",
                 "bank_card": "BankCard", "chat_group": "ChatGroup", "identity": "Identity",
                 "organisation": "Organisation", "unidentified": "Unidentified"}


def write_neo4j(G: nx.MultiDiGraph, folder: str | PathLike[str]) -> list[Path]:
    """Write ``nodes.csv`` and ``relationships.csv`` for ``neo4j-admin database import``,
    plus ``import.txt`` with the command.

    Nodes: ``id:ID,:LABEL,label,type,...``; relationships:
    ``:START_ID,:END_ID,:TYPE,...``. Array values are ``;``-joined (the
    import tool's default array delimiter). UTF-8.
    """
    folder = Path(folder)
    H = sanitize_graph(G)
    nodes = pd.DataFrame([{"id:ID": n, ":LABEL": _NEO4J_LABELS.get(d.get("type", ""), "Entity"), **d}
                          for n, d in H.nodes(data=True)])
    rels = pd.DataFrame([{":START_ID": u, ":END_ID": v, ":TYPE": str(d.get("type", "RELATED")).upper(),
                          **{k: x for k, x in d.items() if k != "type"}}
                         for u, v, d in H.edges(data=True)])
    paths = [write_csv_plain(nodes, folder / "nodes.csv"), write_csv_plain(rels, folder / "relationships.csv")]
    cmd = ("neo4j-admin database import full --nodes=nodes.csv --relationships=relationships.csv "
           "--array-delimiter=';' --overwrite-destination neo4j\n")
    paths.append(atomic_write_bytes(folder / "import.txt", cmd.encode("utf-8")))
    return paths


def write_csv_plain(df: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """UTF-8 CSV without a BOM (Neo4j reads the first header cell literally)."""
    return atomic_write_bytes(path, csv_text(df).encode("utf-8"))

