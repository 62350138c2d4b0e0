"""`lake pull`: a slice of a lake, loaded into a case, holds exactly what the full case says it should.

The lake is built from the bundled samples with the local engine; what a pull must hold is worked
out independently, by SQL over the sample case ingested from the same files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from s3forensics import store
from s3forensics.case import Case
from s3forensics.cli.main import main
from s3forensics.lake.build import build_lake
from s3forensics.lake.pull import pull_lake

from .conftest import SAMPLES

SKEW = "INTERVAL 15 MINUTE"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples as a lake (local engine); do not modify it."""
    path = tmp_path_factory.mktemp("pull-lake") / "lake"
    build_lake(path, paths=[SAMPLES])
    return path


@pytest.fixture(scope="module")
def ip_slice(lake: Path, answers: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case pulled from the lake by the attacker's addresses, through the CLI; do not modify it."""
    case = tmp_path_factory.mktemp("ip-slice") / "case"
    argv = ["lake", "pull", "--lake", str(lake), "--case", str(case)]
    for ip in answers["attacker"]["ips"]:
        argv += ["--ip", ip]
    assert main(argv) == 0
    return case


def _expected(case_dir: Path, *, ips: list[str] = (), principals: list[str] = (),  # type: ignore[assignment]
              start: str | None = None, end: str | None = None) -> tuple[set[Any], set[Any]]:
    """(access log keys, CloudTrail keys) a pull must hold, by SQL over the full case.

    Matched: an address or principal (or its actor) in the window; same session: CloudTrail
    events with a key a matched event used, and the AssumeRole event that issued it; same
    request: rows of either source with one of their request ids (window widened by 15 minutes).
    """
    con = store.connect(case_dir / "case.duckdb", read_only=True)
    p = {"ips": list(ips) or [""], "principals": list(principals) or [""],
         "start": start, "end": end}
    window = ("($start IS NULL OR event_time >= CAST($start AS TIMESTAMPTZ)) AND "
              "($end IS NULL OR event_time < CAST($end AS TIMESTAMPTZ))")
    wide = (f"($start IS NULL OR event_time >= CAST($start AS TIMESTAMPTZ) - {SKEW}) AND "
            f"($end IS NULL OR event_time < CAST($end AS TIMESTAMPTZ) + {SKEW})")
    con.execute(f"""CREATE TEMP TABLE sal AS SELECT evidence_id, line_no, request_id FROM access_requests
        WHERE {window} AND (remote_ip IN (SELECT unnest($ips)) OR principal IN (SELECT unnest($principals))
                            OR actor IN (SELECT unnest($principals)))""", p)
    con.execute(f"""CREATE TEMP TABLE ct AS SELECT evidence_id, record_no, request_id, access_key_id FROM trail_events
        WHERE {window} AND (source_ip IN (SELECT unnest($ips)) OR principal IN (SELECT unnest($principals))
                            OR actor IN (SELECT unnest($principals)))""", p)
    con.execute(f"""INSERT INTO ct SELECT evidence_id, record_no, request_id, access_key_id FROM cloudtrail_events
        WHERE ({window} AND access_key_id IN (SELECT access_key_id FROM ct))
           OR json_extract_string(response_elements, '$.credentials.accessKeyId')
              IN (SELECT access_key_id FROM ct)""", {"start": start, "end": end})
    con.execute(f"""INSERT INTO sal SELECT evidence_id, line_no, request_id FROM s3_access_logs
        WHERE {wide} AND request_id IN (SELECT request_id FROM sal UNION SELECT request_id FROM ct)""",
                {"start": start, "end": end})
    con.execute(f"""INSERT INTO ct SELECT evidence_id, record_no, request_id, access_key_id FROM cloudtrail_events
        WHERE {wide} AND request_id IN (SELECT request_id FROM sal UNION SELECT request_id FROM ct)""",
                {"start": start, "end": end})
    sal = set(con.execute("SELECT evidence_id, line_no FROM sal").fetchall())
    ct = set(con.execute("SELECT evidence_id, record_no FROM ct").fetchall())
    con.close()
    return sal, ct


def _keys(case_dir: Path) -> tuple[set[Any], set[Any]]:
    con = store.connect(case_dir / "case.duckdb", read_only=True)
    try:
        return (set(con.execute("SELECT evidence_id, line_no FROM s3_access_logs").fetchall()),
                set(con.execute("SELECT evidence_id, record_no FROM cloudtrail_events").fetchall()))
    finally:
        con.close()


def test_pull_by_ip_holds_exactly_the_matching_and_correlated_rows(
        ip_slice: Path, sample_case_dir: Path, answers: dict[str, Any]) -> None:
    want_sal, want_ct = _expected(sample_case_dir, ips=answers["attacker"]["ips"])
    got_sal, got_ct = _keys(ip_slice)
    assert got_sal == want_sal
    assert got_ct == want_ct
    full_sal, full_ct = _keys(sample_case_dir)
    assert got_sal < full_sal and got_ct < full_ct  # a slice, not the lake
    # Correlation brought rows the addresses alone do not select (e.g. events from AWS addresses
    # made with the stolen key).
    con = store.connect(ip_slice / "case.duckdb", read_only=True)
    other = con.execute("SELECT count(*) FROM cloudtrail_events WHERE source_ip NOT IN "
                        "(SELECT unnest($ips))", {"ips": answers["attacker"]["ips"]}).fetchall()[0][0]
    con.close()
    assert other > 0
    # The rows are the case's rows, column for column.
    full = store.connect(sample_case_dir / "case.duckdb", read_only=True)
    part = store.connect(ip_slice / "case.duckdb", read_only=True)
    for table, key in (("s3_access_logs", "line_no"), ("cloudtrail_events", "record_no")):
        got = part.sql(f"SELECT * FROM {table}").pl().sort("evidence_id", key)
        want = full.sql(f"SELECT * FROM {table}").pl().join(
            got.select("evidence_id", key), on=["evidence_id", key], how="semi").sort("evidence_id", key)
        assert got.equals(want), table
    full.close()
    part.close()


def test_pull_by_principal_in_a_window_holds_what_the_case_selects(
        lake: Path, sample_case_dir: Path, answers: dict[str, Any], tmp_path: Path) -> None:
    principal = answers["attacker"]["principals"][-1]
    start, end = answers["window"]["start"], "2026-10-10T02:32:00Z"
    result = pull_lake(lake, tmp_path / "case", principals=[principal], start=start, end=end)
    want_sal, want_ct = _expected(sample_case_dir, principals=[principal], start=start, end=end)
    all_sal, all_ct = _expected(sample_case_dir, principals=[principal])
    assert len(want_sal) + len(want_ct) < len(all_sal) + len(all_ct)  # the window cut some
    assert _keys(tmp_path / "case") == (want_sal, want_ct)
    assert want_sal or want_ct
    assert result.added["s3_access_logs"] == len(want_sal)
    assert result.added["cloudtrail_events"] == len(want_ct)


def test_findings_on_the_slice_still_name_the_attacker(ip_slice: Path, tmp_path: Path,
                                                       answers: dict[str, Any]) -> None:
    case = tmp_path / "case"
    shutil.copytree(ip_slice, case)
    with Case.open(case) as c:
        found = c.findings()
    ips = {ip for f in found for ip in f.entities.get("ips", [])}
    principals = {p for f in found for p in f.entities.get("principals", [])}
    keys = {k for f in found for k in f.entities.get("access_keys", [])}
    assert ips & set(answers["attacker"]["ips"])
    assert principals & set(answers["attacker"]["principals"])
    assert set(answers["attacker"]["access_keys"]) <= keys


def test_every_pulled_row_has_provenance_and_counts_reconcile(ip_slice: Path, lake: Path) -> None:
    con = store.connect(ip_slice / "case.duckdb", read_only=True)
    # Every row's object has its evidence row, marked as pulled from the lake.
    for table in ("s3_access_logs", "cloudtrail_events", "rejects"):
        orphans = con.execute(f"SELECT count(*) FROM {table} WHERE evidence_id NOT IN "
                              "(SELECT evidence_id FROM evidence)").fetchall()[0][0]
        assert orphans == 0, table
    assert {r[0] for r in con.execute("SELECT DISTINCT stored_as FROM evidence").fetchall()} == {"lake"}
    # Per object, the evidence row counts the rows the case holds.
    bad = con.execute("""
        SELECT e.evidence_id FROM evidence e
        LEFT JOIN (SELECT evidence_id, count(*) n FROM s3_access_logs GROUP BY ALL) s USING (evidence_id)
        LEFT JOIN (SELECT evidence_id, count(*) n FROM cloudtrail_events GROUP BY ALL) c USING (evidence_id)
        LEFT JOIN (SELECT evidence_id, count(*) n FROM rejects GROUP BY ALL) r USING (evidence_id)
        WHERE e.records <> coalesce(s.n, 0) + coalesce(c.n, 0) OR e.rejects <> coalesce(r.n, 0)""").fetchall()
    assert bad == []
    # lake_provenance accounts for every row, and each row is in the lake file it names.
    prov = con.sql("SELECT * FROM lake_provenance").pl()
    assert set(prov["lake"]) == {str(lake)}
    totals = dict(prov.group_by("table_name").agg(pl.col("rows").sum()).iter_rows())
    for table in ("s3_access_logs", "cloudtrail_events", "evidence"):
        assert totals[table] == con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0], table
    assert json.loads(prov["selection"][0])["ips"]
    sal = prov.filter(pl.col("table_name") == "s3_access_logs")
    for evidence_id, lake_file, rows in sal.select("evidence_id", "lake_file", "rows").iter_rows():
        assert Path(lake_file).is_relative_to(lake)
        in_file = duckdb.execute(
            "SELECT count(*) FROM read_parquet($f) WHERE evidence_id = $e AND line_no IN "
            "(SELECT unnest($lines))",
            {"f": lake_file, "e": evidence_id, "lines": [r[0] for r in con.execute(
                "SELECT line_no FROM s3_access_logs WHERE evidence_id = $e", {"e": evidence_id}
            ).fetchall()]}).fetchall()[0][0]
        assert in_file == rows
    con.close()


def test_pulling_again_adds_nothing(ip_slice: Path, lake: Path, answers: dict[str, Any],
                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case"
    shutil.copytree(ip_slice, case)
    with Case.open(case) as c:
        before = c.tables()
        provenance = c.sql("SELECT count(*) AS n FROM lake_provenance")["n"][0]
    argv = ["lake", "pull", "--lake", str(lake), "--case", str(case)]
    for ip in answers["attacker"]["ips"]:
        argv += ["--ip", ip]
    capsys.readouterr()
    assert main(argv) == 0
    assert "nothing new" in capsys.readouterr().out
    with Case.open(case) as c:
        assert c.tables() == before
        assert c.sql("SELECT count(*) AS n FROM lake_provenance")["n"][0] == provenance


def test_the_counts_printed_are_the_rows_that_came_in(lake: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case"
    assert main(["lake", "pull", "--lake", str(lake), "--case", str(case),
                 "--access-key", "AKIAQNVMLL7XSEBQIT6P", "--bucket", "acme-prod-customer-data"]) == 0
    out = capsys.readouterr().out
    added = {line.split()[0]: int(line.split()[-1].replace(",", ""))
             for line in out.splitlines()[1:5]}
    with Case.open(case) as c:
        held = c.tables()
    assert added == {t: held[t] for t in added}
    assert added["s3_access_logs"] and added["cloudtrail_events"]


def test_a_selection_that_matches_nothing_is_an_error_and_writes_no_case(
        lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case"
    assert main(["lake", "pull", "--lake", str(lake), "--case", str(case), "--ip", "192.0.2.254"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no rows match --ip 192.0.2.254" in err[0]
    assert not case.exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--ip", "203.0.113.45", "--start", "2026-10-10T00:00Z", "--end", "2026-10-09T00:00Z"],
     "is not before --end"),
    (["--ip", "203.0.113.45", "--start", "2026-10-10T00:00"], "has no time zone"),
    ([], "lake pull needs a selection"),
])
def test_bad_filters_are_one_line_errors(lake: Path, tmp_path: Path, argv: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lake", "pull", "--lake", str(lake), "--case", str(tmp_path / "case"), *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "case").exists()


def test_an_unknown_lake_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notalake").mkdir()
    assert main(["lake", "pull", "--lake", str(tmp_path / "notalake"), "--case",
                 str(tmp_path / "case"), "--ip", "203.0.113.45"]) == 1
    err = capsys.readouterr().err.strip()
    assert "not a case lake" in err and "notalake" in err
    assert not (tmp_path / "case").exists()


def test_another_selection_over_objects_already_held_is_refused(ip_slice: Path, lake: Path,
                                                                tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(ip_slice, case)
    with Case.open(case) as c:
        before = c.tables()
    from s3forensics.lake.build import LakeError

    # The benign website traffic shares access log objects with nothing the attacker did, but the
    # whole bucket shares objects with the slice.
    with pytest.raises(LakeError, match="already holds .* evidence objects"):
        pull_lake(lake, case, buckets=["acme-prod-customer-data"])
    with Case.open(case) as c:
        assert c.tables() == before


def test_a_notebook_runs_on_the_pulled_case(ip_slice: Path, tmp_path: Path,
                                            answers: dict[str, Any]) -> None:
    pm = pytest.importorskip("papermill")
    from s3forensics.notebook import notebook_dir

    case = tmp_path / "case"
    shutil.copytree(ip_slice, case)
    ip = answers["attacker"]["ips"][1]
    out = tmp_path / "03.ipynb"
    pm.execute_notebook(str(notebook_dir() / "03_investigate_ip.ipynb"), str(out),
                        parameters={"case_dir": str(case), "ip": ip}, cwd=str(notebook_dir()),
                        progress_bar=False, kernel_name="python3")
    import nbformat

    nb = nbformat.read(out, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert f"investigating {ip}\n" in printed


def test_verify_on_a_pulled_case_counts_the_pulled_objects_apart(ip_slice: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # The slice holds rows, not bytes: verify must neither fail on that nor pass it off as checked.
    assert main(["verify", "--case", str(ip_slice)]) == 0
    out = capsys.readouterr().out
    pulled = store.connect(ip_slice / "case.duckdb", read_only=True).execute(
        "SELECT count(*) FROM evidence WHERE stored_as = 'lake'").fetchall()[0][0]
    assert pulled > 0 and f"{pulled:,} objects pulled from a lake" in out
    assert "0 evidence files recorded" in out and "OK: evidence intact" in out


_SCRIPT_HEADER = """-- title: t
-- description: a test script
-- params:
--   names: {type: "string[]", default: [], description: "some names"}
--   note: {type: string, default: null, description: "a text"}
-- ---
"""


def test_a_lake_script_binds_its_declared_parameters_and_refuses_undeclared_ones(
        tmp_path: Path) -> None:
    from s3forensics.errors import QueryError
    from s3forensics.lake.sql import load_script

    (tmp_path / "ok.sql").write_text(
        _SCRIPT_HEADER + "CREATE TEMP TABLE n AS SELECT len(CAST($names AS VARCHAR[])) AS n;\n"
        "-- a ; in a comment and '$note' in a literal are not statements or parameters\n"
        "CREATE TEMP TABLE t AS SELECT $note AS note, 'a;b' AS text, "
        "list_contains(CAST($names AS VARCHAR[]), 'x') AS has_x;\n")
    script = load_script("ok", folder=tmp_path)
    con = duckdb.connect()
    script.run(con, {"note": "it's; DROP TABLE n"})  # names: [] (the default) binds as a list
    assert con.execute("SELECT n FROM n").fetchall() == [(0,)]
    assert con.execute("SELECT * FROM t").fetchall() == [("it's; DROP TABLE n", "a;b", False)]
    with pytest.raises(QueryError, match="unknown parameter"):
        script.run(con, {"nmes": ["x"]})

    (tmp_path / "bad.sql").write_text(_SCRIPT_HEADER + "SELECT $names, $note, $other;\n")
    with pytest.raises(QueryError, match="undeclared parameter.*other"):
        load_script("bad", folder=tmp_path)


def test_a_record_sharing_only_an_event_id_with_one_in_the_case_is_pulled(tmp_path: Path) -> None:
    # The case holds a forged record under a real eventID; the lake holds the real one. Pulling
    # the real one must add it (and a second pull add nothing), not count it as held.
    import gzip

    from .factories import ct_record

    real = ct_record(1)
    forged = {**real, "sourceIPAddress": "198.51.100.66"}
    for folder, records in (("forged", [forged]), ("real", [real, ct_record(2)])):
        path = tmp_path / folder / f"{folder}.json.gz"
        path.parent.mkdir()
        path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    build_lake(tmp_path / "lake", paths=[tmp_path / "real"])
    with Case.open(tmp_path / "case") as case:
        case.ingest([tmp_path / "forged"], progress=False)
        result = pull_lake(tmp_path / "lake", case, ips=["192.0.2.10"])
        assert result.added["cloudtrail_events"] == 2 and result.duplicates == 0
        rows = case.sql("SELECT source_ip FROM cloudtrail_events WHERE event_id = $e ORDER BY 1",
                        {"e": real["eventID"]})
        assert rows["source_ip"].to_list() == ["192.0.2.10", "198.51.100.66"]
        again = pull_lake(tmp_path / "lake", case, ips=["192.0.2.10"])
        assert not any(again.added.values())
