"""Breach scenarios other than the bundled one: the notebooks must run and say sensible things.

Small cases are built with the package from hand-written evidence: CloudTrail with management
events only (no access logs, no data events, no digests), and three access log lines spanning one
minute (no CloudTrail). The notebooks run on them with papermill through `run_notebooks`, also with
parameters naming things the case does not hold, and the sentences they print must not pass a
missing log source off as "nothing happened".
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import polars as pl
import pytest

from s3forensics.case import Case
from s3forensics.narrative import (
    case_sources,
    describe_findings,
    describe_lead,
    describe_peak,
    describe_profile,
    describe_top,
    source_caveat,
)
from s3forensics.pivots import profile
from s3forensics.report import RunReport, run_notebooks

ACCOUNT = "999988887777"
ATTACKER_IP = "198.51.100.23"
CLI = "aws-cli/2.15.0 Python/3.11 Linux/6.5 exe/x86_64.kali.2024"
MALLORY = {"type": "IAMUser", "principalId": "AIDAEXAMPLE1", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory",
           "accountId": ACCOUNT, "userName": "mallory", "accessKeyId": "AKIAEXAMPLEKEY000001"}
ROLE = {"type": "AssumedRole", "principalId": "AROAEX:sess", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/OrgAdmin/sess",
        "accountId": ACCOUNT, "accessKeyId": "ASIAEXAMPLEKEY00001",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEX",
                                             "arn": f"arn:aws:iam::{ACCOUNT}:role/OrgAdmin",
                                             "accountId": ACCOUNT, "userName": "OrgAdmin"}}}
ROOT_USER = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
SAL_LINE = ('79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be victim-bucket '
            '[02/Mar/2026:12:00:{second:02d} +0000] 192.0.2.44 arn:aws:iam::{account}:user/reporter {rid} '
            'REST.GET.OBJECT exports/{n}.csv "GET /exports/{n}.csv HTTP/1.1" 200 - 2048 2048 20 10 "-" '
            '"aws-sdk-java/1.12.777" - abc= SigV4 TLS_AES_128_GCM_SHA256 AuthHeader '
            'victim-bucket.s3.us-east-1.amazonaws.com TLSv1.3 - -')


def _event(n: int, minute: int, source: str, name: str, identity: dict[str, Any], *,
           request: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    record = {
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": f"2026-03-02T10:{minute:02d}:00Z",
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ATTACKER_IP,
        "userAgent": CLI, "requestParameters": request, "responseElements": None,
        "requestID": f"REQ{n:013d}", "eventID": f"00000000-0000-0000-0000-{n:012d}", "readOnly": False,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        record.update(errorCode=error, errorMessage="denied")
    return record


def write_management_trail(folder: Path) -> Path:
    """A CloudTrail file of management events only: a backdoored bucket policy, a deleted trail
    and bucket."""
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": "*",
                                                       "Action": "s3:GetObject",
                                                       "Resource": "arn:aws:s3:::victim-bucket/*"}]}
    trail = {"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"}
    records = [
        _event(1, 0, "signin.amazonaws.com", "ConsoleLogin", ROOT_USER),
        _event(2, 1, "sts.amazonaws.com", "AssumeRole", MALLORY,
               request={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/OrgAdmin", "roleSessionName": "sess"}),
        _event(3, 2, "s3.amazonaws.com", "PutBucketPolicy", ROLE,
               request={"bucketName": "victim-bucket", "bucketPolicy": policy}),
        _event(4, 3, "cloudtrail.amazonaws.com", "StopLogging", ROLE, request=trail, error="AccessDenied"),
        _event(5, 4, "cloudtrail.amazonaws.com", "DeleteTrail", ROLE, request=trail),
        _event(6, 5, "iam.amazonaws.com", "CreateAccessKey", ROLE, request={"userName": "backdoor"}),
        _event(7, 6, "s3.amazonaws.com", "DeleteBucket", ROLE, request={"bucketName": "victim-bucket"}),
    ]
    day = folder / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "03" / "02"
    day.mkdir(parents=True)
    path = day / f"{ACCOUNT}_CloudTrail_us-east-1_20260302T1010Z_abcdEFGH12345678.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return folder


def write_tiny_access_log(folder: Path) -> Path:
    """One access log object of three reads within a single minute, nothing else."""
    folder.mkdir(parents=True)
    lines = [SAL_LINE.format(second=10 * i, account=ACCOUNT, rid=f"A{i:015d}", n=i) for i in range(3)]
    (folder / "2026-03-02-12-05-00-ABCDEF0123456789").write_text("\n".join(lines) + "\n")
    return folder


def _case(root: Path, evidence: Path) -> Path:
    with Case.open(root) as case:
        case.ingest([evidence], progress=False)
    return root


@pytest.fixture(scope="module")
def trail_only_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("trail-only")
    return _case(base / "case", write_management_trail(base / "evidence"))


@pytest.fixture(scope="module")
def tiny_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tiny")
    return _case(base / "case", write_tiny_access_log(base / "evidence"))


def _printed(report: RunReport, name: str) -> str:
    run = next(r for r in report.runs if r.name == name)
    nb = nbformat.read(run.ipynb, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def _assert_ran(report: RunReport) -> None:
    failed = {r.name: f"cell {r.failed_cell}: {r.error}" for r in report.runs if not r.ok}
    assert not failed, failed
    for run in report.runs:
        nb = nbformat.read(run.ipynb, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, (run.name, errors)


# -- the sentences, on cases missing a source ------------------------------------------------


def test_an_empty_result_from_a_missing_source_says_so(trail_only_case: Path, tiny_case: Path) -> None:
    with Case.open(trail_only_case, create=False, read_only=True) as case:
        assert case_sources(case.con) == {"s3-access": 0, "cloudtrail": 7}
        caveat = source_caveat(case.con, "requests_over_time")
        assert "reads only S3 server access logs and the case holds none" in caveat
        assert source_caveat(case.con, "bucket_config_changes") == ""
        assert "without the keys" in source_caveat(case.con, "deleted_objects")
        # The connection stays usable after the caveat's own query.
        assert case.sql("SELECT count(*) AS n FROM trail_events")["n"][0] == 7
        # Every detection reads CloudTrail, some also the access logs: none is blind here.
        assert describe_findings([], con=case.con) == "No detection fired in this window."
    with Case.open(tiny_case, create=False, read_only=True) as case:
        text = describe_findings([], con=case.con)
        assert text.startswith("No detection fired in this window. The case holds no CloudTrail events, so ")
        from s3forensics.queries.registry import default_registry

        blind = [q for q in default_registry().list(kind="detection") if q.source == "cloudtrail"]
        assert f"{len(blind)} detection(s)" in text and "their silence proves nothing" in text
        assert "reads only CloudTrail events" in source_caveat(case.con, "bucket_config_changes")
        assert source_caveat(case.con, "requests_over_time") == ""


def test_zero_totals_and_single_periods_are_not_dressed_up_as_rankings() -> None:
    errors = pl.DataFrame({"operation": ["REST.GET.OBJECT", "REST.GET.BUCKET"], "errors": [0, 0]})
    assert describe_top(errors, label="operation", value="errors", what="failed requests") == \
        "No failed requests in this window."
    one = pl.DataFrame({"period_start": [datetime(2026, 3, 2, 12, tzinfo=UTC)], "requests": [3]})
    assert describe_peak(one, time="period_start", value="requests") == \
        "All requests fall in one period: 2026-03-02 12:00Z, with 3."


def test_the_lead_says_why_it_was_chosen() -> None:
    assert describe_lead([], "ip", "192.0.2.44").splitlines() == [
        "investigating 192.0.2.44",
        "(no finding names any address, so this is simply the busiest address in the window - not a suspect by itself)"]
    assert describe_lead([], "ip", "192.0.2.44", given=True).endswith("(given as a parameter)")
    assert describe_lead([], "principal", "").startswith("No principal to investigate")


def test_profiles_follow_the_window_and_count_a_role_s_sessions(trail_only_case: Path) -> None:
    with Case.open(trail_only_case, create=False, read_only=True) as case:
        role = f"arn:aws:iam::{ACCOUNT}:role/OrgAdmin"
        whole = profile(case.con, "principal", role)
        assert whole.summary["events"] == 5 and whole.hourly["requests"].sum() == 5
        early = profile(case.con, "principal", role, start="2026-03-02T10:00:00Z", end="2026-03-02T10:03:00Z")
        assert early.summary["events"] == 1
        empty = profile(case.con, "ip", ATTACKER_IP, start="2030-01-01T00:00:00Z", end="2030-01-02T00:00:00Z")
        assert not empty.seen and empty.hourly.height == 0
        assert "does not appear in the case" in describe_profile(empty)


# -- the notebooks, executed -------------------------------------------------------------------


def test_notebooks_run_on_management_events_only(trail_only_case: Path) -> None:
    report = run_notebooks(trail_only_case, progress=False)
    _assert_ran(report)
    triage = _printed(report, "02_triage_overview")
    assert "No access log requests in this window. This reads only S3 server access logs" in triage
    assert "trail_logging_tampered" in triage and ATTACKER_IP in triage
    index = (trail_only_case / "reports" / "index.html").read_text(encoding="utf-8")
    assert ATTACKER_IP in index
    assert "the case holds no CloudTrail digest files" in index  # not "run notebook 01": it ran
    assert f"investigating {ATTACKER_IP}\n(named by the most severe findings" in _printed(report, "03_investigate_ip")
    assert "Most configuration changes" in _printed(report, "06_destructive_and_config_changes")


def test_notebooks_run_on_three_access_log_lines(tiny_case: Path) -> None:
    report = run_notebooks(tiny_case, progress=False)
    _assert_ran(report)
    assert "No detection fired in this window. The case holds no CloudTrail events" in \
        _printed(report, "07_timeline_and_report")
    assert "(no finding names any address, so this is simply the busiest" in _printed(report, "03_investigate_ip")
    changes = _printed(report, "06_destructive_and_config_changes")
    assert "No configuration changes in this window. This reads only CloudTrail events" in changes
    assert "All bytes sent fall in one period" in _printed(report, "05_hunt_exfiltration")
    index = (tiny_case / "reports" / "index.html").read_text(encoding="utf-8")
    assert "The case holds no CloudTrail log files: there is nothing to validate." in index


def test_parameters_naming_what_the_case_lacks(tiny_case: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "case"
    shutil.copytree(tiny_case, root, ignore=shutil.ignore_patterns("reports", "findings"))
    report = run_notebooks(root, notebooks=["03", "04"], progress=False, parameters={
        "ip": "203.0.113.250", "principal": "arn:aws:iam::123456789012:user/nobody"})
    _assert_ran(report)
    assert "ip 203.0.113.250 does not appear in the case" in _printed(report, "03_investigate_ip")
    assert "does not appear in the case" in _printed(report, "04_investigate_principal")
    report = run_notebooks(root, notebooks=["03"], progress=False, parameters={
        "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"})
    _assert_ran(report)
    printed = _printed(report, "03_investigate_ip")
    assert "No address to investigate" in printed


def test_a_window_without_records_is_not_an_empty_case() -> None:
    from s3forensics.narrative import describe_ip_principals, describe_overview, describe_rare

    overview = pl.DataFrame({"source": ["s3-access", "cloudtrail"], "objects": [3, 0], "rows": [0, 0]})
    assert describe_overview(overview).startswith("No records in this window, though the case holds 3 evidence")
    assert describe_overview(overview.with_columns(objects=pl.lit(0))).startswith("The case holds no records yet")
    empty_mix = pl.DataFrame(schema={"operation": pl.String, "requests": pl.Int64})
    assert describe_rare(empty_mix, label="operation", value="requests") == "No operation values in this window."
    pairs = pl.DataFrame({"source_ip": ["192.0.2.1"], "principal": ["alice"], "requests": [1]})
    assert describe_ip_principals(pairs, "") == "No address chosen, so no principals to show."
    assert describe_ip_principals(pairs, "192.0.2.9") == "No principal acted from 192.0.2.9 in this window."
    assert describe_ip_principals(pairs, "192.0.2.1").startswith("192.0.2.1 acted as 1 principal(s)")


def test_root_use_is_a_finding(trail_only_case: Path) -> None:
    from s3forensics.findings import run_findings

    with Case.open(trail_only_case, create=False) as case:
        findings = run_findings(case.con)
    root = [f for f in findings if f.detection == "root_account_used"]
    assert len(root) == 1
    assert root[0].entities["principals"] == [f"arn:aws:iam::{ACCOUNT}:root"]
    assert root[0].entities["ips"] == [ATTACKER_IP]


def test_bucket_deletion_is_a_finding(trail_only_case: Path) -> None:
    from s3forensics.findings import run_findings

    with Case.open(trail_only_case, create=False) as case:
        findings = run_findings(case.con)
    deleted = [f for f in findings if f.detection == "bucket_deleted"]
    assert len(deleted) == 1
    assert deleted[0].entities["buckets"] == ["victim-bucket"]
    assert deleted[0].entities["principals"] == [f"arn:aws:iam::{ACCOUNT}:role/OrgAdmin"]


def test_bucket_deletion_is_seen_in_either_source_and_reported_once(tmp_path: Path) -> None:
    from s3forensics.queries.registry import default_registry

    owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    line = (owner + " victim-bucket [02/Mar/2026:12:00:0{s} +0000] 192.0.2.44 "
            "arn:aws:iam::" + ACCOUNT + ":user/mallory {rid} REST.DELETE.BUCKET - "
            '"DELETE / HTTP/1.1" {status} {error} - - 20 10 "-" "aws-cli/2.15.0" - abc= SigV4 '
            "TLS_AES_128_GCM_SHA256 AuthHeader victim-bucket.s3.us-east-1.amazonaws.com TLSv1.3 - -")
    logs = tmp_path / "evidence" / "logs"
    logs.mkdir(parents=True)
    (logs / "2026-03-02-12-05-00-ABCDEF0123456789").write_text(
        line.format(s=0, rid="DEL0000000000001", status=409, error="BucketNotEmpty") + "\n"
        + line.format(s=5, rid="DEL0000000000002", status=204, error="-") + "\n")
    # CloudTrail logged the second request too (same request id): one deletion, not two.
    trail = _event(1, 0, "s3.amazonaws.com", "DeleteBucket", MALLORY,
                   request={"bucketName": "victim-bucket"})
    trail.update(requestID="DEL0000000000002", eventTime="2026-03-02T12:00:05Z")
    (tmp_path / "evidence" / "trail.json").write_text(json.dumps({"Records": [trail]}))
    with Case.open(tmp_path / "case") as case:
        case.ingest([tmp_path / "evidence"], progress=False)
        rows = default_registry().get("bucket_deleted").run(case.con)
    assert rows.select("bucket", "detail").rows() == [
        ("victim-bucket", "DeleteBucket (failed: BucketNotEmpty)"),
        ("victim-bucket", "DeleteBucket"),
    ]
    assert rows["access_key_id"].to_list() == [None, "AKIAEXAMPLEKEY000001"]
