"""Maps, briefing and exports (issue #6): offline, escaped, masked, deterministic."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crimegraph as cg
from crimegraph.exceptions import ExportError
from crimegraph.export import sanitize_graph, write_gexf, write_graphml, write_neo4j
from crimegraph.viz import MapHTML, briefing_html, save_html, show_map, to_html
from crimegraph.viz.html import map_data

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "small"
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>&amp;'


@pytest.fixture(scope="module")
def analysis():
    return cg.analyse(cg.read_case(SAMPLE / "case"))


@pytest.fixture(scope="module")
def hostile(analysis):
    """The sample analysis with a pusher renamed to a script-injection payload."""
    import copy

    a = copy.copy(analysis)
    a.roles = copy.deepcopy(analysis.roles)
    t = a.roles.table
    t.loc[t.index[t["role"] == "pusher"][0], "label"] = HOSTILE
    return a


def _asset_urls(doc: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?\s*(https?:)?//""", doc, flags=re.I)


def test_map_is_self_contained_and_offline(analysis, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = to_html(analysis)
    assert "<script src" not in doc and "<link" not in doc
    assert _asset_urls(doc) == []
    assert "Content-Security-Policy" in doc and "default-src 'none'" in doc
    assert list(tmp_path.iterdir()) == []          # rendering writes nothing (no lib/)
    p = save_html(analysis, tmp_path / "out" / "map.html")
    assert sorted(x.name for x in p.parent.iterdir()) == ["map.html"]


def test_map_escapes_labels_and_tooltips(hostile):
    doc = to_html(hostile)
    assert HOSTILE not in doc
    assert "<img src=x" not in doc and "<script>window" not in doc
    assert "\\u003cimg src=x" in doc              # present, as JSON-escaped text


def test_map_masks_victims_unless_asked(analysis):
    victims = analysis.victims()
    doc = to_html(analysis)
    assert not any(idn in doc for idn in victims["id_number"])
    assert not any(ph and ph in doc for ph in victims["phone"])
    unmasked = to_html(analysis, mask=False)
    assert any(idn in unmasked for idn in victims["id_number"])


def test_map_content_and_options(analysis):
    d = map_data(analysis)
    kinds = {n["kind"] for n in d.nodes}
    assert {"merchant", "pusher", "resale", "victims", "group"} <= kinds
    n_victims = sum(int(n["label"].split()[0]) for n in d.nodes if n["kind"] == "victims")
    assert n_victims == len(analysis.victims())
    assert all(isinstance(n["x"], float) and isinstance(n["y"], float) for n in d.nodes)
    assert to_html(analysis) == to_html(analysis)    # deterministic bytes
    agg = map_data(analysis, max_nodes=10)
    assert any(n["kind"] == "crew" for n in agg.nodes) and not any(n["kind"] == "pusher" for n in agg.nodes)
    merchant = analysis.roles.table.query("role == 'merchant'")["person_id"].iloc[0]
    focus = map_data(analysis, focus=merchant, radius=1)
    assert len(focus.nodes) < len(d.nodes) and f"person:{merchant}" in {n["id"] for n in focus.nodes}
    comm = map_data(analysis, community=0)
    assert 0 < len(comm.nodes) < len(d.nodes)
    with pytest.raises(ValueError, match="people.csv"):
        map_data(analysis, focus="P999999")


def test_notebook_repr_is_iframe_srcdoc(analysis):
    m = show_map(analysis)
    assert isinstance(m, MapHTML)
    r = m._repr_html_()
    assert r.startswith("<iframe srcdoc=\"") and "<script>" not in r   # the document is escaped once
    for obj in (analysis, analysis.partition, analysis.roles, cg.rank_targets(analysis, k=3), analysis.case):
        assert "<" in obj._repr_html_()


def test_briefing(analysis, hostile):
    doc = briefing_html(analysis)
    for section in ("The chain at a glance", "Whom to target first", "Crews", "Money flow",
                    "Leaked identities per day", "Evidence loaded"):
        assert section in doc
    assert doc.count("<svg") == 2
    assert "<script" not in doc and _asset_urls(doc) == []
    assert not any(idn in doc for idn in analysis.victims()["id_number"])
    assert briefing_html(analysis) == doc           # deterministic
    ranking = cg.rank_targets(hostile, k=20)
    bad = briefing_html(hostile, ranking, top=20)
    assert HOSTILE not in bad and "&lt;img src=x" in bad


def test_import_stays_light():
    import subprocess

    code = ("import sys, crimegraph, crimegraph.viz; "
            "print(sorted(m for m in ('IPython', 'matplotlib', 'pyvis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------ exports
def test_graphml_gexf_roundtrip(analysis, tmp_path):
    G = analysis.graph.graph
    for writer, reader, name in ((write_graphml, nx.read_graphml, "g.graphml"), (write_gexf, nx.read_gexf, "g.gexf")):
        p = writer(G, tmp_path / name)
        H = reader(p)
        assert (H.number_of_nodes(), H.number_of_edges()) == (G.number_of_nodes(), G.number_of_edges())
        types = {}
        for *_, d in H.edges(data=True):
            for k, v in d.items():
                types.setdefault(k, set()).add(type(v))
        assert all(len(t) == 1 for t in types.values()), types     # one type per key


def test_graphml_gexf_bytes_as_networkx_writes_them(analysis, tmp_path):
    """The XML is serialised here rather than by networkx's ``write``: the bytes must be
    those networkx writes, hostile and unencodable text included."""
    from crimegraph.export import write_graphml_and_gexf

    G = analysis.graph.graph.copy()
    G.add_node("x\ud800<b>&", label=HOSTILE, note="tab\there, bell\x07, 李桂兰 \ud83d, \"q\" \r\n> ' &amp;")
    G.add_edge("x\ud800<b>&", next(iter(analysis.graph.graph)), amount=1.5, ok=True)
    H = sanitize_graph(G)
    write_graphml_and_gexf(G, tmp_path / "both.graphml", tmp_path / "both.gexf")   # (sanitised once)
    for ours, theirs, name in ((write_graphml, nx.write_graphml_xml, "graphml"), (write_gexf, nx.write_gexf, "gexf")):
        theirs(H, tmp_path / f"nx.{name}", encoding="utf-8")
        assert ours(G, tmp_path / f"cg.{name}").read_bytes() == (tmp_path / f"nx.{name}").read_bytes()
        assert (tmp_path / f"both.{name}").read_bytes() == (tmp_path / f"nx.{name}").read_bytes()


def test_xml_text_is_elementtree_tostring():
    """The XML text of a tree is ElementTree's: escapes in text, tails and attributes, empty
    elements, in chunks; trees it does not write itself (comments, namespaced tags) are
    left to it, written again from where it started."""
    import io
    from xml.etree import ElementTree as ET

    import crimegraph.export as export

    def _xml_text(root):
        buf = io.BytesIO(b"head")
        buf.seek(4)
        export._write_xml_text(root, buf)
        assert buf.getvalue()[:4] == b"head"
        return buf.getvalue()[4:].decode("utf-8")

    root = ET.Element("graphml", {"xmlns": "http://graphml.graphdrawing.org/xmlns", "a": 'x<&>"\r\n\t y'})
    root.text = "\n  "
    node = ET.SubElement(root, "node", id="<script>&amp;")
    ET.SubElement(node, "data", key="d0").text = "李桂兰 <b>&\"'\r\n"
    ET.SubElement(node, "data", key="d1")
    node.tail = "tail & <more>"
    ET.SubElement(root, "edge", source="a", target="b").text = ""
    assert _xml_text(root) == ET.tostring(root, encoding="unicode")
    for i in range(60_000):   # (more than one chunk)
        ET.SubElement(root, "node", id=f"n{i}").tail = "\n"
    assert _xml_text(root) == ET.tostring(root, encoding="unicode")
    ET.SubElement(root, "{urn:x}ns").append(ET.Comment("a comment"))
    root.append(ET.Comment("c"))
    assert _xml_text(root) == ET.tostring(root, encoding="unicode")


def test_sanitize_graph_values():
    G = nx.MultiDiGraph()
    G.add_node("a", x=None, y=[1, 2], z={"k": 1})
    G.add_node("b", x="s", w=3)
    G.add_edge("a", "b", amount=__import__("decimal").Decimal("1.50"))
    H = sanitize_graph(G)
    assert H.nodes["a"] == {"x": "", "y": "1;2", "z": "k=1", "w": 0}
    assert H.nodes["b"]["y"] == ""
    assert list(H.edges(data=True))[0][2]["amount"] == 1.5


def test_neo4j_files(analysis, tmp_path):
    paths = write_neo4j(analysis.graph.graph, tmp_path / "neo4j")
    nodes = (tmp_path / "neo4j" / "nodes.csv").read_text(encoding="utf-8")
    rels = (tmp_path / "neo4j" / "relationships.csv").read_text(encoding="utf-8")
    assert nodes.startswith("id:ID,:LABEL,")
    assert rels.startswith(":START_ID,:END_ID,:TYPE,")
    assert "Person" in nodes and "TRANSFER" in rels and "LEAKED_IDENTITY" in rels
    assert len(nodes.splitlines()) == analysis.graph.graph.number_of_nodes() + 1
    assert "neo4j-admin database import" in paths[-1].read_text(encoding="utf-8")


def test_failed_export_leaves_no_file(tmp_path):
    from crimegraph._fileio import atomic_write_bytes
    from crimegraph.exceptions import ExportError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError):
        atomic_write_bytes(blocker / "sub" / "out.csv", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_csv_times_written_as_pandas_would_but_formatted_in_c(tmp_path):
    import pandas as pd

    from crimegraph._fileio import _times_as_text, write_csv
    from crimegraph.io._common import TZ

    times = pd.Series(pd.to_datetime(["2025-11-03 09:10:27", None, "2026-01-31 23:59:59"]).tz_localize(TZ))
    df = pd.DataFrame({"time": times, "n": [1, 2, 3], "text": ["a", "逗,号", None]})
    assert _times_as_text(df).to_csv(index=False) == df.to_csv(index=False)
    assert list(_times_as_text(df)["time"]) == ["2025-11-03 09:10:27+08:00", "", "2026-01-31 23:59:59+08:00"]
    sub = df.assign(time=df["time"] + pd.Timedelta("250ms"))   # sub-second: left to pandas
    assert _times_as_text(sub) is sub
    text = write_csv(df, tmp_path / "t.csv").read_bytes().decode("utf-8-sig")
    assert text == df.to_csv(index=False, lineterminator="\n")


def _csv_frames():
    """Tables of the column kinds ``csv_text`` writes itself and some it leaves to pandas."""
    import math
    from decimal import Decimal

    import numpy as np
    import pandas as pd

    text = st.text(alphabet=st.sampled_from(list('ab李,"\n\r \t;\'x0\x00\x85\u2028') + ["\ud83d"]), max_size=6)
    cell = st.one_of(st.none(), text, st.integers(-10**20, 10**20), st.booleans(),
                     st.floats(allow_nan=True, allow_infinity=True), st.just(math.nan), st.just(pd.NA),
                     st.just(pd.NaT), st.just(Decimal("1.50")), st.just(np.float64(0.1)),
                     st.just(pd.Timestamp("2025-11-03 09:10:27")))

    def frame(n: int) -> st.SearchStrategy[pd.DataFrame]:
        column = st.one_of(
            st.lists(cell, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=object)),
            st.lists(st.one_of(st.none(), text), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="str")),
            st.lists(st.floats(width=32) | st.floats(), min_size=n, max_size=n).map(
                lambda v: pd.Series(v, dtype="float64")),
            st.lists(st.floats(width=32), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="float32")),
            st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n).map(
                lambda v: pd.Series(v, dtype="int64")),
            st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=bool)),
            st.lists(st.one_of(st.none(), st.integers(0, 9)), min_size=n, max_size=n).map(
                lambda v: pd.Series(v, dtype="Int64")),                                 # (left to pandas)
            st.lists(st.sampled_from(["a", "b,c", None]), min_size=n, max_size=n).map(
                lambda v: pd.Series(v, dtype="category")),                              # (left to pandas)
        )
        return st.lists(column, min_size=1, max_size=4).map(
            lambda cols: pd.DataFrame({f"c{i}": c for i, c in enumerate(cols)}))

    return st.integers(0, 5).flatmap(frame)


@settings(max_examples=400, deadline=None)
@given(df=_csv_frames(), header=st.booleans())
def test_csv_text_is_pandas_to_csv(df, header):
    """Columns written with the csv module directly give pandas' text exactly."""
    from crimegraph._fileio import csv_text

    assert csv_text(df, header=header) == df.to_csv(index=False, header=header, lineterminator="\n")


def test_csv_text_quotes_a_column_with_one_quoting_character():
    """Each character that makes the csv module quote is found on its own in a column."""
    import pandas as pd

    from crimegraph._fileio import _quote_chars, csv_text

    for c in _quote_chars() or "":
        df = pd.DataFrame({"a": ["x", f"y{c}z"], "b": ["1", "2"]}, dtype=object)
        assert csv_text(df) == df.to_csv(index=False, lineterminator="\n"), repr(c)


def test_csv_text_leaves_other_tables_to_pandas(monkeypatch):
    import pandas as pd

    import crimegraph._fileio as fio

    used = []
    real = pd.DataFrame.to_csv
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, *a, **k: used.append(1) or real(self, *a, **k))
    plain = pd.DataFrame({"a": ["x", None], "b": [1.5, float("nan")], "c": [True, False], "d": [1, 2]})
    assert fio.csv_text(plain) == 'a,b,c,d\nx,1.5,True,1\n,,False,2\n' and used == []
    for other in (plain.assign(e=pd.to_datetime(["2025-11-03", None])), plain.set_axis([1, 2, 3, 4], axis=1),
                  plain[["a"]]):   # (one column: the csv module writes a lone empty field as "")
        fio.csv_text(other)
    assert used == [1, 1, 1]
    assert fio.csv_text(plain[["a"]]) == 'a\nx\n""\n'
    # the characters that make the csv module quote, as pandas' own writing shows them
    quoted = "".join(c for c in map(chr, range(128))
                     if real(pd.DataFrame({"a": [f"<{c}>"], "b": [""]}), index=False, lineterminator="\n")
                     != f"a,b\n<{c}>,\n")
    assert fio._quote_pattern().pattern == "[" + re.escape(quoted) + "]" and "," in quoted and '"' in quoted


@pytest.mark.parametrize("processes", [2, 3])
def test_big_csv_written_in_parts_is_the_same_bytes(tmp_path, monkeypatch, processes):
    """A long table formatted in several processes gives the bytes of one pass."""
    from decimal import Decimal

    import pandas as pd

    import crimegraph._fileio as fio
    from crimegraph.io._common import TZ

    n = 1_000
    monkeypatch.setattr(fio, "PARALLEL_ROWS", 100)
    monkeypatch.setattr(fio, "_PART_ROWS", 100)
    monkeypatch.setattr(fio, "_CHUNK_CELLS", 1_000)        # 200 rows of 5 columns written at a time
    real_chunk = fio._pandas_chunk
    monkeypatch.setattr(fio, "_pandas_chunk", lambda d: 100)   # parts start on multiples of 100 rows
    calls = []
    real = fio._csv_bytes
    monkeypatch.setattr(fio, "_csv_bytes", lambda d, first: calls.append(len(d)) or real(d, first))
    df = pd.DataFrame({
        "time": pd.Series(pd.date_range("2025-11-03 09:00", periods=n, freq="37s")).dt.tz_localize(TZ),
        "amount": [Decimal(f"{i}.{i % 100:02d}") for i in range(n)],
        "ok": [i % 3 == 0 for i in range(n)], "line": range(n),
        "text": [None if i % 7 == 0 else f'阿强 "{i}",\n<script>' for i in range(n)]})
    one = fio.write_csv(df, tmp_path / "one.csv", processes=1).read_bytes()
    assert calls == [200] * 5
    del calls[:]
    parts = fio.write_csv(df, tmp_path / "parts.csv", processes=processes).read_bytes()
    # the parent writes the first part (rows 0-499 or 0-299), children the rest, 200 rows at a time
    assert calls == {2: [200, 200, 100], 3: [200, 100]}[processes]
    assert parts == one == df.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")
    assert one.startswith(b"\xef\xbb\xbftime,") and one.count(b"\xef\xbb\xbf") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv", "parts.csv"]   # no part files left
    assert real_chunk(df) == 20_000   # pandas' own chunk for 5 columns


def test_write_report_shows_and_reports_every_stage(tmp_path, capsys):
    from crimegraph.report import STAGES, TABLES, write_report

    seen: list[str] = []
    r = write_report(SAMPLE / "case", tmp_path, progress=True, on_stage=lambda name, s: seen.append(name))
    assert seen == list(STAGES) == list(r.seconds)
    err = capsys.readouterr().err
    assert "report: exports" in err and f"{len(STAGES)}/{len(STAGES)} stages" in err
    assert "reading files" in err                      # 78 files: the per-file bar too
    names = {p.name for p in r.outputs}
    assert names == {*TABLES, "map.html", "briefing.html", "graph.graphml", "graph.gexf", "neo4j"}
    assert all((tmp_path / n).exists() for n in names)
    write_report(SAMPLE / "case", tmp_path / "quiet", progress=False)
    assert capsys.readouterr().err == ""


def test_report_bytes_do_not_depend_on_string_hashing(tmp_path):
    """Same case, same seed -> the same files, whatever order Python's sets iterate in
    (string hashing is salted per process; the map layout once depended on it)."""
    import os
    import subprocess

    code = ("import sys; from crimegraph.report import write_report; "
            "write_report(sys.argv[1], sys.argv[2], progress=False)")
    for salt in ("1", "2"):
        subprocess.run([sys.executable, "-c", code, str(SAMPLE / "case"), str(tmp_path / salt)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": salt})
    files = sorted(p.relative_to(tmp_path / "1") for p in (tmp_path / "1").rglob("*") if p.is_file())
    assert len(files) > 10
    assert files == sorted(p.relative_to(tmp_path / "2") for p in (tmp_path / "2").rglob("*") if p.is_file())
    differ = [str(f) for f in files if (tmp_path / "1" / f).read_bytes() != (tmp_path / "2" / f).read_bytes()]
    assert differ == []


def test_csv_parts_start_where_pandas_starts_a_chunk(tmp_path, monkeypatch):
    """pandas decides some formats per chunk of rows (sub-second times: ``09:00:00`` in one
    chunk, ``14:33:20.250`` in the next); parts cut anywhere else would change the bytes."""
    import pandas as pd

    import crimegraph._fileio as fio
    from crimegraph.io._common import TZ

    n = 45_000
    t = pd.Series(pd.date_range("2025-11-03 09:00", periods=n, freq="1s")).dt.tz_localize(TZ)
    t[20_000:] += pd.Timedelta("250ms")
    df = pd.DataFrame({"time": t, "a": 1, "b": "x", "c": 3.5, "d": True})   # pandas' chunk: 20,000 rows
    one = df.to_csv(index=False, lineterminator="\n")
    assert "09:00:00+08:00" in one and "14:33:20.250+08:00" in one
    assert df.iloc[:15_000].to_csv(index=False) + df.iloc[15_000:].to_csv(index=False, header=False) != one
    monkeypatch.setattr(fio, "PARALLEL_ROWS", 100)
    monkeypatch.setattr(fio, "_PART_ROWS", 100)
    monkeypatch.setattr(fio, "_CHUNK_CELLS", 50_000)
    for processes in (1, 2, 3):
        got = fio.write_csv(df, tmp_path / f"{processes}.csv", processes=processes).read_bytes()
        assert got == one.encode("utf-8-sig")


def test_failed_part_leaves_no_file(tmp_path, monkeypatch):
    import pandas as pd

    import crimegraph._fileio as fio

    monkeypatch.setattr(fio, "PARALLEL_ROWS", 10)
    monkeypatch.setattr(fio, "_PART_ROWS", 10)
    monkeypatch.setattr(fio, "_pandas_chunk", lambda d: 10)
    real = fio._csv_bytes

    def fail_in_child(d, first):   # parts 0-29 (parent), 30-69 (written), 70-99 (fails)
        if d.index[0] >= 70:
            raise OSError(28, "No space left on device")
        return real(d, first)

    monkeypatch.setattr(fio, "_csv_bytes", fail_in_child)
    (tmp_path / "t.csv").write_bytes(b"old")
    with pytest.raises(ExportError, match="No space left"):
        fio.write_csv(pd.DataFrame({"n": range(100)}), tmp_path / "t.csv", processes=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
    assert (tmp_path / "t.csv").read_bytes() == b"old"


def test_report_leaves_the_callers_frozen_objects_frozen(tmp_path):
    import gc

    from crimegraph.report import write_report

    gc.freeze()
    try:
        before = gc.get_freeze_count()
        write_report(SAMPLE / "case", tmp_path, progress=False)
        assert 0 < gc.get_freeze_count() <= before   # not unfrozen, nothing of the report's added
    finally:
        gc.unfreeze()
    write_report(SAMPLE / "case", tmp_path / "again", progress=False)
    assert gc.get_freeze_count() == 0   # its own freezing undone


def test_evidence_tables_written_in_the_background_are_the_same(tmp_path, monkeypatch):
    """On a big case forked children write the evidence tables and the graph files during
    the analysis, and the victims table while the map is drawn: the same files as in one
    process."""
    import crimegraph.report as rep

    monkeypatch.setattr(rep, "BACKGROUND_ROWS", 10**12)
    a = rep.write_report(SAMPLE / "case", tmp_path / "here", progress=False)
    monkeypatch.setattr(rep, "BACKGROUND_ROWS", 0)
    b = rep.write_report(SAMPLE / "case", tmp_path / "child", progress=False)
    assert [p.name for p in a.outputs] == [p.name for p in b.outputs]
    files = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*") if p.is_file())
    assert {"transfers.csv", "messages.csv", "rejects.csv", "load_report.csv", "graph.gexf", "graph.graphml",
            "nodes.csv"} <= {f.name for f in files}
    assert files == sorted(p.relative_to(tmp_path / "child") for p in (tmp_path / "child").rglob("*")
                           if p.is_file())
    assert [str(f) for f in files if (tmp_path / "here" / f).read_bytes() != (tmp_path / "child" / f).read_bytes()
            ] == []


def test_big_case_without_fork_runs_every_step_in_its_stage(tmp_path, monkeypatch):
    """Where fork is unavailable a started call runs at once: a big case then takes the
    one-process path, so no step runs between stages, outside their timing."""
    import crimegraph._parallel as par
    import crimegraph.report as rep

    monkeypatch.setattr(rep, "BACKGROUND_ROWS", 0)
    monkeypatch.setattr(par, "fork_processes", lambda limit=8: 1)
    started = []
    monkeypatch.setattr(par, "start_forked", lambda call, here=False: started.append(call) or par.Forked(call))
    r = rep.write_report(SAMPLE / "case", tmp_path, progress=False)
    assert started == [] and (tmp_path / "briefing.html").exists() and (tmp_path / "graph.gexf").exists()
    assert {p.name for p in r.outputs} >= {"transfers.csv", "messages.csv", "graph.graphml", "neo4j"}


@pytest.mark.skipif(sys.platform != "linux", reason="background writing needs fork")
def test_failed_background_table_fails_the_report_and_leaves_no_file(tmp_path, monkeypatch):
    import crimegraph._fileio as fio
    import crimegraph.report as rep

    monkeypatch.setattr(rep, "BACKGROUND_ROWS", 0)
    real = fio._csv_bytes

    def full_disk_for_messages(d, first):
        if "message_id" in d.columns:
            raise OSError(28, "No space left on device")
        return real(d, first)

    monkeypatch.setattr(fio, "_csv_bytes", full_disk_for_messages)
    stages: list[str] = []
    with pytest.raises(ExportError, match=r"messages\.csv: No space left"):
        rep.write_report(SAMPLE / "case", tmp_path, progress=False, on_stage=lambda n, s: stages.append(n))
    assert stages[-1] == "targets"   # raised by the tables stage
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not (tmp_path / "messages.csv").exists() and (tmp_path / "transfers.csv").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="the briefing's child needs fork")
@pytest.mark.parametrize("part", ["_leak_summary", "_render_briefing"])
def test_failed_briefing_fails_the_briefing_stage(tmp_path, monkeypatch, part):
    """On a big case the leaks are summed up by the victims table's child and the briefing
    is made here: an error in either fails the briefing stage, and no briefing is written."""
    import os

    import crimegraph.report as rep
    import crimegraph.viz.briefing as briefing

    monkeypatch.setattr(rep, "BACKGROUND_ROWS", 0)
    parent = os.getpid()

    def broken(*a, **k):
        raise ValueError(f"briefing failed in {'a child' if os.getpid() != parent else 'the report'}")

    monkeypatch.setattr(briefing, part, broken)
    stages: list[str] = []
    where = "a child" if part == "_leak_summary" and sys.platform == "linux" else "the report"
    with pytest.raises(ValueError, match=f"briefing failed in {where}"):
        rep.write_report(SAMPLE / "case", tmp_path, progress=False, on_stage=lambda n, s: stages.append(n))
    assert stages[-1] == "map" and (tmp_path / "map.html").exists() and not (tmp_path / "briefing.html").exists()
    assert (tmp_path / "victims.csv").exists()   # (written before the leaks are summed up)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.skipif(sys.platform != "linux", reason="the graph files' child needs fork")
def test_failed_graph_files_child_fails_the_exports_stage(tmp_path, monkeypatch):
    """The graph files are written by a new interpreter (no monkeypatching reaches it): a
    folder where graph.gexf goes makes it fail there."""
    import crimegraph.report as rep

    monkeypatch.setattr(rep, "BACKGROUND_ROWS", 0)
    (tmp_path / "graph.gexf").mkdir(parents=True)
    stages: list[str] = []
    with pytest.raises(ExportError, match=r"cannot write .*graph\.gexf"):
        rep.write_report(SAMPLE / "case", tmp_path, progress=False, on_stage=lambda n, s: stages.append(n))
    assert stages[-1] == "briefing" and (tmp_path / "graph.graphml").exists()
    assert (tmp_path / "neo4j" / "nodes.csv").exists() and (tmp_path / "graph.gexf").is_dir()
    assert not [p.name for p in tmp_path.rglob("*.tmp")]


def test_briefing_latest_leaks_are_those_of_sorting_the_table():
    """The briefing picks its ten latest leaks by sorting the time column alone (the table is
    not copied): the same rows, ties included, as sorting the whole table."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    t = pd.Series(pd.to_datetime(rng.integers(0, 50, 5_000), unit="s")).dt.tz_localize("UTC")
    df = pd.DataFrame({"first_seen": t, "row": range(len(t))})
    ours = df.loc[df["first_seen"].sort_values().index[-10:][::-1]]
    assert ours.equals(df.sort_values("first_seen").tail(10).iloc[::-1])
    assert ours["first_seen"].nunique() < 10   # ties among them


def test_run_forked_shares_the_calls_and_waits_for_every_child(tmp_path, monkeypatch):
    import functools
    import time

    from crimegraph import _parallel
    from crimegraph._parallel import run_forked

    data = list(range(100))   # seen by the children as it is
    calls = [functools.partial(sum, data[i::5]) for i in range(5)]
    assert run_forked(calls, processes=2) == run_forked(calls, processes=1) == [950, 970, 990, 1010, 1030]
    # re-entrant: a call may share its own work again
    assert run_forked([lambda: run_forked([lambda: 1, lambda: 2], processes=2), lambda: [3]],
                      processes=2) == [[1, 2], [3]]

    def slow_write() -> None:
        time.sleep(0.3)
        (tmp_path / "done").write_text("x")

    with pytest.raises(ZeroDivisionError):   # this process's error, raised once the children ended
        run_forked([lambda: 1 / 0, slow_write, lambda: None], processes=3)
    assert (tmp_path / "done").exists()
    with pytest.raises(KeyError):   # a child's error
        run_forked([lambda: None, lambda: {}["x"]], processes=2)
    (tmp_path / "done").unlink()
    real_init = _parallel.Forked.__init__

    def second_fork_fails(self, call):
        if (tmp_path / "forked").exists():
            raise OSError(12, "Cannot allocate memory")
        (tmp_path / "forked").write_text("x")
        real_init(self, call)

    monkeypatch.setattr(_parallel.Forked, "__init__", second_fork_fails)
    with pytest.raises(OSError, match="allocate"):
        run_forked([lambda: None, slow_write, lambda: None], processes=3)
    assert (tmp_path / "done").exists()   # the child started before the failed fork was waited for


def test_start_forked_returns_and_raises_in_the_caller():
    import os
    import signal

    from crimegraph._parallel import fork_processes, start_forked

    data = list(range(1000))   # seen by the child as it is: no pickling of inputs
    assert start_forked(lambda: sum(data)).result() == sum(data)
    with pytest.raises(ZeroDivisionError):
        start_forked(lambda: 1 / 0).result()
    if fork_processes() > 1:   # (else the call runs here: no killing it then)
        with pytest.raises(RuntimeError, match="stopped"):
            start_forked(lambda: os.kill(os.getpid(), signal.SIGKILL)).result()


def test_start_forked_here_runs_in_this_process():
    import os

    from crimegraph._parallel import fork_processes, start_forked

    assert start_forked(os.getpid, here=True).result() == os.getpid()
    if fork_processes() > 1:
        assert start_forked(os.getpid).result() != os.getpid()


def test_start_fresh_runs_a_pickled_call_in_a_new_interpreter(tmp_path, monkeypatch):
    """A new interpreter: the call pickled to it (a lambda cannot be), its value or
    exception back here, a killed child said so, and no temporary file left behind."""
    import functools
    import operator
    import os
    import tempfile

    from crimegraph._parallel import fork_processes, start_fresh

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert start_fresh(functools.partial(sum, range(1000))).result() == sum(range(1000))
    with pytest.raises(ZeroDivisionError):
        start_fresh(functools.partial(operator.truediv, 1, 0)).result()
    with pytest.raises(AttributeError, match="local object"):   # unpicklable: raised here, at once
        start_fresh(lambda: 1)
    assert start_fresh(os.getpid, here=True).result() == os.getpid()
    with monkeypatch.context() as m:   # a frozen app's sys.executable is the app: run here
        m.setattr(sys, "frozen", True, raising=False)
        assert start_fresh(os.getpid).result() == os.getpid()
    if fork_processes() > 1:   # (else every call runs here)
        assert start_fresh(os.getpid).result() != os.getpid()
        with pytest.raises(RuntimeError, match="stopped .exit code 3"):
            start_fresh(functools.partial(os._exit, 3)).result()
        job = start_fresh(functools.partial(operator.add, 2, 5))
        job.wait()
        assert job.result() == 7
    assert list(tmp_path.iterdir()) == []


def test_fresh_child_removes_its_call_and_writes_nothing_for_an_ended_parent(tmp_path):
    import functools
    import os
    import pickle

    from crimegraph._parallel import _fresh_main

    call = tmp_path / "call.pickle"
    for parent, expect in ((os.getppid(), (True, 6)), (os.getppid() + 1, None)):
        call.write_bytes(pickle.dumps(functools.partial(sum, [1, 2, 3])))
        _fresh_main(str(call), parent)
        out = tmp_path / "call.pickle.out"
        assert not call.exists()
        assert (pickle.loads(out.read_bytes()) if out.exists() else None) == expect
        out.unlink(missing_ok=True)


def test_unpicklable_results_are_said_in_both_kinds_of_child():
    import threading

    from crimegraph._parallel import fork_processes, start_forked, start_fresh

    if fork_processes() <= 1:
        pytest.skip("the calls run here: nothing is pickled")
    for start in (start_forked, start_fresh):
        with pytest.raises(RuntimeError, match="background call failed: .*lock"):
            start(threading.Lock).result()


def test_start_forked_block_error_waits_for_the_child():
    import multiprocessing
    import time

    from crimegraph._parallel import start_forked

    with pytest.raises(KeyError):
        with start_forked(lambda: time.sleep(0.5) or 1 / 0):   # the child's own error is dropped
            raise KeyError("in the block")
    assert multiprocessing.active_children() == []
    with start_forked(lambda: 7) as job:
        pass
    assert job.result() == 7


def test_read_case_waits_for_its_child_when_merging_fails(monkeypatch):
    """read_case finds repeated transfers in a forked child while it merges the messages:
    an error in the merge is raised, and the child has ended by then."""
    import multiprocessing
    import time

    import crimegraph.io.case as case_mod

    def broken(*args, **kwargs):
        raise OSError("merge failed")

    def slow(df):
        time.sleep(1)   # still running when the merge fails
        return repeated(df)

    repeated = case_mod._repeated
    monkeypatch.setattr(case_mod, "_repeated", slow)
    monkeypatch.setattr(case_mod, "_merge_messages", broken)
    with pytest.raises(OSError, match="merge failed"):
        case_mod.read_case("data/samples/small/case", workers=2)
    assert multiprocessing.active_children() == []


def test_gc_paused_restores_the_collector_as_it_was():
    import gc

    import crimegraph
    from crimegraph._memory import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()   # nested: still off until the outer block ends
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()   # off before: left off
    finally:
        gc.enable()
    crimegraph.read_case(SAMPLE / "case", progress=False)   # reading pauses it file by file
    assert gc.isenabled()


def test_reading_a_file_runs_no_collection(tmp_path):
    import gc

    from crimegraph.io.case import _read_file
    from crimegraph.io.chats import MEMOTRACE_HEADER

    chat = tmp_path / "S1" / "聊天记录" / "群(12345678@chatroom)" / "群_utf8.csv"
    chat.parent.mkdir(parents=True)
    rows = [f"{i},wxid_a,1,0,0,{1762132800 + i},1,李桂兰 450103195502141219 {i},2025-11-03 09:00:00"
            for i in range(3000)]
    chat.write_text("\n".join([",".join(MEMOTRACE_HEADER), *rows]) + "\n", encoding="utf-8")
    runs: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            runs.append(info["generation"])

    gc.collect()   # (counts from zero: the few objects made before parsing start no collection)
    gc.callbacks.append(count)
    try:
        res = _read_file(tmp_path, chat)
    finally:
        gc.callbacks.remove(count)
    assert res[0].report.accepted == 3000
    # thousands of lists parsed: the collector would have run about twenty times; paused, it
    # runs at most once, on the youngest objects, when it is back on
    assert runs in ([], [0])


@pytest.mark.skipif(sys.platform != "linux" or __import__("platform").libc_ver()[0] != "glibc",
                    reason="malloc_trim is glibc's")
def test_release_free_memory_returns_freed_pages():
    from crimegraph._memory import release_free_memory

    def rss_mb() -> float:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024

    blocks = [bytes(1000) + i.to_bytes(4, "little") for i in range(300_000)]   # ~300 MB from malloc
    keep = blocks[::100]   # pins pages all over the heap: free() alone cannot give any back
    del blocks
    before = rss_mb()
    assert release_free_memory() is True
    assert before - rss_mb() > 150
    assert len(keep) == 3_000
