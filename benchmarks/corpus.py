"""The benchmarks' generated corpora: access logs and CloudTrail files, made once and cached.

`sal_dir(lines, objects)` and `ct_dir(records, files)` write (under benchmarks/out/sal-<lines>-
<objects> and ct-<records>-<files>) logs as AWS delivers them, from a fixed seed, and reuse a
folder once it is complete (`.done`), so bench_ingest.py and bench_lake.py measure the same input
and a cached corpus stays valid across runs.
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["OUT", "corpus_files", "ct_dir", "ct_record", "sal_dir", "sal_lines"]

OUT = Path(__file__).resolve().parent / "out"


def sal_lines(rng: random.Random, n: int, t0: datetime) -> list[str]:
    """`n` access log lines of a busy data bucket from `t0` on, 37 ms apart."""
    from s3forensics.render import format_access_log_line

    ops = ["REST.GET.OBJECT"] * 6 + ["REST.PUT.OBJECT", "REST.HEAD.OBJECT", "REST.GET.BUCKET",
                                     "REST.DELETE.OBJECT", "BATCH.DELETE.OBJECT", "S3.EXPIRE.OBJECT"]
    uas = ["aws-sdk-java/1.12.500 Linux/5.10 OpenJDK_64-Bit_Server_VM/17 java/17 vendor/Amazon.com",
           "Boto3/1.34.10 md/Botocore#1.34.10 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.6",
           "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2 prompt/off command/s3.cp",
           'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36']
    lines = []
    for i in range(n):
        op = ops[rng.randrange(len(ops))]
        key = f"data/{rng.randrange(1000):04d}/part-{rng.randrange(100000):06d}.parquet"
        size = rng.randrange(1, 50_000_000)
        lines.append(format_access_log_line({
            "bucket_owner": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
            "bucket": "bench-data",
            "event_time": t0 + timedelta(milliseconds=37 * i),
            "remote_ip": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            "requester": f"arn:aws:sts::111122223333:assumed-role/app-{rng.randrange(8)}/i-0{rng.randrange(10**15):015x}",
            "request_id": f"{rng.getrandbits(64):016X}",
            "operation": op,
            "object_key": key,
            "request_uri": f"GET /bench-data/{key} HTTP/1.1",
            "http_status": 200 if rng.random() > 0.03 else 403,
            "error_code": None,
            "bytes_sent": size if op == "REST.GET.OBJECT" else None,
            "object_size": size,
            "total_time_ms": rng.randrange(1, 5000),
            "turnaround_time_ms": rng.randrange(1, 200),
            "referer": None,
            "user_agent": uas[rng.randrange(len(uas))],
            "version_id": None,
            "host_id": f"{rng.getrandbits(256):064x}=",
            "signature_version": "SigV4",
            "cipher_suite": "TLS_AES_128_GCM_SHA256",
            "authentication_type": "AuthHeader",
            "host_header": "bench-data.s3.us-east-1.amazonaws.com",
            "tls_version": "TLSv1.3",
            "access_point_arn": None,
            "acl_required": False,
            "source_region": "us-east-1",
        }))
    return lines


def ct_record(rng: random.Random, i: int, t0: datetime) -> dict:
    """CloudTrail data event number `i` (a GetObject by an assumed role), 41 ms apart from `t0`."""
    key = f"data/{rng.randrange(1000):04d}/part-{rng.randrange(100000):06d}.parquet"
    role = f"app-{rng.randrange(8)}"
    return {
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "AssumedRole", "principalId": f"AROAEXAMPLE{rng.randrange(8)}:i-0{i:015x}",
            "arn": f"arn:aws:sts::111122223333:assumed-role/{role}/i-0{i:015x}",
            "accountId": "111122223333", "accessKeyId": f"ASIA{rng.getrandbits(64):016X}",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                                                 "arn": f"arn:aws:iam::111122223333:role/{role}",
                                                 "accountId": "111122223333", "userName": role},
                               "attributes": {"creationDate": "2024-05-01T00:00:00Z", "mfaAuthenticated": "false"}},
        },
        "eventTime": (t0 + timedelta(milliseconds=41 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
        "sourceIPAddress": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": "[Boto3/1.34.10 md/Botocore#1.34.10 ua/2.0 os/linux#6.1 lang/python#3.11.6]",
        "requestParameters": {"bucketName": "bench-data", "Host": "bench-data.s3.us-east-1.amazonaws.com", "key": key},
        "responseElements": None,
        "additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                "bytesTransferredIn": 0, "bytesTransferredOut": rng.randrange(1, 50_000_000),
                                "AuthenticationMethod": "AuthHeader", "x-amz-id-2": f"{rng.getrandbits(256):064x}="},
        "requestID": f"{rng.getrandbits(64):016X}", "eventID": f"{rng.getrandbits(128):032x}",
        "readOnly": True,
        "resources": [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::bench-data/{key}"},
                      {"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::bench-data"}],
        "eventType": "AwsApiCall", "managementEvent": False, "recipientAccountId": "111122223333",
        "eventCategory": "Data",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": "bench-data.s3.us-east-1.amazonaws.com"},
    }


def sal_dir(lines: int, objects: int) -> Path:
    """Access logs of `lines` lines in `objects` objects (generated once, then reused)."""
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    folder = OUT / f"sal-{lines}-{objects}"
    if not (folder / ".done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rng = random.Random(lines)
        per_object = max(1, lines // objects)
        for obj in range(0, lines, per_object):
            when = t0 + timedelta(seconds=obj)
            path = folder / f"logs/{when:%Y-%m-%d-%H-%M-%S}-{obj:016X}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(sal_lines(rng, min(per_object, lines - obj), when)) + "\n")
        (folder / ".done").touch()
    return folder


def ct_dir(records: int, files: int) -> Path:
    """CloudTrail `records` records in `files` .json.gz files (generated once, then reused)."""
    from s3forensics.render import render_cloudtrail_file

    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    folder = OUT / f"ct-{records}-{files}"
    if not (folder / ".done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rng = random.Random(2)
        per_file = max(1, records // files)
        for n, start in enumerate(range(0, records, per_file)):
            when = t0 + timedelta(minutes=5 * n)
            rel = (f"AWSLogs/111122223333/CloudTrail/us-east-1/{when:%Y/%m/%d}/"
                   f"111122223333_CloudTrail_us-east-1_{when:%Y%m%dT%H%M}Z_{n:016X}.json.gz")
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(render_cloudtrail_file(
                ct_record(rng, i, when) for i in range(start, min(start + per_file, records))))
        (folder / ".done").touch()
    return folder


def corpus_files(root: Path) -> list[Path]:
    """The log files of a corpus folder, in path order (its `.done` marker aside)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
