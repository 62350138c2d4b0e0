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


# -- default encryption --------------------------------------------------------------------------


def _encryption(i: int, bucket: str, key: str | None, *, identity: dict[str, Any] | None = None,
                ip: str = ATTACKER_IP, minutes: float = 0) -> dict[str, Any]:
    default = ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key} if key else {"SSEAlgorithm": "AES256"})
    return event(i, "PutBucketEncryption", {
        "bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "encryption": "",
        "ServerSideEncryptionConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                              "Rule": {"ApplyServerSideEncryptionByDefault": default,
                                                       "BucketKeyEnabled": True}}},
        identity=identity, ip=ip, minutes=minutes)


def test_default_encryption_moved_to_a_foreign_or_never_used_key_or_removed(tmp_path: Path) -> None:
    own_key = f"arn:aws:kms:us-east-1:{OWN}:key/0b7b1c3e-1d2a-4c5b-9e8f-0123456789ab"
    rotated = f"arn:aws:kms:us-east-1:{OWN}:key/5d6e7f80-aaaa-4bbb-8ccc-0123456789ab"
    unused = f"arn:aws:kms:us-east-1:{OWN}:key/99999999-dddd-4eee-8fff-0123456789ab"
    attacker_key = f"arn:aws:kms:us-east-1:{FOREIGN}:key/11111111-2222-4333-8444-555555555555"
    trail = [
        # The administrator creates a key, and S3 uses it before the bucket default moves to it.
        event(1, "CreateKey", {"keyUsage": "ENCRYPT_DECRYPT"}, source="kms.amazonaws.com", identity=ADMIN,
              ip=OFFICE_IP, response={"keyMetadata": {"keyId": rotated.rsplit("/", 1)[1], "arn": rotated}}),
        event(2, "GenerateDataKey", {"keyId": own_key, "keySpec": "AES_256"}, source="kms.amazonaws.com",
              identity=ADMIN, ip=OFFICE_IP, minutes=1),
        _encryption(3, "acme-data", rotated, identity=ADMIN, ip=OFFICE_IP, minutes=2),
        _encryption(4, "acme-data", own_key, identity=ADMIN, ip=OFFICE_IP, minutes=3),
        _encryption(5, "acme-data", None, identity=ADMIN, ip=OFFICE_IP, minutes=4),  # SSE-S3
        # The attacker: their own account's key, a key of ours nothing ever used, then removal.
        _encryption(6, "acme-data", attacker_key, minutes=10),
        _encryption(7, "acme-archive", unused, minutes=11),
        event(8, "DeleteBucketEncryption", {"bucketName": "acme-logs", "encryption": ""}, minutes=12,
              error="AccessDenied"),
    ]
    rows = run(build_case(tmp_path, trail=trail), "bucket_encryption_key_changed_or_removed")
    assert rows.select("source_ip", "bucket", "detail").rows() == [
        (ATTACKER_IP, "acme-data",
         f"default encryption set to KMS key {attacker_key} of foreign account {FOREIGN}"),
        (ATTACKER_IP, "acme-archive",
         f"default encryption set to KMS key {unused}, which no earlier event mentions"),
        (ATTACKER_IP, "acme-logs", "default encryption configuration deleted (failed: AccessDenied)"),
    ]
    trusted = run(build_case(tmp_path / "again", trail=trail), "bucket_encryption_key_changed_or_removed",
                  trusted_accounts=[FOREIGN])
    assert trusted.height == 2


# -- IAM persistence -----------------------------------------------------------------------------

DEPLOYER = {"type": "IAMUser", "principalId": "AIDAEXAMPLEDEPLOY", "arn": f"arn:aws:iam::{OWN}:user/deployer",
            "accountId": OWN, "accessKeyId": "AKIAEXAMPLEDEPLOY001", "userName": "deployer"}
DAY = 24 * 60


def _read(i: int, identity: dict[str, Any], ip: str, minutes: float) -> dict[str, Any]:
    """A GetObject data event by `identity`."""
    return ct_record(i, userIdentity=identity, sourceIPAddress=ip, eventID=f"20000000-0000-4000-8000-{i:012d}",
                     requestID=f"READ{i:012d}",
                     eventTime=(T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _trust(*principals: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"} for p in principals]}, indent=2)


def test_iam_persistence_by_a_principal_that_touched_data_or_came_from_a_new_network(tmp_path: Path) -> None:
    admin_doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]})
    trail = [
        # Baselines: each principal's own network on the first day.
        _read(1, ADMIN, OFFICE_IP, 0), _read(2, LEAKED, "192.0.2.50", 1), _read(3, DEPLOYER, "192.0.2.60", 2),
        # Routine administration two days later, from the office, no data touched: quiet.
        event(10, "CreateUser", {"userName": "new-hire"}, source="iam.amazonaws.com", identity=ADMIN,
              ip=OFFICE_IP, minutes=2 * DAY),
        event(11, "CreateAccessKey", {"userName": "new-hire"}, source="iam.amazonaws.com", identity=ADMIN,
              ip=OFFICE_IP, minutes=2 * DAY + 1),
        event(12, "CreateRole", {"roleName": "app", "assumeRolePolicyDocument": _trust({"Service": "ec2.amazonaws.com"})},
              source="iam.amazonaws.com", identity=ADMIN, ip=OFFICE_IP, minutes=2 * DAY + 2),
        # The administrator reads data, then attaches a policy without S3 or admin rights: quiet.
        _read(13, ADMIN, OFFICE_IP, 2 * DAY + 3),
        event(14, "AttachUserPolicy", {"userName": "new-hire", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
              source="iam.amazonaws.com", identity=ADMIN, ip=OFFICE_IP, minutes=2 * DAY + 4),
        # The leaked key: reads data from the attacker's address, then builds itself a way back in.
        _read(20, LEAKED, ATTACKER_IP, 3 * DAY), _read(21, LEAKED, ATTACKER_IP, 3 * DAY + 1),
        event(22, "CreateUser", {"userName": "backup-svc"}, source="iam.amazonaws.com", minutes=3 * DAY + 2),
        event(23, "AttachUserPolicy", {"userName": "backup-svc", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
              source="iam.amazonaws.com", minutes=3 * DAY + 3),
        event(24, "CreateAccessKey", {"userName": "backup-svc"}, source="iam.amazonaws.com", minutes=3 * DAY + 4,
              response={"accessKey": {"accessKeyId": "AKIAEXAMPLEBACKDOOR1", "status": "Active",
                                      "userName": "backup-svc"}}),
        event(25, "CreateLoginProfile", {"userName": "backup-svc", "passwordResetRequired": False},
              source="iam.amazonaws.com", minutes=3 * DAY + 5),
        event(26, "PutUserPolicy", {"userName": "backup-svc", "policyName": "s3", "policyDocument": admin_doc},
              source="iam.amazonaws.com", minutes=3 * DAY + 6),
        # Another principal, no data touched, but from a network it never used: a key for itself.
        event(30, "CreateAccessKey", None, source="iam.amazonaws.com", identity=DEPLOYER, ip="198.51.100.99",
              minutes=3 * DAY + 10),
        # A role trusting a foreign account is reported whoever does it.
        event(40, "UpdateAssumeRolePolicy", {"roleName": "ops", "policyDocument": _trust(
            {"Service": "ec2.amazonaws.com"}, {"AWS": f"arn:aws:iam::{FOREIGN}:root"})},
              source="iam.amazonaws.com", identity=ADMIN, ip=OFFICE_IP, minutes=3 * DAY + 20),
    ]
    case = build_case(tmp_path, trail=trail)
    rows = run(case, "iam_persistence_added_by_suspect_principal")
    touched = "; the principal touched 2 S3 object(s) in the 6 h before"
    assert rows.select("principal", "detail").rows() == [
        (LEAKED["arn"], "created IAM user backup-svc" + touched),
        (LEAKED["arn"], "attached AdministratorAccess to user backup-svc" + touched),
        (LEAKED["arn"], "created an access key for user backup-svc" + touched),
        (LEAKED["arn"], "gave user backup-svc a console password" + touched),
        (LEAKED["arn"], "put an inline policy with S3, IAM or all rights on user backup-svc" + touched),
        (DEPLOYER["arn"], "created an access key for itself from network 198.51.100.0/24, new for the principal"),
        (ADMIN["arn"], f"role ops may now be assumed by foreign account(s) {FOREIGN}"),
    ]
    assert run(case, "iam_persistence_added_by_suspect_principal", trusted_accounts=[FOREIGN]).height == 6


# -- EC2 instance credentials --------------------------------------------------------------------


def _instance_identity(role: str, instance: str, key: str) -> dict[str, Any]:
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLE{role.upper()}:{instance}",
            "arn": f"arn:aws:sts::{OWN}:assumed-role/{role}/{instance}", "accountId": OWN, "accessKeyId": key,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": f"AROAEXAMPLE{role.upper()}",
                                                 "arn": f"arn:aws:iam::{OWN}:role/{role}", "accountId": OWN,
                                                 "userName": role},
                               "ec2RoleDelivery": "2.0"}}


def test_instance_credentials_used_from_outside_the_instance(tmp_path: Path) -> None:
    from s3forensics.enrich import AwsIpRanges, refresh_enrichment

    web = _instance_identity("web-app", "i-0abc123def4567890", "ASIAEXAMPLEWEB00001")
    batch = _instance_identity("batch", "i-0fedcba9876543210", "ASIAEXAMPLEBATCH001")
    trail = [
        # The web server reads through its VPC endpoint (private address) all day.
        *(_read(100 + n, web, "10.0.1.5", 10 * n) for n in range(6)),
        # Its credentials, taken from the metadata service, used from the attacker's machine.
        _read(110, web, ATTACKER_IP, 45),
        event(111, "GetCallerIdentity", None, source="sts.amazonaws.com", identity=web, minutes=44),
        # A batch host with a public EC2 address that changes after a restart.
        *(_read(120 + n, batch, "3.80.1.20", 5 * n) for n in range(3)),
        *(_read(130 + n, batch, "3.81.9.9", 100 + n) for n in range(2)),
    ]
    # The access log holds the same stolen read (same request id) once more: reported once.
    access_log = [sal_record(0, requester=web["arn"], remote_ip=ATTACKER_IP, request_id="READ000000000110",
                             event_time=T0 + timedelta(minutes=45))]
    case = build_case(tmp_path, trail=trail, access_log=access_log)
    rows = run(case, "instance_credentials_used_outside_instance")
    assert rows.select("principal", "source_ip", "events").rows() == [
        (web["arn"], ATTACKER_IP, 2),
        (batch["arn"], "3.81.9.9", 2),  # not enriched: only the change of network is known
    ]
    assert rows["detail"][0] == (
        "credentials of instance i-0abc123def4567890 used from 203.0.113.66; the instance's own network "
        "is 10.0.1.0/24; GetCallerIdentity, REST.GET.OBJECT")
    ranges = tmp_path / "ip-ranges.json"
    ranges.write_text(json.dumps({"syncToken": "1714521600", "createDate": "2024-05-01-00-00-00", "prefixes": [
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}]}))
    with Case.open(case) as opened:
        refresh_enrichment(opened.con, aws_ranges=AwsIpRanges.read(ranges))
    rows = run(case, "instance_credentials_used_outside_instance")
    assert rows.select("principal", "source_ip").rows() == [(web["arn"], ATTACKER_IP)]
    assert "(outside AWS's published ranges)" in rows["detail"][0]


# -- versions and Object Lock --------------------------------------------------------------------

ATTACKER_ARN = LEAKED["arn"]


def test_object_versions_destroyed_in_bulk_but_not_delete_markers_or_lifecycle(tmp_path: Path) -> None:
    def delete(i: int, *, version: str | None, op: str = "REST.DELETE.OBJECT", requester: str = ATTACKER_ARN,
               ip: str = ATTACKER_IP, minutes: float = 0) -> dict[str, Any]:
        key = f"invoices/{i:04d}.pdf"
        uri = f"DELETE /acme-data/{key}" + (f"?versionId={version}" if version else "") + " HTTP/1.1"
        return sal_record(i, operation=op, object_key=key, request_uri=uri, version_id=version, requester=requester,
                          remote_ip=ip, http_status=204, bytes_sent=None, object_size=None,
                          event_time=T0 + timedelta(minutes=minutes))
    access_log = [
        # Eight versions destroyed one by one, then a batch of four per-version lines.
        *(delete(i, version=f"v{i:030d}", minutes=i) for i in range(8)),
        *(delete(10 + i, version=f"w{i:030d}", op="BATCH.DELETE.OBJECT", minutes=9) for i in range(4)),
        # A user deleting without version ids (delete markers, recoverable): not this detection.
        *(delete(20 + i, version=None, requester=ADMIN["arn"], ip=OFFICE_IP, minutes=2) for i in range(15)),
        # Lifecycle expiring noncurrent versions: S3's own action.
        *(delete(40 + i, version=f"x{i:030d}", op="S3.EXPIRE.OBJECT", requester="AmazonS3", ip="-", minutes=3)
          for i in range(30)),
    ]
    trail = [  # Two more version deletes that only CloudTrail saw (another bucket, no access log).
        event(60 + i, "DeleteObject", {"bucketName": "acme-archive", "key": f"db/{i}.dump", "versionId": f"z{i:031d}"},
              minutes=20 + i, eventCategory="Data", managementEvent=False) for i in range(2)]
    case = build_case(tmp_path, trail=trail, access_log=access_log)
    rows = run(case, "object_versions_destroyed_in_bulk")
    assert rows.select("principal", "source_ip", "bucket", "events", "detail").rows() == [
        (ATTACKER_ARN, ATTACKER_IP, ["acme-archive", "acme-data"], 14, "14 object versions destroyed in 60 min")]
    assert run(case, "object_versions_destroyed_in_bulk", min_versions=15).height == 0
    # The delete markers are still deletions in bulk, by the general detection.
    bulk = run(case, "objects_deleted_in_bulk", min_deletes=10)
    assert set(bulk["principal"]) == {ATTACKER_ARN, ADMIN["arn"]}


def _lock(i: int, retention: dict[str, Any] | None, *, identity: dict[str, Any] | None = None,
          ip: str = ATTACKER_IP, minutes: float = 0, error: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "ObjectLockEnabled": "Enabled"}
    if retention:
        config["Rule"] = {"DefaultRetention": retention}
    return event(i, "PutObjectLockConfiguration", {"bucketName": "acme-vault", "objectLock": "",
                                                   "ObjectLockConfiguration": config},
                 identity=identity, ip=ip, minutes=minutes, error=error)


def test_object_lock_shortened_removed_or_bypassed(tmp_path: Path) -> None:
    trail = [
        # The administrator sets and later lengthens compliance retention: quiet.
        _lock(1, {"Mode": "COMPLIANCE", "Days": 30}, identity=ADMIN, ip=OFFICE_IP),
        _lock(2, {"Mode": "COMPLIANCE", "Years": 1}, identity=ADMIN, ip=OFFICE_IP, minutes=5),
        # The attacker: a denied attempt to shorten, governance instead of compliance, then removal.
        _lock(3, {"Mode": "COMPLIANCE", "Days": 1}, minutes=10, error="AccessDenied"),
        _lock(4, {"Mode": "GOVERNANCE", "Years": 1}, minutes=11),
        _lock(5, None, minutes=12),
        # Objects under governance retention deleted with the bypass header.
        *(event(10 + i, "DeleteObject", {"bucketName": "acme-vault", "key": f"ledger/{i}.csv",
                                         "versionId": f"v{i:031d}", "x-amz-bypass-governance-retention": "true"},
                minutes=13 + i, eventCategory="Data", managementEvent=False) for i in range(3)),
        event(20, "PutObjectLegalHold", {"bucketName": "acme-vault", "key": "ledger/0.csv", "legal-hold": "",
                                         "LegalHold": {"Status": "OFF"}}, minutes=20,
              eventCategory="Data", managementEvent=False),
    ]
    rows = run(build_case(tmp_path, trail=trail), "object_lock_weakened")
    assert rows.select("principal", "bucket", "object_key", "detail").rows() == [
        (ATTACKER_ARN, "acme-vault", [], "default retention shortened from 365 to 1 days (1 failed: AccessDenied)"),
        (ATTACKER_ARN, "acme-vault", [], "default retention moved from COMPLIANCE to GOVERNANCE"),
        (ATTACKER_ARN, "acme-vault", [], "default retention removed"),
        (ATTACKER_ARN, "acme-vault", ["ledger/0.csv", "ledger/1.csv", "ledger/2.csv"],
         "governance retention bypassed (DeleteObject) on 3 requests"),
        (ATTACKER_ARN, "acme-vault", ["ledger/0.csv"], "legal hold removed"),
    ]


# -- copies out ----------------------------------------------------------------------------------


def test_objects_copied_out_to_another_accounts_bucket(tmp_path: Path) -> None:
    def copy_event(i: int, dest: str, dest_account: str, *, identity: dict[str, Any], ip: str) -> dict[str, Any]:
        key = f"exports/{i}.csv"
        return ct_record(i, eventName="CopyObject", userIdentity=identity, sourceIPAddress=ip, readOnly=False,
                         requestID=f"COPY{i:012d}", eventID=f"30000000-0000-4000-8000-{i:012d}",
                         requestParameters={"bucketName": dest, "key": key, "x-amz-copy-source": f"acme-data/{key}"},
                         resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{dest}/{key}"},
                                    {"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{dest}", "accountId": dest_account},
                                    {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::acme-data/{key}"},
                                    {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-data", "accountId": OWN}])

    def get_side(i: int, requester: str, ip: str, *, request_id: str | None = None) -> dict[str, Any]:
        key = f"exports/{i}.csv"
        return sal_record(i, operation="REST.COPY.OBJECT_GET", object_key=key, requester=requester, remote_ip=ip,
                          request_id=request_id or f"COPY{i:012d}", request_uri=f"PUT /somewhere/{key} HTTP/1.1")

    sync = f"arn:aws:iam::{FOREIGN}:user/sync"
    trail = [
        copy_event(1, "acme-data-archive", OWN, identity=ADMIN, ip=OFFICE_IP),  # our own archive: quiet
        *(copy_event(10 + n, "exfil-drop", FOREIGN, identity=LEAKED, ip=ATTACKER_IP) for n in range(3)),
    ]
    access_log = [
        get_side(1, ADMIN["arn"], OFFICE_IP),
        *(get_side(10 + n, LEAKED["arn"], ATTACKER_IP) for n in range(3)),  # the same requests: counted once
        # A foreign principal copying through a policy grant; only our source log saw it.
        *(get_side(20 + n, sync, "2001:db8::25") for n in range(2)),
        # Our own principal copying to a destination the case does not hold: not known to be foreign.
        get_side(30, ADMIN["arn"], OFFICE_IP),
        # A copy in place (the destination line is in our log too): quiet.
        get_side(40, ADMIN["arn"], OFFICE_IP),
        sal_record(40, operation="REST.COPY.OBJECT", object_key="exports/40.csv", requester=ADMIN["arn"],
                   remote_ip=OFFICE_IP, request_id="COPY000000000040"),
    ]
    rows = run(build_case(tmp_path, trail=trail, access_log=access_log), "objects_copied_to_foreign_bucket")
    assert rows.select("principal", "source_ip", "bucket", "events", "detail").rows() == [
        (LEAKED["arn"], ATTACKER_IP, ["acme-data"], 3, f"3 object(s) copied to bucket exfil-drop of foreign account {FOREIGN}"),
        (sync, "2001:db8::25", ["acme-data"], 2,
         f"2 object(s) copied to a bucket outside the case, by a principal of account {FOREIGN}"),
    ]
    trusted = run(tmp_path / "case", "objects_copied_to_foreign_bucket", trusted_accounts=[FOREIGN])
    assert trusted.height == 0


def test_trail_tampering_is_judged_by_what_it_removes(tmp_path: Path) -> None:
    trail_name = f"arn:aws:cloudtrail:us-east-1:{OWN}:trail/main"
    s3_data = {"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}
    trail = [
        # The administrator widens logging: S3 data events for every bucket, Insights on. Quiet.
        event(1, "PutEventSelectors", {"trailName": trail_name, "eventSelectors": [
            {"readWriteType": "All", "includeManagementEvents": True, "dataResources": [s3_data],
             "excludeManagementEventSources": []}]}, source="cloudtrail.amazonaws.com", identity=ADMIN, ip=OFFICE_IP),
        event(2, "PutInsightSelectors", {"trailName": trail_name, "insightSelectors": [
            {"insightType": "ApiCallRateInsight"}]}, source="cloudtrail.amazonaws.com", identity=ADMIN, ip=OFFICE_IP),
        event(3, "UpdateTrail", {"name": trail_name, "snsTopicName": "trail-events"},
              source="cloudtrail.amazonaws.com", identity=ADMIN, ip=OFFICE_IP),
        # The attacker, as Stratus does it: management events off and S3 data events gone.
        event(10, "PutEventSelectors", {"trailName": trail_name, "eventSelectors": [
            {"readWriteType": "ReadOnly", "includeManagementEvents": False,
             "dataResources": [{"type": "AWS::Lambda::Function", "values": []}],
             "excludeManagementEventSources": []}]}, source="cloudtrail.amazonaws.com", minutes=10),
        event(11, "PutInsightSelectors", {"trailName": trail_name, "insightSelectors": []},
              source="cloudtrail.amazonaws.com", minutes=11),
        event(12, "UpdateTrail", {"name": trail_name, "s3BucketName": "attacker-logs", "isMultiRegionTrail": False},
              source="cloudtrail.amazonaws.com", minutes=12),
        event(13, "PutEventSelectors", {"trailName": trail_name, "advancedEventSelectors": [
            {"name": "no reads", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]},
                                                    {"field": "readOnly", "equals": ["false"]},
                                                    {"field": "eventSource", "notEquals": ["s3.amazonaws.com"]}]}]},
              source="cloudtrail.amazonaws.com", minutes=13, error="AccessDenied"),
        event(14, "DeleteTrail", {"name": trail_name}, source="cloudtrail.amazonaws.com", minutes=14),
    ]
    rows = run(build_case(tmp_path, trail=trail), "trail_logging_tampered")
    assert rows.select("principal", "detail").rows() == [
        (ATTACKER_ARN, "PutEventSelectors: management events excluded; only ReadOnly events kept; "
                       "S3 data events no longer logged"),
        (ATTACKER_ARN, "PutInsightSelectors: Insights switched off"),
        (ATTACKER_ARN, "UpdateTrail: logs now delivered to bucket attacker-logs; other regions no longer logged"),
        # Judged against the selectors in force (the attacker's own): no further S3 loss to report.
        (ATTACKER_ARN, "PutEventSelectors: advanced selectors exclude events (failed: AccessDenied)"),
        (ATTACKER_ARN, "DeleteTrail: trail deleted"),
    ]


# -- benign look-alikes --------------------------------------------------------------------------


def test_security_services_backup_replication_and_presigned_downloads_stay_below_high(tmp_path: Path) -> None:
    """Reading every object once, from AWS or from many consumers, is not a breach."""
    keys = [f"customers/{n:04d}.json" for n in range(120)]
    macie = f"arn:aws:sts::{OWN}:assumed-role/AWSServiceRoleForAmazonMacie/ClassificationJob-7f3a"
    backup = _instance_identity("AWSBackupDefaultServiceRole", "AWSBackup-5a1e", "ASIAEXAMPLEBACKUP01")
    backup.pop("sessionContext")
    backup["arn"] = f"arn:aws:sts::{OWN}:assumed-role/AWSBackupDefaultServiceRole/AWSBackup-5a1e"
    replication = f"arn:aws:sts::{OWN}:assumed-role/s3-replication/s3replication"
    orders = f"arn:aws:sts::{OWN}:assumed-role/orders-api/task-1"
    internal_ua = "aws-internal/3 aws-sdk-java/1.12.770 Linux/5.10.226 OpenJDK_64-Bit_Server_VM/25.422-b05 java/1.8.0_422"
    browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
    access_log: list[dict[str, Any]] = []
    trail: list[dict[str, Any]] = [
        # Same-account replication set up by the administrator (the destination is known).
        event(1, "PutBucketVersioning", {"bucketName": "acme-data-replica",
                                         "VersioningConfiguration": {"Status": "Enabled"}}, identity=ADMIN, ip=OFFICE_IP),
        _replication(2, "acme-data", "acme-data-replica", identity=ADMIN, ip=OFFICE_IP, minutes=1),
    ]
    for n, key in enumerate(keys):
        # Macie's sensitive-data discovery job reads every object once, from AWS's network.
        access_log.append(sal_record(1000 + n, requester=macie, object_key=key, remote_ip="192.0.2.201",
                                     request_id=f"MACIE{n:011d}", user_agent="aws-sdk-java/2.25.0 Linux/5.10 md/internal",
                                     event_time=T0 + timedelta(days=1, seconds=n)))
        # AWS Backup reads every object once; CloudTrail names the service as the source.
        access_log.append(sal_record(2000 + n, requester=backup["arn"], object_key=key, remote_ip="192.0.2.202",
                                     request_id=f"BACKUP{n:010d}", user_agent=internal_ua,
                                     event_time=T0 + timedelta(days=1, hours=2, seconds=n)))
        trail.append(ct_record(2000 + n, userIdentity=backup, sourceIPAddress="backup.amazonaws.com",
                               userAgent="backup.amazonaws.com", requestID=f"BACKUP{n:010d}",
                               eventID=f"40000000-0000-4000-8000-{n:012d}",
                               requestParameters={"bucketName": "acme-data", "key": key},
                               eventTime=(T0 + timedelta(days=1, hours=2, seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")))
        # The bucket's own replication role copies each new object to the replica.
        access_log.append(sal_record(3000 + n, requester=replication, object_key=key, remote_ip="192.0.2.203",
                                     request_id=f"REPL{n:012d}", user_agent=internal_ua,
                                     event_time=T0 + timedelta(days=1, hours=4, seconds=n)))
        # Customers download their files with presigned URLs: the signer is the application.
        access_log.append(sal_record(4000 + n, requester=orders, object_key=key, remote_ip=f"198.51.100.{n + 1}",
                                     request_id=f"PRESIGN{n:09d}", user_agent=browser,
                                     authentication_type="QueryString",
                                     request_uri=f"GET /{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256 HTTP/1.1",
                                     event_time=T0 + timedelta(days=1, hours=6, minutes=n)))
    case = build_case(tmp_path, trail=trail, access_log=access_log)
    assert findings_at_or_above_high(case) == {}


# -- the detection docs --------------------------------------------------------------------------


def test_docs_detections_md_is_up_to_date_and_names_benign_look_alikes() -> None:
    from s3forensics.queries.docs import detections_markdown

    actual = (Path(__file__).resolve().parents[1] / "docs" / "detections.md").read_text(encoding="utf-8")
    assert actual == detections_markdown(), \
        "docs/detections.md is stale: run `python -m s3forensics.queries.docs detections > docs/detections.md`"
    for q in default_registry().list(kind="detection"):
        assert f"## `{q.name}`" in actual
        assert q.benign, f"{q.name}: name its known benign look-alikes in the header (benign:)"
    assert "[aws.impact.s3-ransomware-client-side-encryption](https://stratus-red-team.cloud/attack-techniques/AWS/" \
           "aws.impact.s3-ransomware-client-side-encryption/)" in actual


@pytest.mark.parametrize(("header", "message"), [
    ("-- stratus: [s3-ransomware]\n", "stratus id.*s3-ransomware"),
    ("-- benign: a single text\n", "benign must be a list"),
    ("-- benign: ['']\n", "benign must be a list of non-empty texts"),
])
def test_stratus_and_benign_headers_are_checked(tmp_path: Path, header: str, message: str) -> None:
    from s3forensics.errors import QueryError
    from s3forensics.queries import QueryRegistry

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my_detection.sql").write_text(
        "-- title: Mine\n-- kind: detection\n-- severity: low\n-- mitre: [T1530]\n-- source: cloudtrail\n"
        "-- description: Mine.\n" + header + "-- ---\nSELECT 1\n")
    with pytest.raises(QueryError, match=message):
        QueryRegistry([folder])


def test_mfa_delete_disabled_is_found_and_enabling_protection_is_not(tmp_path: Path) -> None:
    """Stratus-style defence evasion before destruction: MFA delete switched off on a bucket."""

    def versioning(i: int, config: dict[str, str], **kw: Any) -> dict[str, Any]:
        return event(i, "PutBucketVersioning",
                     {"bucketName": "acme-vault", "versioning": "", "VersioningConfiguration": config}, **kw)

    trail = [
        # The administrator turns versioning and MFA delete on: protection added, quiet.
        versioning(1, {"Status": "Enabled", "MfaDelete": "Enabled"}, identity=ADMIN, ip=OFFICE_IP),
        # The attacker keeps versioning on but disables MFA delete, then suspends versioning.
        versioning(2, {"Status": "Enabled", "MfaDelete": "Disabled"}, minutes=10),
        versioning(3, {"Status": "Suspended"}, minutes=11),
    ]
    rows = run(build_case(tmp_path, trail=trail), "bucket_versioning_suspended")
    assert rows.select("principal", "bucket", "detail").rows() == [
        (ATTACKER_ARN, "acme-vault", "MFA delete disabled"),
        (ATTACKER_ARN, "acme-vault", "versioning suspended"),
    ]
