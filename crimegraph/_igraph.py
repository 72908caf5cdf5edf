"""The one place igraph (the optional ``[fast]`` extra) is imported and fed a networkx graph."""

from __future__ import annotations

from typing import Any

import networkx as nx

from .exceptions import MissingDependencyError


def import_igraph() -> Any:
    """The igraph module, or :class:`MissingDependencyError` saying how to install it."""
    try:
        import igraph
    except ImportError as exc:
        raise MissingDependencyError("backend='igraph' needs igraph: pip install crimegraph[fast]") from exc
    return igraph


def to_igraph(G: nx.Graph) -> tuple[Any, list[Any]]:
    """``G``'s nodes and edges as an igraph graph (vertex i is ``nodes[i]``, the edges in
    ``G.edges()`` order, parallel edges and loops kept; no attributes), and ``nodes``."""
    igraph = import_igraph()
    nodes = list(G)
    index = {n: i for i, n in enumerate(nodes)}
    return igraph.Graph(n=len(nodes), edges=[(index[u], index[v]) for u, v in G.edges()]), nodes
