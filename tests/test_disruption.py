"""Disruption simulator and targeting (issue #5).

Reference curves: the authors' published result tables, lcucav/criminal-nets @ e23c957f,
disruption/results/{sequential,block}/{meeting,phone_calls}/df_Unweighted_5nrem.csv
(Cavallaro et al. 2020, PLOS ONE 15(8): e0236476, doi:10.1371/journal.pone.0236476), rows k = 0..10
(sequential) and k = 0, 5, 10 (block). The networks are read from ../shared/datasets/montagna.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

import crimegraph as cg
from crimegraph.datasets import datasets_dir, graph_statistics, load_caviar, load_montagna
from crimegraph.disruption import collective_influence, simulate_disruption
from crimegraph.exceptions import UnsupportedGraphError
from crimegraph.targeting import TARGET_COLUMNS, chain_model, compare_strategies, rank_targets

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "small"

try:
    datasets_dir()
    HAVE_DATA = True
except FileNotFoundError:
    HAVE_DATA = False
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="../shared/datasets not beside the checkout")

SEQUENTIAL = {
    "meetings": {
        "betweenness": [1.0, 0.9565217391304348, 0.7391304347826086, 0.7173913043478262, 0.5,
                        0.42391304347826086, 0.4130434782608695, 0.3913043478260869, 0.26086956521739135,
                        0.25, 0.2065217391304348],
        "katz": [1.0, 0.9891304347826086, 0.9456521739130435, 0.9239130434782609, 0.9130434782608695,
                 0.8369565217391304, 0.8260869565217391, 0.8152173913043479, 0.46739130434782605,
                 0.46739130434782605, 0.42391304347826086],
        "collective_influence": [1.0, 0.9565217391304348, 0.9456521739130435, 0.9239130434782609,
                                 0.9130434782608695, 0.8369565217391304, 0.7391304347826086,
                                 0.7282608695652174, 0.46739130434782605, 0.46739130434782605,
                                 0.42391304347826086],
        "degree": [1.0, 0.9565217391304348, 0.9456521739130435, 0.9239130434782609, 0.8478260869565217,
                   0.8369565217391304, 0.4782608695652174, 0.46739130434782605, 0.46739130434782605,
                   0.46739130434782605, 0.4565217391304348],
    },
    "phonecalls": {
        "betweenness": [1.0, 0.7640449438202247, 0.5730337078651686, 0.4269662921348315, 0.3932584269662921,
                        0.2471910112359551, 0.1348314606741573, 0.1235955056179775, 0.0561797752808989,
                        0.0561797752808989, 0.0449438202247191],
        "katz": [1.0, 0.8876404494382022, 0.6179775280898876, 0.4269662921348315, 0.348314606741573,
                 0.2696629213483146, 0.202247191011236, 0.1348314606741573, 0.101123595505618,
                 0.101123595505618, 0.0449438202247191],
        "collective_influence": [1.0, 0.8876404494382022, 0.6179775280898876, 0.4269662921348315,
                                 0.3707865168539326, 0.3370786516853933, 0.202247191011236,
                                 0.1573033707865169, 0.101123595505618, 0.0674157303370787,
                                 0.0674157303370787],
        "degree": [1.0, 0.7640449438202247, 0.6179775280898876, 0.4269662921348315, 0.348314606741573,
                   0.2696629213483146, 0.202247191011236, 0.1348314606741573, 0.1348314606741573,
                   0.0561797752808989, 0.0449438202247191],
    },
}
BLOCK = {   # k = 0, 5, 10
    "meetings": {"betweenness": [1.0, 0.8369565217391304, 0.26086956521739135],
                 "katz": [1.0, 0.8369565217391304, 0.6086956521739131],
                 "collective_influence": [1.0, 0.8369565217391304, 0.6195652173913043],
                 "degree": [1.0, 0.8369565217391304, 0.4565217391304348]},
    "phonecalls": {"betweenness": [1.0, 0.3258426966292135, 0.0561797752808989],
                   "katz": [1.0, 0.2696629213483146, 0.0561797752808989],
                   "collective_influence": [1.0, 0.2808988764044944, 0.0561797752808989],
                   "degree": [1.0, 0.2696629213483146, 0.0449438202247191]},
}


@needs_data
@pytest.mark.parametrize("network", ["meetings", "phonecalls"])
@pytest.mark.parametrize("strategy", ["betweenness", "katz", "collective_influence", "degree"])
def test_montagna_sequential_reproduces_published_curves(network, strategy):
    curve = simulate_disruption(load_montagna(network), strategy, mode="sequential", k=10)
    assert curve.frame["removed"].tolist() == list(range(11))
    assert curve.frame["lcc_fraction"].tolist() == pytest.approx(SEQUENTIAL[network][strategy], abs=1e-12)


@needs_data
@pytest.mark.parametrize("network", ["meetings", "phonecalls"])
@pytest.mark.parametrize("strategy", ["betweenness", "katz", "collective_influence", "degree"])
def test_montagna_block_reproduces_published_curves(network, strategy):
    curve = simulate_disruption(load_montagna(network), strategy, mode="block", k=10, block_size=5)
    assert curve.frame["removed"].tolist() == [0, 5, 10]
    assert curve.frame["lcc_fraction"].tolist() == pytest.approx(BLOCK[network][strategy], abs=1e-12)


@needs_data
def test_montagna_and_caviar_statistics():
    meet, calls = graph_statistics(load_montagna("meetings")), graph_statistics(load_montagna("phonecalls"))
    assert (meet["nodes"], meet["edges"]) == (101, 256)     # 289 rows, duplicates collapsed
    assert (calls["nodes"], calls["edges"]) == (100, 124)
    cav = graph_statistics(load_caviar())
    assert (cav["nodes"], cav["edges"], cav["components"]) == (110, 205, 1)   # Morselli (2009)
    assert graph_statistics(load_caviar(phase=1))["nodes"] == 15
    assert load_caviar(directed=True).is_directed()


def test_collective_influence_and_tie_breaking():
    G = nx.path_graph(5)       # CI: ends 0, inner nodes 1*... : 1 -> 1*(0+1)=1, 2 -> 1*(1+1)=2
    assert collective_influence(G) == {0: 0, 1: 1, 2: 2, 3: 1, 4: 0}
    # degree ties (1 and 2 both degree 1) go to the node inserted last
    c = simulate_disruption(nx.Graph([(1, 2), (3, 4)]), "degree", k=1)
    assert c.frame["node"].tolist()[1] == 4


def test_simulator_contract():
    G = nx.karate_club_graph()
    before = G.copy()
    for s in ("degree", "betweenness", "katz", "collective_influence", lambda H: dict(H.degree())):
        c = simulate_disruption(G, s, k=5)
        assert c.frame["lcc_fraction"].is_monotonic_decreasing
        assert len(c.frame) == 6
    assert nx.utils.graphs_equal(G, before)        # input untouched
    sampled = simulate_disruption(G, "betweenness", k=3, betweenness_k=10, seed=1)
    assert sampled.frame.equals(simulate_disruption(G, "betweenness", k=3, betweenness_k=10, seed=1).frame)
    assert simulate_disruption(nx.empty_graph(2), "degree", k=5).frame["removed"].tolist() == [0, 1, 2]
    with pytest.raises(UnsupportedGraphError):
        simulate_disruption(nx.DiGraph([(1, 2)]))
    with pytest.raises(ValueError):
        simulate_disruption(G, "pagerank")
    with pytest.raises(ValueError):
        simulate_disruption(G, mode="random")


def test_harm_curve_on_case_graph():
    a = cg.analyse(cg.read_case(SAMPLE / "case"))
    model = chain_model(a)
    chain = set(f"person:{p}" for p in model.chain_nodes)
    c = simulate_disruption(a.projection, "degree", k=4, candidates=chain,
                            harm=lambda removed: model.harm(x[7:] for x in removed))
    assert {"identities", "money"} <= set(c.frame.columns)
    assert c.frame["identities"].iloc[0] == sum(model.identities.values())
    assert c.frame["identities"].is_monotonic_decreasing


# ------------------------------------------------------------------ targeting
@pytest.fixture(scope="module")
def analysis():
    return cg.analyse(cg.read_case(SAMPLE / "case"))


def test_targets_csv_from_sample(analysis):
    r = rank_targets(analysis, k=10)
    t = r.table
    assert tuple(t.columns) == TARGET_COLUMNS
    assert t["rank"].tolist() == list(range(1, 11))
    assert t["person_id"].is_unique
    # the chain: merchants (not replaceable) before pushers (replaceable)
    assert t["role"].tolist()[:3] == ["merchant"] * 3
    assert (t.loc[t["role"] == "pusher", "score"] == 0).all()
    assert t["reason"].str.len().gt(20).all()
    assert abs(sum(t["score"]) - 1.0) < 1e-3     # all harm removed by the end


def test_recovery_model(analysis):
    model = chain_model(analysis)
    base = model.harm(())
    merchant = next(iter(sorted(model.crews)))
    pusher = model.crews[merchant][0]
    assert model.harm([pusher]) == base                       # the crew takes over
    assert model.harm(model.crews[merchant])["identities"] < base["identities"]   # whole crew gone
    no_takeover = chain_model(analysis, pusher_takeover=0.0)
    assert no_takeover.harm([pusher])["identities"] < base["identities"]
    # a merchant with others in reach recovers part of its flow
    h = model.harm([merchant])
    crew_ids = sum(model.identities[p] for p in model.crews[merchant])
    expected = crew_ids * (1 - 0.3) if model.reach[merchant] else crew_ids
    assert base["identities"] - h["identities"] == pytest.approx(expected)


def test_harm_after_one_more_arrest_equals_harm_from_scratch(analysis):
    """rank_targets re-evaluates only the crews an arrest can touch; the result must be the
    same floats as evaluating every crew again."""
    import random

    from crimegraph.targeting import ChainModel

    sparse = ChainModel(   # reach and buyers that do not overlap (the sample's merchants all reach each other)
        crews={"M1": ["a", "b"], "M2": ["c"], "M3": ["d", "d"], "M4": []},
        identities={"a": 5, "b": 3, "c": 4, "d": 2}, commissions={"a": 50.0, "b": 30.0, "c": 40.0, "d": 20.0},
        sales={("R1", "M1"): 100.0, ("R2", "M2"): 50.0, ("R3", "M3"): 70.0, ("R1", "M4"): 9.0},
        reach={"M1": {"M2"}, "M2": {"M1"}, "M3": set()}, labels={}, roles={},
        params={"pusher_takeover": 0.5, "merchant_recovery": 0.3, "resale_recovery": 0.5})
    for model in (chain_model(analysis, pusher_takeover=0.5), sparse):   # pushers' arrests cost something
        _check_incremental_harm(model, random.Random(7))


def _check_incremental_harm(model, rnd):
    nodes = model.chain_nodes
    for _ in range(200):
        gone = set(rnd.sample(nodes, rnd.randint(0, len(nodes) // 2)))
        terms = {m: model._crew_harm(m, gone) for m in model.crews}
        assert model._total(terms) == model.harm(gone)
        p = rnd.choice(nodes)
        assert model._harm_adding(terms, gone, p) == model.harm(gone | {p})


def test_ours_beats_betweenness_after_recovery(analysis):
    t = compare_strategies(analysis, ks=(1, 3, 5)).set_index("strategy")
    assert set(t.index) == {"ours", "degree", "betweenness", "min_vertex_cut"}
    for k in (3, 5):
        assert t.at["ours", f"harm_left_k{k}"] < t.at["betweenness", f"harm_left_k{k}"]
        assert t.at["ours", f"harm_left_k{k}"] <= t.at["min_vertex_cut", f"harm_left_k{k}"]


# -------------------------------------------------------------- igraph backend (issue #7)
needs_igraph = pytest.mark.skipif(importlib.util.find_spec("igraph") is None,
                                  reason="igraph not installed (pip install crimegraph[fast])")


def _weighted(G: nx.Graph, seed: int) -> nx.Graph:
    """Integer path lengths 1-4 on most edges; every fifth edge has none (counts 1)."""
    rng = random.Random(seed)
    for i, (*_, d) in enumerate(G.edges(data=True)):
        if i % 5:
            d["w"] = rng.randint(1, 4)
    return G


def _multigraph() -> nx.MultiGraph:
    M = nx.MultiGraph(nx.gnm_random_graph(40, 70, seed=3))
    for u, v in list(M.edges())[:15]:
        M.add_edge(u, v, w=0.5)      # a shorter parallel edge: networkx follows it
        M.add_edge(u, v)
    M.add_edge(0, 0)                  # a loop: on no shortest path
    nx.set_edge_attributes(M, {e: 2 for e in M.edges(keys=True) if "w" not in M.edges[e]}, "w")
    return M


GRAPHS = {
    "gnm": lambda: nx.gnm_random_graph(120, 300, seed=1),
    "disconnected": lambda: nx.disjoint_union(nx.gnm_random_graph(30, 50, seed=2), nx.path_graph(6)),
    "weighted": lambda: _weighted(nx.gnm_random_graph(120, 300, seed=4), 4),
    "multigraph": _multigraph,
    "symmetric: cycle": lambda: nx.cycle_graph(12),
    "symmetric: barbell": lambda: nx.barbell_graph(6, 3),
    "symmetric: grid": lambda: nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6)),
    "symmetric: ladder": lambda: nx.circular_ladder_graph(9),
    "karate": nx.karate_club_graph,
    "two nodes": lambda: nx.path_graph(2),
    "one node": lambda: nx.empty_graph(1),
}


@needs_igraph
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_igraph_betweenness_equals_networkx(name):
    """The same scores, to the last bit after rounding, unweighted and weighted: parallel
    edges (the shortest counts), loops, missing weights, components, symmetric ties.
    (Unrounded, the two differ by about 1e-17 on most of these graphs.)"""
    from crimegraph.disruption import score_nodes

    G = GRAPHS[name]()
    for weight in (None, "w"):
        assert score_nodes(G, "betweenness", weight=weight, backend="igraph") == \
            score_nodes(G, "betweenness", weight=weight)


@needs_igraph
@pytest.mark.parametrize("mode", ["sequential", "block"])
def test_igraph_backend_same_disruption_curves(mode):
    graphs = [GRAPHS[n]() for n in ("gnm", "symmetric: grid", "symmetric: ladder", "karate")]
    if HAVE_DATA:
        graphs += [load_montagna("meetings"), load_montagna("phonecalls")]
    for G in graphs:
        a = simulate_disruption(G, "betweenness", mode=mode, k=10, block_size=5)
        b = simulate_disruption(G, "betweenness", mode=mode, k=10, block_size=5, backend="igraph")
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert (a.params["backend"], b.params["backend"]) == ("networkx", "igraph")
    if HAVE_DATA:   # the published curves, with igraph
        for network in ("meetings", "phonecalls"):
            table = SEQUENTIAL if mode == "sequential" else BLOCK
            curve = simulate_disruption(load_montagna(network), "betweenness", mode=mode, k=10, block_size=5,
                                        backend="igraph")
            assert curve.frame["lcc_fraction"].tolist() == pytest.approx(table[network]["betweenness"], abs=1e-12)


@needs_igraph
def test_igraph_backend_same_strategy_comparison():
    a = cg.analyse(cg.read_case(SAMPLE / "case"))
    pd.testing.assert_frame_equal(compare_strategies(a), compare_strategies(a, backend="igraph"))


def test_backend_errors(monkeypatch):
    from crimegraph.disruption import score_nodes
    from crimegraph.exceptions import MissingDependencyError

    G = nx.path_graph(4)
    with pytest.raises(ValueError, match="backend"):
        simulate_disruption(G, "betweenness", k=0, backend="graph-tool")
    with pytest.raises(ValueError, match="leave betweenness_k unset"):
        score_nodes(G, "betweenness", betweenness_k=2, backend="igraph")
    monkeypatch.setitem(sys.modules, "igraph", None)   # as if not installed
    with pytest.raises(MissingDependencyError, match=r"crimegraph\[fast\]"):
        score_nodes(G, "betweenness", backend="igraph")
    assert score_nodes(G, "degree", backend="igraph") == score_nodes(G, "degree")   # no igraph needed


@needs_igraph
@pytest.mark.parametrize("bad", [0, -1.5, float("nan"), "far"])
def test_igraph_backend_rejects_unusable_lengths(bad):
    from crimegraph.disruption import score_nodes

    G = nx.path_graph(4)
    G.edges[1, 2]["w"] = bad
    with pytest.raises(ValueError, match="positive finite path lengths"):
        score_nodes(G, "betweenness", weight="w", backend="igraph")
