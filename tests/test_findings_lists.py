"""Findings carry lists: an object key, a user agent or a principal that contains ', ' stays one value
from the detection through the findings, their JSON, the narrative and every export."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from s3forensics.case import Case
from s3forensics.cli.main import main
from s3forensics.export import export_case
from s3forensics.findings import Finding, run_findings
from s3forensics.narrative import describe_findings, rank_entities, suggest_pivots
from s3forensics.render import format_access_log_line, render_cloudtrail_file
from tests.factories import T0, ct_record, sal_record

OWN = "111122223333"
OFFICE_IP = "192.0.2.10"
ATTACKER_IP = "203.0.113.9"
ALICE = f"arn:aws:iam::{OWN}:user/alice"
# Values an attacker chooses (keys, user agents) or that CloudTrail passes through: each holds ', '.
COMMA_KEYS = ["reports/q1, final.csv", "a, b/c.txt", "=cmd, x.csv"]
BULK_KEYS = [*COMMA_KEYS, *(f"bulk/{i:02d}.csv" for i in range(20))]
USER_AGENT = "rclone/v1.66.0, (linux; amd64)"
ROLE = f"arn:aws:sts::{OWN}:assumed-role/Ops, Admin/s1"
ROLE_IDENTITY = {"type": "AssumedRole", "principalId": "AROAEXAMPLEOPS:s1", "arn": ROLE,
                 "accountId": OWN, "accessKeyId": "ASIAEXAMPLEOPS00001"}


def _access_log() -> list[dict[str, Any]]:
    baseline = sal_record(0, requester=ALICE, remote_ip=OFFICE_IP)  # alice's usual client: aws-cli
    later = T0 + timedelta(hours=30)
    deletes = [
        sal_record(100 + i, requester=ALICE, remote_ip=ATTACKER_IP, user_agent=USER_AGENT,
                   event_time=later + timedelta(seconds=i), operation="REST.DELETE.OBJECT",
                   object_key=key, request_uri=f"DELETE /acme-data/{key} HTTP/1.1", http_status=204,
                   bytes_sent=None, object_size=None)
        for i, key in enumerate(BULK_KEYS)]
    return [baseline, *deletes]


def _trail() -> list[dict[str, Any]]:
    later = T0 + timedelta(hours=31)
    return [
        ct_record(300 + i, eventName="DeleteObject", userIdentity=ROLE_IDENTITY,
                  sourceIPAddress=ATTACKER_IP, readOnly=False,
                  eventTime=(later + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  requestParameters={"bucketName": "acme-data", "key": f"ct/{i:02d}.csv"},
                  resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::acme-data/ct/{i:02d}.csv"}])
        for i in range(20)]


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lists")
    evidence = root / "evidence"
    trail_folder = evidence / "AWSLogs" / OWN / "CloudTrail" / "us-east-1" / "2024" / "05" / "02"
    trail_folder.mkdir(parents=True)
    (trail_folder / f"{OWN}_CloudTrail_us-east-1_20240502T1900Z_abcdEFGH12345678.json.gz").write_bytes(
        render_cloudtrail_file(_trail()))
    (evidence / "2024-05-02-19-00-00-ABCDEF0123456789").write_text(
        "\n".join(format_access_log_line(r) for r in _access_log()) + "\n")
    with Case.open(root / "case") as case:
        case.ingest([evidence], progress=False)
    return root / "case"


@pytest.fixture(scope="module")
def findings(case_dir: Path) -> dict[str, Finding]:
    with Case.open(case_dir, create=False, read_only=True) as case:
        return {f.detection: f for f in run_findings(case.con)}


def test_findings_keep_keys_and_principals_with_comma_space_whole(findings: dict[str, Finding]) -> None:
    deleted = findings["objects_deleted_in_bulk"]
    assert set(BULK_KEYS) <= set(deleted.entities["keys"])
    assert {"a", "b/c.txt", "reports/q1", "final.csv"}.isdisjoint(deleted.entities["keys"])
    assert set(deleted.entities["principals"]) == {ALICE, ROLE}
    # The rows hold lists where a row sums up several requests, never text to split again.
    keys = deleted.rows.filter(deleted.rows["principal"] == ALICE)["object_key"].to_list()
    assert keys == [sorted(BULK_KEYS)]
    new_client = findings["user_agent_new_for_principal"]
    assert new_client.entities["principals"] == [ALICE]
    assert new_client.rows["detail"].to_list() == [f"new client rclone: {USER_AGENT}"]


def test_findings_json_and_saved_findings_hold_arrays_of_whole_values(
        case_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    case = tmp_path / "case"
    shutil.copytree(case_dir, case)
    assert main(["findings", "--case", str(case), "--format", "json"]) == 0
    printed = {f["detection"]: f for f in json.loads(capsys.readouterr().out)}
    saved = {f["detection"]: f for f in json.loads((case / "findings" / "findings.json").read_text())}
    for out in (printed, saved):
        entities = out["objects_deleted_in_bulk"]["entities"]
        assert set(BULK_KEYS) <= set(entities["keys"])
        assert ROLE in entities["principals"] and "Admin/s1" not in entities["principals"]
        assert set(entities) == {"ips", "principals", "access_keys", "buckets", "keys"}
    # The saved rows: one spreadsheet cell per list, one item a line, each made inert.
    with open(case / "findings" / "objects_deleted_in_bulk.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    alice = next(r for r in rows if r["principal"] == ALICE)
    assert set(alice["object_key"].split("\n")) == {*BULK_KEYS[:2], "'=cmd, x.csv", *BULK_KEYS[3:]}


def test_narrative_names_a_principal_with_comma_space_whole(findings: dict[str, Finding]) -> None:
    found = list(findings.values())
    principals = rank_entities(found, "principal")["value"].to_list()
    assert ROLE in principals and ALICE in principals
    assert not any(p in ("Admin/s1", f"arn:aws:sts::{OWN}:assumed-role/Ops") for p in principals)
    assert ROLE in describe_findings(found)
    assert f"`-p principal {ROLE}`" in suggest_pivots(findings=found)
    assert rank_entities(found, "ip")["value"].to_list()[0] == ATTACKER_IP


def test_exports_keep_lists_whole_and_csv_cells_inert(case_dir: Path) -> None:
    with Case.open(case_dir, create=False, read_only=True) as case:
        jsonl, text = io.StringIO(), io.StringIO()
        export_case(case.con, "jsonl", jsonl)
        export_case(case.con, "csv", text)
    rows = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    deleted = {tuple(r["principal"]): r for r in rows if r["detection"] == "objects_deleted_in_bulk"}
    assert set(deleted) == {(ALICE,), (ROLE,)}
    assert deleted[(ALICE,)]["object_key"] == sorted(BULK_KEYS)
    assert deleted[(ALICE,)]["source_ip"] == [ATTACKER_IP]
    # Every finding's entity columns are arrays, so rows of all detections stack alike.
    assert all(isinstance(r[c], list) for r in rows
               for c in ("principal", "source_ip", "access_key_id", "bucket", "object_key"))
    assert any(USER_AGENT in r["detail"] for r in rows if r["detection"] == "user_agent_new_for_principal")
    cells = [r for r in csv.DictReader(io.StringIO(text.getvalue()))
             if r["detection"] == "objects_deleted_in_bulk" and r["principal"] == ALICE]
    assert len(cells) == 1
    assert set(cells[0]["object_key"].split("\n")) == {*BULK_KEYS[:2], "'=cmd, x.csv", *BULK_KEYS[3:]}
