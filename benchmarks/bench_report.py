"""Stage timings of `crimegraph report` at Dingtao scale (issue #7). Not a test.

Generates the case once (``crimegraph synth --scale dingtao``; cached), then times
each stage of the report with the report process's peak memory after it and the
whole job's (all its processes, each page once; see :class:`JobMemory`), and the floor: a bare
pandas parse of the same files. Prints a table and writes it to
``benchmarks/results/bench_report.md`` (and ``.json``).

Targets (2 cores, 24 GB): whole report <= 60 s, peak memory <= 4 GB (both measures), loaders
within 5x of the bare parse, analytics on the suspect projection <= 5 s, map
ready in headless Chromium <= 2 s.

    python benchmarks/bench_report.py [--scale dingtao] [--seed 1] [--cache DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from crimegraph.io.case import _default_workers
from crimegraph.report import write_report
from crimegraph.synth import SCALES, generate_case


def peak_mb() -> float:
    """Peak resident memory of this process (the report runs here)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_peak_mb() -> float:
    """Largest peak of a finished child process of the read stage: the reading workers, and
    the child finding repeated transfers (its peak counts the pages it shares with this
    process; the whole job's PSS is the measure of what the job takes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class JobMemory:
    """Peak memory of the whole job: this process and all its children (reading workers,
    background writers, the graph files' interpreter), each page counted once however
    many processes share it, sampled every ``interval`` seconds and at the end of each
    stage. The peaks are plateaus of seconds (a stage's tables, a child's run).

    Two ways, the first that works here:

    - ``cgroup``: this process moves into a memory cgroup of its own (Linux, cgroup v1 or
      v2, where it may create one, e.g. as root); its children are born in it. The job's
      memory is the cgroup's anonymous memory (each page charged once, copies made on
      write included) plus this process's resident memory when it moved in (imported
      modules, shared libraries: charged elsewhere, resident all along). Reading it takes
      microseconds: sampled every 0.1 s.
    - ``PSS``: the proportional set size of every process (``smaps_rollup``): a page shared
      by n processes counts 1/n in each. Each sample walks every process's page tables:
      35 ms for a 3.2 GB process and its forked child, 55 ms for the Dingtao report's
      processes, taken from the 2-core machine it measures (every 0.5 s: 5 to 8 CPU s
      per report, 2 to 4 s of its time). Sampled every 0.5 s.
    """

    def __init__(self, interval: float | None = None) -> None:
        self._cgroup = _MemoryCgroup.create()
        self.method = "cgroup" if self._cgroup else ("PSS" if Path("/proc/self/smaps_rollup").exists() else None)
        self.available = self.method is not None
        self.interval = interval if interval is not None else (0.1 if self._cgroup else 0.5)
        self.peak_mb, self.stage_peak_mb = 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> JobMemory:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()
        self.close()

    def close(self) -> None:
        """Leave the cgroup (once; nothing to do with PSS)."""
        if self._cgroup is not None:
            self._cgroup.leave()
            self._cgroup = None

    def next_stage(self) -> float:
        """Peak since the last call (the stage that just ended)."""
        peak, self.stage_peak_mb = self.stage_peak_mb, self.sample()
        return max(peak, self.stage_peak_mb)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> float:
        if self._cgroup is not None:
            mb = self._cgroup.memory_mb()
        else:
            mb = sum(_pss_kb(pid) for pid in _tree(os.getpid())) / 1024
        self.peak_mb = max(self.peak_mb, mb)
        self.stage_peak_mb = max(self.stage_peak_mb, mb)
        return mb


class _MemoryCgroup:
    """A memory cgroup of this process's own, made beside-below its current one (see
    :class:`JobMemory`); :meth:`leave` moves back and removes it."""

    def __init__(self, path: Path, home: Path, anon_key: str, baseline_kb: int) -> None:
        self.path, self._home, self._anon_key, self._baseline_kb = path, home, anon_key, baseline_kb

    @classmethod
    def create(cls) -> _MemoryCgroup | None:
        """Move this process into a new memory cgroup; ``None`` where that is not possible."""
        if sys.platform != "linux":
            return None
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        places = []   # (cgroup folder, anonymous memory's key in memory.stat)
        for line in lines:
            _, controllers, rel = line.split(":", 2)
            if "memory" in controllers.split(","):   # cgroup v1: "rss" is anonymous memory
                places.append((Path("/sys/fs/cgroup/memory") / rel.lstrip("/"), "rss"))
            elif controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():   # v2
                places.append((Path("/sys/fs/cgroup") / rel.lstrip("/"), "anon"))
        for home, key in places:
            path = home / f"crimegraph-bench-{os.getpid()}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "cgroup.procs").write_text(str(os.getpid()))
                # (what is resident now is charged elsewhere: counted as it is)
                group = cls(path, home, key, _resident_kb())
                group.memory_mb()   # (v2: the memory controller may not be enabled there)
            except (OSError, KeyError, ValueError):
                cls(path, home, key, 0).leave()
                continue
            return group
        return None

    def memory_mb(self) -> float:
        with open(self.path / "memory.stat") as fh:
            stat = dict(line.split() for line in fh)
        return (int(stat[self._anon_key]) / 1024 + self._baseline_kb) / 1024

    def leave(self) -> None:
        try:
            (self._home / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            pass
        for _ in range(50):   # (children that ended may still be leaving it)
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def _resident_kb() -> int:
    """Resident memory of this process (``VmRSS``), in KiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                for child in fh.read().split():
                    out += _tree(int(child))
    except OSError:   # the process ended meanwhile
        pass
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def bare_parse(case_dir: Path) -> tuple[float, int]:
    """Floor: pandas reads every data file once, as strings (header line found by a cheap scan;
    vCards counted; no validation, no normalisation, no deduplication)."""
    from crimegraph.io._common import xlsx_engine

    engine = xlsx_engine()   # the engine the loaders use, for a like-for-like floor
    t0 = time.perf_counter()
    rows = 0
    for p in sorted(case_dir.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in (".csv", ".xlsx", ".vcf"):
            continue
        if p.suffix.lower() == ".xlsx":
            rows += len(pd.read_excel(p, header=None, dtype=str, engine=engine))
            continue
        data = p.read_bytes()
        if p.suffix.lower() == ".vcf":
            rows += data.count(b"BEGIN:VCARD")
            continue
        enc = "utf-8-sig"
        try:
            data.decode("utf-8-sig")
            head = data[:8192].decode("utf-8-sig", "ignore")
        except UnicodeDecodeError:
            enc, head = "gb18030", data[:8192].decode("gb18030", "replace")
        lines = head.splitlines()
        header = next((i for i, s in enumerate(lines[:40]) if s.count(",") >= 5 and s.split(",")[1].strip()), 0)
        rows += len(pd.read_csv(p, encoding=enc, skiprows=header, dtype=str, on_bad_lines="skip"))
    return time.perf_counter() - t0, rows


def map_ready_seconds(path: Path) -> float | None:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_bin):
        return None
    opts = Options()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,900",
                 f"--user-data-dir={tempfile.mkdtemp()}"):
        opts.add_argument(flag)
    d = webdriver.Chrome(service=Service(driver_bin), options=opts)
    try:
        t0 = time.perf_counter()
        d.get(path.as_uri())
        while not d.execute_script("return window.cgReady === true"):
            if time.perf_counter() - t0 > 60:
                return None
            time.sleep(0.02)
        return time.perf_counter() - t0
    finally:
        d.quit()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="dingtao")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", default=None, help="where the generated case is kept (default: system temp)")
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="scale the victims per pusher (same 1,000 phones); e.g. 0.1 for a quick profile")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--progress", action="store_true", help="show the report's stage progress bars")
    ap.add_argument("--keep", action="store_true", help="keep the report's output folder (about 1 GB)")
    args = ap.parse_args(argv)
    job = JobMemory()   # (a cgroup entered now, while this process holds only its modules)
    try:
        return _bench(args, job)
    finally:
        job.close()


def _bench(args: argparse.Namespace, job: JobMemory) -> int:
    scale = SCALES[args.scale]
    if args.fraction != 1.0:
        lo, hi = scale.victims_per_pusher
        scale = dataclasses.replace(scale, victims_per_pusher=(max(1, round(lo * args.fraction)),
                                                               max(1, round(hi * args.fraction))))
    tag = f"{args.scale}-{args.seed}" + ("" if args.fraction == 1.0 else f"-x{args.fraction:g}")
    cache = Path(args.cache or Path(tempfile.gettempdir()) / f"crimegraph-bench-{tag}")
    if not (cache / "case").is_dir():
        t0 = time.perf_counter()
        generate_case(cache, scale=scale, seed=args.seed, overwrite=True)
        print(f"generated {args.scale} case in {time.perf_counter() - t0:.1f} s at {cache}")
    case_dir = cache / "case"
    report_dir = Path(tempfile.mkdtemp(prefix="crimegraph-report-"))
    rows: list[dict[str, object]] = []

    reading: dict[str, float] = {}

    def on_stage(name: str, seconds: float) -> None:
        if name == "read":   # later forked writers share the parent's pages and would count them
            reading["worker_peak_mb"] = worker_peak_mb()
        job_mb = job.next_stage()
        rows.append({"stage": name, "seconds": round(seconds, 2), "peak_mb": round(peak_mb(), 0),
                     "job_peak_mb": round(job_mb, 0)})
        print(f"  {name:<12} {seconds:8.2f} s   peak {peak_mb():8.0f} MB   job {job_mb:8.0f} MB", flush=True)

    print(f"report stages on {case_dir}")
    t_all = time.perf_counter()
    with job:
        result = write_report(case_dir, report_dir, seed=0, progress=args.progress or None, on_stage=on_stage)
    total = time.perf_counter() - t_all
    worker_peak = reading.get("worker_peak_mb", 0.0)
    workers = _default_workers(len([p for p in case_dir.rglob("*") if p.is_file()]))
    analysis = result.analysis
    case, cg, proj = analysis.case, analysis.graph, analysis.projection
    floor, floor_rows = bare_parse(case_dir)
    ready = map_ready_seconds(report_dir / "map.html")
    if args.keep:
        print(f"report written to {report_dir}")
    else:
        shutil.rmtree(report_dir, ignore_errors=True)
    t = case.report.totals
    summary = {
        "scale": args.scale, "fraction": args.fraction, "seed": args.seed, "rows_read": t["rows_read"], "files": t["files"],
        "messages": len(case.messages), "transfers": int(case.transfers["transfer_id"].nunique()),
        "graph_nodes": cg.graph.number_of_nodes(), "graph_edges": cg.graph.number_of_edges(),
        "projection_nodes": proj.number_of_nodes(), "projection_edges": proj.number_of_edges(),
        "total_seconds": round(total, 1), "peak_mb": round(peak_mb()),
        "job_peak_mb": round(job.peak_mb) if job.available else None, "job_memory": job.method,
        "reading_worker_peak_mb": round(worker_peak), "reading_workers": workers,
        "bare_pandas_seconds": round(floor, 1),
        "bare_pandas_rows": floor_rows, "read_vs_floor": round(rows[0]["seconds"] / floor, 2) if floor else None,
        "analytics_seconds": round(sum(r["seconds"] for r in rows if r["stage"] in
                                       ("projection", "communities", "roles", "money", "targets")), 2),
        "graph_detail": cg.detail,
        "map_ready_seconds": None if ready is None else round(ready, 2),
    }
    table = pd.DataFrame(rows)
    md = [f"| stage | seconds | peak MB (report process) | peak MB (whole job, {job.method}) |", "|---|---:|---:|---:|"]
    md += [f"| {r['stage']} | {r['seconds']} | {r['peak_mb']:.0f} | {r['job_peak_mb']:.0f} |" for r in rows]
    md += [f"| **total** | **{summary['total_seconds']}** | **{summary['peak_mb']}** | **{summary['job_peak_mb']}** |",
           f"| floor: bare pandas parse | {summary['bare_pandas_seconds']} | | |", ""]
    md += [f"- {k}: {v}" for k, v in summary.items()]
    targets = {"total <= 60 s": summary["total_seconds"] <= 60, "peak <= 4096 MB": max(summary["peak_mb"], summary["job_peak_mb"] or 0) <= 4096,
               "read <= 5x floor": (summary["read_vs_floor"] or 99) <= 5,
               "analytics <= 5 s": summary["analytics_seconds"] <= 5,
               "map ready <= 2 s": summary["map_ready_seconds"] is not None and summary["map_ready_seconds"] <= 2}
    md += ["", "targets: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items())]
    print("\n" + "\n".join(md))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (out / "bench_report.json").write_text(json.dumps({"summary": summary, "stages": table.to_dict("records"),
                                                       "targets": targets}, indent=1), encoding="utf-8")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
