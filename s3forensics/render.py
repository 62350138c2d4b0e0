"""Write records the way AWS writes them: access log lines and CloudTrail files.

Used by the sample generator, the benchmarks and the round-trip tests; the parsers are the inverse.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from .parse.s3_access import ACCESS_LOG_FIELDS

__all__ = [
    "ACCESS_LOG_FIELDS",
    "encode_key",
    "format_access_time",
    "format_access_log_line",
    "render_cloudtrail_file",
]


_QUOTED = {"request_uri", "referer", "user_agent"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Characters S3 leaves as they are when it URL-encodes a key for the log.
_KEY_SAFE = "/*!'()$&,;=:@~"


def encode_key(object_key: str, operation: str) -> str:
    """Encode a real object key as the access log's Key field shows it for `operation`.

    Requests (REST.*, WEBSITE.*) log the already URL-encoded request path encoded again; S3's own
    actions (S3.EXPIRE.OBJECT, S3.TRANSITION...) and the per-key lines of a batch delete, whose
    keys come from the request body rather than the URL, log it form-encoded once (a space as +).
    """
    if operation.startswith("S3.") or operation == "BATCH.DELETE.OBJECT":
        return quote_plus(object_key, safe=_KEY_SAFE)
    return quote(quote(object_key, safe=_KEY_SAFE), safe=_KEY_SAFE)


def format_access_time(moment: datetime) -> str:
    """Format a timestamp as `[06/Feb/2019:00:00:38 +0000]`, keeping its UTC offset."""
    if moment.tzinfo is None:
        raise ValueError("access log times must be timezone-aware")
    offset = moment.utcoffset() or (moment - moment.replace(tzinfo=UTC))
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return (
        f"[{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year:04d}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {sign}{hh:02d}{mm:02d}]"
    )


def _field(name: str, value: Any) -> str:
    if name == "event_time":
        return format_access_time(value)
    if name == "acl_required":
        return "Yes" if value else "-"
    if value is None:
        return '"-"' if name in ("referer", "user_agent") else "-"
    if name in _QUOTED:
        return '"' + str(value).replace('"', '\\"') + '"'
    return str(value)


def format_access_log_line(record: Mapping[str, Any], *, n_fields: int = 27) -> str:
    """Format one record (parser column names; `object_key` or `key`) as an access log line.

    `n_fields` picks the format era (18, 24, 25, 26 or 27 fields); `extra_fields`, when
    present, is appended verbatim as AWS's future fields would be.
    """
    values = dict(record)
    if values.get("key") is None and values.get("object_key") is not None:
        values["key"] = encode_key(values["object_key"], str(values["operation"]))
    parts = [_field(name, values.get(name)) for name in ACCESS_LOG_FIELDS[:n_fields]]
    line = " ".join(parts)
    if values.get("extra_fields"):
        line += " " + values["extra_fields"]
    return line


def render_cloudtrail_file(records: Iterable[Mapping[str, Any]], *, gz: bool = True) -> bytes:
    """Serialise records as a CloudTrail log object, `{"Records": [...]}`, gzipped by default."""
    body = json.dumps({"Records": list(records)}, separators=(",", ":")).encode()
    if not gz:
        return body
    buf = io.BytesIO()
    # mtime=0 keeps output byte-for-byte reproducible for a given input.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        fh.write(body)
    return buf.getvalue()
