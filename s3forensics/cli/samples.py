"""`s3forensics samples`: write the bundled breach scenario and its answer key."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the `samples` command."""
    parser = subparsers.add_parser(
        "samples",
        help="write the sample breach scenario (logs + answer key)",
        description=(
            "Write a week of S3 server access logs and CloudTrail (an organization trail with "
            "signed digests) for a fictitious company, with a breach hidden in it, plus the "
            "answer key (ANSWERS.md, answers.json). Objects are laid out as "
            "DIR/<bucket>/<key>, exactly as S3 would store them. The same seed always writes "
            "the same bytes; the default seed reproduces data/samples."
        ),
        epilog=(
            "examples:\n"
            "  s3forensics samples --out /tmp/samples\n"
            "  s3forensics samples --out /tmp/other --seed 7\n"
            "  s3forensics ingest --case cases/demo /tmp/samples"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder to write (new, empty, or holding earlier samples, which are "
                             "replaced)")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="random seed (default: the seed of the committed data/samples)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..samples import DEFAULT_SEED, generate

    samples = generate(args.out, seed=DEFAULT_SEED if args.seed is None else args.seed)
    counts = samples.answers["counts"]
    print(f"wrote {len(samples.files):,} files ({samples.size / 1_000_000:.1f} MB) to {args.out}: "
          f"{counts['access_log_objects']:,} access log objects, "
          f"{counts['cloudtrail_files']:,} CloudTrail files, {counts['digest_files']:,} digests; "
          "answer key in ANSWERS.md and answers.json")
    return 0
