"""`s3forensics export`: findings, the timeline or any query result in the formats other tools import."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .window import add_window, window_of

_FORMATS = ("timesketch", "attack-layer", "csv", "jsonl", "parquet")  # export.EXPORT_FORMATS, without importing it


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `export` command."""
    p = sub.add_parser(
        "export", help="export findings, the timeline or a query result for Timesketch, ATT&CK Navigator, a SIEM or a sheet",
        description=(
            "Write the case's findings (every detection's rows), or any query's result with --query, as "
            "formula-safe CSV, JSON Lines or Parquet (exact values); the timeline as Timesketch JSONL "
            "(message, datetime, timestamp_desc and every field); or the techniques the findings cover "
            "as an ATT&CK Navigator layer scored by severity. Without --out the file goes under "
            "<case>/exports/; --out - writes text formats to standard output."),
        epilog=(
            "examples:\n"
            "  s3forensics export --case cases/demo --format timesketch\n"
            "  s3forensics export --case cases/demo --format attack-layer --out layer.json\n"
            "  s3forensics export --case cases/demo --format csv --out findings.csv\n"
            "  s3forensics export --case cases/demo --format parquet --query timeline --out timeline.parquet\n"
            "  s3forensics export --case cases/demo --format jsonl --query ip_activity -p ip 203.0.113.77 --out -"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--case", required=True, type=Path, metavar="DIR", help="case folder")
    p.add_argument("--format", required=True, choices=_FORMATS, help="what to write")
    p.add_argument("--out", metavar="PATH", help="file to write (default: under <case>/exports/; - for stdout)")
    p.add_argument("--query", metavar="NAME", help="export this query's result instead of the findings")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="a parameter of --query (repeatable); lists are comma-separated")
    add_window(p, note="findings, timeline")
    p.add_argument("--queries-dir", action="append", default=[], type=Path, metavar="DIR",
                   help="also load your own .sql queries and detections from DIR")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from ..case import Case
    from ..errors import InputError
    from ..export import default_export_path, export_case
    from ..queries.registry import QueryRegistry

    if args.param and not args.query:
        raise InputError("-p", "parameters need --query NAME (the findings take --start/--end)")
    start, end = window_of(args)
    registry = QueryRegistry(args.queries_dir)
    if args.query:
        registry.get(args.query)  # an unknown name fails before the case is opened
    to_stdout = args.out == "-"
    if to_stdout and args.format == "parquet":
        raise InputError("--out", "Parquet is binary: give a file path")
    # Opened writable, like `findings`: a case made by an older version gets the current views.
    with Case.open(args.case, create=False) as case:
        out = Path(args.out) if args.out and not to_stdout else default_export_path(case.root, args.format, args.query)
        if not to_stdout:
            out.parent.mkdir(parents=True, exist_ok=True)
        try:
            n = export_case(case.con, args.format, sys.stdout if to_stdout else out, query=args.query,
                            params=dict(args.param), start=start, end=end, registry=registry)
        except ValueError as exc:
            raise InputError("--format", str(exc)) from exc
    if not to_stdout:
        what = {"attack-layer": "finding(s) mapped"}.get(args.format, "record(s)")
        print(f"{n} {what}; wrote {out}", file=sys.stderr)
    return 0
