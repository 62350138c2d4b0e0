"""Detections of the techniques responders replay (Stratus Red Team, Panther, Elastic, Sigma), each
proven on a small scenario of its own: it fires on the attack, and stays quiet (or below high) on
the benign activity that looks like it.

Scenarios are written as real log objects (CloudTrail files, access log lines) and ingested into a
case like any evidence, so the detections see exactly what they would see in an investigation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from s3forensics.case import Case
from s3forensics.queries import default_registry
from s3forensics.render import format_access_log_line, render_cloudtrail_file
from tests.factories import T0, ct_record, sal_record

OWN = "111122223333"
FOREIGN = "444455556666"
OFFICE_IP = "192.0.2.10"
ATTACKER_IP = "203.0.113.66"
ADMIN = {"type": "IAMUser", "principalId": "AIDAEXAMPLEADMIN", "arn": f"arn:aws:iam::{OWN}:user/admin",
         "accountId": OWN, "accessKeyId": "AKIAEXAMPLEADMIN0001", "userName": "admin"}
LEAKED = {"type": "IAMUser", "principalId": "AIDAEXAMPLEBUILD", "arn": f"arn:aws:iam::{OWN}:user/ci-build",
          "accountId": OWN, "accessKeyId": "AKIAEXAMPLEBUILD0001", "userName": "ci-build"}


def event(i: int, name: str, request: dict[str, Any] | None, *, source: str = "s3.amazonaws.com",
          identity: dict[str, Any] | None = None, ip: str = ATTACKER_IP, minutes: float = 0,
          response: dict[str, Any] | None = None, error: str | None = None,
          **over: Any) -> dict[str, Any]:
    """A management event as CloudTrail writes it, `minutes` after T0."""
    rec = ct_record(i, eventName=name, eventSource=source, requestParameters=request,
                    responseElements=response, userIdentity=identity or LEAKED, sourceIPAddress=ip,
                    eventTime=(T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    readOnly=False, managementEvent=True, eventCategory="Management",
                    additionalEventData=None, resources=None,
                    eventID=f"10000000-0000-4000-8000-{i:012d}", requestID=f"MGMT{i:012d}")
    if error:
        rec.update(errorCode=error, errorMessage="denied")
    rec.update(over)
    return rec


def build_case(root: Path, *, trail: Sequence[dict[str, Any]] = (),
               access_log: Iterable[dict[str, Any]] = ()) -> Path:
    """A case holding one CloudTrail file and one access log object made of the given records."""
    evidence = root / "evidence"
    evidence.mkdir(parents=True)
    if trail:
        folder = evidence / "AWSLogs" / OWN / "CloudTrail" / "us-east-1" / "2024" / "05" / "01"
        folder.mkdir(parents=True)
        (folder / f"{OWN}_CloudTrail_us-east-1_20240501T1200Z_abcdEFGH12345678.json.gz").write_bytes(
            render_cloudtrail_file(trail))
    lines = [format_access_log_line(r) for r in access_log]
    if lines:
        (evidence / "2024-05-01-12-00-00-ABCDEF0123456789").write_text("\n".join(lines) + "\n")
    with Case.open(root / "case") as case:
        case.ingest([evidence], progress=False)
    return root / "case"


def run(case_dir: Path, name: str, **params: Any) -> pl.DataFrame:
    with Case.open(case_dir, create=False, read_only=True) as case:
        return default_registry().get(name).run(case.con, params)


def findings_at_or_above_high(case_dir: Path) -> dict[str, list[str]]:
    """Detections of severity high or critical that fire on the case, with their details."""
    out = {}
    with Case.open(case_dir, create=False, read_only=True) as case:
        for q in default_registry().list(kind="detection"):
            if q.severity in ("critical", "high"):
                rows = q.run(case.con)
                if rows.height:
                    out[q.name] = rows["detail"].to_list()
    return out


# -- replication ---------------------------------------------------------------------------------


def _replication(i: int, bucket: str, dest: str, *, account: str | None = None, status: str = "Enabled",
                 identity: dict[str, Any] | None = None, ip: str = ATTACKER_IP, minutes: float = 0) -> dict[str, Any]:
    destination: dict[str, Any] = {"Bucket": f"arn:aws:s3:::{dest}"}
    if account:
        destination.update(Account=account, AccessControlTranslation={"Owner": "Destination"})
    rule = {"ID": "r1", "Status": status, "Priority": 1, "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": destination}
    return event(i, "PutBucketReplication", {
        "bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "replication": "",
        "ReplicationConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                     "Role": f"arn:aws:iam::{OWN}:role/s3-replication", "Rule": rule}},
        identity=identity, ip=ip, minutes=minutes)


def test_replication_to_a_foreign_account_or_unknown_bucket_is_found(tmp_path: Path) -> None:
    trail = [
        # Known own bucket (it has events of its own): routine same-account replication.
        event(1, "PutBucketVersioning", {"bucketName": "acme-dr", "VersioningConfiguration": {"Status": "Enabled"}},
              identity=ADMIN, ip=OFFICE_IP),
        _replication(2, "acme-data", "acme-dr", identity=ADMIN, ip=OFFICE_IP, minutes=1),
        # A partner account the responder trusts, and a disabled rule: both quiet.
        _replication(3, "acme-data", "partner-archive", account="777788889999", identity=ADMIN, ip=OFFICE_IP, minutes=2),
        _replication(4, "acme-data", "exfil-sink", account=FOREIGN, status="Disabled", minutes=3),
        # The attacker: to their own account, then to a bucket the case knows nothing of.
        _replication(5, "acme-data", "exfil-sink", account=FOREIGN, minutes=4),
        _replication(6, "acme-data", "exfil-sink-2", minutes=5),
        event(7, "DeleteBucketReplication", {"bucketName": "acme-logs", "replication": ""}, minutes=6),
    ]
    case = build_case(tmp_path, trail=trail)
    rows = run(case, "bucket_replicated_to_foreign_account", trusted_accounts=["777788889999"])
    assert rows.select("source_ip", "bucket", "detail").rows() == [
        (ATTACKER_IP, "acme-data", f"replication to exfil-sink of foreign account {FOREIGN}"),
        (ATTACKER_IP, "acme-data", "replication to exfil-sink-2, a bucket the case knows nothing about"),
    ]
    assert run(case, "bucket_replicated_to_foreign_account").height == 3  # the partner, untrusted
    assert run(case, "bucket_replicated_to_foreign_account", trusted_buckets=["exfil-sink-2"],
               trusted_accounts=["777788889999"]).height == 1
    removed = run(case, "bucket_replication_removed")
    assert removed.select("bucket", "detail").rows() == [("acme-logs", "replication configuration deleted")]
