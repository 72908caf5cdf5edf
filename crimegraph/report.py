"""``crimegraph report`` as a library call: the whole job, stage by stage.

:func:`write_report` reads a case folder and writes every output of DESIGN.md §4.
Each stage (read, resolve, build, projection, communities, roles, money,
targets, tables, map, briefing, exports) is shown on a progress bar and timed;
the benchmark (``benchmarks/bench_report.py``) runs this same function.
"""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from ._validation import check_positive_int

__all__ = ["STAGES", "ReportResult", "write_report"]

#: Stages of :func:`write_report`, in order.
STAGES = ("read", "resolve", "build", "projection", "communities", "roles", "money", "targets", "tables",
          "map", "briefing", "exports")
#: Cases with this many transfers and messages have their evidence tables, victims table and
#: graph files written, and their leaks summed up, by child processes while this process goes
#: on (where ``fork`` is available; see :func:`write_report`).
BACKGROUND_ROWS = 200_000
#: Graphs with this many edges have their graph files (GraphML, GEXF, Neo4j) written side by
#: side by forked children in the exports stage (where ``fork`` is available).
PARALLEL_EDGES = 5_000
#: Stages after which the memory this process freed is handed back to the OS: before a
#: child is forked on a big case (so it does not count again in the child), and while the
#: victims' child runs (the job's peak). After the other stages it is kept for the next one:
#: pages handed back cost a page fault each when taken again, and on a VM that reports free
#: pages to its host (Firecracker) far more than that (about 1 s of system time of the
#: analytics stages on the Dingtao case).
_RELEASE_AFTER = frozenset({"read", "targets", "tables", "map"})
#: Tables written by :func:`write_report` (besides map.html, briefing.html, graph files).
TABLES = ("people.csv", "targets.csv", "victims.csv", "transfers.csv", "messages.csv", "rejects.csv",
          "load_report.csv")


@dataclass
class ReportResult:
    """What :func:`write_report` produced.

    Attributes
    ----------
    analysis : crimegraph.Analysis
    ranking : crimegraph.targeting.Ranking
    outputs : list of pathlib.Path
        Every file and folder written.
    seconds : dict
        Wall-clock seconds per stage (:data:`STAGES`).
    """

    analysis: Any
    ranking: Any
    outputs: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def write_report(case: str | PathLike[str], out: str | PathLike[str], *, seed: int = 0, targets: int = 10,
                 mask: bool = True, community: int | None = None, focus: str | None = None,
                 max_nodes: int = 1500, detail: str = "auto", progress: bool | None = None,
                 on_stage: Callable[[str, float], None] | None = None) -> ReportResult:
    """Read ``case`` and write map, briefing, tables and graph files to ``out``.

    Parameters
    ----------
    case : str or path-like
        Case folder (DESIGN.md §1).
    out : str or path-like
        Output folder (created if needed).
    seed : int, default 0
        Seed of community detection and of the map layout.
    targets : int, default 10
        How many arrest targets to rank.
    mask : bool, default True
        Mask victims' ID numbers and phones in the map and briefing.
    community, focus, max_nodes
        What the map draws (see :func:`crimegraph.viz.save_html`).
    detail : {"auto", "full", "compact"}, default "auto"
        Graph detail (see :func:`crimegraph.build_graph`).
    progress : bool or None, default None
        Progress bars for the stages and the files read: ``None`` = only on a terminal.
    on_stage : callable, optional
        Called as ``on_stage(name, seconds)`` after each stage (benchmarks).

    Returns
    -------
    ReportResult

    Notes
    -----
    On a case of :data:`BACKGROUND_ROWS` transfers and messages or more (on Linux),
    ``transfers.csv``, ``messages.csv``, ``rejects.csv`` and ``load_report.csv`` are
    written by a forked child while this process analyses; the tables stage waits
    for it and raises its error. On such a case a new interpreter writes
    ``graph.graphml`` and ``graph.gexf`` from the build on (the exports stage waits
    for it), and, from the tables stage on, a second forked
    child makes and writes ``victims.csv`` and sums up the leaks for the briefing while
    this process writes the other tables and draws the map (the briefing stage waits
    for the sums and makes the briefing). The files are the same either way.

    Examples
    --------
    >>> import tempfile
    >>> from crimegraph.report import write_report
    >>> r = write_report("data/samples/small/case", tempfile.mkdtemp(), progress=False)
    >>> sorted(p.name for p in r.outputs)[:4], list(r.seconds)[:3]
    (['briefing.html', 'graph.gexf', 'graph.graphml', 'load_report.csv'], ['read', 'resolve', 'build'])
    """
    from ._fileio import atomic_write_text
    from ._memory import release_free_memory
    from ._parallel import Forked, fork_processes, run_forked, start_forked, start_fresh
    from .analysis import Analysis
    from .community import detect_communities
    from .export import write_gexf, write_graphml, write_graphml_and_gexf, write_neo4j
    from .graph import build_graph, suspect_projection
    from .io.case import _read_case
    from .resolve import _resolve_entities
    from .roles import infer_roles, money_flows
    from .targeting import rank_targets
    from .viz import briefing_html, save_html
    from .viz.briefing import _briefing_parts, _leak_summary, _render_briefing

    check_positive_int("targets", targets)
    out_dir = Path(out)
    result = ReportResult(None, None)
    bar = _stage_bar(progress)
    background: Forked[list[Path]] | None = None   # the evidence tables (see Notes)
    side: Forked[dict[str, Any]] | None = None   # victims.csv written, its leaks summed up (see Notes)
    xml: Forked[list[Path]] | None = None   # GraphML and GEXF (see Notes)

    own_freeze = gc.get_freeze_count() == 0

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        if bar is not None:
            bar.set_description_str(f"report: {name}")
        t0 = time.perf_counter()
        value = fn()
        # What a stage returns lives until the report is written: keep the cycle collector
        # from walking those millions of objects again and again (undone at the end; left
        # alone when the caller froze objects itself, as unfreezing would free theirs too).
        if own_freeze:
            gc.freeze()
        if name in _RELEASE_AFTER:
            release_free_memory()   # what the stage freed (see _RELEASE_AFTER)
        dt = time.perf_counter() - t0
        result.seconds[name] = dt
        if bar is not None:
            bar.update(1)
        if on_stage is not None:
            on_stage(name, dt)
        return value

    try:
        case_, transfer_ids = stage("read", lambda: _read_case(case, progress=progress))
        # The evidence tables depend on the case alone: on a big case a forked child writes
        # them while this process analyses (the same bytes; waited for in the tables stage).
        evidence = {"transfers.csv": lambda: case_.transfers, "messages.csv": lambda: case_.messages,
                    "rejects.csv": case_.report.rejects, "load_report.csv": case_.report.to_frame}
        write_evidence = functools.partial(_write_tables, evidence, out_dir, processes=1)
        # (without fork, a started call would run at once, outside the stage it belongs to)
        big = len(case_.transfers) + len(case_.messages) >= BACKGROUND_ROWS and fork_processes() > 1
        if big:
            background = start_forked(write_evidence)
        res = stage("resolve", lambda: _resolve_entities(case_, transfer_ids))
        cg = stage("build", lambda: build_graph(case_, res, detail=detail))
        # The graph files depend on the graph alone, which nothing changes after the build: on
        # a big case a new interpreter writes GraphML and GEXF on the core the analytics leave
        # idle (waited for in the exports stage). The graph is small (pickled to it in 0.1 s at
        # Dingtao scale); a forked child would have kept up to 2 GB of this process's pages.
        xml_files = [(write_graphml, out_dir / "graph.graphml"), (write_gexf, out_dir / "graph.gexf")]
        if big:
            xml = start_fresh(functools.partial(write_graphml_and_gexf, cg.graph, *[p for _, p in xml_files]))
        proj = stage("projection", lambda: suspect_projection(cg))
        part = stage("communities", lambda: detect_communities(proj, seed=seed))
        roles = stage("roles", lambda: infer_roles(cg))
        per_person, per_crew = stage("money", lambda: money_flows(cg, roles))
        analysis = Analysis(case_, cg, proj, part, roles, per_person, per_crew)
        ranking = stage("targets", lambda: rank_targets(analysis, k=targets))
        result.analysis, result.ranking = analysis, ranking
        victim_table = {"victims.csv": analysis.victims}

        def victims_and_leaks() -> dict[str, Any]:
            _write_tables(victim_table, out_dir, processes=1)
            return _leak_summary(analysis._victims(), mask=mask)   # (the table made just now)

        def tables() -> list[Path]:
            nonlocal side
            frames = {"people.csv": analysis.people, "targets.csv": lambda: ranking.table}
            if big:
                # On a big case a forked child makes and writes victims.csv and sums up the leaks
                # for the briefing, while this process writes the other tables, draws the map and
                # makes the rest of the briefing (then waits for the sums in the briefing stage).
                # Started once the evidence tables' child has ended (long before, at Dingtao
                # scale): two big children at once would add up their copies of pages.
                if background is not None:
                    background.wait()
                side = start_forked(victims_and_leaks)
            else:
                frames |= victim_table
            written = _write_tables(frames, out_dir, processes=None if xml is None else 1)
            if side is not None:   # (in the order of TABLES)
                written.append(out_dir / "victims.csv")
            return written + (write_evidence() if background is None else background.result())

        result.outputs += stage("tables", tables)
        result.outputs.append(stage("map", lambda: save_html(
            analysis, out_dir / "map.html", targets=ranking, mask=mask, seed=seed, community=community,
            focus=focus, max_nodes=max_nodes)))
        result.outputs.append(stage("briefing", lambda: atomic_write_text(
            out_dir / "briefing.html", briefing_html(analysis, ranking, mask=mask) if side is None
            else _render_briefing(_briefing_parts(analysis, ranking, mask=mask), side.result()))))

        def exports() -> list[Path]:
            G = analysis.graph.graph
            neo4j = out_dir / "neo4j"
            if xml is not None:
                write_neo4j(G, neo4j)
                xml.result()
            else:   # XML serialisation is slow in Python: on a big graph, the files side by side
                run_forked([*(functools.partial(fn, G, path) for fn, path in xml_files),
                            functools.partial(write_neo4j, G, neo4j)],
                           processes=None if G.number_of_edges() >= PARALLEL_EDGES else 1)
            return [path for _, path in xml_files] + [neo4j]

        result.outputs += stage("exports", exports)
    finally:
        # never leave a child running (their own errors are raised by the tables, briefing and
        # exports stages; an error caught here means the report has failed already)
        for child in (background, xml, side):
            if child is not None:
                child.wait()
        if own_freeze:
            gc.unfreeze()
        if bar is not None:
            bar.close()
    return result


def _write_tables(frames: dict[str, Callable[[], Any]], out_dir: Path, *, processes: int | None = None
                  ) -> list[Path]:
    from ._fileio import write_csv

    return [write_csv(make(), out_dir / name, processes=processes) for name, make in frames.items()]


def _stage_bar(progress: bool | None) -> Any:
    if progress is False:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=len(STAGES), unit="stage", disable=None if progress is None else False,
                bar_format="{desc:<22} {n_fmt}/{total_fmt} stages [{elapsed}]")
