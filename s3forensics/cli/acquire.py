"""`s3forensics acquire` and `s3forensics verify`: fetch logs from S3 as evidence; re-hash it."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import CaseError
from ..layouts import DEFAULT_LOOKBACK, DEFAULT_WORKERS, KINDS
from .window import add_window, window_of

_DURATION = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def _duration(text: str) -> timedelta:
    """Parse `1d`, `6h`, `90m`, `1d12h` or `0` into a timedelta."""
    text = text.strip().lower()
    if text == "0":
        return timedelta(0)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 1d, 6h, 90m or 1d12h")
    return sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta(0))


def _names(values: list[str] | None) -> list[str] | None:
    """Flatten repeated and comma-separated values."""
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `acquire` and `verify` commands."""
    defaults = ", ".join(f"{k} {v}" for k, v in DEFAULT_LOOKBACK.items())
    p = sub.add_parser(
        "acquire",
        help="fetch the S3 access log or CloudTrail objects of a time window into a case",
        description=(
            "List exactly the objects that can hold records of [--start, --end) (plus a "
            "late-delivery lookback), download them in parallel byte for byte into "
            "<case>/evidence/<bucket>/<key>, "
            "hash them while writing, record each in <case>/manifest.jsonl and the evidence table, "
            "and load them into the case. Read-only: it only lists, heads and gets objects (and "
            "reads logging/trail configuration into <case>/context/). Rerunning resumes: objects "
            "already held (size, ETag and SHA-256 checked) are not fetched again."
        ),
        epilog=(
            "examples:\n"
            "  s3forensics acquire --case cases/acme --bucket acme-logs --prefix s3/ \\\n"
            "      --kind s3-access --start 2024-05-01T00:00Z --end 2024-05-02T00:00Z\n"
            "  s3forensics acquire --case cases/acme --bucket org-trail --kind cloudtrail \\\n"
            "      --start 2024-05-01T10:00Z --end 2024-05-01T12:00Z --region us-east-1 --plan"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--case", required=True, type=Path, metavar="DIR", help="case folder (created if missing)"
    )
    p.add_argument(
        "--bucket", required=True, metavar="B", help="bucket holding the logs (a name, not s3://)"
    )
    p.add_argument(
        "--prefix",
        default="",
        metavar="P",
        help="access logs: the target prefix (e.g. logs/); CloudTrail: the trail's key "
        "prefix, the part before AWSLogs/ (default: none)",
    )
    p.add_argument(
        "--kind",
        required=True,
        choices=KINDS,
        help="what the prefix holds; auto: CloudTrail if AWSLogs/ is there, else access logs",
    )
    add_window(p, required=True)
    p.add_argument(
        "--account",
        action="append",
        metavar="ID",
        help="only these account ids (repeat or comma-separate; default: all found)",
    )
    p.add_argument(
        "--region",
        action="append",
        metavar="R",
        help="only these regions (repeat or comma-separate; default: all found)",
    )
    p.add_argument(
        "--lookback",
        type=_duration,
        metavar="DUR",
        help=f"how late objects may arrive after the window, e.g. 1d, 6h, 0 (default: {defaults})",
    )
    p.add_argument(
        "--profile", metavar="NAME", help="AWS profile to use (default: the usual credential chain)"
    )
    p.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="S3-compatible endpoint, e.g. a local test server (default: AWS)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"parallel downloads (default: {DEFAULT_WORKERS})",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="dry run: list and print the plan and request counts, download nothing",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_acquire)

    v = sub.add_parser(
        "verify",
        help="re-hash the evidence files of a case; report changed, missing and unexpected files",
        description=(
            "Re-hash every file recorded in the evidence table and manifest.jsonl, where it is "
            "recorded, and compare with the recorded SHA-256; list files under <case>/evidence/ "
            "recorded nowhere, and recorded files that are symbolic links or lie outside the case "
            "folder. Exit status 1 when anything is changed, missing, unexpected, linked or "
            "unreadable."
        ),
        epilog="example: s3forensics verify --case cases/acme",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("--case", required=True, type=Path, metavar="DIR", help="case folder")
    v.set_defaults(func=_verify)


def _acquire(args: argparse.Namespace) -> int:
    from ..acquire import acquire, plan_acquisition  # boto3: only when acquiring
    from ..case import Case

    # Validate the window before touching the network or the case folder.
    start, end = window_of(args)
    options: dict[str, Any] = {
        "bucket": args.bucket,
        "prefix": args.prefix,
        "start": start,
        "end": end,
        "kind": args.kind,
        "accounts": _names(args.account),
        "regions": _names(args.region),
        "lookback": args.lookback,
        "workers": args.workers,
        "endpoint_url": args.endpoint_url,
        "profile": args.profile,
    }
    if args.plan:
        print(plan_acquisition(**options))
        return 0
    with Case.open(args.case) as case:
        result = acquire(case, progress=not args.quiet, **options)
    print(result)
    print(f"case: {args.case}  (manifest: {args.case / 'manifest.jsonl'})")
    return 0


def _verify(args: argparse.Namespace) -> int:
    if not (args.case / "case.duckdb").exists() and not (args.case / "manifest.jsonl").exists():
        raise CaseError(f"{args.case}: not a case folder (no case.duckdb or manifest.jsonl)")
    from ..manifest import verify_case

    report = verify_case(args.case)
    print(report)
    if not report.ok:
        print(
            f"s3forensics verify: {args.case}: evidence does not match its records", file=sys.stderr
        )
    return 0 if report.ok else 1
