"""The sentences the notebooks print under each result, and the choice of the next pivot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from s3forensics.case import Case
from s3forensics.findings import Finding
from s3forensics.narrative import (
    describe_findings,
    describe_gaps,
    describe_overview,
    describe_peak,
    describe_profile,
    describe_rare,
    describe_top,
    format_bytes,
    lead_entity,
    rank_entities,
    suggest_pivots,
)
from s3forensics.pivots import Profile
from s3forensics.render import format_access_log_line
from tests.factories import sal_record

T0 = datetime(2026, 10, 10, 0, 0, tzinfo=UTC)
ALICE = "arn:aws:iam::111122223333:user/alice"
BOB = "arn:aws:iam::111122223333:user/bob"


def finding(detection: str, severity: str, rows: list[dict[str, object]]) -> Finding:
    # A detection summing up several requests per row returns a list of addresses per row.
    ips = pl.List(pl.String) if any(isinstance(r["source_ip"], list) for r in rows) else pl.String
    frame = pl.DataFrame(rows, schema={"source_ip": ips, "principal": pl.String, "events": pl.Int64})
    return Finding(detection=detection, title=detection.replace("_", " "), severity=severity,
                   mitre=["T1530"], count=frame.height, first_seen=T0, last_seen=T0 + timedelta(hours=1),
                   entities={}, events=int(frame["events"].sum()), rows=frame)


FINDINGS = [
    # High first in the list: the ranking must not depend on the order findings arrive in.
    finding("objects_read_in_bulk", "high", [
        {"source_ip": "198.51.100.9", "principal": BOB, "events": 100},
        {"source_ip": "203.0.113.5", "principal": ALICE, "events": 1},
    ]),
    finding("bucket_exposed_by_policy_or_acl", "critical", [
        {"source_ip": ["203.0.113.5", "AWS Internal"], "principal": ALICE, "events": 5},
    ]),
    finding("access_denied_probing", "medium", [
        {"source_ip": "198.51.100.9", "principal": BOB, "events": 40},
        {"source_ip": "192.0.2.1", "principal": None, "events": 2},
    ]),
]


def test_format_bytes_uses_binary_units() -> None:
    assert format_bytes(0) == "0 B"
    assert format_bytes(1023) == "1,023 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(5 * 1024**3) == "5.0 GiB"
    assert format_bytes(None) == "no bytes recorded"


def test_rank_entities_puts_the_most_severe_first_and_drops_service_names() -> None:
    ranked = rank_entities(FINDINGS, "ip")
    assert ranked["value"].to_list() == ["203.0.113.5", "198.51.100.9", "192.0.2.1"]
    first = ranked.row(0, named=True)
    assert first["severity"] == "critical"
    assert first["detections"] == ["bucket_exposed_by_policy_or_acl", "objects_read_in_bulk"]
    assert first["events"] == 6
    assert ranked.row(1, named=True)["events"] == 140
    assert rank_entities(FINDINGS, "principal")["value"].to_list() == [ALICE, BOB]


def test_rank_entities_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown entity kind 'host'"):
        rank_entities(FINDINGS, "host")


def test_lead_entity_follows_the_findings() -> None:
    assert lead_entity(FINDINGS, "ip") == "203.0.113.5"
    assert lead_entity(FINDINGS, "principal") == ALICE
    assert lead_entity([], "ip") is None


def test_lead_entity_without_findings_is_the_busiest_in_the_case(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [format_access_log_line(sal_record(i, remote_ip="192.0.2.10" if i < 3 else "198.51.100.7",
                                               requester=ALICE if i < 3 else BOB)) for i in range(8)]
    (logs / "sal.log").write_text("\n".join(lines) + "\n")
    with Case.open(tmp_path / "case") as case:
        case.ingest([logs], progress=False)
        assert lead_entity([], "ip", con=case.con) == "198.51.100.7"
        assert lead_entity([], "principal", con=case.con) == BOB


def test_describe_top_names_the_leaders_with_their_share() -> None:
    frame = pl.DataFrame({"source_ip": ["a", "b", "c", "a"], "requests": [5, 3, 1, 1]})
    text = describe_top(frame, label="source_ip", value="requests", n=2)
    assert text.startswith("Most requests: a (6, 60%); b (3, 30%).")
    assert "of the 10 in total across the 3 source_ip values" in text
    bytes_text = describe_top(pl.DataFrame({"ip": ["x"], "bytes_out": [2048]}), label="ip", value="bytes_out")
    assert "x (2.0 KiB, 100%)" in bytes_text
    assert describe_top(frame.clear(), label="source_ip", value="requests") == "No requests in this window."
    deleted = pl.DataFrame({"actor": ["mallory", "AmazonS3", "mallory", "mallory"]})
    assert describe_top(deleted, label="actor", what="deletions").startswith(
        "Most deletions: mallory (3, 75%); AmazonS3 (1, 25%).")


def test_describe_peak_compares_the_busiest_period_with_the_median() -> None:
    frame = pl.DataFrame({
        "period_start": [T0, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)],
        "status_class": ["2xx", "4xx", "2xx", "2xx"],
        "requests": [1, 1, 10, 2],
    })
    text = describe_peak(frame, time="period_start", value="requests")
    assert text.startswith("Busiest period for requests: 2026-10-10 01:00Z with 10, 5 times the median period (2).")
    assert "3 periods have some, from 2026-10-10 00:00Z to 2026-10-10 02:00Z" in text


def test_describe_rare_lists_the_rarest_first() -> None:
    mix = pl.DataFrame({"operation": ["GetObject", "PutBucketPolicy", "DeleteObjects", "ListBuckets"],
                        "requests": [900, 1, 2, 40]})
    assert describe_rare(mix, label="operation", value="requests", max_count=3) == \
        "2 operation values occur at most 3 times: PutBucketPolicy (1), DeleteObjects (2)."


def test_describe_gaps_finds_the_longest_run_of_empty_hours() -> None:
    hours = [T0 + timedelta(hours=h) for h in range(6)]
    coverage = pl.DataFrame({
        "source": ["s3-access"] * 6 + ["cloudtrail"] * 6,
        "hour": hours + hours,
        "records": [4, 0, 0, 3, 0, 2] + [1] * 6,
        "is_gap": [False, True, True, False, True, False] + [False] * 6,
    })
    text = describe_gaps(coverage)
    assert "cloudtrail: records in every one of its 6 hours, no gaps." in text
    assert ("s3-access: 3 of 6 hours have no records, in 2 gap(s); the longest runs 2 h from "
            "2026-10-10 01:00Z to 2026-10-10 03:00Z.") in text


def test_describe_overview_flags_a_missing_source() -> None:
    overview = pl.DataFrame({
        "source": ["s3-access", "cloudtrail", "cloudtrail-digest"], "objects": [3, 0, 2], "rows": [120, 0, 0],
        "rejects": [1, 0, 0], "first_event": [T0, None, None], "last_event": [T0 + timedelta(days=1), None, None],
        "buckets": [2, 0, 0], "principals": [4, 0, 0], "source_ips": [9, 0, 0],
    })
    text = describe_overview(overview)
    assert "cloudtrail: no records - this source is missing from the case." in text
    assert "cloudtrail-digest: 2 digest files" in text
    assert "s3-access: 120 records from 3 evidence objects, 2026-10-10 00:00Z to 2026-10-11 00:00Z" in text


def test_describe_findings_counts_severities_and_names_entities() -> None:
    text = describe_findings(FINDINGS)
    assert text.startswith("3 detections fired (1 critical, 1 high, 1 medium)")
    assert "Most severe: bucket_exposed_by_policy_or_acl (critical" in text
    assert "Addresses named: 203.0.113.5, 198.51.100.9, 192.0.2.1." in text
    assert describe_findings([]) == "No detection fired in this window."


def _profile(**summary: object) -> Profile:
    related = {"actor": pl.DataFrame({"value": [ALICE, BOB], "events": [7, 2]})}
    return Profile("ip", "203.0.113.5", dict(summary), pl.DataFrame(), pl.DataFrame(), related,
                   pl.DataFrame(), ["bucket_exposed_by_policy_or_acl"])


def test_describe_profile_gives_the_headline_or_says_the_entity_is_absent() -> None:
    p = _profile(events=9, access_log_rows=6, cloudtrail_events=3, first_seen=T0,
                 last_seen=T0 + timedelta(minutes=30), failed=2, bytes_out=3 * 1024**2, ips=1,
                 principals=2, buckets=1, objects=5)
    text = describe_profile(p)
    assert text.startswith("ip 203.0.113.5: 9 events (6 access log rows, 3 CloudTrail events) from "
                           "2026-10-10 00:00Z to 2026-10-10 00:30Z; 2 failed; 3.0 MiB sent to it")
    assert text.endswith("Named by 1 detection(s): bucket_exposed_by_policy_or_acl.")
    assert "does not appear in the case" in describe_profile(_profile(events=0))


def test_suggest_pivots_points_at_the_entity_notebooks() -> None:
    lines = suggest_pivots(findings=FINDINGS, limit=2).splitlines()
    assert lines[0].startswith("- `03_investigate_ip` with `-p ip 203.0.113.5` (critical;")
    assert lines[1].startswith("- `03_investigate_ip` with `-p ip 198.51.100.9` (high;")
    assert lines[2].startswith(f"- `04_investigate_principal` with `-p principal {ALICE}`")
    assert len(lines) == 4
    from_profile = suggest_pivots(profile=_profile(events=9)).splitlines()
    assert from_profile == [
        f"- `04_investigate_principal` with `-p principal {ALICE}` (7 events with 203.0.113.5)",
        f"- `04_investigate_principal` with `-p principal {BOB}` (2 events with 203.0.113.5)",
    ]
    assert suggest_pivots().startswith("Nothing to pivot to")
