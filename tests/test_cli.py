"""The command line: help with examples, summaries, one-line errors and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from s3forensics.cli.main import build_parser

from .factories import ct_object, sal_object

CT_NAME = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T1215Z_abcdEFGH12345678.json.gz"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "s3forensics", *args],
                          capture_output=True, text=True, timeout=120)


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_top_level_help_lists_commands_with_an_example() -> None:
    out = run("--help")
    assert out.returncode == 0
    for name in ("ingest", "demo", "queries", "query", "findings"):
        assert name in out.stdout
    assert "example" in out.stdout


@pytest.mark.parametrize("command", subcommands())
def test_every_command_has_help_with_an_example(command: str) -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[command]  # type: ignore[index]
    text = sub.format_help()
    assert sub.description, command
    assert "example" in text, f"`s3forensics {command} --help` shows no example"


def test_ingest_prints_a_summary_and_names_bad_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "logs").mkdir(parents=True)
    (src / "logs" / "2024-05-01-12-10-00-0123456789ABCDEF").write_bytes(sal_object(4))
    ct = src / CT_NAME
    ct.parent.mkdir(parents=True)
    ct.write_bytes(ct_object(range(3)))
    (src / "bad.json.gz").write_bytes(b"\x1f\x8bnot really gzip")
    out = run("ingest", "--case", str(tmp_path / "case"), "--quiet", str(src))
    assert out.returncode == 0, out.stderr
    assert "s3-access" in out.stdout and "cloudtrail" in out.stdout
    assert "event time span    2024-05-01 12:00:00Z .. 2024-05-01 12:00:03Z" in out.stdout
    assert "bad.json.gz: corrupt gzip" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_ingest_exits_non_zero_only_when_nothing_loads(tmp_path: Path) -> None:
    (tmp_path / "bad.json.gz").write_bytes(b"\x1f\x8bnot really gzip")
    out = run("ingest", "--case", str(tmp_path / "case"), str(tmp_path / "bad.json.gz"))
    assert out.returncode == 1
    assert "corrupt gzip" in out.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run("ingest", "--case", str(tmp_path / "case"), str(empty))
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "empty folder" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("ingest", "--case", str(tmp_path / "case2"), str(tmp_path / "missing"))
    assert out.returncode == 1 and "no such file or folder" in out.stderr
    assert not (tmp_path / "case2").exists()  # no case is created for input that cannot load


def test_unknown_query_is_a_one_line_error(tmp_path: Path) -> None:
    src = tmp_path / "logs" / "2024-05-01-12-10-00-0123456789ABCDEF"
    src.parent.mkdir()
    src.write_bytes(sal_object(2))
    assert run("ingest", "--case", str(tmp_path / "case"), str(src)).returncode == 0
    out = run("query", "no_such_query", "--case", str(tmp_path / "case"))
    assert out.returncode == 1
    assert "unknown query 'no_such_query'" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("query", "top_requesters", "--case", str(tmp_path / "case"), "-p", "limit", "1",
              "--format", "csv")
    assert out.returncode == 0
    assert out.stdout.splitlines()[1].startswith("arn:aws:iam::111122223333:user/alice,2,")


def test_docs_cli_md_is_up_to_date() -> None:
    from s3forensics.cli.docs import cli_markdown

    root = Path(__file__).resolve().parents[1]
    assert (root / "docs" / "cli.md").read_text() == cli_markdown(), \
        "docs/cli.md is stale: run `python -m s3forensics.cli.docs > docs/cli.md`"


def test_a_file_system_error_mid_ingest_is_one_line_and_loads_nothing(tmp_path: Path) -> None:
    src = tmp_path / "logs" / "2024-05-01-12-10-00-0123456789ABCDEF"
    src.parent.mkdir()
    src.write_bytes(sal_object(2))
    case = tmp_path / "case"
    case.mkdir()
    (case / "evidence").write_text("a file where the evidence folder should be")
    out = run("ingest", "--case", str(case), str(src))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0
    assert "error:" in out.stderr and "evidence" in out.stderr
    (case / "evidence").unlink()  # fixed: the same command now loads everything
    assert run("ingest", "--case", str(case), str(src)).returncode == 0


def test_the_library_names_its_parameter_and_the_cli_names_the_flag() -> None:
    import pytest

    from s3forensics import ParameterError
    from s3forensics.acquire import plan_acquisition

    with pytest.raises(ParameterError) as info:
        plan_acquisition(bucket="s3://acme-logs", start="2024-05-01T00:00Z", end="2024-05-02T00:00Z")
    assert info.value.parameter == "bucket" and not str(info.value).startswith("--")
    out = run("acquire", "--case", "unused", "--bucket", "s3://acme-logs", "--plan", "--kind", "auto",
              "--start", "2024-05-01T00:00Z", "--end", "2024-05-02T00:00Z")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "s3forensics acquire: error: --bucket 's3://acme-logs' is not an S3 bucket name "
        "(a bucket name, not s3://...)"]


def test_every_parameter_an_error_speaks_of_is_named_as_its_flag(tmp_path: Path) -> None:
    from s3forensics import ParameterError
    from s3forensics.lake.build import build_lake

    with pytest.raises(ParameterError) as info:  # a bucket needs a window: no S3 call is made
        build_lake(tmp_path / "lake", bucket="acme-logs", end="2024-05-02T00:00Z")
    assert str(info.value) == "bucket needs start and end: the window narrows the listing"
    out = run("lake", "build", "--lake", str(tmp_path / "lake"), "--bucket", "acme-logs",
              "--end", "2024-05-02T00:00Z")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "s3forensics lake: error: --bucket needs --start and --end: the window narrows the listing"]


def _window_options() -> dict[str, list[object]]:
    """Every (sub)command's --start/--end actions, by command path."""
    import argparse

    found: dict[str, list[object]] = {}

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if action.dest in ("start", "end"):
                found.setdefault(path, []).append(action)
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}".strip())

    walk(build_parser(), "")
    return found


def test_every_window_option_is_declared_alike() -> None:
    from s3forensics.cli.window import END_HELP, START_HELP

    found = _window_options()
    assert {"acquire", "export", "findings", "lake build", "lake pull"} <= set(found)
    for command, actions in found.items():
        assert [a.option_strings for a in actions] == [["--start"], ["--end"]], command
        assert all(a.metavar == "T" for a in actions), command
        assert actions[0].help.startswith(START_HELP) and actions[1].help.startswith(END_HELP), command


@pytest.mark.parametrize(("argv", "flag"), [
    (["acquire", "--case", "c", "--bucket", "b", "--kind", "auto", "--start", "yesterday",
      "--end", "2024-05-02T00:00Z"], "--start"),
    (["export", "--case", "c", "--format", "csv", "--end", "2024-05-02T00:00"], "--end"),
    (["findings", "--case", "c", "--start", "yesterday"], "--start"),
    (["lake", "build", "--lake", "l", "--bucket", "b", "--start", "2024-05-01T00:00Z",
      "--end", "2024-05-02"], "--end"),
    (["lake", "pull", "--lake", "l", "--case", "c", "--ip", "203.0.113.45",
      "--start", "2024-05-02T00:00Z", "--end", "2024-05-01T00:00Z"], "--start"),
])
def test_a_bad_window_is_one_line_naming_the_flag_before_any_work(
        argv: list[str], flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from s3forensics.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"s3forensics {argv[0]}: error: {flag} "), err
    assert not any(tmp_path.iterdir())  # nothing was created: no case, no lake
