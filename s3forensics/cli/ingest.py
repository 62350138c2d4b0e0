"""`s3forensics ingest`: load log objects into a case and summarise."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..case import Case, IngestSummary


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `ingest` command."""
    p = sub.add_parser(
        "ingest",
        help="load S3 access log and CloudTrail objects (files or folders) into a case",
        description=(
            "Walk files and folders, recognise each object's kind from its key layout and content, "
            "keep its exact bytes in the case (one tar file per ingest, <case>/evidence/@packs/), parse "
            "it and load it into <case>/case.duckdb. "
            "Re-ingesting the same object adds nothing; bad lines land in the `rejects` table."
        ),
        epilog=(
            "examples:\n"
            "  s3forensics ingest --case cases/acme ~/Downloads/s3-logs/\n"
            "  s3forensics ingest --case cases/acme --kind cloudtrail export.jsonl"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--case", required=True, type=Path, metavar="DIR",
                   help="case folder (created if missing)")
    p.add_argument("--kind", default="auto", choices=["auto", "s3-access", "cloudtrail"],
                   help="kind of every file, for files named arbitrarily (default: recognise each)")
    p.add_argument("--follow-links", action=argparse.BooleanOptionalAction, default=True,
                   help="follow symbolic links inside the folders and record where each led "
                        "(evidence.link_target); --no-follow-links skips and lists them "
                        "(default: follow)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders to load")
    p.set_defaults(func=_ingest)



def _report(summary: IngestSummary, case: Case) -> int:
    print(summary)
    print(f"case: {case.root}  ({case.root / 'case.duckdb'})")
    if summary.loaded == 0 and summary.already_loaded == 0:
        return 1  # nothing could be loaded
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from ..case import Case, collect_files

    # A missing path or empty folder fails before a case is created.
    collect_files(args.paths, follow_links=args.follow_links)
    with Case.open(args.case) as case:
        summary = case.ingest(args.paths, kind=args.kind, progress=not args.quiet,
                              follow_links=args.follow_links)
        for path, what in summary.context:
            print(f"kept {path} for verify-trail: {what}", file=sys.stderr)
        for path, why in summary.skipped:
            print(f"skipped {path}: {why}", file=sys.stderr)
        return _report(summary, case)
