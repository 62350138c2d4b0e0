"""Assemble the subcommands and turn library errors into one-line messages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

import duckdb

from .. import __version__
from ..errors import S3ForensicsError

# Each module defines `register(subparsers)`; it adds its command(s) and sets `func` on them.
_COMMAND_MODULES = ("ingest", "samples", "acquire", "investigate", "enrich", "integrity", "report",
                    "export", "lake")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="s3forensics",
        description=(
            "Investigate breaches of AWS S3 data: acquire S3 server access logs and CloudTrail "
            "from S3 as evidence, parse them losslessly into a DuckDB case, and query it."
        ),
        epilog="example: s3forensics ingest --case cases/demo data/samples",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"s3forensics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        import_module(f".{name}", __package__).register(sub)
    return parser


def flag(parameter: str) -> str:
    """The command-line flag of a library parameter: `start_after` -> `--start-after`."""
    return "--" + parameter.replace("_", "-")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from ..parse.common import interruptible  # Ctrl-C anywhere in a command: one line, exit 130

    try:
        with interruptible():
            return int(args.func(args) or 0)
    except S3ForensicsError as exc:  # the library names its parameters; a person typed flags
        print(f"s3forensics {args.command}: error: {exc.render(flag)}", file=sys.stderr)
        return 1
    except (OSError, duckdb.Error) as exc:
        # A full disk, a lost mount, a database another process holds: say what, not a traceback.
        print(f"s3forensics {args.command}: error: {exc}; the case keeps only complete batches",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"s3forensics {args.command}: interrupted; the case keeps only complete batches",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
