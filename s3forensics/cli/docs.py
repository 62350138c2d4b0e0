"""Render the command-line reference as Markdown from the parsers' own --help."""

from __future__ import annotations

import argparse

from .main import build_parser

__all__ = ["cli_markdown"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_markdown() -> str:
    """docs/cli.md: the top-level help and every command's help, verbatim."""
    parser = build_parser()
    # A fixed width keeps the text identical on every terminal.
    parser.formatter_class = lambda prog: argparse.RawDescriptionHelpFormatter(prog, width=100)
    out = ["# Command-line reference", "",
           "Generated from `--help` by `python -m s3forensics.cli.docs > docs/cli.md`; a test fails "
           "when it is out of date.", "", "```", parser.format_help().rstrip(), "```", ""]
    for name, sub in sorted(_subparsers(parser).items()):
        sub.formatter_class = lambda prog: argparse.RawDescriptionHelpFormatter(prog, width=100)
        out += [f"## `s3forensics {name}`", "", "```", sub.format_help().rstrip(), "```", ""]
        for child, subsub in sorted(_subparsers(sub).items()):  # command groups: `lake build`...
            subsub.formatter_class = lambda prog: argparse.RawDescriptionHelpFormatter(prog, width=100)
            out += [f"### `s3forensics {name} {child}`", "", "```", subsub.format_help().rstrip(),
                    "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(cli_markdown(), end="")
