"""S3 server access log parser: golden files, round trip through the renderer, line accounting."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3forensics.errors import InputError
from s3forensics.parse import REJECT_SCHEMA, s3_access
from s3forensics.parse.s3_access import (
    ACCESS_LOG_SCHEMA,
    looks_like_access_log,
    parse_access_log_bytes,
    parse_access_log_file,
    parse_access_logs,
)
from s3forensics.render import ACCESS_LOG_FIELDS, encode_key, format_access_log_line

GOLDEN = Path(__file__).parent / "golden" / "s3_access"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"


@contextmanager
def reference_grammar_only() -> Iterator[None]:
    """Send every line through the reference regex instead of the positional fast path."""
    with mock.patch.object(s3_access, "_USE_FAST_PATH", False):
        yield


def _expected_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for given_row in spec["rows"]:
        row: dict[str, Any] = {name: None for name in ACCESS_LOG_SCHEMA}
        row.update(spec.get("common", {}))
        row.update(given_row)
        row["evidence_id"] = spec["input"]
        if row["event_time"] is not None:
            row["event_time"] = datetime.fromisoformat(row["event_time"])
        rows.append(row)
    return rows


def _input_lines(path: Path) -> list[str]:
    """The file's lines as an editor shows them (gunzipped), without CR or trailing spaces."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    lines = data.decode().split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r ") for line in lines]


# --- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "reference-grammar"])
def test_golden_file_parses_to_expected_rows_and_rejects(case: str, fast_path: bool) -> None:
    spec = json.loads((GOLDEN / f"{case}.json").read_text())
    path = GOLDEN / spec["input"]
    if fast_path:
        result = parse_access_log_file(path, evidence_id=spec["input"])
    else:
        with reference_grammar_only():
            result = parse_access_log_file(path, evidence_id=spec["input"])

    assert result.rows.schema == pl.Schema(ACCESS_LOG_SCHEMA)
    assert result.rows.to_dicts() == _expected_rows(spec)
    got_rejects = result.rejects.select("line_no", "reason").to_dicts()
    assert got_rejects == spec["rejects"]


@pytest.mark.parametrize("case", CASES)
def test_golden_rejects_keep_the_raw_line_and_point_at_it(case: str) -> None:
    spec = json.loads((GOLDEN / f"{case}.json").read_text())
    path = GOLDEN / spec["input"]
    lines = _input_lines(path)
    result = parse_access_log_file(path)

    assert result.rejects.schema == pl.Schema(REJECT_SCHEMA)
    for reject in result.rejects.to_dicts():
        assert reject["evidence_id"] == str(path)
        assert reject["record_no"] is None
        assert reject["raw"] == lines[reject["line_no"] - 1]
    # Lines in = rows + rejects, each line accounted for exactly once.
    numbers = result.rows["line_no"].to_list() + result.rejects["line_no"].to_list()
    assert sorted(numbers) == list(range(1, len(lines) + 1))


def test_golden_crlf_and_gzip_inputs_really_are_crlf_and_gzip() -> None:
    # Guards the two golden cases above against a checkout that rewrote line endings.
    assert b"\r\n" in (GOLDEN / "crlf.log").read_bytes()
    assert (GOLDEN / "gzipped.log.gz").read_bytes()[:2] == b"\x1f\x8b"


# --- round trip through the renderer (what AWS writes) ------------------------------------------

ERAS = (18, 24, 25, 26, 27)
_TOKEN = st.text(
    st.characters(blacklist_categories=("Cs", "Z", "Cc"), blacklist_characters='"'),
    min_size=1,
    max_size=12,
).filter(lambda s: s != "-")
# Free text for the quoted fields: anything on one line, quotes and backslashes included.
_TEXT = st.text(st.characters(codec="utf-8", blacklist_characters="\n\r"), max_size=30)
_OFFSETS = [timezone(timedelta(minutes=m)) for m in (0, 0, 120, -90, 330, -720, 840, 45)]
_OPERATIONS = [
    "REST.GET.OBJECT",
    "REST.PUT.OBJECT",
    "REST.HEAD.OBJECT",
    "REST.DELETE.OBJECT",
    "REST.COPY.OBJECT_GET",
    "REST.POST.MULTI_OBJECT_DELETE",
    "BATCH.DELETE.OBJECT",
    "WEBSITE.GET.OBJECT",
    "S3.EXPIRE.OBJECT",
    "S3.TRANSITION_SIA.OBJECT",
    "S3.COMPUTE.OBJECT.CHECKSUM",
    "SOAP.ListAllMyBuckets",
]


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def _records(draw: st.DrawFn, n_fields: int) -> dict[str, Any]:
    hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
    record: dict[str, Any] = {
        "bucket_owner": draw(hex64),
        "bucket": draw(st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True)),
        "event_time": draw(
            st.datetimes(
                min_value=datetime(1990, 1, 1),
                max_value=datetime(2099, 12, 31),
                timezones=st.sampled_from(_OFFSETS),
            ).map(lambda d: d.replace(microsecond=0))
        ),
        "remote_ip": draw(_optional(st.ip_addresses().map(str))),
        "requester": draw(
            _optional(
                st.one_of(
                    hex64,
                    st.from_regex(
                        r"arn:aws:iam::[0-9]{12}:user/[A-Za-z0-9+=,.@_-]{1,20}", fullmatch=True
                    ),
                    st.from_regex(r"[A-Z0-9]{14}", fullmatch=True).map(
                        lambda s: (
                            f"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {s}"
                        )
                    ),
                    st.just("svc:logging.s3.amazonaws.com"),
                )
            )
        ),
        "request_id": draw(
            st.one_of(st.from_regex(r"[0-9A-F]{16}", fullmatch=True), st.uuids().map(str))
        ),
        "operation": draw(st.sampled_from(_OPERATIONS)),
        "object_key": draw(
            _optional(st.text(st.characters(codec="utf-8"), min_size=1).filter(lambda s: s != "-"))
        ),
        "request_uri": draw(_optional(_TEXT)),
        "http_status": draw(_optional(st.integers(100, 599))),
        "error_code": draw(_optional(st.from_regex(r"[A-Za-z]{3,20}", fullmatch=True))),
        "bytes_sent": draw(_optional(st.integers(0, 2**63 - 1))),
        "object_size": draw(_optional(st.integers(0, 2**63 - 1))),
        "total_time_ms": draw(_optional(st.integers(0, 10**7))),
        "turnaround_time_ms": draw(_optional(st.integers(0, 10**7))),
        "referer": draw(_optional(_TEXT)),
        "user_agent": draw(_optional(_TEXT)),
        "version_id": draw(_optional(_TOKEN)),
        "host_id": draw(_optional(st.from_regex(r"[A-Za-z0-9+/]{1,76}={0,2}", fullmatch=True))),
        "signature_version": draw(st.sampled_from([None, "SigV2", "SigV4", "SigV4a"])),
        "cipher_suite": draw(_optional(st.from_regex(r"[A-Z0-9][A-Z0-9_-]{0,40}", fullmatch=True))),
        "authentication_type": draw(st.sampled_from([None, "AuthHeader", "QueryString"])),
        "host_header": draw(_optional(_TOKEN)),
        "tls_version": draw(st.sampled_from([None, "TLSv1", "TLSv1.2", "TLSV1.2", "TLSv1.3"])),
        "access_point_arn": draw(
            _optional(
                st.from_regex(
                    r"arn:aws(-cn|-us-gov)?:s3:[a-z]{2}-[a-z]+-[0-9]:[0-9]{12}:accesspoint/[a-z0-9-]{3,20}",
                    fullmatch=True,
                )
            )
        ),
        "acl_required": draw(_optional(st.booleans())),
        "source_region": draw(st.sampled_from([None, "us-east-1", "eu-west-3", "ap-southeast-2"])),
    }
    if n_fields == 27:
        # Future fields exist only after the 27th; AWS appends, never inserts.
        record["extra_fields"] = draw(
            _optional(st.lists(_TOKEN, min_size=1, max_size=3).map(" ".join))
        )
    return record


def _parsed_form(record: dict[str, Any], n_fields: int, line_no: int) -> dict[str, Any]:
    """What the parser must return for a record rendered with `n_fields` fields."""
    present = set(ACCESS_LOG_FIELDS[:n_fields])
    expected: dict[str, Any] = {}
    for name in ACCESS_LOG_SCHEMA:
        value = record.get(name)
        if name in ("object_key", "extra_fields", "anomalies", "evidence_id", "line_no"):
            continue
        if name not in present:
            expected[name] = None
        elif name == "event_time":
            expected[name] = record["event_time"].astimezone(UTC)
        elif name == "acl_required":
            expected[name] = bool(value)  # the renderer writes "-" for both False and unknown
        elif name in ("request_uri", "referer", "user_agent"):
            # The renderer escapes quotes as \"; the parser reads them back as quotes.
            expected[name] = None if value in (None, "-") else value
        else:
            expected[name] = value
    key = record["object_key"]
    expected["key"] = None if key is None else encode_key(key, record["operation"])
    expected["object_key"] = key
    expected["extra_fields"] = record.get("extra_fields")
    expected["anomalies"] = None
    expected["evidence_id"] = "obj"
    expected["line_no"] = line_no
    return expected


@st.composite
def _era_batches(draw: st.DrawFn) -> tuple[int, list[dict[str, Any]]]:
    n_fields = draw(st.sampled_from(ERAS))
    return n_fields, draw(st.lists(_records(n_fields), min_size=1, max_size=4))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_era_batches())
def test_rendered_records_parse_back_equal_in_every_era(
    batch: tuple[int, list[dict[str, Any]]],
) -> None:
    n_fields, records = batch
    data = "".join(format_access_log_line(r, n_fields=n_fields) + "\n" for r in records).encode()
    expected = [_parsed_form(r, n_fields, i) for i, r in enumerate(records, start=1)]

    result = parse_access_logs([("obj", data)])
    assert result.rejects.to_dicts() == []
    assert result.rows.to_dicts() == expected
    with reference_grammar_only():
        assert parse_access_logs([("obj", data)]).rows.to_dicts() == expected


# --- line accounting ---------------------------------------------------------------------------


def _line_count(data: bytes) -> int:
    """Lines as an editor counts them: a final newline does not start another line, and a
    leading byte-order mark is an encoding marker, not text."""
    parts = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    return len(parts) - (parts[-1] == b"")


def _assert_every_line_accounted(objects: list[tuple[str, bytes]]) -> None:
    result = parse_access_logs(objects)
    for evidence_id, data in objects:
        rows = result.rows.filter(pl.col("evidence_id") == evidence_id)["line_no"].to_list()
        rejects = result.rejects.filter(pl.col("evidence_id") == evidence_id)["line_no"].to_list()
        assert sorted(rows + rejects) == list(range(1, _line_count(data) + 1)), evidence_id
    assert result.rejects["reason"].null_count() == 0


def _good(request_id: str, ua: str = "curl/8.5.0") -> str:
    return format_access_log_line(
        {
            "bucket_owner": OWNER,
            "bucket": "b",
            "event_time": datetime(2024, 5, 1, tzinfo=UTC),
            "request_id": request_id,
            "operation": "REST.GET.OBJECT",
            "object_key": "k",
            "request_uri": "GET /k HTTP/1.1",
            "http_status": 200,
            "user_agent": ua,
        }
    )


def test_batch_of_objects_maps_each_row_to_its_object_and_line() -> None:
    objects = [
        ("a", f"{_good('A1')}\n{_good('A2')}".encode()),  # no final newline
        ("empty", b""),
        ("newline-only", b"\n"),
        ("d", f"{_good('D1')}\r\ngarbage\r\n{_good('D3')}\r\n".encode()),
        ("bom", b"\xef\xbb\xbf" + f"{_good('E1')}\n".encode()),
    ]
    result = parse_access_logs(objects)

    placed = {r["request_id"]: (r["evidence_id"], r["line_no"]) for r in result.rows.to_dicts()}
    assert placed == {
        "A1": ("a", 1),
        "A2": ("a", 2),
        "D1": ("d", 1),
        "D3": ("d", 3),
        "E1": ("bom", 1),
    }
    rejects = result.rejects.select("evidence_id", "line_no", "raw", "reason").rows()
    assert rejects == [
        ("newline-only", 1, "", "blank line"),
        ("d", 2, "garbage", "not an access log record: 1 field(s), a record has at least 18"),
    ]
    assert result.rows["bucket_owner"].to_list() == [OWNER] * 5  # the BOM is not part of a field
    _assert_every_line_accounted(objects)


_LINE = st.one_of(
    st.builds(_good, st.from_regex(r"[0-9A-F]{16}", fullmatch=True)),
    st.builds(
        lambda a, b: _good("AAAA")[:a] + _good("BBBB")[b:], st.integers(0, 300), st.integers(0, 300)
    ),
    st.text(st.characters(codec="utf-8", blacklist_characters="\n"), max_size=40),
    st.sampled_from(["", " ", "\r", "  \r"]),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.lists(_LINE, max_size=6), st.sampled_from(["\n", "\r\n"]), st.booleans())
            .map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else ""))
            .map(str.encode),
            st.binary(max_size=200),  # anything at all, NUL bytes and invalid UTF-8 included
        ),
        min_size=1,
        max_size=5,
    )
)
def test_every_line_of_every_object_becomes_a_row_or_a_reject(contents: list[bytes]) -> None:
    _assert_every_line_accounted([(f"obj{i}", data) for i, data in enumerate(contents)])


@pytest.mark.parametrize("rejects_at", ["end", "start"])
def test_a_large_batch_parses_exactly_like_its_objects_one_by_one(rejects_at: str) -> None:
    # A batch of a megabyte or more is split into lines in parallel chunks; the result must not
    # depend on that. Rejects gathered at one end leave some chunks with no reject (or no row)
    # at all: the shape that once made a polars string kernel panic.
    files = {p.name: p.read_bytes() for p in sorted(GOLDEN.glob("*.log"))}
    files["garbage"] = b"not a record\n" * 20_000
    good = ["eras.log", "unusual.log"] * 120
    order = good + ["bad.log"] if rejects_at == "end" else ["garbage", "bad.log", *good]
    batch = [(f"{name}#{i}", files[name]) for i, name in enumerate(order)]
    # The case under test:
    assert s3_access._lines_frame([(e, d, 1) for e, d in batch])["line"].n_chunks() > 1

    result = parse_access_logs(batch)
    alone = {name: parse_access_logs([(name, files[name])]) for name in set(order)}
    for part in ("rows", "rejects"):
        expected = pl.concat(
            getattr(alone[name], part).with_columns(evidence_id=pl.lit(f"{name}#{i}"))
            for i, name in enumerate(order)
        )
        assert getattr(result, part).equals(expected), part


def test_invalid_utf8_is_kept_visible_and_does_not_shift_lines() -> None:
    data = f"{_good('X1')}\n".encode() + _good("X2", ua="bad\udcff").encode(
        "utf-8", "surrogateescape"
    )
    result = parse_access_logs([("o", data + b"\n")])

    assert result.rows.select("request_id", "line_no", "user_agent").rows() == [
        ("X1", 1, "curl/8.5.0"),
        ("X2", 2, "bad\\xff"),
    ]


@pytest.mark.parametrize("first", [b"\x1f\x8b", b"x\x9c", b"(\xb5/\xfd"])
def test_text_starting_like_a_compressed_stream_is_read_as_text(first: bytes) -> None:
    # Content arrives decompressed; bytes that merely look like gzip/zlib/zstd are lines too.
    objects = [("o1", first + b"\n"), ("o2", f"{_good('Z1')}\n".encode())]
    result = parse_access_logs(objects)
    assert result.rows.select("evidence_id", "line_no").rows() == [("o2", 1)]
    assert result.rejects.select("evidence_id", "line_no").rows() == [("o1", 1)]


def test_nul_byte_in_a_batch_still_counts_lines_exactly() -> None:
    objects = [
        ("o1", f"{_good('N1')}\n\x00\n{_good('N3')}\n".encode()),
        ("o2", f"{_good('N4')}".encode()),
    ]
    result = parse_access_logs(objects)

    assert result.rows.select("evidence_id", "line_no").rows() == [("o1", 1), ("o1", 3), ("o2", 1)]
    assert result.rejects.select("line_no", "raw").rows() == [(2, "\x00")]


def test_no_objects_gives_empty_frames_with_the_contract_schemas() -> None:
    result = parse_access_logs([])
    assert result.rows.schema == pl.Schema(ACCESS_LOG_SCHEMA)
    assert result.rejects.schema == pl.Schema(REJECT_SCHEMA)
    assert (result.rows.height, result.rejects.height) == (0, 0)


def test_schema_is_the_documented_column_contract() -> None:
    assert list(ACCESS_LOG_SCHEMA) == [
        "bucket_owner",
        "bucket",
        "event_time",
        "remote_ip",
        "requester",
        "request_id",
        "operation",
        "key",
        "object_key",
        "request_uri",
        "http_status",
        "error_code",
        "bytes_sent",
        "object_size",
        "total_time_ms",
        "turnaround_time_ms",
        "referer",
        "user_agent",
        "version_id",
        "host_id",
        "signature_version",
        "cipher_suite",
        "authentication_type",
        "host_header",
        "tls_version",
        "access_point_arn",
        "acl_required",
        "source_region",
        "extra_fields",
        "evidence_id",
        "line_no",
        "anomalies",
    ]
    assert ACCESS_LOG_SCHEMA["event_time"] == pl.Datetime("us", "UTC")
    assert ACCESS_LOG_SCHEMA["http_status"] == pl.Int32
    assert ACCESS_LOG_SCHEMA["object_size"] == pl.Int64
    assert ACCESS_LOG_SCHEMA["acl_required"] == pl.Boolean


# --- bytes, files, sniffing --------------------------------------------------------------------


def test_bytes_are_gunzipped_when_gzip_and_named_by_evidence_id() -> None:
    plain = f"{_good('G1')}\n".encode()
    for data in (plain, gzip.compress(plain)):
        result = parse_access_log_bytes(data, evidence_id="s3://logs/x")
        assert result.rows.select("evidence_id", "request_id").rows() == [("s3://logs/x", "G1")]


def test_corrupt_gzip_and_missing_files_raise_input_errors_naming_them(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="s3://logs/broken.*corrupt gzip"):
        parse_access_log_bytes(gzip.compress(b"x" * 100)[:20], evidence_id="s3://logs/broken")
    missing = tmp_path / "nope.log"
    with pytest.raises(InputError, match="nope.log"):
        parse_access_log_file(missing)


def test_file_evidence_id_defaults_to_the_path(tmp_path: Path) -> None:
    path = tmp_path / "2024-05-01-00-00-00-ABCDEF"
    path.write_text(_good("F1") + "\n")
    assert parse_access_log_file(path).rows["evidence_id"].to_list() == [str(path)]


def test_sniffing_recognises_access_logs_and_nothing_else() -> None:
    log = (GOLDEN / "unusual.log").read_bytes()
    assert looks_like_access_log(log[:300])  # cut mid-line, as a sniffing sample is
    assert looks_like_access_log(log[:120])  # cut right after the time
    assert not looks_like_access_log(log[:60])  # too little to tell
    assert looks_like_access_log(b"\n\n" + log)
    assert looks_like_access_log(gzip.compress(log)[:400])  # a truncated gzip stream
    assert looks_like_access_log((GOLDEN / "gzipped.log.gz").read_bytes())
    assert not looks_like_access_log(
        b'{"Records":[{"eventVersion":"1.11","eventTime":"2024-05-01T00:00:00Z"}]}'
    )
    assert not looks_like_access_log(b"")
    assert not looks_like_access_log(b"hello world\n" + log)
    not_a_record = log.replace(b"REST.GET.OBJECT", b"get-object", 1)
    assert not looks_like_access_log(not_a_record)  # a complete line must reach the operation
    assert not looks_like_access_log(b"\x1f\x8bnot really gzip")


def test_logged_fields_are_the_27_aws_fields_in_order() -> None:
    from s3forensics.parse.s3_access import ACCESS_LOG_FIELDS

    assert len(ACCESS_LOG_FIELDS) == 27
    assert ACCESS_LOG_FIELDS[:3] == ("bucket_owner", "bucket", "event_time")
    assert ACCESS_LOG_FIELDS[7:9] == ("key", "request_uri")
    assert ACCESS_LOG_FIELDS[-3:] == ("access_point_arn", "acl_required", "source_region")


def test_batch_delete_keys_are_form_encoded_once() -> None:
    """A published line (elastic/integrations' S3 access log fixture): a macOS screenshot name."""
    line = (
        "36c1f05b76016b78528454e6e0c60e2b7ff7aa20c0a5e4c748276e5b0a2debd2 test-s3-ks "
        "[19/Sep/2019:17:06:39 +0000] 89.160.20.156 arn:aws:iam::123456:user/test@elastic.co "
        "6CE38F1312D32BDD BATCH.DELETE.OBJECT Screen+Shot+2019-09-09+at+9.08.44+AM.png - 204 - - "
        "57138 - - - - - LwRa4w6DbuU48GKQiH3jDbjfTyLCbwasFBsdttugRQ+9lH4jK8lT91+HhGZKMYI3sPyKuQ9LvU0= "
        "SigV4 ECDHE-RSA-AES128-SHA AuthHeader s3.ap-southeast-1.amazonaws.com TLSv1.2\n"
        # The same encoding for a lifecycle expiry; a real + arrives as %2B.
        "36c1f05b76016b78528454e6e0c60e2b7ff7aa20c0a5e4c748276e5b0a2debd2 test-s3-ks "
        "[19/Sep/2019:17:06:40 +0000] - AmazonS3 6CE38F1312D32BDE S3.EXPIRE.OBJECT "
        "tmp/a%2Bb+c%25.txt - - - - 10 - - - - -\n"
    )
    result = parse_access_log_bytes(line.encode())
    assert result.rejects.height == 0
    assert result.rows["key"].to_list() == ["Screen+Shot+2019-09-09+at+9.08.44+AM.png",
                                            "tmp/a%2Bb+c%25.txt"]
    assert result.rows["object_key"].to_list() == ["Screen Shot 2019-09-09 at 9.08.44 AM.png",
                                                   "tmp/a+b c%.txt"]


# --- hostile input: text a client chooses --------------------------------------------------------

_HEX64 = "0123456789abcdef" * 4
_RECORD_START = f"x {_HEX64} zz [01/Jan/2000:00:00:00 +0000]"
# A whole forged record inside a header, unescaped quotes included (S3 does not escape them).
_FORGED_RECORD = (
    f'Mozilla/5.0 {OWNER} awsexamplebucket1 [01/Jan/2000:00:00:00 +0000] 192.0.2.1 - '
    'AAAABBBBCCCCDDDD REST.GET.OBJECT decoy.txt "GET /decoy.txt HTTP/1.1" 200 - 1 1 1 1 "-" "curl'
)


def _attacker_line(request_id: str, *, ua: str = "curl/8.5.0", referer: str | None = None) -> str:
    return format_access_log_line(
        {
            "bucket_owner": OWNER,
            "bucket": "b",
            "event_time": datetime(2024, 5, 1, tzinfo=UTC),
            "remote_ip": "203.0.113.66",
            "requester": "arn:aws:iam::123456789012:user/mallory",
            "request_id": request_id,
            "operation": "REST.GET.OBJECT",
            "object_key": "secret.csv",
            "request_uri": "GET /secret.csv HTTP/1.1",
            "http_status": 200,
            "bytes_sent": 42,
            "referer": referer,
            "user_agent": ua,
            "source_region": "us-east-1",
        }
    ).replace('\\"', '"')  # as S3 writes them: the client's quotes unescaped


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "reference-grammar"])
def test_a_header_shaped_like_a_record_start_does_not_hide_the_request(fast_path: bool) -> None:
    # Issue 12 item 1: a user agent holding "<64 hex> <bucket> [<time>" sent the attacker's own
    # request to the rejects as "two records run together", hiding it from every query.
    lines = [
        _attacker_line("UA1", ua=_RECORD_START),
        _attacker_line("REF1", referer=_RECORD_START),
        _attacker_line("UA2", ua=_FORGED_RECORD),
        _attacker_line("REF2", referer=_FORGED_RECORD),
        _attacker_line("BOTH", ua=_FORGED_RECORD, referer=_RECORD_START),
    ]
    data = ("\n".join(lines) + "\n").encode()
    with mock.patch.object(s3_access, "_USE_FAST_PATH", fast_path):
        result = parse_access_logs([("o", data)])

    assert result.rejects.select("line_no", "reason").rows() == []
    rows = result.rows
    assert rows["request_id"].to_list() == ["UA1", "REF1", "UA2", "REF2", "BOTH"]
    assert rows["remote_ip"].unique().to_list() == ["203.0.113.66"]
    assert rows["bytes_sent"].to_list() == [42] * 5
    assert rows["source_region"].to_list() == ["us-east-1"] * 5  # the real tail, not a forged one
    assert rows["user_agent"].to_list()[:3] == [_RECORD_START, "curl/8.5.0", _FORGED_RECORD]
    assert rows["referer"].to_list()[:2] == [None, _RECORD_START]
    # Kept, and flagged so an investigator sees the trick.
    flagged = rows.select("request_id", "anomalies").rows()
    assert all("holds text shaped like the start of another record" in a for _, a in flagged)
    assert "field 16 (referer)" in flagged[1][1] and "field 17 (user_agent)" in flagged[0][1]


def test_two_records_run_together_outside_client_text_are_still_rejected() -> None:
    first, second = _good("R1"), _good("R2")
    glued = first.replace("REST.GET.OBJECT", "REST.GET.OBJECT", 1)
    cut_in_uri = first[: first.index('"GET /') + 6] + second  # an interrupted write, as in the samples
    requester_glued = first[: first.index(" - R1")] + " arn:aws:iam::1:user/bob" + second
    after_last_field = format_access_log_line(
        {"bucket_owner": OWNER, "bucket": "b", "event_time": datetime(2024, 5, 1, tzinfo=UTC),
         "request_id": "R3", "operation": "REST.GET.OBJECT", "object_key": "k",
         "request_uri": "GET /k HTTP/1.1", "http_status": 200, "source_region": "us-east-1"}
    ).replace('"-" "-" ', "- - ") + " " + second
    data = "\n".join([glued, cut_in_uri, requester_glued, after_last_field]).encode()
    for fast_path in (True, False):
        with mock.patch.object(s3_access, "_USE_FAST_PATH", fast_path):
            result = parse_access_logs([("o", data)])
        assert result.rows["line_no"].to_list() == [1]
        reasons = dict(result.rejects.select("line_no", "reason").rows())
        assert sorted(reasons) == [2, 3, 4]
        assert all(r.startswith("two records run together") for r in reasons.values()), reasons
        assert "field 28" in reasons[4]


def test_odd_values_are_kept_flagged_and_never_a_reason_to_reject() -> None:
    # A line whose structure is a record is a row: an odd value keeps its raw text in
    # `anomalies`, its typed column is NULL where it cannot be typed.
    good = _attacker_line("V0")
    lines = [
        good.replace("REST.GET.OBJECT", "GetObject"),
        good.replace("REST.GET.OBJECT", "rest.get.object"),
        good.replace(" - - us-east-1", " - No us-east-1"),
        good.replace(" 200 - 42 ", " 2OO - 42 "),
        good.replace(" 200 - 42 ", " 200 - -42 "),
        good.replace("[01/May/2024:00:00:00", "[31/Feb/2024:00:00:00"),
    ]
    for fast_path in (True, False):
        with mock.patch.object(s3_access, "_USE_FAST_PATH", fast_path):
            result = parse_access_logs([("o", ("\n".join(lines) + "\n").encode())])
        assert result.rejects.height == 0
        rows = result.rows.to_dicts()
        assert [r["operation"] for r in rows[:2]] == ["GetObject", "rest.get.object"]
        assert rows[2]["acl_required"] is None and "'No'" in rows[2]["anomalies"]
        assert rows[3]["http_status"] is None and "'2OO'" in rows[3]["anomalies"]
        assert rows[4]["bytes_sent"] is None and "'-42'" in rows[4]["anomalies"]
        assert rows[5]["event_time"] is None and "[31/Feb/2024" in rows[5]["anomalies"]
        assert all(r["request_id"] == "V0" and r["anomalies"] for r in rows)
        assert "field 7 (operation) is 'GetObject'" in rows[0]["anomalies"]


def test_server_written_tokens_of_another_shape_are_flagged() -> None:
    # The fields S3 itself writes after the user agent have known shapes; a value of another
    # shape is a field slid out of place or a record written by hand. The row is kept as
    # logged (no typed column to NULL) and says which field is odd, in field order.
    good = _attacker_line("V0")
    assert good.endswith(" - - us-east-1")
    fields = good.split(" ")
    odd = {
        "host_id": "id=with#hash",
        "signature_version": "AWS4-HMAC-SHA256",
        "cipher_suite": "TLS/1.3",
        "authentication_type": "authheader",
        "tls_version": "1.2",
        "access_point_arn": "accesspoint/ap1",
        "source_region": "US_EAST_1",
    }
    lines = []
    for name, value in odd.items():
        changed = list(fields)
        # Counted from the end: the 27th field is the last token (quoted ones contain spaces).
        at = len(fields) - (27 - s3_access._FIELD_NO[name]) - 1
        changed[at] = value
        lines.append(" ".join(changed))
    lines.append(good)
    for fast_path in (True, False):
        with mock.patch.object(s3_access, "_USE_FAST_PATH", fast_path):
            result = parse_access_logs([("o", ("\n".join(lines) + "\n").encode())])
        assert result.rejects.height == 0
        rows = result.rows.to_dicts()
        for row, (name, value) in zip(rows, odd.items(), strict=False):
            assert row[name] == value  # kept as logged
            number = s3_access._FIELD_NO[name]
            expected = s3_access._TOKEN_SHAPES[name][1]
            assert row["anomalies"] == f"field {number} ({name}) is '{value}', expected {expected}"
        assert rows[-1]["anomalies"] is None
    # Odd fields are named in field order, each in full: aclRequired (26) before the Region
    # (27), though their checks are built the other way round, and both after the referer (16).
    both = list(fields)
    both[-1], both[-2] = "US_EAST_1", "No"
    line = " ".join(both).replace('"-" "curl/8.5.0"',
                                  f'"{OWNER} b [01/May/2024:00:00:00 +0000] x" "curl/8.5.0"')
    assert OWNER in line.split('"')[3]
    flagged = parse_access_logs([("o", line.encode())]).rows["anomalies"].item()
    assert flagged == (
        "field 16 (referer) holds text shaped like the start of another record: two records run "
        "together, or a crafted header; "
        "field 26 (acl_required) is 'No', expected Yes or -; "
        "field 27 (source_region) is 'US_EAST_1', expected an AWS Region such as us-east-1 or -")


def test_escaped_quotes_in_quoted_fields_are_read_as_quotes() -> None:
    line = _good("Q1", ua='Mozilla/5.0 "quoted" \\ back\\slash')
    assert '\\"quoted\\"' in line  # the renderer writes what the parser reads back
    result = parse_access_logs([("o", line.encode())])
    assert result.rows["user_agent"].to_list() == ['Mozilla/5.0 "quoted" \\ back\\slash']
    assert result.rows["anomalies"].to_list() == [None]


def test_on_the_bundled_breach_a_hostile_user_agent_hides_none_of_the_attackers_requests() -> None:
    # The breach scenario regenerated with every attacker tool sending that user agent: before
    # the fix, all of the attacker's access-log GETs (90 of them) went to the rejects.
    from s3forensics.samples import build_samples
    from s3forensics.samples.world import UA

    def attacker_gets(**agents: str) -> tuple[int, int]:
        with mock.patch.multiple(UA, **agents):
            samples = build_samples()
        objects = [(p, b) for p, b in samples.files.items() if "s3-access" in p]
        result = parse_access_logs(objects)
        ips = samples.answers["attacker"]["ips"]
        gets = result.rows.filter(
            pl.col("remote_ip").is_in(ips) & (pl.col("operation") == "REST.GET.OBJECT")
        )
        return gets.height, result.rejects.height

    as_shipped = attacker_gets(ATTACKER_RCLONE=UA.ATTACKER_RCLONE)
    hostile = attacker_gets(
        ATTACKER_CLI=_RECORD_START, ATTACKER_RCLONE=_RECORD_START, ATTACKER_BOTO3=_RECORD_START
    )
    assert as_shipped[0] > 50
    assert hostile == as_shipped  # same GETs, and only the three damaged lines rejected


# Elastic's field names -> ours, for comparing with its published expectations.
_ELASTIC = {
    "bucket_owner": "bucket_owner", "bucket": "bucket", "remote_ip": "remote_ip",
    "requester": "requester", "request_id": "request_id", "operation": "operation", "key": "key",
    "request_uri": "request_uri", "http_status": "http_status", "error_code": "error_code",
    "bytes_sent": "bytes_sent", "object_size": "object_size", "total_time": "total_time_ms",
    "turn_around_time": "turnaround_time_ms", "user_agent": "user_agent", "host_id": "host_id",
    "signature_version": "signature_version", "cipher_suite": "cipher_suite",
    "authentication_type": "authentication_type", "host_header": "host_header",
    "tls_version": "tls_version",
}  # fmt: skip


def test_published_lines_parse_as_elastic_expects_them() -> None:
    # elastic/integrations s3access pipeline test: aws.s3access.* of its -expected.json for the
    # first, second, third and fourth lines of published.log (fields it leaves out are NULL).
    expected = {
        1: {"bucket": "test-s3-ks", "request_id": "44EE8651683CB4DA", "bytes_sent": 142,
            "total_time": 17, "http_status": 200, "operation": "REST.GET.LOCATION",
            "request_uri": "GET /test-s3-ks/?location&aws-account=627959692251 HTTP/1.1"},
        2: {"bytes_sent": 265, "total_time": 2, "turn_around_time": 1,
            "operation": "REST.GET.BUCKET"},
        3: {"bucket": "jsoriano-s3-test", "http_status": 204, "key": "jolokia-war-1.5.0.war",
            "object_size": 344017, "operation": "BATCH.DELETE.OBJECT",
            "requester": "arn:aws:iam::123456:user/test@elastic.co",
            "host_header": "s3.eu-central-1.amazonaws.com", "tls_version": "TLSv1.2"},
        4: {"http_status": 200, "object_size": 773, "total_time": 103, "turn_around_time": 13,
            "requester": "svc:delivery.logs.amazonaws.com", "request_id": "MVGXZXEVN3IG9S24",
            "cipher_suite": "ECDHE-RSA-AES128-GCM-SHA256"},
    }  # fmt: skip
    absent = {1: ["key", "object_size", "turn_around_time", "error_code"],
              3: ["request_uri", "bytes_sent", "total_time", "user_agent"],
              4: ["remote_ip", "bytes_sent", "user_agent"]}  # fmt: skip
    rows = {r["line_no"]: r for r in parse_access_log_file(GOLDEN / "published.log").rows.to_dicts()}
    for line_no, fields in expected.items():
        for name, value in fields.items():
            assert rows[line_no][_ELASTIC[name]] == value, (line_no, name)
        for name in absent.get(line_no, []):
            assert rows[line_no][_ELASTIC[name]] is None, (line_no, name)
    assert rows[1]["user_agent"].startswith("AWS-Support-TrustedAdvisor, aws-internal/3 ")
    assert all(r["anomalies"] is None for r in rows.values())


# --- objects and lines of any size ---------------------------------------------------------------


def test_objects_parsed_a_piece_at_a_time_give_the_same_rows_and_rejects() -> None:
    # Large objects are parsed in batches of whole lines; where the cuts fall must not matter.
    objects = [(p.name, p.read_bytes()) for p in sorted(GOLDEN.glob("*.log"))]
    objects.append(("bom", b"\xef\xbb\xbf" + objects[0][1]))
    whole = parse_access_logs(objects)
    with mock.patch.object(s3_access, "_BATCH_BYTES", 1500):
        assert len(list(s3_access._batches(objects))) > 10  # the case under test
        pieces = parse_access_logs(objects)
    assert pieces.rows.equals(whole.rows)
    assert pieces.rejects.equals(whole.rejects)


def test_an_overlong_line_is_a_reject_with_its_start_kept_and_the_rest_still_loads() -> None:
    huge = "A" * (s3_access.MAX_LINE_BYTES + 10)
    text = "\n".join([_good("L1"), huge, _good("L3"), "garbage", huge + "\r", _good("L6"), huge])
    objects = [("o", text.encode()), ("p", f"{_good('P1')}\n".encode())]
    result = parse_access_logs(objects)

    assert result.rows.select("evidence_id", "line_no", "request_id").rows() == [
        ("o", 1, "L1"), ("o", 3, "L3"), ("o", 6, "L6"), ("p", 1, "P1")
    ]
    rejects = result.rejects.to_dicts()
    assert [(r["evidence_id"], r["line_no"]) for r in rejects] == [
        ("o", 2), ("o", 4), ("o", 5), ("o", 7)
    ]
    for r in (rejects[0], rejects[2], rejects[3]):
        assert r["raw"] == "A" * s3_access.RAW_KEPT_BYTES
        assert r["reason"].startswith("line too long: 1,048,58")
        assert "MAX_LINE_BYTES" in r["reason"]
    _assert_every_line_accounted(objects)


def test_a_line_just_under_the_limit_is_still_read_as_a_line() -> None:
    line = _good("U1", ua="u" * (s3_access.MAX_LINE_BYTES - 400))
    assert len(line) < s3_access.MAX_LINE_BYTES
    result = parse_access_logs([("o", (line + "\n" + _good("U2")).encode())])
    assert result.rows["request_id"].to_list() == ["U1", "U2"]
