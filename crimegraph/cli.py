"""The ``crimegraph`` command: a thin layer over the library calls.

Run ``crimegraph --help`` for the subcommands, ``crimegraph SUBCOMMAND --help``
for each one's options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .exceptions import CrimegraphError

__all__ = ["main", "build_parser"]

_DESCRIPTION = """\
crimegraph maps 'village push' (地推) personal-information-theft chains from
seized evidence: phone contacts, WeChat group chats, WeChat Pay / Alipay bills
and bank feedback statements. It works fully offline.

typical use:
  crimegraph synth --scale small --seed 1 --out demo     # make a practice case
  crimegraph load demo/case --out demo/tables             # what was read, row by row
  crimegraph report demo/case --out demo/report           # who is who, whom to target first
"""


def _cmd_synth(args: argparse.Namespace) -> int:
    from .synth import generate_case

    s = generate_case(args.out, scale=args.scale, seed=args.seed, overwrite=args.overwrite)
    if not args.quiet:
        c = s.counts
        print(f"wrote synthetic case (scale={s.scale}, seed={s.seed}) to {s.case_dir}")
        print(f"  {c['devices']} seized devices, {c['persons']} persons, {c['victims']} victims, "
              f"{c['messages']} chat messages, {c['transfers']} payments, {c['bank_legs']} bank rows")
        print(f"  ground truth (never read by the loaders): {s.truth_path}")
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ._fileio import write_csv
    from .io import read_case

    case = read_case(args.case, progress=False if args.quiet else None)
    t = case.report.totals
    if args.out:
        out = Path(args.out)
        write_csv(case.report.to_frame(), out / "load_report.csv")
        write_csv(case.report.rejects(), out / "rejects.csv")
        write_csv(case.transfers, out / "transfers.csv")
        write_csv(case.messages, out / "messages.csv")
        write_csv(case.contacts, out / "contacts.csv")
        write_csv(case.devices, out / "devices.csv")
    if not args.quiet:
        s = case.summary()
        print(f"case: {case.title}")
        print(f"  {t['files']} files: {t['rows_read']} rows read = {t['accepted']} accepted + "
              f"{t['rejected']} rejected + {t['skipped']} skipped (unexplained: "
              f"{case.report.unexplained_rows})")
        print(f"  {t['unrecognised_files']} unrecognised files, {t['failed_files']} unreadable files")
        print(f"  {s['devices']} devices, {s['messages']} messages, {s['transfers']} transfers, "
              f"{s['contacts']} contacts, {s['leaked_id_numbers']} leaked ID numbers")
        for r in case.report.rejects().itertuples():
            print(f"  rejected {r.file}, line {r.line}: {r.reason}")
        if args.out:
            print(f"  tables and load report written to {args.out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    out = args.out
    result = write_report(args.case, out, seed=args.seed, targets=args.targets, mask=not args.no_mask,
                          community=args.community, focus=args.focus, max_nodes=args.max_nodes,
                          detail=args.detail, progress=False if args.quiet else None)
    analysis, targets = result.analysis, result.ranking
    case = analysis.case
    outputs = sorted(p.name + ("/" if p.is_dir() else "") for p in result.outputs)
    if not args.quiet:
        s = analysis.summary()
        t = case.report.totals
        print(f"case: {case.title}")
        print(f"  loaded {t['rows_read']} rows from {t['files']} files ({t['rejected']} rejected, "
              f"unexplained: {case.report.unexplained_rows})")
        print(f"  {s['pushers']} pushers, {s['merchants']} merchants, {s['resale']} resale nodes, "
              f"{s['victims']} victims, {s['communities']} communities")
        print("  first targets:")
        for r in targets.table.head(5).itertuples(index=False):
            print(f"    {r.rank}. {r.name} ({r.person_id}, {r.role}): {r.reason}")
        print(f"  wrote {', '.join(outputs)} to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="crimegraph", description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"crimegraph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "synth", help="write a synthetic case folder (for practice, tests and benchmarks)",
        description="Write a synthetic 'village push' case in the real export formats "
                    "(vCard, MemoTrace chats, WeChat Pay and Alipay bills, bank statements), "
                    "plus a ground-truth file. All names and numbers are invented.")
    p.add_argument("--scale", choices=["small", "medium", "dingtao"], default="small",
                   help="small: tens of people (default); medium: hundreds; "
                        "dingtao: 1,000 phones and ~600,000 leaked identities")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same bytes")
    p.add_argument("--out", required=True, help="output folder (must be new or empty)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser(
        "load", help="read a case folder and account for every row",
        description="Read every file of a case folder (recognised by content), normalise it into "
                    "evidence tables and report, per file, rows read = accepted + rejected + skipped.")
    p.add_argument("case", help="case folder: one sub-folder per seized device, bank statements, "
                                "optional case.toml")
    p.add_argument("--out", help="write load_report.csv, rejects.csv and the evidence tables here")
    p.add_argument("--quiet", action="store_true", help="print nothing on success; no progress bars")
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser(
        "report", help="the whole job: map, briefing, who is who, whom to target first, exports",
        description="Read a case folder, resolve persons, infer roles and crews, rank arrest targets "
                    "by harm removed after recovery, and write map.html (offline interactive map), "
                    "briefing.html, people.csv, targets.csv, victims.csv, transfers.csv, messages.csv, "
                    "rejects.csv, load_report.csv, graph.graphml, graph.gexf and neo4j/ import files.")
    p.add_argument("case", help="case folder")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument("--seed", type=int, default=0, help="seed of community detection (default 0)")
    p.add_argument("--targets", type=int, default=10, help="how many targets to rank (default 10)")
    p.add_argument("--no-mask", action="store_true",
                   help="show victims' full ID numbers and phones in the map and briefing (default: masked)")
    p.add_argument("--community", type=int, help="draw only this community on the map")
    p.add_argument("--focus", metavar="PERSON_ID", help="draw only this person's neighbourhood on the map")
    p.add_argument("--max-nodes", type=int, default=1500,
                   help="above this many map nodes, pushers are aggregated per crew (default 1500)")
    p.add_argument("--detail", choices=["auto", "full", "compact"], default="auto",
                   help="graph detail: full = every payment an edge and every victim a node; compact = "
                        "payments summed per pair, victims as counts on their posters (same results); "
                        "auto (default) = compact past 50,000 payments or leaked identities")
    p.add_argument("--quiet", action="store_true", help="print nothing on success; no progress bars")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crimegraph`` command. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except (CrimegraphError, OSError, ValueError) as exc:
        print(f"crimegraph {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
