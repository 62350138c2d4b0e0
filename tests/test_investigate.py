"""The investigation library on the bundled breach: detections, findings, correlation, pivots, charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from s3forensics import charts
from s3forensics.case import Case
from s3forensics.findings import findings_frame, run_findings, save_findings
from s3forensics.pivots import profile
from s3forensics.queries import default_registry


def _split(cell: object) -> set[str]:
    """The entities of a finding-row cell: one value, or a list of them."""
    if cell is None:
        return set()
    return {str(v) for v in cell} if isinstance(cell, list) else {str(cell)}


@pytest.fixture(scope="module")
def case(sample_case_dir: Path):  # type: ignore[no-untyped-def]
    with Case.open(sample_case_dir, create=False, read_only=True) as c:
        yield c


@pytest.fixture(scope="module")
def findings(case: Case):  # type: ignore[no-untyped-def]
    return run_findings(case.con)


# Detections for attacks the bundled breach does not contain, each proven to fire on a scenario
# of its own (the test named here).
PROVEN_ON_OTHER_SCENARIOS = {
    "root_account_used": "tests/test_scenarios.py::test_root_use_is_a_finding",
    "bucket_deleted": "tests/test_scenarios.py::test_bucket_deletion_is_a_finding",
    "bucket_replicated_to_foreign_account":
        "tests/test_detections_breadth.py::test_replication_to_a_foreign_account_or_unknown_bucket_is_found",
    "bucket_replication_removed":
        "tests/test_detections_breadth.py::test_replication_to_a_foreign_account_or_unknown_bucket_is_found",
    "bucket_encryption_key_changed_or_removed":
        "tests/test_detections_breadth.py::test_default_encryption_moved_to_a_foreign_or_never_used_key_or_removed",
    "iam_persistence_added_by_suspect_principal":
        "tests/test_detections_breadth.py::test_iam_persistence_by_a_principal_that_touched_data_or_came_from_a_new_network",
    "instance_credentials_used_outside_instance":
        "tests/test_detections_breadth.py::test_instance_credentials_used_from_outside_the_instance",
    "object_versions_destroyed_in_bulk":
        "tests/test_detections_breadth.py::test_object_versions_destroyed_in_bulk_but_not_delete_markers_or_lifecycle",
    "object_lock_weakened": "tests/test_detections_breadth.py::test_object_lock_shortened_removed_or_bypassed",
    "objects_copied_to_foreign_bucket":
        "tests/test_detections_breadth.py::test_objects_copied_out_to_another_accounts_bucket",
    "cloudtrail_event_id_reused":
        "tests/test_case.py::test_a_record_reusing_an_event_id_with_other_content_is_kept_across_ingests",
}


def test_every_detection_fires_on_the_breach_and_on_no_benign_actor(
        case: Case, answers: dict[str, Any]) -> None:
    _assert_detections_find_only_the_breach(case.con, answers, "bundled samples")


def _assert_detections_find_only_the_breach(con: Any, answers: dict[str, Any], where: str) -> None:
    """Every detection fires (unless proven elsewhere), and only on the attacker, never on the benign."""
    attacker_ips = set(answers["attacker"]["ips"])
    benign_ips = {ip for b in answers["benign_actors"] for ip in b["ips"]} - attacker_ips
    # The leaked key belongs to a real user who keeps working: their principal alone is no proof.
    attacker_only = set(answers["attacker"]["principals"]) - {
        p for b in answers["benign_actors"] for p in b["principals"]}
    for query in default_registry().list(kind="detection"):
        rows = query.run(con)
        if query.name in PROVEN_ON_OTHER_SCENARIOS:
            assert rows.height == 0, f"{where}: {query.name} fires on a scenario without it"
            continue
        assert rows.height > 0, f"{where}: {query.name} does not fire on the planted breach"
        for row in rows.iter_rows(named=True):
            ips, principals = _split(row["source_ip"]), _split(row["principal"])
            assert ips & attacker_ips or principals & attacker_only, \
                f"{where}: {query.name} fired on something that is not the breach: {row}"
            assert not ips & benign_ips, f"{where}: {query.name} flags benign addresses {ips & benign_ips}"


def test_findings_name_every_attacker_ip_principal_and_key(
        findings: list, answers: dict[str, Any], tmp_path: Path) -> None:  # type: ignore[type-arg]
    ips = {ip for f in findings for ip in f.entities["ips"]}
    principals = {p for f in findings for p in f.entities["principals"]}
    keys = {k for f in findings for k in f.entities["access_keys"]}
    assert set(answers["attacker"]["ips"]) <= ips
    assert set(answers["attacker"]["principals"]) <= principals
    assert set(answers["attacker"]["access_keys"]) <= keys
    severities = [f.severity for f in findings]
    order = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index), "most severe first"
    window = answers["window"]
    for f in findings:
        assert f.first_seen.isoformat() >= window["start"][:10]
    path = save_findings(tmp_path, findings, parameters={"start": None})
    saved = json.loads(path.read_text())
    assert [s["detection"] for s in saved] == [f.detection for f in findings]
    assert set(saved[0]) >= {"detection", "title", "severity", "mitre", "count", "first_seen",
                             "last_seen", "entities"}
    assert set(saved[0]["entities"]) == {"ips", "principals", "access_keys", "buckets", "keys"}
    assert (tmp_path / "findings" / "run.json").exists()
    assert findings_frame(findings).height == len(findings)


def test_findings_window_limits_what_is_reported(case: Case, answers: dict[str, Any]) -> None:
    before = run_findings(case.con, end="2026-10-08T00:00:00Z")
    assert before == [], "nothing malicious happened before the breach"
    during = run_findings(case.con, start=answers["window"]["start"], end=answers["window"]["end"])
    assert {f.detection for f in during} == {
        q.name for q in default_registry().list(kind="detection")} - set(PROVEN_ON_OTHER_SCENARIOS)


def test_findings_cli_writes_json_in_the_documented_shape(sample_case_dir: Path, tmp_path: Path,
                                                          answers: dict[str, Any]) -> None:
    import shutil

    case_copy = tmp_path / "case"
    shutil.copytree(sample_case_dir, case_copy)
    out = subprocess.run([sys.executable, "-m", "s3forensics", "findings", "--case", str(case_copy),
                          "--format", "json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data[0]["severity"] == "critical"
    assert set(answers["attacker"]["ips"]) <= {ip for d in data for ip in d["entities"]["ips"]}
    assert (case_copy / "findings" / "findings.json").exists()


def test_correlation_matches_both_sources_and_explains_one_sided_rows(case: Case) -> None:
    corr = case.sql("SELECT match_status, reason, host_id_confirmed, operation FROM s3_request_correlation")
    both = corr.filter(pl.col("match_status") == "both")
    assert both.height > 1000
    assert both["host_id_confirmed"].all(), "every request-id match is confirmed by x-amz-id-2"
    one_sided = corr.filter(pl.col("match_status") != "both")
    assert one_sided["reason"].null_count() == 0
    lifecycle = corr.filter(pl.col("operation") == "S3.EXPIRE.OBJECT")
    assert lifecycle.height > 0 and set(lifecycle["match_status"]) == {"access_log_only"}
    assert set(lifecycle["reason"].str.slice(0, 14)) == {"S3's own actio"}


def test_batch_deletes_recover_the_keys_cloudtrail_does_not_name(case: Case, answers: dict[str, Any]) -> None:
    deletes = case.sql("SELECT * FROM batch_delete_keys WHERE principal LIKE '%svc-reporting'")
    keys = {k for row in deletes["object_keys"] for k in row}
    assert keys == {d["key"] for d in answers["deleted_keys"]}
    assert deletes["keys_from_access_log"].all()


def test_access_log_rows_gain_cloudtrail_identity(case: Case, answers: dict[str, Any]) -> None:
    stolen = {s["request_id"] for s in answers["stolen_objects"] if s["via"] == "leaked-key"}
    rows = case.sql("SELECT request_id, access_key_id FROM access_log_identity WHERE request_id IN "
                    "(SELECT unnest($ids))", {"ids": sorted(stolen)})
    assert rows.height == len(stolen)
    assert set(rows["access_key_id"]) == set(answers["attacker"]["access_keys"])


def test_assumed_role_sessions_trace_back_to_their_assume_role_event(case: Case) -> None:
    origins = case.sql("SELECT * FROM session_origins WHERE role_arn LIKE '%role/nightly-export'")
    used = case.sql("SELECT DISTINCT access_key_id FROM cloudtrail_events "
                    "WHERE session_issuer_arn LIKE '%role/nightly-export'")
    assert used.height > 0
    assert set(used["access_key_id"]) <= set(origins["session_access_key_id"])
    assert set(origins["issued_to_principal"]) == {"ec2.amazonaws.com"}


def test_timeline_is_ordered_and_windowed(case: Case, answers: dict[str, Any]) -> None:
    q = default_registry().get("timeline")
    rows = q.run(case.con, {"start": answers["window"]["start"], "end": answers["window"]["end"]})
    assert list(rows.columns)[:9] == ["event_time", "source", "actor", "source_ip", "operation",
                                      "resource", "outcome", "bytes", "detail"]
    times = rows["event_time"]
    assert times.is_sorted()
    assert times.min().isoformat() >= answers["window"]["start"].replace("Z", "+00:00")
    assert set(rows["source"]) == {"s3-access", "cloudtrail"}


def test_stolen_bytes_are_what_the_attacker_read(case: Case, answers: dict[str, Any]) -> None:
    per_ip = default_registry().get("top_source_ips").run(case.con, {"limit": 1000})
    attacker = per_ip.filter(pl.col("source_ip").is_in(answers["attacker"]["ips"]))
    stolen = {}
    for s in answers["stolen_objects"]:
        stolen[s["source_ip"]] = stolen.get(s["source_ip"], 0) + s["bytes"]
    byte_col = next(c for c in per_ip.columns if c.startswith("bytes"))
    for ip, nbytes in stolen.items():
        got = attacker.filter(pl.col("source_ip") == ip)[byte_col].item()
        assert got >= nbytes, f"{ip}: {got} bytes counted, {nbytes} stolen"


def test_pivot_on_the_attacker_ip(case: Case, findings: list, answers: dict[str, Any]) -> None:  # type: ignore[type-arg]
    ip = answers["exposure"]["change"]["source_ip"]
    p = profile(case.con, "ip", ip, findings=findings)
    assert p.seen and p.summary["events"] > 0
    assert "bucket_exposed_by_policy_or_acl" in p.findings
    assert answers["exposure"]["change"]["principal"] in set(p.related["actor"]["value"])
    assert p.summary["first_seen"].isoformat().startswith("2026-10-10")
    key = profile(case.con, "access_key", answers["attacker"]["access_keys"][0], findings=findings)
    assert ip in set(key.related["source_ip"]["value"])
    nobody = profile(case.con, "ip", "192.0.2.254")
    assert not nobody.seen


def test_charts_build_from_summary_queries(case: Case, findings: list) -> None:  # type: ignore[type-arg]
    reg = default_registry()
    built = [
        charts.requests_over_time(reg.get("requests_over_time").run(case.con)),
        charts.activity_heatmap(reg.get("activity_heatmap").run(case.con)),
        charts.top_values(reg.get("top_source_ips").run(case.con), label="source_ip",
                          value="requests", title="Top IPs", highlight=["203.0.113.77"]),
        charts.operation_mix(reg.get("operation_mix").run(case.con)),
        charts.error_rates(reg.get("error_rates").run(case.con)),
        charts.ip_principal_matrix(reg.get("ip_principal_matrix").run(case.con)),
        charts.bytes_over_time(reg.get("bytes_out_over_time").run(case.con)),
        charts.findings_timeline(findings_frame(findings)),
    ]
    for chart in built:
        spec = chart.to_dict()
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert spec.get("datasets"), "data is embedded in the spec (no URL to fetch)"
    svg = charts.chart_svg(built[0])
    assert svg.startswith("<svg") and "<rect" in svg
    with pytest.raises(ValueError, match="aggregate"):
        charts.top_values(pl.DataFrame({"a": range(30_000), "b": range(30_000)}), label="a",
                          value="b", title="too big")


@pytest.mark.parametrize("seed", [4, 11])
def test_detections_hold_on_other_draws_of_the_scenario(seed: int, tmp_path: Path) -> None:
    """Other seeds change every benign volume, address and timing: no detection may drift onto them."""
    from s3forensics.samples import generate

    generate(tmp_path / "samples", seed=seed)
    answers = json.loads((tmp_path / "samples" / "answers.json").read_text())
    attacker_ips = set(answers["attacker"]["ips"])
    with Case.open(tmp_path / "case") as case:
        case.ingest([tmp_path / "samples"], progress=False)
        _assert_detections_find_only_the_breach(case.con, answers, f"seed {seed}")
        found = {ip for f in run_findings(case.con) for ip in f.entities["ips"]}
        assert attacker_ips <= found
