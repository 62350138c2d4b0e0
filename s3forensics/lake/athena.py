"""Athena (Glue) DDL for a lake on S3, and the catalogue translated to Athena's Trino SQL.

Not executed in the test suite (no Athena there): the output is checked by parsing it with
sqlglot's Athena and Trino dialects. Tables use partition projection on the date partitions,
so Athena finds new days without MSCK REPAIR or crawlers.
"""

from __future__ import annotations

from pathlib import Path

from ..queries.registry import QueryRegistry
from .build import LakeParameterError
from .layout import LAKE_TABLES, athena_type, table_path

__all__ = ["athena_ddl", "write_athena_queries"]

# The raw files of these tables hold rows a case would not show (repeated CloudTrail events,
# uncorrected evidence counts): Athena tables get a prefix, and views give the case names.
_RAW = {"cloudtrail_events": "lake_cloudtrail_events", "evidence": "lake_evidence"}
_ENUMS = {"source": {"s3_access_logs": "s3-access", "cloudtrail_events": "cloudtrail",
                     "rejects": "s3-access,cloudtrail"},
          "kind": {"evidence": "s3-access,cloudtrail,cloudtrail-digest"}}


def _ident(name: str) -> str:
    return f"`{name}`"


def athena_ddl(lake: str, *, database: str = "s3forensics", start_date: str = "2006-03-01") -> str:
    """CREATE EXTERNAL TABLE statements (partition projection) and the case views, for Athena."""
    from ..views import VIEW_FILES
    from .local import CLOUDTRAIL_VIEW, EVIDENCE_VIEW
    from .translate import to_athena

    if not lake.startswith("s3://"):
        raise LakeParameterError("lake", f"{lake}: Athena reads lakes on S3; give s3://bucket/prefix")
    out = [f"-- Athena DDL for the s3forensics lake at {lake} (generated; not run in CI)",
           f"CREATE DATABASE IF NOT EXISTS {_ident(database)};", ""]
    for table, layout in LAKE_TABLES.items():
        name = _RAW.get(table, table)
        location = table_path(lake, table) + "/"
        cols = ",\n".join(f"  {_ident(c)} {athena_type(t)}" for c, t in layout.file_columns().items())
        lines = [f"CREATE EXTERNAL TABLE IF NOT EXISTS {_ident(database)}.{_ident(name)} (", cols, ")"]
        props = ["'parquet.compression' = 'ZSTD'"]
        if layout.partitions:
            lines.append("PARTITIONED BY (" + ", ".join(f"{_ident(p)} string"
                                                        for p in layout.partitions) + ")")
            props.append("'projection.enabled' = 'true'")
            template = location + "/".join(f"{p}=${{{p}}}" for p in layout.partitions) + "/"
            for part in layout.partitions:
                if part == "event_date":
                    props += ["'projection.event_date.type' = 'date'",
                              "'projection.event_date.format' = 'yyyy-MM-dd'",
                              f"'projection.event_date.range' = '{start_date},NOW'",
                              "'projection.event_date.interval' = '1'",
                              "'projection.event_date.interval.unit' = 'DAYS'"]
                else:
                    props += [f"'projection.{part}.type' = 'enum'",
                              f"'projection.{part}.values' = '{_ENUMS[part][table]}'"]
            props.append(f"'storage.location.template' = '{template}'")
        lines += ["STORED AS PARQUET", f"LOCATION '{location}'",
                  "TBLPROPERTIES (\n  " + ",\n  ".join(props) + "\n);", ""]
        out += lines
    out.append("-- The case views, translated from DuckDB by sqlglot (Trino SQL).")
    raw_views = [CLOUDTRAIL_VIEW.replace("_lake_cloudtrail_events", "lake_cloudtrail_events"),
                 EVIDENCE_VIEW.replace("_lake_evidence", "lake_evidence")]
    for sql in (*raw_views, *(p.read_text(encoding="utf-8") for p in VIEW_FILES)):
        out += [to_athena(sql) + ";", ""]
    return "\n".join(out)


def write_athena_queries(out_dir: str | Path, registry: QueryRegistry) -> list[Path]:
    """Write each catalogue query as Athena (Trino) SQL, `<name>.sql`, parameters as `:name`."""
    from .translate import to_athena

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for query in registry.list():
        header = [f"-- {query.title} ({query.kind}{', ' + query.severity if query.severity else ''})",
                  "-- Translated from DuckDB by s3forensics (sqlglot); not run in CI.",
                  *(f"-- :{p.name} {p.type} (default {p.default!r}): {p.description}"
                    for p in query.params.values())]
        path = folder / f"{query.name}.sql"
        path.write_text("\n".join(header) + "\n" + to_athena(query.sql) + "\n", encoding="utf-8")
        written.append(path)
    return written
