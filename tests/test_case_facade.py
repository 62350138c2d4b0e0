"""One class says what a case can do: each verb gives what the module behind it gives."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import s3forensics as s3f
from s3forensics.findings import run_findings
from s3forensics.queries import default_registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def case_copy(sample_case_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(sample_case_dir, target)
    return target


def test_query_and_findings_are_the_catalogue_run_on_the_case(case_copy: Path,
                                                               answers: dict[str, Any]) -> None:
    with s3f.Case.open(case_copy, read_only=True) as case:
        by_verb = case.query("top_source_ips", limit=5)
        direct = default_registry().get("top_source_ips").run(case.con, {"limit": 5})
        assert by_verb.equals(direct) and by_verb.height == 5
        found = case.findings(start="2026-10-01T00:00:00Z")
        assert [f.detection for f in found] == [
            f.detection for f in run_findings(case.con, start="2026-10-01T00:00:00Z")]
        ip = sorted(answers["attacker"]["ips"])[0]
        assert case.profile("ip", ip).summary
    with pytest.raises(s3f.QueryError, match="no_such_query"):
        with s3f.Case.open(case_copy, read_only=True) as case:
            case.query("no_such_query")


def test_findings_saved_through_the_case_land_under_findings(case_copy: Path) -> None:
    with s3f.Case.open(case_copy) as case:
        found = case.findings(save=True)
    assert found and (case_copy / "findings" / "findings.json").exists()


def test_verify_enrich_and_verify_trail_through_the_case(case_copy: Path) -> None:
    samples = ROOT / "data" / "samples"
    with s3f.Case.open(case_copy) as case:
        assert case.verify().ok
        summary = case.enrich()
        assert summary["ip_enrichment"] > 0
        report = case.verify_trail(public_keys=[samples / "cloudtrail-public-key.pem"],
                                   object_metadata=samples / "object-metadata.json")
        assert report.ok
    with s3f.Case.open(case_copy, read_only=True) as case:
        with pytest.raises(s3f.CaseError):
            case.enrich()  # a reader cannot write: said, not half-done


def test_report_runs_notebooks_while_the_case_object_stays_usable(case_copy: Path) -> None:
    with s3f.Case.open(case_copy) as case:
        run = case.report(notebooks=["02_triage_overview"], progress=False)
        assert run.ok, [r.error for r in run.runs]
        assert case.tables()["s3_access_logs"] > 0  # the connection came back
    assert (case_copy / "reports" / "02_triage_overview.html").exists()
