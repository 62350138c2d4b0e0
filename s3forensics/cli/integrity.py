"""`s3forensics verify-trail`: validate a case's CloudTrail logs against their digests, offline."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `verify-trail` command."""
    p = sub.add_parser(
        "verify-trail",
        help="prove CloudTrail log files are what AWS delivered (digests, offline)",
        description=(
            "Validate the case's CloudTrail log files against CloudTrail's signed hourly digests,\n"
            "without network access: each digest's SHA256withRSA signature, the chain of digests,\n"
            "and each log file's SHA-256. Reports, per account and region, valid, modified,\n"
            "missing and extra files, broken links, and hours no digest covers. Results are\n"
            "stored in the case (tables trail_integrity and trail_coverage).\n"
            "Exit status 1 when any file fails validation."
        ),
        epilog=(
            "examples:\n"
            "  s3forensics verify-trail --case cases/acme\n"
            "  s3forensics verify-trail --case cases/demo \\\n"
            "      --public-key data/samples/cloudtrail-public-key.pem \\\n"
            "      --object-metadata data/samples/object-metadata.json\n\n"
            "Public keys come from the case (ListPublicKeys, captured by `s3forensics acquire`) and\n"
            "from --public-key. Digest signatures come from S3 object metadata: recorded by acquire,\n"
            "or given with --object-metadata for files copied by other means."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--case", required=True, type=Path, metavar="DIR", help="case folder")
    p.add_argument(
        "--public-key",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="CloudTrail public key: PEM, DER, or `aws cloudtrail list-public-keys` JSON "
        "(repeatable)",
    )
    p.add_argument(
        "--object-metadata",
        type=Path,
        metavar="FILE",
        help='JSON {"<bucket>/<key>": {"signature": "<hex>", "signature-algorithm": '
        '"SHA256withRSA"}} for digests not acquired with s3forensics',
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="also exit 1 when log files or hours are not covered by any digest",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=40,
        metavar="N",
        help="list at most N problem files (default 40; all are in trail_integrity)",
    )
    p.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    from ..case import Case
    from ..integrity import verify_trail

    with Case.open(args.case, create=False) as case:
        report = verify_trail(
            case, public_keys=args.public_key, object_metadata=args.object_metadata
        )
        print(report.render(limit=max(0, args.limit)))
        print(f"stored in {case.root / 'case.duckdb'}: tables trail_integrity, trail_coverage")
    if not report.ok or (args.strict and not report.complete):
        return 1
    return 0
