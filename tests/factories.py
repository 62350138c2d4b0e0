"""Small, explicit log objects for tests, written with the same renderers the samples use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from s3forensics.render import format_access_log_line, render_cloudtrail_file

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"


def sal_record(i: int = 0, **over: Any) -> dict[str, Any]:
    """One access log record with realistic values; `over` replaces fields."""
    rec: dict[str, Any] = {
        "bucket_owner": OWNER,
        "bucket": "acme-data",
        "event_time": T0 + timedelta(seconds=i),
        "remote_ip": "192.0.2.10",
        "requester": "arn:aws:iam::111122223333:user/alice",
        "request_id": f"3E57427F3EXAMP{i:02d}",
        "operation": "REST.GET.OBJECT",
        "object_key": f"reports/2024/q{i % 4 + 1}.csv",
        "request_uri": f"GET /acme-data/reports/2024/q{i % 4 + 1}.csv HTTP/1.1",
        "http_status": 200,
        "error_code": None,
        "bytes_sent": 1024 + i,
        "object_size": 1024 + i,
        "total_time_ms": 40,
        "turnaround_time_ms": 12,
        "referer": None,
        "user_agent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        "version_id": None,
        "host_id": f"hostid{i:02d}EXAMPLEhostidEXAMPLE=",
        "signature_version": "SigV4",
        "cipher_suite": "TLS_AES_128_GCM_SHA256",
        "authentication_type": "AuthHeader",
        "host_header": "acme-data.s3.us-east-1.amazonaws.com",
        "tls_version": "TLSv1.3",
        "access_point_arn": None,
        "acl_required": False,
        "source_region": "us-east-1",
    }
    rec.update(over)
    return rec


def sal_object(n: int, *, start: int = 0, bad: list[str] | None = None) -> bytes:
    """An access log object of `n` records, with optional bad lines appended."""
    lines = [format_access_log_line(sal_record(start + i)) for i in range(n)]
    lines += bad or []
    return ("\n".join(lines) + "\n").encode()


def ct_record(i: int = 0, **over: Any) -> dict[str, Any]:
    """One CloudTrail S3 data event record; `over` replaces top-level keys."""
    rec: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEALICE",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLEALICE0001",
            "userName": "alice",
        },
        "eventTime": (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64]",
        "requestParameters": {"bucketName": "acme-data", "key": f"reports/2024/q{i % 4 + 1}.csv",
                              "Host": "acme-data.s3.us-east-1.amazonaws.com"},
        "responseElements": None,
        "additionalEventData": {"bytesTransferredIn": 0, "bytesTransferredOut": 1024 + i,
                                "x-amz-id-2": f"hostid{i:02d}EXAMPLEhostidEXAMPLE="},
        "requestID": f"3E57427F3EXAMP{i:02d}",
        "eventID": f"00000000-0000-4000-8000-{i:012d}",
        "readOnly": True,
        "resources": [{"type": "AWS::S3::Object",
                       "ARN": f"arn:aws:s3:::acme-data/reports/2024/q{i % 4 + 1}.csv"}],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": "111122223333",
        "eventCategory": "Data",
    }
    rec.update(over)
    return rec


def ct_object(ids: range) -> bytes:
    """A gzipped CloudTrail log object holding records for the given indices."""
    return render_cloudtrail_file([ct_record(i) for i in ids])
