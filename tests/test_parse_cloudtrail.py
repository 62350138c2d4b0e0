"""CloudTrail parser: input layouts, tricky records, rejects, duplicates, whole-object errors."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3forensics.errors import InputError
from s3forensics.parse.cloudtrail import (
    CLOUDTRAIL_SCHEMA,
    parse_cloudtrail,
    parse_cloudtrail_bytes,
    parse_cloudtrail_file,
    sniff_cloudtrail,
)
from s3forensics.parse.common import REJECT_SCHEMA
from s3forensics.render import render_cloudtrail_file

GOLDEN = Path(__file__).parent / "golden" / "cloudtrail"
RECORDS_GZ = GOLDEN / "111122223333_CloudTrail_us-east-1_20240501T1045Z_abcdEFGH12345678.json.gz"
DIGEST_GZ = (
    GOLDEN
    / "111122223333_CloudTrail-Digest_us-east-1_main-trail_us-east-1_20240501T110000Z.json.gz"
)
EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
# The input events themselves: JSON-text columns and `raw` must give them back unchanged.
INPUT_RECORDS: list[dict[str, Any]] = json.loads((GOLDEN / "records.json").read_text())["Records"]
JSON_COLUMNS = {
    "request_parameters": "requestParameters",
    "response_elements": "responseElements",
    "additional_event_data": "additionalEventData",
    "resources": "resources",
}


def event(**overrides: Any) -> dict[str, Any]:
    """A minimal valid record; keyword arguments replace or add top-level fields."""
    base: dict[str, Any] = {
        "eventVersion": "1.10",
        "eventTime": "2024-05-01T00:00:00Z",
        "eventName": "GetObject",
        "eventSource": "s3.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"},
    }
    base.update(overrides)
    return base


def ndjson(*records: Any) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def as_python(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def check_against_golden(rows: pl.DataFrame) -> None:
    """Compare parsed rows with expected.json (scalars) and the input records (JSON and raw)."""
    expected = EXPECTED["rows"]
    assert rows.height == len(expected)
    for got, want, source in zip(rows.iter_rows(named=True), expected, INPUT_RECORDS):
        for column, value in want.items():
            assert as_python(got[column]) == value, (want["event_id"], column)
        for column, key in JSON_COLUMNS.items():
            if source.get(key) is None:
                assert got[column] is None, (want["event_id"], column)
            else:
                assert json.loads(got[column]) == source[key], (want["event_id"], column)
        assert json.loads(got["raw"]) == source


# ----------------------------------------------------------------------------- contract


def test_schema_is_the_column_contract() -> None:
    assert list(CLOUDTRAIL_SCHEMA) == [
        "event_time", "event_id", "event_name", "event_source", "event_type", "event_category",
        "event_version", "aws_region", "source_ip", "user_agent", "identity_type",
        "principal_arn", "principal_id", "account_id", "access_key_id", "user_name",
        "session_issuer_arn", "session_mfa", "invoked_by", "recipient_account_id", "request_id",
        "shared_event_id", "read_only", "management_event", "error_code", "error_message",
        "bucket", "object_key", "bytes_in", "bytes_out", "x_amz_id_2", "vpc_endpoint_id",
        "tls_version", "request_parameters", "response_elements", "additional_event_data",
        "resources", "raw", "evidence_id", "record_no",
    ]  # fmt: skip
    assert CLOUDTRAIL_SCHEMA["event_time"] == pl.Datetime("us", "UTC")
    for column in ("session_mfa", "read_only", "management_event"):
        assert CLOUDTRAIL_SCHEMA[column] == pl.Boolean()
    for column in ("bytes_in", "bytes_out", "record_no"):
        assert CLOUDTRAIL_SCHEMA[column] == pl.Int64()
    others = set(CLOUDTRAIL_SCHEMA) - {
        "event_time", "session_mfa", "read_only", "management_event", "bytes_in", "bytes_out",
        "record_no",
    }  # fmt: skip
    assert all(CLOUDTRAIL_SCHEMA[c] == pl.String() for c in others)


def test_results_have_the_declared_schemas() -> None:
    result = parse_cloudtrail_file(GOLDEN / "damaged.ndjson")
    assert result.rows.schema == pl.Schema(CLOUDTRAIL_SCHEMA)
    assert result.rejects.schema == pl.Schema(REJECT_SCHEMA)
    empty = parse_cloudtrail([])
    assert empty.rows.schema == pl.Schema(CLOUDTRAIL_SCHEMA) and empty.rows.height == 0
    assert empty.rejects.schema == pl.Schema(REJECT_SCHEMA) and empty.rejects.height == 0


# ----------------------------------------------------------------------------- golden files


def test_s3_delivered_json_file() -> None:
    result = parse_cloudtrail_file(GOLDEN / "records.json")
    check_against_golden(result.rows)
    assert result.duplicates == EXPECTED["duplicates"]
    assert result.duplicates_by_evidence == {str(GOLDEN / "records.json"): 1}
    assert result.rejects.height == 0
    assert result.rows["evidence_id"].unique().to_list() == [str(GOLDEN / "records.json")]


def test_s3_delivered_gzip_file_matches_the_plain_one() -> None:
    result = parse_cloudtrail_file(RECORDS_GZ, evidence_id="s3://trail/key.json.gz")
    check_against_golden(result.rows)
    assert result.duplicates == 1
    assert result.rows["evidence_id"].unique().to_list() == ["s3://trail/key.json.gz"]
    via_bytes = parse_cloudtrail_bytes(
        RECORDS_GZ.read_bytes(), evidence_id="s3://trail/key.json.gz"
    )
    assert via_bytes.rows.equals(result.rows)


def test_one_record_per_line_with_crlf_and_a_blank_line() -> None:
    result = parse_cloudtrail_file(GOLDEN / "records.ndjson")
    # The blank line between records 5 and 6 is not a record, so numbering stays 1..9.
    check_against_golden(result.rows)
    assert result.duplicates == 1
    assert result.rejects.height == 0


@pytest.mark.parametrize("name", ["lookup-events.json", "lookup-events.ndjson"])
def test_lookup_events_output_and_its_items_per_line(name: str) -> None:
    result = parse_cloudtrail_file(GOLDEN / name)
    check_against_golden(result.rows)
    assert result.duplicates == 0
    assert result.rejects.height == 0


def test_digest_file_is_recognised_and_refused() -> None:
    assert sniff_cloudtrail(DIGEST_GZ.read_bytes()) == "digest"
    with pytest.raises(InputError) as info:
        parse_cloudtrail_file(DIGEST_GZ)
    assert info.value.where == str(DIGEST_GZ)
    assert "CloudTrail digest file, not event records" in info.value.problem


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("records.json", "records"),
        (RECORDS_GZ.name, "records"),  # gzip is sniffed through
        ("records.ndjson", "ndjson"),
        ("lookup-events.json", "lookup-events"),
        ("lookup-events.ndjson", "lookup-events"),
        (DIGEST_GZ.name, "digest"),
        ("expected.json", None),  # JSON, but not CloudTrail
    ],
)
def test_sniff_names_each_layout_from_the_first_kilobytes(name: str, kind: str | None) -> None:
    assert sniff_cloudtrail((GOLDEN / name).read_bytes()[:4096]) == kind


def test_sniff_reads_through_a_partial_gzip_prefix() -> None:
    assert sniff_cloudtrail(RECORDS_GZ.read_bytes()[:300]) == "records"


def test_sniff_rejects_non_json() -> None:
    line = (
        b'79a5 mybucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57 REST.GET.OBJECT key "GET /"'
    )
    assert sniff_cloudtrail(line) is None
    assert sniff_cloudtrail(b"") is None


# ----------------------------------------------------------------------------- tricky records


def test_assumed_role_keeps_session_issuer_and_mfa() -> None:
    row = parse_cloudtrail_file(GOLDEN / "records.json").rows.row(0, named=True)
    assert row["identity_type"] == "AssumedRole"
    assert row["user_name"] == "DataAnalyst"  # no userName: the role that issued the session
    assert row["session_issuer_arn"] == "arn:aws:iam::111122223333:role/DataAnalyst"
    assert row["session_mfa"] is True
    assert row["access_key_id"] == "ASIAEXAMPLEKEY000001"


def test_anonymous_and_redacted_accounts_stay_text() -> None:
    rows = parse_cloudtrail_file(GOLDEN / "records.json").rows
    assert rows["account_id"][1] == "ANONYMOUS_PRINCIPAL"
    assert rows["principal_arn"][1] is None and rows["principal_id"][1] == ""
    assert rows["account_id"][2] == "HIDDEN_DUE_TO_SECURITY_REASONS"


def test_missing_identity_type_loads_with_null_type() -> None:
    row = parse_cloudtrail_file(GOLDEN / "records.json").rows.row(3, named=True)
    assert row["identity_type"] is None
    assert row["invoked_by"] == "s3.amazonaws.com"
    assert row["account_id"] == "111122223333"


def test_same_path_object_in_one_record_and_string_in_another() -> None:
    rows = parse_cloudtrail_file(GOLDEN / "records.json").rows
    assert json.loads(rows["request_parameters"][0])["bucketName"] == "finance-reports"
    assert rows["request_parameters"][4] == '"HIDDEN_DUE_TO_SECURITY_REASONS"'  # still valid JSON
    assert rows["bucket"][4] is None and rows["object_key"][4] is None


def test_object_where_a_string_column_expects_text_becomes_json_text() -> None:
    data = ndjson(
        event(userIdentity={"type": "IAMUser", "arn": {"odd": [1, 2]}}),
        event(userIdentity="HIDDEN_DUE_TO_SECURITY_REASONS"),
        event(userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"}),
    )
    result = parse_cloudtrail_bytes(data)
    assert result.rejects.height == 0
    assert json.loads(result.rows["principal_arn"][0]) == {"odd": [1, 2]}
    assert result.rows["identity_type"][1] is None and result.rows["principal_arn"][1] is None
    assert result.rows["principal_arn"][2] == "arn:aws:iam::111122223333:user/bob"


def test_float_and_string_byte_counts_become_integers() -> None:
    row = parse_cloudtrail_file(GOLDEN / "records.json").rows.row(5, named=True)
    assert (row["bytes_in"], row["bytes_out"]) == (1024, 0)  # 1024.0 and "0" in the record
    assert row["event_time"] == datetime(2024, 5, 1, 10, 25, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1024, 1024),
        (1024.0, 1024),
        ("2048", 2048),
        (1e3, 1000),
        (1024.5, None),  # a fractional count is not rounded into a wrong one
        ("n/a", None),
        (9007199254740993, 9007199254740993),  # beyond float precision, still exact
    ],
)
def test_byte_count_conversion(value: Any, expected: int | None) -> None:
    data = ndjson(event(additionalEventData={"bytesTransferredOut": value}))
    assert parse_cloudtrail_bytes(data).rows["bytes_out"].to_list() == [expected]


def test_s3_data_event_has_the_correlation_keys() -> None:
    row = parse_cloudtrail_file(GOLDEN / "records.json").rows.row(0, named=True)
    assert row["request_id"] == "R1REQUEST0000001"
    assert row["x_amz_id_2"] == "r1HostId+AbCdEf0123456789="
    assert (row["bucket"], row["object_key"]) == ("finance-reports", "2024/q1/payroll.csv")
    assert (row["bytes_in"], row["bytes_out"]) == (0, 52344)


def test_delete_objects_has_a_bucket_but_no_key() -> None:
    row = parse_cloudtrail_file(GOLDEN / "records.json").rows.row(6, named=True)
    assert row["event_name"] == "DeleteObjects"
    assert row["bucket"] == "finance-reports"
    assert row["object_key"] is None  # the ARNPrefix names no object
    assert json.loads(row["resources"])[0] == {
        "type": "AWS::S3::Object",
        "ARNPrefix": "arn:aws:s3:::finance-reports/",
    }


def test_bucket_and_key_fall_back_to_resource_arns() -> None:
    row = parse_cloudtrail_file(GOLDEN / "records.json").rows.row(7, named=True)
    assert (row["bucket"], row["object_key"]) == ("finance-reports", "2024/q1/bonus plan.xlsx")
    assert row["x_amz_id_2"] == "r8HostId+EfGhIj="  # spelled xAmzId2 in this record


def test_keys_first_seen_in_the_last_of_many_records_are_kept() -> None:
    records = [event(eventID=f"id-{i}") for i in range(3000)]
    records[-1].update(
        vpcEndpointId="vpce-late",
        errorCode="NoSuchKey",
        tlsDetails={"tlsVersion": "TLSv1.3"},
        additionalEventData={"x-amz-id-2": "late-host-id", "bytesTransferredOut": 7},
        userIdentity={
            "type": "AssumedRole",
            "sessionContext": {
                "sessionIssuer": {"arn": "arn:aws:iam::1:role/Late", "userName": "Late"},
                "attributes": {"mfaAuthenticated": "true"},
            },
        },
    )
    rows = parse_cloudtrail_bytes(render_cloudtrail_file(records)).rows
    last = rows.row(-1, named=True)
    assert (last["vpc_endpoint_id"], last["error_code"], last["tls_version"]) == (
        "vpce-late", "NoSuchKey", "TLSv1.3",
    )  # fmt: skip
    assert (last["x_amz_id_2"], last["bytes_out"]) == ("late-host-id", 7)
    assert (last["user_name"], last["session_mfa"]) == ("Late", True)
    assert rows.height == 3000 and rows["vpc_endpoint_id"].null_count() == 2999


def test_booleans_accept_json_booleans_and_strings() -> None:
    data = ndjson(
        event(readOnly=True, managementEvent="false"),
        event(readOnly="TRUE", managementEvent=False),
        event(readOnly="maybe"),
    )
    rows = parse_cloudtrail_bytes(data).rows
    assert rows["read_only"].to_list() == [True, True, None]
    assert rows["management_event"].to_list() == [False, False, None]


def test_event_time_is_utc_whatever_offset_the_record_uses() -> None:
    data = ndjson(
        event(eventTime="2024-05-01T12:00:00+02:00"), event(eventTime="2024-05-01T10:00:00Z")
    )
    rows = parse_cloudtrail_bytes(data).rows
    assert rows.schema["event_time"] == pl.Datetime("us", "UTC")
    assert rows["event_time"].to_list() == [datetime(2024, 5, 1, 10, tzinfo=UTC)] * 2


# ----------------------------------------------------------------------------- duplicates


def test_duplicate_event_ids_load_once_across_objects_of_a_batch() -> None:
    first = render_cloudtrail_file([event(eventID="a"), event(eventID="b")])
    # The same event delivered again, written differently (pretty-printed, keys reordered).
    again = json.loads(json.dumps(event(eventID="b")))
    second = json.dumps({"Records": [dict(reversed(list(again.items()))), event(eventID="c")]},
                        indent=2).encode()
    result = parse_cloudtrail([("obj-1", gzip.decompress(first)), ("obj-2", second)])
    assert result.rows["event_id"].to_list() == ["a", "b", "c"]
    assert result.duplicates == 1
    kept_b = result.rows.filter(pl.col("event_id") == "b").row(0, named=True)
    assert kept_b["evidence_id"] == "obj-1"  # first wins
    assert result.duplicates_by_evidence == {"obj-2": 1}


def test_a_record_reusing_an_event_id_with_other_content_is_not_dropped() -> None:
    # A forged record placed first under a real eventID must not hide the real one: a record
    # is a repeat only with the same content, so both stay (a query lists such eventIDs).
    forged = render_cloudtrail_file([event(eventID="b", sourceIPAddress="198.51.100.66")])
    real = render_cloudtrail_file([event(eventID="b"), event(eventID="b")])
    result = parse_cloudtrail([("forged", gzip.decompress(forged)), ("real", gzip.decompress(real))])
    assert result.rows.select("evidence_id", "source_ip").rows() == [
        ("forged", "198.51.100.66"), ("real", None)]
    assert result.duplicates == 1 and result.duplicates_by_evidence == {"real": 1}


def test_records_without_event_id_are_never_duplicates() -> None:
    result = parse_cloudtrail_bytes(ndjson(event(), event(), event(eventID="x")))
    assert result.rows.height == 3 and result.duplicates == 0


# ----------------------------------------------------------------------------- damage


def test_damaged_lines_are_rejected_with_their_line_numbers() -> None:
    path = GOLDEN / "damaged.ndjson"
    lines = path.read_text().split("\n")
    result = parse_cloudtrail_file(path)
    assert result.rows["record_no"].to_list() == [1, 6]
    assert result.rows["event_id"].to_list() == [
        "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000005",
    ]  # fmt: skip
    rejects = result.rejects
    assert rejects["line_no"].to_list() == [2, 4, 5, 6]  # line 3 is blank
    assert rejects["record_no"].to_list() == [2, 3, 4, 5]
    assert rejects["raw"].to_list() == [lines[1], lines[3], lines[4], lines[5]]
    assert rejects["evidence_id"].unique().to_list() == [str(path)]
    reasons = rejects["reason"].to_list()
    assert reasons[0].startswith("not valid JSON: ")
    assert reasons[1] == "record is not a JSON object (got an array)"
    assert reasons[2] == "record has no eventTime"
    assert reasons[3].startswith('eventTime "yesterday" is not an ISO-8601 timestamp')


def test_a_damaged_first_line_does_not_hide_the_lines_after_it() -> None:
    data = b"\x00\x00garbage from a partial write\n" + ndjson(
        event(eventID="a"), event(eventID="b")
    )
    result = parse_cloudtrail_bytes(data)
    assert result.rows["event_id"].to_list() == ["a", "b"]
    assert result.rejects.select("line_no", "record_no").row(0) == (1, 1)


def test_line_that_is_not_utf8_is_rejected_and_the_rest_load() -> None:
    data = ndjson(event(eventID="a")) + b'{"eventTime": "\xff\xfe"}\n' + ndjson(event(eventID="b"))
    result = parse_cloudtrail_bytes(data, evidence_id="e")
    assert result.rows["event_id"].to_list() == ["a", "b"]
    assert result.rows["record_no"].to_list() == [1, 3]
    reject = result.rejects.row(0, named=True)
    assert (reject["line_no"], reject["record_no"]) == (2, 2)
    assert "not UTF-8" in reject["reason"] and "\\xff" in reject["raw"]


def test_truncated_json_file_names_the_object() -> None:
    data = (GOLDEN / "records.json").read_bytes()
    with pytest.raises(InputError) as info:
        parse_cloudtrail([("s3://trail/cut.json", data[: len(data) // 2])])
    assert info.value.where == "s3://trail/cut.json"
    assert info.value.problem.startswith("truncated JSON: ")


def test_collect_keeps_the_rest_of_a_batch_when_objects_are_unusable() -> None:
    data = (GOLDEN / "records.json").read_bytes()
    batch = [
        ("good-1", render_cloudtrail_file([event(eventID="a")], gz=False)),
        ("cut", data[:5000]),
        ("digest", gzip.decompress(DIGEST_GZ.read_bytes())),
        ("not-json", b"hello world\n"),
        ("good-2", ndjson(event(eventID="b"))),
    ]
    with pytest.raises(InputError) as info:
        parse_cloudtrail(batch)
    assert info.value.where in {"cut", "digest", "not-json"}
    result = parse_cloudtrail(batch, errors="collect")
    assert result.rows["event_id"].to_list() == ["a", "b"]
    whole = {r["evidence_id"]: r for r in result.rejects.iter_rows(named=True)}
    assert set(whole) == {"cut", "digest", "not-json"}
    assert all(r["line_no"] is None and r["record_no"] is None for r in whole.values())
    assert "truncated JSON" in whole["cut"]["reason"]
    assert "CloudTrail digest file, not event records" in whole["digest"]["reason"]
    assert "not CloudTrail JSON" in whole["not-json"]["reason"]


def test_records_that_is_not_an_array_is_an_error() -> None:
    with pytest.raises(InputError, match="Records is not a JSON array"):
        parse_cloudtrail_bytes(b'{"Records": {"eventTime": "2024-05-01T00:00:00Z"}}')


def test_empty_records_and_empty_objects_hold_no_records() -> None:
    result = parse_cloudtrail([("a", b'{"Records": []}'), ("b", b""), ("c", b"\n \n")])
    assert result.rows.height == 0 and result.rejects.height == 0


def test_lookup_items_without_a_usable_cloudtrail_event_are_rejected() -> None:
    items = [
        {"EventId": "1", "CloudTrailEvent": json.dumps(event(eventID="1"))},
        {"EventId": "2", "EventName": "GetObject"},
        {"EventId": "3", "CloudTrailEvent": '{"eventTime": "2024-05-01T00:00:00Z", "eventName'},
    ]
    result = parse_cloudtrail_bytes(json.dumps({"Events": items}).encode())
    assert result.rows["event_id"].to_list() == ["1"]
    reasons = result.rejects["reason"].to_list()
    assert result.rejects["record_no"].to_list() == [2, 3]
    assert reasons[0].startswith("no CloudTrailEvent")
    assert reasons[1].startswith("CloudTrailEvent is not a valid JSON record")
    assert json.loads(result.rejects["raw"][0]) == items[1]  # the item itself is kept


def test_a_record_pretty_printed_on_many_lines_is_one_record() -> None:
    data = json.dumps(event(eventID="console-copy"), indent=2).encode()
    result = parse_cloudtrail_bytes(data)
    assert result.rows["event_id"].to_list() == ["console-copy"]
    assert result.rows["record_no"].to_list() == [1]


def test_pretty_printed_records_one_after_another_ask_for_one_per_line() -> None:
    data = (json.dumps(event(), indent=2) + "\n" + json.dumps(event(), indent=2)).encode()
    with pytest.raises(InputError, match="jq -c"):
        parse_cloudtrail_bytes(data)


def test_a_bare_array_of_records_is_accepted() -> None:
    result = parse_cloudtrail_bytes(json.dumps([event(eventID="x"), event(eventID="y")]).encode())
    assert result.rows["event_id"].to_list() == ["x", "y"]
    assert result.rows["record_no"].to_list() == [1, 2]


# ----------------------------------------------------------------------------- invariant

_value = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False,
    allow_infinity=False), st.text(max_size=8),
)  # fmt: skip
_json = st.recursive(
    _value,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_record = st.fixed_dictionaries(
    {
        "eventTime": st.sampled_from(["2024-05-01T00:00:00Z", "2024-02-29T23:59:59.999Z", "bad"]),
        "eventID": st.sampled_from(["a", "b", "c", "d"]),
    },
    optional={
        "userIdentity": _json,
        "requestParameters": _json,
        "additionalEventData": _json,
        "resources": _json,
        "readOnly": _json,
        "eventName": _json,
    },
)
_item = st.one_of(_record, _record, _record, _json)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    objects=st.lists(st.lists(_item, max_size=6), min_size=1, max_size=3), as_lines=st.booleans()
)
def test_every_record_becomes_a_row_a_reject_or_a_duplicate(
    objects: list[list[Any]], as_lines: bool
) -> None:
    if as_lines:
        # Line-delimited input is recognised by its content, so each object opens with a record.
        objects = [[event(eventID="first")] + items for items in objects]
    batch = [
        (f"obj-{i}", ndjson(*items) if as_lines else json.dumps({"Records": items}).encode())
        for i, items in enumerate(objects)
    ]
    result = parse_cloudtrail(batch)
    assert result.rows.height + result.rejects.height + result.duplicates == sum(map(len, objects))
    for evidence_id, _ in batch:  # and object by object
        n_in = len(objects[int(evidence_id.split("-")[1])])
        n_rows = result.rows.filter(pl.col("evidence_id") == evidence_id).height
        n_rejects = result.rejects.filter(pl.col("evidence_id") == evidence_id).height
        assert n_rows + n_rejects + result.duplicates_by_evidence.get(evidence_id, 0) == n_in
    assert result.rejects["reason"].null_count() == 0
    for row in result.rows.iter_rows(named=True):
        source = objects[int(row["evidence_id"].split("-")[1])][row["record_no"] - 1]
        assert json.loads(row["raw"]) == source
        assert row["event_time"] - datetime(2024, 1, 1, tzinfo=UTC) < timedelta(days=365)
    for reject in result.rejects.iter_rows(named=True):
        source = objects[int(reject["evidence_id"].split("-")[1])][reject["record_no"] - 1]
        assert json.loads(reject["raw"]) == source


def test_outposts_key_and_insights_names_come_through() -> None:
    """Shapes from AWS's documentation: an S3 on Outposts PutObject and an Insights event."""
    outposts = {
        "eventVersion": "1.08", "eventTime": "2020-11-30T15:44:33Z",
        "eventSource": "s3-outposts.amazonaws.com", "eventName": "PutObject",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/yourUserName"},
        "requestParameters": {"bucketName": "DOC-EXAMPLE-BUCKET1", "Key": "path/upload.sh"},
        "resources": [{"type": "AWS::S3Outposts::Object",
                       "ARN": "arn:aws:s3-outposts:us-east-1:YYY:outpost/op-01ac5d28a6a232904/bucket/path/upload.sh"}],
        "eventID": "ee3b4e0c-ab12-459b-9998-0a5a6f2e4015",
    }
    insight = {
        "eventVersion": "1.08", "eventTime": "2023-07-10T01:42:00Z", "awsRegion": "us-east-1",
        "eventID": "55ed45c5-0b0c-4228-9fe5-EXAMPLEc3f4d", "eventType": "AwsCloudTrailInsight",
        "insightDetails": {"state": "Start", "eventSource": "autoscaling.amazonaws.com",
                           "eventName": "CompleteLifecycleAction", "insightType": "ApiCallRateInsight"},
        "eventCategory": "Insight",
    }
    rows = parse_cloudtrail_bytes(json.dumps({"Records": [outposts, insight]}).encode()).rows
    assert rows.select("bucket", "object_key").row(0) == ("DOC-EXAMPLE-BUCKET1", "path/upload.sh")
    assert rows.select("event_source", "event_name").row(1) == (
        "autoscaling.amazonaws.com", "CompleteLifecycleAction")


def _record_text(i: int, **extra: str) -> str:
    """One compact record as CloudTrail writes it, with JSON spellings a re-serialiser changes."""
    fields = "".join(f',"{k}":{v}' for k, v in extra.items())
    return (
        '{"eventVersion":"1.09","eventTime":"2024-05-01T12:00:0' + str(i) + 'Z",'
        '"eventName":"GetObject","eventSource":"s3.amazonaws.com",'
        '"userAgent":"caf\\u00e9 \\"quoted\\"","eventID":"id-' + str(i) + '",'
        '"additionalEventData":{"bytesTransferredOut":1e3}' + fields + "}"
    )


def test_records_file_rows_keep_each_records_exact_bytes() -> None:
    records = [_record_text(i) for i in range(3)]
    data = ('{"Records":[' + ",".join(records) + "]}\n").encode()
    result = parse_cloudtrail_bytes(data)
    assert result.rejects.height == 0
    assert result.rows["raw"].to_list() == records  # byte for byte, escapes and 1e3 included
    assert result.rows["record_no"].to_list() == [1, 2, 3]
    assert result.rows["bytes_out"].to_list() == [1000, 1000, 1000]
    assert result.rows["user_agent"][0] == 'café "quoted"'


@pytest.mark.parametrize(
    "middle",
    [
        # A nested object whose first key is eventVersion: the text split cuts inside a record.
        _record_text(1, requestParameters='{"items":[{"a":1},{"eventVersion":"x"}]}'),
        # A record that does not start with eventVersion: the split misses a boundary.
        '{"eventTime":"2024-05-01T12:00:01Z","eventName":"PutObject","eventID":"id-1"}',
    ],
)
def test_records_files_the_text_split_gets_wrong_are_read_as_documents(middle: str) -> None:
    data = ('{"Records":[' + ",".join([_record_text(0), middle, _record_text(2)]) + "]}").encode()
    result = parse_cloudtrail_bytes(data)
    assert result.rejects.height == 0
    assert result.rows["event_id"].to_list() == ["id-0", "id-1", "id-2"]
    assert result.rows["record_no"].to_list() == [1, 2, 3]
    assert [json.loads(r) for r in result.rows["raw"]] == [
        json.loads(r) for r in (_record_text(0), middle, _record_text(2))
    ]
