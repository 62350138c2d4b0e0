"""Narrow a lake into a case: the rows about some IPs, principals, keys or buckets, and what correlates.

`pull_lake` selects rows on DuckDB views over a local lake (the same views a case has, so an IP,
a principal or an access key matches exactly as `profile` matches it), then loads them into a case
through `store.insert_batch`, the function `ingest` loads parsed batches with.

What is selected, in one step (not a closure):

1. **matched**: rows in [start, end) of the given buckets (all buckets when none) that match any
   given entity: `--ip` (remote_ip / source_ip), `--principal` (principal or actor: a role matches
   its sessions), `--access-key` (CloudTrail access_key_id; an access log row through the
   CloudTrail record of the same request). With no entity, every row of the buckets/window.
2. **same session**: CloudTrail events in [start, end) made with an access key a matched CloudTrail
   event used (or one given with `--access-key`), whatever the bucket, and the AssumeRole* event
   that issued such a session key.
3. **same request**: rows of either source sharing a request id with a row of 1 or 2, within the
   window widened by the skew the correlation views tolerate between the two sources
   (`request_skew_seconds()`, 15 minutes: enrich/macros.py REQUEST_SKEW).

The statements are data: `lake/sql/pull_selection.sql`, every value bound by DuckDB.

An evidence object with a row in the slice comes with its evidence row (its counts state the rows
of it the case holds, as `insert_batch` computes them) and all its rejects. Digest files have no
rows and are not pulled. `lake_provenance` records which lake file each object's rows came from.

Pulling the same selection again adds nothing. Rows of objects the case already holds cannot be
added by another selection (the object's counts would stop reconciling): that is refused, with the
advice to pull into a new case or to give every filter in one pull.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import TimeRangeError
from ..timerange import parse_utc
from .build import LakeError

if TYPE_CHECKING:
    import duckdb

    from ..case import Case

__all__ = ["PullResult", "PullSelection", "pull_lake"]

#: Case tables a pull writes, in the order it reports them.
PULLED_TABLES = ("s3_access_logs", "cloudtrail_events", "rejects", "evidence")


@dataclass(frozen=True)
class PullSelection:
    """What to pull: entities (any may match), buckets and a UTC window (both restrict)."""

    ips: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    access_keys: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def make(cls, *, ips: Iterable[str] = (), principals: Iterable[str] = (),
             access_keys: Iterable[str] = (), buckets: Iterable[str] = (),
             start: str | datetime | None = None, end: str | datetime | None = None) -> PullSelection:
        """Validate the filters: UTC-aware times with start before end, at least one filter."""
        begin = parse_utc(start, name="--start") if start is not None else None
        stop = parse_utc(end, name="--end") if end is not None else None
        if begin is not None and stop is not None and begin >= stop:
            raise TimeRangeError(f"--start {begin.isoformat()} is not before --end {stop.isoformat()}")
        def distinct(values: Iterable[str]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(v for v in values if v))

        sel = cls(distinct(ips), distinct(principals), distinct(access_keys), distinct(buckets),
                  begin, stop)
        if not (sel.has_entity or sel.buckets or begin or stop):
            raise LakeError("lake pull needs a selection: give --ip, --principal, --access-key, "
                            "--bucket or --start/--end (to load a whole lake, `ingest` its logs)")
        return sel

    @property
    def has_entity(self) -> bool:
        """True when an IP, principal or access key is given."""
        return bool(self.ips or self.principals or self.access_keys)

    def as_json(self) -> str:
        """The selection as JSON (recorded with every row of lake_provenance)."""
        return json.dumps({
            "ips": list(self.ips), "principals": list(self.principals),
            "access_keys": list(self.access_keys), "buckets": list(self.buckets),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None}, sort_keys=True)

    def describe(self) -> str:
        """The filters in the words of the command line (for messages)."""
        parts = [f"--{opt} {v}" for opt, values in (
            ("ip", self.ips), ("principal", self.principals), ("access-key", self.access_keys),
            ("bucket", self.buckets)) for v in values]
        parts += [f"--start {self.start.isoformat()}"] if self.start else []
        parts += [f"--end {self.end.isoformat()}"] if self.end else []
        return " ".join(parts)


@dataclass
class PullResult:
    """What a pull did, per case table: rows matched, correlated, already in the case, added."""

    lake: str
    case: str
    pull_id: str
    selection: PullSelection
    matched: dict[str, int] = field(default_factory=dict)
    correlated: dict[str, int] = field(default_factory=dict)
    already_in_case: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    #: CloudTrail records not added because the case holds them (same eventID and content)
    #: from another object.
    duplicates: int = 0

    def __str__(self) -> str:
        lines = [f"{'table':18} {'matched':>10} {'correlated':>10} {'in case':>10} {'added':>10}"]
        for t in PULLED_TABLES:
            lines.append(f"{t:18} {self.matched.get(t, 0):>10,} {self.correlated.get(t, 0):>10,} "
                         f"{self.already_in_case.get(t, 0):>10,} {self.added.get(t, 0):>10,}")
        if self.duplicates:
            lines.append(f"{self.duplicates:,} CloudTrail events skipped: the case holds them "
                         "(same eventID and content) from another object")
        if not any(self.added.values()):
            lines.append("nothing new: the case already holds this selection")
        lines.append(f"pulled from {self.lake} into {self.case} (lake_provenance pull_id "
                     f"{self.pull_id})")
        return "\n".join(lines)


def _params(sel: PullSelection) -> dict[str, Any]:
    """The selection as the values of lake/sql/pull_selection.sql's declared parameters."""
    return {
        "ips": list(sel.ips), "principals": list(sel.principals),
        "access_keys": list(sel.access_keys), "buckets": list(sel.buckets),
        "has_entity": sel.has_entity, "start": sel.start, "end": sel.end,
    }


def _select(con: duckdb.DuckDBPyConnection, sel: PullSelection) -> None:
    """Fill the temporary tables _sel_sal, _sel_ct, _objects (and the seeds) on the lake connection."""
    from .sql import load_script

    load_script("pull_selection").run(con, _params(sel))


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _lake_rows(con: duckdb.DuckDBPyConnection, lake: str) -> dict[str, pl.DataFrame]:
    """The selected rows of each table, with the lake file each came from (`lake_file`)."""
    from .local import table_sql

    for table in ("s3_access_logs", "cloudtrail_events", "rejects", "evidence"):
        con.execute(f"CREATE OR REPLACE TEMP VIEW _pull_{table} AS "
                    f"{table_sql(lake, table, lake_file=True)}")
    return {
        "s3_access_logs": con.sql(
            "SELECT r.* FROM _pull_s3_access_logs r SEMI JOIN _sel_sal s "
            "USING (evidence_id, line_no)").pl(),
        "cloudtrail_events": con.sql(
            "SELECT r.* FROM _pull_cloudtrail_events r SEMI JOIN _sel_ct s "
            "USING (evidence_id, record_no)").pl(),
        "rejects": con.sql(
            "SELECT r.* FROM _pull_rejects r SEMI JOIN _objects o USING (evidence_id)").pl(),
        # Counts as the lake's `evidence` view states them (cross-object duplicates taken off).
        "evidence": con.sql(
            "SELECT e.*, f.lake_file FROM evidence e "
            "JOIN (SELECT evidence_id, any_value(lake_file) AS lake_file FROM _pull_evidence "
            "GROUP BY evidence_id) f USING (evidence_id) "
            "WHERE e.evidence_id IN (SELECT evidence_id FROM _objects)").pl(),
    }


_KEYS = {"s3_access_logs": ["evidence_id", "line_no"], "cloudtrail_events": ["evidence_id", "record_no"],
         "rejects": ["evidence_id", "line_no", "record_no"], "evidence": ["evidence_id"]}


def _in_case(con: duckdb.DuckDBPyConnection, rows: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Keys of the selected rows that the case already holds, per table."""
    from .. import store
    from ..schema import CLOUDTRAIL_REPEAT_KEY
    from ..store import fetch_frame

    p = {"ids": rows["evidence"]["evidence_id"].to_list()}
    mine = "WHERE evidence_id IN (SELECT unnest(CAST($ids AS VARCHAR[])))"
    held = {t: fetch_frame(con, f"SELECT {', '.join(_KEYS[t])} FROM {t} {mine}", p)
            for t in PULLED_TABLES}
    # A CloudTrail record the case holds from another object (same eventID and content: a
    # repeat, schema.CLOUDTRAIL_REPEAT_KEY) is in the case too: counting it as new would make a
    # second identical pull differ. A record only sharing an eventID is not held.
    events = rows["cloudtrail_events"].select(pl.col("event_id").drop_nulls().unique())
    if events.height:
        same = store.held_records(con, events)
        extra = rows["cloudtrail_events"].join(
            same.cast({c: rows["cloudtrail_events"].schema[c] for c in same.columns}),
            on=list(CLOUDTRAIL_REPEAT_KEY), how="semi", nulls_equal=True,
        ).select("evidence_id", "record_no")
        held["cloudtrail_events"] = pl.concat(
            [held["cloudtrail_events"].cast({"record_no": pl.Int64}), extra]).unique()
    return held


def _open_case(case: str | os.PathLike[str] | Case) -> tuple[Case, bool]:
    from ..case import Case

    if isinstance(case, Case):
        return case, False
    return Case.open(case), True


def pull_lake(
    lake: str | os.PathLike[str],
    case: str | os.PathLike[str] | Case,
    *,
    ips: Sequence[str] = (),
    principals: Sequence[str] = (),
    access_keys: Sequence[str] = (),
    buckets: Sequence[str] = (),
    start: str | datetime | None = None,
    end: str | datetime | None = None,
) -> PullResult:
    """Load a lake's rows about some entities (and the rows correlated with them) into a case."""
    import duckdb

    from .. import store
    from ..schema import LAKE_PROVENANCE
    from .local import check_lake, connect_lake

    sel = PullSelection.make(ips=ips, principals=principals, access_keys=access_keys,
                             buckets=buckets, start=start, end=end)
    lake = os.fspath(lake)
    check_lake(lake)  # a local lake folder: a lake on object storage is refused here
    lake = os.path.abspath(lake)
    now = datetime.now(UTC)
    pull_id = now.strftime("%Y%m%dT%H%M%SZ-") + hashlib.sha256(
        (lake + sel.as_json()).encode()).hexdigest()[:8]
    con = connect_lake(lake)
    try:
        _select(con, sel)
        matched = {"s3_access_logs": _count(con, "_seed_sal"), "cloudtrail_events": _count(con, "_seed_ct")}
        rows = _lake_rows(con, lake)
    finally:
        con.close()
    if not (rows["s3_access_logs"].height or rows["cloudtrail_events"].height):
        # Checked before the case is opened: an empty selection leaves no empty case behind.
        raise LakeError(f"{lake}: no rows match {sel.describe()}; nothing was pulled "
                        "(check the values with `s3forensics query ip_activity --lake ...`)")
    result = PullResult(lake=lake, case="", pull_id=pull_id, selection=sel, matched=matched)
    for t in ("s3_access_logs", "cloudtrail_events"):
        result.correlated[t] = rows[t].height - matched[t]
    result.matched["rejects"] = rows["rejects"].height
    result.matched["evidence"] = rows["evidence"].height

    target, owned = _open_case(case)
    result.case = str(target.root)
    try:
        if target.read_only:
            raise LakeError(f"{target.root}: the case is open read-only; open it for writing to "
                            "pull rows into it")
        held = _in_case(target.con, rows)
        new = {t: rows[t].join(held[t].cast({k: rows[t].schema[k] for k in _KEYS[t]}),
                               on=_KEYS[t], how="anti", nulls_equal=True)
               for t in PULLED_TABLES}
        for t in PULLED_TABLES:
            result.already_in_case[t] = rows[t].height - new[t].height
        known = set(held["evidence"]["evidence_id"].to_list())
        grown = sorted({*new["s3_access_logs"]["evidence_id"], *new["cloudtrail_events"]["evidence_id"],
                        *new["rejects"]["evidence_id"]} & known)
        if grown:
            raise LakeError(
                f"{target.root}: the case already holds {len(grown):,} of the evidence objects "
                f"these rows come from (e.g. {grown[0]}), loaded with other rows; an object's "
                "evidence row counts the rows the case holds, so rows cannot be added to it. "
                "Pull into a new case folder, or give every filter in one pull")
        if not any(new[t].height for t in PULLED_TABLES):
            result.added = dict.fromkeys(PULLED_TABLES, 0)
            return result
        evidence = new["evidence"].with_columns(
            pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("loaded_at"),
            pl.lit("lake").alias("stored_as"))
        provenance = _provenance(new, lake=lake, sel=sel, pull_id=pull_id, now=now)
        target.con.execute("BEGIN TRANSACTION")
        try:
            stored = store.insert_batch(
                target.con, evidence=evidence,
                access_rows=new["s3_access_logs"] if new["s3_access_logs"].height else None,
                cloudtrail_rows=new["cloudtrail_events"] if new["cloudtrail_events"].height else None,
                rejects=new["rejects"] if new["rejects"].height else None)
            target.con.execute(LAKE_PROVENANCE.create_sql().replace(
                "CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
            target.con.register("_pull_provenance", provenance)
            target.con.execute("INSERT INTO lake_provenance SELECT * FROM _pull_provenance")
            target.con.unregister("_pull_provenance")
            for statement in LAKE_PROVENANCE.comment_sql():
                target.con.execute(statement)
            target.con.execute("COMMIT")
        except BaseException:
            try:
                target.con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the failed statement ended the transaction; keep its error
            raise
    finally:
        if owned:
            target.close()
    kinds = stored.group_by("kind").agg(pl.col("records").sum())
    per_kind = dict(kinds.iter_rows())
    result.added = {
        "s3_access_logs": int(per_kind.get("s3-access", 0)),
        "cloudtrail_events": int(per_kind.get("cloudtrail", 0)),
        "rejects": int(stored["rejects"].sum()),
        "evidence": stored.height,
    }
    # Records the case already held (same eventID and content) from another object: not added (their
    # lake_provenance rows count them as read).
    result.duplicates = new["cloudtrail_events"].height - result.added["cloudtrail_events"]
    return result


def _provenance(new: dict[str, pl.DataFrame], *, lake: str, sel: PullSelection, pull_id: str,
                now: datetime) -> pl.DataFrame:
    """lake_provenance rows: per table, object and lake file, the rows this pull adds."""
    from ..schema import LAKE_PROVENANCE

    parts = [new[t].group_by("evidence_id", "lake_file").agg(pl.len().cast(pl.Int64).alias("rows"))
             .with_columns(pl.lit(t).alias("table_name"))
             for t in PULLED_TABLES if new[t].height]
    frame = pl.concat(parts).with_columns(
        pl.lit(pull_id).alias("pull_id"), pl.lit(now).alias("pulled_at"), pl.lit(lake).alias("lake"),
        pl.lit(sel.as_json()).alias("selection"))
    schema = LAKE_PROVENANCE.polars_schema()
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()]).sort(
        "table_name", "evidence_id", "lake_file")

