"""Where AWS writes access logs and CloudTrail files, and which keys a UTC window needs.

Every layout is data: the folder its keys live under (the *root*), a pattern for the key below the
root, and the key text at a given moment. From those, a window becomes listings: for delivery-time
layouts one ranged listing per root (`Prefix=root`, `StartAfter=<key at the lower bound>`, stop at
`<key at the upper bound>`); for day-partitioned keys one listing per day folder
(`Prefix=<folder>`).

Why the bounds are what they are (delivery-time layouts: SAL simple prefix, SAL partitioned by
DeliveryTime, CloudTrail logs). The time in these keys is when AWS *delivered* the object, and an
object delivered at D holds only records written before D. So for records whose event time t is in
[start, end) we need every object delivered in [start, end + lookback):

* lower bound: an object delivered before `start` holds only records from before `start`, so we
  start at `start - CLOCK_MARGIN`; the margin absorbs skew between the clock that stamps records
  and the one that names the object, and the key's truncation to the second (minute for CloudTrail);
* upper bound: delivery is best effort and late (AWS: "most within a few hours", up to days seen);
  a record at t may arrive in an object delivered as late as t + lookback, so we list up to
  `end + lookback`. `DEFAULT_LOOKBACK` is a day for access logs and an hour for CloudTrail
  (CloudTrail delivers in ~5-15 minutes). Records arriving later than the lookback are missed:
  widen it when completeness matters more than cost.

Keys below each of these roots sort by delivery time (`YYYY-MM-DD-HH-MM-SS`, `YYYY/MM/DD/`, and
`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ` all sort chronologically), which is what lets one ranged
listing stop at the upper bound instead of walking the prefix.

SAL partitioned by EventTime puts each object under the day of the records it holds (time part
`00-00-00`), so late delivery cannot move a record out of its day: we list the window's days and
need no lookback. CloudTrail digests name the trail before their timestamp, so keys within a day
do not sort by time: we list their day folders and keep the digests delivered from the lower bound
to one digest period (an hour) plus the margin after the upper bound, the ones that cover the log
files we fetch. Records are filtered by event time later, in queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Literal

from .errors import AcquisitionError
from .schema import LogSource
from .timerange import TimeRange

__all__ = [
    "CLOCK_MARGIN",
    "DEFAULT_LOOKBACK",
    "DEFAULT_WORKERS",
    "KINDS",
    "FILE_NAME",
    "TRAIL_LOG_DELIVERY",
    "TRAIL_LOG_DELIVERY_FORMAT",
    "TRAIL_TAIL",
    "TrailName",
    "kind_from_key",
    "parse_trail_name",
    "trail_tail",
    "DIGEST_PERIOD",
    "LAYOUTS",
    "Layout",
    "ListingRange",
    "after_simple_year",
    "is_account",
    "is_bucket_name",
    "is_org",
    "is_region",
    "listing_ranges",
    "simple_year",
]

#: How far past the window's end objects may still be delivered holding in-window records.
DEFAULT_LOOKBACK: dict[str, timedelta] = {
    LogSource.S3_ACCESS: timedelta(days=1),
    LogSource.CLOUDTRAIL: timedelta(hours=1),
}
#: What `acquire` can be asked for: a log source it lists by window, or "auto" to tell it from
#: the bucket's keys (digests come with CloudTrail).
KINDS: tuple[str, ...] = ("auto", LogSource.S3_ACCESS.value, LogSource.CLOUDTRAIL.value)
#: Parallel downloads by default (here, not in acquire/, so `--help` needs no boto3).
DEFAULT_WORKERS = 16
#: Listed before the window's start to absorb clock skew and key-time truncation.
CLOCK_MARGIN = timedelta(minutes=5)
#: CloudTrail writes one digest per trail and region per hour.
DIGEST_PERIOD = timedelta(hours=1)

_ACCOUNT = re.compile(r"\d{12}")
_ORG = re.compile(r"o-[a-z0-9]{10,32}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_SIMPLE_STAMP = r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}"
_SIMPLE_KEY = re.compile(rf"(?P<ts>{_SIMPLE_STAMP})-[^/]+")


@dataclass(frozen=True)
class Layout:
    """One key layout: where its keys live, what they look like, and the key text at a moment."""

    name: str
    #: Evidence kind of the objects: "s3-access", "cloudtrail" or "cloudtrail-digest".
    kind: str
    #: The folder holding the keys; fields {prefix}, {org}, {account}, {region}, {source_bucket}.
    root_template: str
    #: A key below the root; group `ts` is its time, parsed with `stamp_format`.
    key_pattern: re.Pattern[str]
    stamp_format: str
    #: What the key time is truncated to (the second, or the minute for CloudTrail logs).
    resolution: timedelta
    #: The key text (below the root) at moment {t}, used for StartAfter and the stop bound.
    bound_template: str
    #: "delivery": key time is delivery time; "event-day": key day is the records' event day.
    time_source: Literal["delivery", "event-day"]
    #: Keys below the root sort by their time, so a listing can stop at the upper bound.
    sorted_by_time: bool
    #: Which entry of DEFAULT_LOOKBACK applies (None: the layout needs no lookback).
    lookback_of: str | None

    def root(
        self,
        *,
        prefix: str,
        account: str = "",
        region: str = "",
        source_bucket: str = "",
        org: str = "",
    ) -> str:
        """The folder (S3 prefix) this layout's keys live under, for the given fields."""
        return self.root_template.format(
            prefix=prefix,
            account=account,
            region=region,
            source_bucket=source_bucket,
            org=f"{org}/" if org else "",
        )

    def key_time(self, relative_key: str) -> datetime | None:
        """The UTC time in a key below the root, or None when the key is not of this layout."""
        m = self.key_pattern.fullmatch(relative_key)
        if not m:
            return None
        try:
            return datetime.strptime(m["ts"], self.stamp_format).replace(tzinfo=UTC)
        except ValueError:  # e.g. month 13: the name looks right but is no time
            return None


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            name="s3-access-simple",
            kind="s3-access",
            root_template="{prefix}",
            key_pattern=_SIMPLE_KEY,
            stamp_format="%Y-%m-%d-%H-%M-%S",
            resolution=timedelta(seconds=1),
            bound_template="{t:%Y-%m-%d-%H-%M-%S}",
            time_source="delivery",
            sorted_by_time=True,
            lookback_of="s3-access",
        ),
        Layout(
            name="s3-access-partitioned-delivery",
            kind="s3-access",
            root_template="{prefix}{account}/{region}/{source_bucket}/",
            key_pattern=re.compile(rf"\d{{4}}/\d{{2}}/\d{{2}}/(?P<ts>{_SIMPLE_STAMP})-[^/]+"),
            stamp_format="%Y-%m-%d-%H-%M-%S",
            resolution=timedelta(seconds=1),
            bound_template="{t:%Y/%m/%d}/{t:%Y-%m-%d-%H-%M-%S}",
            time_source="delivery",
            sorted_by_time=True,
            lookback_of="s3-access",
        ),
        Layout(
            name="s3-access-partitioned-event",
            kind="s3-access",
            root_template="{prefix}{account}/{region}/{source_bucket}/",
            key_pattern=re.compile(rf"\d{{4}}/\d{{2}}/\d{{2}}/(?P<ts>{_SIMPLE_STAMP})-[^/]+"),
            stamp_format="%Y-%m-%d-%H-%M-%S",
            resolution=timedelta(seconds=1),
            bound_template="{t:%Y/%m/%d}/",
            time_source="event-day",
            sorted_by_time=True,
            lookback_of=None,
        ),
        Layout(
            name="cloudtrail",
            kind="cloudtrail",
            root_template="{prefix}AWSLogs/{org}{account}/CloudTrail/{region}/",
            key_pattern=re.compile(
                r"\d{4}/\d{2}/\d{2}/\d{12}_CloudTrail_[a-z0-9-]+_(?P<ts>\d{8}T\d{4}Z)_[^/]+\.json(\.gz)?"
            ),
            stamp_format="%Y%m%dT%H%MZ",
            resolution=timedelta(minutes=1),
            bound_template="{t:%Y/%m/%d}/{account}_CloudTrail_{region}_{t:%Y%m%dT%H%M}Z",
            time_source="delivery",
            sorted_by_time=True,
            lookback_of="cloudtrail",
        ),
        Layout(
            name="cloudtrail-digest",
            kind="cloudtrail-digest",
            root_template="{prefix}AWSLogs/{org}{account}/CloudTrail-Digest/{region}/",
            # ACCOUNT_CloudTrail-Digest_REGION_TRAILNAME_HOMEREGION_YYYYMMDDTHHMMSSZ.json.gz; no part
            # may hold a "/": a key planted below a real digest would make its path a folder.
            key_pattern=re.compile(
                r"\d{4}/\d{2}/\d{2}/\d{12}_CloudTrail-Digest_[a-z0-9-]+_[^/]+_[a-z0-9-]+_"
                r"(?P<ts>\d{8}T\d{6}Z)\.json(\.gz)?"
            ),
            stamp_format="%Y%m%dT%H%M%SZ",
            resolution=timedelta(seconds=1),
            bound_template="{t:%Y/%m/%d}/",
            time_source="delivery",
            sorted_by_time=False,
            lookback_of="cloudtrail",
        ),
    )
}


@dataclass(frozen=True)
class ListingRange:
    """One ranged listing: keys under `prefix` after `start_after`, stopping at `stop_at`."""

    layout: Layout
    #: The layout's root folder (key times are read from the key below it).
    root: str
    #: Sent as Prefix: the root, or one day folder below it.
    prefix: str
    #: Sent as StartAfter.
    start_after: str
    #: Listing stops at the first key >= stop_at (keys below the root sort by day, then time).
    stop_at: str
    #: Keep keys whose time is in [time_from, time_to) (checked for every key).
    time_from: datetime
    time_to: datetime
    #: account, region, source_bucket, org: what discovery found this root under.
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def bounded_by_prefix(self) -> bool:
        """True when the Prefix alone ends the listing (a day folder): nothing past it returns."""
        return self.prefix != self.root

    def wants(self, key: str) -> bool:
        """True when `key` is an object of this layout inside the range."""
        if not (self.start_after < key < self.stop_at) or not key.startswith(self.prefix):
            return False
        moment = self.layout.key_time(key[len(self.root) :])
        return moment is not None and self.time_from <= moment < self.time_to

    def describe(self) -> str:
        """One line for the plan: layout, fields, bounds."""
        where = " ".join(f"{k}={v}" for k, v in self.fields.items() if v)
        bounds = (
            ""
            if self.bounded_by_prefix
            else f" StartAfter={self.start_after!r} stop at {self.stop_at!r}"
        )
        return f"{self.layout.name}{' ' + where if where else ''}: Prefix={self.prefix!r}{bounds}"


def _floor_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _floor(moment: datetime, step: timedelta) -> datetime:
    return moment - (moment - _EPOCH) % step


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floored = _floor(moment, step)
    return floored if floored == moment else floored + step


def listing_ranges(
    layout: Layout,
    window: TimeRange,
    *,
    prefix: str = "",
    lookback: timedelta | None = None,
    account: str = "",
    region: str = "",
    source_bucket: str = "",
    org: str = "",
) -> list[ListingRange]:
    """The listings that cover `window` (event time) for one root of `layout`."""
    if lookback is None:
        lookback = DEFAULT_LOOKBACK[layout.lookback_of] if layout.lookback_of else timedelta(0)
    if lookback < timedelta(0):
        raise AcquisitionError(f"lookback {lookback} is negative: it must be zero or more")
    fields = {"org": org, "account": account, "region": region, "source_bucket": source_bucket}
    root = layout.root(prefix=prefix, **fields)

    def bound(moment: datetime) -> str:
        return root + layout.bound_template.format(t=moment, account=account, region=region)

    if layout.sorted_by_time and layout.time_source == "delivery":
        # Key times are truncated to the layout's resolution: round the bounds the same way so
        # the string bounds sent to S3 and the time filter agree on every key.
        low = _floor(window.start - CLOCK_MARGIN, layout.resolution)
        high = _ceil(window.end + lookback, layout.resolution)
        return [ListingRange(layout, root, root, bound(low), bound(high), low, high, fields)]
    if layout.time_source == "event-day":
        low = _floor_day(window.start)
        high = _floor_day(window.end - timedelta(microseconds=1)) + timedelta(days=1)
    else:  # digests: from the lower bound to a digest period (plus margin) past the last logs
        low = _floor(window.start - CLOCK_MARGIN, layout.resolution)
        high = _ceil(window.end + lookback + DIGEST_PERIOD + CLOCK_MARGIN, layout.resolution)
    # One listing per day folder: the folder is the Prefix, so S3 stops at its end by itself.
    ranges = []
    day = _floor_day(low)
    while day < high:
        folder = bound(day)
        ranges.append(
            ListingRange(
                layout, root, folder, folder, bound(day + timedelta(days=1)), low, high, fields
            )
        )
        day += timedelta(days=1)
    return ranges


def is_account(name: str) -> bool:
    """True for a 12-digit AWS account id."""
    return bool(_ACCOUNT.fullmatch(name))


def is_org(name: str) -> bool:
    """True for an AWS Organizations id folder (`o-` + 10 to 32 characters)."""
    return bool(_ORG.fullmatch(name))


def is_region(name: str) -> bool:
    """True for an AWS region name such as us-east-1 or us-gov-west-1."""
    return bool(_REGION.fullmatch(name))


def is_bucket_name(name: str) -> bool:
    """True for a name S3 accepts as a general-purpose bucket name."""
    return bool(_BUCKET.fullmatch(name))


def simple_year(relative_key: str) -> str | None:
    """The year of a simple-prefix access log key (below its prefix), else None."""
    m = _SIMPLE_KEY.fullmatch(relative_key)
    return m["ts"][:4] if m else None


def after_simple_year(prefix: str, year: str) -> str:
    """A StartAfter that skips every simple-prefix key of `year` and nothing else.

    Simple keys of a year all start with `YYYY-`; '.' is the character right after '-', and every
    other name starting with the year (an account folder `YYYY12345678/`) sorts after `YYYY.`.
    """
    return f"{prefix}{year}."


# -- what a key's file name says ----------------------------------------------------------------
# The one place for the names AWS gives log objects, used by acquisition (above), kind detection
# on ingest and CloudTrail integrity.

_NAME_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_TRAIL_LOG_NAME = re.compile(
    rf"(?P<account>\d{{12}})_CloudTrail_(?P<region>{_NAME_REGION})_(?P<ts>\d{{8}}T\d{{4}}Z)_"
    r"[^/_]+\.json(?:\.gz)?"
)
# The trail name may hold underscores: the home region and timestamp anchor the end.
_DIGEST_FILE_NAME = re.compile(
    rf"(?P<account>\d{{12}})_CloudTrail-Digest_(?P<region>{_NAME_REGION})_(?P<trail>.+)_"
    rf"(?P<home>{_NAME_REGION})_(?P<ts>\d{{8}}T\d{{6}}Z)\.json(?:\.gz)?"
)
# Looser forms for recognising files on disk, whose names may carry a prefix of their own.
_DIGEST_LIKE = re.compile(r"_CloudTrail-Digest_[^/]*\d{8}T\d{6}Z\.json(\.gz)?$")
_TRAIL_LOG_LIKE = re.compile(r"_CloudTrail_[^/]*\d{8}T\d{4}Z_[^/]+\.json(\.gz)?$")
_ACCESS_LOG_LIKE = re.compile(rf"(^|[^0-9]){_SIMPLE_STAMP}-[0-9A-Za-z]{{16}}$")
#: The `AWSLogs/...` end of a key or path, which survives prefixes and copy folders.
TRAIL_TAIL = r"(AWSLogs/.*)$"
#: The file name of a key (its last path segment), as a regex group for vectorised matching.
FILE_NAME = r"([^/]+)$"
#: The delivery time (to the minute) in a CloudTrail log file's name, as a regex group for
#: vectorised matching, and the strptime format of what it captures.
TRAIL_LOG_DELIVERY = r"_(\d{8}T\d{4})Z_[^/_]+$"
TRAIL_LOG_DELIVERY_FORMAT = "%Y%m%dT%H%M"


@dataclass(frozen=True)
class TrailName:
    """What a CloudTrail log or digest file name says: account, region, trail, delivery time."""

    kind: Literal["log", "digest"]
    account: str
    region: str
    #: The trail (digests only; log file names do not carry it).
    trail: str | None
    #: Delivery time in the name (to the minute for logs, the second for digests).
    delivered_at: datetime


def parse_trail_name(key: str) -> TrailName | None:
    """Read the file name of a CloudTrail log or digest key; None when it is neither."""
    name = PurePosixPath(key).name
    m = _DIGEST_FILE_NAME.fullmatch(name)
    if m:
        moment = datetime.strptime(m["ts"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return TrailName("digest", m["account"], m["region"], m["trail"], moment)
    m = _TRAIL_LOG_NAME.fullmatch(name)
    if m:
        moment = datetime.strptime(m["ts"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        return TrailName("log", m["account"], m["region"], None, moment)
    return None


def trail_tail(path: str) -> str | None:
    """The `AWSLogs/...` end of a key or case path (what survives prefixes and copy folders)."""
    i = path.rfind("AWSLogs/")
    return path[i:] if i >= 0 else None


def kind_from_key(path: str) -> Literal["s3-access", "cloudtrail", "cloudtrail-digest"] | None:
    """What a key's layout says an object is; None when its name says nothing."""
    if _DIGEST_LIKE.search(path) or "/CloudTrail-Digest/" in path:
        return "cloudtrail-digest"
    if _TRAIL_LOG_LIKE.search(path):
        return "cloudtrail"
    if _ACCESS_LOG_LIKE.search(path):
        return "s3-access"
    return None
