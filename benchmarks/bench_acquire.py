"""Acquisition benchmark against a local S3 API (moto's standalone server, real HTTP).

Seeds three buckets in the local server:
  simple       30 days x 24 hours x 20 simple-prefix access log objects (14,400)
  partitioned  30 days of partitioned access logs: one DeliveryTime source (5/hour), one EventTime
               source (20/day)
  trail        30 days of CloudTrail, two accounts (one under an organization id) x two regions,
               2 files/hour each, plus hourly digests
then measures
  listing   for a 2-hour window: ListObjectsV2 calls and keys listed by `plan_acquisition`, per
            listed prefix, against listing the whole prefix (what peers do). Targets: per listed
            prefix, calls <= ceil(selected keys / 1000) + 1; >= 20x fewer keys listed overall.
  download  10,000 small objects: `acquire` (listing, parallel GETs, hashing, manifest; the case's
            ingest is stubbed out so only acquisition is timed) against a sequential boto3 loop
            (target >= 4x) and `aws s3 cp --recursive` with an equivalent include filter
            (target: not slower), once per emulated round-trip time (--rtt-ms; runs with a
            round-trip time download 5,000 objects by default, see --rtt-download).

Why emulate round-trip time: on loopback a request's round trip is ~0, so all that parallel GETs
can win is server CPU, and moto is one Python process sharing the machine's cores with the
client. Real S3 from a responder's workstation costs tens of milliseconds per request, which is
what parallelism hides. With --rtt-ms N > 0 every contender talks to the same moto server through
the same proxy (benchmarks/_latency.py) that forwards each request N ms after the client sent it:
one round trip per request, no CPU spent waiting, no serialisation of concurrent requests. The
listing measurement counts calls and keys, which latency does not change: it runs once, direct.

Usage: python benchmarks/bench_acquire.py [--days 30] [--per-hour 20] [--download 10000]
                                          [--workers 16] [--rtt-ms 0 --rtt-ms 25]
                                          [--rtt-download 5000] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botocore.config import Config  # noqa: E402

from s3forensics.acquire import acquire, plan_acquisition  # noqa: E402
from s3forensics.case import IngestSummary  # noqa: E402
from s3forensics.render import format_access_log_line, render_cloudtrail_file  # noqa: E402
from tests.s3server import DUMMY_KEY, DUMMY_SECRET, MotoServer, s3_session  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _latency import LatencyProxy  # noqa: E402

T0 = datetime(2024, 5, 1, tzinfo=UTC)
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
ACCOUNTS = (("", "111122223333"), ("o-abcdefghij", "444455556666"))
REGIONS = ("us-east-1", "eu-west-1")
# Objects in the download runs with emulated RTT, by default: at 25 ms the sequential loop alone
# takes ~33 ms per object, so 10,000 would add over 5 minutes to the default run.
RTT_DOWNLOAD_CAP = 5_000


def sal_line(i: int, bucket: str, when: datetime) -> bytes:
    return (
        format_access_log_line(
            {
                "bucket_owner": OWNER,
                "bucket": bucket,
                "event_time": when,
                "remote_ip": "192.0.2.10",
                "requester": "arn:aws:iam::111122223333:user/alice",
                "request_id": f"REQ{i:013d}",
                "operation": "REST.GET.OBJECT",
                "object_key": f"data/part-{i:06d}.csv",
                "request_uri": f"GET /{bucket}/data/part-{i:06d}.csv HTTP/1.1",
                "http_status": 200,
                "bytes_sent": 1024,
                "object_size": 1024,
                "total_time_ms": 20,
                "turnaround_time_ms": 5,
                "user_agent": "aws-cli/2.15.0",
                "host_id": f"h{i}",
                "signature_version": "SigV4",
                "cipher_suite": "TLS_AES_128_GCM_SHA256",
                "authentication_type": "AuthHeader",
                "host_header": f"{bucket}.s3.us-east-1.amazonaws.com",
                "tls_version": "TLSv1.3",
                "source_region": "us-east-1",
            }
        )
        + "\n"
    ).encode()


def seed(endpoint: str, days: int, per_hour: int) -> dict[str, dict[str, bytes]]:
    """Create and fill the three buckets; returns bucket -> {key: body}."""
    buckets: dict[str, dict[str, bytes]] = {
        "bench-simple": {},
        "bench-partitioned": {},
        "bench-trail": {},
    }
    n = 0
    for h in range(days * 24):
        hour = T0 + timedelta(hours=h)
        for j in range(per_hour):
            t = hour + timedelta(seconds=j * 3600 // per_hour)
            n += 1
            buckets["bench-simple"][f"logs/{t:%Y-%m-%d-%H-%M-%S}-{n:016X}"] = sal_line(n, "src", t)
        for j in range(5):
            t = hour + timedelta(minutes=12 * j)
            n += 1
            key = f"pp/111122223333/us-east-1/src-a/{t:%Y/%m/%d}/{t:%Y-%m-%d-%H-%M-%S}-{n:016X}"
            buckets["bench-partitioned"][key] = sal_line(n, "src-a", t)
    for d in range(days):
        day = T0 + timedelta(days=d)
        for j in range(20):
            n += 1
            key = f"pp/111122223333/eu-west-1/src-b/{day:%Y/%m/%d}/{day:%Y-%m-%d}-00-00-00-{n:016X}"
            buckets["bench-partitioned"][key] = sal_line(n, "src-b", day + timedelta(hours=j))
    for org, account in ACCOUNTS:
        base = f"ct/AWSLogs/{org + '/' if org else ''}{account}"
        for region in REGIONS:
            for h in range(days * 24):
                hour = T0 + timedelta(hours=h)
                for j in range(2):
                    t = hour + timedelta(minutes=30 * j)
                    n += 1
                    key = (
                        f"{base}/CloudTrail/{region}/{t:%Y/%m/%d}/"
                        f"{account}_CloudTrail_{region}_{t:%Y%m%dT%H%M}Z_{n:016x}.json.gz"
                    )
                    buckets["bench-trail"][key] = render_cloudtrail_file(
                        [{"eventID": f"e{n}", "eventTime": f"{t:%Y-%m-%dT%H:%M:%SZ}"}]
                    )
                key = (
                    f"{base}/CloudTrail-Digest/{region}/{hour:%Y/%m/%d}/{account}_CloudTrail-Digest_"
                    f"{region}_trail_us-east-1_{hour:%Y%m%dT%H%M%S}Z.json.gz"
                )
                buckets["bench-trail"][key] = render_cloudtrail_file([])
    s3 = s3_session().client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32),
    )
    total = sum(len(v) for v in buckets.values())
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=24) as pool:
        for bucket, objects in buckets.items():
            s3.create_bucket(Bucket=bucket)
            list(
                pool.map(
                    lambda kv, b=bucket: s3.put_object(Bucket=b, Key=kv[0], Body=kv[1]),
                    objects.items(),
                )
            )
    print(f"seeded {total:,} objects in {time.perf_counter() - started:.0f} s", flush=True)
    return buckets


def counting_session() -> tuple[Any, dict[str, int]]:
    session = s3_session()
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def count(model: Any, **_: Any) -> None:
        with lock:
            counts[model.name] = counts.get(model.name, 0) + 1

    session.events.register("before-call", count)
    return session, counts


def whole_prefix(endpoint: str, bucket: str, prefix: str) -> tuple[int, int]:
    """What listing the whole prefix costs: (calls, keys)."""
    s3 = s3_session().client(
        "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"})
    )
    calls = keys = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        calls += 1
        keys += len(page.get("Contents", []))
    return calls, keys


def bench_listing(endpoint: str, days: int) -> bool:
    start = T0 + timedelta(days=days // 2, hours=10)
    end = start + timedelta(hours=2)
    print(f"\nlisting: window [{start:%Y-%m-%dT%H:%MZ}, {end:%Y-%m-%dT%H:%MZ}), default lookbacks")
    print(
        f"{'bucket/prefix':28} {'kind':10} {'calls':>6} {'keys listed':>12} {'selected':>9} "
        f"{'whole: calls':>13} {'keys':>7} {'fewer keys':>10}"
    )
    ok = True
    for bucket, prefix, kind in (
        ("bench-simple", "logs/", "s3-access"),
        ("bench-partitioned", "pp/", "s3-access"),
        ("bench-trail", "ct/", "cloudtrail"),
    ):
        session, counts = counting_session()
        plan = plan_acquisition(
            bucket=bucket,
            prefix=prefix,
            start=start,
            end=end,
            kind=kind,
            endpoint_url=endpoint,
            boto3_session=session,
        )
        assert counts.get("ListObjectsV2", 0) == plan.list_calls
        w_calls, w_keys = whole_prefix(endpoint, bucket, prefix)
        ratio = w_keys / max(1, plan.keys_listed)
        ok &= ratio >= 20
        print(
            f"{bucket + '/' + prefix:28} {kind:10} {plan.list_calls:>6} {plan.keys_listed:>12,} "
            f"{len(plan.objects):>9,} {w_calls:>13} {w_keys:>7,} {ratio:>9.1f}x"
        )
        print(f"    discovery: {plan.discovery_calls} calls, {plan.discovery_keys} keys/folders")
        for r in plan.ranges:
            target = math.ceil(len(r.objects) / 1000) + 1
            ok &= r.calls <= target
            fields = " ".join(v for v in r.range.fields.values() if v)
            print(
                f"    {r.range.layout.name:32} {fields:40} calls {r.calls} (target <= {target}), "
                f"keys listed {r.keys_listed}, selected {len(r.objects)}"
            )
    return ok


class DownloadOnlyCase:
    """A case folder without a database: times acquisition alone (ingest has its own benchmark)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.evidence_dir = root / "evidence"

    def ingest(self, paths: Any, **_: Any) -> IngestSummary:
        return IngestSummary()

    def sql(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("no database in the download benchmark")


def sequential(endpoint: str, bucket: str, keys: list[str], dest: Path) -> None:
    """The baseline: one boto3 client, list the prefix, then get and write each object in turn."""
    s3 = s3_session().client(
        "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"})
    )
    wanted = set(keys)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="logs/"):
        for obj in page.get("Contents", []):
            if obj["Key"] in wanted:
                path = dest / obj["Key"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())


def bare_parallel(endpoint: str, bucket: str, keys: list[str], workers: int) -> None:
    """What the server allows at all: GETs from a thread pool, bodies read and dropped."""
    s3 = s3_session().client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=workers),
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda k: s3.get_object(Bucket=bucket, Key=k)["Body"].read(), keys))


def include_patterns(start: datetime, end: datetime) -> list[str]:
    """`aws s3 cp` --include patterns selecting keys delivered in [start, end) (whole hours)."""
    patterns, t = [], start
    while t < end:
        if t.hour == 0 and t + timedelta(days=1) <= end:
            patterns.append(f"{t:%Y-%m-%d}-*")
            t += timedelta(days=1)
        else:
            patterns.append(f"{t:%Y-%m-%d-%H}-*")
            t += timedelta(hours=1)
    return patterns


def bench_download(
    endpoint: str, n_objects: int, per_hour: int, workers: int, work: Path, rtt_ms: float
) -> bool:
    hours = math.ceil(n_objects / per_hour)
    start, end = T0 + timedelta(days=1), T0 + timedelta(days=1, hours=hours)
    link = (
        f"emulated round-trip time {rtt_ms:g} ms per request (all contenders through the same "
        "delay proxy)"
        if rtt_ms
        else "no added round-trip time (loopback, direct to the server)"
    )
    print(
        f"\ndownload, RTT {rtt_ms:g} ms: {hours} hours x {per_hour} objects from bench-simple/logs/ "
        f"(window [{start:%Y-%m-%dT%H:%MZ}, {end:%Y-%m-%dT%H:%MZ}), lookback 0), workers={workers}"
        f"\n  {link}",
        flush=True,
    )
    results: dict[str, float] = {}

    case = DownloadOnlyCase(work / "case")
    case.evidence_dir.mkdir(parents=True)
    t = time.perf_counter()
    result = acquire(
        case,
        bucket="bench-simple",
        prefix="logs/",
        start=start,
        end=end,
        kind="s3-access",
        lookback=timedelta(0),
        workers=workers,
        endpoint_url=endpoint,
        boto3_session=s3_session(),
    )
    results["s3forensics acquire"] = time.perf_counter() - t
    keys = [o.key for o in result.plan.objects]
    assert result.downloaded == len(keys) >= n_objects, (result.downloaded, n_objects)

    t = time.perf_counter()
    sequential(endpoint, "bench-simple", keys, work / "sequential")
    results["sequential boto3 loop"] = time.perf_counter() - t

    t = time.perf_counter()
    bare_parallel(endpoint, "bench-simple", keys, workers)
    results["ceiling: bare parallel GET"] = time.perf_counter() - t

    aws = shutil.which("aws", path=str(ROOT / ".venv" / "bin")) or shutil.which("aws")
    if aws:
        cmd = [
            aws,
            "s3",
            "cp",
            "--recursive",
            "--quiet",
            "--endpoint-url",
            endpoint,
            "s3://bench-simple/logs/",
            str(work / "awscli"),
            "--exclude",
            "*",
        ]
        # The same objects: hour/day patterns for the window, and by name the few our clock
        # margin adds before its start.
        extra = [k.split("/", 1)[1] for k in keys if k < f"logs/{start:%Y-%m-%d-%H-%M-%S}"]
        for pattern in include_patterns(start, end) + extra:
            cmd += ["--include", pattern]
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": DUMMY_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env=env)
        results["aws s3 cp --recursive"] = time.perf_counter() - t
        got = sum(1 for p in (work / "awscli").rglob("*") if p.is_file())
        assert got == len(keys), f"aws s3 cp fetched {got} objects, expected {len(keys)}"
    else:
        print("aws s3 cp: skipped (`aws` not found; `pip install awscli` into .venv)")

    ours = results["s3forensics acquire"]
    print(f"{'method':26} {'seconds':>8} {'objects/s':>10} {'ours is faster by':>18}")
    for name, seconds in results.items():
        print(f"{name:26} {seconds:>8.1f} {len(keys) / seconds:>10.0f} {seconds / ours:>17.1f}x")
    ceiling = results["sequential boto3 loop"] / results["ceiling: bare parallel GET"]
    print(
        f"(bare parallel GETs, {workers} at a time, are {ceiling:.1f}x faster than one at a time "
        f"against this server at this RTT: a bound on any client's ratio here)"
    )
    vs_seq = results["sequential boto3 loop"] / ours
    ok = vs_seq >= 4
    print(
        f"RTT {rtt_ms:g} ms: vs sequential boto3 loop {vs_seq:.1f}x (target >= 4x): "
        f"{'met' if ok else 'NOT met'}"
    )
    if "aws s3 cp --recursive" in results:
        vs_cli = results["aws s3 cp --recursive"] / ours
        ok &= vs_cli >= 1
        print(
            f"RTT {rtt_ms:g} ms: vs aws s3 cp --recursive {vs_cli:.1f}x (target >= 1x, not "
            f"slower): {'met' if vs_cli >= 1 else 'NOT met'}"
        )
    else:
        print(f"RTT {rtt_ms:g} ms: vs aws s3 cp --recursive: not measured (awscli not installed)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-hour", type=int, default=20)
    parser.add_argument("--download", type=int, default=10_000, help="objects to download")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--rtt-ms",
        type=float,
        action="append",
        metavar="N",
        help="emulated round-trip time per request for the download comparison; repeat to run "
        "several (default: 0 and 25)",
    )
    parser.add_argument(
        "--rtt-download",
        type=int,
        metavar="N",
        help=f"objects to download in runs with --rtt-ms > 0 (default: --download, at most "
        f"{RTT_DOWNLOAD_CAP:,}: the sequential loop pays a full round trip per object)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="4 days, 1,000 downloads (a smoke run)"
    )
    args = parser.parse_args()
    if args.quick:
        args.days, args.download = 4, 1000
    rtts: list[float] = args.rtt_ms if args.rtt_ms is not None else [0.0, 25.0]
    if any(r < 0 for r in rtts):
        parser.error("--rtt-ms must be >= 0")
    rtt_download = args.rtt_download or min(args.download, RTT_DOWNLOAD_CAP)
    started = time.perf_counter()
    download_ok: dict[float, bool] = {}
    server = MotoServer()
    try:
        seed(server.url, args.days, args.per_hour)
        listing_ok = bench_listing(server.url, args.days)
        for rtt in rtts:
            proxy = LatencyProxy(server.url, rtt) if rtt else None
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    n = rtt_download if rtt else args.download
                    if n < args.download:
                        print(
                            f"\nnote: the RTT {rtt:g} ms run downloads {n:,} objects, not "
                            f"{args.download:,}, to keep the default run near 10 minutes on 2 "
                            f"cores (the sequential loop pays a round trip per object); "
                            f"--rtt-download {args.download} runs them all"
                        )
                    download_ok[rtt] = bench_download(
                        proxy.url if proxy else server.url,
                        n,
                        args.per_hour,
                        args.workers,
                        Path(tmp),
                        rtt,
                    )
            finally:
                if proxy:
                    proxy.close()
    finally:
        server.close()
    print(f"\nlisting targets {'met' if listing_ok else 'NOT met'}")
    for rtt, ok in download_ok.items():
        print(f"download targets at RTT {rtt:g} ms {'met' if ok else 'NOT met'}")
    print(f"(benchmark took {time.perf_counter() - started:.0f} s)")
    return 0 if listing_ok and all(download_ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
