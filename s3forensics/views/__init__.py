"""Derived views every case gets: normalised actors, correlation of both sources, timeline."""

from __future__ import annotations

from pathlib import Path

import duckdb

__all__ = ["VIEW_FILES", "comment_views", "install_address_classes", "install_views"]

# `<name>.spark.sql` files are another engine's version of a view (s3forensics/lake/translate.py).
VIEW_FILES = sorted(p for p in Path(__file__).parent.glob("*.sql")
                    if not p.name.endswith((".spark.sql", ".athena.sql")))


def install_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create or replace the derived views (in file order: later views use earlier ones)."""
    from ..enrich.macros import install_macros

    install_macros(con)  # the classification the views call
    for path in VIEW_FILES:
        con.execute(path.read_text(encoding="utf-8"))
    install_address_classes(con)
    comment_views(con)


def comment_views(con: duckdb.DuckDBPyConnection) -> None:
    """Give each view and its columns the COMMENT schema.py declares (views have no storage)."""
    from ..schema import VIEW_DOCS, view_comment_sql

    for view in VIEW_DOCS:
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = $v ORDER BY column_index",
            {"v": view}).fetchall()]
        for statement in view_comment_sql(view, columns):
            con.execute(statement)


def install_address_classes(con: duckdb.DuckDBPyConnection) -> None:
    """Create the address_classes view: each address's class from the last `enrich`, else empty.

    Detections join it to tell AWS-owned addresses from others; a view (not the table itself)
    lets them run, with less to go on, on a case that was never enriched.
    """
    enriched = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ip_enrichment' "
        "AND schema_name = current_schema() AND database_name = current_database()").fetchall()[0][0]
    source = ("SELECT ip, ip_class, aws_service FROM ip_enrichment" if enriched else
              "SELECT NULL::VARCHAR AS ip, NULL::VARCHAR AS ip_class, NULL::VARCHAR AS aws_service WHERE false")
    con.execute(f"CREATE OR REPLACE VIEW address_classes AS {source}")
