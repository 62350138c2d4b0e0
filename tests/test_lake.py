"""The case lake with the local engine: layout, types, counts that reconcile, the catalogue on it.

The lake is built from the bundled samples and compared with the sample case ingested from the
same files: same columns and types, same rows, same findings.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from s3forensics import store
from s3forensics.cli.main import main
from s3forensics.lake.build import build_lake
from s3forensics.lake.local import connect_lake
from s3forensics.queries.registry import default_registry

from .conftest import SAMPLES
from .factories import ct_object, ct_record, sal_object

CASE_TABLES = ("s3_access_logs", "cloudtrail_events", "rejects", "evidence")
# Where a lake and a case differ by nature: when the object was loaded, and where its copy is
# (a lake makes none: `case_path` holds the object's location, as `source` does).
# A lake keeps no copy of an object: where and how a case stored its copy has no lake counterpart.
_NOT_COMPARED = {"evidence": ("loaded_at", "case_path", "stored_as", "name_escaped")}


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake built with the local engine from the bundled samples (do not modify it)."""
    lake = tmp_path_factory.mktemp("sample-lake") / "lake"
    build_lake(lake, paths=[SAMPLES])
    return lake


def _frame(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    drop = _NOT_COMPARED.get(table, ())
    frame = con.sql(f"SELECT * FROM {table}").pl().drop(drop)
    return frame.sort(frame.columns, nulls_last=True)


def test_lake_tables_have_the_case_columns_and_types(sample_lake: Path,
                                                     sample_case_dir: Path) -> None:
    lake = connect_lake(sample_lake)
    case = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    for table in CASE_TABLES:
        want = case.sql(f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = "
                        f"'{table}' ORDER BY column_index").fetchall()
        got = [(c, t) for c, t in zip(lake.sql(f"SELECT * FROM {table} LIMIT 0").columns,
                                      map(str, lake.sql(f"SELECT * FROM {table} LIMIT 0").types))]
        assert got == want, table


def test_lake_holds_the_rows_a_case_holds(sample_lake: Path, sample_case_dir: Path) -> None:
    lake = connect_lake(sample_lake)
    case = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    for table in CASE_TABLES:
        assert _frame(lake, table).equals(_frame(case, table)), table


def test_lake_files_are_partitioned_by_source_and_utc_event_date(sample_lake: Path) -> None:
    files = sorted((sample_lake / "s3_access_logs").rglob("*.parquet"))
    assert files and all(f.parent.parent.name == "source=s3-access" for f in files)
    assert {f.parent.name for f in files} == {f"event_date=2026-10-{d:02d}" for d in range(5, 13)}
    for table, source in (("s3_access_logs", "s3-access"), ("cloudtrail_events", "cloudtrail")):
        glob = str(sample_lake / table / "**" / "*.parquet")
        rows = duckdb.sql(f"SELECT source, event_date, event_time FROM read_parquet('{glob}', "
                          "hive_partitioning = true)").pl()
        assert rows["source"].unique().to_list() == [source]
        # The partition is the UTC day of the event, whatever the session time zone.
        assert (rows["event_date"] == rows["event_time"].dt.convert_time_zone("UTC").dt.date()).all()
        # Partition columns live in the path only.
        import pyarrow.parquet as pq

        names = pq.read_schema(next((sample_lake / table).rglob("*.parquet"))).names
        assert "source" not in names and "event_date" not in names
    assert {p.name for p in (sample_lake / "evidence").iterdir()} == {
        "kind=s3-access", "kind=cloudtrail", "kind=cloudtrail-digest"}


@pytest.mark.parametrize("chunk_objects", [1, 2000])
def test_lake_counts_reconcile_per_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          chunk_objects: int) -> None:
    # One object per chunk: the repeat is found across chunks, over the lake; else by the parser.
    monkeypatch.setattr("s3forensics.lake.build.CHUNK_OBJECTS", chunk_objects)
    src = tmp_path / "src"
    sal = src / "logs" / "2024-05-01-12-10-00-0123456789ABCDEF"
    sal.parent.mkdir(parents=True)
    sal.write_bytes(sal_object(5, bad=["garbage line that is not a record"]))
    trail = src / "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01"
    trail.mkdir(parents=True)
    first = trail / "111122223333_CloudTrail_us-east-1_20240501T1215Z_aaaaEFGH12345678.json.gz"
    first.write_bytes(ct_object(range(4)))
    # Record 3 again, in a later object: a case loads it once and counts it as a duplicate.
    second = trail / "111122223333_CloudTrail_us-east-1_20240501T1220Z_bbbbEFGH12345678.json.gz"
    second.write_bytes(gzip.compress(json.dumps(
        {"Records": [ct_record(3), ct_record(4)]}).encode()))
    result = build_lake(tmp_path / "lake", paths=[src])
    assert result.objects == {"s3-access": 1, "cloudtrail": 2}
    con = connect_lake(tmp_path / "lake")
    ev = {r["source"]: r for r in con.sql("SELECT * FROM evidence").pl().iter_rows(named=True)}
    assert ev[str(sal)]["records"] + ev[str(sal)]["rejects"] == 6  # lines in the object
    assert (ev[str(sal)]["records"], ev[str(sal)]["rejects"]) == (5, 1)
    assert (ev[str(second)]["records"], ev[str(second)]["duplicates"]) == (1, 1)
    for path, row in ev.items():
        data = Path(path).read_bytes()
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert row["size"] == len(data)
        held = con.execute(f"SELECT count(*) FROM {'s3_access_logs' if row['kind'] == 's3-access' else 'cloudtrail_events'} "
                           f"WHERE evidence_id = '{row['evidence_id']}'").fetchall()[0]
        assert held == (row["records"],)
    assert con.execute("SELECT count(*) FROM cloudtrail_events").fetchall()[0] == (5,)
    if chunk_objects == 1:
        # The lake keeps the repeated record's row in its files, listed as a duplicate.
        assert con.sql("SELECT evidence_id, kept_evidence_id FROM cloudtrail_duplicates").fetchall() == [
            (ev[str(second)]["evidence_id"], ev[str(first)]["evidence_id"])]


@pytest.mark.parametrize("chunk_objects", [1, 100])
def test_a_lake_keeps_records_reusing_an_event_id_as_a_case_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_objects: int) -> None:
    monkeypatch.setattr("s3forensics.lake.build.CHUNK_OBJECTS", chunk_objects)
    from s3forensics.case import Case

    real = ct_record(1)
    forged = {**real, "sourceIPAddress": "198.51.100.66"}
    trail = tmp_path / "src" / "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01"
    trail.mkdir(parents=True)
    for name, records in (("1215Z_aaaa", [forged, ct_record(2)]), ("1220Z_bbbb", [real]),
                          ("1225Z_cccc", [real, ct_record(2)])):
        (trail / f"111122223333_CloudTrail_us-east-1_20240501T{name}EFGH12345678.json.gz").write_bytes(
            gzip.compress(json.dumps({"Records": records}).encode()))
    build_lake(tmp_path / "lake", paths=[tmp_path / "src"])
    con = connect_lake(tmp_path / "lake")
    # Two repeats (the real record's second delivery, record 2's), found by the parser within
    # a chunk or over the lake across chunks; the forged record is not one.
    assert con.sql("SELECT sum(duplicates) FROM evidence").fetchall() == [(2,)]
    with Case.open(tmp_path / "case") as case:
        case.ingest([tmp_path / "src"], progress=False)
        want = case.sql("SELECT event_id, source_ip FROM cloudtrail_events ORDER BY ALL").rows()
        finding = case.query("cloudtrail_event_id_reused")
    assert con.sql("SELECT event_id, source_ip FROM cloudtrail_events ORDER BY ALL").fetchall() == want
    assert len(want) == 3
    q = default_registry().get("cloudtrail_event_id_reused")
    got = con.sql(q.sql, params={"start": None, "end": None}).pl()
    assert got.select("events", "source_ip").rows() == finding.select("events", "source_ip").rows()
    assert got["source_ip"].to_list() == ["192.0.2.10, 198.51.100.66"]


def test_lake_build_again_adds_nothing(sample_lake: Path, tmp_path: Path) -> None:
    import shutil

    lake = tmp_path / "lake"
    shutil.copytree(sample_lake, lake)
    before = sorted(p.relative_to(lake) for p in lake.rglob("*.parquet"))
    result = build_lake(lake, paths=[SAMPLES])
    assert result.loaded == 0 and result.already_in_lake == 609
    assert sorted(p.relative_to(lake) for p in lake.rglob("*.parquet")) == before


def test_lake_build_cli_reports_and_refuses_misuse(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src" / "2024-05-01-12-10-00-0123456789ABCDEF"
    src.parent.mkdir()
    src.write_bytes(sal_object(3))
    assert main(["lake", "build", "--lake", str(tmp_path / "lake"), "--kind", "s3-access",
                 str(src.parent)]) == 0
    assert "s3-access                1 objects          3 rows" in capsys.readouterr().out
    assert main(["lake", "build", "--lake", str(tmp_path / "lake2"), "--start",
                 "2024-05-01T00:00Z", str(src.parent)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["s3forensics lake: error: --start and --end narrow an S3 listing (--bucket); "
                   "local paths are read whole"]
    assert main(["lake", "build", "--lake", str(tmp_path / "src"), str(src.parent)]) == 1
    assert "is not a lake" in capsys.readouterr().err
    assert main(["query", "top_requesters", "--lake", str(tmp_path / "src")]) == 1
    assert "not a case lake" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "message"), [
    ({"paths": [SAMPLES], "kind": "elb"}, "kind 'elb' is not one of"),
    ({"paths": [SAMPLES], "bucket": "acme-logs", "start": "2024-05-01T00:00Z",
      "end": "2024-05-02T00:00Z"}, "bucket and local paths cannot both be given"),
    ({"bucket": "acme-logs", "start": "2024-05-01T00:00Z"}, "bucket needs start and end"),
    ({"bucket": "acme-logs", "start": "2024-05-01T00:00", "end": "2024-05-02T00:00Z"},
     "has no time zone"),
    ({"paths": [SAMPLES], "end": "2024-05-02T00:00Z"}, "start and end narrow an S3 listing"),
    ({}, "nothing to build from"),
])
def test_planning_and_building_refuse_a_bad_source_alike_before_any_work(
        tmp_path: Path, options: dict[str, Any], message: str) -> None:
    from s3forensics.errors import S3ForensicsError
    from s3forensics.lake.build import plan_objects

    with pytest.raises(S3ForensicsError, match=message):
        plan_objects(**options)
    with pytest.raises(S3ForensicsError, match=message):
        build_lake(tmp_path / "lake", **options)
    assert not (tmp_path / "lake").exists()  # refused before the lake folder is made


def test_lake_build_on_spark_refuses_a_bad_source_before_starting_spark(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import s3forensics.lake.spark as lake_spark

    def no_spark(**_kw: Any) -> None:
        raise AssertionError("Spark was started for a build that cannot run")

    monkeypatch.setattr(lake_spark, "get_spark", no_spark)
    assert main(["lake", "build", "--engine", "spark", "--lake", str(tmp_path / "lake"),
                 "--bucket", "acme-logs", "--end", "2024-05-02T00:00Z"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "s3forensics lake: error: --bucket needs --start and --end: the window narrows the listing"]


def test_findings_on_a_lake_equal_the_case_findings(sample_lake: Path, sample_case_dir: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    import shutil

    case = tmp_path / "case"  # a copy: findings are saved into the case
    shutil.copytree(sample_case_dir, case)
    assert main(["findings", "--case", str(case), "--format", "json"]) == 0
    from_case = json.loads(capsys.readouterr().out)
    assert main(["findings", "--lake", str(sample_lake), "--engine", "local", "--format",
                 "json"]) == 0
    from_lake = json.loads(capsys.readouterr().out)
    assert from_case and from_lake == from_case
    assert not (sample_lake / "findings").exists()


@pytest.mark.parametrize("query", [q.name for q in default_registry().list()])
def test_every_query_on_a_local_lake_answers_as_on_the_case(query: str, sample_lake: Path,
                                                            sample_case_dir: Path) -> None:
    q = default_registry().get(query)
    lake = connect_lake(sample_lake)
    case = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    got, want = q.run(lake, {}), q.run(case, {})
    assert got.columns == want.columns
    if "loaded_at" in got.columns or query == "evidence_coverage":
        # Evidence coverage names where each copy is; a lake holds none.
        got, want = got.drop("loaded_at", "case_path", strict=False), want.drop(
            "loaded_at", "case_path", strict=False)
    assert got.sort(got.columns, nulls_last=True).equals(want.sort(want.columns, nulls_last=True))


def test_event_date_partition_of_a_late_evening_event_is_its_utc_day(tmp_path: Path) -> None:
    # 23:30 at -05:00 is 04:30 the next day in UTC.
    line = sal_object(1).decode().replace("[01/May/2024:12:00:00 +0000]", "[01/May/2024:23:30:00 -0500]")
    src = tmp_path / "src" / "2024-05-02-04-40-00-0123456789ABCDEF"
    src.parent.mkdir()
    src.write_text(line)
    build_lake(tmp_path / "lake", paths=[src], kind="s3-access")
    (part,) = (tmp_path / "lake" / "s3_access_logs" / "source=s3-access").iterdir()
    assert part.name == "event_date=2024-05-02"
    con = connect_lake(tmp_path / "lake")
    assert con.execute("SELECT CAST(event_time AS DATE) FROM s3_access_logs").fetchall()[0] == (
        date(2024, 5, 2),)


def test_athena_ddl_and_queries_parse_as_athena_and_trino(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import sqlglot
    from sqlglot import exp

    assert main(["lake", "ddl", "--dialect", "athena", "--lake", "s3://acme-ir/lake"]) == 0
    ddl = capsys.readouterr().out
    statements = [s for s in sqlglot.parse(ddl, read="athena") if s is not None]
    tables = {s.this.this.name for s in statements if isinstance(s, exp.Create) and s.kind == "TABLE"}
    assert tables == {"s3_access_logs", "lake_cloudtrail_events", "rejects", "lake_evidence",
                      "cloudtrail_duplicates"}
    assert "'projection.event_date.type' = 'date'" in ddl
    assert ("'storage.location.template' = 's3://acme-ir/lake/s3_access_logs/source=${source}/"
            "event_date=${event_date}/'") in ddl
    views = {s.this.name for s in statements if isinstance(s, exp.Create) and s.kind == "VIEW"}
    assert {"cloudtrail_events", "evidence", "access_requests", "timeline"} <= views
    assert main(["lake", "ddl", "--lake", "/tmp/lake"]) == 1
    assert "give s3://bucket/prefix" in capsys.readouterr().err

    out = tmp_path / "athena"
    assert main(["queries", "--dialect", "athena", "--out", str(out)]) == 0
    # A query Trino cannot run as translated is left out and named, never written wrong.
    # Every query of the catalogue translates (one by hand): none is left out.
    assert "not written" not in capsys.readouterr().err
    assert len(list(out.glob("*.sql"))) == len(default_registry())
    for q in default_registry().list():
        sql = (out / f"{q.name}.sql").read_text()
        assert sqlglot.parse_one(sql, read="trino") is not None, q.name
        for name in q.params:  # parameters stay named markers, never values
            assert f":{name}" in sql and f"${name}" not in sql, (q.name, name)
    # Trino's array_agg keeps NULLs where DuckDB's list() drops them: entity lists must not
    # gain a null member on Athena.
    for q in default_registry().list():
        tree = sqlglot.parse_one((out / f"{q.name}.sql").read_text(), read="trino")
        for agg in tree.find_all(exp.ArrayAgg):
            assert isinstance(agg.parent, exp.Filter) and "IS NULL" in agg.parent.sql("trino"), q.name


def test_a_range_on_athena_excludes_its_end_as_in_duckdb() -> None:
    # sqlglot alone wrote range(0, 10, 3) for Trino as SEQUENCE(0, 7, 3) (the 9 lost) and
    # compared an interval step with 0, which Trino refuses. Trino does not run here: the Athena
    # SQL is read back into DuckDB by sqlglot (SEQUENCE and FILTER keep their meaning there) and
    # run beside the original.
    import duckdb
    import sqlglot
    from sqlglot import exp

    from s3forensics.lake.translate import to_athena

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (0, 10), (0, 9), (5, 5), (5, 4), "
                "(10, 0), (NULL, 3)) AS v(a, b)")
    con.execute("CREATE TABLE h AS SELECT TIMESTAMPTZ '2026-10-05 00:00:00Z' AS a, "
                "TIMESTAMPTZ '2026-10-05 03:00:00.000001Z' AS b")
    for sql in ("SELECT a, b, range(a, b) AS r FROM t",
                "SELECT a, b, range(a, b, 3) AS r FROM t",
                "SELECT a, b, range(a, b, -3) AS r FROM t",
                "SELECT * FROM range(0, 10, 3)",
                "SELECT r FROM range(0, 10, 3) AS s(r)",
                "SELECT x FROM h CROSS JOIN unnest(range(a, b, INTERVAL 1 hour)) AS u(x)",
                "SELECT range(min(a), max(b), 2) AS r FROM t",
                "SELECT * FROM generate_series(5, 1)",
                "SELECT * FROM generate_series(1, 10, 4)",
                "SELECT g FROM generate_series(10, 1, -4) AS s(g)",
                "SELECT a, b, generate_series(a, b) AS g FROM t"):
        athena = to_athena(sql)
        back = sqlglot.transpile(athena, read="trino", write="duckdb")[0]
        assert sorted(con.sql(back).fetchall(), key=repr) == sorted(con.sql(sql).fetchall(),
                                                                   key=repr), athena
    assert [r[0] for r in con.sql(sqlglot.transpile(to_athena("SELECT * FROM range(0, 10, 3)"),
                                                    read="trino", write="duckdb")[0]).fetchall()] \
        == [0, 3, 6, 9]
    # What DuckDB forgives and Trino does not: SEQUENCE past its end with a positive step fails
    # (so a CASE guards it), and a lambda may hold no aggregate or subquery (so none is used).
    for sql in ("SELECT range(10, 0, 3)", "SELECT range(min(a), max(b)) FROM t",
                "SELECT * FROM generate_series(5, 1)"):
        tree = sqlglot.parse_one(to_athena(sql), read="trino")
        assert tree.find(exp.Case) is not None and tree.find(exp.Lambda) is None, sql
    # The catalogue's range of hours (evidence_coverage) compares no interval with a number.
    tree = sqlglot.parse_one(to_athena(default_registry().get("evidence_coverage").sql),
                             read="trino")
    for compare in tree.find_all(exp.LT, exp.GT, exp.EQ, exp.LTE, exp.GTE):
        assert not any(isinstance(side, exp.Interval)
                       for side in (compare.this, compare.expression)), compare.sql("trino")


def test_athena_sql_calls_only_functions_trino_has(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # Parsing as Trino accepts any name( ... ) as a call: DuckDB's date_bin passed that check
    # while Athena would refuse the query. Every function called must be one Trino documents.
    import sqlglot
    from sqlglot import exp

    from s3forensics.lake.athena import unknown_functions

    assert unknown_functions("SELECT date_bin(INTERVAL '1' HOUR, t, x), list_sort(a), "
                             "coalesce(b, 1), CAST(c AS VARCHAR) FROM t") == ["date_bin",
                                                                             "list_sort"]
    out = tmp_path / "athena"
    assert main(["queries", "--dialect", "athena", "--out", str(out)]) == 0
    capsys.readouterr()
    for q in default_registry().list():
        assert unknown_functions((out / f"{q.name}.sql").read_text()) == [], q.name
    # A time zone parameter is checked against a view of the zone names the DDL creates.
    heatmap = (out / "activity_heatmap.sql").read_text()
    assert "FROM time_zone_names" in heatmap and "AT_TIMEZONE(WITH_TIMEZONE(" in heatmap.upper()
    # The hand-written variant is what Athena gets: a Trino sequence holds at most 10,000
    # values (416 days of hours), so hours are numbered in blocks; every sequence() in it is
    # either 0..9999 or the blocks, behind a guard for spans that end before they start.
    coverage = (out / "evidence_coverage.sql").read_text()
    assert "by hand (evidence_coverage.athena.sql)" in coverage
    tree = sqlglot.parse_one(coverage, read="trino")
    sequences = [n for n in tree.find_all(exp.Anonymous, exp.GenerateSeries)
                 if n.sql("trino").upper().startswith("SEQUENCE(")]
    blocks = [n for n in sequences if n.sql("trino") != "SEQUENCE(0, 9999)"]
    assert len(sequences) == 2 and len(blocks) == 1, [n.sql("trino") for n in sequences]
    assert blocks[0].find_ancestor(exp.Case) is not None
    # The views of the DDL too.
    assert main(["lake", "ddl", "--dialect", "athena", "--lake", "s3://acme-ir/lake"]) == 0
    ddl = capsys.readouterr().out
    views = [s for s in sqlglot.parse(ddl, read="athena")
             if isinstance(s, exp.Create) and s.kind == "VIEW"]
    zones = [v for v in views if v.this.name == "time_zone_names"]
    assert len(zones) == 1 and "('Europe/Berlin')" in zones[0].sql("trino")
    for view in views:
        assert unknown_functions(view.expression.sql("trino")) == [], view.this.name


def test_a_query_athena_cannot_run_is_left_out_by_name_until_it_has_a_variant(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "hourly_bins.sql").write_text(  # a bucket with an origin: refused
        "-- title: Requests per 10 minutes\n-- kind: summary\n-- source: s3-access\n"
        "-- description: x\n-- ---\n"
        "SELECT date_bin(INTERVAL 10 minute, event_time, TIMESTAMPTZ '2000-01-01') AS bin, "
        "count(*) AS n FROM s3_access_logs GROUP BY 1\n")
    (mine / "key_numbers.sql").write_text(  # a function Trino does not have
        "-- title: Keys as numbers\n-- kind: summary\n-- source: s3-access\n"
        "-- description: x\n-- ---\nSELECT md5_number(key) AS n FROM s3_access_logs\n")
    out = tmp_path / "athena"
    assert main(["queries", "--queries-dir", str(mine), "--dialect", "athena",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    (line,) = [ln for ln in err.splitlines() if "hourly_bins" in ln]
    assert "origin" in line and "hourly_bins.athena.sql" in line and "Traceback" not in err
    (line,) = [ln for ln in err.splitlines() if "key_numbers" in ln]
    assert "md5_number" in line and "key_numbers.athena.sql" in line
    assert not (out / "hourly_bins.sql").exists() and not (out / "key_numbers.sql").exists()
    assert (out / "evidence_coverage.sql").exists()
    # The variant beside it is what Athena then gets.
    (mine / "hourly_bins.athena.sql").write_text(
        "SELECT date_trunc('hour', event_time) AS bin, count(*) AS n FROM s3_access_logs "
        "GROUP BY 1")
    assert main(["queries", "--queries-dir", str(mine), "--dialect", "athena",
                 "--out", str(out)]) == 0
    assert "date_trunc('hour', event_time)" in (out / "hourly_bins.sql").read_text()


@pytest.mark.parametrize("window", [
    (None, None),
    ("2026-10-03T09:30:00+00:00", "2026-10-03T17:45:00+00:00"),
    ("2026-10-04T12:15:00+00:00", None),
    (None, "2026-09-02T12:00:00+00:00"),
    ("2026-10-05T00:00:00+00:00", "2026-10-04T00:00:00+00:00"),  # ends before it starts
    ("2019-01-01T00:00:00+00:00", "2019-01-01T05:00:00+00:00"),  # no record in it: all gaps
    ("2000-01-01T00:00:00+00:00", "2030-01-01T00:00:00+00:00"),  # 263,000 hours: 27 blocks
])
def test_evidence_coverage_on_athena_gives_duckdbs_rows(sample_case_dir: Path,
                                                        window: tuple[str | None, str | None]
                                                        ) -> None:
    # Trino does not run here: the hand-written Trino SQL is read back into DuckDB by sqlglot
    # (sequence, date_add and UNNEST keep their meaning there) and run beside the DuckDB query.
    from datetime import datetime

    import sqlglot

    query = default_registry().get("evidence_coverage")
    athena = (query.path.with_name("evidence_coverage.athena.sql")).read_text()
    back = sqlglot.transpile(athena, read="trino", write="duckdb")[0]
    start, end = (None if w is None else datetime.fromisoformat(w) for w in window)
    con = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    try:
        expected = con.execute(query.sql, {"start": start, "end": end}).fetchall()
        got = con.execute(back, {"start": start, "end": end}).fetchall()
    finally:
        con.close()
    assert got == expected
    if window == (None, None):
        assert any(row[4] for row in expected) or len(expected) > 24  # a real span of hours
    if window[0] == "2019-01-01T00:00:00+00:00":
        assert len(expected) == 10 and all(row[4] for row in expected)  # 5 hours, two sources


def test_round_of_a_double_is_refused_for_spark_and_round_places_translates() -> None:
    # A bare round(x, n) would round 58.065 to 58.06 on DuckDB and 58.07 on Spark: the translator
    # refuses it rather than let the engines disagree, and names what to write instead.
    from s3forensics.lake.translate import Untranslatable, to_spark

    with pytest.raises(Untranslatable, match="round_places"):
        to_spark("SELECT round(x / 3600.0, 2) AS h FROM t")
    assert "DECIMAL(38, 9)" in to_spark("SELECT round_places(x / 3600.0, 2) AS h FROM t")
    assert "ROUND" in to_spark("SELECT round(x) AS n FROM t")  # whole numbers agree already


def test_a_range_whose_step_cannot_be_checked_is_refused_for_spark() -> None:
    # Spark's SEQUENCE includes its end and DuckDB's range() excludes it; the translation ends
    # one unit early, which needs the step's sign: a computed step is refused, not guessed.
    from s3forensics.lake.translate import Untranslatable, to_spark

    for sql in ("SELECT range(a, b, c) FROM t", "SELECT range(a, b, INTERVAL (n) HOUR) FROM t",
                "SELECT range(0, 10, 0)"):
        with pytest.raises(Untranslatable, match="range"):
            to_spark(sql)
    assert "SEQUENCE(CAST(0 AS BIGINT), CAST(10 AS BIGINT) - 1, CAST(3 AS BIGINT))" in to_spark(
        "SELECT range(0, 10, 3)")


def test_every_query_and_view_translates_to_spark_without_java() -> None:
    # The Spark tests need Java; a construct the translator refuses (a bare round(x, n), say)
    # must fail here too, on any machine.
    from s3forensics.lake.translate import spark_sql_for, spark_view_sql
    from s3forensics.views import VIEW_FILES

    for q in default_registry().list():
        assert spark_sql_for(q).strip(), q.name
    for path in VIEW_FILES:
        assert "CREATE" in spark_view_sql(path).upper(), path.name


def test_a_local_build_cuts_chunks_by_text_so_gzip_files_do_not_hold_ten_times_as_much() -> None:
    # Counted by stored size, a chunk of .json.gz files held ten times the text of one of plain
    # access logs: a local build of 3M lines and 300k records peaked at 2.2 GiB (bench_lake.py).
    from s3forensics.lake.build import CHUNK_BYTES, COMPRESSED_WEIGHT, ObjectRef, _chunks

    size = CHUNK_BYTES // 100 + 1  # a hundred plain objects fill a chunk
    gz = [ObjectRef(location=f"/logs/{n}.json.gz", size=size) for n in range(500)]
    plain = [ObjectRef(location=f"/logs/{n}", size=size) for n in range(500)]
    gz_chunks, plain_chunks = list(_chunks(gz)), list(_chunks(plain))
    assert sum(map(len, gz_chunks)) == 500 and sum(map(len, plain_chunks)) == 500
    assert max(map(len, plain_chunks)) == 100
    assert max(map(len, gz_chunks)) == 100 // COMPRESSED_WEIGHT
    on_s3 = [ObjectRef(location=f"s3://b/AWSLogs/{n}.json.gz", key=f"AWSLogs/{n}.json.gz",
                       size=size) for n in range(50)]
    assert max(map(len, _chunks(on_s3))) == 100 // COMPRESSED_WEIGHT


def test_time_buckets_intervals_lists_and_json_types_on_athena_as_in_duckdb() -> None:
    # Trino has no date_bin, to_minutes, list_slice, json_type, json_valid, nor wildcards in
    # JSON paths: each is rewritten. Trino does not run here: the Athena SQL is read back into
    # DuckDB by sqlglot and run beside the original (Athena's times have no zone: compared as UTC).
    from datetime import UTC, datetime

    import duckdb
    import sqlglot
    from sqlglot import exp

    from s3forensics.lake.athena import unknown_functions
    from s3forensics.lake.translate import Untranslatable, to_athena

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE h AS SELECT * FROM (VALUES (TIMESTAMPTZ '2026-10-05 10:07:31.123Z'), "
                "(TIMESTAMPTZ '1999-12-31 23:59:59Z'), (TIMESTAMPTZ '2026-10-05 00:00:00Z'), "
                "(NULL)) AS v(t)")
    con.execute("""CREATE TABLE j AS SELECT * FROM (VALUES ('{"Rule":[{"a":1},{"b":"x"}]}'),
        ('{"Rule":{"a":1}}'), ('{"Rule":"s"}'), ('{"Rule":5}'), ('{"Rule":-5}'), ('{"Rule":1.5}'),
        ('{"Rule":true}'), ('{"Rule":null}'), ('{}'), ('[1,2]'), (NULL)) AS v(d)""")
    con.execute("CREATE TABLE l AS SELECT * FROM (VALUES ([1, 2, 3, 4]), ([]), (NULL)) AS v(l)")
    con.execute("CREATE MACRO trino_to_milliseconds(i) AS "
                "epoch_ms(TIMESTAMP '1970-01-01 00:00:00' + i)")
    con.execute("CREATE TABLE m AS SELECT * FROM (VALUES ('a', 1), ('a', 5), ('a', 2), ('b', 4), "
                "('b', 1), ('c', NULL), ('d', 7)) AS v(k, x)")

    def as_utc(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def trino_slice(node: Any) -> Any:
        # sqlglot reads Trino's slice(a, start, length) as DuckDB's array_slice(a, begin, end).
        if isinstance(node, exp.ArraySlice):
            arr, start, length = node.this, node.args["start"], node.args["end"]
            return sqlglot.parse_one(f"list_slice({arr.sql('duckdb')}, {start.sql('duckdb')}, "
                                     f"{start.sql('duckdb')} + ({length.sql('duckdb')}) - 1)",
                                     read="duckdb")
        return node

    for sql in ("SELECT t, time_bucket(INTERVAL 15 minute, t) AS b FROM h",
                "SELECT t, time_bucket(to_minutes(7), t) AS b FROM h",
                "SELECT t, time_bucket(INTERVAL 7 day, t) AS b FROM h",  # weeks from a Monday
                "SELECT t, t + to_hours(3), t - to_seconds(90), t + to_days(2) FROM h",
                "SELECT l, list_slice(l, 2, 3), list_slice(l, 1, 1) FROM l",
                "SELECT d, json_type(d, '$.Rule'), json_valid(d) FROM j",
                "SELECT d, json_type(d) FROM j WHERE json_valid(d)",
                "SELECT v, json_valid(v) FROM (VALUES ('not json'), ('{}'), ('[1'), (NULL)) AS x(v)",
                "SELECT d, json_extract(d, '$.Rule[*]') FROM j "
                "WHERE json_valid(d) AND json_type(d, '$.Rule') = 'ARRAY'",
                "SELECT d, json_extract(d, '$.Rule[*]') FROM j",  # [] where not an array
                "SELECT t, time_bucket(w, t) FROM h, (SELECT to_minutes(10) AS w)",  # a column
                "SELECT l, list_slice(l, 3, 2) FROM l",  # empty, as in DuckDB
                "SELECT k, median(x) FROM m GROUP BY k",  # exact, as DuckDB's
                "SELECT median(x) FROM m WHERE false",
                "SELECT k, (SELECT median(o.x) FROM m o WHERE o.k = m.k AND o.x <> m.x) FROM m",
                "SELECT CASE WHEN k <> 'zz' THEN to_minutes(2) ELSE error('bad ' || k) END FROM m"):
        athena = to_athena(sql)
        assert unknown_functions(athena) == [], athena
        back = sqlglot.transpile(athena, read="trino", write="duckdb")[0]
        # Trino's to_milliseconds(interval) is a number; DuckDB's builds an interval.
        back = back.replace("TO_MILLISECONDS(", "trino_to_milliseconds(")
        if "ARRAY_SLICE" in back:  # (re-parsed only then: DuckDB's -> would read as a lambda)
            back = sqlglot.parse_one(back, read="duckdb").transform(trino_slice).sql("duckdb")
        got = [tuple(map(as_utc, row)) for row in con.sql(back).fetchall()]
        assert sorted(got, key=repr) == sorted(con.sql(sql).fetchall(), key=repr), athena
    # error() fails when reached, with its message, and only then.
    failing = sqlglot.transpile(to_athena("SELECT CASE WHEN k <> 'a' THEN 1 "
                                          "ELSE error('no a allowed, got ' || k) END FROM m"),
                                read="trino", write="duckdb")[0]
    with pytest.raises(duckdb.Error, match="no a allowed, got a"):
        con.sql(failing).fetchall()
    # Wall-clock times in a zone and day names, as Trino writes them (no DuckDB reading back).
    local = to_athena("SELECT timezone('Europe/Berlin', t) AS l, dayname(t) AS d FROM h")
    assert unknown_functions(local) == []
    assert "CAST(AT_TIMEZONE(WITH_TIMEZONE(t, 'UTC'), 'Europe/Berlin') AS TIMESTAMP)" in local
    assert "FORMAT_DATETIME(t, 'EEEE')" in local
    # What the fixed-width arithmetic would get wrong is refused, naming the construct.
    for sql, why in (("SELECT time_bucket(INTERVAL 1 month, t) FROM h", "calendar months"),
                     ("SELECT time_bucket(INTERVAL 2 centuries, t) FROM h", "calendar months"),
                     ("SELECT time_bucket('1 month'::INTERVAL, t) FROM h", "calendar months"),
                     ("SELECT list_slice(l, 0, 2) FROM l", "whole numbers from 1"),
                     ("SELECT list_slice(l, 2, -1) FROM l", "whole numbers from 1"),
                     ("SELECT median(x) OVER (PARTITION BY k) FROM m", "window"),
                     ("SELECT time_bucket(INTERVAL 10 minute, t, TIMESTAMPTZ '2000-01-01') FROM h",
                      "origin")):
        with pytest.raises(Untranslatable, match=why):
            to_athena(sql)
