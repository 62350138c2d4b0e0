"""A lake queried by DuckDB on one machine: the case tables as views over its Parquet files.

The views carry the case tables' names, columns and types, so the catalogue's `.sql` files and
the derived views (`s3forensics/views/`) run unchanged: `connect_lake(path)` is to a lake what
`Case.open(path).con` is to a case.
"""

from __future__ import annotations

import os

import duckdb

from ..schema import sql_text
from .build import LakeError, LakeParameterError, has_files
from .layout import LAKE_TABLES, MARKER, duckdb_type, is_remote, table_path

__all__ = ["check_lake", "connect_lake", "table_sql"]



def check_lake(lake: str) -> None:
    """Raise LakeError unless `lake` is a local folder a `lake build` wrote."""
    if is_remote(lake):
        raise LakeParameterError("lake", f"{lake}: the local engine reads local folders; use "
                                 "{engine} spark", mentions=("engine",))
    if not os.path.isfile(os.path.join(lake, MARKER)):
        raise LakeError(f"{lake}: not a case lake (no {MARKER}); build one with `s3forensics lake build`")


def table_sql(lake: str, table: str, *, lake_file: bool = False) -> str:
    """SELECT giving one lake table with exactly its case columns and types, in order.

    With `lake_file`, a last column `lake_file` names the Parquet file each row was read from.
    """
    layout = LAKE_TABLES[table]
    schema = layout.schema()
    cols = ", ".join(f'CAST("{c}" AS {duckdb_type(t)}) AS "{c}"' for c, t in schema.items())
    if not has_files(lake, table):
        # A lake of one source still answers queries about the other: with no rows.
        extra = ", NULL::VARCHAR AS lake_file" if lake_file else ""
        return (f"SELECT {cols}{extra} FROM (SELECT {', '.join(f'NULL AS {c}' for c in schema)}) "
                "WHERE false")
    glob = os.path.join(table_path(lake, table), "**", "*.parquet")
    if lake_file:
        return (f"SELECT {cols}, filename AS lake_file FROM read_parquet({sql_text(glob)}, "
                "hive_partitioning = true, union_by_name = true, filename = true)")
    return (f"SELECT {cols} FROM read_parquet({sql_text(glob)}, hive_partitioning = true, "
            "union_by_name = true)")


def connect_lake(lake: str | os.PathLike[str], *,
                 con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the case tables and views over a local lake's files."""
    from ..views import install_views

    lake = os.fspath(lake)
    check_lake(lake)
    con = con or duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE OR REPLACE VIEW _lake_s3_access_logs AS {table_sql(lake, 's3_access_logs')}")
    con.execute(f"CREATE OR REPLACE VIEW _lake_cloudtrail_events AS {table_sql(lake, 'cloudtrail_events')}")
    con.execute(f"CREATE OR REPLACE VIEW cloudtrail_duplicates AS {table_sql(lake, 'cloudtrail_duplicates')}")
    con.execute(f"CREATE OR REPLACE VIEW _lake_evidence AS {table_sql(lake, 'evidence')}")
    con.execute(f"CREATE OR REPLACE VIEW rejects AS {table_sql(lake, 'rejects')}")
    con.execute("CREATE OR REPLACE VIEW s3_access_logs AS SELECT * FROM _lake_s3_access_logs")
    con.execute(CLOUDTRAIL_VIEW)
    con.execute(EVIDENCE_VIEW)
    install_views(con)
    return con


#: The lake keeps every parsed record; a case skips a CloudTrail record repeating one an earlier
#: object holds (same eventID and content). Plain SQL (DuckDB and Spark alike) over `_lake_*` views and the duplicates table.
CLOUDTRAIL_VIEW = """
CREATE OR REPLACE VIEW cloudtrail_events AS
SELECT c.* FROM _lake_cloudtrail_events c
WHERE NOT EXISTS (SELECT 1 FROM cloudtrail_duplicates d
                  WHERE d.evidence_id = c.evidence_id AND d.record_no = c.record_no)
"""
#: Evidence counts as a case states them: records it holds, duplicates it skipped.
EVIDENCE_VIEW = """
CREATE OR REPLACE VIEW evidence AS
WITH d AS (SELECT evidence_id, count(*) AS n FROM cloudtrail_duplicates GROUP BY evidence_id)
SELECT e.evidence_id, e.sha256, e.kind, e.source, e.case_path, e.size,
       e.records - coalesce(d.n, 0) AS records, e.rejects,
       e.duplicates + coalesce(d.n, 0) AS duplicates,
       e.loaded_at, e.bucket, e.key, e.version_id, e.etag, e.last_modified, e.acquired_at,
       e.stored_as, e.name_escaped, e.identical_to, e.link_target
FROM _lake_evidence e LEFT JOIN d ON e.evidence_id = d.evidence_id
"""
