"""Run every detection over a case and summarise what fired, with the parameters used."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from . import __version__
from .queries.registry import FINDING_COLUMNS, SEVERITIES, Query, QueryRegistry, default_registry
from .spreadsheet import write_csv

__all__ = ["ENTITY_COLUMNS", "Finding", "entity_lists", "run_findings", "save_findings", "findings_frame"]

#: `Finding.entities` key (a JSON contract) -> the finding-row column holding that kind of entity.
ENTITY_COLUMNS: dict[str, str] = {"ips": "source_ip", "principals": "principal",
                                  "access_keys": "access_key_id", "buckets": "bucket",
                                  "keys": "object_key"}
_TEXTS = pl.List(pl.String)


@dataclass
class Finding:
    """One detection that fired: its metadata, counts, time span and the entities involved."""

    detection: str
    title: str
    severity: str
    mitre: list[str]
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    entities: dict[str, list[str]]
    events: int = 0
    rows: pl.DataFrame = field(default_factory=pl.DataFrame, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of a finding (rows are saved separately)."""
        out = {k: v for k, v in asdict(self).items() if k != "rows"}
        for key in ("first_seen", "last_seen"):
            value = out[key]
            out[key] = value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
        return out


def _as_list(column: str, dtype: pl.DataType) -> pl.Expr:
    """An entity column as a list of texts, whatever the detection returned."""
    if isinstance(dtype, pl.List):
        return pl.col(column).cast(_TEXTS).list.drop_nulls().fill_null(pl.lit([], _TEXTS))
    # One entity per row (VARCHAR): a list of it, empty when NULL. Never split: a value may
    # hold ', ' itself (object keys, user agents).
    return pl.concat_list(pl.col(column).cast(pl.String)).list.drop_nulls()


def entity_lists(rows: pl.DataFrame) -> pl.DataFrame:
    """Finding rows with every entity column (source_ip, principal, access_key_id, bucket,
    object_key) as a list of texts.

    A detection returns an entity column as one value per row (VARCHAR) or, when a row sums up
    several requests, as a list of them (VARCHAR[]); as lists, rows of all detections stack.
    """
    return rows.with_columns(_as_list(c, rows.schema[c]).alias(c)
                             for c in ENTITY_COLUMNS.values() if c in rows.columns)


def _distinct(rows: pl.DataFrame, column: str) -> list[str]:
    """Distinct non-empty values of an entity column, sorted; list cells give each of their items."""
    if column not in rows.columns or rows.height == 0:
        return []
    values = rows.select(_as_list(column, rows.schema[column]).alias("v"))["v"].explode()
    return sorted(v for v in values.drop_nulls().unique().to_list() if v)


def run_findings(
    con: duckdb.DuckDBPyConnection | None,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    registry: QueryRegistry | None = None,
    runner: Callable[[Query, Mapping[str, Any]], pl.DataFrame] | None = None,
) -> list[Finding]:
    """Run every detection (with per-detection parameter overrides); return those that fired, most severe first.

    `runner` runs one query elsewhere than on `con` (a lake on Spark); the findings are built
    from its rows exactly as from DuckDB's.
    """
    registry = registry or default_registry()
    if runner is None:
        if con is None:
            raise ValueError("run_findings needs a connection or a runner")
        runner = lambda query, values: query.run(con, values)  # noqa: E731
    params = params or {}
    found: list[Finding] = []
    for query in registry.list(kind="detection"):
        values: dict[str, Any] = dict(params.get(query.name, {}))
        for name, value in (("start", start), ("end", end)):
            if value is not None and name in query.params:
                values.setdefault(name, value)
        rows = runner(query, values)
        missing = [c for c in FINDING_COLUMNS if c not in rows.columns]
        if missing:  # a user's detection that does not follow the finding contract
            raise ValueError(f"detection {query.name} lacks columns {', '.join(missing)}")
        if rows.height == 0:
            continue
        found.append(Finding(
            detection=query.name,
            title=query.title,
            severity=query.severity or "info",
            mitre=list(query.mitre),
            count=rows.height,
            first_seen=rows["first_seen"].min(),  # type: ignore[arg-type]
            last_seen=rows["last_seen"].max(),  # type: ignore[arg-type]
            entities={k: _distinct(rows, c) for k, c in ENTITY_COLUMNS.items()},
            events=int(rows["events"].sum()),
            rows=rows,
        ))
    found.sort(key=lambda f: (SEVERITIES.index(f.severity), f.first_seen or datetime.max.replace(tzinfo=UTC), f.detection))
    return found


def findings_frame(findings: list[Finding]) -> pl.DataFrame:
    """One row per finding, for tables and CSV; the entities as lists (a CSV cell joins them)."""
    return pl.DataFrame(
        [{
            "detection": f.detection, "severity": f.severity, "title": f.title,
            "mitre": ",".join(f.mitre), "count": f.count, "events": f.events,
            "first_seen": f.first_seen, "last_seen": f.last_seen,
            **{k: list(v) for k, v in f.entities.items()},
        } for f in findings],
        schema={"detection": pl.String, "severity": pl.String, "title": pl.String, "mitre": pl.String,
                "count": pl.Int64, "events": pl.Int64, "first_seen": pl.Datetime("us", "UTC"),
                "last_seen": pl.Datetime("us", "UTC"), **{k: _TEXTS for k in ENTITY_COLUMNS}},
    )


def save_findings(
    case_root: str | Path,
    findings: list[Finding],
    *,
    parameters: Mapping[str, Any],
) -> Path:
    """Write findings.json, one CSV of rows per detection, and the parameters used, under <case>/findings/."""
    folder = Path(case_root) / "findings"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()  # results of detections that no longer fire must not linger
    for f in findings:
        write_csv(f.rows, folder / f"{f.detection}.csv")
    (folder / "findings.json").write_text(
        json.dumps([f.to_json() for f in findings], indent=2) + "\n", encoding="utf-8")
    run = {
        "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "tool_version": __version__,
        "parameters": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in parameters.items()},
    }
    (folder / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
    return folder / "findings.json"
