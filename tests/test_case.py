"""The case database: evidence copies, idempotent and atomic loads, bad input, documented columns."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, timezone
from pathlib import Path

import polars as pl
import pytest

from s3forensics import store
from s3forensics.case import Case
from s3forensics.errors import CaseError, InputError

from .factories import ct_object, sal_object

SAL_NAME = "logs/2024-05-01-12-10-00-0123456789ABCDEF"
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
            stored = (case.root / row["case_path"]).read_bytes()
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
    import s3forensics.case as case_mod

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
        copies = [p for p in case.evidence_dir.rglob("*") if p.is_file()]
        assert len(copies) == 2 and not any("truncated" in p.name for p in copies)


def test_missing_path_and_empty_folder_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with Case.open(tmp_path / "case") as case:
        with pytest.raises(InputError, match="empty folder"):
            case.ingest([tmp_path / "empty"], progress=False)
        with pytest.raises(InputError, match="no such file or folder"):
            case.ingest([tmp_path / "nope"], progress=False)


def test_a_failed_batch_leaves_no_half_loaded_object(tmp_path: Path, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = store._conform
    calls = {"evidence": 0}

    def failing(frame: pl.DataFrame, schema: object) -> pl.DataFrame:
        if schema is store.EVIDENCE_SCHEMA:
            calls["evidence"] += 1
            if calls["evidence"] == 2:  # after the data rows were inserted, before commit
                raise KeyboardInterrupt
        return real(frame, schema)  # type: ignore[arg-type]

    with Case.open(tmp_path / "case") as case:
        monkeypatch.setattr(store, "_conform", failing)
        with pytest.raises(KeyboardInterrupt):
            case.ingest([logs / SAL_NAME], progress=False)
        monkeypatch.setattr(store, "_conform", real)
        assert case.tables() == {t: 0 for t in store.TABLE_SCHEMAS}
        # The interrupted object loads cleanly on the next run.
        summary = case.ingest([logs / SAL_NAME], progress=False)
        assert summary.rows == {"s3-access": 5}


def test_an_interruption_keeps_committed_loads_and_drops_the_open_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3forensics.case as case_mod

    monkeypatch.setattr(case_mod, "BATCH_OBJECTS", 1)  # each object parses on its own
    monkeypatch.setattr(case_mod, "LOAD_ROWS", 6)  # a commit every two objects (3 rows each)
    src = tmp_path / "src"
    for n in range(4):
        write(src, f"logs/2024-05-01-12-1{n}-00-0123456789ABCDE{n}", sal_object(3, start=10 * n))
    real = store._conform
    calls = {"evidence": 0}

    def failing(frame: pl.DataFrame, schema: object) -> pl.DataFrame:
        if schema is store.EVIDENCE_SCHEMA:
            calls["evidence"] += 1
            if calls["evidence"] == 6:  # the third object's rows are in, its evidence row is not
                raise KeyboardInterrupt
        return real(frame, schema)  # type: ignore[arg-type]

    with Case.open(tmp_path / "case") as case:
        monkeypatch.setattr(store, "_conform", failing)
        with pytest.raises(KeyboardInterrupt):
            case.ingest([src], progress=False)
        monkeypatch.setattr(store, "_conform", real)
        # The first two objects committed together; nothing of the third (or fourth) is left.
        assert case.tables() == {"s3_access_logs": 6, "cloudtrail_events": 0, "evidence": 2,
                                 "rejects": 0}
        per_object = case.sql("SELECT evidence_id, count(*) n FROM s3_access_logs GROUP BY 1")
        assert sorted(per_object["n"].to_list()) == [3, 3]
        again = case.ingest([src], progress=False)
        assert again.objects == {"s3-access": 2} and again.already_loaded == 2
        assert case.tables()["s3_access_logs"] == 12


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
            assert hashlib.sha256((case.root / case_path).read_bytes()).hexdigest() == sha


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
