"""Listing narrowed by the key layouts: which keys of a bucket can hold a window's records."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Required, TypedDict, Unpack

import boto3

from ..errors import AcquisitionError, ParameterError
from ..layouts import (
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
from ..timerange import TimeRange
from .results import AcquisitionPlan, ListedObject, RangeListing
from .session import AwsSession, call

if TYPE_CHECKING:
    pass

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


def _children(aws: AwsSession, bucket: str, folder: str, counter: _Counter) -> list[str]:
    """Names of the sub-folders directly under `folder` (a delimiter listing, all pages)."""
    names: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": folder, "Delimiter": "/"}
    while True:
        resp = call("ListObjectsV2", bucket, folder, aws.s3.list_objects_v2, **kwargs)
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


def _scan(aws: AwsSession, bucket: str, prefix: str, counter: _Counter) -> _Scan:
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
        resp = call("ListObjectsV2", bucket, prefix, aws.s3.list_objects_v2, **kwargs)
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


def _list_range(aws: AwsSession, bucket: str, rng: ListingRange) -> RangeListing:
    """List one range from its lower bound, stopping at the first key at or past its upper bound."""
    out = RangeListing(rng)
    start_after = rng.start_after
    max_keys = PAGE_KEYS if rng.bounded_by_prefix else FIRST_PAGE_KEYS
    seen, last_time = 0, None
    while True:
        resp = call(
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
    aws: AwsSession, bucket: str, root: str, window: TimeRange, counter: _Counter
) -> Layout | None:
    """Tell EventTime from DeliveryTime partitions by the keys' time (EventTime: 00-00-00)."""
    start_after = root + f"{window.start - CLOCK_MARGIN:%Y/%m/%d}/"
    resp = call(
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
    aws: AwsSession,
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
    aws: AwsSession,
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
    aws: AwsSession,
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


def build_plan(aws: AwsSession, request: AcquisitionRequest) -> AcquisitionPlan:
    """List the keys the request's window needs, narrowed by the key layouts found."""
    bucket, prefix, window, kind = request.bucket, request.prefix, request.window, request.kind
    accounts, regions, lookback = request.accounts, request.regions, request.lookback
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
                    "check {prefix} (access-log prefixes usually end with '/'), or pass {kind}",
                    mentions=("prefix", "kind"))
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
    with ThreadPoolExecutor(max_workers=max(1, min(request.workers, 16))) as pool:
        plan.ranges = list(pool.map(lambda r: _list_range(aws, bucket, r), ranges))
    plan.discovery_calls, plan.discovery_keys = counter.calls, counter.keys
    return plan


class AcquisitionOptions(TypedDict, total=False):
    """What an acquisition (or its plan) is asked for: keyword arguments of both."""

    bucket: Required[str]
    start: Required[str | datetime]
    end: Required[str | datetime]
    prefix: str
    kind: str
    accounts: Sequence[str] | None
    regions: Sequence[str] | None
    lookback: timedelta | None
    workers: int
    endpoint_url: str | None
    profile: str | None
    boto3_session: boto3.Session | None


@dataclass(frozen=True)
class AcquisitionRequest:
    """A checked acquisition request: bucket and prefix, UTC window, how to narrow the listing."""

    bucket: str
    window: TimeRange
    prefix: str = ""
    kind: str = "auto"
    accounts: Sequence[str] | None = None
    regions: Sequence[str] | None = None
    lookback: timedelta | None = None
    workers: int = DEFAULT_WORKERS


def prepare(options: AcquisitionOptions) -> tuple[AcquisitionRequest, AwsSession]:
    """Check the options and open the AWS session they name."""
    bucket, kind = options["bucket"], options.get("kind", "auto")
    workers = options.get("workers", DEFAULT_WORKERS)
    if not is_bucket_name(bucket):
        raise ParameterError(
            "bucket", f"{bucket!r} is not an S3 bucket name (a bucket name, not s3://...)"
        )
    if kind not in KINDS:
        raise ParameterError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    if workers < 1:
        raise ParameterError("workers", f"{workers} must be at least 1")
    request = AcquisitionRequest(
        bucket=bucket, window=TimeRange.parse(options["start"], options["end"]),
        prefix=options.get("prefix", ""), kind=kind, accounts=options.get("accounts"),
        regions=options.get("regions"), lookback=options.get("lookback"), workers=workers)
    aws = AwsSession(options.get("boto3_session"), profile=options.get("profile"),
                     endpoint_url=options.get("endpoint_url"), workers=workers)
    return request, aws


def plan_acquisition(**options: Unpack[AcquisitionOptions]) -> AcquisitionPlan:
    """List what an acquisition of [start, end) would fetch, without downloading anything."""
    request, aws = prepare(options)
    return build_plan(aws, request)
