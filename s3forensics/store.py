"""The DuckDB case database: schema with documented columns, atomic idempotent batch loads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl

from .errors import CaseBusyError, CaseError
from .schema import CASE_TABLES, CLOUDTRAIL_REPEAT_KEY, EVIDENCE, Table

__all__ = [
    "EVIDENCE_SCHEMA",
    "TABLE_SCHEMAS",
    "EventIds",
    "connect",
    "fetch_frame",
    "ensure_schema",
    "held_bytes",
    "held_records",
    "known_hashes",
    "known_objects",
    "insert_batch",
]

EVIDENCE_SCHEMA: dict[str, pl.DataType] = EVIDENCE.polars_schema()
#: Each case table's polars schema (declared in schema.py), in storage order.
TABLE_SCHEMAS: dict[str, Mapping[str, pl.DataType]] = {
    name: table.polars_schema() for name, table in CASE_TABLES.items()}


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a case database with UTC as the session time zone."""
    try:
        # DuckDB would otherwise keep up to 80% of RAM of loaded blocks cached; a bounded pool
        # keeps ingest memory flat however large the case (it spills to disk when needed).
        con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": "512MB"})
    except duckdb.IOException as exc:
        holder = _lock_holder(str(exc))
        if holder is None:
            raise CaseError(f"{path}: cannot open the case database ({exc})") from exc
        if read_only:
            raise CaseBusyError(
                f"{path}: the case is being written by another process ({holder}); "
                "run again when it has finished", holder=holder) from exc
        raise CaseBusyError(
            f"{path}: the case is open in another process ({holder}), so it cannot be "
            "written; close it there (a notebook: shut down its kernel) and run again",
            holder=holder) from exc
    con.execute("SET TimeZone = 'UTC'")
    return con


_LOCK = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def _lock_holder(message: str) -> str | None:
    """Who holds a DuckDB file lock, from its message: 'PID n: command line', or None."""
    m = _LOCK.search(message)
    if not m:
        return None
    pid = m["pid"]
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:  # Linux: the holder's whole command
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        argv = [m["program"]]
    command = " ".join(argv)
    if len(command) > 160:
        command = command[:157] + "..."
    return f"PID {pid}: {command}"


def fetch_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None
) -> pl.DataFrame:
    """Run SQL with bound `$name` parameters and return the result as a polars frame."""
    return con.sql(sql, params=dict(params or {})).pl()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables as schema.py declares them, each column with its COMMENT."""
    existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    # One transaction for all of it: a commit per statement costs a WAL sync each (issue 15).
    con.execute("BEGIN TRANSACTION")
    try:
        for name, table in CASE_TABLES.items():
            if name in existing:
                _add_missing_columns(con, table)
                continue
            con.execute(table.create_sql())
            for statement in table.comment_sql():
                con.execute(statement)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Bring a table of a case made by an earlier version up to the schema (new columns last)."""
    have = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = $t ORDER BY column_index",
        {"t": table.name}).fetchall()]
    missing = [n for n in table.column_names if n not in have]
    if not missing:
        return
    if table.column_names[: len(have)] != have:
        raise CaseError(f"table {table.name} has columns in an order this version does not know; "
                        "open the case with the version that made it")
    for name in missing:  # inside ensure_schema's transaction
        con.execute(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {table.duckdb_type(name)}')
    for statement in table.comment_sql(missing):
        con.execute(statement)


def known_hashes(con: duckdb.DuckDBPyConnection) -> set[str]:
    """SHA-256 of every evidence object already loaded."""
    return {r[0] for r in con.execute("SELECT sha256 FROM evidence").fetchall()}


def known_objects(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str]]:
    """(SHA-256, source, version id or '') of every evidence record: the objects already in."""
    return {(sha, source, version) for sha, source, version in con.execute(
        "SELECT sha256, source, coalesce(version_id, '') FROM evidence").fetchall()}


def held_bytes(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str, str]]:
    """SHA-256 -> (evidence_id, case_path, kind) of the record holding those bytes and rows."""
    return {sha: (evidence_id, case_path, kind) for sha, evidence_id, case_path, kind in con.execute(
        "SELECT sha256, evidence_id, case_path, kind FROM evidence WHERE identical_to IS NULL"
    ).fetchall()}


class _ArrowStream:
    """A frame handed to DuckDB through the Arrow C stream interface (zero copy).

    Polars exports its string views as they are (DuckDB scans them twice as fast as plain
    strings), and unlike `DataFrame.to_arrow` this needs no pyarrow: importing it cost 0.3-0.6 s
    of an access-log ingest (issue 15).
    """

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


def _arrow(frame: pl.DataFrame) -> object:
    """The frame as an Arrow stream DuckDB can scan: no copy, no pyarrow."""
    return _ArrowStream(frame)


class EventIds:
    """Hashes of the eventIDs a case holds: finds a batch's repeats without reading every id.

    Checking each batch against the case read the whole event_id column once per batch, a cost
    that grows with the case (issue 15). The hashes are read once; a batch id whose hash is among
    them is confirmed against the case, so a hash collision costs a lookup, never a row.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._hashes = con.sql(
            "SELECT hash(event_id) AS h FROM cloudtrail_events WHERE event_id IS NOT NULL"
        ).pl()["h"]

    def held(self, con: duckdb.DuckDBPyConnection, ids: pl.DataFrame) -> pl.DataFrame:
        """The case's records (CLOUDTRAIL_REPEAT_KEY columns) of the eventIDs in `ids`."""
        if not ids.height:
            return held_records(con, ids)
        con.register("_batch_ids", _arrow(ids))
        try:
            hashed = con.sql("SELECT event_id, hash(event_id) AS h FROM _batch_ids").pl()
        finally:
            con.unregister("_batch_ids")
        maybe = hashed.filter(pl.col("h").is_in(self._hashes.implode()))
        found = held_records(con, maybe.select("event_id"))
        # Added before the batch commits: should it roll back, a stale hash only costs a lookup.
        self._hashes = pl.concat([self._hashes, hashed["h"]])
        return found


def held_records(con: duckdb.DuckDBPyConnection, ids: pl.DataFrame) -> pl.DataFrame:
    """The case's records (CLOUDTRAIL_REPEAT_KEY columns) whose event_id is among `ids`."""
    schema = CASE_TABLES["cloudtrail_events"].polars_schema()
    empty = pl.DataFrame(schema={c: schema[c] for c in CLOUDTRAIL_REPEAT_KEY})
    if not ids.height:
        return empty
    con.register("_held_ids", _arrow(ids))
    try:
        columns = ", ".join(f'e."{c}"' for c in CLOUDTRAIL_REPEAT_KEY)
        held = con.sql(f"SELECT {columns} FROM cloudtrail_events e "
                       "SEMI JOIN _held_ids b USING (event_id)").pl()
    finally:
        con.unregister("_held_ids")
    return held.cast({c: empty.schema[c] for c in held.columns}) if held.height else empty


def insert_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    evidence: pl.DataFrame,
    access_rows: pl.DataFrame | None = None,
    cloudtrail_rows: pl.DataFrame | None = None,
    rejects: pl.DataFrame | None = None,
    event_ids: EventIds | None = None,
) -> pl.DataFrame:
    """Insert one batch inside the caller's transaction; return the evidence rows as stored.

    CloudTrail records repeating one the case holds or one earlier in the batch (same eventID
    and content, schema.CLOUDTRAIL_REPEAT_KEY) are skipped and counted in `evidence.duplicates`; `evidence.records` is what each object actually added.
    A loader of many batches passes one `EventIds` for all of them.
    """
    evidence = EVIDENCE.conform(evidence)
    rejects = (CASE_TABLES["rejects"].conform(rejects) if rejects is not None
               else CASE_TABLES["rejects"].empty_frame())
    sal = CASE_TABLES["s3_access_logs"].conform(access_rows) if access_rows is not None else None
    ct = (CASE_TABLES["cloudtrail_events"].conform(cloudtrail_rows)
          if cloudtrail_rows is not None else None)
    counts: list[pl.DataFrame] = []
    if sal is not None and sal.height:
        con.register("_batch_sal", _arrow(sal))
        con.execute("INSERT INTO s3_access_logs SELECT * FROM _batch_sal")
        con.unregister("_batch_sal")
        counts.append(sal.group_by("evidence_id").agg(pl.len().alias("records")))
    if ct is not None and ct.height:
        # A repeat of a record (same eventID and content, schema.CLOUDTRAIL_REPEAT_KEY) earlier
        # in the batch or in the case is not loaded again. Only the ids travel to DuckDB for
        # the check; the wide rows are inserted once.
        ids = ct.select(pl.col("event_id").drop_nulls().unique())
        # Without EventIds (a single batch, a lake pull): the case's own column answers.
        seen = event_ids.held(con, ids) if event_ids is not None else held_records(con, ids)
        repeat = pl.struct(CLOUDTRAIL_REPEAT_KEY)
        fresh = ct
        if ct.select(pl.col("event_id").is_duplicated().any()).item():  # the parser's are gone
            fresh = ct.filter(pl.col("event_id").is_null() | repeat.is_first_distinct())
        if seen.height:
            fresh = fresh.filter(
                pl.col("event_id").is_null()
                | ~repeat.is_in(seen.select(pl.struct(CLOUDTRAIL_REPEAT_KEY)).to_series().implode()))
        con.register("_batch_ct_new", _arrow(fresh))
        con.execute("INSERT INTO cloudtrail_events SELECT * FROM _batch_ct_new")
        con.unregister("_batch_ct_new")
        counts.append(
            ct.group_by("evidence_id").agg(pl.len().alias("_parsed")).join(
                fresh.group_by("evidence_id").agg(pl.len().alias("records")),
                on="evidence_id", how="left",
            ).select(
                "evidence_id",
                pl.col("records").fill_null(0),
                (pl.col("_parsed") - pl.col("records").fill_null(0)).alias("_dups"),
            )
        )
    if rejects.height:
        con.register("_batch_rej", _arrow(rejects))
        con.execute("INSERT INTO rejects SELECT * FROM _batch_rej")
        con.unregister("_batch_rej")
    per_object = pl.concat(
        [c.select("evidence_id", "records", (pl.col("_dups") if "_dups" in c.columns
                                              else pl.lit(0, pl.Int64)).alias("_dups"))
         .cast({"records": pl.Int64, "_dups": pl.Int64}) for c in counts],
    ) if counts else pl.DataFrame(schema={"evidence_id": pl.String, "records": pl.Int64, "_dups": pl.Int64})
    rej_counts = rejects.group_by("evidence_id").agg(pl.len().cast(pl.Int64).alias("_rej"))
    evidence = (
        evidence.drop("records", "rejects")
        .join(per_object, on="evidence_id", how="left")
        .join(rej_counts, on="evidence_id", how="left")
        .with_columns(
            pl.col("records").fill_null(0),
            pl.col("_rej").fill_null(0).alias("rejects"),
            (pl.col("duplicates").fill_null(0) + pl.col("_dups").fill_null(0)).alias("duplicates"),
        )
    )
    evidence = EVIDENCE.conform(evidence)
    con.register("_batch_ev", _arrow(evidence))
    con.execute("INSERT INTO evidence SELECT * FROM _batch_ev")
    con.unregister("_batch_ev")
    return evidence
