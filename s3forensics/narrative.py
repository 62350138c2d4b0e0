"""Plain-language readings of investigation results, and which entity to pivot to next.

The guided notebooks print these sentences under each result so a responder reads what the
data says (the busiest hour, the largest talkers, the gaps in the evidence) without working it
out from a table, and picks the next pivot from the findings rather than from a hard-coded value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from .findings import Finding, entity_lists
from .pivots import Profile
from .queries.registry import SEVERITIES

if TYPE_CHECKING:
    from .incident import IncidentSummary

__all__ = [
    "ENTITY_COLUMNS",
    "Cite",
    "Sentence",
    "describe_incident",
    "incident_figures",
    "sentence_text",
    "case_sources",
    "describe_findings",
    "describe_gaps",
    "describe_ip_principals",
    "describe_lead",
    "describe_overview",
    "describe_peak",
    "describe_profile",
    "describe_rare",
    "describe_top",
    "format_bytes",
    "lead_entity",
    "rank_entities",
    "source_caveat",
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
        entity_lists(f.rows).select(
            pl.col(column).alias("value"),
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
                con: duckdb.DuckDBPyConnection | None = None,
                start: datetime | str | None = None, end: datetime | str | None = None) -> str | None:
    """The entity to investigate first: the one the most severe findings name; with no findings,
    the busiest one in the case or the `start`-`end` window (when `con` is given); else None."""
    ranked = rank_entities(findings, kind)
    if ranked.height:
        return str(ranked["value"][0])
    if con is None:
        return None
    from .queries import default_registry

    busiest = default_registry().get("busiest_entities").run(
        con, {"entity": kind, "start": start or None, "end": end or None})
    values = [v for v in busiest["value"].to_list() if kind != "ip" or _is_address(v)]
    return values[0] if values else None


def describe_overview(overview: pl.DataFrame) -> str:
    """What each source holds (from the case_overview query): records, objects, rejects, span."""
    if overview.height == 0 or not overview["rows"].sum():
        objects = int(overview["objects"].sum()) if overview.height else 0
        if objects:
            # Object counts cover the whole case; records follow the window.
            return (f"No records in this window, though the case holds {objects:,} evidence objects: "
                    "the window misses them; widen or clear start and end.")
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
    if not grand:
        return f"No {what} in this window."
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
    if series.filter(pl.col(value) != 0).height == 1:
        return f"All {what} fall in one period: {_when(peak[time])}, with {_amount(value, peak[value])}."
    median = float(series[value].cast(pl.Float64).median() or 0)  # type: ignore[arg-type]
    ratio = (f", {peak[value] / median:,.0f} times the median period ({_amount(value, median)})"
             if median else "")
    return (f"Busiest period for {what}: {_when(peak[time])} with {_amount(value, peak[value])}{ratio}. "
            f"{series.height:,} periods have some, from {_when(series[time].min())} "
            f"to {_when(series[time].max())}.")


def describe_rare(frame: pl.DataFrame, *, label: str, value: str, max_count: int = 5,
                  n: int = 10) -> str:
    """The rarest values of a count (rare operations are often the interesting ones)."""
    if frame.height == 0:
        return f"No {label} values in this window."
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


def _blind_detections(con: duckdb.DuckDBPyConnection | None) -> str:
    """A sentence naming the detections that cannot fire because the source they read is missing."""
    if con is None:
        return ""
    return _blind_sentence(case_sources(con))


def _blind_sentence(sources: dict[str, int]) -> str:
    from .queries import default_registry

    sentences = []
    for source, rows in sources.items():
        if rows:
            continue
        blind = [q.name for q in default_registry().list(kind="detection") if q.source == source]
        if blind:
            sentences.append(
                f" The case holds no {SOURCE_NAMES[source]}, so {len(blind)} detection(s) that read "
                f"only them could not fire ({_listing(blind, 5)}): their silence proves nothing.")
    return "".join(sentences)


def describe_findings(findings: Sequence[Finding], *, con: duckdb.DuckDBPyConnection | None = None) -> str:
    """How many detections fired, how severe, and the addresses and principals they name; with
    `con`, also which detections could not run because the case lacks the source they read."""
    blind = _blind_detections(con)
    if not findings:
        return "No detection fired in this window." + blind
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
            f"Addresses named: {_listing(ips)}. Principals named: {_listing(principals)}." + blind)


def describe_profile(p: Profile) -> str:
    """A pivot's headline: when the entity was active, how much it did, and which detections name it."""
    s = p.summary
    if not p.value:
        return f"No {p.kind} to profile: the case names none; set the notebook parameter to one."
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


#: Readable names of the log sources, as queries declare them.
SOURCE_NAMES = {"s3-access": "S3 server access logs", "cloudtrail": "CloudTrail events"}


def case_sources(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records per log source in the whole case: {'s3-access': n, 'cloudtrail': n}."""
    from .queries import default_registry

    held = default_registry().get("records_per_source").run(con)
    return {str(source): int(n) for source, n in held.select("source", "records").iter_rows()}


def source_caveat(con: duckdb.DuckDBPyConnection, query: str, *, start: object = None,
                  end: object = None) -> str:
    """A sentence (with a leading space) warning that a query's result is empty or partial because
    the case lacks the log source it reads; '' when the evidence is there.

    `query` is a catalogue name; what to say comes from its header (`source`, `caveats`);
    `start` and `end` bound a caveat's stand-in query. Append it to the sentence describing the
    result, so that "nothing found" never reads as "nothing happened" when the evidence was never
    loaded.
    """
    from .queries import default_registry

    registry = default_registry()
    q = registry.get(query)
    held = case_sources(con)
    note = ""
    if q.source in SOURCE_NAMES and not held[q.source]:
        note = (f" This reads only {SOURCE_NAMES[q.source]} and the case holds none, so an empty "
                "result says nothing about what happened.")
    if not any(held.values()):
        return note  # nothing loaded at all: no caveat about one source adds anything
    for caveat in q.caveats:
        if held[caveat.missing]:
            continue
        if caveat.stand_in is None:
            note += " " + caveat.text
            continue
        stand_in = registry.get(caveat.stand_in)
        window = {k: v or None for k, v in (("start", start), ("end", end)) if k in stand_in.params}
        found = stand_in.run(con, window)
        if found.height:
            label, count = found.columns[:2]
            note += " " + caveat.text.format(
                requests=f"{int(found[count].sum()):,}",
                listing=_listing([f"{v} ({n:,})" for v, n in found.select(label, count).iter_rows()]))
    return note


def describe_lead(findings: Sequence[Finding], kind: str, value: str | None, *,
                  given: bool = False) -> str:
    """Which entity the notebook investigates, and why: a parameter, the findings, or only volume.

    The first line is always `investigating <value>` (when there is one); the second says why.
    """
    noun = _NOUN.get(kind, kind)
    if not value:
        return (f"No {noun} to investigate: no finding names one and the case holds none in this "
                "window; set the notebook parameter to one.")
    if given:
        return f"investigating {value}\n(given as a parameter)"
    ranked = rank_entities(findings, kind)
    if ranked.height and ranked["value"][0] == value:
        row = ranked.row(0, named=True)
        return (f"investigating {value}\n(named by the most severe findings: {row['severity']}; "
                f"{', '.join(row['detections'])})")
    return (f"investigating {value}\n(no finding names any {noun}, so this is simply the busiest "
            f"{noun} in the window - not a suspect by itself)")


_NOUN = {"ip": "address", "principal": "principal", "access_key": "access key", "bucket": "bucket"}


def describe_ip_principals(pairs: pl.DataFrame, ip: str) -> str:
    """How many principals acted from `ip`, and how many addresses those principals used in all
    (from the ip_principal_matrix query, limited to those principals)."""
    if not ip:
        return "No address chosen, so no principals to show."
    own = pairs.filter(pl.col("source_ip") == ip)["principal"].n_unique()
    if not own:
        return f"No principal acted from {ip} in this window."
    return (f"{ip} acted as {own:,} principal(s); those principals used "
            f"{pairs['source_ip'].n_unique():,} address(es) in all.")


# -- the incident, for the report's executive summary ----------------------------------------------


@dataclass(frozen=True)
class Cite:
    """A figure in a sentence and where a reader checks it: a notebook section, a query, a link."""

    text: str
    #: Notebook (stem) whose section shows the figure, e.g. "05_hunt_exfiltration".
    notebook: str | None = None
    #: Heading of that section, exactly as the notebook writes it.
    section: str | None = None
    #: Catalogue query (or detection) the figure comes from.
    query: str | None = None
    #: A place in the report itself instead ("#integrity", "#findings").
    href: str | None = None

    def __str__(self) -> str:
        return self.text


#: A sentence: text and cited figures, in order.
Sentence = tuple["str | Cite", ...]

_TIMELINE = ("07_timeline_and_report", "Everything the implicated addresses did, in order")
_EXFIL = ("05_hunt_exfiltration", "Bytes sent over time")
_CHANGES = ("06_destructive_and_config_changes", "Bucket configuration changes")
_DELETES = ("06_destructive_and_config_changes", "Deleted objects")
_COPIES = ("06_destructive_and_config_changes", "Objects rewritten or copied")
_PRINCIPAL = ("04_investigate_principal", "The data")
_BUCKETS = ("05_hunt_exfiltration", "The data")
_DETECTIONS = ("02_triage_overview", "What the detections say")
_OVERVIEW = ("01_acquire_and_ingest", "Step 2 · What the case holds")
_TRAIL = ("01_acquire_and_ingest", "Step 7 · Can the CloudTrail files be trusted?")


def sentence_text(sentence: Sentence) -> str:
    """A sentence as plain text."""
    return "".join(str(part) for part in sentence)


def _utc(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if isinstance(moment, datetime) else "an unknown time"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _join(parts: Sequence[str | Cite], last: str = "and") -> list[str | Cite]:
    out: list[str | Cite] = []
    for i, part in enumerate(parts):
        if i:
            out.append(f" {last} " if i == len(parts) - 1 else ", ")
        out.append(part)
    return out


def incident_figures(summary: IncidentSummary) -> list[tuple[str, Cite]]:
    """The headline figures (label, figure) the report shows above the summary, most telling first."""
    out: list[tuple[str, Cite]] = []
    imp = summary.impact
    if summary.findings and imp.get("first_seen") is not None:
        out.append(("activity of the named addresses (UTC)",
                    Cite(f"{imp['first_seen']:%d %b %H:%M} – {imp['last_seen']:%d %b %H:%M}",
                         *_TIMELINE, query="incident_impact")))
    out.append(("detections fired", Cite(f"{len(summary.findings):,}", href="#findings",
                                         query="findings")))
    if summary.findings:
        out.append(("addresses named", Cite(f"{summary.addresses.height:,}", *_TIMELINE)))
    if imp.get("objects_read"):
        out.append(("data read", Cite(f"{_count(imp['objects_read'], 'object')}, "
                                      f"{format_bytes(imp['bytes_read'])}", *_EXFIL,
                                      query="incident_impact")))
    destroyed = (imp.get("objects_deleted") or 0) + (imp.get("objects_encrypted_sse_c") or 0)
    if destroyed:
        out.append(("objects deleted or encrypted", Cite(f"{destroyed:,}", *_DELETES,
                                                         query="incident_impact")))
    if summary.integrity is not None:
        out.append(("CloudTrail integrity", Cite(summary.integrity.word, href="#integrity")))
    return out


def describe_incident(summary: IncidentSummary) -> list[Sentence]:
    """The executive summary: what happened, who, from where, what was taken, changed or
    destroyed, and whether the trail is intact; every figure cites where it comes from."""
    sentences: list[Sentence] = []
    findings = summary.findings
    held = {k: v for k, v in summary.sources.items() if v}
    records = sum(held.values())
    if not records:
        sentences.append(("The case holds no log records yet: load evidence first.",))
    elif not findings:
        sources = " and ".join(SOURCE_NAMES[k] for k in held)
        sentences.append((
            "No detection fired on the ",
            Cite(_count(records, "record"), *_OVERVIEW, query="case_overview"),
            f" of the case ({sources}, {_utc(summary.first_record)} to {_utc(summary.last_record)}). ",
            "That is not proof that nothing happened: read the overview in ",
            Cite("notebook 02", *_DETECTIONS), " and judge the busiest addresses and principals there.",
        ))
    else:
        per = [f"{n} {s}" for s in SEVERITIES if (n := sum(f.severity == s for f in findings))]
        lead: list[str | Cite] = [Cite(_count(len(findings), "detection"), href="#findings",
                                       query="findings"), f" fired ({', '.join(per)})"]
        imp = summary.impact
        if summary.addresses.height and imp.get("first_seen") is not None:
            lead += [". They name ", Cite(_count(summary.addresses.height, "address", "addresses"),
                                          *_TIMELINE),
                     ", whose activity began ",
                     Cite(_utc(imp["first_seen"]), *_TIMELINE, query="incident_impact"),
                     " and ended ", Cite(_utc(imp["last_seen"]), *_TIMELINE, query="incident_impact"),
                     " (", Cite(_count(imp["requests"], "request"), *_TIMELINE, query="incident_impact"),
                     f", {imp['failed']:,} refused or failed)."]
        else:
            first = min((f.first_seen for f in findings if f.first_seen), default=None)
            last = max((f.last_seen for f in findings if f.last_seen), default=None)
            lead += [" between ", Cite(_utc(first), href="#findings"), " and ",
                     Cite(_utc(last), href="#findings"), "; none names a network address."]
        sentences.append(tuple(lead))
        if summary.addresses.height:
            shown = summary.addresses.head(6)
            parts: list[str | Cite] = ["The addresses: "]
            parts += _join([Cite(f"{r['value']} ({r['network']})", *_TIMELINE, query="timeline")
                            for r in shown.iter_rows(named=True)])
            more = summary.addresses.height - shown.height
            parts.append(f" and {more:,} more." if more else ".")
            sentences.append(tuple(parts))
        who: list[str | Cite] = []
        if summary.principals.height:
            who += ["They acted as "]
            who += _join([Cite(str(v), *_PRINCIPAL, query="principal_activity")
                          for v in summary.principals["value"].head(4).to_list()])
        if summary.access_keys.height:
            who += [" with access key " if who else "They used access key "]
            who += _join([Cite(str(v), *_PRINCIPAL, query="access_key_activity")
                          for v in summary.access_keys["value"].head(4).to_list()])
        if summary.buckets:
            who += [", on bucket " if who else "They touched bucket "]
            who += _join([Cite(b, *_BUCKETS, query="traffic_by_bucket") for b in summary.buckets[:5]])
        if who:
            sentences.append((*who, "."))
        if summary.addresses.height:
            sentences.append(tuple(_impact(summary)))
    if summary.integrity is not None:
        sentences.append(("CloudTrail integrity: ", Cite(summary.integrity.word, href="#integrity"),
                          f" — {summary.integrity.reason}"))
    elif summary.integrity_note:
        sentences.append((Cite(summary.integrity_note, *_TRAIL),))
    blind = _blind_sentence(summary.sources).strip()
    if blind and records:
        sentences.append((blind,))
    return sentences


def _impact(summary: IncidentSummary) -> list[str | Cite]:
    imp = summary.impact
    out: list[str | Cite] = []
    if imp.get("objects_read"):
        out += ["From these addresses ",
                Cite(_count(imp["objects_read"], "object"), *_EXFIL, query="incident_impact"),
                " were read (", Cite(format_bytes(imp["bytes_read"]), *_EXFIL, query="incident_impact"),
                f" in {_count(imp['object_reads'], 'download')})"]
    else:
        out += ["No object was read from these addresses"]
    done: list[list[str | Cite]] = []
    changes = summary.config_changes
    if changes.height:
        settings = list(dict.fromkeys(str(v) for v in changes["setting"].to_list()))
        buckets = list(dict.fromkeys(str(v) for v in changes["bucket"].drop_nulls().to_list()))
        text = ", ".join(settings[:-1]) + (" and " if len(settings) > 1 else "") + settings[-1]
        done += [["changed the ", Cite(f"{text} setting{'s' if len(settings) > 1 else ''}",
                                       *_CHANGES, query="bucket_config_changes"),
                  f" of {', '.join(buckets) or 'the account'}"]]
    if imp.get("objects_encrypted_sse_c"):
        done += [["rewrote ", Cite(_count(imp["objects_encrypted_sse_c"], "object"), *_COPIES,
                                   query="incident_impact"),
                  " with an encryption key only they hold (SSE-C)"]]
    if imp.get("objects_deleted"):
        done += [["deleted ", Cite(_count(imp["objects_deleted"], "object"), *_DELETES,
                                   query="incident_impact")]]
    elif imp.get("delete_requests"):
        done += [["made ", Cite(_count(imp["delete_requests"], "delete request"), *_DELETES,
                                query="incident_impact"), " whose keys no log in the case names"]]
    if imp.get("objects_written"):
        noun = "other object" if imp.get("objects_encrypted_sse_c") else "object"
        done += [["wrote ", Cite(_count(imp["objects_written"], noun), *_TIMELINE,
                                 query="incident_impact")]]
    if done:
        out.append("; they ")
        for i, part in enumerate(done):
            if i:
                out.append(" and " if i == len(done) - 1 else ", ")
            out += part
        out.append(".")
    else:
        out.append("; nothing was changed, rewritten or deleted from them.")
    if not summary.sources["cloudtrail"]:
        out.append(" The case holds no CloudTrail events: configuration changes and objects "
                   "rewritten with a customer key (SSE-C) are not told apart here (the access logs "
                   "record neither request parameters nor encryption headers).")
    elif not summary.sources["s3-access"]:
        out.append(" The case holds no S3 server access logs, so the keys a batch delete removed "
                   "are not named (CloudTrail records DeleteObjects without them).")
    return out
