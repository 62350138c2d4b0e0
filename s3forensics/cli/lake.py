"""`s3forensics lake build|ddl`: the case tables as a Parquet lake, for Spark, Athena or DuckDB."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..layouts import KINDS
from .window import add_window, window_of


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `lake` command group: build, pull, ddl."""
    raw = argparse.RawDescriptionHelpFormatter
    lake = sub.add_parser(
        "lake", help="build, narrow and describe a Parquet case lake (DuckDB, Spark, Athena)",
        description=("A case lake is the case tables as hive-partitioned Parquet (by source and UTC "
                     "event date) in a folder or on object storage: built by the same parsers as "
                     "`ingest`, queried by the same catalogue (`query`/`findings --lake`)."),
        epilog=("examples:\n  s3forensics lake build --lake lake/ data/samples\n"
                "  s3forensics findings --lake lake/ --engine spark --format json\n"
                "  s3forensics lake pull --lake lake/ --case case/ --ip 203.0.113.45\n"
                "  s3forensics lake ddl --dialect athena --lake s3://acme-ir/lake"),
        formatter_class=raw)
    lsub = lake.add_subparsers(dest="lake_command", metavar="SUBCOMMAND")

    b = lsub.add_parser(
        "build", help="parse log objects (local files or an S3 window) into a lake",
        description=("Parse local files or the S3 objects of a UTC window into the lake: rows, "
                     "rejects and one evidence row per object (bucket, key, version, ETag, size, "
                     "SHA-256, rows, rejects). S3 listing is narrowed by the key layouts as in "
                     "`acquire` (same lookback) and read-only (List, Head, Get). Objects already in "
                     "the lake (same SHA-256) are skipped, so a build can be repeated."),
        epilog=("examples:\n"
                "  s3forensics lake build --lake lake/ --kind s3-access ~/evidence/s3-logs/\n"
                "  s3forensics lake build --lake lake/ --kind cloudtrail --bucket acme-trail \\\n"
                "      --start 2024-05-01T00:00Z --end 2024-05-02T00:00Z\n"
                "  s3forensics lake build --engine spark --lake s3a://acme-ir/lake --kind s3-access \\\n"
                "      --bucket acme-logs --prefix s3/ --start 2024-05-01T00:00Z --end 2024-06-01T00:00Z"),
        formatter_class=raw)
    b.add_argument("--lake", required=True, metavar="PATH",
                   help="lake folder (created if missing); with --engine spark also s3a://...")
    b.add_argument("--kind", default="auto", choices=KINDS,
                   help="kind of the logs (default: recognise each object, as `ingest` does)")
    b.add_argument("--engine", default="local", choices=["local", "spark"],
                   help="local: this process (polars + pyarrow); spark: Spark tasks parse the objects")
    b.add_argument("--bucket", help="read the window's objects from this S3 bucket")
    b.add_argument("--prefix", default="", help="key prefix of the logs in --bucket")
    add_window(b, note="with --bucket")
    b.add_argument("--lookback", type=float, metavar="HOURS",
                   help="late-delivery lookback in hours (default: 24 access logs, 1 CloudTrail)")
    b.add_argument("--endpoint-url", metavar="URL", help="S3-compatible endpoint (tests, MinIO...)")
    b.add_argument("--profile", help="AWS profile for the listing")
    b.add_argument("--master", default=None, metavar="URL",
                   help="Spark master when no session exists (default local[*])")
    b.add_argument("--partitions", type=int, metavar="N",
                   help="Spark tasks to spread the objects over (default: the cores Spark has)")
    b.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="local files or folders")
    b.set_defaults(func=_build)

    p = lsub.add_parser(
        "pull", help="load a lake's rows about IPs, principals, keys or buckets into a local case",
        description=("Load into a local case only the lake rows that match the filters, and the rows "
                     "that correlate with them: CloudTrail events made with the same access key "
                     "(session) and the AssumeRole event that issued it, and rows of either source "
                     "with the same request id. Entity filters (--ip, --principal, --access-key) "
                     "match if any matches; --bucket and --start/--end restrict. Each pulled object "
                     "comes with its evidence row and its rejects; lake_provenance in the case names "
                     "the lake file every object's rows came from. Pulling again adds nothing new; "
                     "the notebooks and `findings --case` run on the slice."),
        epilog=("examples:\n"
                "  s3forensics lake pull --lake lake/ --case slice/ --ip 203.0.113.45 --ip 203.0.113.77\n"
                "  s3forensics lake pull --lake lake/ --case slice/ \\\n"
                "      --principal arn:aws:iam::111122223333:user/svc-reporting \\\n"
                "      --start 2026-10-08T00:00Z --end 2026-10-11T00:00Z\n"
                "  s3forensics report --case slice/"),
        formatter_class=raw)
    p.add_argument("--lake", required=True, metavar="PATH", help="a local lake folder (`lake build`)")
    p.add_argument("--case", required=True, metavar="DIR", help="case folder (created if missing)")
    p.add_argument("--ip", action="append", default=[], metavar="IP",
                   help="source address (access log remote_ip, CloudTrail sourceIPAddress); repeatable")
    p.add_argument("--principal", action="append", default=[], metavar="ARN",
                   help="principal or actor, as in `profile` (a role matches its sessions); repeatable")
    p.add_argument("--access-key", action="append", default=[], metavar="KEY",
                   help="access key id (CloudTrail, and access log rows of the same requests); repeatable")
    p.add_argument("--bucket", action="append", default=[], metavar="NAME",
                   help="only rows about these buckets (session and request correlation aside); repeatable")
    add_window(p)
    p.set_defaults(func=_pull)

    d = lsub.add_parser(
        "ddl", help="print the DDL that declares a lake's tables (Athena / Glue)",
        description=("Print CREATE EXTERNAL TABLE statements for the lake's tables with partition "
                     "projection on the event dates, so Athena finds new days without MSCK REPAIR, "
                     "and the case views translated to Athena (Trino) SQL. Checked by parsing, not "
                     "run, in the test suite."),
        epilog="example: s3forensics lake ddl --dialect athena --lake s3://acme-ir/lake --database ir",
        formatter_class=raw)
    d.add_argument("--lake", required=True, metavar="URI", help="lake location, s3://bucket/prefix")
    d.add_argument("--dialect", default="athena", choices=["athena"], help="SQL dialect")
    d.add_argument("--database", default="s3forensics", help="Glue database name")
    d.add_argument("--start-date", default="2006-03-01", metavar="YYYY-MM-DD",
                   help="first event date the projection covers (default: S3's launch)")
    d.set_defaults(func=_ddl)
    lake.set_defaults(func=lambda _a: _usage(lake))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _build(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from ..lake.build import LakeSource, LakeSourceOptions, build_lake

    start, end = window_of(args)
    source: LakeSourceOptions = {
        "paths": args.paths, "bucket": args.bucket, "prefix": args.prefix, "kind": args.kind,
        "start": start, "end": end, "endpoint_url": args.endpoint_url,
        "profile": args.profile,
        "lookback": timedelta(hours=args.lookback) if args.lookback is not None else None,
    }
    spark = None
    if args.engine == "spark":
        from ..lake.spark import get_spark

        LakeSource.make(source)  # a bad source is refused before a Spark session is started
        spark = get_spark(master=args.master)
    result = build_lake(args.lake, engine=args.engine, spark=spark, partitions=args.partitions,
                        **source)
    if result.plan is not None:
        print(f"planned {result.planned:,} objects: {result.plan.list_calls} ListObjectsV2 calls, "
              f"{result.plan.keys_listed} keys listed", file=sys.stderr)
    for path, why in result.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    print(result)
    return 0 if result.loaded or result.already_in_lake or not result.errors else 1


def _pull(args: argparse.Namespace) -> int:
    from ..lake.pull import pull_lake

    start, end = window_of(args)
    result = pull_lake(args.lake, args.case, ips=args.ip, principals=args.principal,
                       access_keys=args.access_key, buckets=args.bucket, start=start, end=end)
    print(result)
    return 0


def _ddl(args: argparse.Namespace) -> int:
    from ..lake.athena import athena_ddl

    sys.stdout.write(athena_ddl(args.lake, database=args.database, start_date=args.start_date))
    return 0
