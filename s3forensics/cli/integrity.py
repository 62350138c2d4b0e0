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
            "and each log file's SHA-256. Prints counts per account and region, the problems\n"
            "grouped by kind (a count and a few examples each), and one verdict:\n"
            "  VALID         every log file held is proven and no hour lacks a digest\n"
            "  UNVERIFIABLE  nothing is wrong, but something could not be proven: a public key or\n"
            "                a digest signature is missing (it says what to supply), or log files\n"
            "                were delivered while no digest was written\n"
            "  FAILED        something is wrong with the evidence: a file altered, deleted or\n"
            "                inserted, a signature or chain link that does not verify\n"
            "Results are stored in the case (tables trail_integrity and trail_coverage).\n"
            "Exit status: 1 when FAILED (with --strict, also when UNVERIFIABLE), else 0."
        ),
        epilog=(
            "examples:\n"
            "  s3forensics verify-trail --case cases/acme\n"
            "  s3forensics verify-trail --case cases/acme --verbose --strict\n"
            "  s3forensics verify-trail --case cases/acme --public-key keys.json \\\n"
            "      --object-metadata object-metadata.json\n\n"
            "Public keys and digest signatures are taken from the case: captured by `s3forensics\n"
            "acquire` (ListPublicKeys, S3 object metadata), or kept by `s3forensics ingest` when the\n"
            "folders it loads hold a public key (PEM, DER, `aws cloudtrail list-public-keys` JSON)\n"
            "or an object-metadata JSON file. --public-key and --object-metadata add more."
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
        help="also exit 1 when the verdict is UNVERIFIABLE (a key or signature missing, "
        "log files or hours no digest covers)",
    )
    p.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="list every problem file and every period without a digest",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=3,
        metavar="N",
        help="examples shown for each kind of problem (default 3; all are in trail_integrity)",
    )
    p.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    from ..case import Case
    from ..integrity import verify_trail

    with Case.open(args.case, create=False) as case:
        report = verify_trail(
            case, public_keys=args.public_key, object_metadata=args.object_metadata
        )
        print(report.render(limit=max(0, args.limit), verbose=args.verbose))
        print(f"stored in {case.root / 'case.duckdb'}: tables trail_integrity, trail_coverage")
    verdict = report.verdict
    if verdict.failed or (args.strict and verdict.word == "UNVERIFIABLE"):
        return 1
    return 0
