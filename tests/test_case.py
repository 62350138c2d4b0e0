"""The case database: evidence copies, idempotent and atomic loads, bad input, documented columns."""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import UTC, timezone
from pathlib import Path

import polars as pl
import pytest

from s3forensics import store
from s3forensics.case import Case
from s3forensics.errors import CaseError, InputError
from s3forensics.evidence_files import read_evidence

from .factories import ct_object, sal_object

SAL_NAME = "logs/2024-05-01-12-10-00-0123456789ABCDEF"
#: A case path held under an encoded name: a file of its own, or a pack member (issue 15).
ENCODED = r"^evidence/(@packs/[^/]+\.tar/)?@encoded/"


def kept_objects(case: Case) -> list[str]:
    """Names of every object the case keeps bytes of: files under evidence/ and pack members."""
    import tarfile

    kept = []
    for path in sorted(case.evidence_dir.rglob("*")):
        if path.is_file() and path.parent.name == "@packs" and path.suffix == ".tar":
            with tarfile.open(path) as tar:
                kept += [m.name for m in tar.getmembers()]
        elif path.is_file():
            kept.append(path.relative_to(case.evidence_dir).as_posix())
    return kept
CT_NAME = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T1215Z_abcdEFGH12345678.json.gz"


def write(root: Path, rel: str, data: bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    write(src, SAL_NAME, sal_object(5, bad=["garbage line that is not a record"]))
    write(src, CT_NAME, ct_object(range(4)))
    write(src, "README.txt", b"notes from the customer\n")
    return src


def test_ingest_copies_evidence_byte_for_byte_and_counts_reconcile(tmp_path: Path, logs: Path) -> None:
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([logs], progress=False)
        assert summary.objects == {"s3-access": 1, "cloudtrail": 1}
        assert summary.rows == {"s3-access": 5, "cloudtrail": 4}
        assert summary.rejects == {"s3-access": 1, "cloudtrail": 0}
        assert [Path(p).name for p, _ in summary.skipped] == ["README.txt"]
        ev = case.sql("SELECT * FROM evidence ORDER BY kind")
        for row in ev.iter_rows(named=True):
            original = Path(row["source"]).read_bytes()
            stored = read_evidence(case.root, row["case_path"])
            assert stored == original
            assert row["sha256"] == hashlib.sha256(original).hexdigest()
            assert row["evidence_id"] == row["sha256"][:16]
        # The key path is kept under evidence/.
        assert any(p.endswith(SAL_NAME) for p in ev["case_path"])
        # lines in = rows + rejects, per object.
        sal = ev.filter(pl.col("kind") == "s3-access").row(0, named=True)
        lines = (logs / SAL_NAME).read_bytes().decode().count("\n")
        assert sal["records"] + sal["rejects"] == lines == 6
        rej = case.sql("SELECT * FROM rejects")
        assert rej["evidence_id"].to_list() == [sal["evidence_id"]]
        assert rej["line_no"].to_list() == [6]
        assert rej["raw"].to_list() == ["garbage line that is not a record"]


def test_event_time_is_utc_aware_end_to_end(tmp_path: Path, logs: Path) -> None:
    with Case.open(tmp_path / "case") as case:
        case.ingest([logs], progress=False)
        for table in ("s3_access_logs", "cloudtrail_events"):
            col = case.sql(f"SELECT event_time FROM {table} ORDER BY event_time")["event_time"]
            assert col.dtype == pl.Datetime("us", "UTC")
            assert col[0].tzinfo is not None and col[0].utcoffset().total_seconds() == 0
            assert col[0].astimezone(UTC).isoformat() == "2024-05-01T12:00:00+00:00"


def test_reingest_is_idempotent_and_new_objects_add_rows(tmp_path: Path, logs: Path) -> None:
    with Case.open(tmp_path / "case") as case:
        case.ingest([logs], progress=False)
        before = case.tables()
        again = case.ingest([logs], progress=False)
        assert again.loaded == 0 and again.already_loaded == 2
        assert case.tables() == before
        write(logs, "logs/2024-05-01-13-10-00-FEDCBA9876543210", sal_object(3, start=10))
        more = case.ingest([logs], progress=False)
        assert more.objects == {"s3-access": 1}
        after = case.tables()
        assert after["s3_access_logs"] == before["s3_access_logs"] + 3
        assert after["evidence"] == before["evidence"] + 1
    # Re-opening the case keeps everything (a DuckDB file on disk).
    with Case.open(tmp_path / "case", create=False) as case:
        assert case.tables() == after


def test_duplicate_event_ids_load_once_and_are_counted(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, CT_NAME, ct_object(range(0, 4)))
    write(src, CT_NAME.replace("abcdEFGH", "zzzzEFGH"), ct_object(range(2, 6)))
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert summary.rows["cloudtrail"] == 6
        assert summary.duplicates == 2
        n = case.sql("SELECT count(*) n, count(DISTINCT event_id) d FROM cloudtrail_events").row(0)
        assert n == (6, 6)
        ev = case.sql("SELECT records, duplicates FROM evidence ORDER BY records DESC")
        assert ev.rows() == [(4, 0), (2, 2)]


def test_small_parse_batches_gathered_into_loads_keep_every_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects parsed in many batches and loaded in several transactions: counts still reconcile."""
    import s3forensics.ingest as case_mod

    monkeypatch.setattr(case_mod, "BATCH_OBJECTS", 2)  # a parse batch every two objects
    monkeypatch.setattr(case_mod, "LOAD_ROWS", 7)  # a load every few parse batches
    src = tmp_path / "src"
    for n in range(6):
        write(src, f"logs/2024-05-01-12-1{n}-00-0123456789ABCDE{n}", sal_object(3, start=10 * n))
        # Every CloudTrail object repeats two events of the one before, across batch boundaries.
        write(src, CT_NAME.replace("abcdEFGH", f"obj{n}EFGH"), ct_object(range(2 * n, 2 * n + 4)))
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert summary.objects == {"s3-access": 6, "cloudtrail": 6}
        assert summary.rows == {"s3-access": 18, "cloudtrail": 14}
        assert summary.duplicates == 10
        assert case.tables()["s3_access_logs"] == 18
        n = case.sql("SELECT count(*) n, count(DISTINCT event_id) d FROM cloudtrail_events").row(0)
        assert n == (14, 14)
        ev = case.sql("SELECT sum(records) r, sum(duplicates) d FROM evidence WHERE kind = 'cloudtrail'")
        assert ev.row(0) == (14, 10)


def test_loads_commit_between_objects_on_row_group_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit ends where the open load holds whole row groups, never inside an object (issue 15)."""
    import s3forensics.ingest as case_mod

    monkeypatch.setattr(case_mod, "BATCH_OBJECTS", 3)  # parse batches of 3 objects, 9 rows
    monkeypatch.setattr(case_mod, "ROW_GROUP", 4)
    monkeypatch.setattr(case_mod, "LOAD_ROWS", 8)
    committed: list[int] = []
    real_commit = case_mod._Loader._commit

    def commit(self: case_mod._Loader) -> None:
        if self._in_transaction:
            committed.append(self._rows)
        real_commit(self)

    monkeypatch.setattr(case_mod._Loader, "_commit", commit)
    src = tmp_path / "src"
    for n in range(6):
        write(src, f"logs/2024-05-01-12-1{n}-00-0123456789ABCDE{n}", sal_object(3, start=10 * n))
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert summary.objects == {"s3-access": 6} and summary.rows == {"s3-access": 18}
        # The first batch fills the load to 8 rows at most between objects: 2 objects (6 rows);
        # the third object opens the next load, which the second batch fills to 12 = 3 row groups.
        assert committed == [6, 12]
        per_object = case.sql("SELECT evidence_id, count(*) FROM s3_access_logs GROUP BY 1").rows()
        assert sorted(n for _, n in per_object) == [3] * 6
        ev = case.sql("SELECT sum(records) FROM evidence").row(0)
        assert ev == (18,)


def test_bad_inputs_are_named_and_the_rest_loads(tmp_path: Path, logs: Path) -> None:
    write(logs, "broken/corrupt.json.gz", b"\x1f\x8b\x08\x00garbage-not-deflate")
    good = gzip.decompress(ct_object(range(100, 103)))
    write(logs, "broken/truncated.json", good[: len(good) // 2])
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([logs], progress=False)
        assert summary.objects == {"s3-access": 1, "cloudtrail": 1}
        errors = "\n".join(summary.errors)
        assert "corrupt.json.gz: corrupt gzip" in errors
        assert "truncated.json" in errors and "truncated" in errors.lower()
        # Nothing of the broken objects entered the case, not even a copy.
        assert case.tables()["evidence"] == 2
        copies = kept_objects(case)
        assert len(copies) == 2 and not any("truncated" in p for p in copies)


def test_missing_path_and_empty_folder_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with Case.open(tmp_path / "case") as case:
        with pytest.raises(InputError, match="empty folder"):
            case.ingest([tmp_path / "empty"], progress=False)
        with pytest.raises(InputError, match="no such file or folder"):
            case.ingest([tmp_path / "nope"], progress=False)


def test_a_failed_batch_leaves_no_half_loaded_object(tmp_path: Path, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from s3forensics.schema import EVIDENCE, Table

    real = Table.conform
    calls = {"evidence": 0}

    def failing(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
        if table is EVIDENCE:
            calls["evidence"] += 1
            if calls["evidence"] == 2:  # after the data rows were inserted, before commit
                raise KeyboardInterrupt
        return real(table, frame)

    with Case.open(tmp_path / "case") as case:
        monkeypatch.setattr(Table, "conform", failing)
        with pytest.raises(KeyboardInterrupt):
            case.ingest([logs / SAL_NAME], progress=False)
        monkeypatch.setattr(Table, "conform", real)
        assert case.tables() == {t: 0 for t in store.TABLE_SCHEMAS}
        # The interrupted object loads cleanly on the next run.
        summary = case.ingest([logs / SAL_NAME], progress=False)
        assert summary.rows == {"s3-access": 5}


def _four_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, load_rows: int) -> Path:
    """Four access-log objects of 3 rows, each parsed on its own, committed every load_rows."""
    import s3forensics.ingest as case_mod

    monkeypatch.setattr(case_mod, "BATCH_OBJECTS", 1)
    monkeypatch.setattr(case_mod, "LOAD_ROWS", load_rows)
    src = tmp_path / "src"
    for n in range(4):
        write(src, f"logs/2024-05-01-12-1{n}-00-0123456789ABCDE{n}", sal_object(3, start=10 * n))
    return src


def test_an_interruption_keeps_committed_loads_and_drops_the_open_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _four_objects(tmp_path, monkeypatch, load_rows=6)  # a commit every two objects
    from s3forensics.schema import EVIDENCE, Table

    real = Table.conform
    calls = {"evidence": 0}

    def failing(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
        if table is EVIDENCE:
            calls["evidence"] += 1
            if calls["evidence"] == 6:  # the third object's rows are in, its evidence row is not
                raise KeyboardInterrupt
        return real(table, frame)

    with Case.open(tmp_path / "case") as case:
        monkeypatch.setattr(Table, "conform", failing)
        with pytest.raises(KeyboardInterrupt):
            case.ingest([src], progress=False)
        monkeypatch.setattr(Table, "conform", real)
        # The first two objects committed together; nothing of the third (or fourth) is left.
        assert case.tables() == {"s3_access_logs": 6, "cloudtrail_events": 0, "evidence": 2,
                                 "rejects": 0}
        per_object = case.sql("SELECT evidence_id, count(*) n FROM s3_access_logs GROUP BY 1")
        assert sorted(per_object["n"].to_list()) == [3, 3]
        again = case.ingest([src], progress=False)
        assert again.objects == {"s3-access": 2} and again.already_loaded == 2
        assert case.tables()["s3_access_logs"] == 12


@pytest.mark.parametrize("step", ["insert", "commit"])
def test_a_failed_load_drops_the_batches_queued_behind_it(
    step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from s3forensics.evidence_files import Pack
    from s3forensics.schema import EVIDENCE, Table

    src = _four_objects(tmp_path, monkeypatch, load_rows=3)  # each object commits on its own
    # The second object's insert (2 evidence conforms an object) or commit (its fsync, as on a
    # full disk) fails, once the third and fourth wait in the loader's queue.
    target, name, nth = (Table, "conform", 4) if step == "insert" else (Pack, "sync", 2)
    real = getattr(target, name)
    calls = {"n": 0}

    def failing(obj: object, *args: object) -> object:
        if step == "commit" or (args and obj is EVIDENCE):
            calls["n"] += 1
            if calls["n"] == nth:
                time.sleep(0.5)
                raise OSError("No space left on device")
        return real(obj, *args)

    with Case.open(tmp_path / "case") as case:
        monkeypatch.setattr(target, name, failing)
        with pytest.raises(OSError, match="No space left"):
            case.ingest([src], progress=False)
        monkeypatch.setattr(target, name, real)
        assert calls["n"] == nth  # nothing queued behind the failure was loaded
        assert case.tables() == {"s3_access_logs": 3, "cloudtrail_events": 0, "evidence": 1,
                                 "rejects": 0}
        again = case.ingest([src], progress=False)
        assert again.objects == {"s3-access": 3} and again.already_loaded == 1


def test_a_changed_file_under_the_same_name_keeps_both_copies(tmp_path: Path) -> None:
    src = tmp_path / "src"
    path = write(src, SAL_NAME, sal_object(2))
    with Case.open(tmp_path / "case") as case:
        case.ingest([src], progress=False)
        path.write_bytes(sal_object(3, start=50))  # same name, different bytes
        case.ingest([src], progress=False)
        ev = case.sql("SELECT sha256, case_path, records FROM evidence ORDER BY records")
        assert ev["records"].to_list() == [2, 3]
        assert ev["case_path"].n_unique() == 2
        for sha, case_path, _ in ev.iter_rows():
            assert hashlib.sha256(read_evidence(case.root, case_path)).hexdigest() == sha


def test_ingest_leaves_the_originals_access_times_alone(tmp_path: Path, logs: Path) -> None:
    import os

    path = logs / SAL_NAME
    stat = path.stat()
    # An access time older than the modification time: a plain read would update it (relatime).
    os.utime(path, ns=(stat.st_mtime_ns - 10**12, stat.st_mtime_ns))
    before = path.stat().st_atime_ns
    with Case.open(tmp_path / "case") as case:
        assert case.ingest([path], progress=False).rows == {"s3-access": 5}
    assert path.stat().st_atime_ns == before


def test_a_failed_commit_leaves_nothing_half_loaded(tmp_path: Path, logs: Path) -> None:
    class FailingCommit:
        """The case's connection, except that COMMIT fails (as on a full disk)."""

        def __init__(self, con: object) -> None:
            self._con = con

        def execute(self, sql: str, *args: object) -> object:
            if sql == "COMMIT":
                raise OSError("No space left on device")
            return self._con.execute(sql, *args)  # type: ignore[attr-defined]

        def __getattr__(self, name: str) -> object:
            return getattr(self._con, name)

    with Case.open(tmp_path / "case") as case:
        real = case.con
        case.con = FailingCommit(real)  # type: ignore[assignment]
        with pytest.raises(OSError, match="No space left"):
            case.ingest([logs], progress=False)
        case.con = real
        assert case.tables() == {t: 0 for t in store.TABLE_SCHEMAS}
        summary = case.ingest([logs], progress=False)
        assert summary.objects == {"s3-access": 1, "cloudtrail": 1}


def test_every_column_is_documented(tmp_path: Path) -> None:
    with Case.open(tmp_path / "case") as case:
        cols = case.sql(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE table_name IN (SELECT table_name FROM duckdb_tables())"
        )
        assert set(cols["table_name"]) == set(store.TABLE_SCHEMAS)
        assert cols.filter(pl.col("comment").is_null() | (pl.col("comment") == "")).height == 0
        assert cols.height == sum(len(s) for s in store.TABLE_SCHEMAS.values())


def test_case_folder_rules(tmp_path: Path) -> None:
    (tmp_path / "notacase").mkdir()
    (tmp_path / "notacase" / "photo.jpg").write_bytes(b"x")
    with pytest.raises(CaseError, match="not empty"):
        Case.open(tmp_path / "notacase")
    with pytest.raises(CaseError, match="not a case folder"):
        Case.open(tmp_path / "missing", create=False)


def test_sql_binds_parameters(tmp_path: Path, logs: Path) -> None:
    with Case.open(tmp_path / "case") as case:
        case.ingest([logs], progress=False)
        got = case.sql("SELECT count(*) n FROM s3_access_logs WHERE remote_ip = $ip", {"ip": "192.0.2.10"})
        assert got["n"][0] == 5
        none = case.sql("SELECT count(*) n FROM s3_access_logs WHERE remote_ip = $ip",
                        {"ip": "192.0.2.10' OR 1=1 --"})
        assert none["n"][0] == 0


# -- hostile names (issue 12): nothing a name can be destroys, hides or blocks evidence -------


def assert_every_copy_intact(case: Case) -> None:
    """Each evidence row's copy holds exactly its bytes, and verify agrees."""
    from s3forensics.manifest import verify_case

    for sha, case_path in case.sql("SELECT sha256, case_path FROM evidence").rows():
        assert hashlib.sha256(read_evidence(case.root, case_path)).hexdigest() == sha, case_path
    report = verify_case(case.root, con=case.con)
    assert report.ok, str(report)


def test_a_file_named_like_another_files_temporary_name_keeps_both_copies(tmp_path: Path) -> None:
    # X.partial used to be the temporary name of X's copy: copying X replaced X.partial's copy.
    src = tmp_path / "src"
    partial = write(src, SAL_NAME + ".partial", sal_object(2))
    plain = write(src, SAL_NAME, sal_object(3, start=20))
    with Case.open(tmp_path / "case") as case:
        assert case.ingest([partial], progress=False).objects == {"s3-access": 1}
        assert case.ingest([plain], progress=False).objects == {"s3-access": 1}
        ev = case.sql("SELECT case_path, records FROM evidence ORDER BY records")
        assert [Path(p).name for p in ev["case_path"]] == [partial.name, plain.name]
        assert_every_copy_intact(case)
        # Nothing is left where copies are written (ingest appends to a pack, issue 15).
        assert not (case.root / "tmp").exists() or not any((case.root / "tmp").iterdir())


def test_a_file_name_that_is_not_utf8_is_loaded_and_recorded_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    from urllib.parse import unquote_to_bytes

    from s3forensics.cli.main import main

    src = tmp_path / "src"
    write(src, SAL_NAME, sal_object(2))
    raw_name = os.fsencode(src / "logs") + b"/\xff\xfe100%-2024-05-01-12-20-00-0123456789ABCDEF"
    with open(raw_name, "wb") as fh:
        fh.write(sal_object(3, start=10))
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert summary.objects == {"s3-access": 2} and summary.rows == {"s3-access": 5}
        ev = case.sql("SELECT * FROM evidence WHERE name_escaped")
        assert ev.height == 1
        row = ev.row(0, named=True)
        assert unquote_to_bytes(row["source"]) == raw_name  # the exact name, bytes and all
        assert row["stored_as"] == "encoded" and re.match(ENCODED, row["case_path"])
        assert row["records"] == 3
        assert_every_copy_intact(case)
    # The command line says what it loaded and stops cleanly, not with a UnicodeEncodeError.
    (tmp_path / "more").mkdir()
    with open(os.fsencode(tmp_path / "more") + b"/\xfeREADME", "wb") as fh:
        fh.write(b"not a log\n")
    write(tmp_path / "more", "x/" + SAL_NAME, sal_object(1, start=40))
    assert main(["ingest", "--quiet", "--case", str(tmp_path / "case"), str(tmp_path / "more")]) == 0
    err = capsys.readouterr().err
    assert "%FEREADME" in err


def test_a_path_too_long_to_copy_under_its_name_is_stored_encoded_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    # The original path fits the file system; under the case folder, with evidence/local/ in
    # front, it would not: the copy takes an encoded name instead of failing the ingest.
    src = tmp_path / "src"
    name = "2024-05-01-12-20-00-0123456789ABCDEF"
    deep = src
    while len(str(deep / name)) < 4085 - 200:
        deep = deep / ("d" * 200)
    deep = deep / ("e" * (4085 - len(str(deep / name)) - 1))  # 4,085 bytes: 4,095 is the limit
    long_file = write(deep, name, sal_object(3, start=10))
    assert len(str(long_file)) == 4085
    write(src, SAL_NAME, sal_object(2))
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert summary.objects == {"s3-access": 2} and not summary.errors
        row = case.sql("SELECT * FROM evidence WHERE records = 3").row(0, named=True)
        assert row["source"] == str(long_file)
        assert row["stored_as"] == "encoded"
        assert_every_copy_intact(case)
        # Encoded names are stable: the same file ingested again is recognised as held.
        assert case.ingest([src], progress=False).already_loaded == 2


# -- one evidence record per object (issue 18) -------------------------------------------------


def test_identical_files_under_different_names_are_recorded_each_sharing_one_copy(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    body = sal_object(3)
    first = write(src, SAL_NAME, body)
    write(src, "again/" + SAL_NAME, body)  # a log delivered twice
    write(src, "logs/2024-05-01-13-00-00-0123456789ABCDEF", b"")  # two empty log files
    write(src, "logs/2024-05-01-14-00-00-0123456789ABCDEF", b"")
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert summary.objects == {"s3-access": 2} and summary.rows == {"s3-access": 3}
        assert summary.identical == 2 and summary.loaded == 4
        assert "2 objects identical to another object" in str(summary)
        ev = case.sql("SELECT * FROM evidence ORDER BY source")
        assert ev.height == 4 and ev["evidence_id"].n_unique() == 4
        same = sorted((r for r in ev.iter_rows(named=True) if r["size"]),
                      key=lambda r: r["identical_to"] is not None)
        assert {Path(r["source"]) for r in same} == {first, src / "again" / SAL_NAME}
        holder, twin = same  # the first found holds the copy and the rows
        assert holder["identical_to"] is None and holder["stored_as"] == "name"
        assert twin["identical_to"] == holder["evidence_id"] and twin["stored_as"] == "identical"
        assert twin["case_path"] == holder["case_path"] and twin["sha256"] == holder["sha256"]
        # One copy each of the two contents, nothing more.
        assert len(kept_objects(case)) == 2
        # Rows are loaded once, under the first object's id; every object reconciles: lines in
        # = rows + rejects, or it is recorded as identical to another object.
        assert case.sql("SELECT evidence_id, count(*) FROM s3_access_logs GROUP BY 1").rows() == [
            (holder["evidence_id"], 3)]
        for row in ev.iter_rows(named=True):
            lines = Path(row["source"]).read_bytes().count(b"\n")
            assert row["identical_to"] is not None or row["records"] + row["rejects"] == lines
            if row["identical_to"] is not None:
                assert row["records"] == row["rejects"] == 0
        assert_every_copy_intact(case)
        # Each object is in the case now: ingesting the folder again adds nothing; a third
        # name for the same bytes, later, is recorded against the object that holds them.
        again = case.ingest([src], progress=False)
        assert again.already_loaded == 4 and again.loaded == 0
        third = write(tmp_path / "later", SAL_NAME, first.read_bytes())
        later = case.ingest([third], progress=False)
        assert later.identical == 1 and later.objects == {}
        row = case.sql("SELECT * FROM evidence WHERE source = $s", {"s": str(third)}).row(0, named=True)
        assert row["identical_to"] == holder["evidence_id"] and row["case_path"] == holder["case_path"]
        assert case.tables()["s3_access_logs"] == 3


# -- symbolic links (issue 18) -----------------------------------------------------------------


def test_links_in_a_folder_are_followed_and_recorded_or_skipped_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from s3forensics.cli.main import main

    outside = tmp_path / "outside"
    linked_file = write(outside, "2024-05-01-12-20-00-0123456789ABCDEF", sal_object(2, start=20))
    write(outside, "more/2024-05-01-12-30-00-0123456789ABCDEF", sal_object(1, start=30))
    src = tmp_path / "src"
    write(src, SAL_NAME, sal_object(3))
    os.symlink(linked_file, src / "logs" / "2024-05-01-12-20-00-FEDCBA9876543210")
    os.symlink(outside / "more", src / "more")
    os.symlink(src, src / "logs" / "loop")  # a folder linking to one above it

    with Case.open(tmp_path / "followed") as case:
        summary = case.ingest([src], progress=False)
        assert summary.objects == {"s3-access": 3} and summary.links == 2
        assert "2 objects reached through symbolic links" in str(summary)
        assert any("a loop" in why for _, why in summary.skipped)
        ev = case.sql("SELECT source, link_target FROM evidence ORDER BY source").rows()
        assert ev == [
            (str(src / SAL_NAME), None),
            (str(src / "logs" / "2024-05-01-12-20-00-FEDCBA9876543210"), str(linked_file)),
            (str(src / "more" / "2024-05-01-12-30-00-0123456789ABCDEF"),
             str(outside / "more" / "2024-05-01-12-30-00-0123456789ABCDEF")),
        ]
        assert_every_copy_intact(case)

    assert main(["ingest", "--quiet", "--no-follow-links", "--case", str(tmp_path / "unfollowed"),
                 str(src)]) == 0
    err = capsys.readouterr().err
    assert f"skipped {src / 'more'}: symbolic link to {outside / 'more'}, not followed" in err
    assert f"symbolic link to {linked_file}, not followed" in err
    with Case.open(tmp_path / "unfollowed", create=False, read_only=True) as case:
        assert case.sql("SELECT source FROM evidence").rows() == [(str(src / SAL_NAME),)]


def test_verify_flags_an_evidence_file_replaced_by_a_link(
    tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import shutil

    from s3forensics.cli.main import main
    from s3forensics.manifest import verify_case

    with Case.open(tmp_path / "case") as case:
        case.ingest([logs], progress=False)
        case_paths = sorted(r[0] for r in case.sql("SELECT case_path FROM evidence").rows())
        # Ingest keeps the objects' bytes in one pack (issue 15); the pack is the case's file.
        (copy,) = [p for p in case.evidence_dir.rglob("*") if p.is_file()]
    assert all(p.startswith(copy.relative_to(tmp_path / "case").as_posix() + "/") for p in case_paths)
    # The pack is swapped for a link to identical bytes outside the case: the hashes still
    # match, and verify must still say the case no longer holds its own copy.
    elsewhere = tmp_path / "elsewhere"
    shutil.copy(copy, elsewhere)
    copy.unlink()
    os.symlink(elsewhere, copy)
    report = verify_case(tmp_path / "case")
    case_path = case_paths[-1]
    assert not report.ok and not report.changed and not report.missing
    assert report.linked == [f"{p} (a symbolic link to {elsewhere}, outside the case folder)"
                             for p in case_paths]
    assert main(["verify", "--case", str(tmp_path / "case")]) == 1
    out = capsys.readouterr().out
    assert f"not a file of the case (a symbolic link, or outside the case folder): {case_path}" in out
    assert "FAILED" in out


def test_file_names_with_a_backslash_or_a_newline_are_stored_encoded_and_recorded_exactly(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    names = ["logs\\2024-05-01-12-20-00-0123456789ABCDEF", "2024-05-01-12-30-00-0123456789ABCD\nEF"]
    for n, name in enumerate(names):
        write(src, name, sal_object(2, start=10 * n))
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert summary.objects == {"s3-access": 2} and not summary.errors
        ev = case.sql("SELECT source, stored_as, case_path, name_escaped FROM evidence ORDER BY source")
        assert [Path(s).name for s in ev["source"]] == sorted(names)
        assert set(ev["stored_as"]) == {"encoded"} and not any(ev["name_escaped"])
        assert all(re.match(ENCODED, p) for p in ev["case_path"])
        assert_every_copy_intact(case)


def test_a_case_made_before_the_anomalies_column_gains_it_and_keeps_loading(
        tmp_path: Path, logs: Path) -> None:
    import duckdb

    root = tmp_path / "old"
    with Case.open(root) as case:
        case.ingest([logs / SAL_NAME], progress=False)
    con = duckdb.connect(str(root / "case.duckdb"))
    con.execute("ALTER TABLE s3_access_logs DROP COLUMN anomalies")  # as an older version made it
    con.close()
    more = tmp_path / "more"
    write(more, "2024-05-02-00-00-00-ABCDEF0123456789", sal_object(3, start=50))
    with Case.open(root) as case:
        case.ingest([more], progress=False)
        counts = case.sql("SELECT count(*) AS n, count(anomalies) AS flagged FROM s3_access_logs")
    assert counts["n"][0] == 8 and counts["flagged"][0] == 0


# -- evidence packs (issue 15) -------------------------------------------------------------------


def test_ingested_objects_are_kept_in_a_standard_tar_that_verify_rehashes(
    tmp_path: Path, logs: Path
) -> None:
    import os
    import shutil
    import subprocess
    import tarfile

    from s3forensics.manifest import verify_case

    with Case.open(tmp_path / "case") as case:
        case.ingest([logs], progress=False)
        ev = case.sql("SELECT source, case_path FROM evidence ORDER BY source").rows()
    (pack,) = (tmp_path / "case" / "evidence" / "@packs").iterdir()
    assert all(p.startswith(f"evidence/@packs/{pack.name}/") for _, p in ev)
    # A responder extracts the pack with a standard tool: each object under its member name,
    # byte for byte.
    out = tmp_path / "extracted"
    out.mkdir()
    if shutil.which("tar"):
        subprocess.run(["tar", "-xf", str(pack), "-C", str(out)], check=True)
    else:
        with tarfile.open(pack) as tar:
            tar.extractall(out, filter="data")
    for source, case_path in ev:
        member = case_path.removeprefix(f"evidence/@packs/{pack.name}/")
        assert (out / member).read_bytes() == Path(source).read_bytes()
    assert verify_case(tmp_path / "case").ok
    # One byte changed inside one member: verify names that object, and only it.
    changed_source, changed = ev[0]
    span_bytes = Path(changed_source).read_bytes()
    data = pack.read_bytes()
    at = data.index(span_bytes) + len(span_bytes) // 2
    os.chmod(pack, 0o644)
    with open(pack, "r+b") as fh:
        fh.seek(at)
        fh.write(bytes([data[at] ^ 0xFF]))
    report = verify_case(tmp_path / "case")
    assert report.changed == [changed] and not report.missing and not report.unexpected
    assert report.checked == len(ev)


def test_event_ids_seen_before_are_found_by_hash_and_confirmed(tmp_path: Path) -> None:
    """Ingest finds repeated eventIDs from hashes read once; a hash match alone drops no row."""
    src = tmp_path / "src"
    write(src, CT_NAME, ct_object(range(0, 4)))
    with Case.open(tmp_path / "case") as case:
        case.ingest([src], progress=False)
        held = case.sql("SELECT event_id FROM cloudtrail_events ORDER BY event_id")["event_id"]
        ids = store.EventIds(case.con)
        fresh = "not-in-the-case"
        # Pretend the fresh id's hash collides with one held: it must still count as new.
        ids._hashes = pl.concat([ids._hashes, case.sql("SELECT hash($x) AS h", {"x": fresh})["h"]])
        batch = pl.DataFrame({"event_id": [held[0], fresh, held[3]]})
        assert sorted(ids.held(case.con, batch)["event_id"]) == sorted([held[0], held[3]])
        # A batch loaded without EventIds (as lake pull loads) skips the same rows.
        rows = case.sql("SELECT * FROM cloudtrail_events WHERE event_id IN ($a, $b)",
                        {"a": held[0], "b": held[3]})
        rows = pl.concat([rows, rows.head(1).with_columns(event_id=pl.lit(fresh))])
        case.con.execute("BEGIN")
        try:
            store.insert_batch(case.con, evidence=case.sql("SELECT * FROM evidence"),
                               cloudtrail_rows=rows)
            after = case.sql("SELECT event_id FROM cloudtrail_events ORDER BY event_id")
        finally:
            case.con.execute("ROLLBACK")
        assert after["event_id"].to_list() == sorted([*held, fresh])


def test_a_record_reusing_an_event_id_with_other_content_is_kept_across_ingests(
        tmp_path: Path) -> None:
    """A forged record loaded first under a real eventID hides neither the real one nor itself."""
    import json

    from .factories import ct_record

    real = ct_record(1)
    forged = {**real, "sourceIPAddress": "198.51.100.66", "eventName": "ListBucket"}
    src = tmp_path / "src"
    write(src, CT_NAME.replace("abcdEFGH", "forgEFGH"), gzip.compress(json.dumps(
        {"Records": [forged, ct_record(2)]}).encode()))
    with Case.open(tmp_path / "case") as case:
        case.ingest([src], progress=False)
        later = tmp_path / "later"
        # The real record, then the same real record delivered again (a repeat: loaded once).
        write(later, CT_NAME, gzip.compress(json.dumps({"Records": [real, ct_record(3)]}).encode()))
        write(later, CT_NAME.replace("abcdEFGH", "copyEFGH"), ct_object(range(1, 3)))
        summary = case.ingest([later], progress=False)
        assert summary.rows == {"cloudtrail": 2} and summary.duplicates == 2
        rows = case.sql("SELECT event_name, source_ip FROM cloudtrail_events WHERE event_id = $e "
                        "ORDER BY event_name", {"e": real["eventID"]})
        assert rows.rows() == [("GetObject", "192.0.2.10"), ("ListBucket", "198.51.100.66")]
        found = case.query("cloudtrail_event_id_reused")
        assert found.height == 1 and found["events"].to_list() == [2]
        assert "forgEFGH" in found["detail"][0] and "abcdEFGH" in found["detail"][0]
        ev = case.sql("SELECT sum(records) r, sum(duplicates) d FROM evidence").row(0)
        assert (int(ev[0]), int(ev[1])) == (4, 2)  # 6 records read: 4 rows and 2 repeats


def test_records_sharing_an_event_id_are_reported_once_each(tmp_path: Path) -> None:
    """Detections that join a record's details back to it join on the record, not its eventID."""
    import json

    from .factories import ct_record

    stop = {**ct_record(1), "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
            "requestParameters": {"name": "org-trail"}, "readOnly": False, "resources": None}
    other = {**stop, "sourceIPAddress": "198.51.100.66"}
    select = {**ct_record(2), "eventSource": "cloudtrail.amazonaws.com",
              "eventName": "PutEventSelectors", "readOnly": False, "resources": None,
              "requestParameters": {"trailName": "org-trail", "eventSelectors": [
                  {"readWriteType": "WriteOnly", "includeManagementEvents": True}]}}
    records = [stop, other, select, {**select, "sourceIPAddress": "198.51.100.66"}]
    write(tmp_path / "src", CT_NAME, gzip.compress(json.dumps({"Records": records}).encode()))
    with Case.open(tmp_path / "case") as case:
        case.ingest([tmp_path / "src"], progress=False)
        assert case.tables()["cloudtrail_events"] == 4
        found = case.query("trail_logging_tampered")
        assert sorted(found["source_ip"]) == ["192.0.2.10", "192.0.2.10", "198.51.100.66",
                                              "198.51.100.66"]


def test_verify_names_a_pack_an_interrupted_ingest_left(
        tmp_path: Path, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes appended before the first load failed: verify says what the pack is."""
    from s3forensics.manifest import verify_case

    def fail(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    root = tmp_path / "case"
    with Case.open(root) as case:
        monkeypatch.setattr(store, "insert_batch", fail)
        with pytest.raises(KeyboardInterrupt):
            case.ingest([logs / SAL_NAME], progress=False)
    report = verify_case(root)
    assert [p.startswith("evidence/@packs/") for p in report.unexpected] == [True]
    assert "ingest interrupted before its first load committed" in str(report)


def test_a_case_from_an_older_version_opened_read_only_runs_todays_queries(
        sample_case_dir: Path, tmp_path: Path) -> None:
    # A case written before a macro existed (round_places, say) does not hold it; a read-only
    # open (findings, report, notebooks) cannot add it to the case but must run the queries.
    import shutil

    import duckdb

    root = tmp_path / "case"
    shutil.copytree(sample_case_dir, root)
    with duckdb.connect(str(root / "case.duckdb")) as con:
        con.execute("DROP MACRO round_places")
    with Case.open(root, create=False, read_only=True) as case:
        assert case.query("error_rates").height > 0
        assert case.sql("SELECT count(*) AS n FROM bucket_first_seen")["n"][0] > 0
    with duckdb.connect(str(root / "case.duckdb"), read_only=True) as con:  # the case unchanged
        assert not con.execute("SELECT 1 FROM duckdb_functions() WHERE function_name = "
                               "'round_places'").fetchall()
