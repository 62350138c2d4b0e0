"""Everything the case knows about one IP, principal, access key, bucket or object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import duckdb
import polars as pl

from .findings import Finding
from .store import fetch_frame

__all__ = ["Profile", "profile", "ENTITY_KINDS"]

EntityKind = Literal["ip", "principal", "access_key", "bucket", "object"]
ENTITY_KINDS: tuple[str, ...] = ("ip", "principal", "access_key", "bucket", "object")

# Which actor_activity rows belong to the entity; the value is always bound as $value.
_MATCH = {
    "ip": "source_ip = $value",
    "principal": "(principal = $value OR actor = $value)",
    "access_key": "access_key_id = $value",
    "bucket": "bucket = $value",
    "object": "bucket || '/' || object_key = $value",
}
# Which other entities to list for each kind.
_RELATED = {
    "ip": ("actor", "access_key_id", "bucket", "user_agent"),
    "principal": ("source_ip", "access_key_id", "bucket", "user_agent"),
    "access_key": ("source_ip", "actor", "bucket", "user_agent"),
    "bucket": ("actor", "source_ip", "object_key"),
    "object": ("actor", "source_ip", "operation"),
}
_FINDING_ENTITY = {"ip": "ips", "principal": "principals", "access_key": "access_keys",
                   "bucket": "buckets", "object": "keys"}


@dataclass
class Profile:
    """A pivot's result: headline facts plus tables to display."""

    kind: str
    value: str
    summary: dict[str, Any]
    operations: pl.DataFrame
    daily: pl.DataFrame
    related: dict[str, pl.DataFrame]
    enrichment: pl.DataFrame
    findings: list[str] = field(default_factory=list)
    #: Bytes sent to the entity per hour (period_start, group_key, requests, bytes_out), matched
    #: exactly as the summary is (a role's sessions count for the role), for bytes_over_time.
    hourly: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def seen(self) -> bool:
        """True when the case holds any activity for this entity."""
        return bool(self.summary.get("events"))


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = $n", {"n": name}).fetchall()[0][0])


def _enrichment(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> pl.DataFrame:
    table, column = {"ip": ("ip_enrichment", "ip"), "principal": ("principal_enrichment", "principal")}.get(kind, ("", ""))
    if not table or not _table_exists(con, table):
        return pl.DataFrame()
    return fetch_frame(con, f"SELECT * FROM {table} WHERE {column} = $value", {"value": value})


def profile(
    con: duckdb.DuckDBPyConnection,
    kind: EntityKind,
    value: str,
    *,
    findings: Sequence[Finding] = (),
    top: int = 20,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> Profile:
    """Profile one entity across both sources: first/last seen, volumes, operations, related entities, findings.

    `start` (inclusive) and `end` (exclusive) limit it to a window, like the notebooks' queries.
    """
    if kind not in _MATCH:
        raise ValueError(f"unknown entity kind {kind!r}: use one of {', '.join(ENTITY_KINDS)}")
    where = (f"({_MATCH[kind]}) AND ($start IS NULL OR event_time >= CAST($start AS TIMESTAMPTZ))"
             " AND ($end IS NULL OR event_time < CAST($end AS TIMESTAMPTZ))")
    params = {"value": value, "start": start or None, "end": end or None}
    summary_frame = fetch_frame(con, f"""
        SELECT count(*) AS events,
               count(*) FILTER (WHERE source = 's3-access') AS access_log_rows,
               count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events,
               min(event_time) AS first_seen, max(event_time) AS last_seen,
               count(*) FILTER (WHERE NOT succeeded) AS failed,
               sum(bytes_out) FILTER (WHERE NOT also_in_access_log) AS bytes_out,
               count(DISTINCT source_ip) AS ips, count(DISTINCT actor) AS principals,
               count(DISTINCT bucket) AS buckets, count(DISTINCT object_key) AS objects
        FROM actor_activity WHERE {where}""", params)
    summary = summary_frame.row(0, named=True)
    operations = fetch_frame(con, f"""
        SELECT source, operation, count(*) AS events, count(*) FILTER (WHERE NOT succeeded) AS failed,
               sum(bytes_out) AS bytes_out, min(event_time) AS first_seen, max(event_time) AS last_seen
        FROM actor_activity WHERE {where}
        GROUP BY ALL ORDER BY events DESC, source, operation""", params)
    daily = fetch_frame(con, f"""
        SELECT date_trunc('day', event_time) AS day, count(*) AS events,
               sum(bytes_out) FILTER (WHERE NOT also_in_access_log) AS bytes_out,
               count(*) FILTER (WHERE NOT succeeded) AS failed
        FROM actor_activity WHERE {where} GROUP BY ALL ORDER BY day""", params)
    related = {}
    for column in _RELATED[kind]:
        # `column` comes from the fixed table above, never from the caller.
        related[column] = fetch_frame(con, f"""
            SELECT {column} AS value, count(*) AS events, min(event_time) AS first_seen,
                   max(event_time) AS last_seen
            FROM actor_activity WHERE {where} AND {column} IS NOT NULL
            GROUP BY ALL ORDER BY events DESC, value LIMIT {int(top)}""", params)
    hourly = fetch_frame(con, f"""
        SELECT time_bucket(INTERVAL 1 HOUR, event_time) AS period_start, $value AS group_key,
               count(*) AS requests, coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out
        FROM actor_activity WHERE {where} AND NOT coalesce(also_in_access_log, false)
        GROUP BY ALL ORDER BY period_start""", params)
    key = _FINDING_ENTITY[kind]
    named = [f.detection for f in findings if value in f.entities.get(key, [])
             or (kind == "principal" and value in f.entities.get("principals", []))]
    return Profile(kind, value, summary, operations, daily, related, _enrichment(con, kind, value), named,
                   hourly)
