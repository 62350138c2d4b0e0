"""The incident at a glance: the facts the report's executive summary states, from the case.

`summarise_incident` gathers them read-only from the findings and the case database: the
detections that fired, the addresses they name (with their networks), the principals, keys and
buckets, when activity from those addresses began and ended, what it read, changed and
destroyed (the `incident_impact` and `bucket_config_changes` queries), the activity over time
for the timeline chart, what the case holds, and the CloudTrail verdict stored by
`verify-trail`. `narrative.describe_incident` turns it into sentences whose every figure names
the query or notebook it came from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from .findings import Finding
from .integrity.report import IntegrityReport, Verdict
from .integrity.tables import load_tables
from .narrative import case_sources, rank_entities
from .queries import default_registry

__all__ = ["IncidentSummary", "describe_network", "summarise_incident"]

# How an address class reads in a sentence.
_CLASS_WORDS = {
    "private": "private network",
    "loopback": "loopback",
    "link_local": "link-local",
    "documentation": "documentation range",
    "reserved": "reserved range",
    "multicast": "multicast",
    "cgnat": "carrier-grade NAT",
    "aws": "AWS",
    "public": "internet",
}


@dataclass
class IncidentSummary:
    """What the summary of a case states, computed once from the findings and the database."""

    #: Detections that fired, most severe first.
    findings: list[Finding]
    #: Records per source in the whole case: {'s3-access': n, 'cloudtrail': n}.
    sources: dict[str, int]
    #: First and last record of the case (either source).
    first_record: datetime | None
    last_record: datetime | None
    #: Addresses the findings name, most implicated first: value, severity, detections, events,
    #: network, ip_class, as_org, country.
    addresses: pl.DataFrame
    #: Principals and access keys the findings name, most implicated first (value, severity, ...).
    principals: pl.DataFrame
    access_keys: pl.DataFrame
    #: Buckets the findings name (S3 bucket names only, not other resources).
    buckets: list[str]
    #: The `incident_impact` row for those addresses (empty when no finding names one).
    impact: dict[str, Any]
    #: Successful bucket configuration changes from those addresses (`bucket_config_changes`).
    config_changes: pl.DataFrame
    #: Requests per hour, from those addresses (`named`) and the rest
    #: (`activity_of_addresses_over_time`).
    volume: pl.DataFrame
    #: The stored CloudTrail verdict, or None when there is none (see `integrity_note`).
    integrity: Verdict | None
    integrity_note: str = ""
    #: Window the findings and figures cover (None: the whole case).
    start: datetime | str | None = None
    end: datetime | str | None = None

    @property
    def attacker_ips(self) -> list[str]:
        """The addresses the findings name."""
        return [str(v) for v in self.addresses["value"].to_list()]

    def finding_spans(self) -> pl.DataFrame:
        """One row per finding row: finding (title), detection, severity, first_seen, last_seen,
        events; what the timeline chart draws."""
        utc = pl.Datetime("us", "UTC")
        schema: dict[str, pl.DataType] = {
            "finding": pl.String(), "detection": pl.String(), "severity": pl.String(),
            "first_seen": utc, "last_seen": utc, "events": pl.Int64()}
        parts = [
            f.rows.select(
                pl.lit(f.title).alias("finding"), pl.lit(f.detection).alias("detection"),
                pl.lit(f.severity).alias("severity"),
                pl.col("first_seen").cast(utc),
                pl.coalesce("last_seen", "first_seen").cast(utc).alias("last_seen"),
                pl.col("events").cast(pl.Int64).fill_null(1))
            for f in self.findings if f.rows.height and "first_seen" in f.rows.columns
        ]
        if not parts:
            return pl.DataFrame(schema=schema)
        return pl.concat(parts).filter(pl.col("first_seen").is_not_null())


def describe_network(ip: str, ip_class: str | None = None, *, as_org: str | None = None,
                     country: str | None = None) -> str:
    """An address's network in words: '/24 or /48 network, class, AS organisation, country'."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip_class or "not an address"
    prefix = 24 if address.version == 4 else 48
    parts = [str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))]
    if ip_class:
        parts.append(_CLASS_WORDS.get(ip_class, ip_class))
    parts += [p for p in (as_org, country) if p]
    return ", ".join(parts)


def _addresses(con: duckdb.DuckDBPyConnection, findings: Sequence[Finding]) -> pl.DataFrame:
    from .enrich.ip import classify_ips

    ranked = rank_entities(findings, "ip")
    classes = classify_ips(ranked["value"]).select("ip", "ip_class")
    geo = pl.DataFrame(schema={"ip": pl.String, "as_org": pl.String, "country": pl.String})
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "ip_enrichment" in tables and ranked.height:
        geo = pl.DataFrame(
            con.execute("SELECT ip, as_org, country FROM ip_enrichment WHERE list_contains($ips, ip)",
                        {"ips": ranked["value"].to_list()}).fetchall(),
            schema=geo.schema, orient="row")
    out = ranked.join(classes, left_on="value", right_on="ip", how="left").join(
        geo, left_on="value", right_on="ip", how="left")
    return out.with_columns(
        pl.struct("value", "ip_class", "as_org", "country").map_elements(
            lambda r: describe_network(r["value"], r["ip_class"], as_org=r["as_org"],
                                       country=r["country"]),
            return_dtype=pl.String).alias("network"))


def _integrity(con: duckdb.DuckDBPyConnection, overview: pl.DataFrame) -> tuple[Verdict | None, str]:
    tables = load_tables(con)
    if tables is not None:
        return IntegrityReport(files=tables[0], coverage=tables[1]).verdict, ""
    kinds = dict(zip(overview["source"].to_list(), overview["objects"].to_list(), strict=True))
    return None, IntegrityReport.not_validated(log_files=kinds.get("cloudtrail", 0),
                                               digest_files=kinds.get("cloudtrail-digest", 0))


def summarise_incident(con: duckdb.DuckDBPyConnection, findings: Sequence[Finding], *,
                       start: datetime | str | None = None,
                       end: datetime | str | None = None) -> IncidentSummary:
    """Gather, read-only, everything the executive summary states about the case."""
    registry = default_registry()
    window = {"start": start or None, "end": end or None}
    addresses = _addresses(con, findings)
    ips = [str(v) for v in addresses["value"].to_list()]
    impact: dict[str, Any] = {}
    if ips:
        impact = registry.get("incident_impact").run(con, {**window, "source_ips": ips}).row(0, named=True)
    sources = case_sources(con)
    changes = pl.DataFrame()
    if ips and sources["cloudtrail"]:
        changes = registry.get("bucket_config_changes").run(con, window).filter(
            pl.col("source_ip").is_in(ips))
    volume = registry.get("activity_of_addresses_over_time").run(
        con, {**window, "source_ips": ips})
    overview = registry.get("case_overview").run(con)  # the whole case, whatever the window
    first, last = overview.select(pl.col("first_event").min(), pl.col("last_event").max()).row(0)
    verdict, note = _integrity(con, overview)
    buckets = sorted({b for f in findings for b in f.entities.get("buckets", [])
                      if b and not b.startswith("arn:")})
    return IncidentSummary(
        findings=list(findings), sources=sources, first_record=first, last_record=last,
        addresses=addresses, principals=rank_entities(findings, "principal"),
        access_keys=rank_entities(findings, "access_key"), buckets=buckets, impact=impact,
        config_changes=changes, volume=volume, integrity=verdict, integrity_note=note,
        start=start, end=end)
