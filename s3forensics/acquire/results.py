"""What an acquisition plans and what it fetched: listings, plans, results and how they print."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..layouts import (
    ListingRange,
)
from ..timerange import TimeRange

if TYPE_CHECKING:
    from ..case import IngestSummary



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
                f"[{iso_utc(self.window.start)}, {iso_utc(self.window.end)}) "
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


def iso_utc(moment: datetime) -> str:
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


