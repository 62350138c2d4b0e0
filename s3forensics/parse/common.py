"""What both parsers share: the result type, the rejects schema, reading (gzip or plain) bytes."""

from __future__ import annotations

import gzip
import io
import signal
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import polars as pl

from ..errors import InputError
from ..schema import REJECTS

__all__ = [
    "MAX_OBJECT_BYTES",
    "ParseResult",
    "REJECT_SCHEMA",
    "empty_rejects",
    "decompress",
    "interruptible",
    "read_object",
    "too_large",
]

#: The most bytes one object may hold once decompressed. Ingest reads an object whole (it is
#: hashed and copied byte for byte) and parses it in memory, so this bounds what one object can
#: cost: a 2 MB gzip bomb that would expand to 2 GiB stops here as an error naming it, and the
#: rest of the ingest goes on. AWS writes far smaller objects (access log objects are KBs to a
#: few MB; CloudTrail files a few MB, and the CloudTrail parser takes at most
#: MAX_CLOUDTRAIL_BYTES). Measured whole-ingest peaks for one access log object of ordinary
#: lines: 63 MiB 0.78 GB, 255 MiB 1.2 GB (plain or gzip alike); 192 MiB keeps room under the
#: 1.5 GiB promise (tests/test_hostile_input.py). Raise it only with memory to match.
MAX_OBJECT_BYTES = 192 * 1024 * 1024
# Decompressed bytes read per step: the output is checked against the limit as it grows.
_STEP = 8 * 1024 * 1024

#: One row per input line (access logs) or record (CloudTrail) that did not become a row.
REJECT_SCHEMA: dict[str, pl.DataType] = REJECTS.polars_schema()


def empty_rejects() -> pl.DataFrame:
    """An empty frame with the rejects schema."""
    return pl.DataFrame(schema=REJECT_SCHEMA)


@dataclass(frozen=True)
class ParseResult:
    """Parsed rows and the lines/records that could not be parsed, with their reasons."""

    rows: pl.DataFrame
    rejects: pl.DataFrame
    #: Records dropped as repeats of one earlier in this batch, same eventID and content
    #: (CloudTrail only).
    duplicates: int = 0


def decompress(data: bytes, *, where: str, limit: int | None = None) -> bytes:
    """Return `data` gunzipped when it is gzip (by magic bytes), else unchanged; at most `limit`
    bytes (default MAX_OBJECT_BYTES), else InputError."""
    if data[:2] != b"\x1f\x8b":
        return data
    limit = MAX_OBJECT_BYTES if limit is None else limit
    chunks: list[bytes] = []
    total = 0
    try:
        # Streamed, so a bomb costs `limit` bytes at most before it is refused, never its size.
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            while chunk := fh.read(min(_STEP, limit + 1 - total)):
                total += len(chunk)
                if total > limit:
                    raise InputError(
                        where,
                        f"gzip expands to more than {limit:,} bytes ({len(data):,} compressed; "
                        "MAX_OBJECT_BYTES): a decompression bomb, or an object too large to load",
                    )
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(where, f"corrupt gzip ({exc})") from exc
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_object(path: str | Path) -> bytes:
    """Read a log object from disk, gunzipping it when needed; errors name the file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_OBJECT_BYTES:
            raise InputError(str(p), too_large(size))
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(str(p), f"unreadable file ({exc.strerror or exc})") from exc
    return decompress(data, where=str(p))


def too_large(size: int) -> str:
    """Why an object of `size` bytes is not read."""
    return (
        f"{size:,} bytes, more than the {MAX_OBJECT_BYTES:,} one object may hold "
        "(MAX_OBJECT_BYTES); not loaded"
    )


@contextmanager
def interruptible() -> Iterator[None]:
    """Make Ctrl-C inside the block surface as KeyboardInterrupt, whatever DuckDB makes of it.

    DuckDB (and the Arrow scans it calls back into) turn a KeyboardInterrupt raised during a
    query into its own errors: RuntimeError("Query interrupted"), InterruptException, or an
    InvalidInputException naming the KeyboardInterrupt. Callers (the CLI's one-line
    "interrupted" message, exit 130) should see what the user did. Outside the main thread
    no signal handler can be set, and the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hit: list[int] = []
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        hit.append(signum)
        if callable(previous):
            previous(signum, frame)  # the default raises KeyboardInterrupt
        else:
            raise KeyboardInterrupt

    if previous in (signal.SIG_IGN, None):
        yield  # Ctrl-C is ignored here (or handled outside Python): nothing to translate
        return
    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    except BaseException:
        if hit:
            raise KeyboardInterrupt from None
        raise
    else:
        if hit:
            raise KeyboardInterrupt  # swallowed inside the query, which then went on
    finally:
        signal.signal(signal.SIGINT, previous)
