"""CSV outputs cannot smuggle formulas into an analyst's spreadsheet; JSON keeps exact values."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from s3forensics.cli import main
from s3forensics.render import format_access_log_line
from s3forensics.spreadsheet import formula_safe
from tests.factories import T0, sal_record

EVIL_KEY = '=HYPERLINK("http://evil.example/x","X")'
EVIL_AGENT = "@SUM(1+1)*cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture()
def hostile_case(tmp_path: Path) -> Path:
    """A case where one address deletes 25 objects whose keys and user agent are formulas."""
    lines = [
        format_access_log_line(sal_record(
            i, operation="REST.DELETE.OBJECT", object_key=f"{EVIL_KEY}{i}",
            request_uri=f"DELETE /acme-data/x{i} HTTP/1.1", http_status=204, bytes_sent=None,
            object_size=None, user_agent=EVIL_AGENT, event_time=T0 + timedelta(seconds=i)))
        for i in range(25)
    ]
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "2024-05-01-12-10-00-0123456789ABCDEF").write_text("\n".join(lines) + "\n")
    case = tmp_path / "case"
    assert main(["ingest", "--quiet", "--case", str(case), str(logs)]) == 0
    return case


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_inert(cells: list[str]) -> None:
    live = [c for c in cells if c.startswith(FORMULA_START)]
    assert not live, f"cells a spreadsheet would evaluate: {live[:3]}"


def test_query_csv_neutralises_attacker_formulas_and_json_keeps_them(
        hostile_case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "deleted_objects", "--case", str(hostile_case), "--format", "csv"]) == 0
    cells = _cells(capsys.readouterr().out)
    _assert_inert(cells)
    assert f"'{EVIL_KEY}0" in cells
    assert main(["query", "deleted_objects", "--case", str(hostile_case), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["object_key"] for r in rows} == {f"{EVIL_KEY}{i}" for i in range(25)}


def test_saved_findings_csv_neutralises_attacker_formulas(
        hostile_case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["findings", "--case", str(hostile_case), "--format", "csv"]) == 0
    _assert_inert(_cells(capsys.readouterr().out))
    saved = list((hostile_case / "findings").glob("*.csv"))
    assert any(p.stem == "objects_deleted_in_bulk" for p in saved)
    cells = [c for p in saved for c in _cells(p.read_text(encoding="utf-8"))]
    _assert_inert(cells)
    assert any(c.startswith("'=HYPERLINK") or "\n'=HYPERLINK" in c for c in cells)
    found = json.loads((hostile_case / "findings" / "findings.json").read_text())
    keys = {k for f in found for k in f["entities"].get("keys", [])}
    assert f"{EVIL_KEY}0" in keys  # JSON: the exact value


def test_every_formula_start_is_neutralised_in_text_and_list_cells() -> None:
    values = ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "plain", "a=b", None]
    frame = pl.DataFrame({"text": values, "items": [[v] if v else [] for v in values],
                          "number": list(range(-4, 5))})
    safe = formula_safe(frame)
    assert safe["text"].to_list()[:7] == ["'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", "plain"]
    assert safe["text"][7] == "a=b" and safe["text"][8] is None
    assert safe["items"][0] == "'=1+1"
    assert safe["number"].to_list() == list(range(-4, 5))  # numbers are not text: unchanged
