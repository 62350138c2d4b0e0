"""The hunt and summary queries: every one loads, runs on a small case, and answers its question.

The case is built from synthetic logs whose content is spelled out below; each expected value in
the tests is worked out from that content, not copied from output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from s3forensics.case import Case
from s3forensics.errors import QueryError
from s3forensics.queries.registry import QueryRegistry
from s3forensics.render import format_access_log_line, render_cloudtrail_file
from s3forensics.schema import LogSource

from .factories import T0, ct_record, sal_record

SUMMARIES = {
    "case_overview": "both",
    "top_source_ips": "both",
    "traffic_by_bucket": "both",
    "requests_over_time": "s3-access",
    "activity_heatmap": "both",
    "operation_mix": "both",
    "error_rates": "both",
    "bytes_out_over_time": "both",
    "ip_principal_matrix": "both",
    "evidence_coverage": "both",
    "rejects_summary": "both",
    "access_log_anomalies": "s3-access",
    "incident_impact": "both",
    "activity_of_addresses_over_time": "both",
}
HUNTS = {
    "principal_activity": "both",
    "ip_activity": "both",
    "access_key_activity": "both",
    "object_history": "both",
    "sensitive_object_access": "both",
    "presigned_url_requests": "both",
    "deprecated_tls_requests": "both",
    "sigv2_requests": "both",
    "plaintext_http_requests": "s3-access",
    "off_hours_object_reads": "both",
    "large_object_downloads": "both",
    "automation_touching_data": "both",
    "anonymous_requests": "both",
    "cross_account_requests": "both",
    "client_errors_by_requester": "s3-access",
    "server_errors": "s3-access",
    "deleted_objects": "both",
    "lifecycle_actions": "s3-access",
    "bucket_config_changes": "cloudtrail",
    "copy_operations": "both",
    "buckets_touched_by_principal": "both",
    "assumed_role_sessions": "both",
    "first_seen_ips_per_bucket": "both",
    "first_seen_user_agents_per_bucket": "both",
    "first_seen_principals_per_bucket": "both",
    "correlation_gaps": "both",
    "timeline": "both",
}
MINE = {**SUMMARIES, **HUNTS}

SAL_NAME = "logs/2024-05-03-03-00-00-0123456789ABCDEF"
CT_NAME = (
    "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/03/"
    "111122223333_CloudTrail_us-east-1_20240503T0300Z_abcdEFGH12345678.json.gz"
)

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
MALLORY = "arn:aws:iam::999988887777:user/mallory"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deployer"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/deploy-1"
SESSION_KEY = "ASIAEXAMPLESESSION01"
MALLORY_KEY = "AKIAEXAMPLEMALLORY01"
BOB_KEY = "AKIAEXAMPLEBOB000001"
ALICE_KEY = "AKIAEXAMPLEALICE0001"
BOB_UA = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 lang/python#3.11"
WEIRD_KEY = "x'; DROP TABLE s3_access_logs; --"
MIB = 1024 * 1024
BAD_LINE = "this line is not an access log record"


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2024, 5, day, hh, mm, ss, tzinfo=UTC)


def sal(i: int, **over: Any) -> dict[str, Any]:
    """An access log record; `i` only seeds factory defaults that `over` does not replace."""
    return sal_record(i, **over)


def _sal_records() -> list[dict[str, Any]]:
    recs = [sal_record(i) for i in range(4)]  # alice reads 4 reports at 12:00:00-03 from 192.0.2.10
    mal = {"requester": MALLORY, "remote_ip": "203.0.113.66", "user_agent": "curl/8.4.0"}
    recs += [
        # mallory, another account, reads at night on two days: a 150 MiB .env file, a report,
        # then is denied a secrets file and a listing.
        sal(
            10,
            **mal,
            event_time=at(2, 2, 30),
            request_id="MALLORY01",
            object_key="config/prod.env",
            request_uri="GET /acme-data/config/prod.env HTTP/1.1",
            bytes_sent=150 * MIB,
            object_size=150 * MIB,
            host_id="hostMALLORY01=",
        ),
        sal(
            11,
            **mal,
            event_time=at(3, 2, 40),
            request_id="MALLORY02",
            object_key="reports/2024/q1.csv",
            request_uri="GET /acme-data/reports/2024/q1.csv HTTP/1.1",
        ),
        sal(
            12,
            **mal,
            event_time=at(3, 2, 41),
            request_id="MALLORY03",
            object_key="secrets/db_password.txt",
            request_uri="GET /acme-data/secrets/db_password.txt HTTP/1.1",
            http_status=403,
            error_code="AccessDenied",
            bytes_sent=None,
            object_size=None,
        ),
        sal(
            13,
            **mal,
            event_time=at(3, 2, 42),
            request_id="MALLORY04",
            operation="REST.GET.BUCKET",
            object_key=None,
            request_uri="GET /acme-data?list-type=2 HTTP/1.1",
            http_status=403,
            error_code="AccessDenied",
            bytes_sent=None,
            object_size=None,
        ),
    ]
    bob = {"requester": BOB, "remote_ip": "198.51.100.20", "user_agent": BOB_UA}
    recs += [
        sal(
            20,
            **bob,
            event_time=at(1, 13, 0),
            request_id="BOB01",
            operation="REST.DELETE.OBJECT",
            object_key="tmp/old.csv",
            request_uri="DELETE /acme-data/tmp/old.csv HTTP/1.1",
            http_status=204,
            bytes_sent=None,
            object_size=None,
        ),
        sal(
            21,
            **bob,
            event_time=at(1, 13, 5),
            request_id="BOBBATCH",
            operation="REST.POST.MULTI_OBJECT_DELETE",
            object_key=None,
            request_uri="POST /acme-data?delete HTTP/1.1",
            bytes_sent=120,
            object_size=None,
            host_id="hostBOBBATCH=",
        ),
        sal(
            22,
            **bob,
            event_time=at(1, 13, 5),
            request_id="BOBBATCH",
            operation="BATCH.DELETE.OBJECT",
            object_key="a/1.txt",
            request_uri="POST /acme-data?delete HTTP/1.1",
            http_status=204,
            bytes_sent=None,
            object_size=None,
            host_id="hostBOBBATCH=",
        ),
        sal(
            23,
            **bob,
            event_time=at(1, 13, 5),
            request_id="BOBBATCH",
            operation="BATCH.DELETE.OBJECT",
            object_key="a/2.txt",
            request_uri="POST /acme-data?delete HTTP/1.1",
            http_status=204,
            bytes_sent=None,
            object_size=None,
            host_id="hostBOBBATCH=",
        ),
        sal(
            24,
            **bob,
            event_time=at(1, 13, 10),
            request_id="BOB03",
            object_key="reports/2024/q2.csv",
            request_uri="GET /acme-data/reports/2024/q2.csv HTTP/1.1",
            tls_version="TLSv1",
            cipher_suite="ECDHE-RSA-AES128-SHA",
        ),
        sal(
            25,
            **bob,
            event_time=at(1, 13, 11),
            request_id="BOB04",
            object_key="reports/2024/q3.csv",
            request_uri="GET /acme-data/reports/2024/q3.csv HTTP/1.1",
            signature_version="SigV2",
        ),
        sal(
            26,
            **bob,
            event_time=at(1, 13, 12),
            request_id="BOB05",
            operation="REST.PUT.OBJECT",
            object_key="uploads/big.bin",
            request_uri="PUT /acme-data/uploads/big.bin HTTP/1.1",
            http_status=503,
            error_code="SlowDown",
            bytes_sent=None,
            turnaround_time_ms=900,
            total_time_ms=1200,
        ),
        sal(
            27,
            **bob,
            event_time=at(1, 13, 13),
            request_id="BOB06",
            object_key="reports/2024/q4.csv",
            request_uri="GET /acme-data/reports/2024/q4.csv HTTP/1.1",
            cipher_suite=None,
            tls_version=None,
        ),
        sal(
            28,
            **bob,
            event_time=at(1, 13, 20),
            request_id="BOBCOPY",
            operation="REST.COPY.OBJECT_GET",
            object_key="reports/2024/q1.csv",
            request_uri="PUT /acme-data/staging/q1.csv HTTP/1.1",
        ),
        sal(
            29,
            **bob,
            event_time=at(1, 13, 20),
            request_id="BOBCOPY",
            operation="REST.COPY.OBJECT",
            object_key="staging/q1.csv",
            request_uri="PUT /acme-data/staging/q1.csv HTTP/1.1",
            bytes_sent=None,
        ),
    ]
    recs += [
        # S3 lifecycle expires an old log; S3 logs no status, IP, agent or TLS for its own actions.
        sal(
            30,
            event_time=at(2, 0, 10),
            requester="AmazonS3",
            remote_ip=None,
            request_id="LIFECYCLE1",
            operation="S3.EXPIRE.OBJECT",
            object_key="logs/2023/old.log",
            request_uri=None,
            http_status=None,
            bytes_sent=None,
            object_size=2048,
            user_agent=None,
            signature_version=None,
            cipher_suite=None,
            authentication_type=None,
            tls_version=None,
            host_header=None,
        ),
        # An anonymous visitor reads a public page and is denied a private file.
        sal(
            31,
            event_time=at(1, 14, 0),
            requester=None,
            remote_ip="203.0.113.200",
            request_id="ANON01",
            object_key="public/index.html",
            request_uri="GET /acme-data/public/index.html HTTP/1.1",
            user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            signature_version=None,
            authentication_type=None,
        ),
        sal(
            32,
            event_time=at(1, 14, 1),
            requester=None,
            remote_ip="203.0.113.200",
            request_id="ANON02",
            object_key="private/data.csv",
            request_uri="GET /acme-data/private/data.csv HTTP/1.1",
            http_status=403,
            error_code="AccessDenied",
            bytes_sent=None,
            user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            signature_version=None,
            authentication_type=None,
        ),
        # Someone fetches a presigned URL alice signed, from another address.
        sal(
            33,
            event_time=at(1, 15, 0),
            remote_ip="198.51.100.7",
            request_id="PRESIGN1",
            object_key="reports/2024/q1.csv",
            authentication_type="QueryString",
            user_agent="Wget/1.21.4",
            request_uri="GET /acme-data/reports/2024/q1.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={ALICE_KEY}%2F20240501%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20240501T145900Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=abcdef HTTP/1.1",
        ),
        # alice uploads an object whose key looks like SQL injection.
        sal(
            34,
            event_time=at(1, 16, 0),
            request_id="WEIRD01",
            operation="REST.PUT.OBJECT",
            object_key=WEIRD_KEY,
            request_uri="PUT /acme-data/x HTTP/1.1",
            bytes_sent=None,
        ),
        # alice reads a report on Saturday morning.
        sal(
            35,
            event_time=at(4, 10, 0),
            request_id="WEEKEND1",
            object_key="reports/2024/q2.csv",
            request_uri="GET /acme-data/reports/2024/q2.csv HTTP/1.1",
        ),
    ]
    return recs


def _identity(
    arn: str, key: str, *, kind: str = "IAMUser", account: str = ACCOUNT
) -> dict[str, Any]:
    ident: dict[str, Any] = {
        "type": kind,
        "principalId": "AIDA" + key[4:],
        "arn": arn,
        "accountId": account,
        "accessKeyId": key,
    }
    if kind == "IAMUser":
        ident["userName"] = arn.rsplit("/", 1)[1]
    else:
        ident["sessionContext"] = {
            "sessionIssuer": {
                "type": "Role",
                "arn": ROLE,
                "userName": "deployer",
                "accountId": ACCOUNT,
            },
            "attributes": {"mfaAuthenticated": "false"},
        }
    return ident


def ct(n: int, when: datetime, **over: Any) -> dict[str, Any]:
    rec = ct_record(
        0,
        eventTime=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        eventID=f"00000000-0000-4000-8000-{n:012d}",
    )
    rec.update(over)
    return rec


def _ct_records() -> list[dict[str, Any]]:
    session = _identity(SESSION, SESSION_KEY, kind="AssumedRole")
    recs = [ct_record(i) for i in range(3)]  # the same requests as alice's first 3 access log reads
    recs += [
        ct(
            100,
            at(2, 2, 30),
            userIdentity=_identity(MALLORY, MALLORY_KEY, account="999988887777"),
            sourceIPAddress="203.0.113.66",
            userAgent="[curl/8.4.0]",
            requestID="MALLORY01",
            requestParameters={"bucketName": "acme-data", "key": "config/prod.env"},
            additionalEventData={
                "bytesTransferredIn": 0,
                "bytesTransferredOut": 150 * MIB,
                "x-amz-id-2": "hostMALLORY01=",
            },
            resources=[
                {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::acme-data/config/prod.env"}
            ],
        ),
        ct(
            101,
            at(1, 13, 5),
            userIdentity=_identity(BOB, BOB_KEY),
            sourceIPAddress="198.51.100.20",
            userAgent=f"[{BOB_UA}]",
            eventName="DeleteObjects",
            requestID="BOBBATCH",
            readOnly=False,
            requestParameters={"bucketName": "acme-data", "delete": ""},
            additionalEventData={
                "bytesTransferredIn": 120,
                "bytesTransferredOut": 0,
                "x-amz-id-2": "hostBOBBATCH=",
            },
            resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-data"}],
        ),
        # alice assumes the deployer role; the session is then used from elsewhere.
        ct(
            102,
            at(1, 12, 30),
            userIdentity=_identity(ALICE, ALICE_KEY),
            sourceIPAddress="192.0.2.10",
            eventSource="sts.amazonaws.com",
            eventName="AssumeRole",
            requestID="sts-0001",
            eventCategory="Management",
            managementEvent=True,
            readOnly=False,
            resources=None,
            requestParameters={
                "roleArn": ROLE,
                "roleSessionName": "deploy-1",
                "durationSeconds": 3600,
            },
            responseElements={
                "credentials": {
                    "accessKeyId": SESSION_KEY,
                    "sessionToken": "token",
                    "expiration": "May 1, 2024, 1:30:00 PM",
                },
                "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:deploy-1", "arn": SESSION},
            },
            additionalEventData=None,
        ),
        ct(
            103,
            at(1, 12, 40),
            userIdentity=session,
            sourceIPAddress="198.51.100.99",
            userAgent="[aws-sdk-go/1.44.0]",
            requestID="SESSGET1",
            requestParameters={"bucketName": "acme-archive", "key": "archive/dump.sql"},
            additionalEventData={
                "bytesTransferredIn": 0,
                "bytesTransferredOut": 200 * MIB,
                "x-amz-id-2": "hostSESSGET1=",
            },
            resources=[
                {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::acme-archive/archive/dump.sql"}
            ],
        ),
        ct(
            104,
            at(1, 12, 45),
            userIdentity=session,
            sourceIPAddress="198.51.100.99",
            userAgent="[aws-sdk-go/1.44.0]",
            eventName="PutBucketPolicy",
            requestID="SESSPOL1",
            eventCategory="Management",
            managementEvent=True,
            readOnly=False,
            requestParameters={
                "bucketName": "acme-data",
                "bucketPolicy": {"Version": "2012-10-17", "Statement": []},
            },
            additionalEventData=None,
            resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-data"}],
        ),
        ct(
            105,
            at(1, 12, 50),
            userIdentity=session,
            sourceIPAddress="198.51.100.99",
            userAgent="[aws-sdk-go/1.44.0]",
            eventName="PutBucketVersioning",
            requestID="SESSVER1",
            eventCategory="Management",
            managementEvent=True,
            readOnly=False,
            errorCode="AccessDenied",
            errorMessage="Access Denied",
            requestParameters={
                "bucketName": "acme-data",
                "VersioningConfiguration": {"Status": "Suspended"},
            },
            additionalEventData=None,
            resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-data"}],
        ),
    ]
    return recs


N_SAL = len(_sal_records())
N_CT = len(_ct_records())


def _write(root: Path, rel: str, data: bytes) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Any:
    src = tmp_path_factory.mktemp("src")
    lines = [format_access_log_line(r) for r in _sal_records()] + [BAD_LINE]
    _write(src, SAL_NAME, ("\n".join(lines) + "\n").encode())
    _write(src, CT_NAME, render_cloudtrail_file(_ct_records()))
    with Case.open(tmp_path_factory.mktemp("case") / "c") as c:
        summary = c.ingest([src], progress=False)
        assert summary.rows == {"s3-access": N_SAL, "cloudtrail": N_CT}, summary
        yield c


@pytest.fixture(scope="module")
def sal_only_case(tmp_path_factory: pytest.TempPathFactory) -> Any:
    src = tmp_path_factory.mktemp("src_sal")
    _write(
        src,
        SAL_NAME,
        ("\n".join(format_access_log_line(r) for r in _sal_records()) + "\n").encode(),
    )
    with Case.open(tmp_path_factory.mktemp("case_sal") / "c") as c:
        c.ingest([src], progress=False)
        yield c


@pytest.fixture(scope="module")
def ct_only_case(tmp_path_factory: pytest.TempPathFactory) -> Any:
    src = tmp_path_factory.mktemp("src_ct")
    _write(src, CT_NAME, render_cloudtrail_file(_ct_records()))
    with Case.open(tmp_path_factory.mktemp("case_ct") / "c") as c:
        c.ingest([src], progress=False)
        yield c


@pytest.fixture(scope="module")
def reg() -> QueryRegistry:
    return QueryRegistry()


def run(reg: QueryRegistry, case: Any, name: str, **params: Any) -> pl.DataFrame:
    return reg.get(name).run(case.con, params)


# -- the catalogue itself ------------------------------------------------------------------------


def test_catalogue_loads_with_every_hunt_and_summary_declared_as_contracted(
    reg: QueryRegistry,
) -> None:
    for name, source in MINE.items():
        q = reg.get(name)
        assert q.kind == ("summary" if name in SUMMARIES else "hunt"), name
        assert q.source == source, name
        assert q.severity is None, name
        assert q.title and q.description, name
        for bound in ("start", "end"):
            assert q.params[bound].type == "timestamp" and q.params[bound].default is None, name
        for p in q.params.values():
            assert p.description, (name, p.name)
    assert len(reg.list(kind="hunt")) + len(reg.list(kind="summary")) >= len(MINE)


@pytest.mark.parametrize("name", sorted(MINE))
def test_every_query_runs_on_both_sources_and_on_either_alone(
    reg: QueryRegistry, case: Any, sal_only_case: Any, ct_only_case: Any, name: str
) -> None:
    for c in (case, sal_only_case, ct_only_case):
        frame = run(reg, c, name)
        assert len(set(frame.columns)) == len(frame.columns), "duplicate column names"
        for col, dtype in frame.schema.items():
            # Times stay UTC-aware; counts and bytes come back as plain integers, not decimals.
            if isinstance(dtype, pl.Datetime):
                assert dtype.time_zone == "UTC", (name, col)
            assert not isinstance(dtype, (pl.Decimal, pl.Int128)), (name, col, dtype)


@pytest.mark.parametrize("name", sorted(MINE))
def test_every_query_is_deterministic_and_honours_the_window(
    reg: QueryRegistry, case: Any, name: str
) -> None:
    # A window that holds nothing in the case: no time-bound row may leak through.
    empty = run(reg, case, name, start="2030-01-01T00:00:00Z", end="2030-01-02T00:00:00Z")
    if name in ("case_overview",):
        assert empty["rows"].to_list() == [0, 0]
    elif name == "evidence_coverage":
        assert empty["is_gap"].all() and empty.height == 2 * 24
    elif name == "rejects_summary":
        assert empty.height == 0  # the one object with a reject has records, all outside 2030
    elif name == "incident_impact":  # totals: one row, all zero
        assert empty.row(0)[2:] == (0,) * (empty.width - 2) and empty["first_seen"][0] is None
    else:
        assert empty.height == 0
    assert run(reg, case, name).equals(run(reg, case, name))


# -- summaries -----------------------------------------------------------------------------------


MALLORY_IP, BOB_IP = "203.0.113.66", "198.51.100.20"


def test_incident_impact_totals_what_the_addresses_did_counting_each_request_once(
    reg: QueryRegistry, case: Any, ct_only_case: Any
) -> None:
    # mallory: the .env file (in both sources, counted once) and a report read; two denials.
    row = run(reg, case, "incident_impact", source_ips=[MALLORY_IP]).row(0, named=True)
    assert (row["first_seen"], row["last_seen"]) == (at(2, 2, 30), at(3, 2, 42))
    assert (row["requests"], row["failed"]) == (4, 2)
    assert (row["object_reads"], row["objects_read"], row["bytes_read"]) == (2, 2, 150 * MIB + 1035)
    assert row["objects_deleted"] == row["objects_written"] == row["objects_encrypted_sse_c"] == 0
    # bob: a delete and a batch of two keys (named only by the access log), a copy written, three
    # reports read (the copy's read side is not data leaving), a failed upload not counted.
    row = run(reg, case, "incident_impact", source_ips=[BOB_IP]).row(0, named=True)
    assert (row["objects_deleted"], row["objects_written"], row["objects_read"]) == (3, 1, 3)
    assert row["delete_requests"] == 2  # the single delete and the batch
    assert row["bytes_read"] == 3 * 1024 + 24 + 25 + 27
    both = run(reg, case, "incident_impact", source_ips=[MALLORY_IP, BOB_IP]).row(0, named=True)
    assert (both["first_seen"], both["objects_read"]) == (at(1, 13, 0), 5)
    # CloudTrail alone: the batch delete names no keys (and this one no count either).
    alone = run(reg, ct_only_case, "incident_impact", source_ips=[BOB_IP]).row(0, named=True)
    assert (alone["requests"], alone["objects_deleted"], alone["delete_requests"]) == (1, 0, 1)


def test_activity_of_addresses_over_time_sets_them_apart(reg: QueryRegistry, case: Any) -> None:
    frame = run(reg, case, "activity_of_addresses_over_time", source_ips=[MALLORY_IP])
    named = frame.filter(pl.col("named"))
    assert named.select("period_start", "requests").rows() == [(at(2, 2), 1), (at(3, 2), 3)]
    total = run(reg, case, "activity_of_addresses_over_time")
    assert not total["named"].any()
    assert total["requests"].sum() == frame["requests"].sum()


def test_case_overview_counts_what_was_loaded(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "case_overview")
    rows = {r["source"]: r for r in out.iter_rows(named=True)}
    assert out["source"].to_list() == ["s3-access", "cloudtrail"]
    assert rows["s3-access"]["rows"] == N_SAL and rows["cloudtrail"]["rows"] == N_CT
    assert rows["s3-access"]["objects"] == 1 and rows["s3-access"]["rejects"] == 1
    assert rows["s3-access"]["first_event"] == T0 and rows["s3-access"]["last_event"] == at(4, 10)
    assert rows["cloudtrail"]["buckets"] == 2  # acme-data, acme-archive (AssumeRole names none)
    window = run(reg, case, "case_overview", start="2024-05-02T00:00:00Z")
    assert (
        window.filter(pl.col("source") == "s3-access")["rows"].item() == 6
    )  # lifecycle, mallory x4, Saturday


def test_top_source_ip_is_bob_and_requests_in_both_sources_count_once(
    reg: QueryRegistry, case: Any
) -> None:
    out = run(reg, case, "top_source_ips")
    top = out.row(0, named=True)
    # bob: delete, batch request + 2 keys, TLSv1 read, SigV2 read, 503 put, HTTP read,
    # copy (2 lines)
    assert (
        top["source_ip"],
        top["requests"],
        top["access_log_requests"],
        top["cloudtrail_events"],
    ) == ("198.51.100.20", 10, 10, 1)
    alice = out.filter(pl.col("source_ip") == "192.0.2.10").row(0, named=True)
    # 4 reads (3 also in CloudTrail), the upload, Saturday's read + AssumeRole only in CloudTrail
    assert (alice["requests"], alice["access_log_requests"], alice["cloudtrail_events"]) == (
        7,
        6,
        4,
    )
    assert run(reg, case, "top_source_ips", limit=2).height == 2


def test_traffic_by_bucket_includes_cloudtrail_only_bucket(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "traffic_by_bucket")
    archive = out.filter(pl.col("bucket") == "acme-archive").row(0, named=True)
    assert (archive["requests"], archive["bytes_out"], archive["errors"]) == (1, 200 * MIB, 0)
    assert out["bucket"].to_list()[0] == "acme-data"


def test_requests_over_time_by_status_class(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "requests_over_time")
    one = out.filter(pl.col("period_start") == at(1, 13))
    counts = dict(zip(one["status_class"], one["requests"]))
    assert counts == {"2xx": 9, "5xx": 1}
    quarter = run(reg, case, "requests_over_time", bucket_minutes=15)
    assert (
        quarter.filter(pl.col("period_start") == at(1, 13, 0))["requests"].sum() == 8
    )  # 13:00-13:13
    with pytest.raises(QueryError, match="bucket_minutes"):
        run(reg, case, "requests_over_time", bucket_minutes=0)


def test_activity_heatmap_counts_in_the_chosen_time_zone(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "activity_heatmap", time_zone="Asia/Tokyo")
    # mallory's 02:30 UTC download is 11:30 in Tokyo; CloudTrail holds the same request.
    cell = out.filter((pl.col("day") == date(2024, 5, 2)) & (pl.col("hour") == 11)).row(
        0, named=True
    )
    assert (cell["requests"], cell["access_log_requests"], cell["cloudtrail_events"]) == (1, 1, 1)
    assert (
        out["requests"].sum() == N_SAL + 4
    )  # CloudTrail-only: AssumeRole and the session's 3 calls
    with pytest.raises(QueryError, match="time_zone"):
        run(reg, case, "activity_heatmap", time_zone="Mars/Olympus_Mons")


def test_error_rates_and_operation_mix(reg: QueryRegistry, case: Any) -> None:
    rates = run(reg, case, "error_rates")
    put = rates.filter(
        (pl.col("source") == "s3-access") & (pl.col("operation") == "REST.PUT.OBJECT")
    ).row(0, named=True)
    assert (put["requests"], put["errors"], put["error_rate"], put["error_codes"]) == (
        2,
        1,
        0.5,
        ["SlowDown"],
    )
    mix = run(reg, case, "operation_mix")
    get = mix.filter((pl.col("source") == "cloudtrail") & (pl.col("operation") == "GetObject")).row(
        0, named=True
    )
    assert (get["requests"], get["service"]) == (5, "s3.amazonaws.com")


def test_bytes_out_over_time_groups_by_ip_or_principal_only(
    reg: QueryRegistry, case: Any, sal_only_case: Any
) -> None:
    out = run(reg, case, "bytes_out_over_time", group_by="principal")
    mal = out.filter((pl.col("group_key") == MALLORY) & (pl.col("period_start") == at(2, 2)))
    assert mal["bytes_out"].to_list() == [150 * MIB]  # counted once though in both sources
    assert set(run(reg, case, "bytes_out_over_time")["grouped_by"]) == {"ip"}
    for c in (case, sal_only_case):
        with pytest.raises(QueryError, match="group_by"):
            run(reg, c, "bytes_out_over_time", group_by="ip'; DROP TABLE evidence; --")
    with pytest.raises(QueryError, match="group_by"):  # even when the window holds no rows
        run(reg, case, "bytes_out_over_time", group_by="bucket", start="2030-01-01T00:00:00Z")
    assert case.tables()["evidence"] == 2


def test_ip_principal_matrix_pairs(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "ip_principal_matrix")
    pair = out.filter((pl.col("source_ip") == "198.51.100.99") & (pl.col("principal") == SESSION))
    assert pair["requests"].to_list() == [3]


def test_evidence_coverage_flags_hours_without_records(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "evidence_coverage")
    sal_hours = out.filter(pl.col("source") == "s3-access")
    # span: 2024-05-01 12:00 .. 2024-05-04 10:00 -> 12 + 24 + 24 + 11 hours
    assert sal_hours.height == 71
    covered = sal_hours.filter(~pl.col("is_gap"))["hour"].to_list()
    assert covered == [at(1, h) for h in (12, 13, 14, 15, 16)] + [
        at(2, 0),
        at(2, 2),
        at(3, 2),
        at(4, 10),
    ]
    assert sal_hours.filter(pl.col("hour") == at(1, 13))["records"].item() == 10
    assert (
        out.filter(pl.col("source") == "cloudtrail").height == 71
    )  # the case's span, both sources


def test_rejects_summary_points_at_the_bad_line(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "rejects_summary")
    assert out.height == 1
    row = out.row(0, named=True)
    assert (row["kind"], row["rejects"], row["first_line"], row["sample_raw"]) == (
        "s3-access",
        1,
        N_SAL + 1,
        BAD_LINE,
    )


def test_access_log_anomalies_lists_each_odd_field_and_keeps_records_with_an_odd_time(
    reg: QueryRegistry, tmp_path: Path
) -> None:
    # A forged line (a field slid out of place), an odd operation and an impossible date: each
    # is a row of the case with its anomaly, and the summary names the field, the line and the
    # request, so a responder sees them without querying the column by hand.
    line = format_access_log_line(sal_record(0, request_id="GOOD"))
    tail = line.split(" ")
    slid = list(tail)
    slid[-8] = "ECDHE-RSA-AES128-GCM-SHA256"  # a cipher suite where the signature version goes
    lines = [line, " ".join(slid).replace(" GOOD ", " SLID "),
             line.replace(" GOOD ", " ODDOP ").replace(" REST.GET.OBJECT ", " GetObject "),
             line.replace(" GOOD ", " BADDAY ").replace("[01/May/2024", "[31/Feb/2024")]
    assert len({*lines}) == 4 and " GetObject " in lines[2] and "[31/Feb/2024" in lines[3]
    _write(tmp_path / "src", SAL_NAME, ("\n".join(lines) + "\n").encode())
    with Case.open(tmp_path / "c") as c:
        c.ingest([tmp_path / "src"], progress=False)
        out = run(reg, c, "access_log_anomalies")
        by_field = {r["field"]: r for r in out.iter_rows(named=True)}
        assert set(by_field) == {"signature_version", "operation", "event_time"}
        assert by_field["signature_version"]["first_request_ids"] == ["SLID"]
        assert by_field["signature_version"]["first_line"] == 2
        assert "'ECDHE-RSA-AES128-GCM-SHA256', expected SigV2" in \
            by_field["signature_version"]["sample_anomaly"]
        assert by_field["operation"]["first_request_ids"] == ["ODDOP"]
        assert by_field["event_time"]["first_event"] is None
        assert out["records"].sum() == 3 and out["first_line"].to_list() == [2, 3, 4]
        # A window far from the records keeps only the one whose time is the odd value.
        far = run(reg, c, "access_log_anomalies", start="2030-01-01T00:00:00Z")
        assert far["field"].to_list() == ["event_time"]


# -- hunts ---------------------------------------------------------------------------------------


def test_principal_activity_matches_user_name_key_and_binds_hostile_text(
    reg: QueryRegistry, case: Any
) -> None:
    by_name = run(reg, case, "principal_activity", principal="mallory")
    assert by_name["source"].to_list().count("s3-access") == 4
    assert by_name["source"].to_list().count("cloudtrail") == 1
    assert by_name["event_time"].is_sorted()
    by_key = run(reg, case, "principal_activity", principal=MALLORY_KEY)
    assert sorted(by_key["source"]) == [
        "cloudtrail",
        "s3-access",
    ]  # the access log row via CloudTrail
    by_role = run(reg, case, "principal_activity", principal=ROLE)
    assert by_role["principal"].unique().to_list() == [SESSION] and by_role.height == 3
    assert run(reg, case, "principal_activity").height == 0
    assert run(reg, case, "principal_activity", principal="' OR '1'='1").height == 0
    assert run(reg, case, "principal_activity", principal="mallory", limit=2).height == 2


def test_ip_activity(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "ip_activity", ip="198.51.100.99")
    assert out["operation"].to_list() == ["GetObject", "PutBucketPolicy", "PutBucketVersioning"]
    assert out["outcome"].to_list() == ["success", "success", "AccessDenied"]


def test_access_key_activity_includes_the_call_that_issued_it(
    reg: QueryRegistry, case: Any
) -> None:
    out = run(reg, case, "access_key_activity", access_key_id=SESSION_KEY)
    assert out["operation"].to_list() == [
        "AssumeRole",
        "GetObject",
        "PutBucketPolicy",
        "PutBucketVersioning",
    ]
    assert out["matched_on"][0] == "call that issued the key"
    alice = run(reg, case, "access_key_activity", access_key_id=ALICE_KEY)
    presigned = alice.filter(pl.col("request_id") == "PRESIGN1")
    assert presigned["matched_on"].to_list() == ["presigned URL signed with the key"]
    # 3 reads in both sources + AssumeRole + the presigned request
    assert alice.height == 3 * 2 + 1 + 1


def test_object_history_finds_a_key_that_looks_like_sql(reg: QueryRegistry, case: Any) -> None:
    before = case.tables()
    out = run(reg, case, "object_history", bucket="acme-data", object_key=WEIRD_KEY)
    assert out["operation"].to_list() == ["REST.PUT.OBJECT"]
    assert case.tables() == before
    batch = run(reg, case, "object_history", bucket="acme-data", object_key="a/1.txt")
    assert sorted(zip(batch["source"], batch["role"])) == [
        ("cloudtrail", "named in a batch delete"),
        ("s3-access", "target"),
    ]
    q1 = run(reg, case, "object_history", bucket="acme-data", object_key="reports/2024/q1.csv")
    assert "copy source" in q1["role"].to_list()
    assert run(reg, case, "object_history", bucket="acme-data").height == 0


def test_sensitive_object_access(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "sensitive_object_access")
    assert sorted(zip(out["bucket"], out["object_key"])) == [
        ("acme-archive", "archive/dump.sql"),
        ("acme-data", "config/prod.env"),
        ("acme-data", "secrets/db_password.txt"),
    ]
    secret = out.filter(pl.col("object_key") == "secrets/db_password.txt").row(0, named=True)
    assert secret["matched_patterns"] == ["%password%", "%secret%"] and secret["failed"] == 1
    env = out.filter(pl.col("object_key") == "config/prod.env").row(0, named=True)
    assert env["requests"] == 1 and env["sources"] == [LogSource.S3_ACCESS]  # CloudTrail copy counted once
    custom = run(reg, case, "sensitive_object_access", key_patterns="%PUBLIC%,%staging%")
    assert sorted(custom["object_key"]) == ["public/index.html", "staging/q1.csv"]


def test_presigned_url_requests_name_the_signing_key(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "presigned_url_requests")
    assert out.height == 1
    row = out.row(0, named=True)
    assert (
        row["principal"],
        row["signing_access_key"],
        row["source_ip"],
        row["max_expires_seconds"],
    ) == (ALICE, ALICE_KEY, "198.51.100.7", 604800)


def test_transport_hunts(reg: QueryRegistry, case: Any) -> None:
    tls = run(reg, case, "deprecated_tls_requests")
    assert tls.select("principal", "tls_version", "object_requests").rows() == [(BOB, "TLSv1", 1)]
    v2 = run(reg, case, "sigv2_requests")
    assert v2.select("principal", "requests").rows() == [(BOB, 1)]
    http = run(reg, case, "plaintext_http_requests")
    # bob's read without TLS; lifecycle and anonymous requests are not signed
    assert http.select("principal", "requests").rows() == [(BOB, 1)]


def test_off_hours_object_reads_in_utc_and_another_time_zone(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "off_hours_object_reads")
    # only mallory reads at night (02:30 and 02:40 UTC); the denied read does not count
    assert out.select("actor", "day", "reads", "regular_days").rows() == [
        (MALLORY, date(2024, 5, 2), 1, 2),
        (MALLORY, date(2024, 5, 3), 1, 2),
    ]
    la = run(reg, case, "off_hours_object_reads", time_zone="America/Los_Angeles")
    # 12:00 UTC is 05:00 in Los Angeles; mallory's nights there are the evenings before.
    assert ALICE in la["actor"].to_list()
    assert la.filter(pl.col("actor") == MALLORY)["day"].to_list() == [
        date(2024, 5, 1),
        date(2024, 5, 2),
    ]
    late = run(reg, case, "off_hours_object_reads", business_start_hour=2, business_end_hour=12)
    assert MALLORY not in late["actor"].to_list()
    with pytest.raises(QueryError, match="business_start_hour"):
        run(reg, case, "off_hours_object_reads", business_start_hour=25)


def test_off_hours_include_weekends(reg: QueryRegistry, case: Any) -> None:
    # alice's Saturday 10:00 read is inside business hours: reported only when weekends count.
    assert ALICE not in run(reg, case, "off_hours_object_reads")["actor"].to_list()
    weekends = run(reg, case, "off_hours_object_reads", include_weekends=True)
    assert weekends.filter(pl.col("actor") == ALICE).select("day", "weekday", "reads").rows() == [
        (date(2024, 5, 4), "Saturday", 1)
    ]
    # 10:00 UTC Saturday is 20:00 in Sydney: off-hours whatever the weekend setting.
    sydney = run(reg, case, "off_hours_object_reads", time_zone="Australia/Sydney")
    assert sydney.filter(pl.col("actor") == ALICE)["day"].to_list()[-1] == date(2024, 5, 4)


def test_large_object_downloads_dedupes_by_request_id(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "large_object_downloads")
    assert out.select("source", "principal", "object_key", "bytes", "access_key_id").rows() == [
        ("cloudtrail", SESSION, "archive/dump.sql", 200 * MIB, SESSION_KEY),
        ("s3-access", MALLORY, "config/prod.env", 150 * MIB, MALLORY_KEY),
    ]
    assert run(reg, case, "large_object_downloads", min_bytes=160 * MIB)[
        "object_key"
    ].to_list() == ["archive/dump.sql"]


def test_automation_touching_data_by_user_agent_family(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "automation_touching_data")
    families = dict(zip(zip(out["user_agent_family"], out["actor"]), out["requests"]))
    assert families[("curl", MALLORY)] == 3  # three object reads; the listing names no object
    assert families[("aws-sdk-go", ROLE)] == 1
    assert families[("wget", ALICE)] == 1
    assert families[("aws-cli", ALICE)] == 6  # 4 reads (3 also in CloudTrail), the upload, Saturday
    assert not any(f == "mozilla" for f, _ in families)
    with_browsers = run(reg, case, "automation_touching_data", browser_families=[])
    assert "mozilla" in with_browsers["user_agent_family"].to_list()


def test_anonymous_and_cross_account_requests(reg: QueryRegistry, case: Any) -> None:
    anon = run(reg, case, "anonymous_requests")
    assert anon.select(
        "bucket", "source", "operation", "requests", "succeeded", "failed"
    ).rows() == [("acme-data", LogSource.S3_ACCESS, "REST.GET.OBJECT", 2, 1, 1)]
    cross = run(reg, case, "cross_account_requests")
    assert cross["principal_account"].unique().to_list() == ["999988887777"]
    assert cross["requests"].sum() == 4  # mallory's 4 requests, the CloudTrail copy counted once


def test_error_hunts(reg: QueryRegistry, case: Any) -> None:
    client = run(reg, case, "client_errors_by_requester")
    top = client.row(0, named=True)
    assert (
        top["principal"],
        top["source_ip"],
        top["http_status"],
        top["error_code"],
        top["requests"],
    ) == (MALLORY, "203.0.113.66", 403, "AccessDenied", 2)
    assert run(reg, case, "client_errors_by_requester", min_requests=2).height == 1
    server = run(reg, case, "server_errors")
    assert server.select("operation", "principal", "errors", "max_turnaround_ms").rows() == [
        ("REST.PUT.OBJECT", BOB, 1, 900)
    ]


def test_deleted_objects_tells_manual_from_lifecycle(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "deleted_objects")
    assert out.select("object_key", "delete_kind", "principal").rows() == [
        ("tmp/old.csv", "manual", BOB),
        ("a/1.txt", "manual (batch)", BOB),
        ("a/2.txt", "manual (batch)", BOB),
        ("logs/2023/old.log", "lifecycle", "AmazonS3"),
    ]
    batch = out.filter(pl.col("delete_kind") == "manual (batch)")
    assert batch["access_key_id"].to_list() == [BOB_KEY, BOB_KEY]  # from the DeleteObjects event
    assert batch["in_cloudtrail"].all()
    lifecycle = run(reg, case, "lifecycle_actions")
    assert lifecycle.select("bucket", "day", "operation", "actions").rows() == [
        ("acme-data", date(2024, 5, 2), "S3.EXPIRE.OBJECT", 1)
    ]


def test_bucket_config_changes_and_copies(reg: QueryRegistry, case: Any) -> None:
    changes = run(reg, case, "bucket_config_changes")
    assert changes.select("event_name", "setting", "bucket", "actor").rows() == [
        ("PutBucketPolicy", "policy", "acme-data", ROLE)
    ]
    assert run(reg, case, "bucket_config_changes", include_failed=True)["event_name"].to_list() == [
        "PutBucketPolicy",
        "PutBucketVersioning",
    ]
    copies = run(reg, case, "copy_operations")
    assert copies.select("actor", "copy_source", "bucket", "object_key", "cross_bucket").rows() == [
        (BOB, "acme-data/reports/2024/q1.csv", "acme-data", "staging/q1.csv", False)
    ]


def test_buckets_touched_and_assumed_role_sessions(reg: QueryRegistry, case: Any) -> None:
    touched = run(reg, case, "buckets_touched_by_principal", principal=ROLE)
    assert touched.select("bucket", "requests", "reads").rows() == [
        ("acme-archive", 1, 1),
        ("acme-data", 2, 0),
    ]
    assert run(reg, case, "buckets_touched_by_principal").height == 0
    sessions = run(reg, case, "assumed_role_sessions")
    assert sessions.height == 1
    s = sessions.row(0, named=True)
    assert (
        s["session_access_key_id"],
        s["role_arn"],
        s["issued_to_principal"],
        s["issued_to_ip"],
    ) == (SESSION_KEY, ROLE, ALICE, "192.0.2.10")
    assert (s["cloudtrail_events"], s["buckets"], s["used_from_other_ips"]) == (
        3,
        2,
        ["198.51.100.99"],
    )
    assert s["expires_at"] == at(1, 13, 30)


def test_first_seen_per_bucket(reg: QueryRegistry, case: Any) -> None:
    ips = run(reg, case, "first_seen_ips_per_bucket", min_hours_after=1)
    data = ips.filter(pl.col("bucket") == "acme-data")
    # acme-data's first request is alice's at 12:00 on 1 May
    assert dict(zip(data["source_ip"], data["hours_after_bucket_first"])) == {
        "198.51.100.20": 1.0,
        "203.0.113.200": 2.0,
        "198.51.100.7": 3.0,
        "203.0.113.66": 14.5,
    }
    agents = run(reg, case, "first_seen_user_agents_per_bucket")
    aws_cli = agents.filter(pl.col("user_agent").str.starts_with("aws-cli/"))
    assert aws_cli.height == 1  # CloudTrail's bracketed copy is the same agent
    actors = run(reg, case, "first_seen_principals_per_bucket", start="2024-05-02T00:00:00Z")
    assert actors.select("bucket", "actor").rows() == [
        ("acme-data", "AmazonS3"),
        ("acme-data", MALLORY),
    ]


def test_correlation_gaps_explain_one_sided_requests(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "correlation_gaps")
    archive = out.filter(pl.col("bucket") == "acme-archive").row(0, named=True)
    assert archive["match_status"] == "cloudtrail_only"
    assert "no server access logs" in archive["reason"]
    lifecycle = out.filter(pl.col("operations").list.contains("S3.EXPIRE.OBJECT"))
    assert lifecycle["match_status"].to_list() == ["access_log_only"]
    assert "S3's own action" in lifecycle["reason"].item()


def test_timeline_filters_and_orders(reg: QueryRegistry, case: Any) -> None:
    out = run(reg, case, "timeline", actor=MALLORY)
    assert out.height == 5 and out["event_time"].is_sorted()
    # the same second in both sources: access log first
    assert out.filter(pl.col("event_time") == at(2, 2, 30))["source"].to_list() == [
        "s3-access",
        "cloudtrail",
    ]
    assert run(reg, case, "timeline", source_ip="203.0.113.200").height == 2
    assert run(reg, case, "timeline", limit=3).height == 3
    window = run(reg, case, "timeline", start="2024-05-01T13:00:00Z", end="2024-05-01T14:00:00Z")
    assert window.height == 10 + 1  # bob's 10 lines + the DeleteObjects event


def test_invalid_parameter_values_name_the_parameter(reg: QueryRegistry, case: Any) -> None:
    with pytest.raises(QueryError, match="limit"):
        run(reg, case, "timeline", limit="many")
    with pytest.raises(QueryError, match="include_failed"):
        run(reg, case, "deleted_objects", include_failed="perhaps")
    with pytest.raises(QueryError, match="min_hours_after"):
        run(reg, case, "first_seen_ips_per_bucket", min_hours_after="soon")
    with pytest.raises(QueryError, match="principal"):
        run(reg, case, "ip_activity", principal="alice")  # ip_activity takes no principal
