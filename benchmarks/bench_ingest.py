"""Ingest benchmark: s3forensics vs a per-line Python baseline and a no-parse floor, in one run.

Generates (once, cached under benchmarks/out/) >= 1,000,000 access log lines in ~10,000 objects
and >= 1,000,000 CloudTrail records in ~4,000 .json.gz files, then measures, each in its own
process so peak memory is its own:

  access logs   ingest  vs  (a) per-line `re` with the regex AWS publishes for its Athena table,
                                then the same typed columns as ingest (NULL for -, quotes off,
                                UTC timestamps, integers, decoded key) in a polars frame
                            (b) floor: reading the same lines into polars without parsing
  CloudTrail    ingest  vs  (a) a Python `json` loop building the same columns
                            (b) floor: gunzip alone

For reference, not in the ratios: `sal_match` (the regex alone, every field left as text),
`copies` (only the byte-for-byte evidence copies ingest makes, one file per object) and `store`
(only the DuckDB load of the rows, parsed into memory beforehand untimed, batch by batch,
committed as ingest commits them).

Usage: python benchmarks/bench_ingest.py [--lines N] [--records N] [--only sal|cloudtrail]
Prints records/s, peak RSS and the ratios the issue targets.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"

# The regex from AWS's documented Athena table for server access logs (input.regex of the
# RegexSerDe), used here as the speed baseline only (it rejects escaped quotes in user agents).
ATHENA_REGEX = (
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) (-|[0-9]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)(?: ([^ ]*) ([^ ]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)


# -- data generation ------------------------------------------------------------------------------

def _sal_lines(rng: random.Random, n: int, t0: datetime) -> list[str]:
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


def _ct_record(rng: random.Random, i: int, t0: datetime) -> dict:
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


def generate(lines: int, records: int) -> tuple[Path, Path]:
    """Write the corpora once; reuse them when the same sizes are asked for again."""
    from s3forensics.render import render_cloudtrail_file

    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    sal_dir, ct_dir = OUT / f"sal-{lines}", OUT / f"ct-{records}"
    if not (sal_dir / ".done").exists():
        shutil.rmtree(sal_dir, ignore_errors=True)
        sal_dir.mkdir(parents=True)
        rng = random.Random(1)
        per_object = max(1, lines // 10_000)
        for obj in range(0, lines, per_object):
            when = t0 + timedelta(seconds=obj)
            name = f"logs/{when:%Y-%m-%d-%H-%M-%S}-{obj:016X}"
            path = sal_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(_sal_lines(rng, min(per_object, lines - obj), when)) + "\n")
        (sal_dir / ".done").touch()
    if not (ct_dir / ".done").exists():
        shutil.rmtree(ct_dir, ignore_errors=True)
        ct_dir.mkdir(parents=True)
        rng = random.Random(2)
        per_file = max(1, records // 4_000)
        for n, start in enumerate(range(0, records, per_file)):
            when = t0 + timedelta(minutes=5 * n)
            rel = (f"AWSLogs/111122223333/CloudTrail/us-east-1/{when:%Y/%m/%d}/"
                   f"111122223333_CloudTrail_us-east-1_{when:%Y%m%dT%H%M}Z_{n:016X}.json.gz")
            path = ct_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(render_cloudtrail_file(
                _ct_record(rng, i, when) for i in range(start, min(start + per_file, records))))
        (ct_dir / ".done").touch()
    return sal_dir, ct_dir


# -- the measured workloads (each runs in a child process) -----------------------------------------

def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def work_ingest(root: Path, case_dir: Path) -> int:
    from s3forensics.case import Case

    with Case.open(case_dir) as case:
        summary = case.ingest([root], progress=False)
        return sum(summary.rows.values()) + sum(summary.rejects.values())


def work_sal_regex(root: Path) -> int:
    """The baseline: a per-line Python script that builds the same typed columns as ingest."""
    import re
    from urllib.parse import unquote

    import polars as pl

    from s3forensics.parse.s3_access import ACCESS_LOG_SCHEMA

    pattern = re.compile(ATHENA_REGEX)
    ints = (9, 11, 12, 13, 14)  # http_status, bytes_sent, object_size, total/turnaround time
    quoted = (8, 15, 16)  # request_uri, referer, user_agent
    rows = []
    for path in _files(root):
        evidence_id = path.name
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            m = pattern.match(line)
            if not m:
                continue
            f: list[object] = [None if v is None or v in ("-", '"-"') else v for v in m.groups()]
            f[2] = datetime.strptime(f[2], "%d/%b/%Y:%H:%M:%S %z")
            for i in ints:
                f[i] = None if f[i] is None else int(f[i])
            for i in quoted:
                if isinstance(f[i], str) and f[i].startswith('"'):
                    f[i] = f[i][1:-1]
            key = f[7]
            # AWS's regex stops at acl_required (field 26): source_region and later are not captured.
            rows.append((*f[:8], None if key is None else unquote(key), *f[8:25], f[25] == "Yes",
                         None, None, None, evidence_id, line_no))  # region, extra, anomalies
    frame = pl.DataFrame(rows, schema=ACCESS_LOG_SCHEMA, orient="row")
    return frame.height


def work_sal_match(root: Path) -> int:
    """For reference: the regex alone, every field left as text."""
    import re

    import polars as pl

    pattern = re.compile(ATHENA_REGEX)
    rows = []
    for path in _files(root):
        for line in path.read_text().splitlines():
            m = pattern.match(line)
            if m:
                rows.append(m.groups())
    frame = pl.DataFrame(rows, orient="row")
    return frame.height


def work_sal_floor(root: Path) -> int:
    import polars as pl

    total = 0
    for path in _files(root):
        total += pl.Series(path.read_bytes().decode().splitlines()).len()
    return total


def _get(d: object, *path: str) -> object:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def work_ct_json(root: Path) -> int:
    import polars as pl

    cols: dict[str, list] = {k: [] for k in (
        "event_time", "event_id", "event_name", "event_source", "aws_region", "source_ip", "user_agent",
        "identity_type", "principal_arn", "access_key_id", "session_issuer_arn", "request_id",
        "bucket", "object_key", "bytes_out", "x_amz_id_2", "request_parameters",
        "additional_event_data", "resources", "raw")}
    for path in _files(root):
        for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]:
            cols["event_time"].append(r.get("eventTime"))
            cols["event_id"].append(r.get("eventID"))
            cols["event_name"].append(r.get("eventName"))
            cols["event_source"].append(r.get("eventSource"))
            cols["aws_region"].append(r.get("awsRegion"))
            cols["source_ip"].append(r.get("sourceIPAddress"))
            cols["user_agent"].append(r.get("userAgent"))
            cols["identity_type"].append(_get(r, "userIdentity", "type"))
            cols["principal_arn"].append(_get(r, "userIdentity", "arn"))
            cols["access_key_id"].append(_get(r, "userIdentity", "accessKeyId"))
            cols["session_issuer_arn"].append(_get(r, "userIdentity", "sessionContext", "sessionIssuer", "arn"))
            cols["request_id"].append(r.get("requestID"))
            cols["bucket"].append(_get(r, "requestParameters", "bucketName"))
            cols["object_key"].append(_get(r, "requestParameters", "key"))
            cols["bytes_out"].append(_get(r, "additionalEventData", "bytesTransferredOut"))
            cols["x_amz_id_2"].append(_get(r, "additionalEventData", "x-amz-id-2"))
            cols["request_parameters"].append(json.dumps(r.get("requestParameters")))
            cols["additional_event_data"].append(json.dumps(r.get("additionalEventData")))
            cols["resources"].append(json.dumps(r.get("resources")))
            cols["raw"].append(json.dumps(r))
    frame = pl.DataFrame(cols).with_columns(
        pl.col("event_time").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"))
    return frame.height


def work_copies(root: Path, case_dir: Path) -> int:
    """For reference: only the evidence copies ingest must make (read, write a temporary file
    apart from the evidence names, link it to its name, remove the temporary name)."""
    import tempfile

    n = 0
    temp_dir = case_dir / "tmp"
    temp_dir.mkdir(parents=True, exist_ok=True)
    for path in _files(root):
        dest = case_dir / "evidence" / path.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="copy-", suffix=".tmp", dir=temp_dir)
        with os.fdopen(fd, "wb") as fh:
            fh.write(path.read_bytes())
        os.link(tmp, dest)
        os.unlink(tmp)
        n += 1
    return n


_PARSED: list[tuple[str, Any]] = []  # (kind, rows as a polars frame) per parse batch, for `store`


def prepare_store(root: Path, tmp: Path) -> tuple[Path]:
    """Untimed: parse every object with the package's parsers, batch by batch, into memory."""
    from s3forensics.detect import detect_kind
    from s3forensics.ingest import BATCH_BYTES
    from s3forensics.parse.cloudtrail import parse_cloudtrail
    from s3forensics.parse.common import decompress
    from s3forensics.parse.s3_access import parse_access_logs

    batch: list[tuple[str, bytes]] = []
    size = 0
    files = _files(root)
    for i, path in enumerate(files):
        content = decompress(path.read_bytes(), where=str(path))
        kind, _ = detect_kind(str(path), content)
        parser = parse_access_logs if kind == "s3-access" else parse_cloudtrail
        batch.append((f"{i:016x}", content))
        size += len(content)
        if size >= BATCH_BYTES or i == len(files) - 1:
            _PARSED.append((str(kind), parser(batch).rows))
            batch, size = [], 0
    return (tmp / "case.duckdb",)


def work_store(db: Path) -> int:
    """For reference: only the database load of rows parsed beforehand, as ingest commits them."""
    import polars as pl

    from s3forensics import store
    from s3forensics.ingest import LOAD_BYTES, LOAD_ROWS

    con = store.connect(db)
    store.ensure_schema(con)
    n = rows = size = 0
    con.execute("BEGIN TRANSACTION")
    while _PARSED:
        kind_name, frame = _PARSED.pop(0)
        kind = "access_rows" if kind_name == "s3-access" else "cloudtrail_rows"
        store.insert_batch(con, evidence=pl.DataFrame(schema=store.EVIDENCE_SCHEMA),
                           **{kind: frame})
        n, rows, size = n + frame.height, rows + frame.height, size + int(frame.estimated_size())
        if rows >= LOAD_ROWS or size >= LOAD_BYTES:
            con.execute("COMMIT")
            con.execute("BEGIN TRANSACTION")
            rows = size = 0
    con.execute("COMMIT")
    con.close()
    return n


def work_ct_floor(root: Path) -> int:
    total = 0
    for path in _files(root):
        total += len(gzip.decompress(path.read_bytes()))
    return total


WORK = {"ingest": work_ingest, "sal_regex": work_sal_regex, "sal_match": work_sal_match, "sal_floor": work_sal_floor,
        "ct_json": work_ct_json, "ct_floor": work_ct_floor, "copies": work_copies,
        "store": work_store}


def child(name: str, root: str) -> None:
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        if name == "store":
            args: tuple[Path, ...] = prepare_store(Path(root), Path(tmp))
        elif name in ("ingest", "copies"):
            args = (Path(root), Path(tmp) / "case")
        else:
            args = (Path(root),)
        started = time.perf_counter()
        n = WORK[name](*args)
        seconds = time.perf_counter() - started
        # The case (copies and database) is removed after the clock stops.
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"n": n, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def measure(name: str, root: Path) -> dict:
    # Each workload starts with no writes of an earlier one still in flight to the disk, and with
    # the input in the page cache (this machine's memory manager evicts idle file pages, which
    # otherwise made whichever workload ran first pay for reading the disk).
    os.sync()
    time.sleep(5)
    for path in _files(root):
        path.read_bytes()
    out = subprocess.run([sys.executable, __file__, "--child", name, str(root)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="access log lines (default 1,000,000)")
    ap.add_argument("--records", type=int, default=1_000_000, help="CloudTrail records (default 1,000,000)")
    ap.add_argument("--only", choices=["sal", "cloudtrail"], help="run one half")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    OUT.mkdir(exist_ok=True)
    print(f"generating (cached in {OUT}) ...", flush=True)
    sal_dir, ct_dir = generate(args.lines, args.records)
    results = []
    if args.only in (None, "sal"):
        n = args.lines
        r = {k: measure(k, sal_dir) for k in ("sal_floor", "sal_match", "sal_regex", "copies", "store", "ingest")}
        results.append(("access logs", n, r, "sal_regex", "sal_floor", 4.0, 6.0))
    if args.only in (None, "cloudtrail"):
        n = args.records
        r = {k: measure(k, ct_dir) for k in ("ct_floor", "ct_json", "copies", "store", "ingest")}
        results.append(("CloudTrail", n, r, "ct_json", "ct_floor", 5.0, 3.0))
    print()
    print(f"{'source':12} {'workload':10} {'records/s':>12} {'seconds':>8} {'peak MiB':>9}")
    ok = True
    for label, n, r, base, floor, speedup_target, floor_target in results:
        for k, v in r.items():
            print(f"{label:12} {k:10} {n / v['seconds']:>12,.0f} {v['seconds']:>8.1f} {v['peak_mib']:>9.0f}")
        speedup = r[base]["seconds"] / r["ingest"]["seconds"]
        vs_floor = r["ingest"]["seconds"] / r[floor]["seconds"]
        mem = r["ingest"]["peak_mib"]
        verdicts = [speedup >= speedup_target, vs_floor <= floor_target, mem < 1536]
        ok &= all(verdicts)
        print(f"{label:12} ingest is {speedup:.1f}x the Python baseline (target >= {speedup_target:g}x), "
              f"{vs_floor:.1f}x the floor (target <= {floor_target:g}x), peak {mem:.0f} MiB "
              f"(target < 1536): {'MET' if all(verdicts) else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
