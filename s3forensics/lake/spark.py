"""Spark as the lake's engine: tasks run our parser over the objects; the catalogue runs as Spark SQL.

Building: the driver plans the object list (`build.plan_objects`) and cuts it into chunks of
about equal text in location order; there is one Spark task per chunk (the chunk numbers are a
`spark.range`, the object list travels with the function), and each task runs
`build.parse_chunk` (the parsers `ingest` uses) through `mapInArrow`. The tasks return Arrow
batches holding every lake table's rows, each table's row in a struct column named for it (the
other tables' structs null); the first table's write parses and fills a persisted cache, the
other tables are written from it with Spark's Parquet writer, partitioned as
`layout.LAKE_TABLES` says, and `cloudtrail_duplicates` is found over the cached rows plus the
lake's earlier files. There is no second parser in Spark SQL.

Querying: `SparkLake` registers the lake tables as temporary views with the case tables' names,
columns and types, creates the derived views translated by sqlglot, and runs each catalogue
query translated the same way, with its parameters bound by Spark (`spark.sql(sql, args=...)`).
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from typing import Any, cast

import polars as pl

from ..errors import QueryError
from ..extras import require
from ..queries.registry import Query
from ..schema import CLOUDTRAIL_REPEAT_KEY
from .build import (
    CHUNK_BYTES,
    CHUNK_OBJECTS,
    DUPLICATES_SQL,
    LakeBuildResult,
    LakeError,
    ObjectRef,
    chunk_frames,
    parse_chunk,
    text_weight,
)
from .layout import LAKE_TABLES, is_remote, spark_type, table_path

__all__ = ["SparkLake", "build_lake_spark", "get_spark", "java_available"]

_NOTE_COLUMNS = {"note__location": pl.String(), "note__text": pl.String(),
                 "note__count": pl.Int64()}


def java_available() -> bool:
    """True when a Java runtime Spark can start is on this machine (JAVA_HOME or PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return True
    return shutil.which("java") is not None


def get_spark(*, master: str | None = None, app_name: str = "s3forensics") -> Any:
    """The active SparkSession, or a new one (UTC session time zone, microsecond Parquet times)."""
    require("spark", needed_for="the Spark engine")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        _configure(active)
        return active
    if not java_available():
        raise LakeError("the Spark engine needs a Java 17+ runtime (java on PATH or JAVA_HOME); "
                        "install one, e.g. apt-get install openjdk-17-jre-headless")
    # Python workers run this interpreter unless the cluster says otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    master = master or os.environ.get("S3FORENSICS_SPARK_MASTER", "local[*]")
    builder = SparkSession.builder.appName(app_name).master(master)
    if master.startswith("local"):
        # In local mode the driver's heap holds every task's batches and the cached parse;
        # Spark's 1 GiB default ran out at 1M access-log lines.
        builder = builder.config("spark.driver.memory",
                                 os.environ.get("S3FORENSICS_SPARK_DRIVER_MEMORY", "4g"))
    builder = (builder
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "8")
               # A task has one core (spark.task.cpus): a parser's polars thread pool as wide as
               # the machine in every task oversubscribes it (on 2 cores, 2 tasks with 2 threads
               # each made the build slower than with one task).
               .config("spark.executorEnv.POLARS_MAX_THREADS", "1"))
    spark = builder.getOrCreate()
    _configure(spark)
    return spark


def _configure(spark: Any) -> None:
    # Event times are UTC end to end: the session zone decides how Spark shows and casts them.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # Parquet timestamps as INT64 microseconds adjusted to UTC, as DuckDB and Athena read them
    # (Spark's legacy INT96 is read as naive time by some engines).
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")


# -- building ------------------------------------------------------------------------------------


def _union_columns(tables: list[str]) -> dict[str, pl.DataType]:
    """The row every task returns: `_table`, `_chunk`, a struct per table (its file and partition
    columns), notes."""
    # One struct per table, not every table's columns side by side: Spark turns each Arrow row
    # into its own row format column by column, and a null struct is one null where ~150 flat
    # columns were ~150, most of them null (the JVM side, not the parser, bounded the build).
    cols: dict[str, pl.DataType] = {"_table": pl.String(), "_chunk": pl.Int64()}
    for table in tables:
        layout = LAKE_TABLES[table]
        cols[table] = pl.Struct({**layout.file_columns(),
                                 **{part: pl.String() for part in layout.partitions}})
    cols.update(_NOTE_COLUMNS)
    return cols


def _fields(dtype: pl.Struct) -> list[tuple[str, pl.DataType]]:
    # The structs are built from the layouts' column types, which are instances.
    return [(f.name, cast(pl.DataType, f.dtype)) for f in dtype.fields]


def _spark_field_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Struct):
        return "STRUCT<" + ", ".join(f"`{n}`: {spark_type(t)}" for n, t in _fields(dtype)) + ">"
    return spark_type(dtype)


def _spark_schema(cols: Mapping[str, pl.DataType]) -> str:
    return ", ".join(f"`{c}` {_spark_field_type(t)}" for c, t in cols.items())


#: Chunks per core at least: tasks are scheduled as cores free up, so the last task to finish
#: holds up the others for at most one chunk's time.
_CHUNKS_PER_CORE = 4
def _chunk_refs(refs: list[ObjectRef], parallelism: int) -> list[list[ObjectRef]]:
    """Objects cut into chunks of about equal text in location order, several per core."""
    # Counted by stored size, chunks of CloudTrail files held 10x the records of access-log
    # chunks and took 2-4x as long, which left a core idle at the end of each stage.
    total = sum(text_weight(r) for r in refs)
    per_chunk = max(1, min(CHUNK_BYTES, math.ceil(total / max(1, parallelism * _CHUNKS_PER_CORE))))
    chunks: list[list[ObjectRef]] = []
    chunk: list[ObjectRef] = []
    size = 0
    for ref in refs:
        if chunk and (len(chunk) >= CHUNK_OBJECTS or size >= per_chunk):
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(ref)
        size += text_weight(ref)
    if chunk:
        chunks.append(chunk)
    return chunks


def _parse_partition(batches: Iterator[Any], *, chunks: list[list[ObjectRef]], kind: str,
                     known: frozenset[str], endpoint_url: str | None,
                     columns: dict[str, pl.DataType]) -> Iterator[Any]:
    """mapInArrow body: parse the chunks whose numbers this task was given, yield wide batches."""
    import pyarrow as pa

    schema = pa.schema([(c, _arrow_type(t)) for c, t in columns.items()])
    for batch in batches:
        for chunk_id in batch.column(0).to_pylist():
            chunk = parse_chunk(chunks[chunk_id], kind=kind, known=known, endpoint_url=endpoint_url)
            parts = []
            for table, frame in chunk_frames(chunk):
                struct = columns[table]
                assert isinstance(struct, pl.Struct)
                parts.append(frame.select(
                    pl.lit(table).alias("_table"),
                    pl.struct([(pl.col(n) if n in frame.columns else pl.lit(None)).cast(t).alias(n)
                               for n, t in _fields(struct)]).alias(table)))
            notes = ([("skipped", loc, why, None) for loc, why in chunk.skipped]
                     + [("error", None, e, None) for e in chunk.errors]
                     + ([("known", None, None, chunk.already_in_lake)] if chunk.already_in_lake else []))
            if notes:
                parts.append(pl.DataFrame(notes, schema={"_table": pl.String, **_NOTE_COLUMNS},
                                          orient="row"))
            if not parts:
                continue
            wide = pl.concat(parts, how="diagonal_relaxed").with_columns(
                pl.lit(chunk_id, pl.Int64).alias("_chunk"))
            wide = wide.select([(pl.col(c) if c in wide.columns else pl.lit(None).cast(t)).alias(c)
                                for c, t in columns.items()])
            # Batches of bounded size: one batch per chunk (100k+ rows of a wide union schema) made
            # the JVM hold several of them at once and run out of heap at 1M lines.
            yield from wide.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema).to_batches(
                max_chunksize=_BATCH_ROWS)


#: Rows per Arrow batch a task hands to Spark.
_BATCH_ROWS = 16_384


def _arrow_type(dtype: pl.DataType) -> Any:
    import pyarrow as pa

    if isinstance(dtype, pl.Datetime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(dtype, pl.Struct):
        return pa.struct([(n, _arrow_type(t)) for n, t in _fields(dtype)])
    return {pl.String: pa.string(), pl.Int64: pa.int64(), pl.Int32: pa.int32(),
            pl.Int16: pa.int16(), pl.Boolean: pa.bool_(), pl.Float64: pa.float64()}[type(dtype)]


def build_lake_spark(lake: str, refs: list[ObjectRef], *, kind: str, known: set[str],
                     endpoint_url: str | None, result: LakeBuildResult, spark: Any = None,
                     partitions: int | None = None) -> None:
    """Parse `refs` in Spark tasks and append their rows, rejects and evidence to the lake."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    spark = spark or get_spark()
    if is_remote(lake):
        known = known | _known_hashes_spark(spark, lake)
    parallelism = partitions or spark.sparkContext.defaultParallelism
    tables = ["s3_access_logs", "cloudtrail_events", "rejects", "evidence"]
    if kind == "s3-access":
        tables.remove("cloudtrail_events")
    elif kind == "cloudtrail":
        tables.remove("s3_access_logs")
    columns = _union_columns(tables)
    chunks = _chunk_refs(refs, parallelism)
    if not chunks:
        return
    # One task per chunk, numbered in location order: Spark hands the next chunk to whichever
    # core is free, so cores stay balanced without knowing what a chunk costs. Dealing whole
    # chunks to `parallelism` tasks up front (through a Python RDD and a shuffle) left one core
    # with every CloudTrail chunk, idle time in every table's write, and cost a stage of its own.
    # The object list goes to the tasks with the function (Spark broadcasts it when large).
    numbers = spark.range(0, len(chunks), 1, numPartitions=len(chunks))
    body = functools.partial(_parse_partition, chunks=chunks, kind=kind, known=frozenset(known),
                             endpoint_url=endpoint_url, columns=columns)
    wide = numbers.mapInArrow(body, _spark_schema(columns)).persist(StorageLevel.MEMORY_AND_DISK)
    # The lake's CloudTrail rows and evidence as they were before this build: Spark lists a
    # table's files when it is read, so the files written below are not among them.
    before = ({t: _read_table(spark, lake, t) for t in ("cloudtrail_events", "evidence")}
              if _exists(spark, table_path(lake, "cloudtrail_events")) else None)
    try:
        # The first write parses (and fills the cache); every other table is written from the
        # persisted rows. (A count() first to fill the cache cost three more jobs.)
        for table in tables:
            layout = LAKE_TABLES[table]
            names = [*layout.file_columns(), *layout.partitions]
            part = wide.where(F.col("_table") == table).select(
                *[F.col(table).getField(c).alias(c) for c in names])
            writer = part.write.mode("append").option("compression", "zstd")
            if layout.partitions:
                writer = writer.partitionBy(*layout.partitions)
            writer.parquet(table_path(lake, table))
        # Evidence and notes in one job: each collect is a job the driver waits for alone.
        meta = wide.where(F.col("_table").isin("evidence", "skipped", "error", "known")).select(
            "_table", *[F.col("evidence").getField(c).alias(c)
                        for c in ("kind", "records", "rejects", "sha256")],
            "note__location", "note__text", "note__count").toArrow()
        rows = pl.from_arrow(meta)
        assert isinstance(rows, pl.DataFrame)
        evidence = rows.filter(pl.col("_table") == "evidence").select(
            "kind", "records", "rejects", "sha256")
        added = evidence.filter(pl.col("kind") == "cloudtrail")["records"].sum()
        if added:
            # The new rows from the cache, the lake's earlier rows from their files: reading the
            # whole table back after the write listed and planned it again on the driver.
            new = {t: wide.where(F.col("_table") == t).select(
                       *[F.col(t).getField(c).alias(c) for c in cols])
                   for t, cols in (("cloudtrail_events",
                                    (*CLOUDTRAIL_REPEAT_KEY, "evidence_id", "record_no")),
                                   ("evidence", ("evidence_id", "source")))}
            if before is not None:
                new = {t: frame.unionByName(before[t].select(*frame.columns))
                       for t, frame in new.items()}
            result.duplicates = _duplicates_spark(spark, lake, new["cloudtrail_events"],
                                                  new["evidence"])
        elif before is not None:
            # No CloudTrail rows added (other objects join no CloudTrail row): the lake's
            # duplicates are the ones it already lists.
            result.duplicates = int(_read_table(spark, lake, "cloudtrail_duplicates").count())
    finally:
        wide.unpersist()
    if evidence.height:
        result.add(evidence)
        twice = evidence.filter(pl.col("sha256").is_duplicated())["sha256"].unique().to_list()
        if twice:
            # Two tasks each met a copy of the same object; a case would load it once.
            result.errors.append(f"{len(twice)} objects were given twice (same SHA-256, e.g. "
                                 f"{twice[0]}); the lake holds them twice: build from distinct inputs")
    for note in rows.filter(pl.col("_table") != "evidence").iter_rows(named=True):
        if note["_table"] == "skipped":
            result.skipped.append((note["note__location"], note["note__text"]))
        elif note["_table"] == "error":
            result.errors.append(note["note__text"])
        else:
            result.already_in_lake += int(note["note__count"])


def _read_table(spark: Any, lake: str, table: str) -> Any:
    """One lake table as a DataFrame with exactly the case columns and types (empty if absent)."""
    from pyspark.sql import functions as F

    layout = LAKE_TABLES[table]
    schema = layout.schema()
    ddl = ", ".join(f"`{c}` {spark_type(t)}" for c, t in schema.items())
    path = table_path(lake, table)
    if not _exists(spark, path):
        return spark.createDataFrame([], ddl)
    frame = spark.read.option("basePath", path).parquet(path)
    return frame.select(*[F.col(f"`{c}`").cast(spark_type(t)).alias(c) for c, t in schema.items()])


def _exists(spark: Any, path: str) -> bool:
    if not is_remote(path):
        return os.path.isdir(path) and any(
            f.endswith(".parquet") for _, _, files in os.walk(path) for f in files)
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(hpath))


def _known_hashes_spark(spark: Any, lake: str) -> set[str]:
    ev = _read_table(spark, lake, "evidence")
    return {r[0] for r in ev.select("sha256").collect()}


def _duplicates_spark(spark: Any, lake: str, ct: Any, ev: Any) -> int:
    """Find CloudTrail records repeated across objects with the same SQL the local engine runs.

    `ct` and `ev` are every CloudTrail row (CLOUDTRAIL_REPEAT_KEY, evidence_id, record_no) and
    evidence row (evidence_id, source) of the lake, this build's included.
    """
    ct.createOrReplaceTempView("ct")
    ev.createOrReplaceTempView("ev")
    # Computed in full, then written over the table: it is a property of the whole lake.
    dups = spark.sql(DUPLICATES_SQL).selectExpr(
        "CAST(evidence_id AS STRING) evidence_id", "CAST(record_no AS BIGINT) record_no",
        "CAST(event_id AS STRING) event_id", "CAST(kept_evidence_id AS STRING) kept_evidence_id",
        "CAST(kept_record_no AS BIGINT) kept_record_no").localCheckpoint()
    dups.coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(
        table_path(lake, "cloudtrail_duplicates"))
    return int(dups.count())


# -- querying ------------------------------------------------------------------------------------


# A lake is not enriched: detections that ask for address classes see none, as on a case that
# was never enriched (views.install_address_classes makes the same empty view in DuckDB).
_ADDRESS_CLASSES = ("CREATE OR REPLACE TEMP VIEW address_classes AS SELECT CAST(NULL AS STRING) AS ip, "
                    "CAST(NULL AS STRING) AS ip_class, CAST(NULL AS STRING) AS aws_service WHERE false")


class SparkLake:
    """A lake's tables and views as Spark temporary views, running catalogue queries as Spark SQL."""

    def __init__(self, spark: Any, lake: str) -> None:
        from ..views import VIEW_FILES
        from .local import CLOUDTRAIL_VIEW, EVIDENCE_VIEW
        from .translate import SPARK_TIME_ZONES, spark_view_sql, to_spark

        self.spark = spark
        self.lake = lake
        if not is_remote(lake) and not os.path.isdir(lake):
            raise LakeError(f"{lake}: no such lake folder")
        for table, name in (("s3_access_logs", "s3_access_logs"),
                            ("cloudtrail_events", "_lake_cloudtrail_events"),
                            ("cloudtrail_duplicates", "cloudtrail_duplicates"),
                            ("evidence", "_lake_evidence"), ("rejects", "rejects")):
            _read_table(spark, lake, table).createOrReplaceTempView(name)
        # Queries check a time zone name against this list, as against DuckDB's own: the region
        # ids and the short ones (EST, PST) Spark also resolves, as DuckDB's list has them.
        zone_id = spark.sparkContext._jvm.java.time.ZoneId
        zones = sorted({str(z) for z in zone_id.getAvailableZoneIds()}
                       | {str(z) for z in zone_id.SHORT_IDS.keySet()})
        spark.sql("SELECT explode(:names) AS name", args={"names": zones}) \
            .createOrReplaceTempView(SPARK_TIME_ZONES)
        for sql in (to_spark(CLOUDTRAIL_VIEW, view=True), to_spark(EVIDENCE_VIEW, view=True),
                    *(spark_view_sql(p) for p in VIEW_FILES), _ADDRESS_CLASSES):
            spark.sql(sql)

    def run(self, query: Query, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Run a catalogue query (its Spark variant file when it has one) with bound parameters."""
        from .translate import spark_args, spark_sql_for

        bound = query.bind(params)
        sql = spark_sql_for(query)
        try:
            table = self.spark.sql(sql, args=spark_args(query, bound)).toArrow()
        except Exception as exc:  # Spark's errors come from the JVM; name the query and say why
            lines = [ln.strip(": \t") for ln in str(exc).strip().splitlines() if ln.strip()]
            # Py4J puts the Java exception on the line after "An error occurred while calling".
            useful = [ln for ln in lines if not ln.startswith("An error occurred")]
            first = useful[0] if useful else type(exc).__name__
            raise QueryError(f"query {query.name} on Spark failed: {first}") from exc
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame
