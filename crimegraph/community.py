"""Community detection (python-louvain), deterministic and canonically labelled.

python-louvain's result depends on node order as well as on ``random_state``
(taynaud/python-louvain#105), so nodes are inserted in sorted order before
running, and communities are relabelled canonically: by size, descending, then
by smallest member (cdlib / sknetwork ``sort_clusters``).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import pandas as pd

from ._igraph import import_igraph, to_igraph
from ._validation import check_choice
from .exceptions import MissingDependencyError, UnsupportedGraphError

__all__ = ["Partition", "detect_communities"]


@dataclass(frozen=True)
class Partition:
    """A partition of nodes into communities, with how it was produced.

    Attributes
    ----------
    communities : tuple of tuple
        Sorted members of each community, community 0 the largest.
    membership : dict
        Node -> community number.
    modularity : float
    method : str
    params : dict
    seed : int
    versions : dict
    """

    communities: tuple[tuple[str, ...], ...]
    membership: dict[str, int]
    modularity: float
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    versions: dict[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """``node, community`` rows."""
        return pd.DataFrame(sorted(self.membership.items()), columns=["node", "community"])

    def to_json(self) -> str:
        d = asdict(self)
        d["communities"] = [list(c) for c in self.communities]
        return json.dumps(d, ensure_ascii=False, sort_keys=True)

    def _repr_html_(self) -> str:
        sizes = ", ".join(str(len(c)) for c in self.communities[:20])
        return (f"<div><b>Partition</b> ({html.escape(self.method)}, seed={self.seed}): "
                f"{len(self.communities)} communities, modularity {self.modularity:.3f}; "
                f"sizes {html.escape(sizes)}</div>")


def _canonical(groups: list[set[str]]) -> tuple[tuple[tuple[str, ...], ...], dict[str, int]]:
    comms = sorted((tuple(sorted(g)) for g in groups if g), key=lambda c: (-len(c), c[0]))
    membership = {n: i for i, c in enumerate(comms) for n in c}
    return tuple(comms), membership


def detect_communities(G: nx.Graph, *, weight: str = "weight", resolution: float = 1.0,
                       seed: int = 0, backend: str = "networkx") -> Partition:
    """Louvain communities of an undirected weighted graph, reproducibly.

    Parameters
    ----------
    G : networkx.Graph
        Undirected (use :func:`crimegraph.graph.suspect_projection` for a case).
    weight : str, default "weight"
    resolution : float, default 1.0
    seed : int, default 0
    backend : {"networkx", "igraph"}
        ``networkx``: python-louvain on the networkx graph. ``igraph``: igraph's
        multilevel algorithm (``pip install crimegraph[fast]``); the same
        partition is not guaranteed, only the same method.

    Returns
    -------
    Partition

    Raises
    ------
    UnsupportedGraphError
        ``G`` is directed or a multigraph.

    Notes
    -----
    ==============  =========
    graph type      supported
    ==============  =========
    Graph           yes
    DiGraph         no (collapse explicitly: ``suspect_projection``)
    MultiGraph      no
    ==============  =========

    Examples
    --------
    >>> import networkx as nx
    >>> from crimegraph.community import detect_communities
    >>> G = nx.barbell_graph(4, 0)
    >>> detect_communities(G, seed=1).communities
    ((0, 1, 2, 3), (4, 5, 6, 7))
    """
    if G.is_directed() or G.is_multigraph():
        raise UnsupportedGraphError(
            f"detect_communities needs an undirected simple graph, got {type(G).__name__}; collapse "
            "directed payments explicitly with crimegraph.graph.suspect_projection()")
    check_choice("backend", backend, ["networkx", "igraph"])
    H = nx.Graph()
    H.add_nodes_from(sorted(G.nodes()))
    H.add_edges_from(sorted((min(u, v), max(u, v), {weight: d.get(weight, 1.0)})
                            for u, v, d in G.edges(data=True)))
    versions = {"networkx": nx.__version__}
    if H.number_of_edges() == 0:
        groups = [{n} for n in H.nodes()]
        comms, membership = _canonical(groups)
        return Partition(comms, membership, 0.0, f"louvain/{backend}",
                         {"weight": weight, "resolution": resolution}, seed, versions)
    if backend == "networkx":
        try:
            from community import community_louvain
        except ImportError as exc:
            raise MissingDependencyError(
                "python-louvain is not installed (or the unrelated PyPI package 'community' shadows "
                "it): pip uninstall community && pip install python-louvain") from exc
        part = community_louvain.best_partition(H, weight=weight, resolution=resolution, random_state=seed)
        groups_d: dict[int, set[str]] = {}
        for n, c in part.items():
            groups_d.setdefault(c, set()).add(n)
        groups = list(groups_d.values())
        versions["python-louvain"] = getattr(community_louvain, "__version__", "0.16")
    else:
        groups = _igraph_louvain(H, weight, resolution, seed)
        versions["igraph"] = import_igraph().__version__
    comms, membership = _canonical(groups)
    q = nx.community.modularity(H, [set(c) for c in comms], weight=weight, resolution=resolution)
    return Partition(comms, membership, float(q), f"louvain/{backend}",
                     {"weight": weight, "resolution": resolution}, seed, versions)


def _igraph_louvain(H: nx.Graph, weight: str, resolution: float, seed: int) -> list[set[str]]:
    import random

    igraph = import_igraph()
    g, nodes = to_igraph(H)
    g.es["weight"] = [d[weight] for _, _, d in H.edges(data=True)]
    igraph.set_random_number_generator(random.Random(seed))
    try:
        cl = g.community_multilevel(weights="weight", resolution=resolution)
    finally:
        igraph.set_random_number_generator(random)
    return [{nodes[i] for i in c} for c in cl]
