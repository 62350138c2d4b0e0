"""Parse S3 server access log objects into a typed polars frame, one row per record.

Every input line becomes a row or a reject with a reason. A line whose *structure* is a record
(fields in their places, quotes where quotes belong, a bracketed time) is a row; a value that is
odd for its field (an operation not shaped like REST.GET.OBJECT, an aclRequired that is neither
Yes nor -, a count that is not a number) is kept as logged, its typed column NULL where it cannot
be typed, and the row says so in `anomalies`. Rejects are for lines that are not one record.

Lines are tokenised in one vectorised pass over the whole batch: a fast positional split handles
the ordinary line (three quoted fields without inner quotes, no spaces in the requester); every
other line goes through one reference regular expression that also accepts the unusual-but-valid
shapes, and what that refuses for an odd value, through a lenient one. All feed the same typing
step, so the paths cannot disagree on what a field means.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import polars as pl

from ..schema import S3_ACCESS_LOGS
from .common import REJECT_SCHEMA, ParseResult, decompress, interruptible, read_object

__all__ = [
    "ACCESS_LOG_FIELDS",
    "ACCESS_LOG_SCHEMA",
    "MAX_LINE_BYTES",
    "looks_like_access_log",
    "parse_access_log_bytes",
    "parse_access_log_file",
    "parse_access_logs",
]

_UTC = pl.Datetime("us", "UTC")

#: Output columns in order. The first 27 after `object_key` follow AWS's field order.
ACCESS_LOG_SCHEMA: dict[str, pl.DataType] = S3_ACCESS_LOGS.polars_schema()

# The 27 logged fields in order (render.py writes them from this list), with their 1-based
# field numbers for reject reasons.
ACCESS_LOG_FIELDS: tuple[str, ...] = tuple(
    name for name in ACCESS_LOG_SCHEMA
    if name not in ("object_key", "extra_fields", "anomalies", "evidence_id", "line_no")
)
_FIELDS = ACCESS_LOG_FIELDS
_FIELD_NO = {name: i + 1 for i, name in enumerate(_FIELDS)}
_MIN_FIELDS = 18
_INT_FIELDS = ("http_status", "bytes_sent", "object_size", "total_time_ms", "turnaround_time_ms")
# Fields 18..27 are plain tokens; a line may stop after any of them (older format eras).
_TAIL_FIELDS = _FIELDS[17:]

# Raw (string) columns both tokenisers produce. The time is kept as two tokens,
# "[06/Feb/2019:00:00:38" and "+0000]", because that is how a split on spaces sees it.
_RAW = (*_FIELDS[:2], "_time", "_offset", *_FIELDS[3:], "extra_fields")

# Fields are separated by exactly one ASCII space, so "not a space" is [^ ] (not \S, which would
# also split on tabs or no-break spaces that the positional split keeps inside a field); digits
# are [0-9] (not \d, which also takes other scripts' digits).
_OP = r"[A-Z][A-Z0-9_]*(?:\.[A-Za-z0-9_-]+)+"  # REST.GET.OBJECT, S3.COMPUTE.OBJECT.CHECKSUM, SOAP.X
_OP_FULL = f"^{_OP}$"
_DAY = r"\[[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:"  # "[06/Feb/2019:"
_DATE = _DAY + r"[0-9]{2}:[0-9]{2}:[0-9]{2}"
_TIME_TOKEN = f"^{_DATE}$"
_OFFSET_TOKEN = r"^[+-][0-9]{4}\]$"
_TIME_FIELD = rf"^{_DATE} [+-][0-9]{{4}}\]$"
_NUM = r"-|[0-9]+"


def _nested_tail() -> str:
    # Each later field is optional, but only if every earlier one is present: nesting keeps an
    # empty field (two spaces) from silently sliding the rest of the line into extra_fields.
    # These fields never hold a quote; refusing one keeps a quote inside a user-controlled
    # referer from ending it early and shifting the fields after it.
    tail = r"(?: (?P<extra_fields>.*))?"
    for name in reversed(_TAIL_FIELDS[1:]):
        tail = rf'(?: (?P<{name}>[^ "]+){tail})?'
    return rf'(?P<version_id>[^ "]+){tail}'


# The reference grammar. Notes on the choices that matter:
# - requester may contain spaces (CloudFront OAI ARNs); it is matched lazily and anchored by the
#   request id and an operation-shaped token, and its words may not contain [ ] or ".
# - AWS does not reliably escape quotes inside quoted fields (real logs show `"GET /" HTTP/1.1"`),
#   so request_uri and referer end at the first quote that lets the rest of the line fit, and
#   user_agent at the last one; the six quote-free tokens after request_uri anchor it. They are
#   any tokens, not numbers: with numbers required, a record with one odd count made the regex
#   try later quotes until the request URI swallowed the referer and user agent and the dashes
#   of the tail posed as counts. An escaped quote (\") in a quoted field is read as a quote.
_RECORD_RX = (
    r"^(?P<bucket_owner>[^ ]+) (?P<bucket>[^ ]+) (?P<_time>\[[^ \]]+) (?P<_offset>[^ \]]+\]) "
    r'(?P<remote_ip>[^ ]+) (?P<requester>[^ ]+(?: [^ \[\]"]+)*?) (?P<request_id>[^ ]+) '
    rf"(?P<operation>{_OP}) (?P<key>[^ ]+) "
    r'(?:-|"(?P<request_uri>.*?)") (?P<http_status>[^ "]+) (?P<error_code>[^ ]+) '
    r'(?P<bytes_sent>[^ "]+) (?P<object_size>[^ "]+) (?P<total_time_ms>[^ "]+) '
    r'(?P<turnaround_time_ms>[^ "]+) (?:-|"(?P<referer>.*?)") (?:-|"(?P<user_agent>.*)") '
    + _nested_tail()
    + "$"
)

# The same layout with any quote-free token where the reference grammar wants an operation: a
# record whose operation is odd is still a record. The requester is one token here, because
# without the operation's shape nothing would anchor a requester with spaces.
_LENIENT_RX = (
    r"^(?P<bucket_owner>[^ ]+) (?P<bucket>[^ ]+) (?P<_time>\[[^ \]]+) (?P<_offset>[^ \]]+\]) "
    r'(?P<remote_ip>[^ ]+) (?P<requester>[^ ]+) (?P<request_id>[^ ]+) '
    r'(?P<operation>[^ "]+) (?P<key>[^ ]+) '
    r'(?:-|"(?P<request_uri>.*?)") (?P<http_status>[^ "]+) (?P<error_code>[^ ]+) '
    r'(?P<bytes_sent>[^ "]+) (?P<object_size>[^ "]+) (?P<total_time_ms>[^ "]+) '
    r'(?P<turnaround_time_ms>[^ "]+) (?:-|"(?P<referer>.*?)") (?:-|"(?P<user_agent>.*)") '
    + _nested_tail()
    + "$"
)

# Two records run together: a canonical id, a bucket and a time after the line's first field.
_SPLICE_RX = rf"^(.+?)[0-9a-f]{{64}} [^ ]+ {_DAY}"
# The same start of a record anywhere inside a referer or user agent.
_RECORD_START_RX = rf"[0-9a-f]{{64}} [^ ]+ {_DAY}"
# Tokens for counting fields in reasons: a [time], a quoted value (possibly never closed), a word.
_TOKEN_RX = r'\[[^\]]*\]|"[^"]*"|"[^"]*$|[^ ]+'
_NOT_A_TIME = "not an access log record: field 3 is not a [dd/Mon/yyyy:HH:MM:SS +zzzz] time"
# Sniffing: a complete first line must reach the operation; a line the sample cuts short need
# only show the owner, the bucket and the bracketed time.
_SNIFF_HEAD = re.compile(rf"^[^ ]+ [^ ]+ {_DATE} [+-][0-9]{{4}}\] ", re.ASCII)
_SNIFF_RX = re.compile(_SNIFF_HEAD.pattern + rf"[^ ]+ .+? [^ ]+ {_OP} ", re.ASCII)


def parse_access_logs(objects: Iterable[tuple[str, bytes]]) -> ParseResult:
    """Parse decompressed access log objects `(evidence_id, content)` into rows and rejects."""
    rows: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    for batch, too_long in _batches(objects):
        if batch:
            result = _parse_batch(batch)
            rows.append(result.rows)
            rejects.append(result.rejects)
        if too_long is not None:
            rejects.append(too_long)
    if len(rows) == 1 and len(rejects) == 1:
        return ParseResult(rows[0], rejects[0])  # the usual case: one batch, nothing to join
    return ParseResult(
        pl.concat([pl.DataFrame(schema=ACCESS_LOG_SCHEMA), *rows]),
        pl.concat([pl.DataFrame(schema=REJECT_SCHEMA), *rejects]),
    )


def _parse_batch(batch: list[tuple[str, bytes, int]]) -> ParseResult:
    """Rows and rejects of a batch of pieces `(evidence_id, lines, first line number)`."""
    lines = _lines_frame(batch)
    if lines.height == 0:
        return ParseResult(
            pl.DataFrame(schema=ACCESS_LOG_SCHEMA), pl.DataFrame(schema=REJECT_SCHEMA)
        )
    df = _tokenise(lines)
    df = df.with_columns(
        _time_shaped().fill_null(False).alias("_valid"), _find_splices(df).alias("_splice")
    )
    ok = pl.col("_parsed") & pl.col("_valid") & pl.col("_splice").is_null()
    rows = _rows(df.filter(ok))
    rejects = _rejects(df.filter(~ok))
    return ParseResult(rows, rejects)


def parse_access_log_bytes(data: bytes, *, evidence_id: str = "<bytes>") -> ParseResult:
    """Parse one access log object given as bytes (plain or gzip)."""
    return parse_access_logs([(evidence_id, decompress(data, where=evidence_id))])


def parse_access_log_file(path: str | Path, *, evidence_id: str | None = None) -> ParseResult:
    """Parse one access log file (plain or gzip); evidence_id defaults to the path."""
    data = read_object(path)
    return parse_access_logs([(str(path) if evidence_id is None else evidence_id, data)])


def looks_like_access_log(sample: bytes) -> bool:
    """True if the first non-blank line of `sample` (plain or gzip, may be cut short) is a record."""
    if sample[:2] == b"\x1f\x8b":
        try:
            # A partial stream is expected here: a sniffing sample is usually the first few KB.
            sample = zlib.decompressobj(wbits=31).decompress(sample, 65536)
        except zlib.error:
            return False
    text = sample.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            complete = i < len(lines) - 1
            return (_SNIFF_RX if complete else _SNIFF_HEAD).match(line) is not None
    return False


# --- lines -------------------------------------------------------------------------------------


_BOM = b"\xef\xbb\xbf"

#: The longest line (in bytes) read as a possible record. AWS records are a few hundred bytes,
#: a few KB with a long user agent or request URI (S3 refuses request headers over 8 KB); a
#: longer line is a reject whose raw keeps its first RAW_KEPT_BYTES, and it is never split into
#: fields, so a damaged or hostile object cannot cost its size several times over.
MAX_LINE_BYTES = 1024 * 1024
#: How much of an overlong line its reject keeps as raw.
RAW_KEPT_BYTES = 4096
# Bytes of lines parsed in one pass: splitting into fields holds a few copies of a batch, so
# an object larger than this (up to MAX_OBJECT_BYTES) is parsed a piece at a time.
_BATCH_BYTES = 48 * 1024 * 1024

_Piece = tuple[str, bytes, int]  # evidence_id, whole lines, number of the first line


def _batches(
    objects: Iterable[tuple[str, bytes]],
) -> Iterator[tuple[list[_Piece], pl.DataFrame | None]]:
    """Group the objects' lines into batches of about _BATCH_BYTES, in order, each followed by
    the reject of the overlong line that ends it (None when none does)."""
    batch_bytes = _BATCH_BYTES
    batch: list[_Piece] = []
    size = 0
    for evidence_id, data in objects:
        # A byte-order mark is not part of the first record. Offsets, not slices, until a piece
        # is cut: an object that fits a batch whole is never copied here.
        start = 3 if data.startswith(_BOM) else 0
        line_no = 1
        spans = _overlong_lines(data, start) if len(data) - start > MAX_LINE_BYTES else []
        for span_start, span_end in [*spans, (len(data), len(data))]:
            pos = start
            while pos < span_start:  # the lines before the overlong one (or the end)
                end = span_start
                if end - pos > batch_bytes - size:
                    # Whole lines only: cut after the last newline that fits the batch.
                    cut = data.rfind(b"\n", pos, pos + batch_bytes - size)
                    if cut == -1 and batch:
                        yield batch, None
                        batch, size = [], 0
                        continue
                    if cut != -1:
                        end = cut + 1
                piece = data if (pos, end) == (0, len(data)) else data[pos:end]
                batch.append((evidence_id, piece, line_no))
                size += end - pos
                line_no += piece.count(b"\n")
                pos = end
            if span_start < len(data):
                yield batch, _overlong_reject(evidence_id, data, span_start, span_end, line_no)
                batch, size = [], 0
                line_no += 1
                start = span_end + 1
    yield batch, None


def _overlong_lines(data: bytes, start: int) -> list[tuple[int, int]]:
    """Byte spans (start, end before the newline) of the lines longer than MAX_LINE_BYTES."""
    # Such a line covers at least one whole window of half that size with no newline in it, so
    # looking at each window once finds them all: a few hundred finds for the largest object,
    # each stopping at the first newline, instead of a pass over every line.
    half = MAX_LINE_BYTES // 2
    spans: list[tuple[int, int]] = []
    window = start
    while window + half <= len(data):
        if data.find(b"\n", window, window + half) != -1:
            window += half
            continue
        line_start = max(data.rfind(b"\n", start, window) + 1, start)
        line_end = data.find(b"\n", window + half)
        line_end = len(data) if line_end == -1 else line_end
        if line_end - line_start > MAX_LINE_BYTES:
            spans.append((line_start, line_end))
        window = line_end + 1
    return spans


def _overlong_reject(
    evidence_id: str, data: bytes, start: int, end: int, line_no: int
) -> pl.DataFrame:
    """The reject of the line at data[start:end]: its first RAW_KEPT_BYTES, and why."""
    kept = data[start : start + RAW_KEPT_BYTES].decode("utf-8", "backslashreplace")
    reason = (
        f"line too long: {end - start:,} bytes, over the {MAX_LINE_BYTES:,} a record may have "
        f"(MAX_LINE_BYTES); raw keeps its first {RAW_KEPT_BYTES:,} bytes"
    )
    return pl.DataFrame(
        [(evidence_id, line_no, None, kept, reason)], schema=REJECT_SCHEMA, orient="row"
    )


def _lines_frame(objects: Iterable[_Piece]) -> pl.DataFrame:
    """One row per line of every piece: evidence_id, line_no (1-based), line."""
    ids: list[str] = []
    firsts: list[int] = []
    counts: list[int] = []
    chunks: list[bytes] = []
    csv_safe = True
    for evidence_id, data, first_line in objects:
        n = data.count(b"\n")
        chunks.append(data)
        if data and not data.endswith(b"\n"):
            chunks.append(b"\n")  # terminate the last line so objects cannot run together
            n += 1
        # The CSV reader below uses NUL as its (never seen) field separator; a NUL byte in the
        # data sends the batch down the plain Python path instead.
        csv_safe = csv_safe and b"\x00" not in data
        ids.append(evidence_id)
        firsts.append(first_line)
        counts.append(n)
    blob = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    del chunks
    lines = _split_lines_csv(blob, sum(counts)) if csv_safe else None
    if lines is None:
        lines = _split_lines_py(blob)
    meta = pl.DataFrame(
        {"evidence_id": ids, "_first": firsts, "_n": counts},
        schema={"evidence_id": pl.String, "_first": pl.Int64, "_n": pl.Int64},
    ).filter(pl.col("_n") > 0)
    frame = meta.select(
        pl.col("evidence_id").repeat_by("_n").explode(),
        pl.int_ranges("_first", pl.col("_first") + pl.col("_n"), dtype=pl.Int64)
        .explode()
        .alias("line_no"),
    ).with_columns(lines.alias("line"))
    if b"\r" in blob or frame.get_column("line").str.ends_with(" ").any():
        # Only pay for the strip when some line needs it (CRLF files, trailing spaces).
        frame = frame.with_columns(pl.col("line").str.strip_chars_end(" \r"))
    return frame


def _split_lines_csv(blob: bytes, expected: int) -> pl.Series | None:
    """Split on newlines with polars' (multi-threaded) CSV reader; None if it cannot be trusted."""
    if not blob:
        return pl.Series("line", [], dtype=pl.String)
    if blob[:1] in (b"\x1f", b"x", b"("):
        # The reader decompresses input that starts like gzip, zlib or zstd; text is text here.
        return None
    try:
        frame = pl.read_csv(
            blob,
            has_header=False,
            separator="\x00",  # never in the batch (checked), so each line is one field
            quote_char=None,
            schema={"line": pl.String},
            raise_if_empty=False,
        )
    except (pl.exceptions.ComputeError, OSError):
        return None  # invalid UTF-8: the Python path keeps it visible as \xNN
    if frame.height != expected:
        return None  # never seen; the line count is the contract, so do not guess
    # The reader gives an empty line as null, and keeps a lone CR line as "\r" or null.
    return frame.get_column("line").fill_null("")


def _split_lines_py(blob: bytes) -> pl.Series:
    """Split on newlines in Python; invalid UTF-8 stays visible as \\xNN escapes."""
    # backslashreplace never creates or removes a newline, so line numbers stay exact.
    lines = blob.decode("utf-8", "backslashreplace").split("\n")
    lines.pop()  # the empty string after the final newline
    return pl.Series("line", lines, dtype=pl.String)


# --- tokenising --------------------------------------------------------------------------------


# Tests turn this off to check that the reference grammar alone parses every line the same way.
_USE_FAST_PATH = True


def _tokenise(lines: pl.DataFrame) -> pl.DataFrame:
    """Add the raw string fields (see _RAW) and `_parsed` (False when the line is no record)."""
    q = [f"_q{i}" for i in range(7)]
    p = [f"_p{i}" for i in range(10)]
    m = [f"_m{i}" for i in range(8)]
    t = [f"_t{i}" for i in range(12)]
    df = lines.with_columns(
        pl.col("line").str.splitn('"', 7).struct.rename_fields(q).alias("_q")
    ).unnest("_q")
    df = df.with_columns(
        pl.col("_q0").str.splitn(" ", 10).struct.rename_fields(p).alias("_p"),
        pl.col("_q2").str.splitn(" ", 8).struct.rename_fields(m).alias("_m"),
        pl.col("_q6").str.splitn(" ", 12).struct.rename_fields(t).alias("_t"),
    ).unnest("_p", "_m", "_t")

    # The ordinary line: exactly six quotes (request_uri, referer, user_agent); before the first,
    # 8 fields and a trailing space (the time counts as two); between request_uri and referer,
    # 6 fields with a space either side; one space between referer and user_agent; after
    # user_agent, a space and at least version_id. No empty field anywhere (no double space).
    def no_double(c: str) -> pl.Expr:
        return ~pl.col(c).str.contains("  ", literal=True)

    fast = (
        pl.col("_q6").is_not_null()
        & ~pl.col("_q6").str.contains('"', literal=True)
        & (pl.col("_q4") == " ")
        & (pl.col("_p9") == "")
        & ~pl.col("_q0").str.starts_with(" ")
        & no_double("_q0")
        & (pl.col("_m0") == "")
        & (pl.col("_m7") == "")
        & no_double("_q2")
        & (pl.col("_t0") == "")
        & (pl.col("_t1").str.len_bytes() > 0)
        & no_double("_q6")
    ).fill_null(False)
    fast_cols = dict(
        zip(
            _RAW,
            [
                *p[:9],  # owner, bucket, time, offset, ip, requester, request id, operation, key
                "_q1",
                *m[1:7],  # http_status .. turnaround_time_ms
                "_q3",
                "_q5",
                *t[1:12],  # version_id .. source_region, extra_fields
            ],
            strict=True,
        )
    )
    df = df.with_columns((fast & _USE_FAST_PATH).alias("_fast"))
    if df.get_column("_fast").all():
        # The common case: every line is ordinary, so there is nothing to merge.
        return df.with_columns(
            [pl.col(src).alias(name) for name, src in fast_cols.items()], _parsed=pl.lit(True)
        )
    slow = (
        pl.when(~pl.col("_fast") & (pl.col("line") != ""))
        .then(pl.col("line"))
        .str.extract_groups(_RECORD_RX)
        .alias("_rx")
    )
    df = df.with_columns(slow).unnest("_rx")
    refused = ~pl.col("_fast") & (pl.col("line") != "") & pl.col("bucket_owner").is_null()
    if df.select(refused.any()).item():
        # Lines the reference grammar refuses; some are records with an odd operation or count.
        lenient = pl.when(refused).then(pl.col("line")).str.extract_groups(_LENIENT_RX)
        df = df.with_columns(lenient.alias("_lx"))
        field = pl.col("_lx").struct.field
        df = df.with_columns(
            [
                pl.when(field("bucket_owner").is_not_null())
                .then(field(name))
                .otherwise(pl.col(name))
                .alias(name)
                for name in _RAW
            ]
        ).drop("_lx")
    df = df.with_columns(
        [
            pl.when(pl.col("_fast")).then(pl.col(src)).otherwise(pl.col(name)).alias(name)
            for name, src in fast_cols.items()
        ]
    )
    return df.with_columns(
        (pl.col("_fast") | pl.col("bucket_owner").is_not_null()).alias("_parsed")
    )


# --- typing and validation ---------------------------------------------------------------------


def _local_time() -> pl.Expr:
    return pl.col("_time").str.strptime(pl.Datetime("us"), "[%d/%b/%Y:%H:%M:%S", strict=False)


def _int_ok(c: str) -> pl.Expr:
    # The cast alone also takes "+5" and "-5"; AWS writes digits only.
    value = pl.col(c)
    return (value == "-") | (
        value.cast(ACCESS_LOG_SCHEMA[c], strict=False).is_not_null()
        & ~value.str.starts_with("+")
        & ~value.str.starts_with("-")
    )


def _time_shaped() -> pl.Expr:
    """True where field 3 is shaped like [dd/Mon/yyyy:HH:MM:SS +zzzz]: part of the structure."""
    return pl.col("_time").str.contains(_TIME_TOKEN) & pl.col("_offset").str.contains(
        _OFFSET_TOKEN
    )


def _time_problem() -> pl.Expr:
    """Why field 3 of a tokenised line is not a time (for rejects)."""
    bracketed = pl.col("_time").str.starts_with("[") & pl.col("_offset").str.ends_with("]")
    return (
        pl.when(bracketed)
        .then(
            _fmt(
                "field 3 (event_time) '{} {}' is not a [dd/Mon/yyyy:HH:MM:SS +zzzz] time",
                _shown(pl.col("_time")),
                _shown(pl.col("_offset")),
            )
        )
        .otherwise(pl.lit(_NOT_A_TIME))
    )


# Shapes of the tokens S3 itself writes after the user agent (not the client), each with "-"
# for none. A value of another shape is what a field slid out of place or a record written by
# hand looks like. Loose on purpose: real logs hold TLSV1.1 as well as TLSv1.1, and AWS adds
# cipher suites, signature versions and Regions. Not checked: client-chosen tokens (host
# header, version id) and the remote IP, which published samples redact (xxx.xxxx.xx.xxx).
_TOKEN_SHAPES: dict[str, tuple[str, str]] = {
    "host_id": (r"^(?:-|[A-Za-z0-9+/=]+)$", "a base64 extended request ID or -"),
    "signature_version": (r"^(?:-|SigV[0-9][A-Za-z0-9]*)$", "SigV2, SigV4 or -"),
    "cipher_suite": (r"^(?:-|[A-Za-z0-9_-]+)$", "a TLS cipher suite name or -"),
    "authentication_type": (r"^(?:-|[A-Z][A-Za-z]*)$", "AuthHeader, QueryString or -"),
    "tls_version": (r"^(?:-|(?i:tlsv?|sslv?)[0-9][0-9.]*)$", "a TLS version such as TLSv1.2 or -"),
    "access_point_arn": (r"^(?:-|arn:[a-z0-9-]+:s3[a-z0-9-]*:[^ ]+)$", "an access point ARN or -"),
    "source_region": (r"^(?:-|[a-z]{2,}(?:-[a-z]+)+-[0-9]+)$", "an AWS Region such as us-east-1 or -"),
}


def _value_checks() -> list[tuple[pl.Expr, pl.Expr]]:
    """(fits, anomaly) per checked field, in field order; an anomaly names the field and keeps
    its value as logged, in full."""
    checks: list[tuple[int, pl.Expr, pl.Expr]] = [
        (
            _FIELD_NO["event_time"],
            _local_time().is_not_null(),
            _fmt(
                "field 3 (event_time) '{} {}' is not a valid date and time",
                pl.col("_time"),
                pl.col("_offset"),
            ),
        ),
        (
            _FIELD_NO["operation"],
            pl.col("operation").str.contains(_OP_FULL),
            _field_reason(
                "operation", pl.col("operation"), "an operation such as REST.GET.OBJECT", full=True
            ),
        ),
    ]
    for c in _INT_FIELDS:
        expected = "a status code or -" if c == "http_status" else "a whole number or -"
        checks.append((_FIELD_NO[c], _int_ok(c), _field_reason(c, pl.col(c), expected, full=True)))
    for c, (shape, expected) in _TOKEN_SHAPES.items():
        fits = pl.col(c).str.contains(shape)
        checks.append((_FIELD_NO[c], fits, _field_reason(c, pl.col(c), expected, full=True)))
    acl = pl.col("acl_required")
    checks.append(
        (
            _FIELD_NO["acl_required"],
            acl.is_null() | acl.is_in(["Yes", "-"]),
            _field_reason("acl_required", acl, "Yes or -", full=True),
        )
    )
    for c in ("referer", "user_agent"):
        # Client-chosen text that S3 logs without escaping its quotes. A record's start inside
        # it is either two records run together or a crafted header; the line is kept either
        # way (rejecting it would let a client hide its own request), and flagged here.
        value = pl.col(c)
        holds_record = (
            pl.when(value.str.contains("[", literal=True))
            .then(value)
            .str.contains(_RECORD_START_RX)
            .fill_null(False)
        )
        checks.append(
            (
                _FIELD_NO[c],
                ~holds_record,
                pl.lit(
                    f"field {_FIELD_NO[c]} ({c}) holds text shaped like the start of another "
                    "record: two records run together, or a crafted header"
                ),
            )
        )
    return [(fits, why) for _, fits, why in sorted(checks, key=lambda check: check[0])]


def _anomalies() -> pl.Expr:
    """The "; "-joined anomalies of a tokenised line, NULL when it has none."""
    found = pl.concat_str(
        [pl.when(~ok.fill_null(True)).then(why) for ok, why in _value_checks()],
        separator="; ",
        ignore_nulls=True,
    )
    return pl.when(found != "").then(found)


def _field_reason(name: str, value: pl.Expr, expected: str, *, full: bool = False) -> pl.Expr:
    shown = value.fill_null("") if full else _shown(value)
    return _fmt(f"field {_FIELD_NO[name]} ({name}) is '{{}}', expected {expected}", shown)


def _fmt(template: str, *values: pl.Expr) -> pl.Expr:
    """`template` with each "{}" replaced by the next value (like pl.format)."""
    # pl.format panics on multi-chunk string columns in polars 2.1; concat_str does not.
    pieces = template.split("{}")
    parts: list[pl.Expr] = [pl.lit(pieces[0])]
    for value, piece in zip(values, pieces[1:], strict=True):
        parts += [value.cast(pl.String), pl.lit(piece)]
    return pl.concat_str(parts, ignore_nulls=True)


def _shown(expr: pl.Expr, width: int = 60) -> pl.Expr:
    """A field value shortened for a reject reason."""
    return (
        pl.when(expr.str.len_chars() > width)
        .then(expr.str.slice(0, width - 3) + "...")
        .otherwise(expr)
        .fill_null("")
    )


def _null_dash(name: str) -> pl.Expr:
    return pl.when(pl.col(name) != "-").then(pl.col(name)).alias(name)


_QUOTED = ("request_uri", "referer", "user_agent")


def _unescaped(name: str) -> pl.Expr:
    """A quoted field's text with each \\" read as a quote ("-" is NULL, as for any field)."""
    # S3 writes most quotes as they came, but an escaped one means a quote; the backslash before
    # it is the escape, not part of the value (render.py writes quotes the same way).
    return _null_dash(name).str.replace_all('\\"', '"', literal=True).alias(name)


def _rows(good: pl.DataFrame) -> pl.DataFrame:
    """Typed output rows (ACCESS_LOG_SCHEMA) from tokenised lines that are records."""
    offset = pl.col("_offset")
    offset_min = (
        offset.str.slice(1, 2).cast(pl.Int64) * 60 + offset.str.slice(3, 2).cast(pl.Int64)
    ) * pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    local = _local_time()
    event_time = (
        pl.when(offset == "+0000]")
        .then(local)  # the usual case; skip the arithmetic
        .otherwise(local - pl.duration(minutes=offset_min))
        .dt.replace_time_zone("UTC")
    )
    plain = [
        c
        for c in _RAW
        if c not in (*_INT_FIELDS, "_time", "_offset", "acl_required", "extra_fields")
    ]
    typed = good.select(
        event_time.alias("event_time"),
        *(
            pl.when(_int_ok(c) & (pl.col(c) != "-"))
            .then(pl.col(c).cast(ACCESS_LOG_SCHEMA[c], strict=False))
            .alias(c)
            for c in _INT_FIELDS
        ),
        pl.when(pl.col("acl_required") == "Yes")
        .then(True)
        .when(pl.col("acl_required") == "-")
        .then(False)
        .alias("acl_required"),
        *(_unescaped(c) if c in _QUOTED else _null_dash(c) for c in plain),
        pl.col("extra_fields"),
        _anomalies().alias("anomalies"),
        pl.col("evidence_id"),
        pl.col("line_no"),
    )
    return _with_object_key(typed).select(
        [pl.col(name).cast(dtype) for name, dtype in ACCESS_LOG_SCHEMA.items()]
    )


# --- rejects -----------------------------------------------------------------------------------


def _find_splices(df: pl.DataFrame) -> pl.Series:
    """Per tokenised line, the text before a second record's id, bucket and time, else null.

    A second record can start only where a field boundary can be: anywhere on a line that is no
    record, but on a record not inside its referer or user agent. Those are the client's own
    text, logged with its quotes unescaped, so a client could otherwise send a header holding
    a record's start and have its own request rejected (hidden); such a line stays a row and is
    flagged in `anomalies`. The request URI stays searched: a request line has no spaces inside
    its target, so a record's start there is a record cut short there.
    """
    # Two "[" at least (two times) before paying for the rest: a cheap literal count first.
    candidates = df.with_row_index("_i").filter(
        pl.col("line").str.count_matches("[", literal=True) >= 2
    )
    prefix = pl.Series("_splice", [None] * df.height, dtype=pl.String)
    if candidates.height == 0:
        return prefix
    found = candidates.select("_i", _splice_prefix(_search_text()).alias("_splice")).filter(
        pl.col("_splice").is_not_null()
    )
    return prefix.scatter(found["_i"], found["_splice"]) if found.height else prefix


def _search_text() -> pl.Expr:
    """The line with the text of a record's referer and user agent blanked, columns unchanged."""

    def quoted_len(c: str) -> pl.Expr:
        return pl.col(c).str.len_chars().fill_null(-1) + 2  # '-' (unquoted) is one character

    def blank(c: str) -> pl.Expr:
        return (
            pl.when(pl.col(c).is_null())
            .then(pl.lit("-"))
            .otherwise(pl.lit('"') + pl.lit("").str.pad_end(pl.col(c).str.len_chars(), "x") + '"')
        )

    # line = head + referer + " " + user_agent + " " + tail, the tail being fields 18 on.
    tail = pl.concat_str([pl.col(c) for c in _RAW[18:]], separator=" ", ignore_nulls=True)
    line = pl.col("line")
    head = line.str.len_chars() - tail.str.len_chars() - quoted_len("user_agent") - quoted_len(
        "referer"
    ) - 2
    masked = pl.concat_str(
        [line.str.slice(0, head), blank("referer"), pl.lit(" "), blank("user_agent"), pl.lit(" "),
         tail]
    )
    return pl.when(pl.col("_parsed")).then(masked).otherwise(line)


def _splice_prefix(line: pl.Expr) -> pl.Expr:
    """The text before a second record's id, bucket and time, or null when there is none."""
    return line.str.extract(_SPLICE_RX, 1)


def _splice_reason(prefix: pl.Expr) -> pl.Expr:
    # The second record starts a new field after a space; glued onto a token, or inside a quote
    # left open, it starts inside the field the prefix ends in.
    inside_quote = (prefix.str.count_matches('"', literal=True) % 2) == 1
    new_field = prefix.str.ends_with(" ") & ~inside_quote
    field_no = prefix.str.count_matches(_TOKEN_RX) + new_field.cast(pl.Int64)
    return _fmt(
        "two records run together: a second record starts at field {} (column {})",
        field_no,
        prefix.str.len_chars() + 1,
    )


def _rejects(bad: pl.DataFrame) -> pl.DataFrame:
    """Rejects (REJECT_SCHEMA) for lines that are not records, with the first reason that applies."""
    if bad.height == 0:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    bad = bad.rechunk()  # small; and several string kernels misbehave on multi-chunk columns
    tokens = pl.col("line").str.extract_all(_TOKEN_RX)
    # A requester with spaces spans several tokens; find the operation to realign later fields.
    op_hits = tokens.list.slice(6, 8).list.eval(pl.element().str.contains(_OP_FULL))
    shift = pl.when(op_hits.list.any()).then(op_hits.list.arg_max()).otherwise(0)
    bad = bad.with_columns(tokens.alias("_tok"), shift.cast(pl.Int64).alias("_shift"))
    # Each reason is computed as a column of its own before choosing between them: nesting these
    # expressions inside one when/then chain makes polars 2.1 panic on some batches.
    bad = bad.with_columns(
        _splice_reason(pl.col("_splice")).alias("_why_splice"),
        _time_problem().alias("_why_field"),
        _layout_problem().alias("_why_layout"),
    )
    reason = (
        pl.when(pl.col("line") == "")
        .then(pl.lit("blank line"))
        .when(pl.col("_splice").is_not_null())
        .then(pl.col("_why_splice"))
        .when(pl.col("_parsed"))
        .then(pl.col("_why_field"))
        .otherwise(pl.col("_why_layout"))
    )
    return bad.select(
        pl.col("evidence_id"),
        pl.col("line_no"),
        pl.lit(None, pl.Int64).alias("record_no"),
        pl.col("line").alias("raw"),
        reason.alias("reason"),
    ).cast(REJECT_SCHEMA)  # type: ignore[arg-type]


def _layout_problem() -> pl.Expr:
    """Why a line does not fit the record layout, from its tokens (`_tok`, `_shift`)."""
    line = pl.col("line")
    n = pl.col("_tok").list.len() - pl.col("_shift")
    quotes = line.str.count_matches('"', literal=True) - line.str.count_matches('\\"', literal=True)

    def field(no: int) -> pl.Expr:
        index = pl.lit(no - 1, pl.Int64) + (pl.col("_shift") if no >= 6 else 0)
        return pl.col("_tok").list.get(index, null_on_oob=True)

    def bad_field(no: int, ok: pl.Expr, expected: str) -> tuple[pl.Expr, pl.Expr]:
        return ~ok.fill_null(True), _field_reason(_FIELDS[no - 1], field(no), expected)

    def quoted_or_dash(no: int) -> pl.Expr:
        return (field(no) == "-") | field(no).str.contains(r'^".*"$')

    def number_or_dash(no: int) -> pl.Expr:
        return field(no).str.contains(f"^(?:{_NUM})$")

    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (n < 3, _fmt("not an access log record: {} field(s), a record has at least 18", n)),
        (
            ~field(3).str.contains(_TIME_FIELD).fill_null(False),
            pl.lit(_NOT_A_TIME),
        ),
        (
            quotes % 2 == 1,
            pl.lit(
                'unterminated quoted field: a " opens a value that never closes (line cut short?)'
            ),
        ),
        (n < _MIN_FIELDS, _fmt("truncated record: {} fields, a record has at least 18", n)),
        (
            line.str.starts_with(" ")
            | line.str.replace_all(r'"[^"]*"', '""').str.contains("  ", literal=True),
            pl.lit(
                "empty field: a leading space or two spaces in a row "
                "(fields are separated by exactly one space)"
            ),
        ),
        bad_field(7, field(7).str.contains(_OP_FULL), "an operation such as REST.GET.OBJECT"),
        bad_field(9, quoted_or_dash(9), 'a quoted request line ("GET /key HTTP/1.1") or -'),
        bad_field(10, number_or_dash(10), "a status code or -"),
        *(bad_field(no, number_or_dash(no), "a whole number or -") for no in (12, 13, 14, 15)),
        bad_field(16, quoted_or_dash(16), "a quoted referer or -"),
        bad_field(17, quoted_or_dash(17), "a quoted user agent or -"),
    ]
    return _first_of(
        checks,
        pl.lit("not an access log record: the fields do not follow the server access log layout"),
    )


def _first_of(checks: list[tuple[pl.Expr, pl.Expr]], default: pl.Expr) -> pl.Expr:
    """The value of the first (condition, value) pair whose condition holds, else `default`."""
    chain: Any = pl  # pl.when(...) starts the chain, .when(...) continues it
    for condition, value in checks:
        chain = chain.when(condition).then(value)
    return cast(pl.Expr, chain.otherwise(default))


# --- keys --------------------------------------------------------------------------------------


def _with_object_key(rows: pl.DataFrame) -> pl.DataFrame:
    """Add `object_key`: `key` URL-decoded once for S3's own actions, twice for requests."""
    rows = rows.with_columns(pl.col("key").alias("object_key"))
    encoded = rows.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"),
        pl.col("key"),
        # S3's own actions and per-key batch-delete lines (keys from the request body, not the
        # URL) are logged form-encoded once (a space as +, a + as %2B: a real log shows the macOS
        # name "Screen Shot ... AM.png" as Screen+Shot+...+AM.png); other requests log the
        # encoded request path encoded again.
        (pl.col("operation").str.starts_with("S3.") | (pl.col("operation") == "BATCH.DELETE.OBJECT"))
        .alias("_once"),
    ).filter(
        pl.col("key").str.contains("%", literal=True)
        | (pl.col("_once") & pl.col("key").str.contains("+", literal=True))
    )
    if encoded.height == 0:
        return rows
    decoded = _url_decode(encoded)
    object_key = rows.get_column("object_key").clone()
    return rows.with_columns(object_key.scatter(decoded["_i"], decoded["object_key"]))


def _url_decode(encoded: pl.DataFrame) -> pl.DataFrame:
    """Decode `key` once as a form (`_once`: + is a space) or percent-decode it twice."""
    con = _duckdb_cursor()
    try:
        with interruptible():  # Ctrl-C here is a KeyboardInterrupt, not DuckDB's RuntimeError
            con.register("enc", encoded.to_arrow())
            out = con.sql(
                "SELECT _i, key, _once, CASE WHEN _once THEN try(url_decode(replace(key, '+', ' '))) "
                "ELSE try(url_decode(try(url_decode(key)))) END AS object_key FROM enc"
            ).pl()
    finally:
        con.close()
    failed = out.filter(pl.col("object_key").is_null())
    if failed.height:
        # Invalid UTF-8 after decoding: rare, so a Python pass over just these keys is fine.
        fixed = [
            _best_effort_unquote(k.replace("+", " "), 1) if once else _best_effort_unquote(k, 2)
            for k, once in zip(failed["key"], failed["_once"], strict=True)
        ]
        where = out.with_row_index("_r").filter(pl.col("object_key").is_null())["_r"]
        object_key = out.get_column("object_key").clone()
        out = out.with_columns(object_key.scatter(where, pl.Series(fixed, dtype=pl.String)))
    return out.select("_i", pl.col("object_key").cast(pl.String))


_DUCKDB: Any = None


def _duckdb_cursor() -> Any:
    """A cursor on a private in-memory DuckDB (url_decode); one cursor per call is thread-safe."""
    global _DUCKDB
    if _DUCKDB is None:
        import duckdb  # deferred: only batches with encoded keys pay for loading it

        _DUCKDB = duckdb.connect(":memory:")
    return _DUCKDB.cursor()


def _best_effort_unquote(text: str, times: int) -> str:
    """Percent-decode `text`; bytes that are not UTF-8 stay as their %XX escapes."""
    for _ in range(times):
        raw = unquote_to_bytes(text).decode("utf-8", "surrogateescape")
        text = "".join(
            f"%{ord(ch) - 0xDC00:02X}" if 0xDC80 <= ord(ch) <= 0xDCFF else ch for ch in raw
        )
    return text
