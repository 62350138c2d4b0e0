"""Plain-language readings of investigation results, and which entity to pivot to next.

The guided notebooks print these sentences under each result so a responder reads what the
data says (the busiest hour, the largest talkers, the gaps in the evidence) without working it
out from a table, and picks the next pivot from the findings rather than from a hard-coded value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import duckdb
import polars as pl

from .findings import Finding
from .pivots import Profile
from .queries.registry import SEVERITIES
from .store import fetch_frame

__all__ = [
    "ENTITY_COLUMNS",
    "describe_findings",
    "describe_gaps",
    "describe_overview",
    "describe_peak",
    "describe_profile",
    "describe_rare",
    "describe_top",
    "format_bytes",
    "lead_entity",
    "rank_entities",
    "suggest_pivots",
]

#: Entity kind -> the finding-row column holding it (the detections' shared columns).
ENTITY_COLUMNS: dict[str, str] = {"ip": "source_ip", "principal": "principal",
                                  "access_key": "access_key_id", "bucket": "bucket"}
# Which notebook and parameter investigate an entity of each kind.
_NOTEBOOK = {"ip": ("03_investigate_ip", "ip"), "principal": ("04_investigate_principal", "principal")}
_RANK_SCHEMA: dict[str, pl.DataType] = {
    "value": pl.String(), "severity": pl.String(), "detections": pl.List(pl.String()),
    "events": pl.Int64()}
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(n: float | Decimal | None) -> str:
    """A byte count for people: 1,536 -> '1.5 KiB'; None -> 'no bytes recorded'."""
    if n is None:
        return "no bytes recorded"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value):,} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _when(moment: object) -> str:
    if moment is None:
        return "unknown time"
    return f"{moment:%Y-%m-%d %H:%M}Z" if isinstance(moment, datetime) else str(moment)


def _listing(values: Sequence[str], limit: int = 8) -> str:
    if not values:
        return "none"
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False  # CloudTrail names services (AWS Internal, s3.amazonaws.com) in this column
    return True


def rank_entities(findings: Sequence[Finding], kind: str) -> pl.DataFrame:
    """Entities of one kind named by findings, most implicated first: worst severity, then how
    many detections name it, then events.

    Columns: value, severity (the worst finding naming it), detections, events.
    """
    if kind not in ENTITY_COLUMNS:
        raise ValueError(f"unknown entity kind {kind!r}: use one of {', '.join(ENTITY_COLUMNS)}")
    column = ENTITY_COLUMNS[kind]
    parts = [
        f.rows.select(
            pl.col(column).cast(pl.String).str.split(", ").alias("value"),
            pl.col("events").cast(pl.Int64).fill_null(1) if "events" in f.rows.columns
            else pl.lit(1, pl.Int64).alias("events"),
        ).with_columns(pl.lit(f.detection).alias("detection"),
                       pl.lit(SEVERITIES.index(f.severity) if f.severity in SEVERITIES
                              else len(SEVERITIES)).alias("rank"))
        for f in findings if column in f.rows.columns and f.rows.height
    ]
    if not parts:
        return pl.DataFrame(schema=_RANK_SCHEMA)
    rows = pl.concat(parts).explode("value").filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    if kind == "ip":
        addresses = [v for v in rows["value"].unique().to_list() if _is_address(v)]
        rows = rows.filter(pl.col("value").is_in(addresses))
    ranked = (
        rows.group_by("value")
        .agg(pl.col("rank").min(), pl.col("detection").unique().sort().alias("detections"),
             pl.col("events").sum())
        .with_columns(pl.col("detections").list.len().alias("n_detections"))
        .sort(["rank", "n_detections", "events", "value"], descending=[False, True, True, False])
    )
    return ranked.select(
        "value",
        pl.col("rank").replace_strict(dict(enumerate(SEVERITIES)), default="info",
                                      return_dtype=pl.String).alias("severity"),
        "detections",
        pl.col("events").cast(pl.Int64),
    )


def lead_entity(findings: Sequence[Finding], kind: str, *,
                con: duckdb.DuckDBPyConnection | None = None) -> str | None:
    """The entity to investigate first: the one the most severe findings name; with no findings,
    the busiest one in the case (when `con` is given); else None."""
    ranked = rank_entities(findings, kind)
    if ranked.height:
        return str(ranked["value"][0])
    if con is None:
        return None
    column = {"ip": "source_ip", "principal": "actor", "access_key": "access_key_id",
              "bucket": "bucket"}[kind]
    # `column` comes from the fixed table above, never from the caller.
    busiest = fetch_frame(con, f"""
        SELECT {column} AS value, count(*) AS events FROM actor_activity
        WHERE {column} IS NOT NULL AND NOT is_service AND NOT coalesce(is_anonymous, false)
        GROUP BY ALL ORDER BY events DESC, value LIMIT 20""")
    values = [v for v in busiest["value"].to_list() if kind != "ip" or _is_address(v)]
    return values[0] if values else None


def describe_overview(overview: pl.DataFrame) -> str:
    """What each source holds (from the case_overview query): records, objects, rejects, span."""
    if overview.height == 0 or not overview["rows"].sum():
        return "The case holds no records yet: load evidence first."
    sentences = []
    for row in overview.sort("source").iter_rows(named=True):
        if "digest" in row["source"]:
            # Digest files hold hashes of the log files, not records.
            sentences.append(f"{row['source']}: {row['objects']:,} digest files (they prove log "
                             "files unchanged; they hold no records).")
            continue
        if not row["rows"]:
            sentences.append(f"{row['source']}: no records - this source is missing from the case.")
            continue
        sentences.append(
            f"{row['source']}: {row['rows']:,} records from {row['objects']:,} evidence objects, "
            f"{_when(row['first_event'])} to {_when(row['last_event'])}, naming {row['buckets']:,} "
            f"bucket(s), {row['principals']:,} principal(s) and {row['source_ips']:,} address(es); "
            f"{row['rejects']:,} rejected line(s) or record(s).")
    return " ".join(sentences)


def _amount(value: str, amount: float) -> str:
    return format_bytes(amount) if "byte" in value else f"{amount:,.0f}"


def describe_top(frame: pl.DataFrame, *, label: str, value: str | None = None,
                 what: str | None = None, n: int = 3) -> str:
    """Who leads a ranking and with what share of the total, e.g. the top source IPs; without
    `value`, each row counts once (e.g. one row per deleted object)."""
    what = what or value or "rows"
    if frame.height == 0:
        return f"No {what} in this window."
    amount = pl.col(value).cast(pl.Float64).sum() if value else pl.len().cast(pl.Float64)
    value = value or "count"
    totals = frame.group_by(label).agg(amount.alias(value)).sort(
        [value, label], descending=[True, False])
    grand = float(totals[value].sum())
    leaders = []
    for name, amount in totals.head(n).iter_rows():
        share = f", {amount / grand:.0%}" if grand else ""
        leaders.append(f"{name} ({_amount(value, amount)}{share})")
    return (f"Most {what}: {'; '.join(leaders)}. Shares are of the {_amount(value, grand)} in "
            f"total across the {totals.height:,} {label} values listed.")


def describe_peak(frame: pl.DataFrame, *, time: str, value: str, what: str | None = None) -> str:
    """The busiest period of a time series and how far it stands above the typical period."""
    what = what or value
    series = frame.group_by(time).agg(pl.col(value).cast(pl.Float64).sum()).sort(time)
    if series.height == 0 or not series[value].sum():
        return f"No {what} in this window."
    peak = series.sort([value, time], descending=[True, False]).row(0, named=True)
    median = float(series[value].cast(pl.Float64).median() or 0)  # type: ignore[arg-type]
    ratio = (f", {peak[value] / median:,.0f} times the median period ({_amount(value, median)})"
             if median else "")
    return (f"Busiest period for {what}: {_when(peak[time])} with {_amount(value, peak[value])}{ratio}. "
            f"{series.height:,} periods have some, from {_when(series[time].min())} "
            f"to {_when(series[time].max())}.")


def describe_rare(frame: pl.DataFrame, *, label: str, value: str, max_count: int = 5,
                  n: int = 10) -> str:
    """The rarest values of a count (rare operations are often the interesting ones)."""
    totals = frame.group_by(label).agg(pl.col(value).sum()).filter(pl.col(value) <= max_count)
    if totals.height == 0:
        return f"Every {label} occurs more than {max_count} times."
    rare = totals.sort([value, label]).head(n)
    listed = ", ".join(f"{name} ({count:,})" for name, count in rare.iter_rows())
    more = f" and {totals.height - rare.height} more" if totals.height > rare.height else ""
    return f"{totals.height} {label} values occur at most {max_count} times: {listed}{more}."


def describe_gaps(coverage: pl.DataFrame) -> str:
    """Where each source has hours without records (from the evidence_coverage query)."""
    if coverage.height == 0:
        return "The case holds no records, so there is no coverage to describe."
    runs = (
        coverage.sort(["source", "hour"])
        .with_columns(pl.col("is_gap").rle_id().over("source").alias("run"))
        .filter(pl.col("is_gap"))
        .group_by(["source", "run"])
        .agg(pl.col("hour").min().alias("from"), pl.col("hour").max().alias("to"), pl.len().alias("hours"))
        .sort(["source", "hours", "from"], descending=[False, True, False])
    )
    sentences = []
    for source in coverage["source"].unique().sort().to_list():
        hours = coverage.filter(pl.col("source") == source).height
        gaps = runs.filter(pl.col("source") == source)
        if gaps.height == 0:
            sentences.append(f"{source}: records in every one of its {hours:,} hours, no gaps.")
            continue
        longest = gaps.row(0, named=True)
        until = longest["to"] + timedelta(hours=1)
        sentences.append(
            f"{source}: {int(gaps['hours'].sum()):,} of {hours:,} hours have no records, in "
            f"{gaps.height:,} gap(s); the longest runs {longest['hours']:,} h from "
            f"{_when(longest['from'])} to {_when(until)}.")
    return " ".join(sentences)


def describe_findings(findings: Sequence[Finding]) -> str:
    """How many detections fired, how severe, and the addresses and principals they name."""
    if not findings:
        return "No detection fired in this window."
    per = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    by_severity = ", ".join(f"{n} {s}" for s, n in per.items() if n)
    first = min((f.first_seen for f in findings if f.first_seen), default=None)
    last = max((f.last_seen for f in findings if f.last_seen), default=None)
    ips = rank_entities(findings, "ip")["value"].to_list()
    principals = rank_entities(findings, "principal")["value"].to_list()
    top = min(findings, key=lambda f: SEVERITIES.index(f.severity) if f.severity in SEVERITIES
              else len(SEVERITIES))
    return (f"{len(findings)} detections fired ({by_severity}) between {_when(first)} and "
            f"{_when(last)}. Most severe: {top.detection} ({top.severity}, {top.count:,} row(s)). "
            f"Addresses named: {_listing(ips)}. Principals named: {_listing(principals)}.")


def describe_profile(p: Profile) -> str:
    """A pivot's headline: when the entity was active, how much it did, and which detections name it."""
    s = p.summary
    if not p.seen:
        return f"{p.kind} {p.value} does not appear in the case (check the spelling and the window)."
    parts = [
        (f"{p.kind} {p.value}: {s['events']:,} events ({s['access_log_rows']:,} access log rows, "
         f"{s['cloudtrail_events']:,} CloudTrail events) from {_when(s['first_seen'])} to "
         f"{_when(s['last_seen'])}"),
        f"{s['failed']:,} failed",
        f"{format_bytes(s['bytes_out'])} sent to it",
        (f"{s['ips']:,} address(es), {s['principals']:,} principal(s), {s['buckets']:,} bucket(s), "
         f"{s['objects']:,} object(s)"),
    ]
    named = (f"Named by {len(p.findings)} detection(s): {', '.join(p.findings)}."
             if p.findings else "No detection names it.")
    return "; ".join(parts) + ". " + named


def suggest_pivots(*, findings: Sequence[Finding] = (), profile: Profile | None = None,
                   limit: int = 3) -> str:
    """Which notebook to run next, with which parameter, for the entities most worth following."""
    lines: list[str] = []
    for kind, (notebook, param) in _NOTEBOOK.items():
        candidates: list[tuple[str, str]] = []
        if profile is not None:
            related = profile.related.get({"ip": "source_ip", "principal": "actor"}[kind])
            if related is not None and related.height:
                candidates += [(str(v), f"{n:,} events with {profile.value}")
                               for v, n in related.select("value", "events").iter_rows()
                               if v != profile.value and (kind != "ip" or _is_address(str(v)))]
        else:
            ranked = rank_entities(findings, kind)
            candidates += [(v, f"{sev}; named by {', '.join(d)}")
                           for v, sev, d in ranked.select("value", "severity", "detections").iter_rows()]
        for value, why in candidates[:limit]:
            lines.append(f"- `{notebook}` with `-p {param} {value}` ({why})")
    if not lines:
        return "Nothing to pivot to: no finding or related activity names another address or principal."
    return "\n".join(lines)
