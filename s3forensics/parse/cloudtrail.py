"""Parse CloudTrail objects into typed rows: S3-delivered files, JSON lines, lookup-events output.

The hot path is one DuckDB query per batch (each call opens its own in-memory connection): DuckDB's
JSON functions split each document into records and decode every record once against a fixed
structure, on all cores. A fixed structure means no schema inference: keys first seen late are
never dropped, and a path that is an object in one record and a string in another decodes as JSON
text instead of failing. Python only looks at the first KB of each object (to tell its layout) and
at what failed (to say why).
"""

from __future__ import annotations

import json
import os
import re
import zlib
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import duckdb
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from ..errors import InputError
from ..schema import CLOUDTRAIL_EVENTS, CLOUDTRAIL_REPEAT_KEY
from .common import REJECT_SCHEMA, ParseResult, decompress, interruptible, read_object

__all__ = [
    "CLOUDTRAIL_SCHEMA",
    "MAX_CLOUDTRAIL_BYTES",
    "MAX_RECORD_BYTES",
    "CloudTrailParseResult",
    "parse_cloudtrail",
    "parse_cloudtrail_bytes",
    "parse_cloudtrail_file",
    "sniff_cloudtrail",
]

_S = pl.String()
_B = pl.Boolean()
_I = pl.Int64()

#: Columns of a parsed CloudTrail record, in order.
CLOUDTRAIL_SCHEMA: dict[str, pl.DataType] = CLOUDTRAIL_EVENTS.polars_schema()

# What a decoded record looks like to DuckDB. "VARCHAR" yields an object's JSON text when a record
# has an object there; "JSON" keeps a value as JSON text whatever its type.
_V = "VARCHAR"
_STRUCTURE = json.dumps(
    {
        "eventTime": _V,
        "eventID": _V,
        "eventName": _V,
        "eventSource": _V,
        "eventType": _V,
        "eventCategory": _V,
        "eventVersion": _V,
        "awsRegion": _V,
        "sourceIPAddress": _V,
        "userAgent": _V,
        "userIdentity": {
            "type": _V,
            "arn": _V,
            "principalId": _V,
            "accountId": _V,
            "accessKeyId": _V,
            "userName": _V,
            "invokedBy": _V,
            "sessionContext": {
                "sessionIssuer": {"arn": _V, "userName": _V},
                "attributes": {"mfaAuthenticated": _V},
            },
        },
        "recipientAccountId": _V,
        "requestID": _V,
        "sharedEventID": _V,
        "readOnly": _V,
        "managementEvent": _V,
        "errorCode": _V,
        "errorMessage": _V,
        "vpcEndpointId": _V,
        "tlsDetails": {"tlsVersion": _V},
        # Insights events name the API call they are about only here.
        "insightDetails": {"eventName": _V, "eventSource": _V},
        "requestParameters": "JSON",
        "responseElements": "JSON",
        "additionalEventData": "JSON",
        "resources": "JSON",
    },
    separators=(",", ":"),
)

# Internal object kinds. Documents are parsed whole; line kinds are split on newlines first.
#   records        S3-delivered {"Records": [...]}
#   events         aws cloudtrail lookup-events output, {"Events": [{"CloudTrailEvent": "..."}]}
#   array-records  a bare JSON array of records; array-events: of lookup-events items
#   single         one record pretty-printed over many lines (e.g. copied from the console)
#   lines          one record per line; lookup-lines: one lookup-events item per line
_LINE_KINDS = ("lines", "lookup-lines")
# Kinds whose items carry the record as a JSON string in CloudTrailEvent.
_WRAPPED_KINDS = ("events", "array-events", "lookup-lines")
_PUBLIC_KIND = {
    "records": "records", "array-records": "records",
    "events": "lookup-events", "array-events": "lookup-events", "lookup-lines": "lookup-events",
    "lines": "ndjson", "single": "ndjson", "digest": "digest",
}  # fmt: skip

_HEAD_BYTES = 16384  # how much of an object the layout is judged from

#: The largest CloudTrail object (decompressed) that is parsed; a larger one is an error naming
#: it. Decoding holds a few copies of an object's records beside DuckDB's buffer pool; measured
#: whole-ingest peaks for one object of ordinary records: 48 MiB 0.77 GB, 64 MiB 0.90 GB (one
#: record per line: 1.03 GB), 120 MiB 1.37 GB, 250 MiB 1.82 GB, against a 1.5 GiB promise.
#: AWS delivers CloudTrail files of a few MB.
MAX_CLOUDTRAIL_BYTES = 64 * 1024 * 1024
#: The longest record (in bytes of JSON) that is decoded. CloudTrail records are a few KB and
#: AWS bounds an event well under this; a longer one is a reject whose raw keeps its first
#: RAW_KEPT_BYTES, so one hostile record cannot cost its size many times over in the decoder.
MAX_RECORD_BYTES = 1024 * 1024
#: How much of an overlong record its reject keeps as raw.
RAW_KEPT_BYTES = 4096
# Documents that yield no records are explained by Python's JSON reader, which holds a parsed
# document as objects many times its size; larger ones get a shorter answer.
_DIAGNOSE_BYTES = 8 * 1024 * 1024
# DuckDB's buffer pool for one parse (see _run_query).
_PARSE_MEMORY = "512MB"
_FIRST_KEY = re.compile(r'\{\s*"((?:[^"\\]|\\.)*)"\s*:')
_EVENT_KEY = re.compile(r'"(?:eventTime|eventVersion|eventID|eventName|eventSource)"\s*:')
_LOOKUP_KEY = re.compile(r'"(?:CloudTrailEvent|EventId)"\s*:')
_DIGEST_KEY = re.compile(
    r'"(?:digestStartTime|digestEndTime|digestS3Object|digestPublicKeyFingerprint)"\s*:'
)

# One Arrow table per group of kinds, so that no scan filters on kind: a filter pushed into the
# Arrow scan copies every document. Documents that yield no records here (empty, truncated, not
# JSON) are looked at afterwards in Python, which keeps the hot path a plain unnest. Line-delimited
# objects are split into lines by Arrow beforehand, many times faster than string_split + unnest.
_KIND_TABLES = {
    "records": "objs_records",
    "events": "objs_events",
    "array-records": "objs_arrays",
    "array-events": "objs_arrays",
    "single": "objs_single",
    "lines": "objs_lines",
    "lookup-lines": "objs_lines",
    "records-split": "objs_split",
}
_SQL = f"""
WITH
doc_lists AS (
    SELECT obj_no, evidence_id, kind, try(json_extract(content, '$.Records[*]')) AS items
    FROM objs_records
    UNION ALL
    SELECT obj_no, evidence_id, kind, try(json_extract(content, '$.Events[*]')) FROM objs_events
    UNION ALL
    SELECT obj_no, evidence_id, kind, try(json_extract(content, '$[*]')) FROM objs_arrays
),
items AS (
    SELECT obj_no, evidence_id, kind, NULL::BIGINT AS line_no,
        generate_subscripts(items, 1)::BIGINT AS record_no, unnest(items)::VARCHAR AS item
    FROM doc_lists
    UNION ALL
    SELECT obj_no, evidence_id, kind, NULL, 1, content
    FROM objs_single WHERE json_valid(content)
    UNION ALL
    -- Records of a Records file split as text: each after the first still starts with its comma.
    SELECT obj_no, evidence_id, kind, NULL, record_no,
        CASE WHEN record_no = 1 THEN item ELSE ltrim(item, ',') END
    FROM objs_split
    UNION ALL
    -- Lines arrive split already; record_no (rank among non-blank lines) is numbered afterwards.
    SELECT obj_no, evidence_id, kind, line_no, NULL, item FROM objs_lines
),
sized AS (
    -- A record longer than MAX_RECORD_BYTES is not decoded: it becomes a reject (see resolved).
    SELECT *, strlen(item) > {MAX_RECORD_BYTES} AS too_long FROM items
),
unwrapped AS (
    SELECT *,
        CASE WHEN too_long THEN NULL
            WHEN kind IN {_WRAPPED_KINDS} THEN try(json_extract_string(item, '$.CloudTrailEvent'))
            ELSE item END AS rec
    FROM sized
),
decoded AS (
    SELECT *, try(from_json(rec, '{_STRUCTURE}')) AS s FROM unwrapped
),
typed AS (
    SELECT *,
        s.userIdentity AS ui,
        try_cast(s.eventTime AS TIMESTAMPTZ) AS event_time,
        -- S3 on Outposts events spell the key `Key`.
        json_extract_string(s.requestParameters, ['$.bucketName', '$.key', '$.Key']) AS rp,
        json_extract_string(s.additionalEventData,
            ['$.bytesTransferredIn', '$.bytesTransferredOut', '$."x-amz-id-2"', '$.xAmzId2']
        ) AS ad
    FROM decoded
),
resolved AS (
    SELECT *,
        -- Nested CASEs, not ANDs: the JSON checks then run only on the few rows that fail.
        CASE
            WHEN too_long THEN 'record too long: ' || format('{{:,}}', strlen(item))
                || ' bytes, over the {MAX_RECORD_BYTES:,} a record may have (MAX_RECORD_BYTES); '
                || 'raw keeps its first {RAW_KEPT_BYTES:,} bytes'
            WHEN rec IS NULL THEN CASE
                WHEN NOT json_valid(item) THEN 'invalid-json'
                ELSE 'no CloudTrailEvent: a lookup-events item must carry the record as a JSON '
                    || 'string in CloudTrailEvent' END
            WHEN s IS NULL THEN CASE
                WHEN json_valid(rec) THEN 'record is not a JSON object (got null)'
                WHEN kind IN {_WRAPPED_KINDS} THEN 'invalid-wrapped-json'
                ELSE 'invalid-json' END
            WHEN s.eventTime IS NULL THEN CASE
                WHEN json_type(rec) <> 'OBJECT'
                    THEN 'record is not a JSON object (got ' || _json_kind(json_type(rec)) || ')'
                ELSE 'record has no eventTime' END
            WHEN event_time IS NULL THEN 'eventTime ' || to_json(s.eventTime)
                || ' is not an ISO-8601 timestamp such as 2024-05-01T12:00:00Z'
        END AS reason,
        CASE WHEN rp[1] IS NULL OR coalesce(rp[2], rp[3]) IS NULL THEN
            list_transform(
                from_json(s.resources, '[{{"type":"VARCHAR","ARN":"VARCHAR"}}]'),
                lambda r: {{'type': r.type,
                    'bucket': nullif(regexp_extract(r.ARN, '^arn:[^:]*:s3:::([^/]+)', 1), ''),
                    'key': nullif(regexp_extract(r.ARN, '^arn:[^:]*:s3:::[^/]+/(.+)$', 1), '')}}
            )
        END AS arns
    FROM typed
)
SELECT
    event_time,
    s.eventID AS event_id,
    coalesce(s.eventName, s.insightDetails.eventName) AS event_name,
    coalesce(s.eventSource, s.insightDetails.eventSource) AS event_source,
    s.eventType AS event_type,
    s.eventCategory AS event_category,
    s.eventVersion AS event_version,
    s.awsRegion AS aws_region,
    s.sourceIPAddress AS source_ip,
    s.userAgent AS user_agent,
    ui.type AS identity_type,
    ui.arn AS principal_arn,
    ui.principalId AS principal_id,
    ui.accountId AS account_id,
    ui.accessKeyId AS access_key_id,
    coalesce(ui.userName, CASE
        WHEN ui.type = 'AssumedRole' OR (ui.type IS NULL AND ui.arn LIKE 'arn:%:assumed-role/%')
        THEN ui.sessionContext.sessionIssuer.userName END) AS user_name,
    ui.sessionContext.sessionIssuer.arn AS session_issuer_arn,
    _bool(ui.sessionContext.attributes.mfaAuthenticated) AS session_mfa,
    ui.invokedBy AS invoked_by,
    s.recipientAccountId AS recipient_account_id,
    s.requestID AS request_id,
    s.sharedEventID AS shared_event_id,
    _bool(s.readOnly) AS read_only,
    _bool(s.managementEvent) AS management_event,
    s.errorCode AS error_code,
    s.errorMessage AS error_message,
    coalesce(rp[1],
        list_filter(arns, lambda a: a.type = 'AWS::S3::Bucket')[1].bucket,
        list_filter(arns, lambda a: a.type = 'AWS::S3::Object')[1].bucket) AS bucket,
    coalesce(rp[2], rp[3], list_filter(arns, lambda a: a.type = 'AWS::S3::Object')[1].key)
        AS object_key,
    _int(ad[1]) AS bytes_in,
    _int(ad[2]) AS bytes_out,
    coalesce(ad[3], ad[4]) AS x_amz_id_2,
    s.vpcEndpointId AS vpc_endpoint_id,
    s.tlsDetails.tlsVersion AS tls_version,
    s.requestParameters::VARCHAR AS request_parameters,
    s.responseElements::VARCHAR AS response_elements,
    s.additionalEventData::VARCHAR AS additional_event_data,
    s.resources::VARCHAR AS resources,
    CASE WHEN reason IS NULL THEN rec WHEN too_long THEN left(item, {RAW_KEPT_BYTES}) ELSE item END
        AS raw,
    evidence_id,
    record_no,
    line_no,
    obj_no,
    reason
FROM resolved
"""

_MACROS = r"""
SET TimeZone = 'UTC';
-- Hand strings over as Arrow string views, the layout polars keeps them in.
SET arrow_output_version = '1.4';
SET produce_arrow_string_view = true;
CREATE TEMP MACRO _bool(v) AS CASE lower(trim(v)) WHEN 'true' THEN true WHEN 'false' THEN false END;
CREATE TEMP MACRO _json_kind(t) AS CASE t
    WHEN 'ARRAY' THEN 'an array' WHEN 'VARCHAR' THEN 'a string' WHEN 'BOOLEAN' THEN 'a boolean'
    WHEN 'NULL' THEN 'null' ELSE 'a number' END;
-- Integers may arrive as 1024, 1024.0 or "1024"; a fractional count is not a count, so NULL.
CREATE TEMP MACRO _int(v) AS CASE
    WHEN regexp_full_match(v, '\s*[-+]?[0-9]+\s*') THEN try_cast(trim(v) AS BIGINT)
    WHEN try_cast(v AS DOUBLE) = trunc(try_cast(v AS DOUBLE))
        THEN try_cast(try_cast(v AS DOUBLE) AS BIGINT)
END;
"""


@dataclass(frozen=True)
class CloudTrailParseResult(ParseResult):
    """A ParseResult that also says which objects the dropped duplicates came from."""

    #: evidence_id -> records of that object dropped as duplicates (objects with none are absent).
    duplicates_by_evidence: dict[str, int] = field(default_factory=dict)


def sniff_cloudtrail(sample: bytes) -> str | None:
    """Name the CloudTrail layout of a sample: records, ndjson, lookup-events, digest or None."""
    if sample[:2] == b"\x1f\x8b":
        # A gzip prefix decompresses as far as it goes; enough to see the first keys.
        try:
            sample = zlib.decompressobj(wbits=31).decompress(sample, _HEAD_BYTES)
        except zlib.error:
            return None
    text = sample[:_HEAD_BYTES].decode("utf-8", errors="ignore")
    kind = _classify(text.lstrip("\ufeff \t\r\n"))
    return None if kind is None else _PUBLIC_KIND[kind]


def parse_cloudtrail(
    objects: Iterable[tuple[str, bytes]], *, errors: Literal["raise", "collect"] = "raise"
) -> CloudTrailParseResult:
    """Parse a batch of CloudTrail objects `(evidence_id, content)` into rows and rejects.

    An object that cannot be read as a whole (truncated JSON, a digest file, not CloudTrail)
    raises InputError naming it when `errors="raise"`; with `errors="collect"` it becomes one
    reject with NULL line_no and record_no, and the rest of the batch still loads.
    """
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect', not {errors!r}")
    failures: list[tuple[int, str, str]] = []  # obj_no, evidence_id, problem

    def fail(obj_no: int, evidence_id: str, problem: str) -> None:
        if errors == "raise":
            raise InputError(evidence_id, problem)
        failures.append((obj_no, evidence_id, problem))

    prepared: list[_Object] = []
    for obj_no, (evidence_id, data) in enumerate(objects):
        try:
            kind, data = _prepare(evidence_id, data)
        except InputError as exc:
            fail(obj_no, evidence_id, exc.problem)
            continue
        if kind is not None:
            prepared.append(_Object(obj_no, evidence_id, kind, data))

    bad_lines: list[tuple[int, int, str]] = []  # obj_no, line_no, raw of lines not UTF-8
    batches: list[tuple[str, pa.RecordBatch]] = []  # kind, batch
    documents: dict[int, pa.RecordBatch] = {}  # Records files split as text, as whole documents
    for obj in prepared:
        batch = _as_batch(obj)
        if batch is None:
            # Rare: not UTF-8. Damaged lines become rejects; a damaged document is unusable.
            if obj.kind not in _LINE_KINDS:
                fail(obj.obj_no, obj.evidence_id, _not_utf8(obj.data))
                continue
            data, bad = _blank_bad_lines(obj.data)
            bad_lines.extend((obj.obj_no, line_no, raw) for line_no, raw in bad)
            batch = _as_batch(obj._replace(data=data))
            assert batch is not None, "every line not UTF-8 was blanked"
        records = _split_records(obj) if obj.kind == "records" else None
        if records is None:
            batches.append((obj.kind, batch))
        else:
            batches.append(("records-split", records))
            documents[obj.obj_no] = batch  # kept in case the split turns out wrong

    out = _order(_query_or_fail(batches, fail)) if batches else None
    if out is not None:
        # A Records file whose text split left a piece that is not a record is read again as one
        # document: the split was wrong (or the file is damaged, which the document read tells).
        # (A record too long to decode is not a sign of a wrong split: it is one either way.)
        bad_split = (
            pl.col("reason").is_not_null()
            & ~pl.col("reason").str.starts_with("record too long")
            & pl.col("obj_no").is_in(list(documents))
        )
        failed = out.filter(bad_split).get_column("obj_no").unique().to_list() if documents else []
        if failed:
            again = _query_or_fail([("records", documents[obj_no]) for obj_no in failed], fail)
            kept = out.filter(~pl.col("obj_no").is_in(failed))
            out = _order(pl.concat([kept, again], how="vertical_relaxed"))
        # A document that yielded nothing is empty, or unusable as a whole: find out which.
        seen = set(out["obj_no"].unique().to_list()) | {obj_no for obj_no, _, _ in failures}
        for obj in prepared:
            if obj.obj_no not in seen and obj.kind not in _LINE_KINDS:
                problem = (
                    _diagnose(obj.data.decode("utf-8", errors="replace"))
                    if len(obj.data) <= _DIAGNOSE_BYTES
                    else f"no CloudTrail records could be read from this {len(obj.data):,}-byte "
                    "document (not valid JSON, or not laid out as CloudTrail writes it)"
                )
                if problem is not None:
                    fail(obj.obj_no, obj.evidence_id, problem)
    return _assemble(out, failures, bad_lines)


def parse_cloudtrail_bytes(data: bytes, *, evidence_id: str = "<bytes>") -> CloudTrailParseResult:
    """Parse one CloudTrail object given as bytes (gzip or plain)."""
    return parse_cloudtrail([(evidence_id, decompress(data, where=evidence_id))])


def parse_cloudtrail_file(
    path: str | Path, *, evidence_id: str | None = None
) -> CloudTrailParseResult:
    """Parse one CloudTrail file (`.json.gz` or `.json`); evidence_id defaults to the path."""
    data = read_object(path)
    return parse_cloudtrail([(str(path) if evidence_id is None else evidence_id, data)])


# --------------------------------------------------------------------------- internals


class _Object(NamedTuple):
    """One object of a batch, ready for the query."""

    obj_no: int  # position in the batch
    evidence_id: str
    kind: str
    data: bytes  # decompressed, without a byte order mark


def _classify(head: str) -> str | None:
    """Internal kind of an object from its first few KB of text (leading whitespace stripped)."""
    match = _FIRST_KEY.match(head)
    first_key = match.group(1) if match else None
    if head.startswith("{") and first_key == "Records":
        return "records"
    if head.startswith("{") and first_key == "Events":
        return "events"
    lines = [line.strip() for line in head.split("\n")]
    if _DIGEST_KEY.search(head) and not _EVENT_KEY.search(lines[0]):
        return "digest"
    if head.startswith("[") and (sum(map(bool, lines)) == 1 or not lines[0].endswith("]")):
        # One JSON array, on one line or pretty-printed; not an array on the first of many lines.
        return "array-events" if _LOOKUP_KEY.search(head) else "array-records"
    if _LOOKUP_KEY.search(head):
        return "lookup-lines"
    if not _EVENT_KEY.search(head):
        return None
    following = [line for line in lines[1:] if line]
    if (
        lines[0].startswith("{")
        and not lines[0].endswith("}")
        and following
        and not following[0].startswith("{")
    ):
        # A record pretty-printed over many lines (e.g. copied from the console): one document.
        return "single"
    return "lines"


def _prepare(evidence_id: str, data: bytes) -> tuple[str | None, bytes]:
    """Kind and content of one object; None for an empty object, InputError when unusable."""
    data = decompress(data, where=evidence_id)
    if len(data) > MAX_CLOUDTRAIL_BYTES:
        raise InputError(
            evidence_id,
            f"{len(data):,} bytes of CloudTrail JSON, more than the {MAX_CLOUDTRAIL_BYTES:,} one "
            "object may have (MAX_CLOUDTRAIL_BYTES); split it into smaller files to load it",
        )
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, e.g. from PowerShell
        data = data[3:]
    head = data[:_HEAD_BYTES].decode("utf-8", errors="ignore").lstrip(" \t\r\n")
    if not head:
        if data.strip():
            raise InputError(evidence_id, "not UTF-8 text, so not a CloudTrail JSON file")
        return None, b""  # an empty object holds no records
    kind = _classify(head)
    if kind == "digest":
        raise InputError(
            evidence_id,
            "CloudTrail digest file, not event records (digests are for integrity validation)",
        )
    if kind is None:
        raise InputError(
            evidence_id,
            'not CloudTrail JSON: expected {"Records": [...]}, one record per line, or the '
            f"output of aws cloudtrail lookup-events; it starts with {head[:40]!r}",
        )
    return kind, data


def _not_utf8(data: bytes) -> str:
    """Where a document stops being UTF-8, for an error message."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (bad byte at offset {exc.start})"
    return "not UTF-8 text"


def _blank_bad_lines(data: bytes) -> tuple[bytes, list[tuple[int, str]]]:
    """Replace each line that is not UTF-8 with a placeholder; return the lines apart."""
    # Recovery path for a damaged object only, so a per-line loop is acceptable here.
    lines = data.split(b"\n")
    bad: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append((i + 1, line.decode("utf-8", errors="backslashreplace")))
            # Non-blank so that record numbering still counts it; it ends up as a reject.
            lines[i] = b'"not UTF-8"'
    return b"\n".join(lines), bad


_DOC_SCHEMA = pa.schema(
    [
        ("obj_no", pa.int64()),
        ("evidence_id", pa.string()),
        ("kind", pa.string()),
        ("content", pa.large_string()),
    ]
)
_SPLIT_SCHEMA = pa.schema(
    [
        ("obj_no", pa.int64()),
        ("evidence_id", pa.string()),
        ("kind", pa.string()),
        ("record_no", pa.int64()),
        ("item", pa.large_string()),
    ]
)
_LINES_SCHEMA = pa.schema(
    [
        ("obj_no", pa.int64()),
        ("evidence_id", pa.string()),
        ("kind", pa.string()),
        ("line_no", pa.int64()),
        ("item", pa.large_string()),
    ]
)


def _as_batch(obj: _Object) -> pa.RecordBatch | None:
    """An object as Arrow: one row for a document, one per non-blank line; None if not UTF-8."""
    # Wrapping the bytes instead of copying them into one big array saves a pass over memory,
    # and one batch per object lets DuckDB spread the objects over its threads.
    offsets = _int64s([0, len(obj.data)]).buffers()[1]
    content = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(obj.data)])
    try:
        content.validate(full=True)  # checks UTF-8
    except pa.ArrowInvalid:
        return None
    if obj.kind not in _LINE_KINDS:
        return pa.RecordBatch.from_arrays(
            [_int64s([obj.obj_no]), _strings(obj.evidence_id), _strings(obj.kind), content],
            schema=_DOC_SCHEMA,
        )  # fmt: skip
    lines = pc.list_flatten(pc.split_pattern(content, "\n"))
    if b"\r" in obj.data:  # Windows line ends
        lines = pc.utf8_rtrim(lines, characters="\r")
    non_blank = pc.match_substring_regex(lines, r"\S")
    line_no = pc.add(pc.indices_nonzero(non_blank).cast(pa.int64()), _int64(1))
    n = len(line_no)
    return pa.RecordBatch.from_arrays(
        [
            _repeat(_int64s([obj.obj_no]), n),
            _repeat(_strings(obj.evidence_id), n),
            _repeat(_strings(obj.kind), n),
            line_no,
            lines.filter(non_blank),
        ],
        schema=_LINES_SCHEMA,
    )


_RECORD_HEAD = '{"eventVersion":'
_RECORD_SEP = "}," + _RECORD_HEAD
_RECORDS_OPEN = ('{"Records":[' + _RECORD_HEAD).encode()


def _split_records(obj: _Object) -> pa.RecordBatch | None:
    """The records of a compact {"Records": [...]} file as slices of its bytes, or None.

    CloudTrail writes each record as compact JSON that starts with eventVersion, with a comma
    between records, so the file splits where `},{"eventVersion":` occurs: no JSON parse of the
    whole file, and each record keeps its exact bytes as `raw`. That text cannot occur inside a
    JSON string (its quotes would be escaped); where it occurs inside a record (a nested object
    with that key), the pieces on either side are not valid JSON, and parse_cloudtrail reads the
    object again as a whole document. Every record after the first starts with its comma, which
    the query drops (Arrow strings here are contiguous slices). Call it on UTF-8 text only.
    """
    data = obj.data
    start = len(data) - len(data.lstrip())
    end = len(data.rstrip())
    if not data.startswith(_RECORDS_OPEN, start) or data[end - 3 : end] != b"}]}":
        return None  # pretty-printed, empty, or not as CloudTrail writes it: parse the document
    body_start = start + len(_RECORDS_OPEN) - len(_RECORD_HEAD)
    body_end = end - 2
    buffer = pa.py_buffer(data)
    body = pa.Array.from_buffers(
        pa.large_string(), 1, [None, _int64s([body_start, body_end]).buffers()[1], buffer]
    )
    lengths = pc.binary_length(pc.list_flatten(pc.split_pattern(body, _RECORD_SEP)))
    n = len(lengths)
    # Piece k+1 starts len(piece k) + len(separator) after piece k; record k+1 (with its comma)
    # starts one character after the closing brace of record k, i.e. at the separator's comma.
    after = pc.cumulative_sum(pc.add(lengths.slice(0, n - 1), _int64(len(_RECORD_SEP))))
    inner = pc.add(after, _int64(body_start + 1 - len(_RECORD_SEP)))
    offsets = pa.concat_arrays([_int64s([body_start]), inner, _int64s([body_end])])
    items = pa.Array.from_buffers(pa.large_string(), n, [None, offsets.buffers()[1], buffer])
    return pa.RecordBatch.from_arrays(
        [
            _repeat(_int64s([obj.obj_no]), n),
            _repeat(_strings(obj.evidence_id), n),
            _repeat(_strings("records-split"), n),
            _int64s(range(1, n + 1)),
            items,
        ],
        schema=_SPLIT_SCHEMA,
    )


# Arrow arrays are built from buffers, and compute functions get Arrow scalars: pa.array,
# pa.scalar, Array.to_numpy and a Python number passed to a compute function import pandas on
# first use, 1.5 s of a CloudTrail ingest here (issue 15); numpy is not a dependency.
def _int64s(values: Iterable[int]) -> pa.Array:
    """An int64 Arrow array of the values."""
    data = array("q", values)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def _int64(value: int) -> pa.Scalar:
    """An int64 Arrow scalar."""
    return _int64s([value])[0]


def _strings(value: str) -> pa.Array:
    """A string Arrow array of the one value."""
    data = value.encode()
    return pa.Array.from_buffers(
        pa.string(), 1, [None, pa.py_buffer(array("i", [0, len(data)])), pa.py_buffer(data)]
    )


def _repeat(one: pa.Array, n: int) -> pa.Array:
    """The value of a one-value array, n times."""
    return pc.take(one, pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(bytes(8 * n))]))


def _run_query(batches: list[tuple[str, pa.RecordBatch]]) -> pl.DataFrame:
    """Run the split-and-decode query over the objects' batches."""
    grouped: dict[str, list[pa.RecordBatch]] = {name: [] for name in _KIND_TABLES.values()}
    for kind, batch in batches:
        grouped[_KIND_TABLES[kind]].append(batch)
    # A bounded buffer pool: parsing is streaming work, and ingest must stay well under 1.5 GiB.
    # Half the cores: ingest loads the previous batch into the case while this one parses, and
    # the two oversubscribing the machine was measured 1.4x slower than splitting it.
    con = duckdb.connect(
        ":memory:", config={"memory_limit": _PARSE_MEMORY, "threads": _half_the_cores()}
    )
    try:
        with interruptible():  # Ctrl-C here is a KeyboardInterrupt, not DuckDB's RuntimeError
            con.execute(_MACROS)
            for name, group in grouped.items():
                schema = {"objs_lines": _LINES_SCHEMA, "objs_split": _SPLIT_SCHEMA}.get(
                    name, _DOC_SCHEMA
                )
                con.register(name, pa.Table.from_batches(group, schema=schema))
            return con.sql(_SQL).pl()
    finally:
        con.close()


def _query_or_fail(
    batches: list[tuple[str, pa.RecordBatch]], fail: Callable[[int, str, str], None]
) -> pl.DataFrame:
    """Run the query; when it runs out of memory, run each object alone and fail the ones that
    still do (a document of tens of MB pretty-printed, say), so the rest of the batch loads."""
    try:
        return _run_query(batches)
    except duckdb.OutOfMemoryException:
        if len(batches) == 1:
            batch = batches[0][1]
            fail(
                batch.column("obj_no")[0].as_py(),
                batch.column("evidence_id")[0].as_py(),
                f"too large to decode within the parser's {_PARSE_MEMORY} of memory "
                "(a very large document or record); split it into smaller files to load it",
            )
            return _run_query([])
        # Object by object (an object's lines or records are one Arrow batch).
        return pl.concat(
            [_query_or_fail([one], fail) for one in batches], how="vertical_relaxed"
        )


def _half_the_cores() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


def _diagnose(text: str) -> str | None:
    """Why a document yielded no records, for a message a person can act on; None if empty."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return (
                f"more than one JSON document (another starts at line {exc.lineno} column "
                f"{exc.colno}); export one record per line, e.g. with jq -c"
            )
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            return (
                f"truncated JSON: the document stops after {len(text)} characters in the middle "
                f"of a value ({exc.msg}); the object is incomplete - acquire it again"
            )
        return f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    items = doc.get("Records", doc.get("Events")) if isinstance(doc, dict) else doc
    if isinstance(items, list) and not items:
        return None  # a valid document without records
    for key in ("Records", "Events"):
        if isinstance(doc, dict) and key in doc and not isinstance(doc[key], list):
            return f"{key} is not a JSON array (got {type(doc[key]).__name__})"
    # Valid for Python's reader but refused by DuckDB's (e.g. NaN): never drop it silently.
    return "not readable by the JSON reader (non-standard JSON such as NaN?)"


def _line_json_error(raw: str) -> str:
    """The JSON error in one line or wrapped record, for a reject reason."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at column {exc.colno}"
    except RecursionError:
        return "nested too deeply"
    return "rejected by the JSON reader"


def _order(out: pl.DataFrame) -> pl.DataFrame:
    """Put query output in input order and number the records of line-delimited objects."""
    # DuckDB keeps input order in practice but does not promise it across a UNION; sorting is
    # needed only when it did not, and "first occurrence" of a duplicate depends on that order.
    position = pl.coalesce("record_no", "line_no")
    if not out.select(pl.col("obj_no") * (1 << 32) + position).to_series().is_sorted():
        out = out.sort(pl.col("obj_no"), position, maintain_order=True)
    if out["record_no"].null_count() == 0:
        return out
    # A line's record number is its rank among the object's non-blank lines.
    return out.with_columns(
        record_no=pl.coalesce("record_no", pl.int_range(1, pl.len() + 1).over("obj_no"))
    )


def _assemble(
    out: pl.DataFrame | None,
    object_rejects: list[tuple[int, str, str]],
    bad_lines: list[tuple[int, int, str]],
) -> CloudTrailParseResult:
    """Split query output into deduplicated rows and rejects with readable reasons."""
    if out is None:
        out = pl.DataFrame(schema={**CLOUDTRAIL_SCHEMA, "line_no": _I, "obj_no": _I, "reason": _S})
    is_row = pl.col("reason").is_null()
    # Only good rows take part in deduplication: a rejected copy must not hide a good one.
    row_event_id = pl.when(is_row).then(pl.col("event_id"))
    keep = is_row & (row_event_id.is_null() | row_event_id.is_first_distinct())
    masks = out.select(is_row=is_row, keep=keep)
    n_rows, n_kept = masks.select(pl.all().sum()).row(0)
    if n_kept < n_rows:
        # A later record with an earlier eventID is a repeat only with the same content; one
        # with other content stays a row (schema.CLOUDTRAIL_REPEAT_KEY says why). Only records
        # whose eventID occurs twice are compared in full.
        again = out.with_row_index("_at").filter(is_row & pl.col("event_id").is_duplicated())
        other = again.filter(pl.struct(CLOUDTRAIL_REPEAT_KEY).is_first_distinct())["_at"]
        masks = masks.with_columns(keep=pl.col("keep") | pl.int_range(pl.len()).is_in(other.implode()))
        n_kept = int(masks["keep"].sum())
    duplicates = int(n_rows - n_kept)
    by_evidence: dict[str, int] = {}
    if duplicates:
        dropped = out.filter(masks["is_row"] & ~masks["keep"])
        by_evidence = dict(dropped.group_by("evidence_id").len().iter_rows())
    if n_kept < out.height:  # most batches have neither rejects nor duplicates
        out_rows = out.filter(masks["keep"])
    else:
        out_rows = out
    rows = out_rows.select([pl.col(c).cast(t) for c, t in CLOUDTRAIL_SCHEMA.items()])

    rejects = out.filter(~masks["is_row"]).select(
        "obj_no", "evidence_id", "line_no", "record_no", "raw", "reason"
    )
    needs_detail = pl.col("reason").is_in(["invalid-json", "invalid-wrapped-json"])
    if rejects.select(needs_detail.any()).item():
        detail = rejects.filter(needs_detail)
        reasons = [
            (
                "not valid JSON: "
                if kind == "invalid-json"
                else "CloudTrailEvent is not a valid JSON record: "
            )
            + _line_json_error(raw if kind == "invalid-json" else _unwrap_text(raw))
            for kind, raw in detail.select("reason", "raw").iter_rows()
        ]
        rejects = pl.concat(
            [rejects.filter(~needs_detail), detail.with_columns(reason=pl.Series(reasons))]
        )
    if bad_lines:
        bad = pl.DataFrame(
            bad_lines, schema={"obj_no": _I, "line_no": _I, "bad_raw": _S}, orient="row"
        )
        rejects = (
            rejects.join(bad, on=["obj_no", "line_no"], how="left")
            .with_columns(
                raw=pl.coalesce("bad_raw", "raw"),
                reason=pl.when(pl.col("bad_raw").is_not_null())
                .then(pl.lit("line is not UTF-8 text (corrupt bytes)"))
                .otherwise("reason"),
            )
            .drop("bad_raw")
        )
    if object_rejects:
        whole = pl.DataFrame(
            [(o, e, None, None, None, f"object not loaded: {p}") for o, e, p in object_rejects],
            schema={
                "obj_no": _I,
                "evidence_id": _S,
                "line_no": _I,
                "record_no": _I,
                "raw": _S,
                "reason": _S,
            },
            orient="row",
        )
        rejects = pl.concat([rejects, whole])
    rejects = rejects.sort("obj_no", "record_no", nulls_last=False, maintain_order=True).select(
        [pl.col(c).cast(t) for c, t in REJECT_SCHEMA.items()]
    )
    return CloudTrailParseResult(
        rows=rows, rejects=rejects, duplicates=duplicates, duplicates_by_evidence=by_evidence
    )


def _unwrap_text(item: str) -> str:
    """The CloudTrailEvent string of a lookup-events item (for explaining why it is bad)."""
    try:
        value = json.loads(item).get("CloudTrailEvent")
    except (json.JSONDecodeError, AttributeError, RecursionError):
        return item
    return value if isinstance(value, str) else json.dumps(value)
