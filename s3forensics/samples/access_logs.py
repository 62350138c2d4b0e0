"""S3 server access logs: one or more records per call, delivered into objects as S3 does.

Delivery is best effort and late: each record waits a few minutes to a few hours, so an object
(named by its delivery time in the simple layout) holds records from before the previous hour;
with the partitioned EventTime layout an object holds records of one event day only.
"""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..render import format_access_log_line
from .ids import IdMaker
from .model import S3Call
from .ops import host_header, request_uri
from .world import REGION, LogTarget

__all__ = ["LogObject", "access_records", "damage", "deliver_access_logs", "render_lines"]

#: Seconds between two deliveries of one bucket's logs, per layout.
_DELIVERY_GAP = {"simple": (50 * 60, 140 * 60), "partitioned-eventtime": (90 * 60, 240 * 60)}
_LATE_SHARE = 0.05  # records that miss a delivery or two


@dataclass
class LogObject:
    """A log object to write: its bucket, key, delivery time and lines."""

    bucket: str
    key: str
    delivered: datetime
    lines: list[str]
    trailing_newline: bool = True

    @property
    def path(self) -> str:
        """`bucket/key`, how the answer key names a file."""
        return f"{self.bucket}/{self.key}"

    def body(self) -> bytes:
        """The object's bytes."""
        text = "\n".join(self.lines) + ("\n" if self.trailing_newline else "")
        return text.encode("utf-8")


def access_records(call: S3Call, owner_id: str) -> list[dict[str, Any]]:
    """The access log records of one call (a copy logs two, a batch delete one per key)."""
    c = call.actor.client
    base: dict[str, Any] = {
        "bucket_owner": owner_id, "bucket": call.bucket, "event_time": call.time,
        "remote_ip": call.actor.ip, "requester": call.actor.identity.requester,
        "request_id": call.request_id, "operation": call.operation, "object_key": call.key,
        "request_uri": request_uri(call), "http_status": call.status,
        "error_code": call.error_code, "bytes_sent": call.bytes_sent or None,
        "object_size": call.object_size, "total_time_ms": call.total_ms,
        "turnaround_time_ms": call.turnaround_ms, "referer": call.referer,
        "user_agent": c.user_agent, "version_id": None, "host_id": call.host_id,
        "signature_version": c.signature, "cipher_suite": c.cipher, "authentication_type": c.auth,
        "host_header": host_header(call.actor, call.bucket), "tls_version": c.tls_version,
        "access_point_arn": None, "acl_required": False,
        "source_region": REGION if c.in_region else None,
    }
    records = [base]
    if call.copy_source_key is not None:
        records.append({**base, "operation": "REST.COPY.OBJECT_GET",
                        "object_key": call.copy_source_key, "bytes_sent": None})
    for key, size in call.batch:
        records.append({**base, "operation": "BATCH.DELETE.OBJECT", "object_key": key,
                        "request_uri": None, "http_status": 204, "bytes_sent": None,
                        "object_size": size, "total_time_ms": None, "turnaround_time_ms": None})
    return records


def _flush_times(first: datetime, last: datetime, layout: str,
                 rng: random.Random) -> list[datetime]:
    low, high = _DELIVERY_GAP[layout]
    times: list[datetime] = []
    t = first + timedelta(seconds=rng.randint(300, 1500))
    while not times or times[-1] < last + timedelta(hours=4):
        times.append(t)
        t += timedelta(seconds=rng.randint(low, high))
    return times


def deliver_access_logs(lines: list[tuple[datetime, str]], *, source_bucket: str, account: str,
                        target: LogTarget, rng: random.Random, ids: IdMaker) -> list[LogObject]:
    """Group one bucket's log lines (in receipt order) into delivered objects."""
    if not lines:
        return []
    flushes = _flush_times(lines[0][0], lines[-1][0], target.layout, rng)
    groups: dict[tuple[datetime, str], list[str]] = defaultdict(list)
    for received, line in lines:
        if rng.random() < _LATE_SHARE:
            lag = timedelta(seconds=rng.randint(65 * 60, 170 * 60))
        else:
            lag = timedelta(seconds=rng.randint(3 * 60, 25 * 60))
        delivered = flushes[bisect.bisect_left(flushes, received + lag)]
        day = f"{received:%Y-%m-%d}" if target.layout == "partitioned-eventtime" else ""
        groups[(delivered, day)].append(line)
    objects = []
    for (delivered, day), group in sorted(groups.items()):
        suffix = ids.sal_suffix()
        if target.layout == "simple":
            key = f"{target.prefix}{delivered:%Y-%m-%d-%H-%M-%S}-{suffix}"
        else:
            y, m, d = day.split("-")
            key = (f"{target.prefix}{account}/{REGION}/{source_bucket}/{y}/{m}/{d}/"
                   f"{day}-00-00-00-{suffix}")
        objects.append(LogObject(target.bucket, key, delivered, group))
    return objects


def damage(objects: list[LogObject], rng: random.Random) -> list[dict[str, Any]]:
    """Damage three objects as interrupted writes do; return where and how, for the answer key.

    One record is cut short at the end of an object, one is cut short and runs into the next
    record on the same line, and one line of garbage appears between records.
    """
    candidates = [o for o in objects if len(o.lines) >= 8]
    chosen = rng.sample(candidates, 3)
    damaged: list[dict[str, Any]] = []

    truncated = chosen[0]
    last = truncated.lines[-1]
    cut = last.index('"') + rng.randint(4, 12)  # inside the quoted request URI
    truncated.lines[-1] = last[:cut]
    truncated.trailing_newline = False
    damaged.append({"file": truncated.path, "line_no": len(truncated.lines),
                    "why": "truncated record: the object ends in the middle of the request URI",
                    "raw": truncated.lines[-1]})

    spliced = chosen[1]
    i = rng.randrange(1, len(spliced.lines) - 2)
    first, second = spliced.lines[i], spliced.lines[i + 1]
    cut = first.index('"') + rng.randint(4, 12)
    spliced.lines[i:i + 2] = [first[:cut] + second]
    damaged.append({"file": spliced.path, "line_no": i + 1,
                    "why": "two records spliced: the first is cut short inside its request URI "
                           "and the second follows on the same line",
                    "raw": spliced.lines[i]})

    garbage = chosen[2]
    j = rng.randrange(1, len(garbage.lines) - 1)
    junk = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                               k=72))
    garbage.lines.insert(j, junk)
    damaged.append({"file": garbage.path, "line_no": j + 1,
                    "why": "garbage: a line that is not an access log record", "raw": junk})
    return sorted(damaged, key=lambda d: (d["file"], d["line_no"]))


def render_lines(calls: list[S3Call], owner_id: str) -> list[tuple[datetime, str]]:
    """The access log lines of `calls`, in receipt order (stable for equal times)."""
    out: list[tuple[datetime, str]] = []
    for call in sorted(calls, key=lambda c: c.time):
        for record in access_records(call, owner_id):
            out.append((call.time, format_access_log_line(record)))
    return out
