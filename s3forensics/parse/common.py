"""What both parsers share: the result type, the rejects schema, reading (gzip or plain) bytes."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..errors import InputError

__all__ = ["ParseResult", "REJECT_SCHEMA", "empty_rejects", "decompress", "read_object"]

#: One row per input line (access logs) or record (CloudTrail) that did not become a row.
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "evidence_id": pl.String(),
    "line_no": pl.Int64(),  # 1-based line in the (decompressed) object; NULL when not line-based
    "record_no": pl.Int64(),  # 1-based record position in the object (CloudTrail); NULL otherwise
    "raw": pl.String(),
    "reason": pl.String(),
}


def empty_rejects() -> pl.DataFrame:
    """An empty frame with the rejects schema."""
    return pl.DataFrame(schema=REJECT_SCHEMA)


@dataclass(frozen=True)
class ParseResult:
    """Parsed rows and the lines/records that could not be parsed, with their reasons."""

    rows: pl.DataFrame
    rejects: pl.DataFrame
    #: Records dropped because their eventID was already seen in this batch (CloudTrail only).
    duplicates: int = 0


def decompress(data: bytes, *, where: str) -> bytes:
    """Return `data` gunzipped when it is gzip (by magic bytes), else unchanged."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(where, f"corrupt gzip ({exc})") from exc


def read_object(path: str | Path) -> bytes:
    """Read a log object from disk, gunzipping it when needed; errors name the file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(str(p), f"unreadable file ({exc.strerror or exc})") from exc
    return decompress(data, where=str(p))
