"""Build the case's enrichment tables from the distinct values of both log sources."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from ..errors import CaseError
from ..schema import ENRICHMENT_TABLES
from .awsranges import AwsIpRanges
from .geo import GEO_SCHEMA, GeoDatabase, geolocate_ips
from .ip import IP_ENRICHMENT_SCHEMA, classify_ips
from .offline_geo import (
    ATTRIBUTION,
    OfflineGeo,
    classify_network,
    geolocate_offline,
    offline_geo_database,
)
from .principal import (
    CLOUDTRAIL_PRINCIPAL_SQL,
    SAL_PRINCIPAL_SQL,
    accounts_from_log_keys,
    classify_principals,
    resolve_bucket_accounts,
)
from .useragent import parse_user_agents, user_agent_rules_version

__all__ = ["refresh_enrichment"]

_SOURCES_SCHEMA = ENRICHMENT_TABLES["enrichment_sources"].polars_schema()


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = current_schema() AND database_name = current_database()").fetchall():
        found.setdefault(table, set()).add(column)
    return found


def _values(con: duckdb.DuckDBPyConnection, sql: str) -> pl.Series:
    return con.sql(sql).pl().to_series(0).cast(pl.String)


def _distinct(con: duckdb.DuckDBPyConnection, cols: dict[str, set[str]],
              pairs: Sequence[tuple[str, str]]) -> pl.Series:
    parts = [f'SELECT DISTINCT "{c}" AS v FROM {t} WHERE "{c}" IS NOT NULL'
             for t, c in pairs if c in cols.get(t, set())]
    if not parts:
        return pl.Series("v", [], dtype=pl.String)
    return _values(con, " UNION ".join(parts))


def _bucket_claims(con: duckdb.DuckDBPyConnection, cols: dict[str, set[str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    empty = pl.DataFrame(schema={"bucket": pl.String, "account_id": pl.String,
                                 "source": pl.String, "n": pl.Int64})
    claims = [empty]
    ct = cols.get("cloudtrail_events", set())
    if {"resources"} <= ct:
        claims.append(con.sql("""
            SELECT regexp_extract(r.ARN, '^arn:[^:]+:s3:::([^/]+)$', 1) AS bucket,
                   r.accountId AS account_id, 'cloudtrail_resources' AS source, count(*) AS n
            FROM (SELECT unnest(from_json(resources,
                    '[{"type":"VARCHAR","ARN":"VARCHAR","accountId":"VARCHAR"}]')) AS r
                  FROM cloudtrail_events
                  WHERE resources IS NOT NULL AND json_valid(resources)
                    AND json_type(resources) = 'ARRAY')
            WHERE r.type = 'AWS::S3::Bucket' AND r.accountId SIMILAR TO '[0-9]{12}'
              AND regexp_extract(r.ARN, '^arn:[^:]+:s3:::([^/]+)$', 1) <> ''
            GROUP BY ALL""").pl())
    if {"bucket", "recipient_account_id", "event_category"} <= ct:
        claims.append(con.sql("""
            SELECT bucket, recipient_account_id AS account_id, 'cloudtrail_recipient' AS source,
                   count(*) AS n
            FROM cloudtrail_events
            WHERE bucket IS NOT NULL AND event_category = 'Data'
              AND recipient_account_id SIMILAR TO '[0-9]{12}'
            GROUP BY ALL""").pl())
    ev = cols.get("evidence", set())
    if {"key", "case_path", "kind", "evidence_id"} <= ev:
        keys = con.sql("""
            SELECT coalesce(key, case_path) AS key FROM evidence
            WHERE kind = 's3-access' AND coalesce(key, case_path) IS NOT NULL""").pl()
        found = accounts_from_log_keys(keys.to_series(0))
        if found.height:
            claims.append(found.group_by("bucket", "account_id").agg(pl.len().cast(pl.Int64).alias("n"))
                          .with_columns(pl.lit("sal_partitioned_key").alias("source")))
    owners = pl.DataFrame(schema={"bucket": pl.String, "owner_canonical_id": pl.String, "n": pl.Int64})
    if {"bucket", "bucket_owner"} <= cols.get("s3_access_logs", set()):
        owners = con.sql("""
            SELECT bucket, bucket_owner AS owner_canonical_id, count(*) AS n FROM s3_access_logs
            WHERE bucket IS NOT NULL AND bucket_owner IS NOT NULL GROUP BY ALL""").pl()
    frame = pl.concat([c.select(pl.col("bucket").cast(pl.String), pl.col("account_id").cast(pl.String),
                                pl.col("source").cast(pl.String), pl.col("n").cast(pl.Int64))
                       for c in claims])
    return frame, owners


def _principal_rows(con: duckdb.DuckDBPyConnection, cols: dict[str, set[str]]) -> pl.DataFrame:
    parts = []
    sal = cols.get("s3_access_logs", set())
    if "requester" in sal:
        bucket = "bucket" if "bucket" in sal else "NULL"
        owner = "bucket_owner" if "bucket_owner" in sal else "NULL"
        parts.append(f"""SELECT DISTINCT {SAL_PRINCIPAL_SQL} AS principal,
            NULL::VARCHAR AS identity_type, NULL::VARCHAR AS account_id, {bucket}::VARCHAR AS bucket,
            {owner}::VARCHAR AS bucket_owner, 's3_access_logs' AS source FROM s3_access_logs""")
    ct = cols.get("cloudtrail_events", set())
    needed = {"account_id", "identity_type", "invoked_by", "principal_id", "principal_arn"}
    if needed <= ct:
        bucket = "bucket" if "bucket" in ct else "NULL"
        parts.append(f"""SELECT DISTINCT {CLOUDTRAIL_PRINCIPAL_SQL} AS principal,
            identity_type, account_id, {bucket}::VARCHAR AS bucket, NULL::VARCHAR AS bucket_owner,
            'cloudtrail_events' AS source FROM cloudtrail_events""")
    if not parts:
        return pl.DataFrame(schema={"principal": pl.String})
    return con.sql(" UNION ALL ".join(parts)).pl()


def _write(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """Replace an enrichment table with `frame`, typed and documented as schema.py declares it."""
    ENRICHMENT_TABLES[name].replace(con, frame)


def refresh_enrichment(
    con: duckdb.DuckDBPyConnection,
    *,
    geoip: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    aws_ranges: AwsIpRanges | None = None,
    bucket_accounts: Mapping[str, str] | None = None,
    offline_geo: bool = True,
) -> dict[str, Any]:
    """Build or replace the enrichment tables from the case's logs; return counts and sources.

    Tables: ip_enrichment, user_agent_enrichment, principal_enrichment, bucket_owner_accounts and
    enrichment_sources. Reference data is passed in, never fetched: `aws_ranges` (e.g.
    `load_aws_ip_ranges()` for the installed snapshot; None leaves no address classed aws),
    `geoip` .mmdb paths, and `bucket_accounts` (bucket -> owner account) that override the logs.
    With `offline_geo` (the default) the country and AS organisation data shipped with the
    geoip2fast package fill in what no `geoip` database supplied.
    """
    cols = _columns(con)
    if "s3_access_logs" not in cols and "cloudtrail_events" not in cols:
        raise CaseError("the database holds neither s3_access_logs nor cloudtrail_events; "
                        "is this a case database? ingest logs first")
    if geoip is None:
        geo_paths: list[str | os.PathLike[str]] = []
    elif isinstance(geoip, (str, os.PathLike)):
        geo_paths = [geoip]
    else:
        geo_paths = list(geoip)
    databases = [GeoDatabase.open(p) for p in geo_paths]  # fail before any table changes
    now = datetime.now(UTC)

    ips = _distinct(con, cols, [("s3_access_logs", "remote_ip"), ("cloudtrail_events", "source_ip")])
    ip_frame = classify_ips(ips, aws_ranges=aws_ranges)
    if databases:
        geo = geolocate_ips(ips, database=databases)
    else:
        geo = pl.DataFrame(schema=GEO_SCHEMA)
    offline = offline_geo_database() if offline_geo else None
    if offline is not None:
        geo = _fill_from(geo, geolocate_offline(ips, offline))
    ip_frame = _with_network_type(ip_frame.join(geo, on="ip", how="left").select(
        [*IP_ENRICHMENT_SCHEMA, *[c for c in GEO_SCHEMA if c != "ip"]]))

    uas = _distinct(con, cols, [("s3_access_logs", "user_agent"), ("cloudtrail_events", "user_agent")])
    ua_frame = parse_user_agents(uas)

    claims, owners = _bucket_claims(con, cols)
    ba_frame = resolve_bucket_accounts(claims, user=bucket_accounts, owners=owners)
    pr_frame = classify_principals(_principal_rows(con, cols), bucket_accounts=ba_frame)

    sources: list[dict[str, Any]] = []
    if aws_ranges is not None:
        sources.append({"source": "aws_ip_ranges", "path": aws_ranges.source,
                        "database_type": "AWS ip-ranges.json", "version": aws_ranges.sync_token,
                        "built_at": aws_ranges.create_date,
                        "details": f"{aws_ranges.prefix_count} prefixes"})
    else:
        sources.append({"source": "aws_ip_ranges", "details": (
            "no AWS ip-ranges snapshot: no address is classed aws; run `s3forensics "
            "update-ip-ranges` (online) or `s3forensics update-ip-ranges --from FILE`")})
    for db in databases:
        sources.append({"source": "geoip", "path": str(db.path), "database_type": db.database_type,
                        "version": None, "built_at": db.build_date,
                        "details": db.description or None})
    if not databases:
        sources.append({"source": "geoip", "details": "no GeoIP database given" + (
            ": country and AS organisation from the offline data (asn numbers are NULL)" if offline
            else ": asn/country are NULL")})
    sources.append(_offline_source(offline, wanted=offline_geo))
    sources.append({"source": "user_agent_rules", "database_type": "ua-parser + s3forensics rules",
                    "version": user_agent_rules_version()})
    by_source = ba_frame.group_by("source").len().sort("source")
    sources.append({"source": "bucket_owner_accounts", "database_type": "derived",
                    "details": ", ".join(f"{s}: {n}" for s, n in by_source.iter_rows()) or
                    "no bucket owner account could be derived"})
    src_frame = pl.DataFrame(
        [{**dict.fromkeys(_SOURCES_SCHEMA), **s, "refreshed_at": now} for s in sources],
        schema=_SOURCES_SCHEMA)

    con.execute("BEGIN TRANSACTION")
    try:
        _write(con, "ip_enrichment", ip_frame)
        _write(con, "user_agent_enrichment", ua_frame)
        _write(con, "bucket_owner_accounts", ba_frame)
        _write(con, "principal_enrichment", pr_frame)
        _write(con, "enrichment_sources", src_frame)
        from ..views import install_address_classes  # detections see the new classes at once

        install_address_classes(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {
        "ip_enrichment": ip_frame.height,
        "user_agent_enrichment": ua_frame.height,
        "principal_enrichment": pr_frame.height,
        "bucket_owner_accounts": ba_frame.height,
        "aws_ip_ranges": aws_ranges.describe() if aws_ranges is not None else None,
        "geoip": [db.describe() for db in databases],
        "offline_geo": offline.describe() if offline is not None else None,
        "ip_classes": dict(ip_frame.group_by("ip_class").len().sort("ip_class").iter_rows()),
    }


def _fill_from(geo: pl.DataFrame, extra: pl.DataFrame) -> pl.DataFrame:
    """`geo` with each empty value taken from `extra`: the given databases keep precedence."""
    merged = geo.join(extra, on="ip", how="full", coalesce=True, suffix="_extra")
    filled = [c for c in GEO_SCHEMA if c not in ("ip", "geo_database")]
    contributed = pl.any_horizontal(pl.col(c).is_null() & pl.col(f"{c}_extra").is_not_null()
                                    for c in ("asn", "as_org", "country", "country_name"))
    return merged.select(
        "ip",
        *(pl.coalesce(c, f"{c}_extra").alias(c) for c in filled),
        pl.when(contributed).then(pl.concat_str(["geo_database", "geo_database_extra"], separator=",",
                                                ignore_nulls=True))
        .otherwise(pl.col("geo_database")).alias("geo_database"),
    ).select(list(GEO_SCHEMA))


def _with_network_type(frame: pl.DataFrame) -> pl.DataFrame:
    orgs = frame["as_org"].drop_nulls().unique().to_list()
    classes = pl.DataFrame([(o, *classify_network(o)) for o in orgs], orient="row",
                           schema={"as_org": pl.String, "network_type": pl.String, "network_type_basis": pl.String})
    return frame.join(classes, on="as_org", how="left")


def _offline_source(offline: OfflineGeo | None, *, wanted: bool) -> dict[str, Any]:
    if offline is None:
        return {"source": "geoip_offline", "details": (
            "switched off" if not wanted else "the geoip2fast package is not installed: no offline country/ASN")}
    return {"source": "geoip_offline", "path": str(offline.path),
            "database_type": f"geoip2fast country + AS organisation ({offline.source_info})",
            "version": offline.package_version, "built_at": offline.built,
            "details": f"used where no --geoip database had a value. {ATTRIBUTION}"}
