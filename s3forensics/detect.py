"""Recognise what kind of log an object is, from its key layout first and its content second."""

from __future__ import annotations

from pathlib import PurePath
from typing import Literal

from .layouts import kind_from_key
from .parse.s3_access import looks_like_access_log

__all__ = ["Kind", "detect_kind"]

#: A LogSource value (schema.py) as text: what kind of log an object is.
Kind = Literal["s3-access", "cloudtrail", "cloudtrail-digest"]

def detect_kind(path: str | PurePath, content: bytes) -> tuple[Kind | None, str]:
    """Return the object's kind (or None) and a short reason saying how it was decided."""
    by_key = kind_from_key(PurePath(path).as_posix())
    if by_key == "cloudtrail-digest":
        return "cloudtrail-digest", "CloudTrail digest key layout"
    head = content[:65536]
    sniffed = None
    if head.lstrip()[:1] in (b"{", b"["):
        # Imported here: the CloudTrail parser loads pyarrow (0.3-0.6 s), which an ingest of
        # access logs alone never needs (issue 15).
        from .parse.cloudtrail import sniff_cloudtrail

        sniffed = sniff_cloudtrail(head)
    if by_key == "cloudtrail":
        if sniffed == "digest":
            return "cloudtrail-digest", "digest content under a CloudTrail log name"
        return "cloudtrail", "CloudTrail log key layout"
    if sniffed == "digest":
        return "cloudtrail-digest", "CloudTrail digest content"
    if sniffed is not None:
        return "cloudtrail", f"CloudTrail content ({sniffed})"
    if by_key == "s3-access":
        # Loaded even if the content is damaged: its bad lines then show up as rejects.
        return "s3-access", "S3 access log key layout"
    if looks_like_access_log(head):
        return "s3-access", "S3 server access log content"
    return None, "not a recognised S3 access log or CloudTrail object"
