"""The UTC window options every command that takes one declares alike: `--start T --end T`.

Declared by `add_window` (one help text everywhere) and read by `window_of` after parsing, not by
an argparse `type`: a bad time is then the library's `TimeRangeError`, which `main` prints as one
line naming the flag, instead of argparse's usage block.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from ..errors import TimeRangeError
from ..timerange import parse_utc

__all__ = ["add_window", "window_of"]

START_HELP = "window start, ISO-8601 with a zone (e.g. 2024-05-01T00:00Z); inclusive"
END_HELP = "window end, ISO-8601 with a zone; exclusive"


def add_window(parser: argparse.ArgumentParser, *, required: bool = False, note: str = "") -> None:
    """Add --start T and --end T to `parser`; `note` says what the window applies to."""
    suffix = f" ({note})" if note else ""
    parser.add_argument("--start", required=required, metavar="T", help=START_HELP + suffix)
    parser.add_argument("--end", required=required, metavar="T", help=END_HELP + suffix)


def window_of(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """--start and --end as UTC-aware datetimes (None when not given); start must precede end."""
    start = parse_utc(args.start, name="--start") if args.start is not None else None
    end = parse_utc(args.end, name="--end") if args.end is not None else None
    if start is not None and end is not None and start >= end:
        raise TimeRangeError(f"--start {start.isoformat()} is not before --end {end.isoformat()}")
    return start, end
