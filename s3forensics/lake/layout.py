"""The case lake's layout: which tables, which columns and types, how files are partitioned.

A lake is a folder (or an S3 prefix) of Parquet files with the columns and types of the case
tables, one sub-folder per table, hive-partitioned so that engines prune by path:

    LAKE/s3_access_logs/source=s3-access/event_date=2026-10-05/part-*.parquet
    LAKE/cloudtrail_events/source=cloudtrail/event_date=2026-10-05/part-*.parquet
    LAKE/rejects/source=s3-access/part-*.parquet          (lines that did not become rows)
    LAKE/evidence/kind=cloudtrail/part-*.parquet           (one row per evidence object)
    LAKE/cloudtrail_duplicates/part-*.parquet              (repeats of an earlier record)

`event_date` is the UTC date of `event_time`. The partition columns (`source`, `event_date`,
`kind`) live only in the paths; every engine reads them back from there. The row files keep
every parsed record, duplicates included: a CloudTrail record repeating one an earlier object
(by object location, then record number) already holds, same eventID and same content
(schema.CLOUDTRAIL_REPEAT_KEY), is listed in `cloudtrail_duplicates`, and
the `cloudtrail_events` table every engine exposes leaves it out, exactly as a local case skips
it at load time. That keeps each build's files independent of every other build's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

__all__ = [
    "DUPLICATES_SCHEMA",
    "LAKE_TABLES",
    "MARKER",
    "TableLayout",
    "athena_type",
    "duckdb_type",
    "is_remote",
    "lake_table_schemas",
    "spark_type",
    "table_path",
]

#: Written at the top of a local lake: says what the folder is, and which layout it follows.
MARKER = "_s3forensics_lake.json"
LAYOUT_VERSION = 1

#: Cross-object CloudTrail duplicates: the record left out, and the record kept.
DUPLICATES_SCHEMA: dict[str, pl.DataType] = {
    "evidence_id": pl.String(),
    "record_no": pl.Int64(),
    "event_id": pl.String(),
    "kept_evidence_id": pl.String(),
    "kept_record_no": pl.Int64(),
}


def lake_table_schemas() -> dict[str, Mapping[str, pl.DataType]]:
    """The case tables' columns and types, in order: the one source of every lake schema.

    Taken from the declared schema (schema.py), so a lake has exactly a case's columns.
    """
    from ..schema import CASE_TABLES

    return {
        **{name: CASE_TABLES[name].polars_schema()
           for name in ("s3_access_logs", "cloudtrail_events", "rejects", "evidence")},
        "cloudtrail_duplicates": DUPLICATES_SCHEMA,
    }


@dataclass(frozen=True)
class TableLayout:
    """One lake table: its folder, its hive partition columns, the case table it stands for."""

    name: str
    #: Partition columns, outermost first; a partition column that is also a case column (the
    #: evidence `kind`) is stored only in the path.
    partitions: tuple[str, ...]
    #: False for tables only a lake has (cloudtrail_duplicates).
    case_table: bool = True

    def file_columns(self) -> dict[str, pl.DataType]:
        """Columns stored in the Parquet files (the case columns minus path-only ones)."""
        schema = lake_table_schemas()[self.name]
        return {c: t for c, t in schema.items() if c not in self.partitions}

    def schema(self) -> dict[str, pl.DataType]:
        """The columns every engine exposes for this table: the case table's, in its order."""
        return dict(lake_table_schemas()[self.name])


LAKE_TABLES: dict[str, TableLayout] = {
    t.name: t
    for t in (
        TableLayout("s3_access_logs", ("source", "event_date")),
        TableLayout("cloudtrail_events", ("source", "event_date")),
        TableLayout("rejects", ("source",)),
        TableLayout("evidence", ("kind",)),
        TableLayout("cloudtrail_duplicates", (), case_table=False),
    )
}
#: The rows table of each log kind.
ROWS_TABLE = {"s3-access": "s3_access_logs", "cloudtrail": "cloudtrail_events"}


def is_remote(lake: str) -> bool:
    """True for a lake on object storage (s3://, s3a://, gs://...), not a local folder."""
    return "://" in lake


def table_path(lake: str, table: str) -> str:
    """Folder (or URI prefix) of one table of the lake."""
    if is_remote(lake):
        return lake.rstrip("/") + "/" + table
    return os.path.join(os.path.abspath(lake), table)


def _type_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone != "UTC":
            # Every time column is UTC: a naive one would be read differently by each engine.
            raise TypeError(f"lake time columns must be UTC, not {dtype}")
        return "timestamp"
    for name, cls in (("string", pl.String), ("bigint", pl.Int64), ("int", pl.Int32),
                      ("smallint", pl.Int16), ("boolean", pl.Boolean), ("double", pl.Float64)):
        if dtype == cls:
            return name
    raise TypeError(f"no lake type for {dtype}")  # a schema edit that needs a mapping here


_DUCKDB = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT",
           "boolean": "BOOLEAN", "double": "DOUBLE", "timestamp": "TIMESTAMPTZ"}
_SPARK = {"string": "STRING", "bigint": "BIGINT", "int": "INT", "smallint": "SMALLINT",
          "boolean": "BOOLEAN", "double": "DOUBLE", "timestamp": "TIMESTAMP"}
# Athena (Trino) reads Parquet UTC-adjusted timestamps as `timestamp`; strings are `string` in
# Hive DDL (CREATE EXTERNAL TABLE), which is what Glue tables are.
_ATHENA = {"string": "string", "bigint": "bigint", "int": "int", "smallint": "smallint",
           "boolean": "boolean", "double": "double", "timestamp": "timestamp"}


def duckdb_type(dtype: pl.DataType) -> str:
    """DuckDB type of a lake column (times are TIMESTAMPTZ, as in a case)."""
    return _DUCKDB[_type_name(dtype)]


def spark_type(dtype: pl.DataType) -> str:
    """Spark SQL type of a lake column (times are TIMESTAMP, read in the UTC session zone)."""
    return _SPARK[_type_name(dtype)]


def athena_type(dtype: pl.DataType) -> str:
    """Athena (Hive DDL) type of a lake column."""
    return _ATHENA[_type_name(dtype)]
