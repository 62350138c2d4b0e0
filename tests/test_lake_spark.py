"""The case lake on Spark (local mode, two cores): the same lake, the same answers, the same findings.

One SparkSession serves every test here. Without a Java runtime the tests skip and say why; under
CI (CI=true) a missing Java fails them, since `make test` installs one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from s3forensics import store
from s3forensics.cli.main import main
from s3forensics.lake.build import build_lake
from s3forensics.lake.local import connect_lake
from s3forensics.queries.registry import default_registry

from .conftest import SAMPLES


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session (two cores) for the whole test session."""
    from s3forensics.lake.spark import java_available

    if not java_available():
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail("no Java runtime: `make test` installs openjdk-17-jre-headless (as root)")
        pytest.skip("Spark needs a Java 17+ runtime (install openjdk-17-jre-headless); "
                    "the Spark tests did not run")
    pytest.importorskip("pyspark", reason="the 'spark' extra is not installed")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]
    # Workers import s3forensics from this checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")) if p)
    from s3forensics.lake.spark import get_spark

    session = get_spark(master="local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples built into a lake by Spark tasks (do not modify it)."""
    lake = tmp_path_factory.mktemp("spark-lake") / "lake"
    result = build_lake(lake, paths=[SAMPLES], engine="spark", spark=spark)
    assert result.objects == {"s3-access": 160, "cloudtrail": 269, "cloudtrail-digest": 180}
    return lake


@pytest.fixture(scope="session")
def spark_views(spark: Any, spark_lake: Path) -> Any:
    """The lake's tables and the derived views registered once in the Spark session."""
    from s3forensics.lake.spark import SparkLake

    return SparkLake(spark, str(spark_lake))


@pytest.fixture(scope="session")
def local_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("local-lake") / "lake"
    build_lake(lake, paths=[SAMPLES])
    return lake


def _norm_value(v: Any) -> Any:
    """One value with engine differences in type removed: numbers as floats, times in UTC."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float | decimal.Decimal):
        f = float(v)
        return "nan" if math.isnan(f) else float(f"{f:.12g}")
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).isoformat() if v.tzinfo else v.isoformat() + " (no zone)"
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return tuple(_norm_value(x) for x in v)
    return v


def _rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Rows, order-insensitive, types normalised."""
    return sorted((tuple(_norm_value(v) for v in row) for row in frame.iter_rows()), key=repr)


def test_spark_built_lake_equals_local_built_lake(spark_lake: Path, local_lake: Path) -> None:
    a, b = connect_lake(spark_lake), connect_lake(local_lake)
    for table in ("s3_access_logs", "cloudtrail_events", "rejects", "evidence",
                  "cloudtrail_duplicates"):
        got = a.sql(f"SELECT * EXCLUDE (loaded_at) FROM {table}" if table == "evidence"
                    else f"SELECT * FROM {table}").pl()
        want = b.sql(f"SELECT * EXCLUDE (loaded_at) FROM {table}" if table == "evidence"
                     else f"SELECT * FROM {table}").pl()
        assert got.schema == want.schema, table
        assert _rows(got) == _rows(want), table
    # Spark wrote the same partitions.
    days = {p.name for p in (spark_lake / "s3_access_logs" / "source=s3-access").iterdir()}
    assert days == {f"event_date=2026-10-{d:02d}" for d in range(5, 13)}


def _duplicates(lake: Path) -> list[tuple[Any, ...]]:
    return _rows(connect_lake(lake).sql("SELECT * FROM cloudtrail_duplicates").pl())


def test_a_later_spark_build_finds_cloudtrail_records_the_lake_already_held(
        spark: Any, tmp_path: Path) -> None:
    # The same records in two sets of objects (other bytes, so other SHA-256): built one set at a
    # time, the second build must see the first build's rows (read from the lake's files) and
    # its own (from the cache) exactly once each, as the local engine does.
    files = sorted(p for p in (SAMPLES / "acme-org-cloudtrail").rglob("*.json.gz")
                   if "CloudTrail-Digest" not in p.parts)[:6]
    for n, path in enumerate(files):
        for level, name in ((9, "a"), (1, "b")):
            target = tmp_path / "in" / name / f"{n}.json.gz"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), level))
    for part in ("b", "a"):  # the later objects (by location) first
        got = build_lake(tmp_path / "spark", paths=[tmp_path / "in" / part], engine="spark",
                         spark=spark)
        want = build_lake(tmp_path / "local", paths=[tmp_path / "in" / part])
        assert got.duplicates == want.duplicates
    assert got.duplicates > 0
    assert _duplicates(tmp_path / "spark") == _duplicates(tmp_path / "local")
    # A build that adds no CloudTrail rows leaves the lake's duplicates as they were.
    logs = SAMPLES / "acme-prod-s3-access-logs"
    again = build_lake(tmp_path / "spark", paths=[logs], kind="s3-access", engine="spark",
                       spark=spark)
    assert again.objects == {"s3-access": 160} and again.duplicates == got.duplicates
    assert _duplicates(tmp_path / "spark") == _duplicates(tmp_path / "local")


def test_a_spark_build_keeps_records_reusing_an_event_id_as_the_local_engine_does(
        spark: Any, tmp_path: Path) -> None:
    # A forged record first, the real one later, then the real one delivered again: only the
    # last is a repeat, on both engines, whichever build finds it.
    from .factories import ct_record

    real = ct_record(1)
    forged = {**real, "sourceIPAddress": "198.51.100.66"}
    for n, records in enumerate(([forged, ct_record(2)], [real], [real, ct_record(2)])):
        target = tmp_path / "in" / f"{n}.json.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    got = build_lake(tmp_path / "spark", paths=[tmp_path / "in"], engine="spark", spark=spark,
                     partitions=3)
    want = build_lake(tmp_path / "local", paths=[tmp_path / "in"])
    assert got.objects == want.objects == {"cloudtrail": 3}, (got, want)
    # Found over the lake by Spark (an object a chunk), by the parser locally (one chunk).
    for lake in ("spark", "local"):
        assert connect_lake(tmp_path / lake).sql(
            "SELECT sum(duplicates) FROM evidence").fetchall() == [(2,)], lake
    sql = "SELECT event_id, source_ip, record_no FROM cloudtrail_events ORDER BY ALL"
    rows = connect_lake(tmp_path / "spark").sql(sql).fetchall()
    assert rows == connect_lake(tmp_path / "local").sql(sql).fetchall()
    assert sorted(r[1] for r in rows if r[0] == real["eventID"]) == ["192.0.2.10", "198.51.100.66"]
    # The detection finds the reused eventID on Spark as DuckDB does on the local lake.
    from s3forensics.lake.spark import SparkLake

    q = default_registry().get("cloudtrail_event_id_reused")
    got = SparkLake(spark, str(tmp_path / "spark")).run(q, {})
    assert _rows(got) == _rows(q.run(connect_lake(tmp_path / "local"), {}))
    assert got["events"].to_list() == [2]


@pytest.mark.parametrize("query", [q.name for q in default_registry().list()])
def test_every_query_on_spark_answers_as_duckdb_on_the_case(query: str, spark_views: Any,
                                                            sample_case_dir: Path) -> None:
    q = default_registry().get(query)
    got = spark_views.run(q, {})
    con = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    want = q.run(con, {})
    con.close()
    assert got.columns == want.columns
    if query == "evidence_coverage":
        got, want = got.drop("case_path", strict=False), want.drop("case_path", strict=False)
    assert _rows(got) == _rows(want)


def test_findings_json_from_spark_equals_the_case_findings(spark: Any, spark_lake: Path,
                                                           sample_case_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case"
    shutil.copytree(sample_case_dir, case)
    assert main(["findings", "--case", str(case), "--format", "json"]) == 0
    want = json.loads(capsys.readouterr().out)
    assert main(["findings", "--lake", str(spark_lake), "--engine", "spark", "--format",
                 "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [f["detection"] for f in got] == [f["detection"] for f in want]
    assert got == want


def test_query_parameters_are_bound_by_spark_not_pasted(spark: Any, spark_lake: Path,
                                                        sample_case_dir: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "ip_activity", "--lake", str(spark_lake), "--engine", "spark",
                 "-p", "ip", "203.0.113.77", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["source_ip"] for r in rows} == {"203.0.113.77"}
    # A value that would change the query if it were pasted into the SQL text matches nothing.
    assert main(["query", "ip_activity", "--lake", str(spark_lake), "--engine", "spark",
                 "-p", "ip", "x' OR '1'='1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_engine_spark_without_a_lake_is_a_one_line_error(sample_case_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "top_requesters", "--case", str(sample_case_dir), "--engine",
                 "spark"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["s3forensics query: error: --engine spark runs on a lake: give --lake PATH "
                   "instead of --case"]


def _view_names() -> list[str]:
    import re

    from s3forensics.views import VIEW_FILES

    return [m[1] for p in VIEW_FILES
            for m in [re.search(r"CREATE OR REPLACE VIEW (\w+)", p.read_text(encoding="utf-8"))] if m]


@pytest.mark.parametrize("view", _view_names())
def test_every_view_on_spark_holds_the_rows_duckdb_holds_on_the_case(view: str, spark_views: Any,
                                                                     sample_case_dir: Path) -> None:
    # The views are translated by sqlglot (or have a .spark.sql variant): what the queries build
    # on must hold the same rows, column for column, whichever engine made them.
    got = pl.from_arrow(spark_views.spark.sql(f"SELECT * FROM {view}").toArrow())
    con = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    want = con.sql(f"SELECT * FROM {view}").pl()
    con.close()
    assert isinstance(got, pl.DataFrame)
    assert got.columns == want.columns
    assert _rows(got) == _rows(want)


def test_address_macros_answer_on_spark_as_on_duckdb(spark: Any) -> None:
    # The macros are hand-built SQL that Spark gets expanded inline; regex and string functions
    # differ between the engines in small ways, so the tricky addresses are asked of both.
    import random

    import duckdb

    from s3forensics.enrich.macros import install_macros
    from s3forensics.lake.translate import to_spark
    from tests.test_classification import ADDRESSES, _networks_by_python

    ips = sorted({*ADDRESSES, *_networks_by_python(random.Random(6))})
    sql = "SELECT ip, ip_network(ip) AS network, ip_is_private(ip) AS private FROM t"
    con = duckdb.connect()
    install_macros(con)
    con.register("t", pl.DataFrame({"ip": ips}))
    want = sorted(con.execute(sql).fetchall())
    spark.createDataFrame([(ip,) for ip in ips], "ip STRING").createOrReplaceTempView("t")
    got = sorted(tuple(r) for r in spark.sql(to_spark(sql)).collect())
    assert got == want


def _both(spark: Any, sql: str, frame: pl.DataFrame) -> tuple[list[Any], list[Any]]:
    """`sql` over table t (= frame) on DuckDB and, translated, on Spark: (DuckDB, Spark) rows."""
    import duckdb

    from s3forensics.enrich.macros import install_macros
    from s3forensics.lake.translate import to_spark

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    install_macros(con)
    con.register("t", frame)
    want = con.execute(sql).fetchall()
    spark.createDataFrame(frame.rows(), frame.columns).createOrReplaceTempView("t")
    got = pl.from_arrow(spark.sql(to_spark(sql)).toArrow())
    assert isinstance(got, pl.DataFrame)
    return want, got.rows()


def test_round_places_rounds_the_same_on_spark_and_duckdb(spark: Any) -> None:
    # 58.065 is stored as 58.0649999...: DuckDB's round() of the DOUBLE gives 58.06, Spark's
    # 58.07. round_places() rounds the number as written, in both engines, half away from zero.
    values = [58.065, 2.675, 1.005, -1.005, 0.125, -0.125, 2.5, -2.5, 0.0, 1234.5678, 1 / 3,
              42271102.0, 1e15 + 0.5, 209034 / 3600.0]
    sql = ("SELECT x, round_places(x, 2) AS r2, round_places(x, 1) AS r1, round_places(x, 0) AS r0 "
           "FROM t ORDER BY x")
    want, got = _both(spark, sql, pl.DataFrame({"x": values}))
    assert got == want
    assert {r[0]: r[1] for r in want}[58.065] == 58.07
    assert {r[0]: r[1] for r in want}[-1.005] == -1.01


def test_a_range_of_hours_on_spark_is_half_open_as_in_duckdb(spark: Any) -> None:
    t0 = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
    hour, us = dt.timedelta(hours=1), dt.timedelta(microseconds=1)
    frame = pl.DataFrame({"a": [t0, t0, t0, t0 + 2 * hour, None],
                          "b": [t0 + 3 * hour, t0 + 3 * hour + us, t0, t0, t0]})
    norm = lambda rows: sorted((tuple(_norm_value(v) for v in r) for r in rows), key=repr)  # noqa: E731
    for step, counts in (("INTERVAL 1 hour", [3, 4]), ("INTERVAL 90 minute", [2, 3]),
                         ("INTERVAL 1 day", [1, 1])):
        sql = ("SELECT a, b, count(h) AS n, min(h) AS first, max(h) AS last FROM "
               f"(SELECT a, b, unnest(range(a, b, {step})) AS h FROM t) GROUP BY a, b")
        want, got = _both(spark, sql, frame)
        assert norm(got) == norm(want), step
        assert sorted(r[2] for r in want) == counts, step  # a >= b, or NULL: no rows
    # The range itself: NULL when an end is NULL, empty when a >= b, as in DuckDB.
    sql = "SELECT a, b, range(a, b, INTERVAL 1 hour) IS NULL AS null_range FROM t"
    want, got = _both(spark, sql, frame)
    assert norm(got) == norm(want)


def test_a_range_of_numbers_on_spark_is_half_open_as_in_duckdb(spark: Any) -> None:
    # sqlglot alone wrote range(0, 10, 3) as SEQUENCE(0, 7, 3): the 9 was lost on Spark.
    frame = pl.DataFrame({"a": [0, 0, 5, 5, 10, None], "b": [10, 9, 5, 4, 0, 3]})
    for step in ("", ", 1", ", 3", ", 4", ", -3"):
        sql = f"SELECT a, b, range(a, b{step}) AS r FROM t"
        want, got = _both(spark, sql, frame)
        assert sorted(got, key=repr) == sorted(want, key=repr), step
    assert dict(((a, b), r) for a, b, r in _both(spark, "SELECT a, b, range(a, b, 3) FROM t",
                                                 frame)[1])[(0, 10)] == [0, 3, 6, 9]


def test_a_range_used_as_a_table_gives_the_same_rows_on_spark(spark: Any) -> None:
    # FROM range(...) had become FROM CASE ... END, which Spark cannot read as a table. Column
    # names too: DuckDB names the column after the function unless the query names it.
    frame = pl.DataFrame({"x": [1]})
    for sql in ("SELECT * FROM range(5)",
                "SELECT range FROM range(2, -3, -2)",
                "SELECT r FROM range(0, 10, 3) AS t(r)",
                "SELECT * FROM range(5, 5)",
                "SELECT generate_series FROM generate_series(1, 3)",
                "SELECT * FROM generate_series(5, 1)",
                "SELECT g FROM generate_series(10, 1, -4) AS s(g)",
                "SELECT x, n FROM t CROSS JOIN range(0, 4, 2) AS s(n)",
                "SELECT count(*) AS k FROM range(TIMESTAMP '2026-10-05', TIMESTAMP '2026-10-06', "
                "INTERVAL 1 HOUR) AS h(hr)"):
        want, got = _both(spark, sql, frame)
        assert sorted(got) == sorted(want), sql
    assert _both(spark, "SELECT * FROM range(0, 10, 3)", frame)[1] == [(0,), (3,), (6,), (9,)]


@pytest.mark.parametrize("query", ["activity_heatmap", "off_hours_object_reads"])
def test_time_zones_on_spark_are_checked_and_spelt_as_on_duckdb(query: str, spark_views: Any,
                                                               sample_case_dir: Path) -> None:
    from s3forensics.errors import QueryError

    q = default_registry().get(query)
    con = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    # Any case, as DuckDB matches names; short ids (EST) as both engines know them.
    wants = {zone: q.run(con, {"time_zone": zone}) for zone in ("asia/tokyo", "EST")}
    with pytest.raises(QueryError, match="time_zone"):
        q.run(con, {"time_zone": "Mars/Olympus_Mons"})
    con.close()
    for zone, want in wants.items():
        assert _rows(spark_views.run(q, {"time_zone": zone})) == _rows(want), zone
    with pytest.raises(QueryError, match="Mars/Olympus_Mons"):
        spark_views.run(q, {"time_zone": "Mars/Olympus_Mons"})
