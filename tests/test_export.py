"""Exports other tools import: Timesketch JSONL, an ATT&CK Navigator layer, CSV, JSONL and Parquet."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from s3forensics.case import Case
from s3forensics.export import SEVERITY_SCORES, attack_layer, export_case, findings_rows
from s3forensics.findings import run_findings
from s3forensics.queries import FINDING_COLUMNS, default_registry


@pytest.fixture(scope="module")
def case(sample_case_dir: Path):  # type: ignore[no-untyped-def]
    with Case.open(sample_case_dir, create=False, read_only=True) as c:
        yield c


@pytest.fixture(scope="module")
def findings(case: Case) -> list[Any]:
    return run_findings(case.con)


# -- ATT&CK Navigator layer format 4.5, checked against its published definition -------------------
# https://github.com/mitre-attack/attack-navigator/blob/master/layers/spec/v4.5/layerformat.md

_LAYER_KEYS = {"versions", "name", "description", "domain", "customDataURL", "filters", "sorting", "layout",
               "hideDisabled", "techniques", "gradient", "legendItems", "showTacticRowBackground",
               "tacticRowBackground", "selectTechniquesAcrossTactics", "selectSubtechniquesWithParent",
               "selectVisibleTechniques", "metadata", "links"}
_TECHNIQUE_KEYS = {"techniqueID", "tactic", "comment", "enabled", "score", "color", "metadata", "links",
                   "showSubtechniques"}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def layer_problems(layer: Any) -> list[str]:
    """What in `layer` breaks the layer format 4.5 definition (empty when it is a valid layer)."""
    problems: list[str] = []
    if not isinstance(layer, dict):
        return ["a layer is a JSON object"]
    problems += [f"unknown property {k}" for k in sorted(set(layer) - _LAYER_KEYS)]
    if not isinstance(layer.get("name"), str):
        problems.append("name (string) is required")
    if layer.get("domain") not in ("enterprise-attack", "mobile-attack", "ics-attack"):
        problems.append("domain must be enterprise-attack, mobile-attack or ics-attack")
    versions = layer.get("versions", {})
    if versions.get("layer") != "4.5":
        problems.append('versions.layer must be "4.5"')
    navigator = tuple(int(x) for x in str(versions.get("navigator", "0")).split("."))
    if navigator < (4, 9, 0):
        problems.append("versions.navigator must be at least 4.9.0")
    if "sorting" in layer and layer["sorting"] not in (0, 1, 2, 3):
        problems.append("sorting must be 0..3")
    for n, t in enumerate(layer.get("techniques", [])):
        problems += [f"techniques[{n}]: unknown property {k}" for k in sorted(set(t) - _TECHNIQUE_KEYS)]
        if not re.fullmatch(r"T\d{4}(\.\d{3})?", str(t.get("techniqueID", ""))):
            problems.append(f"techniques[{n}]: techniqueID must be T#### or T####.###")
        if "score" in t and not isinstance(t["score"], (int, float)):
            problems.append(f"techniques[{n}]: score must be a number")
        if not isinstance(t.get("comment", ""), str) or not isinstance(t.get("enabled", True), bool):
            problems.append(f"techniques[{n}]: comment is a string, enabled a boolean")
        for m in t.get("metadata", []):
            if not (m == {"divider": True} or (set(m) == {"name", "value"}
                                               and all(isinstance(v, str) for v in m.values()))):
                problems.append(f"techniques[{n}]: metadata items are {{name, value}} strings or dividers")
    gradient = layer.get("gradient")
    if gradient is not None:
        colors = gradient.get("colors", [])
        if len(colors) < 2 or not all(_HEX.match(c) for c in colors):
            problems.append("gradient.colors needs at least two #rrggbb colours")
        if not gradient.get("minValue", 0) < gradient.get("maxValue", 0):
            problems.append("gradient.maxValue must be greater than minValue")
    for item in layer.get("legendItems", []):
        if set(item) != {"label", "color"}:
            problems.append("legendItems are {label, color}")
    return problems


def test_the_layer_check_refuses_what_the_format_forbids() -> None:
    assert layer_problems({"name": "x", "domain": "enterprise-attack", "versions": {"layer": "4.5", "navigator": "5.1.0"},
                           "techniques": [{"techniqueID": "T1530", "score": 75}]}) == []
    broken = {"name": 3, "domain": "mitre-enterprise", "versions": {"layer": "4.3", "navigator": "4.8.2"},
              "techniques": [{"techniqueID": "1530", "score": "high", "colour": "red"}],
              "gradient": {"colors": ["red"], "minValue": 100, "maxValue": 0}}
    assert len(layer_problems(broken)) == 9  # name, domain, layer, navigator, colour, id, score, colours, range


def test_attack_layer_scores_techniques_by_their_most_severe_finding(findings: list[Any]) -> None:
    layer = attack_layer(findings)
    assert layer_problems(layer) == []
    covered = {t for f in findings for t in f.mitre}
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert set(by_id) == covered
    for technique, entry in by_id.items():
        hits = [f for f in findings if technique in f.mitre]
        assert entry["score"] == max(SEVERITY_SCORES[f.severity] for f in hits)
        for f in hits:
            assert f.detection in entry["comment"]
    # The bucket-policy backdoor (critical) is what scores exfiltration to a cloud account.
    assert by_id["T1537"]["score"] == 100 and "bucket_exposed_by_policy_or_acl" in by_id["T1537"]["comment"]


# -- Timesketch ----------------------------------------------------------------------------------


def test_timesketch_jsonl_parses_back_with_the_fields_timesketch_requires(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "timeline.jsonl"
    n = export_case(case.con, "timesketch", out)
    timeline = default_registry().get("timeline").run(case.con)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert n == len(lines) == timeline.height
    for line, row in zip(lines, timeline.iter_rows(named=True), strict=True):
        event = json.loads(line)
        assert event["message"] and event["timestamp_desc"] in ("S3 request received", "CloudTrail event time")
        moment = datetime.fromisoformat(event["datetime"])
        assert moment.utcoffset() is not None and moment == row["event_time"]
        assert event["timestamp"] == int(row["event_time"].timestamp() * 1_000_000)
        for field in ("source", "actor", "source_ip", "operation", "resource", "outcome", "request_id",
                      "evidence_id", "position"):
            assert event[field] == row[field], field
        assert not any(k.startswith("_") for k in event)


def test_timesketch_needs_a_time_per_event(case: Case, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="event_time"):
        export_case(case.con, "timesketch", tmp_path / "x.jsonl", query="top_source_ips")


# -- findings and query results ------------------------------------------------------------------


def test_findings_round_trip_through_parquet_jsonl_and_csv(case: Case, findings: list[Any], tmp_path: Path) -> None:
    expected = findings_rows(findings)
    assert expected.columns == ["detection", "severity", "mitre", "title", *FINDING_COLUMNS]
    assert expected.height == sum(f.count for f in findings)
    export_case(case.con, "parquet", tmp_path / "f.parquet")
    assert pl.read_parquet(tmp_path / "f.parquet").equals(expected)

    buffer = io.StringIO()
    assert export_case(case.con, "jsonl", buffer) == expected.height
    parsed = [json.loads(line) for line in buffer.getvalue().splitlines()]
    for got, row in zip(parsed, expected.iter_rows(named=True), strict=True):
        assert datetime.fromisoformat(got["first_seen"]) == row["first_seen"]
        assert {k: v for k, v in got.items() if k not in ("first_seen", "last_seen")} == \
            {k: v for k, v in row.items() if k not in ("first_seen", "last_seen")}

    export_case(case.con, "csv", tmp_path / "f.csv")
    rows = list(csv.DictReader((tmp_path / "f.csv").open(encoding="utf-8")))
    assert len(rows) == expected.height and rows[0]["detection"] == expected["detection"][0]


def test_any_query_result_round_trips_and_csv_cells_are_never_formulas(tmp_path: Path) -> None:
    from s3forensics.render import format_access_log_line
    from tests.factories import sal_record

    evil = "=1+1+cmd|' /C calc'!A0"  # DDE payload from the OWASP CSV-injection page
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "2024-05-01-12-00-00-ABCDEF0123456789").write_text(
        format_access_log_line(sal_record(0, user_agent=evil)) + "\n" + format_access_log_line(sal_record(1)) + "\n")
    with Case.open(tmp_path / "case") as c:
        c.ingest([logs], progress=False)
        frame = default_registry().get("timeline").run(c.con)
        export_case(c.con, "parquet", tmp_path / "t.parquet", query="timeline")
        history = {"bucket": "acme-data", "object_key": "reports/2024/q1.csv"}
        export_case(c.con, "csv", tmp_path / "h.csv", query="object_history", params=history)
        buffer = io.StringIO()
        export_case(c.con, "jsonl", buffer, query="object_history", params=history)
    assert pl.read_parquet(tmp_path / "t.parquet").equals(frame)
    agents = [json.loads(line)["user_agent"] for line in buffer.getvalue().splitlines()]
    assert agents == [evil]  # JSONL keeps the exact value
    cells = [row["user_agent"] for row in csv.DictReader((tmp_path / "h.csv").open(encoding="utf-8"))]
    assert cells == ["'" + evil]  # a spreadsheet shows it as text, never runs it


def test_export_cli_writes_under_the_case_or_to_stdout(sample_case_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "case"
    shutil.copytree(sample_case_dir, copy)
    run = subprocess.run([sys.executable, "-m", "s3forensics", "export", "--case", str(copy), "--format",
                          "attack-layer"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    layer = json.loads((copy / "exports" / "attack-layer.json").read_text())
    assert layer_problems(layer) == [] and "finding(s) mapped; wrote" in run.stderr
    run = subprocess.run([sys.executable, "-m", "s3forensics", "export", "--case", str(copy), "--format", "jsonl",
                          "--query", "ip_activity", "-p", "ip", "203.0.113.77", "--out", "-"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert rows and all("203.0.113.77" in json.dumps(r) for r in rows)
    bad = subprocess.run([sys.executable, "-m", "s3forensics", "export", "--case", str(copy), "--format", "parquet",
                          "--out", "-"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "Parquet is binary" in bad.stderr
