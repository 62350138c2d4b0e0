"""One declaration of what a case holds: tables, views, docs and every engine's schema agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa

from s3forensics.case import Case
from s3forensics.parse.s3_access import parse_access_log_bytes
from s3forensics.schema import CASE_TABLES, S3_ACCESS_LOGS, VIEW_DOCS, LogSource, Severity
from tests.factories import sal_object

ROOT = Path(__file__).resolve().parents[1]


def test_every_table_and_view_column_of_a_case_has_its_declared_comment(tmp_path: Path) -> None:
    with Case.open(tmp_path / "case") as case:
        cols = case.sql("SELECT table_name, column_name, comment FROM duckdb_columns() "
                        "WHERE NOT internal AND schema_name = 'main'")
        views = set(case.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal")["view_name"])
    undocumented = cols.filter(pl.col("comment").is_null() | (pl.col("comment") == ""))
    assert undocumented.height == 0, undocumented.head(10)
    assert views == set(VIEW_DOCS), "every view is declared in schema.py"
    for table in CASE_TABLES.values():
        stored = cols.filter(pl.col("table_name") == table.name)
        assert stored["column_name"].to_list() == table.column_names
        assert dict(zip(stored["column_name"], stored["comment"])) == {
            c.name: c.doc for c in table.columns}


def test_parsed_rows_have_the_declared_polars_and_arrow_schema() -> None:
    rows = parse_access_log_bytes(sal_object(3), evidence_id="e1").rows
    assert rows.schema == pl.Schema(S3_ACCESS_LOGS.polars_schema())
    arrow = S3_ACCESS_LOGS.arrow_schema()
    produced = rows.to_arrow().schema
    text = (pa.string(), pa.large_string(), pa.string_view())
    assert produced.names == arrow.names
    for got, declared in zip(produced, arrow):
        assert got.type == declared.type or (got.type in text and declared.type in text), got.name
    assert arrow.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert arrow.field("bucket").metadata[b"doc"].startswith(b"Name of the bucket")


def test_vocabularies_are_the_values_the_case_uses() -> None:
    assert [s.value for s in Severity] == ["critical", "high", "medium", "low", "info"]
    from s3forensics.queries.registry import SEVERITIES

    assert tuple(s.value for s in Severity) == SEVERITIES
    assert {k.value for k in LogSource} == {"s3-access", "cloudtrail", "cloudtrail-digest"}


def test_docs_schema_md_is_up_to_date() -> None:
    out = subprocess.run([sys.executable, "-m", "s3forensics.schema"], capture_output=True,
                         text=True, check=True, cwd=ROOT, timeout=120)
    assert out.stdout == (ROOT / "docs" / "schema.md").read_text(encoding="utf-8"), (
        "docs/schema.md is stale: python -m s3forensics.schema > docs/schema.md")


def test_trail_verification_tables_are_stored_as_declared(tmp_path: Path) -> None:
    """save_tables writes trail_integrity/trail_coverage from their declarations in schema.py."""
    from s3forensics.integrity.tables import load_tables, save_tables
    from s3forensics.schema import INTEGRITY_TABLES, TRAIL_COVERAGE, TRAIL_INTEGRITY

    # A frame with columns missing and out of order is conformed, not refused.
    partial = pl.DataFrame({"status": ["valid"], "account": ["111122223333"]})
    with Case.open(tmp_path / "case") as case:
        save_tables(case.con, partial, TRAIL_COVERAGE.empty_frame())
        cols = case.sql("SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
                        "WHERE table_name IN ('trail_integrity', 'trail_coverage')")
        loaded = load_tables(case.con)
    for table in INTEGRITY_TABLES.values():
        stored = cols.filter(pl.col("table_name") == table.name)
        assert stored["column_name"].to_list() == table.column_names
        declared = [table.duckdb_type(n).replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE")
                    for n in table.column_names]
        assert stored["data_type"].to_list() == declared
        assert stored["comment"].to_list() == [c.doc for c in table.columns]
    assert loaded is not None
    assert loaded[0].schema == pl.Schema(TRAIL_INTEGRITY.polars_schema())
    assert loaded[0].row(0, named=True)["account"] == "111122223333"
    assert "## `trail_integrity` (table)" in (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
