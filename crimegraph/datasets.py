"""Loaders for the published criminal networks used to validate the analytics.

The data are not shipped with crimegraph (their redistribution terms are not
stated); pass the folder that holds them, or set ``CRIMEGRAPH_DATASETS``. In
this project they live in ``../shared/datasets`` beside the checkout.

* Montagna (Sicilian Mafia) meetings and phone calls: Cavallaro et al. (2020),
  PLOS ONE 15(8): e0236476, doi:10.1371/journal.pone.0236476.
* CAVIAR (Montreal drug importation, 1994-96, 11 wiretap phases): Morselli C.
  (2009) *Inside Criminal Networks*; copy from Anastasiadis & Antoniou (2024),
  Information 15(2):84, doi:10.3390/info15020084.
"""

from __future__ import annotations

import csv
import os
from os import PathLike
from pathlib import Path

import networkx as nx

from ._validation import check_choice
from .exceptions import FormatError

__all__ = ["datasets_dir", "load_montagna", "load_caviar", "graph_statistics"]


def datasets_dir(path: str | PathLike[str] | None = None) -> Path:
    """The folder holding ``montagna/`` and ``caviar/``: ``path``, else
    ``$CRIMEGRAPH_DATASETS``, else ``../shared/datasets`` next to the source tree.

    Raises
    ------
    FileNotFoundError
        None of these exists.
    """
    cands = [Path(path)] if path else []
    if os.environ.get("CRIMEGRAPH_DATASETS"):
        cands.append(Path(os.environ["CRIMEGRAPH_DATASETS"]))
    cands.append(Path(__file__).resolve().parents[2] / "shared" / "datasets")
    for c in cands:
        if (c / "montagna").is_dir() or (c / "caviar").is_dir():
            return c
    raise FileNotFoundError("published data sets not found; pass path=... or set CRIMEGRAPH_DATASETS to "
                            "the folder holding montagna/ and caviar/")


def load_montagna(network: str = "meetings", *, path: str | PathLike[str] | None = None) -> nx.Graph:
    """Montagna meetings or phone-call network, built like the authors did.

    Rows ``u v w`` are added in file order to an undirected ``nx.Graph``; for a
    pair listed twice the last weight wins (meetings: 289 rows -> 256 edges;
    phone calls: 150 rows -> 124 edges). Node order is file order, which the
    tie-breaking of :mod:`crimegraph.disruption` relies on.
    """
    check_choice("network", network, ["meetings", "phonecalls"])
    f = datasets_dir(path) / "montagna" / f"Montagna_{network}_edgelist.csv"
    G = nx.Graph(name=f"Montagna {network}")
    for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise FormatError(f"expected 'u v w', got {line!r}", path=f, line=i)
        u, v, w = (int(x) for x in parts)
        G.add_edge(u, v, weight=w)
    return G


def load_caviar(*, directed: bool = False, phase: int | None = None,
                path: str | PathLike[str] | None = None) -> nx.Graph:
    """CAVIAR as a weighted graph (weights = number of calls) from its adjacency matrix.

    ``phase`` 1-11 loads one wiretap phase (directed matrices); otherwise the
    time-aggregated network, undirected unless ``directed``.
    """
    root = datasets_dir(path) / "caviar"
    if phase is not None:
        if phase not in range(1, 12):
            raise ValueError(f"phase must be 1..11, got {phase!r}")
        f, directed = root / "phases" / f"CAVIAR{phase}.csv", True
    else:
        f = root / ("CAVIAR_FULL_Directed.csv" if directed else "CAVIAR_FULL_Undirected.csv")
    rows = list(csv.reader(f.read_text(encoding="utf-8-sig").splitlines()))
    labels = [int(x) for x in rows[0][1:]]
    G: nx.Graph = nx.DiGraph() if directed else nx.Graph()
    G.add_nodes_from(labels)
    for r in rows[1:]:
        u = int(r[0])
        for v, w in zip(labels, r[1:], strict=True):
            if w and float(w) > 0 and u != v:
                G.add_edge(u, v, weight=float(w))
    G.graph["name"] = f"CAVIAR{'' if phase is None else f' phase {phase}'}"
    return G


def graph_statistics(G: nx.Graph) -> dict[str, float]:
    """Nodes, edges, density, components, largest component, mean degree, clustering."""
    U = G.to_undirected() if G.is_directed() else G
    comps = list(nx.connected_components(U))
    return {"nodes": G.number_of_nodes(), "edges": G.number_of_edges(), "density": nx.density(G),
            "components": len(comps), "largest_component": max((len(c) for c in comps), default=0),
            "mean_degree": 2 * U.number_of_edges() / max(U.number_of_nodes(), 1),
            "average_clustering": nx.average_clustering(U),
            "total_weight": float(sum(d.get("weight", 1) for *_, d in G.edges(data=True)))}
