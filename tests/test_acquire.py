"""Acquisition against a real S3 API over HTTP (moto's standalone server on localhost).

Buckets are seeded in every layout with objects whose delivery times are known; what a window
should fetch is computed here from those times and the documented rule (objects delivered in
[start - margin, end + lookback); EventTime partitions: the window's days), not from the code.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.config import Config

from s3forensics.acquire import READ_ONLY_OPERATIONS, acquire, plan_acquisition
from s3forensics.case import Case
from s3forensics.cli.main import main
from s3forensics.errors import AcquisitionError, TimeRangeError
from s3forensics.layouts import CLOCK_MARGIN, DEFAULT_LOOKBACK, DIGEST_PERIOD
from s3forensics.manifest import MANIFEST_KEYS, ManifestWriter, read_manifest, verify_case
from s3forensics.render import format_access_log_line, render_cloudtrail_file

from .factories import ct_record, sal_record
from .s3server import MotoServer, moto_server, s3_endpoint, s3_session  # noqa: F401 (fixtures)

UTC = UTC
START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
END = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SPAN = (datetime(2024, 4, 28, tzinfo=UTC), datetime(2024, 5, 5, tzinfo=UTC))
A1, A2, ORG = "111122223333", "444455556666", "o-abcdefghij"


def at(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t)
        t += step
    return out


@dataclass
class Seeded:
    """One bucket's objects, with the delivery time (or event day) each key stands for."""

    bucket: str
    prefix: str
    bodies: dict[str, bytes] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)  # SAL records or CT events seeded
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    late: list[dict[str, Any]] = field(
        default_factory=list
    )  # records delivered long after they happened

    def add(
        self,
        key: str,
        body: bytes,
        when: datetime | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.bodies[key] = body
        if when is not None:
            self.times[key] = when
        if metadata:
            self.metadata[key] = metadata

    def delivered_in(self, low: datetime, high: datetime, contains: str = "") -> set[str]:
        return {k for k, t in self.times.items() if low <= t < high and contains in k}


def client(endpoint: str, session: boto3.Session | None = None) -> Any:
    return (session or s3_session()).client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=16),
    )


def upload(endpoint: str, seeded: Seeded) -> None:
    s3 = client(endpoint)
    s3.create_bucket(Bucket=seeded.bucket)
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(
            pool.map(
                lambda kv: s3.put_object(
                    Bucket=seeded.bucket,
                    Key=kv[0],
                    Body=kv[1],
                    Metadata=seeded.metadata.get(kv[0], {}),
                ),
                seeded.bodies.items(),
            )
        )


def sal_body(records: list[dict[str, Any]]) -> bytes:
    return ("\n".join(format_access_log_line(r) for r in records) + "\n").encode()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


def simple_bucket(source: str) -> Seeded:
    """Simple-prefix access logs every 30 minutes over a week, one record delivered 6.5 h late."""
    seeded = Seeded(unique("sal-simple"), "logs/")
    n = itertools.count()
    for t in at(*SPAN, timedelta(minutes=30)):
        recs = [
            sal_record(next(n), bucket=source, event_time=t - timedelta(minutes=m))
            for m in (10, 20)
        ]
        if t == datetime(2024, 5, 1, 18, 0, tzinfo=UTC):
            seeded.late.append(
                sal_record(next(n), bucket=source, event_time=START + timedelta(minutes=90))
            )
            recs += seeded.late
        seeded.records += recs
        seeded.add(f"logs/{t:%Y-%m-%d-%H-%M-%S}-{next(n):016X}", sal_body(recs), t)
    # Not access logs: must be neither fetched nor break anything.
    seeded.add("logs/README.txt", b"log bucket for the acme account\n")
    seeded.add(
        "logs/2019-01-01-00-00-00-0123456789ABCDEF",
        sal_body([sal_record(0)]),
        datetime(2019, 1, 1, tzinfo=UTC),
    )
    return seeded


def partitioned_bucket(source_a: str, source_b: str) -> Seeded:
    """Partitioned-prefix logs: DeliveryTime for one source bucket, EventTime for another."""
    seeded = Seeded(unique("sal-part"), "pp/")
    n = itertools.count()
    for t in at(*SPAN, timedelta(hours=1)):
        recs = [sal_record(next(n), bucket=source_a, event_time=t - timedelta(minutes=15))]
        seeded.records += recs
        seeded.add(
            f"pp/{A1}/us-east-1/{source_a}/{t:%Y/%m/%d}/{t:%Y-%m-%d-%H-%M-%S}-{next(n):016X}",
            sal_body(recs),
            t,
        )
    for day in at(*SPAN, timedelta(days=1)):
        for part in range(4):
            recs = [
                sal_record(next(n), bucket=source_b, event_time=day + timedelta(hours=6 * part + 1))
            ]
            seeded.records += recs
            seeded.add(
                f"pp/{A2}/eu-west-1/{source_b}/{day:%Y/%m/%d}/{day:%Y-%m-%d}-00-00-00-{next(n):016X}",
                sal_body(recs),
                day,
            )
    return seeded


def cloudtrail_bucket() -> Seeded:
    """A trail bucket: one account, one organization account, hourly digests with signatures."""
    seeded = Seeded(unique("trail"), "ct/")
    n = itertools.count()
    for org, account, region in (("", A1, "us-east-1"), (ORG + "/", A2, "eu-west-1")):
        for t in at(START - timedelta(days=1), START + timedelta(days=2), timedelta(minutes=30)):
            events = [
                ct_record(
                    next(n),
                    eventTime=f"{t - timedelta(minutes=5):%Y-%m-%dT%H:%M:%SZ}",
                    eventID=str(uuid.UUID(int=next(n))),
                    recipientAccountId=account,
                    awsRegion=region,
                )
            ]
            seeded.records += events
            key = (
                f"ct/AWSLogs/{org}{account}/CloudTrail/{region}/{t:%Y/%m/%d}/"
                f"{account}_CloudTrail_{region}_{t:%Y%m%dT%H%M}Z_{next(n):016x}.json.gz"
            )
            seeded.add(key, render_cloudtrail_file(events), t)
    for t in at(START - timedelta(days=1), START + timedelta(days=2), timedelta(hours=1)):
        key = (
            f"ct/AWSLogs/{A1}/CloudTrail-Digest/us-east-1/{t:%Y/%m/%d}/"
            f"{A1}_CloudTrail-Digest_us-east-1_org_trail_us-east-1_{t:%Y%m%dT%H%M%S}Z.json.gz"
        )
        digest = gzip.compress(
            json.dumps(
                {
                    "awsAccountId": A1,
                    "digestStartTime": f"{t - DIGEST_PERIOD:%Y-%m-%dT%H:%M:%SZ}",
                    "digestEndTime": f"{t:%Y-%m-%dT%H:%M:%SZ}",
                    "digestS3Bucket": seeded.bucket,
                    "digestS3Object": key,
                    "logFiles": [],
                }
            ).encode(),
            mtime=0,
        )
        seeded.add(
            key,
            digest,
            t,
            metadata={
                "signature": hashlib.sha256(key.encode()).hexdigest(),
                "signature-algorithm": "SHA256withRSA",
            },
        )
    seeded.add(f"ct/AWSLogs/{A1}/CloudTrail-Insight/us-east-1/2024/05/01/x.json.gz", b"{}")
    seeded.add("ct/AWSLogs/not-an-account/readme.txt", b"?")
    return seeded


@dataclass
class World:
    endpoint: str
    simple: Seeded
    partitioned: Seeded
    trail: Seeded
    source: str  # the bucket the simple-prefix records are about (it exists and has logging on)


@pytest.fixture(scope="module")
def world(s3_endpoint: str) -> World:
    source = unique("acme-data")
    w = World(
        s3_endpoint,
        simple_bucket(source),
        partitioned_bucket(unique("src-a"), unique("src-b")),
        cloudtrail_bucket(),
        source,
    )
    for seeded in (w.simple, w.partitioned, w.trail):
        upload(s3_endpoint, seeded)
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket=source)
    s3.put_bucket_acl(Bucket=w.simple.bucket, ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": w.simple.bucket, "TargetPrefix": "logs/"}
        },
    )
    ct = s3_session().client("cloudtrail", endpoint_url=s3_endpoint)
    ct.create_trail(
        Name="org_trail",
        S3BucketName=w.trail.bucket,
        S3KeyPrefix="ct",
        EnableLogFileValidation=True,
        IsMultiRegionTrail=True,
    )
    return w


class Recorder:
    """Every operation a boto3 session's clients call, and every HTTP request they send."""

    def __init__(self, session: boto3.Session) -> None:
        self.operations: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (HTTP method, operation named in a POST body)
        self.lock = threading.Lock()
        session.events.register("before-call", self._call)
        session.events.register("before-send", self._send)

    def _call(self, model: Any, **_: Any) -> None:
        with self.lock:
            self.operations.append(model.name)

    def _send(self, request: Any, **_: Any) -> None:
        named = ""
        if (
            request.method == "POST"
        ):  # JSON protocol names it in a header, query protocol in the body
            target = request.headers.get("X-Amz-Target", b"")
            target = target.decode() if isinstance(target, bytes) else target
            body = (
                request.body.decode()
                if isinstance(request.body, bytes)
                else str(request.body or "")
            )
            named = target.rsplit(".", 1)[-1] if target else parse_qs(body).get("Action", [""])[0]
        with self.lock:
            self.requests.append((request.method, named))

    def count(self, operation: str) -> int:
        return self.operations.count(operation)

    def assert_read_only(self) -> None:
        assert self.requests and set(self.operations) <= READ_ONLY_OPERATIONS
        for method, named in self.requests:
            # S3 reads are GET/HEAD; the other services' reads are POSTs naming a read operation.
            assert method in ("GET", "HEAD") or (
                method == "POST" and named in READ_ONLY_OPERATIONS
            ), (method, named)


@pytest.fixture
def case(tmp_path: Path) -> Iterator[Case]:
    with Case.open(tmp_path / "case") as c:
        yield c


def run(
    case: Case,
    world_or_endpoint: World | str,
    seeded: Seeded,
    *,
    session: boto3.Session | None = None,
    **options: Any,
):
    endpoint = (
        world_or_endpoint if isinstance(world_or_endpoint, str) else world_or_endpoint.endpoint
    )
    options.setdefault("kind", "auto")
    options.setdefault("workers", 8)
    return acquire(
        case,
        bucket=seeded.bucket,
        prefix=seeded.prefix,
        start=START,
        end=END,
        endpoint_url=endpoint,
        boto3_session=session or s3_session(),
        **options,
    )


def manifest_by_key(case: Case) -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in read_manifest(case.root).entries}


# -- what is fetched ---------------------------------------------------------------------------


def test_simple_prefix_window_fetches_exactly_the_window_plus_lookback_as_evidence(
    world: World, case: Case
) -> None:
    seeded = world.simple
    session = s3_session()
    result = run(case, world, seeded, session=session, kind="s3-access")

    expected = seeded.delivered_in(START - CLOCK_MARGIN, END + DEFAULT_LOOKBACK["s3-access"])
    records = manifest_by_key(case)
    assert set(records) == expected and len(expected) > 0
    assert result.downloaded == len(expected) and result.held == 0
    # Byte for byte, hashed, with the metadata a court or auditor asks for.
    for key, entry in records.items():
        body = seeded.bodies[key]
        assert list(entry) == list(MANIFEST_KEYS)
        assert (case.root / entry["case_path"]).read_bytes() == body
        assert entry["case_path"] == f"evidence/{seeded.bucket}/{key}"
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["etag"] == hashlib.md5(body).hexdigest() and entry["size"] == len(body)
        assert entry["acquired_by"].startswith("arn:aws:") and entry["endpoint"] == world.endpoint
        assert entry["tool_version"].startswith("s3forensics ") and entry["acquired_at"].endswith(
            "Z"
        )
        assert entry["storage_class"] == "STANDARD" and entry["bucket"] == seeded.bucket
    # The evidence table points at the same objects, with their S3 provenance.
    ev = case.sql("SELECT * FROM evidence WHERE bucket = $b", {"b": seeded.bucket})
    assert set(ev["key"]) == expected
    for row in ev.iter_rows(named=True):
        entry = records[row["key"]]
        assert (row["sha256"], row["case_path"], row["etag"]) == (
            entry["sha256"],
            entry["case_path"],
            entry["etag"],
        )
        assert row["source"] == f"s3://{seeded.bucket}/{row['key']}"
        assert row["kind"] == "s3-access" and row["acquired_at"] is not None
        assert row["last_modified"] is not None
    # Every record of the window was loaded, including the one delivered 6.5 hours late.
    in_window = [r for r in seeded.records if START <= r["event_time"] < END]
    got = case.sql(
        "SELECT request_id FROM s3_access_logs WHERE event_time >= $s AND event_time < $e",
        {"s": START, "e": END},
    )
    assert sorted(got["request_id"]) == sorted(r["request_id"] for r in in_window)
    # Listing stayed near the window: far fewer keys than the prefix holds.
    assert result.plan.keys_listed < len(seeded.bodies) / 2


def test_shorter_lookback_fetches_less_and_misses_late_records_as_documented(
    world: World, case: Case
) -> None:
    seeded = world.simple
    run(case, world, seeded, kind="s3-access", lookback=timedelta(hours=1))
    assert set(manifest_by_key(case)) == seeded.delivered_in(
        START - CLOCK_MARGIN, END + timedelta(hours=1)
    )
    got = set(case.sql("SELECT request_id FROM s3_access_logs")["request_id"])
    on_time = [r for r in seeded.records if START <= r["event_time"] < END and r not in seeded.late]
    assert on_time and {r["request_id"] for r in on_time} <= got
    assert seeded.late and not {r["request_id"] for r in seeded.late} & got


def test_partitioned_prefixes_per_account_region_and_source_bucket(
    world: World, case: Case
) -> None:
    seeded = world.partitioned
    result = run(case, world, seeded, kind="s3-access")
    delivery = seeded.delivered_in(
        START - CLOCK_MARGIN, END + DEFAULT_LOOKBACK["s3-access"], f"/{A1}/"
    )
    event_days = seeded.delivered_in(
        START.replace(hour=0), START.replace(hour=0) + timedelta(days=1), f"/{A2}/"
    )
    assert set(manifest_by_key(case)) == delivery | event_days
    assert len(delivery) > 0 and len(event_days) == 4
    layouts = {r.range.layout.name: r.range.fields for r in result.plan.ranges}
    assert layouts["s3-access-partitioned-delivery"]["account"] == A1
    assert layouts["s3-access-partitioned-event"]["region"] == "eu-west-1"
    # Source buckets' logging configuration is asked for as context; a missing one is recorded.
    context = json.loads((case.root / "context" / "bucket-logging.json").read_text())
    assert set(context) >= {f["source_bucket"] for f in layouts.values()}
    assert all("error" in rec for rec in context.values())  # these source buckets do not exist


def test_simple_and_partitioned_logs_under_one_prefix_without_walking_it(s3_endpoint: str) -> None:
    # A logging configuration switched from simple to partitioned keeps both under its prefix;
    # the account folder sorts after the year's simple keys, which discovery must jump over.
    seeded = Seeded(unique("mixed"), "logs/")
    for i, t in enumerate(
        at(START - timedelta(days=1), START + timedelta(days=1), timedelta(minutes=30))
    ):
        seeded.add(
            f"logs/{t:%Y-%m-%d-%H-%M-%S}-{i:016X}", sal_body([sal_record(i, event_time=t)]), t
        )
    day = START.replace(hour=0)
    seeded.add(
        f"logs/999988887777/us-east-1/src/{day:%Y/%m/%d}/{day:%Y-%m-%d}-00-00-00-{0:016X}",
        sal_body([sal_record(500, event_time=START)]),
        day,
    )
    upload(s3_endpoint, seeded)
    plan = plan_acquisition(
        bucket=seeded.bucket,
        prefix="logs/",
        start=START,
        end=END,
        kind="auto",
        endpoint_url=s3_endpoint,
        boto3_session=s3_session(),
    )
    partitioned = {k for k in seeded.bodies if "/999988887777/" in k}  # the window's day
    simple = (
        seeded.delivered_in(START - CLOCK_MARGIN, END + DEFAULT_LOOKBACK["s3-access"]) - partitioned
    )
    assert simple and {o.key for o in plan.objects} == simple | partitioned
    assert plan.discovery_keys < len(seeded.bodies) / 4


def test_region_and_account_filters(world: World, s3_endpoint: str) -> None:
    seeded = world.partitioned
    plan = plan_acquisition(
        bucket=seeded.bucket,
        prefix=seeded.prefix,
        start=START,
        end=END,
        kind="s3-access",
        regions=["eu-west-1"],
        endpoint_url=s3_endpoint,
        boto3_session=s3_session(),
    )
    assert {o.key.split("/")[2] for o in plan.objects} == {"eu-west-1"}
    plan = plan_acquisition(
        bucket=world.trail.bucket,
        prefix="ct/",
        start=START,
        end=END,
        kind="cloudtrail",
        accounts=[A2],
        endpoint_url=s3_endpoint,
        boto3_session=s3_session(),
    )
    assert plan.objects and {o.key.split("/")[3] for o in plan.objects} == {A2}


def test_cloudtrail_logs_and_digests_with_and_without_organization(
    world: World, case: Case
) -> None:
    seeded = world.trail
    session = s3_session()
    recorder = Recorder(session)
    result = run(case, world, seeded, session=session)  # kind auto: AWSLogs/ means CloudTrail
    assert result.plan.kind == "cloudtrail"
    lookback = DEFAULT_LOOKBACK["cloudtrail"]
    logs = seeded.delivered_in(START - CLOCK_MARGIN, END + lookback, "/CloudTrail/")
    digests = seeded.delivered_in(
        START - CLOCK_MARGIN, END + lookback + DIGEST_PERIOD + CLOCK_MARGIN, "/CloudTrail-Digest/"
    )
    records = manifest_by_key(case)
    assert set(records) == logs | digests
    assert any(f"/{ORG}/{A2}/" in k for k in logs) and any(f"/{A1}/" in k for k in logs) and digests
    # The digest's signature exists only in its S3 metadata: the manifest keeps it.
    for key in digests:
        assert records[key]["metadata"] == seeded.metadata[key]
    kinds = case.sql("SELECT kind, count(*) n FROM evidence GROUP BY kind ORDER BY kind")
    assert dict(kinds.iter_rows()) == {"cloudtrail": len(logs), "cloudtrail-digest": len(digests)}
    assert case.sql("SELECT count(*) n FROM cloudtrail_events").item() == len(
        logs
    )  # one event each
    # Trail configuration is saved; a call the endpoint cannot answer is recorded, not fatal.
    ctx = case.root / "context"
    trails = json.loads((ctx / "cloudtrail-trails.json").read_text())
    assert any(
        t["TrailARN"].endswith("org_trail")
        for rec in trails.values()
        for t in rec["response"]["trailList"]
    )
    config = json.loads((ctx / "cloudtrail-trail-config.json").read_text())
    ((_, trail),) = config.items()
    assert trail["LogFileValidationEnabled"] is True and "response" in trail["GetEventSelectors"]
    keys = json.loads((ctx / "cloudtrail-public-keys.json").read_text())
    assert set(keys) == {"us-east-1", "eu-west-1"}
    assert all("response" in rec or "error" in rec for rec in keys.values())
    # Read-only: every request was a read, and S3 saw only GET/HEAD.
    assert {"ListObjectsV2", "GetObject", "GetCallerIdentity", "DescribeTrails"} <= set(
        recorder.operations
    )
    recorder.assert_read_only()


def test_acquisition_is_read_only_for_access_logs_too(world: World, case: Case) -> None:
    session = s3_session()
    recorder = Recorder(session)
    run(case, world, world.simple, session=session, kind="s3-access")
    assert {"ListObjectsV2", "GetObject", "GetBucketLogging"} <= set(recorder.operations)
    recorder.assert_read_only()
    context = json.loads((case.root / "context" / "bucket-logging.json").read_text())
    assert (
        context[world.source]["response"]["LoggingEnabled"]["TargetBucket"] == world.simple.bucket
    )


def test_plan_is_a_dry_run_with_request_counts(
    world: World,
    s3_endpoint: str,
    tmp_path: Path,
    session_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeded = world.simple
    code = main(
        [
            "acquire",
            "--case",
            str(tmp_path / "new-case"),
            "--bucket",
            seeded.bucket,
            "--prefix",
            "logs/",
            "--kind",
            "auto",
            "--start",
            "2024-05-01T10:00:00Z",
            "--end",
            "2024-05-01T12:00:00+00:00",
            "--endpoint-url",
            s3_endpoint,
            "--plan",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and not (tmp_path / "new-case").exists()
    expected = seeded.delivered_in(START - CLOCK_MARGIN, END + DEFAULT_LOOKBACK["s3-access"])
    assert "StartAfter='logs/2024-05-01-09-55-00'" in out
    assert (
        f"{len(expected)} objects selected" in out and f"at most {len(expected)} GetObject" in out
    )
    assert "ListObjectsV2" in out


@pytest.fixture
def session_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials in the environment, the way the CLI finds them."""
    from .s3server import DUMMY_KEY, DUMMY_SECRET

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


# -- resume, changes, verify ---------------------------------------------------------------------


class Interrupted(BaseException):
    """Stands for the process being stopped mid-acquisition (like KeyboardInterrupt)."""


def small_bucket(endpoint: str, n_hours: int = 30) -> Seeded:
    seeded = Seeded(unique("resume"), "logs/")
    for i, t in enumerate(
        at(START - timedelta(hours=2), START + timedelta(hours=n_hours), timedelta(hours=1))
    ):
        seeded.add(
            f"logs/{t:%Y-%m-%d-%H-%M-%S}-{i:016X}", sal_body([sal_record(i, event_time=t)]), t
        )
    upload(endpoint, seeded)
    return seeded


def test_interrupted_acquisition_resumes_without_refetching(s3_endpoint: str, case: Case) -> None:
    seeded = small_bucket(s3_endpoint)
    expected = seeded.delivered_in(START - CLOCK_MARGIN, END + DEFAULT_LOOKBACK["s3-access"])
    session = s3_session()
    gets = itertools.count()

    def stop_after_ten(model: Any, **_: Any) -> None:
        if model.name == "GetObject" and next(gets) >= 10:
            raise Interrupted()

    session.events.register("before-call", stop_after_ten)
    with pytest.raises(Interrupted):
        run(case, s3_endpoint, seeded, session=session, kind="s3-access", workers=4)
    held = manifest_by_key(case)
    assert 10 <= len(held) < len(expected)  # what landed before the stop is recorded

    again = s3_session()
    recorder = Recorder(again)
    result = run(case, s3_endpoint, seeded, session=again, kind="s3-access", workers=4)
    assert recorder.count("GetObject") == len(expected) - len(held)
    assert result.held == len(held) and result.downloaded == len(expected) - len(held)
    assert set(manifest_by_key(case)) == expected
    assert verify_case(case.root, con=case.con).ok
    # A third run fetches nothing.
    third = s3_session()
    recorder = Recorder(third)
    run(case, s3_endpoint, seeded, session=third, kind="s3-access")
    assert recorder.count("GetObject") == 0


# -- hostile keys (issue 12): no key can destroy, hide or block evidence -----------------------


def assert_case_intact(case: Case, seeded: Seeded) -> None:
    """Every key acquired is held with its exact bytes, in the manifest and the evidence table."""
    records = manifest_by_key(case)
    for key, entry in records.items():
        assert (case.root / entry["case_path"]).read_bytes() == seeded.bodies[key], key
    ev = case.sql("SELECT key, case_path FROM evidence WHERE bucket = $b", {"b": seeded.bucket})
    assert dict(ev.rows()) == {k: e["case_path"] for k, e in records.items()}
    report = verify_case(case.root, con=case.con)
    assert report.ok, str(report)


def test_a_key_named_like_another_keys_temporary_file_destroys_nothing(
    s3_endpoint: str, case: Case
) -> None:
    # The copy of K used to be written to K.partial first: the copy of key K.partial.
    key = f"logs/{START:%Y-%m-%d-%H-%M-%S}-0123456789ABCDEF"
    seeded = Seeded(unique("partial"), "logs/")
    seeded.add(key + ".partial", sal_body([sal_record(1, event_time=START)]), START)
    upload(s3_endpoint, seeded)
    run(case, s3_endpoint, seeded, kind="s3-access")
    seeded.add(key, sal_body([sal_record(2, event_time=START)]), START)
    client(s3_endpoint).put_object(Bucket=seeded.bucket, Key=key, Body=seeded.bodies[key])
    result = run(case, s3_endpoint, seeded, kind="s3-access")
    assert result.held == 1 and result.downloaded == 1
    assert set(manifest_by_key(case)) == {key, key + ".partial"}
    assert_case_intact(case, seeded)


def test_a_key_too_long_for_a_file_name_is_stored_encoded_and_the_run_goes_on(
    s3_endpoint: str, case: Case
) -> None:
    seeded = small_bucket(s3_endpoint, n_hours=3)
    long_key = f"logs/{START:%Y-%m-%d-%H-%M-%S}-{'A' * 300}"  # a 320-byte name
    seeded.add(long_key, sal_body([sal_record(77, event_time=START)]), START)
    client(s3_endpoint).put_object(Bucket=seeded.bucket, Key=long_key, Body=seeded.bodies[long_key])
    result = run(case, s3_endpoint, seeded, kind="s3-access", lookback=timedelta(0))
    entry = manifest_by_key(case)[long_key]  # recorded under its exact key
    assert entry["stored_as"] == "encoded" and entry["case_path"].startswith("evidence/@encoded/")
    assert any(long_key in w and entry["case_path"] in w for w in result.warnings)
    assert result.ingest is not None and result.ingest.loaded == result.downloaded
    assert case.sql("SELECT count(*) FROM s3_access_logs WHERE request_id = $r",
                    {"r": sal_record(77)["request_id"]}).item() == 1
    assert_case_intact(case, seeded)
    # A rerun finds it held: nothing is fetched again, nothing fails.
    again = s3_session()
    recorder = Recorder(again)
    rerun = run(case, s3_endpoint, seeded, session=again, kind="s3-access", lookback=timedelta(0))
    assert recorder.count("GetObject") == 0 and rerun.held == result.downloaded


@pytest.mark.parametrize("folder_first", [False, True])
def test_a_key_that_is_a_folder_of_another_key_keeps_both(
    s3_endpoint: str, case: Case, folder_first: bool
) -> None:
    # logs/X is a file; logs/X/Y needs logs/X to be a folder. Acquired with two prefixes, in
    # either order, both objects are held (the second under an encoded name).
    outer = f"logs/{START:%Y-%m-%d-%H-%M-%S}-AAAAAAAAAAAAAAAA"
    inner = f"{outer}/{START + timedelta(minutes=10):%Y-%m-%d-%H-%M-%S}-BBBBBBBBBBBBBBBB"
    seeded = Seeded(unique("folder"), "logs/")
    seeded.add(outer, sal_body([sal_record(1, event_time=START)]), START)
    seeded.add(inner, sal_body([sal_record(2, event_time=START)]), START)
    upload(s3_endpoint, seeded)
    prefixes = ["logs/", outer + "/"]
    for prefix in reversed(prefixes) if folder_first else prefixes:
        run(case, s3_endpoint, Seeded(seeded.bucket, prefix), kind="s3-access")
    records = manifest_by_key(case)
    assert set(records) == {outer, inner}
    second = records[outer if folder_first else inner]
    assert second["stored_as"] == "encoded"
    assert_case_intact(case, seeded)


def test_a_planted_digest_key_does_not_block_the_real_digest(s3_endpoint: str, case: Case) -> None:
    # The trail name in a digest key used to match '/', so '<real digest key>/x_<region>_<time>'
    # was a digest too, and its path turned the real digest's file name into a folder.
    seeded = Seeded(unique("trail-planted"), "")
    folder = f"AWSLogs/{A1}/CloudTrail-Digest/us-east-1/{START:%Y/%m/%d}/"
    real = (f"{folder}{A1}_CloudTrail-Digest_us-east-1_org_trail_us-east-1_"
            f"{START + timedelta(hours=1):%Y%m%dT%H%M%S}Z.json.gz")
    planted = f"{real}/x_us-east-1_{START + timedelta(minutes=70):%Y%m%dT%H%M%S}Z.json.gz"
    body = gzip.compress(json.dumps({"awsAccountId": A1, "logFiles": []}).encode(), mtime=0)
    seeded.add(real, body)
    seeded.add(planted, body + b"planted")
    upload(s3_endpoint, seeded)
    result = run(case, s3_endpoint, seeded, kind="cloudtrail")
    assert set(manifest_by_key(case)) == {real}
    (digests,) = [r for r in result.plan.ranges if r.range.layout.name == "cloudtrail-digest"]
    assert digests.unrecognised == 1 and digests.unrecognised_sample == [planted]
    ev = case.sql("SELECT kind, key, case_path FROM evidence").rows()
    assert ev == [("cloudtrail-digest", real, f"evidence/{seeded.bucket}/{real}")]
    assert_case_intact(case, seeded)


def test_a_log_delivered_twice_under_two_keys_is_two_records_sharing_one_copy(
    s3_endpoint: str, case: Case
) -> None:
    seeded = Seeded(unique("twice"), "logs/")
    body = sal_body([sal_record(5, event_time=START)])
    keys = [f"logs/{START + timedelta(minutes=m):%Y-%m-%d-%H-%M-%S}-0123456789ABCDEF" for m in (5, 9)]
    for key in keys:
        seeded.add(key, body, START)
    upload(s3_endpoint, seeded)
    result = run(case, s3_endpoint, seeded, kind="s3-access")
    records = manifest_by_key(case)
    assert set(records) == set(keys)  # both objects are in the manifest
    holder, twin = sorted(records.values(), key=lambda e: e["stored_as"] == "identical")
    assert holder["stored_as"] == "name" and holder["identical_to"] is None
    assert twin["stored_as"] == "identical"
    assert twin["identical_to"] == f"s3://{seeded.bucket}/{holder['key']}"
    assert twin["case_path"] == holder["case_path"]
    assert [p.name for p in (case.evidence_dir / seeded.bucket).rglob("*") if p.is_file()] == [
        holder["key"].rsplit("/", 1)[1]]
    ev = {r["key"]: r for r in case.sql("SELECT * FROM evidence").iter_rows(named=True)}
    assert ev[twin["key"]]["identical_to"] == ev[holder["key"]]["evidence_id"]
    assert ev[twin["key"]]["case_path"] == holder["case_path"]
    assert result.ingest is not None and result.ingest.identical == 1
    assert case.tables()["s3_access_logs"] == 1
    assert_case_intact(case, seeded)
    again = s3_session()
    recorder = Recorder(again)
    run(case, s3_endpoint, seeded, session=again, kind="s3-access")
    assert recorder.count("GetObject") == 0 and case.tables()["evidence"] == 2


def test_held_file_that_was_modified_is_fetched_again_and_still_flagged(
    s3_endpoint: str, case: Case
) -> None:
    seeded = small_bucket(s3_endpoint, n_hours=3)
    run(case, s3_endpoint, seeded, kind="s3-access", lookback=timedelta(0))
    entry = next(iter(manifest_by_key(case).values()))
    tampered = case.root / entry["case_path"]
    tampered.write_bytes(b"edited\n")
    recorder_session = s3_session()
    recorder = Recorder(recorder_session)
    result = run(
        case, s3_endpoint, seeded, session=recorder_session, kind="s3-access", lookback=timedelta(0)
    )
    assert recorder.count("GetObject") == 1
    assert any(entry["case_path"] in w for w in result.warnings)
    assert tampered.read_bytes() == b"edited\n"  # evidence of tampering is not overwritten
    copies = [e for e in read_manifest(case.root).entries if e["key"] == entry["key"]]
    assert (
        len(copies) == 2
        and (case.root / copies[1]["case_path"]).read_bytes() == seeded.bodies[entry["key"]]
    )
    report = verify_case(case.root, con=case.con)
    assert report.changed == [entry["case_path"]]


def test_object_changed_in_s3_keeps_both_copies(s3_endpoint: str, case: Case) -> None:
    seeded = small_bucket(s3_endpoint, n_hours=3)
    run(case, s3_endpoint, seeded, kind="s3-access", lookback=timedelta(0))
    key = min(manifest_by_key(case))
    first = manifest_by_key(case)[key]
    new_body = sal_body([sal_record(99, event_time=START)])
    client(s3_endpoint).put_object(Bucket=seeded.bucket, Key=key, Body=new_body)
    result = run(case, s3_endpoint, seeded, kind="s3-access", lookback=timedelta(0))
    copies = [e for e in read_manifest(case.root).entries if e["key"] == key]
    assert [c["sha256"] for c in copies] == [first["sha256"], hashlib.sha256(new_body).hexdigest()]
    assert (case.root / copies[0]["case_path"]).read_bytes() == seeded.bodies[key]
    assert (case.root / copies[1]["case_path"]).read_bytes() == new_body
    assert any("different bytes" in w for w in result.warnings)
    assert verify_case(case.root, con=case.con).ok


def test_verify_reports_changed_missing_and_unexpected_files(
    s3_endpoint: str, tmp_path: Path, session_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = small_bucket(s3_endpoint, n_hours=3)
    case_dir = tmp_path / "case"
    args = [
        "acquire",
        "--case",
        str(case_dir),
        "--bucket",
        seeded.bucket,
        "--prefix",
        "logs/",
        "--kind",
        "s3-access",
        "--start",
        "2024-05-01T10:00Z",
        "--end",
        "2024-05-01T12:00Z",
        "--lookback",
        "2h",
        "--endpoint-url",
        s3_endpoint,
        "--quiet",
    ]
    assert main(args) == 0
    assert main(["verify", "--case", str(case_dir)]) == 0
    assert "OK" in capsys.readouterr().out
    entries = read_manifest(case_dir).entries
    assert len(entries) >= 3
    (case_dir / entries[0]["case_path"]).write_bytes(b"x")
    (case_dir / entries[1]["case_path"]).unlink()
    (case_dir / "evidence" / "planted.log").write_bytes(b"y")
    assert main(["verify", "--case", str(case_dir)]) == 1
    report = verify_case(case_dir)
    assert report.changed == [entries[0]["case_path"]]
    assert report.missing == [entries[1]["case_path"]]
    assert report.unexpected == ["evidence/planted.log"]
    assert report.checked == len(entries)


def test_verify_reports_unreadable_manifest_lines_and_appends_after_a_torn_one(
    tmp_path: Path,
) -> None:
    evidence = tmp_path / "evidence" / "b"
    evidence.mkdir(parents=True)
    (evidence / "k").write_bytes(b"log line\n")
    record = dict.fromkeys(MANIFEST_KEYS)
    record.update(case_path="evidence/b/k", sha256=hashlib.sha256(b"log line\n").hexdigest())
    (tmp_path / "manifest.jsonl").write_text(json.dumps(record) + "\n" + '{"bucket": "b", "ke')
    report = verify_case(tmp_path)
    assert report.checked == 1 and not report.changed and not report.missing
    assert len(report.problems) == 1 and report.problems[0].startswith(
        "manifest.jsonl line 2: not JSON"
    )
    assert not report.ok
    # A writer after a crash starts on a new line: the next record stays readable.
    with ManifestWriter(tmp_path) as writer:
        writer.write(record)
    assert len(read_manifest(tmp_path).entries) == 2


# -- errors a person can act on ---------------------------------------------------------------


def test_no_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    s3_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = main(
        [
            "acquire",
            "--case",
            str(tmp_path / "c"),
            "--bucket",
            "some-bucket",
            "--kind",
            "auto",
            "--start",
            "2024-05-01T10:00Z",
            "--end",
            "2024-05-01T12:00Z",
            "--endpoint-url",
            s3_endpoint,
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "no AWS credentials found" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "pass --profile," in err  # the CLI names the flag a person types...
    with Case.open(tmp_path / "lib") as case, pytest.raises(AcquisitionError) as raised:
        case.acquire(bucket="some-bucket", kind="auto", start="2024-05-01T10:00Z",
                     end="2024-05-01T12:00Z", endpoint_url=s3_endpoint)
    assert "pass profile," in str(raised.value)  # ...the library the parameter a caller passes


def limited_identity(
    moto_server: MotoServer, actions: list[str], *, deny: tuple[str, ...] = ()
) -> boto3.Session:
    """A session for a new IAM user allowed `actions` but `deny` (enforced once auth is on)."""
    iam = s3_session().client("iam", endpoint_url=moto_server.url)
    user = unique("reader")
    iam.create_user(UserName=user)
    statements = [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
    if deny:
        statements.append({"Effect": "Deny", "Action": list(deny), "Resource": "*"})
    iam.put_user_policy(
        UserName=user,
        PolicyName="limited",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return s3_session(key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def test_access_denied_names_bucket_prefix_and_missing_action(
    moto_server: MotoServer, case: Case
) -> None:
    seeded = small_bucket(moto_server.url, n_hours=2)
    limited = limited_identity(moto_server, ["s3:GetObject", "sts:GetCallerIdentity"])
    moto_server.set_auth(0)
    try:
        with pytest.raises(AcquisitionError) as info:
            run(case, moto_server.url, seeded, session=limited, kind="s3-access")
    finally:
        moto_server.set_auth(float("inf"))
    message = str(info.value)
    assert "access denied" in message and f"s3://{seeded.bucket}/logs/" in message
    assert "s3:ListBucket" in message


def test_missing_permission_for_context_is_recorded_not_fatal(
    moto_server: MotoServer, case: Case
) -> None:
    seeded = small_bucket(moto_server.url, n_hours=2)
    # Everything but the one context permission. Granting named listing actions instead would
    # test moto's action names: moto 5.2.6 authorises ListObjectsV2 as s3:ListObjectsV2, where
    # AWS (and moto 5.2.5) use s3:ListBucket.
    limited = limited_identity(
        moto_server, ["s3:*", "sts:GetCallerIdentity"], deny=("s3:GetBucketLogging",)
    )
    moto_server.set_auth(0)
    try:
        result = run(case, moto_server.url, seeded, session=limited, kind="s3-access")
    finally:
        moto_server.set_auth(float("inf"))
    assert result.downloaded > 0
    context = json.loads((case.root / "context" / "bucket-logging.json").read_text())
    assert context and all(rec["error"]["code"] == "AccessDenied" for rec in context.values())
    assert all(rec["error"]["needs"] == "s3:GetBucketLogging" for rec in context.values())


def test_no_such_bucket(world: World, case: Case) -> None:
    missing = Seeded(unique("no-such"), "logs/")
    with pytest.raises(AcquisitionError, match=f"no such bucket: '{missing.bucket}'"):
        run(case, world, missing)


def test_window_with_no_objects_warns_and_exits_zero(
    world: World, tmp_path: Path, session_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "acquire",
            "--case",
            str(tmp_path / "c"),
            "--bucket",
            world.simple.bucket,
            "--prefix",
            "logs/",
            "--kind",
            "s3-access",
            "--start",
            "2022-01-01T00:00Z",
            "--end",
            "2022-01-02T00:00Z",
            "--endpoint-url",
            world.endpoint,
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "warning: no objects" in out
    assert read_manifest(tmp_path / "c").entries == []


def test_auto_on_a_prefix_holding_no_logs_says_what_it_saw(world: World, case: Case) -> None:
    with pytest.raises(AcquisitionError, match="found neither S3 access logs nor CloudTrail"):
        acquire(
            case,
            bucket=world.trail.bucket,
            prefix="ct/AWSLogs/not-an-account/",
            start=START,
            end=END,
            kind="auto",
            endpoint_url=world.endpoint,
            boto3_session=s3_session(),
        )


@pytest.mark.parametrize(
    "start,end,message",
    [
        ("2024-05-01T12:00Z", "2024-05-01T10:00Z", "is not before --end"),
        ("2024-05-01T10:00", "2024-05-01T12:00Z", "has no time zone"),
    ],
)
def test_bad_windows_are_rejected_before_any_request(
    start: str, end: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "acquire",
            "--case",
            str(tmp_path / "c"),
            "--bucket",
            "some-bucket",
            "--kind",
            "auto",
            "--start",
            start,
            "--end",
            end,
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and message in err and not (tmp_path / "c").exists()
    with pytest.raises(TimeRangeError):
        plan_acquisition(bucket="some-bucket", start=start, end=end, boto3_session=s3_session())


# -- the bundled samples, served by S3 ---------------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def seed_samples(endpoint: str) -> dict[str, Seeded]:
    """Serve data/samples from S3: top-level folders are buckets; object-metadata.json metadata."""
    metadata = json.loads((SAMPLES / "object-metadata.json").read_text())
    buckets: dict[str, Seeded] = {}
    for folder in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        seeded = Seeded(folder.name, "")
        for path in sorted(f for f in folder.rglob("*") if f.is_file()):
            key = path.relative_to(folder).as_posix()
            seeded.add(key, path.read_bytes(), metadata=metadata.get(f"{folder.name}/{key}"))
        upload(endpoint, seeded)
        buckets[folder.name] = seeded
    return buckets


@pytest.mark.skipif(not (SAMPLES / "answers.json").exists(), reason="bundled samples not generated")
def test_samples_acquired_from_s3_equal_the_samples_ingested_from_disk(
    s3_endpoint: str, tmp_path: Path
) -> None:
    buckets = seed_samples(s3_endpoint)
    span = json.loads((SAMPLES / "answers.json").read_text())["time_span"]
    with Case.open(tmp_path / "from-s3") as case:
        for seeded in buckets.values():
            for prefix in sorted({k.split("/")[0] + "/" for k in seeded.bodies}):
                acquire(
                    case,
                    bucket=seeded.bucket,
                    prefix=prefix,
                    start=span["start"],
                    end=span["end"],
                    kind="auto",
                    endpoint_url=s3_endpoint,
                    boto3_session=s3_session(),
                )
        fetched = {(e["bucket"], e["key"]): e for e in read_manifest(case.root).entries}
        served = {(s.bucket, k): s for s in buckets.values() for k in s.bodies}
        assert set(fetched) == set(served)  # the span covers every sample object
        for (bucket, key), entry in fetched.items():
            seeded = served[(bucket, key)]
            assert (case.root / entry["case_path"]).read_bytes() == seeded.bodies[key]
            assert entry["metadata"] == seeded.metadata.get(key, {})
        acquired = case.tables()
        acquired_hashes = set(case.sql("SELECT sha256 FROM evidence")["sha256"])
    with Case.open(tmp_path / "from-disk") as case:
        case.ingest([SAMPLES / name for name in buckets], progress=False)
        assert case.tables() == acquired
        assert set(case.sql("SELECT sha256 FROM evidence")["sha256"]) == acquired_hashes


def test_lake_build_from_s3_reads_only_the_planned_objects_and_writes_nothing(
        world: World, tmp_path: Path) -> None:
    """`lake build --bucket` (issue 14): the acquisition's narrowing, GETs of exactly those keys."""
    from s3forensics.lake.build import build_lake

    seeded = world.simple
    s3 = client(world.endpoint)
    before = sorted((o["Key"], o["ETag"]) for o in s3.list_objects_v2(
        Bucket=seeded.bucket, MaxKeys=1000).get("Contents", []))
    plan = plan_acquisition(bucket=seeded.bucket, prefix=seeded.prefix, kind="s3-access",
                            start=START, end=END, endpoint_url=world.endpoint,
                            boto3_session=s3_session())
    session = s3_session()
    recorder = Recorder(session)
    result = build_lake(tmp_path / "lake", bucket=seeded.bucket, prefix=seeded.prefix,
                        kind="s3-access", start=START, end=END, endpoint_url=world.endpoint,
                        boto3_session=session)
    recorder.assert_read_only()
    assert plan.objects and recorder.count("GetObject") == len(plan.objects)
    assert result.objects.get("s3-access") == len(plan.objects) and not result.errors
    after = sorted((o["Key"], o["ETag"]) for o in s3.list_objects_v2(
        Bucket=seeded.bucket, MaxKeys=1000).get("Contents", []))
    assert after == before  # nothing written to the source bucket
