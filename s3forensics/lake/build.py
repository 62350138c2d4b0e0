"""Build a case lake: plan the objects, parse them with the case's parsers, write Parquet.

The work is split so that the engines share everything but the scheduling:

* `plan_objects` (driver): the object list, from local paths (walked as `ingest` walks them) or
  from S3 through `plan_acquisition` (the same key-layout narrowing and lookback as `acquire`).
  It and `build_lake` take the same keyword arguments, `LakeSourceOptions`, checked once into a
  `LakeSource` (as `acquire` checks `AcquisitionOptions` into an `AcquisitionRequest`);
* `parse_chunk` (anywhere): fetch a few objects (read-only), recognise and parse them with the
  parsers `ingest` uses, and return rows, rejects and one evidence row per object;
* the engine: `build_lake(engine="local")` runs `parse_chunk` over chunks in this process and
  writes with pyarrow; `lake.spark.build_lake_spark` runs it in Spark tasks (`mapInArrow`).

Then both run the same SQL to find CloudTrail records repeating one an earlier object already
holds (same eventID and content: `cloudtrail_duplicates`), which the lake's `cloudtrail_events`
leaves out, as a case does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict, Unpack

import polars as pl

from .. import __version__
from ..errors import InputError, ParameterError, S3ForensicsError
from ..schema import CLOUDTRAIL_REPEAT_KEY, sql_text
from ..timerange import TimeRange
from .layout import (
    LAKE_TABLES,
    LAYOUT_VERSION,
    MARKER,
    ROWS_TABLE,
    is_remote,
    lake_table_schemas,
    table_path,
)

__all__ = [
    "DUPLICATES_SQL",
    "Chunk",
    "LakeBuildResult",
    "LakeError",
    "LakeParameterError",
    "LakeSource",
    "LakeSourceOptions",
    "ObjectRef",
    "build_lake",
    "parse_chunk",
    "plan_objects",
]

#: Objects parsed together: access logs parse fastest in large batches (see case.BATCH_BYTES).
#: Counted in text (text_weight), which is what parsing costs in time and memory.
CHUNK_BYTES = 48 * 1024 * 1024
CHUNK_OBJECTS = 2000
#: What a compressed object is counted as, times its size: CloudTrail's .json.gz inflate about
#: 10x (measured on bench_ingest's files). Counted by stored size, a local build's chunk of
#: CloudTrail files held ten times the text of one of access logs: 2.2 GiB peak on 3M lines and
#: 300k records against 1.1 GiB on 1M and 100k (bench_lake.py).
COMPRESSED_WEIGHT = 10
_COMPRESSED_SUFFIXES = (".gz", ".gzip", ".zst", ".bz2")
ENGINES = ("local", "spark")
BUILD_KINDS = ("auto", "s3-access", "cloudtrail")


class LakeError(S3ForensicsError):
    """A lake cannot be built, read or narrowed: the message names the lake, table or object."""


class LakeParameterError(LakeError, ParameterError):
    """A lake call was given a value one of its parameters cannot take (the CLI names the flag)."""


@dataclass(frozen=True)
class ObjectRef:
    """One evidence object to put in the lake: a local file or an S3 object as listed."""

    #: Absolute path, or s3://bucket/key.
    location: str
    size: int = 0
    bucket: str | None = None
    key: str | None = None
    etag: str | None = None
    last_modified: datetime | None = None
    #: Set when the listing knows it (S3); "auto" lets the content decide, as `ingest` does.
    kind: str = "auto"


@dataclass
class Chunk:
    """What parsing a few objects gave: rows per kind, rejects, evidence rows, and what was not loaded."""

    rows: dict[str, pl.DataFrame] = field(default_factory=dict)
    rejects: dict[str, pl.DataFrame] = field(default_factory=dict)
    evidence: pl.DataFrame | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    already_in_lake: int = 0


@dataclass
class LakeBuildResult:
    """What one `lake build` did: objects, rows and rejects per kind, skips and errors."""

    lake: str
    engine: str
    objects: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    already_in_lake: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    planned: int = 0
    plan: Any = None  # the AcquisitionPlan of an S3 build

    def add(self, evidence: pl.DataFrame) -> None:
        """Count a batch of evidence rows."""
        for kind, objects, rows, rejects in evidence.group_by("kind").agg(
            pl.len(), pl.col("records").sum(), pl.col("rejects").sum()
        ).iter_rows():
            self.objects[kind] = self.objects.get(kind, 0) + objects
            self.rows[kind] = self.rows.get(kind, 0) + rows
            self.rejects[kind] = self.rejects.get(kind, 0) + rejects

    @property
    def loaded(self) -> int:
        """Evidence objects this build added to the lake."""
        return sum(self.objects.values())

    def __str__(self) -> str:
        lines = [
            f"{kind:18} {self.objects[kind]:>7,} objects {self.rows[kind]:>10,} rows "
            f"{self.rejects[kind]:>7,} rejects"
            for kind in sorted(self.objects)
        ] or ["no new evidence objects added"]
        if self.duplicates:
            lines.append(f"{'':18} {self.duplicates:,} duplicate CloudTrail events (in the lake: "
                         "cloudtrail_duplicates)")
        if self.already_in_lake:
            lines.append(f"{'':18} {self.already_in_lake:,} objects already in the lake (unchanged)")
        if self.skipped:
            lines.append(f"{'':18} {len(self.skipped):,} files skipped (not logs)")
        lines += [f"error: {e}" for e in self.errors]
        lines.append(f"lake: {self.lake} (engine {self.engine})")
        return "\n".join(lines)


# -- planning ------------------------------------------------------------------------------------


class LakeSourceOptions(TypedDict, total=False):
    """Where a build reads its objects: keyword arguments of `plan_objects` and `build_lake`."""

    paths: Sequence[str | os.PathLike[str]]
    bucket: str | None
    prefix: str
    kind: str
    start: str | datetime | None
    end: str | datetime | None
    lookback: timedelta | None
    endpoint_url: str | None
    profile: str | None
    boto3_session: Any


@dataclass(frozen=True)
class LakeSource:
    """A checked build source: local paths, or an S3 bucket and prefix with a UTC window to list."""

    paths: tuple[str | os.PathLike[str], ...] = ()
    bucket: str | None = None
    prefix: str = ""
    kind: str = "auto"
    window: TimeRange | None = None
    lookback: timedelta | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    boto3_session: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, options: LakeSourceOptions) -> LakeSource:
        """Check the options: a known kind, and either a bucket with a window or local paths."""
        kind = options.get("kind", "auto")
        bucket, paths = options.get("bucket"), tuple(options.get("paths", ()))
        start, end = options.get("start"), options.get("end")
        if kind not in BUILD_KINDS:
            raise LakeParameterError("kind", f"{kind!r} is not one of {', '.join(BUILD_KINDS)}")
        window = None
        if bucket is not None:
            if paths:
                raise LakeParameterError("bucket", "and local paths cannot both be given: build from one")
            if start is None or end is None:
                raise LakeParameterError("bucket", "needs {start} and {end}: the window narrows the "
                                         "listing", mentions=("start", "end"))
            window = TimeRange.parse(start, end)
        elif start is not None or end is not None:
            raise LakeParameterError("start", "and {end} narrow an S3 listing ({bucket}); local paths "
                                     "are read whole", mentions=("end", "bucket"))
        elif not paths:
            raise LakeError("nothing to build from: give a bucket or local paths")
        return cls(paths=paths, bucket=bucket, prefix=options.get("prefix", ""), kind=kind,
                   window=window, lookback=options.get("lookback"),
                   endpoint_url=options.get("endpoint_url"), profile=options.get("profile"),
                   boto3_session=options.get("boto3_session"))


def plan_objects(**options: Unpack[LakeSourceOptions]) -> tuple[list[ObjectRef], Any]:
    """The objects a build reads, in location order, and the S3 listing plan (None for paths)."""
    return _plan(LakeSource.make(options))


def _plan(source: LakeSource) -> tuple[list[ObjectRef], Any]:
    if source.bucket is not None and source.window is not None:
        from ..acquire import plan_acquisition  # boto3: only for S3 builds

        plan = plan_acquisition(bucket=source.bucket, prefix=source.prefix, start=source.window.start,
                                end=source.window.end, kind=source.kind, lookback=source.lookback,
                                endpoint_url=source.endpoint_url, profile=source.profile,
                                boto3_session=source.boto3_session)
        # Digests by name as `acquire` does; every other object is the plan's kind.
        refs = [ObjectRef(f"s3://{source.bucket}/{o.key}", o.size, source.bucket, o.key, o.etag,
                          o.last_modified, o.kind) for o in plan.objects]
        return refs, plan
    from ..case import collect_files

    files = collect_files(source.paths)
    return [ObjectRef(os.fspath(f), f.stat().st_size) for f, _ in files], None


# -- fetching and parsing (runs on the driver or in a Spark task) -----------------------------


def _read_local(path: str) -> bytes:
    """A file's bytes, without updating its access time where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)  # O_NOATIME is for the file's owner only
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


@dataclass
class _Obj:
    ref: ObjectRef
    kind: str
    evidence_id: str
    sha256: str
    size: int
    content: bytes
    meta: dict[str, Any]


def parse_chunk(
    refs: Iterable[ObjectRef],
    *,
    kind: str = "auto",
    known: frozenset[str] | set[str] = frozenset(),
    endpoint_url: str | None = None,
    boto3_session: Any = None,
) -> Chunk:
    """Fetch (read-only), recognise and parse objects with the case's parsers; skip known SHA-256.

    `boto3_session` is for the local engine; Spark tasks make their own from their environment.
    """
    from ..detect import detect_kind
    from ..parse.common import decompress

    chunk = Chunk()
    reader: Any = None
    objs: list[_Obj] = []
    seen = set(known)
    for ref in refs:
        meta: dict[str, Any] = {}
        try:
            if ref.location.startswith("s3://"):
                if reader is None:
                    from ..acquire import ObjectReader  # boto3: only for objects on S3

                    reader = ObjectReader(endpoint_url=endpoint_url, boto3_session=boto3_session)
                data, meta = reader.get(str(ref.bucket), str(ref.key), etag=ref.etag)
            else:
                data = _read_local(ref.location)
        except OSError as exc:
            chunk.errors.append(f"{ref.location}: unreadable file ({exc.strerror or exc})")
            continue
        except S3ForensicsError as exc:  # unreadable on S3: named, the rest of the chunk goes on
            chunk.errors.append(str(exc))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in seen:
            chunk.already_in_lake += 1
            continue
        try:
            content = decompress(data, where=ref.location)
        except InputError as exc:
            chunk.errors.append(str(exc))
            continue
        # The same recognition as `ingest`: by key layout and content; an explicit kind wins
        # except over digests, which are evidence without rows.
        path = ref.key if ref.key is not None else ref.location
        detected, why = detect_kind(path, content)
        wanted = kind if ref.kind == "auto" else ref.kind
        if wanted != "auto" and detected != "cloudtrail-digest":
            detected = wanted  # type: ignore[assignment]
        if detected is None:
            chunk.skipped.append((ref.location, why))
            continue
        seen.add(sha)
        objs.append(_Obj(ref, detected, sha[:16], sha, len(data), content, meta))

    counts: dict[str, tuple[int, int, int]] = {}  # evidence_id -> rows, rejects, duplicates
    loaded: list[_Obj] = []
    for log_kind in ("s3-access", "cloudtrail"):
        batch = [o for o in objs if o.kind == log_kind]
        if not batch:
            continue
        rows, rejects, good = _parse(log_kind, batch, chunk, counts)
        loaded += good
        if rows is not None and rows.height:
            chunk.rows[log_kind] = rows
        if rejects is not None and rejects.height:
            chunk.rejects[log_kind] = rejects
    loaded += [o for o in objs if o.kind == "cloudtrail-digest"]
    chunk.evidence = _evidence(loaded, counts)
    return chunk


def _parse(
    kind: str, batch: list[_Obj], chunk: Chunk, counts: dict[str, tuple[int, int, int]]
) -> tuple[pl.DataFrame | None, pl.DataFrame | None, list[_Obj]]:
    """Parse one kind's objects; an object unparseable as a whole is an error, as in `ingest`."""
    from ..parse.cloudtrail import parse_cloudtrail
    from ..parse.s3_access import parse_access_logs

    rows: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    good: list[_Obj] = []
    dups: dict[str, int] = {}
    # One call per chunk. The CloudTrail parser drops a repeated eventID within its batch and keeps
    # the first: chunks hold objects in location order, so it keeps what a case (which ingests in
    # path order) keeps; repeats across chunks are found afterwards, over the whole lake, by the
    # same rule. Per-object calls would cost a DuckDB start each (measured 90 ms per object).
    try:
        if kind == "s3-access":
            result = parse_access_logs([(o.evidence_id, o.content) for o in batch])
        else:
            result = parse_cloudtrail([(o.evidence_id, o.content) for o in batch])
    except InputError as exc:
        if len(batch) == 1:
            chunk.errors.append(f"{batch[0].ref.location}: {exc.problem}")
            return None, None, []
        for obj in batch:  # isolate the object that fails the batch, as `ingest` does
            r, j, g = _parse(kind, [obj], chunk, counts)
            good += g
            rows += [r] if r is not None else []
            rejects += [j] if j is not None else []
        return (pl.concat(rows, how="vertical_relaxed") if rows else None,
                pl.concat(rejects, how="vertical_relaxed") if rejects else None, good)
    good += batch
    rows.append(result.rows)
    rejects.append(result.rejects)
    dups.update(getattr(result, "duplicates_by_evidence", {}))
    row_frame = pl.concat(rows, how="vertical_relaxed") if rows else None
    rej_frame = pl.concat(rejects, how="vertical_relaxed") if rejects else None
    per_rows = dict(row_frame.group_by("evidence_id").len().iter_rows()) if row_frame is not None else {}
    per_rej = dict(rej_frame.group_by("evidence_id").len().iter_rows()) if rej_frame is not None else {}
    for obj in good:
        counts[obj.evidence_id] = (per_rows.get(obj.evidence_id, 0),
                                   per_rej.get(obj.evidence_id, 0), dups.get(obj.evidence_id, 0))
    for obj in good:
        obj.content = b""  # parsed: free the memory before the write
    return row_frame, rej_frame, good


_EVIDENCE_FROM_LAKE = ("evidence_id", "sha256", "kind", "source", "case_path", "size", "records",
                       "rejects", "duplicates", "loaded_at", "bucket", "key", "version_id", "etag",
                       "last_modified", "acquired_at")


def _evidence(objs: list[_Obj], counts: dict[str, tuple[int, int, int]]) -> pl.DataFrame:
    """One evidence row per object, with the case's evidence columns."""
    now = datetime.now(UTC)
    schema = lake_table_schemas()["evidence"]
    return pl.DataFrame(
        {
            "evidence_id": [o.evidence_id for o in objs],
            "sha256": [o.sha256 for o in objs],
            "kind": [o.kind for o in objs],
            "source": [o.ref.location for o in objs],
            # A lake holds no copy of the object: its location stands where a case names its copy.
            "case_path": [o.ref.location for o in objs],
            "size": [o.size for o in objs],
            "records": [counts.get(o.evidence_id, (0, 0, 0))[0] for o in objs],
            "rejects": [counts.get(o.evidence_id, (0, 0, 0))[1] for o in objs],
            "duplicates": [counts.get(o.evidence_id, (0, 0, 0))[2] for o in objs],
            "loaded_at": [now] * len(objs),
            "bucket": [o.ref.bucket for o in objs],
            "key": [o.ref.key for o in objs],
            "version_id": [o.meta.get("version_id") for o in objs],
            "etag": [o.meta.get("etag", o.ref.etag) for o in objs],
            "last_modified": [o.ref.last_modified for o in objs],
            "acquired_at": [o.meta.get("acquired_at") for o in objs],
        },
        schema={c: t for c, t in schema.items() if c in _EVIDENCE_FROM_LAKE},
    ).with_columns(
        # Columns about a case's stored copy (how it was named, links): a lake holds no copy.
        [pl.lit(None, t).alias(c) for c, t in schema.items() if c not in _EVIDENCE_FROM_LAKE]
    ).select(list(schema))


# -- frames as lake files -------------------------------------------------------------------------


def lake_frame(table: str, frame: pl.DataFrame, *, source: str | None = None) -> pl.DataFrame:
    """A table's frame with the lake's file columns and types plus its partition columns."""
    layout = LAKE_TABLES[table]
    cols = layout.file_columns()
    exprs = [(pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
             for c, t in cols.items()]
    for part in layout.partitions:
        if part == "source":
            exprs.append(pl.lit(source, pl.String).alias("source"))
        elif part == "event_date":
            # The UTC day of the event: event_time is UTC-aware, so .dt.date() is that day.
            exprs.append(pl.col("event_time").dt.date().cast(pl.String).alias("event_date"))
        else:
            exprs.append(pl.col(part).cast(pl.String))
    return frame.select(exprs)


def chunk_frames(chunk: Chunk) -> Iterator[tuple[str, pl.DataFrame]]:
    """(table, frame in lake shape) for everything a chunk produced."""
    for log_kind, rows in chunk.rows.items():
        yield ROWS_TABLE[log_kind], lake_frame(ROWS_TABLE[log_kind], rows, source=log_kind)
    for log_kind, rejects in chunk.rejects.items():
        yield "rejects", lake_frame("rejects", rejects, source=log_kind)
    if chunk.evidence is not None and chunk.evidence.height:
        yield "evidence", lake_frame("evidence", chunk.evidence)


def _write_local(lake: str, table: str, frame: pl.DataFrame, tag: str) -> None:
    import pyarrow.dataset as ds

    layout = LAKE_TABLES[table]
    arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())  # plain strings: every reader
    ds.write_dataset(
        arrow, table_path(lake, table), format="parquet",
        partitioning=list(layout.partitions) or None, partitioning_flavor="hive",
        basename_template=f"part-{tag}-{{i}}.parquet",
        existing_data_behavior="overwrite_or_ignore",
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
    )


# -- duplicates across objects ------------------------------------------------------------------

#: CloudTrail records repeating an earlier record (by object location, then record number): the
#: same eventID and content (schema.CLOUDTRAIL_REPEAT_KEY), as a case drops them. Plain SQL that
#: DuckDB and Spark both run, over `ct` (the rows) and `ev` (the evidence) as views; both put
#: NULLs in one partition, as a repeat's missing fields match.
_REPEAT = ", ".join(CLOUDTRAIL_REPEAT_KEY)
# Named found_in: a lake's row files carry a `source` partition column of their own.
_FIRST = f"OVER (PARTITION BY {_REPEAT} ORDER BY found_in, record_no, evidence_id)"
DUPLICATES_SQL = f"""
WITH twice AS (
    -- Only eventIDs held more than once can repeat: the wide comparison is for those rows.
    SELECT event_id FROM ct WHERE event_id IS NOT NULL GROUP BY event_id HAVING count(*) > 1
),
r AS (
    SELECT {", ".join("c." + c for c in CLOUDTRAIL_REPEAT_KEY)}, c.evidence_id, c.record_no,
           e.source AS found_in
    FROM ct c JOIN ev e ON c.evidence_id = e.evidence_id
    WHERE c.event_id IN (SELECT event_id FROM twice)
),
ranked AS (
    SELECT event_id, evidence_id, record_no,
           row_number() {_FIRST} AS n,
           first_value(evidence_id) {_FIRST} AS kept_evidence_id,
           first_value(record_no) {_FIRST} AS kept_record_no
    FROM r
)
SELECT evidence_id, record_no, event_id, kept_evidence_id, kept_record_no
FROM ranked WHERE n > 1
"""


def _glob(lake: str, table: str) -> str:
    return os.path.join(table_path(lake, table), "**", "*.parquet")


def has_files(lake: str, table: str) -> bool:
    """True when a local lake holds Parquet files for `table`."""
    root = Path(table_path(lake, table))
    return root.is_dir() and any(root.rglob("*.parquet"))


def _duplicates_local(lake: str) -> int:
    import duckdb

    target = Path(table_path(lake, "cloudtrail_duplicates"))
    if not (has_files(lake, "cloudtrail_events") and has_files(lake, "evidence")):
        return 0
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"CREATE VIEW ct AS SELECT * FROM read_parquet({sql_text(_glob(lake, 'cloudtrail_events'))}, "
                    "hive_partitioning = true)")
        con.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet({sql_text(_glob(lake, 'evidence'))}, "
                    "hive_partitioning = true)")
        tmp = target.with_name(target.name + ".new")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        cols = ", ".join(f"CAST({c} AS {t})" + f" AS {c}" for c, t in
                         (("evidence_id", "VARCHAR"), ("record_no", "BIGINT"), ("event_id", "VARCHAR"),
                          ("kept_evidence_id", "VARCHAR"), ("kept_record_no", "BIGINT")))
        con.execute(f"COPY (SELECT {cols} FROM ({DUPLICATES_SQL}) ORDER BY ALL) "
                    f"TO {sql_text(str(tmp / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)")
        n = con.execute(f"SELECT count(*) FROM read_parquet({sql_text(str(tmp / 'part-0.parquet'))})").fetchall()[0]
    finally:
        con.close()
    # Replaced whole: the set of duplicates is a property of the whole lake, not of one build.
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return int(n[0]) if n else 0



def known_hashes(lake: str) -> set[str]:
    """SHA-256 of every object a local lake already holds (a build adds only new objects)."""
    if is_remote(lake) or not has_files(lake, "evidence"):
        return set()
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        return {r[0] for r in con.execute(
            f"SELECT sha256 FROM read_parquet({sql_text(_glob(lake, 'evidence'))}, hive_partitioning = true)"
        ).fetchall()}
    finally:
        con.close()


def prepare_lake(lake: str) -> None:
    """Create a local lake folder (or check an existing one) and write its marker."""
    if is_remote(lake):
        return
    root = Path(lake)
    if root.exists() and not root.is_dir():
        raise LakeError(f"{lake}: exists and is not a folder")
    if root.is_dir():
        stray = sorted(e.name for e in root.iterdir()
                       if e.name not in LAKE_TABLES and e.name != MARKER)
        if stray:
            raise LakeError(f"{lake}: folder is not empty and is not a lake (found "
                            f"{', '.join(stray[:3])}); choose a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    marker = root / MARKER
    if not marker.exists():
        marker.write_text(json.dumps({"layout": LAYOUT_VERSION,
                                      "tables": {t: list(lay.partitions) for t, lay in LAKE_TABLES.items()},
                                      "created_by": f"s3forensics {__version__}"}, indent=2) + "\n")


def text_weight(ref: ObjectRef) -> int:
    """About how many bytes of text an object holds: what parsing and writing it cost."""
    name = (ref.key or ref.location).lower()
    return ref.size * (COMPRESSED_WEIGHT if name.endswith(_COMPRESSED_SUFFIXES) else 1)


def _chunks(refs: Sequence[ObjectRef]) -> Iterator[list[ObjectRef]]:
    batch: list[ObjectRef] = []
    size = 0
    for ref in refs:
        batch.append(ref)
        size += text_weight(ref)
        if size >= CHUNK_BYTES or len(batch) >= CHUNK_OBJECTS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def build_lake(
    lake: str | os.PathLike[str],
    *,
    engine: str = "local",
    spark: Any = None,
    partitions: int | None = None,
    progress: Callable[[int], None] | None = None,
    **options: Unpack[LakeSourceOptions],
) -> LakeBuildResult:
    """Add log objects (local paths, or an S3 bucket's objects for a window) to a Parquet case lake."""
    lake = os.fspath(lake)
    if engine not in ENGINES:
        raise LakeParameterError("engine", f"{engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "local" and is_remote(lake):
        raise LakeParameterError("lake", f"{lake}: the local engine writes local folders; use "
                                 "{engine} spark for a lake on object storage", mentions=("engine",))
    source = LakeSource.make(options)
    refs, plan = _plan(source)
    prepare_lake(lake)
    result = LakeBuildResult(lake=lake, engine=engine, planned=len(refs), plan=plan)
    known = known_hashes(lake)
    if engine == "spark":
        from .spark import build_lake_spark

        build_lake_spark(lake, refs, kind=source.kind, known=known,
                         endpoint_url=source.endpoint_url, result=result, spark=spark,
                         partitions=partitions)
        return result
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    for n, batch in enumerate(_chunks(refs)):
        chunk = parse_chunk(batch, kind=source.kind, known=known, endpoint_url=source.endpoint_url,
                            boto3_session=source.boto3_session)
        for table, frame in chunk_frames(chunk):
            _write_local(lake, table, frame, f"{tag}-{n:05d}")
        if chunk.evidence is not None:
            result.add(chunk.evidence)
            known.update(chunk.evidence["sha256"].to_list())
        result.skipped += chunk.skipped
        result.errors += chunk.errors
        result.already_in_lake += chunk.already_in_lake
        if progress is not None:
            progress(len(batch))
    result.duplicates = _duplicates_local(lake)
    return result
