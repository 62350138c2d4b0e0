"""Acquire log objects from S3 into a case: windowed listing, parallel hashed download, context.

The only module that uses boto3. It only lists, heads and gets (plus read-only context calls:
GetBucketLogging, DescribeTrails, GetEventSelectors, GetTrailStatus, ListPublicKeys,
GetCallerIdentity); `READ_ONLY_OPERATIONS` is the complete set, and a test holds it to that.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    ResponseStreamingError,
)
from tqdm.auto import tqdm

from . import __version__
from .errors import AcquisitionError
from .layouts import (
    CLOCK_MARGIN,
    DEFAULT_LOOKBACK,
    DEFAULT_WORKERS,
    KINDS,
    LAYOUTS,
    Layout,
    ListingRange,
    after_simple_year,
    is_account,
    is_bucket_name,
    is_org,
    is_region,
    listing_ranges,
    simple_year,
)
from .manifest import ManifestWriter, read_manifest, sha256_file
from .timerange import TimeRange

if TYPE_CHECKING:
    from .case import Case, IngestSummary

__all__ = [
    "KINDS",
    "READ_ONLY_OPERATIONS",
    "AcquireResult",
    "AcquisitionPlan",
    "ListedObject",
    "ObjectReader",
    "RangeListing",
    "acquire",
    "plan_acquisition",
]

#: Every API operation an acquisition may send. All read: nothing is written to the account.
READ_ONLY_OPERATIONS = frozenset(
    {
        "ListObjectsV2",
        "HeadObject",
        "GetObject",
        "GetBucketLogging",
        "GetCallerIdentity",
        "DescribeTrails",
        "GetEventSelectors",
        "GetTrailStatus",
        "ListPublicKeys",
    }
)
# The first page of a ranged listing is small: it tells how densely keys are packed in time,
# which sizes the next pages so that the last one ends near the upper bound instead of listing up
# to 1000 keys past it. The slack absorbs uneven delivery; falling short costs one more call.
FIRST_PAGE_KEYS = 20
PAGE_KEYS = 1000
PAGE_SLACK = 1.15
# Shallow delimiter scans: a few keys tell that simple-prefix logs of a year are there (the scan
# then jumps past the year); pages holding only folders continue at full size.
SCAN_FIRST_KEYS = 10
# Keys read to tell EventTime from DeliveryTime partitions (EventTime names are all 00-00-00).
PROBE_KEYS = 5
DOWNLOAD_ATTEMPTS = 4
_CHUNK = 1 << 20
_MD5_ETAG = re.compile(r"[0-9a-f]{32}")
_CONTEXT_DIR = "context"
# The IAM action a denied operation needs, for errors a person can act on.
_IAM_ACTION = {
    "ListObjectsV2": "s3:ListBucket",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "GetBucketLogging": "s3:GetBucketLogging",
    "DescribeTrails": "cloudtrail:DescribeTrails",
    "GetEventSelectors": "cloudtrail:GetEventSelectors",
    "GetTrailStatus": "cloudtrail:GetTrailStatus",
    "ListPublicKeys": "cloudtrail:ListPublicKeys",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403", "Forbidden"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidClientTokenId",
    "InvalidToken",
    "TokenRefreshRequired",
}
_RETRYABLE_STREAM = (
    ReadTimeoutError,
    ConnectionClosedError,
    IncompleteReadError,
    ResponseStreamingError,
    EndpointConnectionError,
)


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedObject:
    """An object the listing selected: what ListObjectsV2 said about it and which layout it is."""

    key: str
    size: int
    etag: str  # without quotes
    last_modified: datetime
    storage_class: str | None
    kind: str  # evidence kind: s3-access, cloudtrail or cloudtrail-digest
    layout: str


@dataclass
class RangeListing:
    """What listing one range cost and found."""

    range: ListingRange
    calls: int = 0
    keys_listed: int = 0
    objects: list[ListedObject] = field(default_factory=list)
    #: keys inside the bounds whose names are not of the layout (named in `unrecognised_sample`)
    unrecognised: int = 0
    unrecognised_sample: list[str] = field(default_factory=list)


@dataclass
class AcquisitionPlan:
    """The listing of one acquisition: what was discovered, listed and selected, at what cost."""

    bucket: str
    prefix: str
    kind: str
    window: TimeRange
    lookback: timedelta
    endpoint_url: str | None
    ranges: list[RangeListing] = field(default_factory=list)
    discovery_calls: int = 0
    discovery_keys: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def objects(self) -> list[ListedObject]:
        """Every selected object, once each, in key order."""
        seen: dict[str, ListedObject] = {}
        for listing in self.ranges:
            for obj in listing.objects:
                seen.setdefault(obj.key, obj)
        return [seen[k] for k in sorted(seen)]

    @property
    def list_calls(self) -> int:
        """ListObjectsV2 requests made, discovery included."""
        return self.discovery_calls + sum(r.calls for r in self.ranges)

    @property
    def keys_listed(self) -> int:
        """Keys (and folders) S3 returned across all listings, discovery included."""
        return self.discovery_keys + sum(r.keys_listed for r in self.ranges)

    def __str__(self) -> str:
        objects = self.objects
        lines = [
            (
                f"plan: s3://{self.bucket}/{self.prefix} kind={self.kind} window "
                f"[{_iso(self.window.start)}, {_iso(self.window.end)}) "
                f"lookback {_duration(self.lookback)}"
            ),
            f"  discovery: {self.discovery_calls} ListObjectsV2 calls, "
            f"{self.discovery_keys} keys/folders",
        ]
        for r in self.ranges:
            lines.append(f"  {r.range.describe()}")
            lines.append(
                f"      {r.calls} calls, {r.keys_listed} keys listed, {len(r.objects)} selected"
                + (
                    f", {r.unrecognised} not of the layout (e.g. {r.unrecognised_sample[0]!r})"
                    if r.unrecognised
                    else ""
                )
            )
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(
            f"requests: {self.list_calls} ListObjectsV2 ({self.keys_listed} keys listed); "
            f"{len(objects)} objects selected ({_size(sum(o.size for o in objects))}): "
            f"at most {len(objects)} GetObject to make"
        )
        return "\n".join(lines)


@dataclass
class AcquireResult:
    """What an acquisition fetched, kept, loaded and noticed."""

    plan: AcquisitionPlan
    downloaded: int = 0
    downloaded_bytes: int = 0
    #: objects already in the case from an earlier run (size, ETag and SHA-256 checked)
    held: int = 0
    #: case paths of every selected object, relative to the case root
    case_paths: list[str] = field(default_factory=list)
    acquired_by: str = ""
    ingest: IngestSummary | None = None
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        total = len(self.plan.objects)
        lines = [
            (
                f"acquired {total:,} objects from s3://{self.plan.bucket}/{self.plan.prefix} "
                f"({self.downloaded:,} downloaded, {_size(self.downloaded_bytes)}; "
                f"{self.held:,} already held) as {self.acquired_by}"
            ),
            f"listing: {self.plan.list_calls} ListObjectsV2 calls, "
            f"{self.plan.keys_listed} keys listed",
        ]
        if self.ingest is not None:
            lines.append(str(self.ingest))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
    )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = [
        f"{n}{unit}"
        for n, unit in (
            (seconds // 86400, "d"),
            (seconds // 3600 % 24, "h"),
            (seconds // 60 % 60, "m"),
            (seconds % 60, "s"),
        )
        if n
    ]
    return "".join(parts) or "0"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


# -- clients and errors ---------------------------------------------------------------------


class _Aws:
    """One boto3 session and its clients, created once and shared by every worker thread."""

    def __init__(
        self,
        session: boto3.Session | None,
        *,
        profile: str | None,
        endpoint_url: str | None,
        workers: int,
    ) -> None:
        if session is None:
            try:
                session = boto3.Session(profile_name=profile)
            except ProfileNotFound as exc:
                raise AcquisitionError(
                    f"AWS profile {profile!r} not found in the AWS config files"
                ) from exc
        try:
            credentials = session.get_credentials()
        except BotoCoreError as exc:
            raise AcquisitionError(f"cannot load AWS credentials: {exc}") from exc
        if credentials is None:
            raise AcquisitionError(
                "no AWS credentials found: pass --profile, set AWS_PROFILE or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached"
            )
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = session.region_name or "us-east-1"
        self._config = Config(
            max_pool_connections=workers + 4,
            retries={
                "max_attempts": 8,
                "mode": "standard",
            },  # backoff with jitter on 5xx/throttling
            connect_timeout=10,
            read_timeout=60,
            # So that the acquisition's own requests are recognisable in CloudTrail.
            user_agent_extra=f"s3forensics/{__version__}",
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        # Context calls (STS, CloudTrail) are best effort: retry once, do not stall the acquisition.
        self._context_config = self._config.merge(
            Config(retries={"max_attempts": 2, "mode": "standard"})
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        """The shared client for a service (and region)."""
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.endpoint_url,
                    config=self._config if service == "s3" else self._context_config,
                )
            return self._clients[key]

    @property
    def s3(self) -> Any:
        """The shared S3 client."""
        return self.client("s3")


def _error_code(exc: ClientError) -> str:
    return str(
        exc.response.get("Error", {}).get("Code")
        or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


def _aws_error(exc: Exception, operation: str, bucket: str, where: str) -> AcquisitionError:
    """Turn a botocore failure into one line naming the bucket, prefix or key and the fix."""
    target = f"s3://{bucket}/{where}"
    if isinstance(exc, NoCredentialsError):
        return AcquisitionError(
            "no AWS credentials found: pass --profile, set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached"
        )
    if isinstance(exc, EndpointConnectionError):
        return AcquisitionError(f"{operation} {target}: cannot reach the endpoint ({exc})")
    if not isinstance(exc, ClientError):
        return AcquisitionError(f"{operation} {target}: {exc}")
    code = _error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    if code in _DENIED:
        action = _IAM_ACTION.get(operation, operation)
        resource = (
            f"arn:aws:s3:::{bucket}"
            if action == "s3:ListBucket"
            else f"arn:aws:s3:::{bucket}/{where}"
        )
        return AcquisitionError(
            f"access denied: {operation} on {target} needs {action} on {resource}; "
            f"grant it to the acquiring identity (read-only is enough)"
        )
    if code in ("NoSuchBucket", "404") and operation == "ListObjectsV2":
        return AcquisitionError(
            f"no such bucket: {bucket!r} does not exist (check the name, "
            "the account of the credentials and --endpoint-url)"
        )
    if code in _BAD_CREDENTIALS:
        return AcquisitionError(
            f"{operation} {target}: the credentials were rejected ({code}: {message})"
        )
    return AcquisitionError(f"{operation} {target}: {code}: {message}".rstrip(": "))


def _call(operation: str, bucket: str, where: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise _aws_error(exc, operation, bucket, where) from exc


# -- listing -----------------------------------------------------------------------------------


@dataclass
class _Counter:
    calls: int = 0
    keys: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, calls: int, keys: int) -> None:
        with self.lock:
            self.calls += calls
            self.keys += keys


def _children(aws: _Aws, bucket: str, folder: str, counter: _Counter) -> list[str]:
    """Names of the sub-folders directly under `folder` (a delimiter listing, all pages)."""
    names: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": folder, "Delimiter": "/"}
    while True:
        resp = _call("ListObjectsV2", bucket, folder, aws.s3.list_objects_v2, **kwargs)
        prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        counter.add(1, len(prefixes) + len(resp.get("Contents", [])))
        names += [p[len(folder) : -1] for p in prefixes]
        if not resp.get("IsTruncated"):
            return names
        kwargs["ContinuationToken"] = resp["NextContinuationToken"]


@dataclass
class _Scan:
    folders: list[str] = field(default_factory=list)
    simple_years: set[str] = field(default_factory=set)
    other_keys: list[str] = field(default_factory=list)


def _scan(aws: _Aws, bucket: str, prefix: str, counter: _Counter) -> _Scan:
    """A shallow look under `prefix`: its sub-folders and the years of simple-prefix logs there.

    Simple-prefix logs can be millions of keys directly under the prefix; after seeing one of a
    year, the scan jumps past that year's keys instead of paging through them.
    """
    scan = _Scan()
    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Prefix": prefix,
        "Delimiter": "/",
        "MaxKeys": SCAN_FIRST_KEYS,
    }
    while True:
        resp = _call("ListObjectsV2", bucket, prefix, aws.s3.list_objects_v2, **kwargs)
        prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        keys = [o["Key"] for o in resp.get("Contents", [])]
        counter.add(1, len(prefixes) + len(keys))
        scan.folders += [p[len(prefix) : -1] for p in prefixes]
        last_year = None
        for key in keys:
            year = simple_year(key[len(prefix) :])
            if year:
                scan.simple_years.add(year)
                last_year = year
            elif len(scan.other_keys) < 5:
                scan.other_keys.append(key)
        if not resp.get("IsTruncated"):
            return scan
        last_item = max(keys[-1:] + prefixes[-1:])
        if last_year and after_simple_year(prefix, last_year) > last_item:
            kwargs.pop("ContinuationToken", None)
            kwargs["StartAfter"] = after_simple_year(prefix, last_year)
            kwargs["MaxKeys"] = SCAN_FIRST_KEYS
        else:
            kwargs["ContinuationToken"] = resp["NextContinuationToken"]
            kwargs["MaxKeys"] = PAGE_KEYS


def _next_page_keys(rng: ListingRange, seen: int, last_time: datetime | None) -> int:
    """Size the next page from the key density seen so far, so it ends just past the bound."""
    if rng.bounded_by_prefix or last_time is None or seen == 0:
        return PAGE_KEYS
    covered = (last_time - rng.time_from).total_seconds()
    remaining = (rng.time_to - last_time).total_seconds()
    if covered <= 0:
        return PAGE_KEYS
    estimate = math.ceil(seen * remaining / covered * PAGE_SLACK) + 10
    return max(FIRST_PAGE_KEYS, min(PAGE_KEYS, estimate))


def _page_prefix(rng: ListingRange, start_after: str) -> str:
    """The longest Prefix that still holds every key between start_after and stop_at.

    Any string strictly between two others starts with their common prefix, so this never loses a
    key, and it keeps S3 from returning keys far past the upper bound on the last page.
    """
    common = os.path.commonprefix([start_after, rng.stop_at])
    return common if len(common) > len(rng.prefix) and common.startswith(rng.prefix) else rng.prefix


def _list_range(aws: _Aws, bucket: str, rng: ListingRange) -> RangeListing:
    """List one range from its lower bound, stopping at the first key at or past its upper bound."""
    out = RangeListing(rng)
    start_after = rng.start_after
    max_keys = PAGE_KEYS if rng.bounded_by_prefix else FIRST_PAGE_KEYS
    seen, last_time = 0, None
    while True:
        resp = _call(
            "ListObjectsV2",
            bucket,
            rng.prefix,
            aws.s3.list_objects_v2,
            Bucket=bucket,
            Prefix=_page_prefix(rng, start_after),
            StartAfter=start_after,
            MaxKeys=max_keys,
        )
        contents = resp.get("Contents", [])
        out.calls += 1
        out.keys_listed += len(contents)
        done = not resp.get("IsTruncated")
        for obj in contents:
            key = obj["Key"]
            if key >= rng.stop_at:
                done = True
                break
            moment = rng.layout.key_time(key[len(rng.root) :])
            if moment is None:
                out.unrecognised += 1
                if len(out.unrecognised_sample) < 3:
                    out.unrecognised_sample.append(key)
                continue
            seen, last_time = seen + 1, moment
            if rng.wants(key):
                out.objects.append(
                    ListedObject(
                        key=key,
                        size=int(obj.get("Size", 0)),
                        etag=str(obj.get("ETag", "")).strip('"'),
                        last_modified=obj["LastModified"].astimezone(UTC),
                        storage_class=obj.get("StorageClass"),
                        kind=rng.layout.kind,
                        layout=rng.layout.name,
                    )
                )
        if done or not contents:
            return out
        start_after = contents[-1]["Key"]
        max_keys = _next_page_keys(rng, seen, last_time)


def _probe_partition_source(
    aws: _Aws, bucket: str, root: str, window: TimeRange, counter: _Counter
) -> Layout | None:
    """Tell EventTime from DeliveryTime partitions by the keys' time (EventTime: 00-00-00)."""
    start_after = root + f"{window.start - CLOCK_MARGIN:%Y/%m/%d}/"
    resp = _call(
        "ListObjectsV2",
        bucket,
        root,
        aws.s3.list_objects_v2,
        Bucket=bucket,
        Prefix=root,
        StartAfter=start_after,
        MaxKeys=PROBE_KEYS,
    )
    keys = [o["Key"] for o in resp.get("Contents", [])]
    counter.add(1, len(keys))
    times = [
        t for k in keys if (t := LAYOUTS["s3-access-partitioned-event"].key_time(k[len(root) :]))
    ]
    if not times:
        return None
    if all(t.hour == t.minute == t.second == 0 for t in times):
        return LAYOUTS["s3-access-partitioned-event"]
    return LAYOUTS["s3-access-partitioned-delivery"]


def _folder_before(layout: Layout, field_name: str, **fields: str) -> str:
    """The S3 folder that holds one sub-folder per value of `field_name`, e.g. the regions."""
    head = layout.root_template.split("{" + field_name + "}")[0]
    org = fields.pop("org", "")
    return head.format(org=f"{org}/" if org else "", **fields)


def _pick(found: Iterable[str], wanted: Sequence[str] | None) -> list[str]:
    found = list(found)
    return [f for f in found if f in wanted] if wanted else found


def _cloudtrail_roots(
    aws: _Aws,
    bucket: str,
    prefix: str,
    accounts: Sequence[str] | None,
    regions: Sequence[str] | None,
    counter: _Counter,
    notes: list[str],
) -> list[tuple[Layout, dict[str, str]]]:
    """(layout, fields) for every account and region holding CloudTrail logs or digests."""
    awslogs = prefix + "AWSLogs/"
    owners: list[tuple[str, str]] = []
    for name in _children(aws, bucket, awslogs, counter):
        if is_account(name):
            owners.append(("", name))
        elif is_org(name):
            owners += [
                (name, a)
                for a in _children(aws, bucket, f"{awslogs}{name}/", counter)
                if is_account(a)
            ]
        else:
            notes.append(f"skipped {awslogs}{name}/: not an account or organization id")
    owners = [(org, a) for org, a in owners if not accounts or a in accounts]
    if accounts:
        missing = sorted(set(accounts) - {a for _, a in owners})
        if missing:
            notes.append(
                f"no CloudTrail folder for account(s) {', '.join(missing)} under {awslogs}"
            )

    def regions_of(job: tuple[Layout, str, str]) -> list[tuple[Layout, dict[str, str]]]:
        layout, org, account = job
        if regions:
            names = list(regions)
        else:
            folder = _folder_before(layout, "region", prefix=prefix, org=org, account=account)
            names = [r for r in _children(aws, bucket, folder, counter) if is_region(r)]
        return [(layout, {"org": org, "account": account, "region": r}) for r in names]

    jobs = [
        (LAYOUTS[name], org, account)
        for org, account in owners
        for name in ("cloudtrail", "cloudtrail-digest")
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return [root for found in pool.map(regions_of, jobs) for root in found]


def _partitioned_roots(
    aws: _Aws,
    bucket: str,
    prefix: str,
    accounts_found: Iterable[str],
    accounts: Sequence[str] | None,
    regions: Sequence[str] | None,
    counter: _Counter,
) -> list[dict[str, str]]:
    """Fields (account, region, source_bucket) of every partitioned access-log root."""
    layout = LAYOUTS["s3-access-partitioned-delivery"]

    def under_account(account: str) -> list[dict[str, str]]:
        if regions:
            region_names = list(regions)
        else:
            folder = _folder_before(layout, "region", prefix=prefix, account=account)
            region_names = [r for r in _children(aws, bucket, folder, counter) if is_region(r)]
        roots = []
        for region in region_names:
            folder = _folder_before(
                layout, "source_bucket", prefix=prefix, account=account, region=region
            )
            roots += [
                {"account": account, "region": region, "source_bucket": b}
                for b in _children(aws, bucket, folder, counter)
                if is_bucket_name(b)
            ]
        return roots

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [
            r for found in pool.map(under_account, _pick(accounts_found, accounts)) for r in found
        ]


def _access_log_roots(
    aws: _Aws,
    bucket: str,
    prefix: str,
    scan: _Scan,
    window: TimeRange,
    lookback: timedelta,
    accounts: Sequence[str] | None,
    regions: Sequence[str] | None,
    counter: _Counter,
    notes: list[str],
) -> list[tuple[Layout, dict[str, str]]]:
    """(layout, fields) of every access-log root under the prefix that can hold the window."""
    roots: list[tuple[Layout, dict[str, str]]] = []
    years = range((window.start - CLOCK_MARGIN).year, (window.end + lookback).year + 1)
    if any(int(y) in years for y in scan.simple_years):
        roots.append((LAYOUTS["s3-access-simple"], {}))
    elif scan.simple_years:
        notes.append(
            f"simple-prefix access logs under s3://{bucket}/{prefix} are from "
            f"{', '.join(sorted(scan.simple_years))} only: none near the window"
        )
    part_fields = _partitioned_roots(
        aws, bucket, prefix, [f for f in scan.folders if is_account(f)], accounts, regions, counter
    )
    partitioned = LAYOUTS["s3-access-partitioned-delivery"]

    def probe(fields: dict[str, str]) -> tuple[Layout | None, dict[str, str]]:
        root = partitioned.root(prefix=prefix, **fields)
        return _probe_partition_source(aws, bucket, root, window, counter), fields

    with ThreadPoolExecutor(max_workers=8) as pool:
        for layout, fields in pool.map(probe, part_fields):
            if layout is None:
                notes.append(
                    "no access logs from the window's first day on under "
                    + partitioned.root(prefix=prefix, **fields)
                )
            else:
                roots.append((layout, fields))
    others = [f for f in scan.folders if not is_account(f)]
    if others:
        notes.append(
            "not access-log folders, skipped: " + ", ".join(f"{prefix}{f}/" for f in others[:5])
        )
    return roots


def _plan(
    aws: _Aws,
    *,
    bucket: str,
    prefix: str,
    window: TimeRange,
    kind: str,
    accounts: Sequence[str] | None,
    regions: Sequence[str] | None,
    lookback: timedelta | None,
    workers: int,
) -> AcquisitionPlan:
    counter = _Counter()
    notes: list[str] = []
    if prefix.endswith("AWSLogs/") and kind != "s3-access":
        prefix = prefix[
            : -len("AWSLogs/")
        ]  # the trail's S3 key prefix is what comes before AWSLogs/
    scan = None
    if kind != "cloudtrail":
        scan = _scan(aws, bucket, prefix, counter)
        if kind == "auto":
            if "AWSLogs" in scan.folders:
                kind = "cloudtrail"
            elif scan.simple_years or any(is_account(f) for f in scan.folders):
                kind = "s3-access"
            else:
                seen = [f"{prefix}{f}/" for f in scan.folders[:5]] + scan.other_keys
                raise AcquisitionError(
                    f"s3://{bucket}/{prefix}: found neither S3 access logs nor CloudTrail "
                    "(AWSLogs/) "
                    f"here{' (saw ' + ', '.join(seen) + ')' if seen else ' (nothing under it)'}; "
                    "check --prefix (access-log prefixes usually end with '/'), or pass --kind"
                )
    if lookback is None:
        lookback = DEFAULT_LOOKBACK[kind]
    if kind == "cloudtrail":
        roots = _cloudtrail_roots(aws, bucket, prefix, accounts, regions, counter, notes)
    else:
        assert scan is not None
        roots = _access_log_roots(
            aws, bucket, prefix, scan, window, lookback, accounts, regions, counter, notes
        )
    ranges = [
        rng
        for layout, fields in roots
        for rng in listing_ranges(layout, window, prefix=prefix, lookback=lookback, **fields)
    ]
    plan = AcquisitionPlan(
        bucket=bucket,
        prefix=prefix,
        kind=kind,
        window=window,
        lookback=lookback,
        endpoint_url=aws.endpoint_url,
        notes=notes,
    )
    with ThreadPoolExecutor(max_workers=max(1, min(workers, 16))) as pool:
        plan.ranges = list(pool.map(lambda r: _list_range(aws, bucket, r), ranges))
    plan.discovery_calls, plan.discovery_keys = counter.calls, counter.keys
    return plan


def _check_inputs(
    bucket: str, kind: str, start: str | datetime, end: str | datetime, workers: int
) -> TimeRange:
    if not is_bucket_name(bucket):
        raise AcquisitionError(
            f"--bucket {bucket!r} is not an S3 bucket name (a bucket name, not s3://...)"
        )
    if kind not in KINDS:
        raise AcquisitionError(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
    if workers < 1:
        raise AcquisitionError(f"--workers {workers} must be at least 1")
    return TimeRange.parse(start, end)


def plan_acquisition(
    *,
    bucket: str,
    prefix: str = "",
    start: str | datetime,
    end: str | datetime,
    kind: str = "auto",
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    lookback: timedelta | None = None,
    workers: int = DEFAULT_WORKERS,
    endpoint_url: str | None = None,
    profile: str | None = None,
    boto3_session: boto3.Session | None = None,
) -> AcquisitionPlan:
    """List what an acquisition of [start, end) would fetch, without downloading anything."""
    window = _check_inputs(bucket, kind, start, end, workers)
    aws = _Aws(boto3_session, profile=profile, endpoint_url=endpoint_url, workers=workers)
    return _plan(
        aws,
        bucket=bucket,
        prefix=prefix,
        window=window,
        kind=kind,
        accounts=accounts,
        regions=regions,
        lookback=lookback,
        workers=workers,
    )


# -- download --------------------------------------------------------------------------------


class _Corrupt(Exception):
    """The bytes received do not match what S3 said it sent."""


@dataclass
class _Fetched:
    obj: ListedObject
    path: Path
    sha256: str
    size: int
    version_id: str | None
    etag: str
    last_modified: datetime
    storage_class: str | None
    encryption: dict[str, Any] | None
    metadata: dict[str, str]
    acquired_at: datetime
    note: str | None = None


def _safe_relative(key: str) -> PurePosixPath | None:
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\x00" in key:
        return None
    return PurePosixPath(*parts)


def _stream(
    aws: _Aws, bucket: str, obj: ListedObject, tmp: Path
) -> tuple[dict[str, Any], str, int]:
    """GET the object into `tmp`, hashing while writing; retry torn or corrupted transfers."""
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            # IfMatch: fetch the object the listing saw; a change in between is reported, not mixed.
            resp = aws.s3.get_object(Bucket=bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')
            sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
            with open(tmp, "wb") as fh:
                for chunk in resp["Body"].iter_chunks(_CHUNK):
                    fh.write(chunk)
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
            etag = str(resp.get("ETag", "")).strip('"')
            if size != int(resp.get("ContentLength", size)):
                raise _Corrupt(f"received {size} bytes of {resp.get('ContentLength')}")
            # A single-part object without KMS has its MD5 as ETag: a free end-to-end check.
            plain = resp.get("ServerSideEncryption") in (None, "AES256")
            if _MD5_ETAG.fullmatch(etag) and plain and md5.hexdigest() != etag:
                raise _Corrupt(f"MD5 {md5.hexdigest()} differs from ETag {etag}")
            return resp, sha.hexdigest(), size
        except ClientError as exc:
            tmp.unlink(missing_ok=True)
            if _error_code(exc) in ("PreconditionFailed", "412"):
                raise AcquisitionError(
                    f"s3://{bucket}/{obj.key}: changed since it was listed (ETag is no longer "
                    f"{obj.etag}); run the acquisition again to fetch the current object"
                ) from exc
            raise _aws_error(exc, "GetObject", bucket, obj.key) from exc
        except (_Corrupt, *_RETRYABLE_STREAM) as exc:
            tmp.unlink(missing_ok=True)
            if attempt == DOWNLOAD_ATTEMPTS:
                raise AcquisitionError(
                    f"GetObject s3://{bucket}/{obj.key}: failed {attempt} times (last: {exc})"
                ) from exc
            time.sleep(min(5.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _download(aws: _Aws, bucket: str, obj: ListedObject, evidence_dir: Path) -> _Fetched:
    """Fetch one object into `<evidence>/<bucket>/<key>`; never overwrite different evidence."""
    relative = _safe_relative(obj.key)
    if relative is None:
        raise AcquisitionError(
            f"s3://{bucket}/{obj.key}: key cannot be stored as a file path "
            "(empty, '.' or '..' segment)"
        )
    dest = evidence_dir / bucket / relative
    tmp = dest.with_name(dest.name + ".partial")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        resp, digest, size = _stream(aws, bucket, obj, tmp)
        note = None
        if dest.exists() and sha256_file(dest) != digest:
            # A different copy of the same key is kept beside the first, under a folder name no
            # bucket can have ('@' is not allowed in bucket names).
            alt = evidence_dir / f"{bucket}@{digest[:16]}" / relative
            alt.parent.mkdir(parents=True, exist_ok=True)
            note = (
                f"s3://{bucket}/{obj.key}: the case already holds different bytes at "
                f"{dest.relative_to(evidence_dir.parent).as_posix()}; this copy is kept at "
                f"{alt.relative_to(evidence_dir.parent).as_posix()}"
            )
            dest = alt
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AcquisitionError(
            f"s3://{bucket}/{obj.key}: cannot write the evidence file under "
            f"{evidence_dir} ({exc.strerror or exc})"
        ) from exc
    encryption = {
        k: resp[k]
        for k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "SSECustomerAlgorithm")
        if resp.get(k) is not None
    }
    return _Fetched(
        obj=obj,
        path=dest,
        sha256=digest,
        size=size,
        version_id=resp.get("VersionId"),
        etag=str(resp.get("ETag", "")).strip('"'),
        last_modified=resp["LastModified"].astimezone(UTC),
        storage_class=resp.get("StorageClass") or obj.storage_class or "STANDARD",
        encryption=encryption or None,
        metadata=dict(resp.get("Metadata") or {}),
        acquired_at=datetime.now(UTC),
        note=note,
    )


def _held_objects(case_root: Path, bucket: str) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The latest manifest record of each (key, ETag, size) already acquired from `bucket`."""
    by_object: dict[tuple[str, str, int], dict[str, Any]] = {}
    for entry in read_manifest(case_root).entries:
        if entry.get("bucket") == bucket:
            by_object[(entry["key"], entry.get("etag") or "", int(entry.get("size") or 0))] = entry
    return by_object


def _is_intact(case_root: Path, entry: Mapping[str, Any]) -> bool:
    path = case_root / entry["case_path"]
    return (
        path.is_file()
        and path.stat().st_size == int(entry["size"])
        and sha256_file(path) == entry["sha256"]
    )


def _manifest_entry(
    f: _Fetched, bucket: str, acquired_by: str, endpoint: str, case_root: Path
) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "key": f.obj.key,
        "version_id": f.version_id,
        "etag": f.etag,
        "size": f.size,
        "last_modified": _iso(f.last_modified),
        "storage_class": f.storage_class,
        "encryption": f.encryption,
        "metadata": f.metadata,
        "sha256": f.sha256,
        "acquired_at": _iso(f.acquired_at),
        "acquired_by": acquired_by,
        "tool_version": f"s3forensics {__version__}",
        "endpoint": endpoint,
        "case_path": f.path.relative_to(case_root).as_posix(),
    }


def _source(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "source": f"s3://{entry['bucket']}/{entry['key']}",
        "bucket": entry["bucket"],
        "key": entry["key"],
        "version_id": entry["version_id"],
        "etag": entry["etag"],
        "last_modified": datetime.fromisoformat(entry["last_modified"]),
        "acquired_at": datetime.fromisoformat(entry["acquired_at"]),
    }


# -- context -------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _best_effort(operation: str, fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """Call a read-only context API; a failure (e.g. missing permission) is recorded, not raised."""
    record: dict[str, Any] = {
        "operation": operation,
        "params": _jsonable(kwargs),
        "collected_at": _iso(datetime.now(UTC)),
    }
    try:
        record["response"] = _jsonable(fn(**kwargs))
    except ClientError as exc:
        record["error"] = {
            "code": _error_code(exc),
            "message": exc.response.get("Error", {}).get("Message", ""),
            "needs": _IAM_ACTION.get(operation, operation),
        }
    except BotoCoreError as exc:
        record["error"] = {"code": type(exc).__name__, "message": str(exc)}
    return record


def _write_context(case_root: Path, name: str, entries: Mapping[str, Any]) -> None:
    """Merge `entries` into `<case>/context/<name>` (later runs add to earlier ones)."""
    folder = case_root / _CONTEXT_DIR
    folder.mkdir(exist_ok=True)
    path = folder / name
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(entries)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def _identity(aws: _Aws) -> tuple[str, dict[str, Any]]:
    record = _best_effort("GetCallerIdentity", aws.client("sts").get_caller_identity)
    if "response" in record:
        return str(record["response"].get("Arn")), record
    if record["error"]["code"] == "NoCredentialsError":
        raise _aws_error(NoCredentialsError(), "GetCallerIdentity", "", "")
    return f"unknown ({record['error']['code']}: {record['error']['message']})", record


def _collect_context(aws: _Aws, case: Case, plan: AcquisitionPlan, workers: int) -> None:
    """Save the logging and trail configuration behind the acquired logs, best effort."""
    root = case.root
    jobs: dict[str, tuple[str, Callable[..., Any], dict[str, Any]]] = {}
    if plan.kind == "s3-access":
        sources = {
            r.range.fields["source_bucket"]
            for r in plan.ranges
            if r.range.fields.get("source_bucket")
        }
        try:  # simple-prefix keys do not name the source bucket: the loaded records do
            frame = case.sql(
                "SELECT DISTINCT l.bucket FROM s3_access_logs l "
                "JOIN evidence e USING (evidence_id) "
                "WHERE e.bucket = $bucket AND l.bucket IS NOT NULL LIMIT 100",
                {"bucket": plan.bucket},
            )
            sources |= set(frame.to_series().to_list())
        except Exception as exc:  # noqa: BLE001 -- the store's business; context is best effort
            plan.notes.append(f"source buckets not read from the case ({exc})")
        for name in sorted(sources):
            jobs[f"bucket-logging.json|{name}"] = (
                "GetBucketLogging",
                aws.s3.get_bucket_logging,
                {"Bucket": name},
            )
    else:
        ct_regions = sorted({r.range.fields["region"] for r in plan.ranges})
        for region in ct_regions:
            ct = aws.client("cloudtrail", region)
            jobs[f"cloudtrail-trails.json|{region}"] = (
                "DescribeTrails",
                ct.describe_trails,
                {"includeShadowTrails": True},
            )
            jobs[f"cloudtrail-public-keys.json|{region}"] = (
                "ListPublicKeys",
                ct.list_public_keys,
                {
                    "StartTime": plan.window.start - timedelta(days=1),
                    "EndTime": plan.window.end + plan.lookback + timedelta(days=1),
                },
            )
    with ThreadPoolExecutor(max_workers=max(1, min(workers, 8))) as pool:
        results = dict(
            zip(jobs, pool.map(lambda j: _best_effort(j[0], j[1], **j[2]), jobs.values()))
        )
    files: dict[str, dict[str, Any]] = {}
    for label, record in results.items():
        name, key = label.split("|", 1)
        files.setdefault(name, {})[key] = record
    # Event selectors and status of every trail seen, asked in the trail's home region.
    trails: dict[str, dict[str, Any]] = {}
    for record in files.get("cloudtrail-trails.json", {}).values():
        for trail in record.get("response", {}).get("trailList", []):
            trails.setdefault(trail["TrailARN"], trail)
    if trails:
        calls = []
        for arn, trail in trails.items():
            ct = aws.client("cloudtrail", trail.get("HomeRegion") or aws.region)
            calls.append((arn, "GetEventSelectors", ct.get_event_selectors, {"TrailName": arn}))
            calls.append((arn, "GetTrailStatus", ct.get_trail_status, {"Name": arn}))
        with ThreadPoolExecutor(max_workers=max(1, min(workers, 8))) as pool:
            done = list(pool.map(lambda c: (c[0], c[1], _best_effort(c[1], c[2], **c[3])), calls))
        summary = files.setdefault("cloudtrail-trail-config.json", {})
        for arn, operation, record in done:
            entry = summary.setdefault(
                arn, {"LogFileValidationEnabled": trails[arn].get("LogFileValidationEnabled")}
            )
            entry[operation] = record
    for name, entries in files.items():
        _write_context(root, name, entries)


# -- acquire -----------------------------------------------------------------------------------


def _split_held(
    root: Path, bucket: str, objects: list[ListedObject], result: AcquireResult
) -> tuple[list[ListedObject], dict[str, dict[str, Any]]]:
    """Objects still to fetch, and manifest records of those already held intact (by key)."""
    held_records = _held_objects(root, bucket)
    todo: list[ListedObject] = []
    entries: dict[str, dict[str, Any]] = {}
    for obj in objects:
        record = held_records.get((obj.key, obj.etag, obj.size))
        if record is not None and _is_intact(root, record):
            entries[obj.key] = record
            continue
        if record is not None:
            result.warnings.append(
                f"{record['case_path']}: does not match its manifest record (missing or modified); "
                "fetched again, the file on disk is left as it is for examination"
            )
        todo.append(obj)
    result.held = len(entries)
    return todo, entries


def _download_all(
    aws: _Aws,
    case: Case,
    bucket: str,
    todo: list[ListedObject],
    entries: dict[str, dict[str, Any]],
    result: AcquireResult,
    *,
    endpoint: str,
    workers: int,
    progress: bool,
) -> list[str]:
    """Fetch `todo` in parallel, recording each object in the manifest as it lands; the failures."""
    root = Path(case.root)
    failures: list[str] = []
    bars = [
        tqdm(total=len(todo), unit="obj", desc="objects", disable=not progress, position=0),
        tqdm(
            total=sum(o.size for o in todo),
            unit="B",
            unit_scale=True,
            desc="bytes",
            disable=not progress,
            position=1,
        ),
    ]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3forensics-get")
    futures = {pool.submit(_download, aws, bucket, obj, case.evidence_dir): obj for obj in todo}
    recorded: set[Future[_Fetched]] = set()
    with ManifestWriter(root) as manifest:

        def record(fut: Future[_Fetched]) -> None:
            recorded.add(fut)
            fetched = fut.result()
            entry = _manifest_entry(fetched, bucket, result.acquired_by, endpoint, root)
            manifest.write(entry)
            entries[fetched.obj.key] = entry
            result.downloaded += 1
            result.downloaded_bytes += fetched.size
            if fetched.note:
                result.warnings.append(fetched.note)

        try:
            for fut in as_completed(futures):
                try:
                    record(fut)
                except AcquisitionError as exc:
                    failures.append(str(exc))
                bars[0].update(1)
                bars[1].update(futures[fut].size)
        finally:
            # Interrupted or not: stop queued work, let running downloads finish, and record
            # every object that did land, so that a rerun does not fetch it again.
            pool.shutdown(wait=True, cancel_futures=True)
            for fut in futures:
                if (
                    fut not in recorded
                    and fut.done()
                    and not fut.cancelled()
                    and fut.exception() is None
                ):
                    record(fut)
            for bar in bars:
                bar.close()
    return failures


def acquire(
    case: Case,
    *,
    bucket: str,
    prefix: str = "",
    start: str | datetime,
    end: str | datetime,
    kind: str = "auto",
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    lookback: timedelta | None = None,
    workers: int = DEFAULT_WORKERS,
    endpoint_url: str | None = None,
    progress: bool = False,
    profile: str | None = None,
    boto3_session: boto3.Session | None = None,
) -> AcquireResult:
    """Fetch the log objects covering [start, end) from S3 into the case, hashed, and load them."""
    window = _check_inputs(bucket, kind, start, end, workers)
    aws = _Aws(boto3_session, profile=profile, endpoint_url=endpoint_url, workers=workers)
    acquired_by, identity = _identity(aws)
    started = datetime.now(UTC)
    plan = _plan(
        aws,
        bucket=bucket,
        prefix=prefix,
        window=window,
        kind=kind,
        accounts=accounts,
        regions=regions,
        lookback=lookback,
        workers=workers,
    )
    result = AcquireResult(plan=plan, acquired_by=acquired_by)
    objects = plan.objects
    root = Path(case.root)
    endpoint = endpoint_url or aws.s3.meta.endpoint_url

    todo, entries = _split_held(root, bucket, objects, result)
    failures = (
        _download_all(
            aws,
            case,
            bucket,
            todo,
            entries,
            result,
            endpoint=endpoint,
            workers=workers,
            progress=progress,
        )
        if todo
        else []
    )
    kept = [o for o in objects if o.key in entries]
    result.case_paths = [entries[o.key]["case_path"] for o in kept]
    if kept:
        sources: dict[str | os.PathLike[str], Mapping[str, Any]] = {
            root / entries[o.key]["case_path"]: _source(entries[o.key]) for o in kept
        }
        ingest_kind = "s3-access" if plan.kind == "s3-access" else "cloudtrail"  # digests: by name
        result.ingest = case.ingest(
            list(sources), kind=ingest_kind, sources=sources, progress=progress
        )
        result.warnings += [f"ingest: {e}" for e in result.ingest.errors]
    if not objects:
        result.warnings.append(
            f"no objects in s3://{bucket}/{plan.prefix} for "
            f"[{_iso(window.start)}, {_iso(window.end)}) "
            f"with its lookback ({plan.kind}; {len(plan.ranges)} listing ranges"
            + (f"; {'; '.join(plan.notes)}" if plan.notes else "")
            + ")"
        )
    _collect_context(aws, case, plan, workers)
    _write_context(root, "identity.json", {_iso(started): identity})
    _log_run(root, plan, result, started, failures)
    if failures:
        raise AcquisitionError(
            f"{len(failures)} of {len(objects)} objects could not be fetched "
            f"(first: {failures[0]}); "
            f"the other {len(objects) - len(failures)} are in the case: run the same command again "
            "to fetch the rest"
        )
    return result


def _log_run(
    root: Path, plan: AcquisitionPlan, result: AcquireResult, started: datetime, failures: list[str]
) -> None:
    """Append this run's parameters, listing cost and outcome to context/acquisitions.jsonl."""
    folder = root / _CONTEXT_DIR
    folder.mkdir(exist_ok=True)
    record = {
        "started_at": _iso(started),
        "finished_at": _iso(datetime.now(UTC)),
        "acquired_by": result.acquired_by,
        "tool_version": f"s3forensics {__version__}",
        "endpoint": plan.endpoint_url,
        "bucket": plan.bucket,
        "prefix": plan.prefix,
        "kind": plan.kind,
        "start": _iso(plan.window.start),
        "end": _iso(plan.window.end),
        "lookback_seconds": plan.lookback.total_seconds(),
        "ranges": [
            {
                "layout": r.range.layout.name,
                "prefix": r.range.prefix,
                "start_after": r.range.start_after,
                "stop_at": r.range.stop_at,
                **{k: v for k, v in r.range.fields.items() if v},
                "calls": r.calls,
                "keys_listed": r.keys_listed,
                "selected": len(r.objects),
                "unrecognised": r.unrecognised,
            }
            for r in plan.ranges
        ],
        "discovery_calls": plan.discovery_calls,
        "objects": len(plan.objects),
        "downloaded": result.downloaded,
        "held": result.held,
        "failures": failures,
        "warnings": result.warnings,
        "notes": plan.notes,
    }
    with open(folder / "acquisitions.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")


# -- single objects, for lake builds -------------------------------------------------------------


class ObjectReader:
    """GetObject only, pinned to the ETag a listing saw: how a lake build's tasks read objects.

    Each Spark task makes its own (clients do not travel between processes); credentials come
    from the task's environment, as for any boto3 client.
    """

    def __init__(self, *, endpoint_url: str | None = None,
                 boto3_session: boto3.Session | None = None) -> None:
        session = boto3_session or boto3.session.Session()
        self._client = session.client(
            "s3", endpoint_url=endpoint_url,
            config=Config(retries={"max_attempts": 8, "mode": "standard"},
                          user_agent_extra=f"s3forensics/{__version__} lake",
                          s3={"addressing_style": "path"} if endpoint_url else None))

    def get(self, bucket: str, key: str, *, etag: str | None = None) -> tuple[bytes, dict[str, Any]]:
        """The object's bytes and its version id, ETag and when it was read; errors name it."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag:
            kwargs["IfMatch"] = f'"{etag}"'
        try:
            resp = self._client.get_object(**kwargs)
            data = resp["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in ("PreconditionFailed", "412"):
                raise AcquisitionError(
                    f"s3://{bucket}/{key}: changed since it was listed (ETag is no longer "
                    f"{etag}); run again to read the current object") from exc
            raise _aws_error(exc, "GetObject", bucket, key) from exc
        except BotoCoreError as exc:
            raise _aws_error(exc, "GetObject", bucket, key) from exc
        if len(data) != int(resp.get("ContentLength", len(data))):
            raise AcquisitionError(f"GetObject s3://{bucket}/{key}: received {len(data)} of "
                                   f"{resp['ContentLength']} bytes")
        return data, {"version_id": resp.get("VersionId"),
                      "etag": str(resp.get("ETag", "")).strip('"') or etag,
                      "acquired_at": datetime.now(UTC)}
