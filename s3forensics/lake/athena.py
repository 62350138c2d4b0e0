"""Athena (Glue) DDL for a lake on S3, and the catalogue translated to Athena's Trino SQL.

Not executed in the test suite (no Athena there): the output is checked by parsing it with
sqlglot's Athena and Trino dialects, and every function it calls against the functions Trino
documents (trino_functions.txt); a query whose translation calls one Trino lacks is refused,
naming it, until it has a hand-written `<name>.athena.sql` beside it. Tables use partition
projection on the date partitions, so Athena finds new days without MSCK REPAIR or crawlers.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ..queries.registry import Query, QueryRegistry
from .build import LakeParameterError
from .layout import LAKE_TABLES, athena_type, table_path

__all__ = ["athena_ddl", "athena_sql_for", "trino_functions", "unknown_functions",
           "write_athena_queries"]

# Written like a call, but SQL syntax Trino has rather than a function.
_SYNTAX = frozenset({"array", "exists", "in", "interval", "not", "row", "values"})
_CALL = re.compile(r'\s*"?([A-Za-z_][A-Za-z0-9_]*)"?\s*\(')


@cache
def trino_functions() -> frozenset[str]:
    """Names (lower case) of the functions Trino documents."""
    text = (Path(__file__).with_name("trino_functions.txt")).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def unknown_functions(sql: str) -> list[str]:
    """Functions (and JSON path wildcards) the Trino SQL uses that Trino lacks, first use first."""
    import sqlglot
    from sqlglot import exp

    known = trino_functions() | _SYNTAX
    unknown: list[str] = []
    for statement in sqlglot.parse(sql, read="trino"):
        if statement is not None and statement.find(exp.JSONPathWildcard) is not None \
                and "[*] in a JSON path" not in unknown:
            unknown.append("[*] in a JSON path")  # Trino's JSON paths have no wildcard
        for node in statement.find_all(exp.Func) if statement is not None else ():
            # The name as Trino would read it: sqlglot's own name for a function may differ.
            call = _CALL.match(node.sql(dialect="trino"))
            name = call.group(1).lower() if call else None
            if name is not None and name not in known and name not in unknown:
                unknown.append(name)
    return unknown


def athena_sql_for(query: Query) -> str:
    """The Athena (Trino) SQL of a catalogue query: its `.athena.sql` file, else the translation.

    Raises Untranslatable, naming the query and the functions, when the translation calls a
    function Trino does not have (DuckDB's date_bin, list functions...).
    """
    from .translate import Untranslatable, to_athena, variant_path

    variant = variant_path(query, "athena")
    if variant.exists():
        # Written in Trino SQL, parameters as :name markers like the translations: used as is,
        # once its calls are checked like a translation's.
        sql = variant.read_text(encoding="utf-8").strip().rstrip(";")
        missing = unknown_functions(sql)
        if missing:
            raise Untranslatable(f"{query.name}: {variant.name} calls {', '.join(missing)}, "
                                 "which Trino does not have")
        return sql
    try:
        sql = to_athena(query.sql)
    except Untranslatable as exc:
        raise Untranslatable(f"{query.name}: {exc} has no faithful Trino translation; write its "
                             f"Trino SQL as {variant.name} beside {query.path.name}") from None
    missing = unknown_functions(sql)
    if missing:
        raise Untranslatable(
            f"{query.name}: its Athena (Trino) translation calls {', '.join(missing)}, which "
            f"Trino does not have; write its Trino SQL as {variant.name} beside {query.path.name}")
    return sql

# The raw files of these tables hold rows a case would not show (repeated CloudTrail events,
# uncorrected evidence counts): Athena tables get a prefix, and views give the case names.
_RAW = {"cloudtrail_events": "lake_cloudtrail_events", "evidence": "lake_evidence"}
_ENUMS = {"source": {"s3_access_logs": "s3-access", "cloudtrail_events": "cloudtrail",
                     "rejects": "s3-access,cloudtrail"},
          "kind": {"evidence": "s3-access,cloudtrail,cloudtrail-digest"}}


def _ident(name: str) -> str:
    return f"`{name}`"


# Names DuckDB (ICU) knows that Trino (java.time) does not: Java's three-letter short ids and a
# few retired ones. Left in, such a zone would pass a query's check and fail in Trino's own words.
_NOT_TRINO_ZONES = frozenset({
    "ACT", "AET", "AGT", "ART", "AST", "BET", "BST", "CAT", "CNT", "CST", "CTT", "EAT", "ECT",
    "EST", "HST", "IET", "IST", "JST", "MIT", "MST", "NET", "NST", "PLT", "PNT", "PRT", "PST",
    "SST", "VST", "Factory", "ROC", "US/Pacific-New", "Canada/East-Saskatchewan"})


def _time_zone_view() -> list[str]:
    """A view of the time zone names DuckDB knows: queries taking a zone check it against them."""
    import duckdb

    from .translate import ATHENA_TIME_ZONES

    con = duckdb.connect()
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM pg_timezone_names() ORDER BY name").fetchall()
            if r[0] not in _NOT_TRINO_ZONES and not r[0].startswith("SystemV/")]
    finally:
        con.close()
    rows = ",\n".join("  ('" + n.replace("'", "''") + "')" for n in names)
    return ["-- Time zone names (DuckDB's list, as a case checks a time_zone parameter against it).",
            f"CREATE OR REPLACE VIEW {ATHENA_TIME_ZONES} AS SELECT name FROM (VALUES",
            rows, ") AS t(name);", ""]


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
    out += _time_zone_view()
    out.append("-- The case views, translated from DuckDB by sqlglot (Trino SQL).")
    raw_views = [CLOUDTRAIL_VIEW.replace("_lake_cloudtrail_events", "lake_cloudtrail_events"),
                 EVIDENCE_VIEW.replace("_lake_evidence", "lake_evidence")]
    for sql in (*raw_views, *(p.read_text(encoding="utf-8") for p in VIEW_FILES)):
        out += [to_athena(sql) + ";", ""]
    return "\n".join(out)


def write_athena_queries(out_dir: str | Path, registry: QueryRegistry
                         ) -> tuple[list[Path], dict[str, str]]:
    """Write each catalogue query as Athena (Trino) SQL, `<name>.sql`, parameters as `:name`.

    Returns the files written and, by query name, why a query was not written (its Trino SQL
    would call what Trino lacks): such a query is left out, never written wrong.
    """
    from .translate import Untranslatable, variant_path

    translated: list[tuple[Query, str]] = []
    refused: dict[str, str] = {}
    for query in registry.list():
        try:
            translated.append((query, athena_sql_for(query)))
        except Untranslatable as exc:
            refused[query.name] = str(exc)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in refused:  # a translation left from an earlier run would read as current
        (folder / f"{name}.sql").unlink(missing_ok=True)
    written = []
    for query, sql in translated:
        by_hand = variant_path(query, "athena")
        origin = (f"Written for Athena by hand ({by_hand.name})" if by_hand.exists()
                  else "Translated from DuckDB by s3forensics (sqlglot)")
        header = [f"-- {query.title} ({query.kind}{', ' + query.severity if query.severity else ''})",
                  f"-- {origin}; not run in CI.",
                  *(["-- Parameters are written :name: put literal values in their place before "
                     "running it (Athena itself takes ? markers, with EXECUTE ... USING)."]
                    if query.params else []),
                  *(f"-- :{p.name} {p.type} (default {p.default!r}): {p.description}"
                    for p in query.params.values())]
        path = folder / f"{query.name}.sql"
        path.write_text("\n".join(header) + "\n" + sql + "\n", encoding="utf-8")
        written.append(path)
    return written, refused
