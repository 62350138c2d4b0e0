"""Shared fixtures: the bundled sample case (ingested once) and its executed notebook report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


@pytest.fixture(scope="session")
def answers() -> dict[str, Any]:
    """The answer key of the bundled breach scenario."""
    return json.loads((SAMPLES / "answers.json").read_text())


@pytest.fixture(scope="session")
def sample_case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case holding the bundled samples, ingested once per test session (do not modify it)."""
    from s3forensics.case import Case

    root = tmp_path_factory.mktemp("sample-case") / "case"
    with Case.open(root) as case:
        case.ingest([SAMPLES], progress=False)
    return root


@pytest.fixture(scope="session")
def executed(sample_case_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A copy of the sample case with every guided notebook run once into reports/, and the run."""
    import shutil

    from s3forensics.report import run_notebooks

    root = tmp_path_factory.mktemp("report-case") / "case"
    shutil.copytree(sample_case_dir, root)
    return root, run_notebooks(root, progress=False, pdf=True)


@pytest.fixture(scope="session")
def report_case_dir(executed: tuple[Path, Any]) -> Path:
    """The executed case's folder, once every notebook ran to the end."""
    root, report = executed
    failures = [f"{r.name}: cell {r.failed_cell}: {r.error}" for r in report.runs if not r.ok]
    assert not failures, "notebooks failed:\n" + "\n".join(failures)
    return root
