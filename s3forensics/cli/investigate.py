"""`s3forensics queries`, `query` and `findings`: the query catalogue from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..queries.registry import KINDS
from .window import add_window, window_of

if TYPE_CHECKING:
    import polars as pl


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `queries`, `query` and `findings` commands."""
    raw = argparse.RawDescriptionHelpFormatter
    q = sub.add_parser(
        "queries", help="list the named queries (detections, hunts, summaries)",
        description="List the query catalogue: built-in .sql files plus any --queries-dir folders.",
        epilog="examples:\n  s3forensics queries --kind detection\n  s3forensics queries --source cloudtrail",
        formatter_class=raw)
    q.add_argument("--kind", choices=KINDS, help="only this kind")
    q.add_argument("--source", choices=["s3-access", "cloudtrail"], help="only queries over this source")
    q.add_argument("--queries-dir", action="append", default=[], type=Path, metavar="DIR",
                   help="also load your own .sql queries from DIR (repeatable)")
    q.add_argument("--verbose", "-v", action="store_true", help="show descriptions and parameters")
    q.add_argument("--markdown", action="store_true",
                   help="print the catalogue as Markdown (this is how docs/queries.md is made)")
    q.add_argument("--dialect", choices=["duckdb", "athena"], default="duckdb",
                   help="with --out: write the queries in this SQL dialect (athena: Trino SQL, "
                        "translated by sqlglot, not run in CI)")
    q.add_argument("--out", type=Path, metavar="DIR", help="write one <name>.sql per query into DIR")
    q.set_defaults(func=_queries)

    r = sub.add_parser(
        "query", help="run one named query against a case",
        description="Run a named query; parameters are bound by DuckDB, never pasted into SQL.",
        epilog=("examples:\n  s3forensics query top_requesters --case cases/demo\n"
                "  s3forensics query ip_activity --case cases/demo -p ip 203.0.113.66 --format csv"),
        formatter_class=raw)
    r.add_argument("name", help="query name (see `s3forensics queries`)")
    _source_args(r)
    r.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set a parameter (repeatable); lists are comma-separated")
    r.add_argument("--format", choices=["table", "csv", "json"], default="table")
    r.add_argument("--queries-dir", action="append", default=[], type=Path, metavar="DIR",
                   help="also load your own .sql queries from DIR")
    r.set_defaults(func=_query)

    f = sub.add_parser(
        "findings", help="run every detection and save the findings in the case",
        description=("Run every detection over the case (optionally within a window), save the results "
                     "under <case>/findings/ with the parameters used, and print a summary."),
        epilog="example: s3forensics findings --case cases/demo --start 2024-05-01T00:00:00Z --format json",
        formatter_class=raw)
    _source_args(f)
    add_window(f)
    f.add_argument("--format", choices=["table", "csv", "json"], default="table")
    f.add_argument("--queries-dir", action="append", default=[], type=Path, metavar="DIR",
                   help="also load your own detections from DIR")
    f.set_defaults(func=_findings)


def _source_args(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--case", type=Path, metavar="DIR", help="case folder")
    where.add_argument("--lake", metavar="PATH",
                       help="a case lake instead (`s3forensics lake build`); see --engine")
    p.add_argument("--engine", choices=["local", "spark"], default="local",
                   help="with --lake: DuckDB over the Parquet files (local) or Spark SQL (spark)")
    p.add_argument("--master", metavar="URL", help="with --engine spark: Spark master (default local[*])")


def _lake_runner(args: argparse.Namespace) -> Any:
    """Run queries on a lake: DuckDB views over its files, or the catalogue translated for Spark."""
    from ..lake.query import lake_runner

    return lake_runner(args.lake, engine=args.engine, master=args.master)


def _check_engine(args: argparse.Namespace) -> None:
    if args.lake is None and args.engine != "local":
        from ..errors import QueryError

        raise QueryError(f"--engine {args.engine} runs on a lake: give --lake PATH instead of --case")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def print_frame(frame: pl.DataFrame, fmt: str) -> None:
    """Print a frame as an aligned table, CSV or JSON records."""
    import polars as pl

    from ..spreadsheet import write_csv

    if fmt == "csv":
        sys.stdout.write(write_csv(frame) or "")
    elif fmt == "json":
        rows = [{k: _jsonable(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
        print(json.dumps(rows, indent=2, default=str))
    else:
        with pl.Config(tbl_rows=200, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            print(frame)


def _queries(args: argparse.Namespace) -> int:
    from ..queries.docs import catalogue_markdown
    from ..queries.registry import QueryRegistry

    registry = QueryRegistry(args.queries_dir)
    if args.out is not None:
        if args.dialect != "athena":
            from ..errors import QueryError

            raise QueryError("--out writes translations: use it with --dialect athena")
        from ..lake.athena import write_athena_queries

        written, refused = write_athena_queries(args.out, registry)
        print(f"wrote {len(written)} queries as Athena (Trino) SQL to {args.out}")
        if refused:
            print(f"{len(refused)} not written (Trino lacks what they call; each needs a "
                  "hand-written <name>.athena.sql beside its .sql):", file=sys.stderr)
            for reason in refused.values():
                print(f"  {reason}", file=sys.stderr)
        return 0
    if args.markdown:
        sys.stdout.write(catalogue_markdown(registry))
        return 0
    if not args.verbose:
        print_frame(registry.frame(kind=args.kind, source=args.source), "table")
        return 0
    for q in registry.list(kind=args.kind, source=args.source):
        sev = f" [{q.severity}]" if q.severity else ""
        print(f"{q.name} ({q.kind}{sev}, {q.source}) {', '.join(q.mitre)}\n  {q.title}\n  {q.description}")
        for p in q.params.values():
            print(f"    -p {p.name} <{p.type}>  default {p.default!r}: {p.description}")
        print()
    return 0


def _query(args: argparse.Namespace) -> int:
    from ..case import Case
    from ..queries.registry import QueryRegistry

    _check_engine(args)
    query = QueryRegistry(args.queries_dir).get(args.name)
    if args.lake is not None:
        print_frame(_lake_runner(args)(query, dict(args.param)), args.format)
        return 0
    with Case.open(args.case, create=False, read_only=True) as case:
        print_frame(query.run(case.con, dict(args.param)), args.format)
    return 0


def _findings(args: argparse.Namespace) -> int:
    from ..case import Case
    from ..findings import findings_frame, run_findings, save_findings
    from ..queries.registry import QueryRegistry

    _check_engine(args)
    start, end = window_of(args)
    if args.lake is not None:
        found = run_findings(None, start=start, end=end, registry=QueryRegistry(args.queries_dir),
                             runner=_lake_runner(args))
        path = None
    else:
        with Case.open(args.case, create=False, read_only=True) as case:
            found = run_findings(case.con, start=start, end=end,
                                 registry=QueryRegistry(args.queries_dir))
            path = save_findings(case.root, found, parameters={
                "start": start, "end": end, "queries_dir": [str(d) for d in args.queries_dir]})
    if args.format == "json":
        print(json.dumps([f.to_json() for f in found], indent=2))
    else:
        print_frame(findings_frame(found), args.format)
        if args.format == "table":
            saved = f"; saved to {path}" if path else " (a lake's findings are printed, not saved)"
            print(f"{len(found)} detections fired{saved}", file=sys.stderr)
    return 0
