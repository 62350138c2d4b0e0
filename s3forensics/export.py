"""Hand the case's results to the tools responders use next: Timesketch, ATT&CK Navigator, a SIEM or a sheet.

- `timesketch`: the timeline as JSON Lines with the three fields Timesketch requires on import
  (`message`, `datetime` in ISO 8601, `timestamp_desc`) plus every source field, flat.
- `attack-layer`: an ATT&CK Navigator layer (format 4.5) of the techniques the findings cover,
  scored by their most severe finding, with the finding names as comments.
- `csv` (formula-safe, for spreadsheets), `jsonl` and `parquet` (exact values) of the findings'
  rows or of any query result. Entity columns of findings are lists: arrays in jsonl and Parquet,
  one cell of lines in CSV (never joined with ", ", which object keys and user agents contain).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import duckdb
import polars as pl

from .errors import ParameterError
from .findings import ENTITY_COLUMNS, Finding, entity_lists, run_findings
from .queries.registry import FINDING_COLUMNS, SEVERITIES, QueryRegistry, default_registry
from .spreadsheet import write_csv

__all__ = [
    "EXPORT_FORMATS",
    "SEVERITY_SCORES",
    "attack_layer",
    "default_export_path",
    "export_case",
    "findings_rows",
    "timesketch_records",
    "write_jsonl",
]

EXPORT_FORMATS = ("timesketch", "attack-layer", "csv", "jsonl", "parquet")
#: Navigator scores per severity: a technique takes the score of its most severe finding.
SEVERITY_SCORES = {"critical": 100, "high": 75, "medium": 50, "low": 25, "info": 10}
_EXTENSIONS = {"timesketch": ".jsonl", "attack-layer": ".json", "csv": ".csv", "jsonl": ".jsonl",
               "parquet": ".parquet"}
# What each source's time means (schema docs): the access log's is when S3 received the request,
# CloudTrail's when the request completed.
_TIME_MEANING = {"s3-access": "S3 request received", "cloudtrail": "CloudTrail event time"}
# The ATT&CK and Navigator versions the layer declares (layer format 4.5 needs Navigator >= 4.9.0).
_LAYER_VERSIONS = {"attack": "16", "navigator": "5.1.0", "layer": "4.5"}


def findings_rows(findings: Sequence[Finding]) -> pl.DataFrame:
    """Every finding's rows stacked, led by the detection's name, severity and title; entity
    columns are lists (JSON arrays in jsonl and Parquet, one cell of lines in CSV)."""
    entities = set(ENTITY_COLUMNS.values())
    frames = [
        entity_lists(f.rows.select(FINDING_COLUMNS)).with_columns(
            pl.col("first_seen").cast(pl.Datetime("us", "UTC")), pl.col("last_seen").cast(pl.Datetime("us", "UTC")),
            pl.col("events").cast(pl.Int64), pl.col("detail").cast(pl.String),
        ).select(pl.lit(f.detection).alias("detection"), pl.lit(f.severity).alias("severity"),
                 pl.lit(",".join(f.mitre)).alias("mitre"), pl.lit(f.title).alias("title"), pl.all())
        for f in findings
    ]
    if frames:
        return pl.concat(frames)
    return pl.DataFrame(schema={"detection": pl.String, "severity": pl.String, "mitre": pl.String,
                                "title": pl.String, "first_seen": pl.Datetime("us", "UTC"),
                                "last_seen": pl.Datetime("us", "UTC"),
                                **{c: pl.List(pl.String) if c in entities else pl.String
                                   for c in FINDING_COLUMNS if c not in ("first_seen", "last_seen")},
                                "events": pl.Int64}).select("detection", "severity", "mitre", "title",
                                                            *FINDING_COLUMNS)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def write_jsonl(rows: Iterator[Mapping[str, Any]] | pl.DataFrame, out: IO[str]) -> int:
    """Write rows (or a frame's rows) as JSON Lines, times as ISO 8601 UTC; return the count."""
    n = 0
    source = rows.iter_rows(named=True) if isinstance(rows, pl.DataFrame) else rows
    for row in source:
        out.write(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
        n += 1
    return n


def timesketch_records(frame: pl.DataFrame) -> Iterator[dict[str, Any]]:
    """Timeline rows as Timesketch events: message, datetime, timestamp_desc, timestamp and the source fields."""
    for row in frame.iter_rows(named=True):
        moment: datetime = row["event_time"]
        who = row.get("actor") or "unknown"
        where = f" from {row['source_ip']}" if row.get("source_ip") else ""
        what = f" {row['resource']}" if row.get("resource") else ""
        record = {
            "message": f"{who} {row.get('operation')}{what}{where}: {row.get('outcome')}",
            "datetime": moment.astimezone(UTC).isoformat(),
            "timestamp": int(moment.timestamp() * 1_000_000),  # microseconds, Timesketch's own unit
            "timestamp_desc": _TIME_MEANING.get(str(row.get("source")), "Event time"),
            "data_type": f"s3forensics:{row.get('source')}",
        }
        # Source fields keep their names; Timesketch reserves names starting with an underscore.
        record.update({k: _json_value(v) for k, v in row.items() if k != "event_time" and not k.startswith("_")})
        yield record


def attack_layer(findings: Sequence[Finding], *, name: str = "s3forensics findings",
                 description: str = "") -> dict[str, Any]:
    """An ATT&CK Navigator layer (format 4.5): each technique the findings cover, scored by severity."""
    by_technique: dict[str, list[Finding]] = {}
    for f in findings:
        for technique in f.mitre:
            by_technique.setdefault(technique, []).append(f)
    techniques = []
    for technique in sorted(by_technique):
        hits = sorted(by_technique[technique], key=lambda f: (SEVERITIES.index(f.severity), f.detection))
        techniques.append({
            "techniqueID": technique,
            "score": SEVERITY_SCORES.get(hits[0].severity, 0),
            "comment": "; ".join(f"{f.detection} ({f.severity}, {f.count} row(s))" for f in hits),
            "enabled": True,
            "metadata": [{"name": f.detection, "value": f.title} for f in hits],
        })
    return {
        "name": name,
        "versions": dict(_LAYER_VERSIONS),
        "domain": "enterprise-attack",
        "description": description or f"Techniques covered by {len(findings)} s3forensics finding(s)",
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True, "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": ["#ffffff", "#fcae91", "#de2d26"], "minValue": 0, "maxValue": 100},
        "legendItems": [{"label": f"{sev} finding", "color": color} for sev, color in
                        (("critical", "#de2d26"), ("high", "#fb6a4a"), ("medium", "#fcae91"), ("low", "#fee5d9"))],
    }


def export_case(
    con: duckdb.DuckDBPyConnection,
    fmt: str,
    out: str | Path | IO[str],
    *,
    query: str | None = None,
    params: Mapping[str, Any] | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    registry: QueryRegistry | None = None,
) -> int:
    """Export findings (default), the timeline (`timesketch`) or a query's result; return the records written.

    `out` is a path, or a text stream for the text formats. `start`/`end` bound the findings and
    the timeline; `params` are the query's parameters.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    registry = registry or default_registry()
    values = dict(params or {})
    findings: list[Finding] = []
    if fmt == "attack-layer" or (query is None and fmt != "timesketch"):
        if query is not None:
            raise ValueError("an ATT&CK layer is made from the findings, not from a query")
        findings = run_findings(con, start=start, end=end, registry=registry)
    if fmt == "attack-layer":
        _write_text(out, json.dumps(attack_layer(findings), indent=2) + "\n")
        return len(findings)
    if query is not None or fmt == "timesketch":
        q = registry.get(query or "timeline")
        for key, value in (("start", start), ("end", end)):
            if value is not None and key in q.params:
                values.setdefault(key, value)
        frame = q.run(con, values)
    else:
        frame = findings_rows(findings)
    if fmt == "timesketch":
        if "event_time" not in frame.columns:
            raise ValueError(f"query {q.name} has no event_time column: Timesketch needs one time per event")
        return _with_stream(out, lambda fh: write_jsonl(timesketch_records(frame), fh))
    if fmt == "jsonl":
        return _with_stream(out, lambda fh: write_jsonl(frame, fh))
    if fmt == "csv":
        _write_text(out, write_csv(frame) or "")
        return frame.height
    if not isinstance(out, (str, Path)):
        raise ParameterError("out", "must be a file path: Parquet is binary")
    frame.write_parquet(out)
    return frame.height


def default_export_path(case_root: str | Path, fmt: str, query: str | None = None) -> Path:
    """Where an export goes when no --out is given: <case>/exports/<what>.<ext>."""
    what = query or ("timeline" if fmt == "timesketch" else "attack-layer" if fmt == "attack-layer" else "findings")
    suffix = "-timesketch" if fmt == "timesketch" else ""
    return Path(case_root) / "exports" / f"{what}{suffix}{_EXTENSIONS[fmt]}"


def _with_stream(out: str | Path | IO[str], write: Any) -> int:
    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="utf-8", newline="\n") as fh:
            return int(write(fh))
    return int(write(out))


def _write_text(out: str | Path | IO[str], text: str) -> None:
    if isinstance(out, (str, Path)):
        Path(out).write_text(text, encoding="utf-8")
    else:
        out.write(text)
