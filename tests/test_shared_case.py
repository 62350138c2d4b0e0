"""A case several people and tools use at once (issue 18): readers side by side, writers told why not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from s3forensics.case import Case
from s3forensics.cli.main import main

from .factories import sal_object

ROOT = Path(__file__).resolve().parents[1]
SAL_NAME = "logs/2024-05-01-12-10-00-0123456789ABCDEF"


@contextmanager
def held_read_only(case_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process (as a notebook would) holding the case open read-only until the block ends."""
    code = (
        "import sys; from s3forensics.case import Case; "
        "case = Case.open(sys.argv[1], create=False, read_only=True); "
        "print('ready', flush=True); sys.stdin.read(); case.close()"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", code, str(case_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


@pytest.fixture
def shared_case(sample_case_dir: Path, tmp_path: Path) -> Path:
    """A copy of the sample case (the session's own must not change)."""
    root = tmp_path / "case"
    shutil.copytree(sample_case_dir, root)
    return root


def test_query_findings_and_run_work_while_another_process_holds_the_case_read_only(
    shared_case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with held_read_only(shared_case):
        assert main(["query", "case_overview", "--case", str(shared_case), "--format", "csv"]) == 0
        assert capsys.readouterr().out.startswith("source,objects")
        assert main(["findings", "--case", str(shared_case), "--format", "json"]) == 0
        assert (shared_case / "findings" / "findings.json").is_file()
        capsys.readouterr()
        # The ingest notebook has nothing to load: it opens read-only and says so; the others
        # always read only.
        assert main(["run", "--case", str(shared_case), "--notebook", "01",
                     "--notebook", "02"]) == 0
        out = capsys.readouterr().out
        assert "01_acquire_and_ingest" in out and "FAILED" not in out
    executed = (shared_case / "reports" / "01_acquire_and_ingest.ipynb").read_text()
    assert "opened read-only" in executed and "not stored in the case" in executed


def test_a_writer_blocked_by_readers_says_so_in_one_line_naming_what_holds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case_dir = tmp_path / "case"
    first = tmp_path / "first"
    (first / "logs").mkdir(parents=True)
    (first / SAL_NAME).write_bytes(sal_object(3))
    with Case.open(case_dir) as case:
        case.ingest([first], progress=False)
        before = case.tables()
    files_before = sorted(p.relative_to(case_dir) for p in case_dir.rglob("*"))
    second = tmp_path / "second"
    (second / "logs").mkdir(parents=True)
    (second / SAL_NAME).write_bytes(sal_object(2, start=50))
    with held_read_only(case_dir) as holder:
        assert main(["ingest", "--quiet", "--case", str(case_dir), str(second)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"PID {holder.pid}" in err and "Case.open" in err  # the holder's command line
        assert "open in another process" in err
        assert main(["enrich", "--case", str(case_dir)]) == 1
        assert f"PID {holder.pid}" in capsys.readouterr().err
    # Nothing was written: no row, no copy, no file.
    assert sorted(p.relative_to(case_dir) for p in case_dir.rglob("*")) == files_before
    with Case.open(case_dir, create=False, read_only=True) as case:
        assert case.tables() == before
