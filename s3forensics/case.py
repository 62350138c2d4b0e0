"""A case: a folder holding evidence copies and a DuckDB database; what notebooks and the CLI call."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from tqdm import tqdm  # plain bars: no widget warnings inside notebooks

from . import store
from .detect import detect_kind
from .errors import CaseError, InputError
from .parse.cloudtrail import parse_cloudtrail
from .parse.common import ParseResult, decompress
from .parse.s3_access import parse_access_logs
from .views import install_views

__all__ = ["Case", "IngestSummary", "collect_files"]

DB_NAME = "case.duckdb"
# Case folders may hold these besides the database; anything else means "not a case folder".
_CASE_ENTRIES = {DB_NAME, DB_NAME + ".wal", "evidence", "context", "manifest.jsonl", "reports",
                 "findings"}
# Decompressed bytes per parse batch: big enough to amortise per-object cost, small enough that
# peak memory stays bounded whatever the input size.
BATCH_BYTES = 48 * 1024 * 1024
BATCH_OBJECTS = 4000
# Rows per load transaction. DuckDB writes the full row groups (122,880 rows) of a transaction
# straight into the database file; smaller commits go through the WAL and a later checkpoint,
# measured at 2.2x the cost. Parsed batches are inserted as they come, into a transaction that
# commits once it holds two row groups, so nothing waits in memory to fill one.
LOAD_ROWS = 2 * 122_880
# ... or once it holds this much parsed data: uncommitted rows stay in memory until the commit
# (CloudTrail rows, with the whole record as text, are ~2.8 KB each).
LOAD_BYTES = 256 * 1024 * 1024


@dataclass
class IngestSummary:
    """What one ingest did: per-kind counts, skipped files, errors, and the event-time span."""

    objects: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    already_loaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first_event: datetime | None = None
    last_event: datetime | None = None
    evidence_ids: list[str] = field(default_factory=list)
    #: (file, what it is) of validation inputs kept under context/ (public keys, digest metadata)
    context: list[tuple[str, str]] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        """Number of evidence objects this ingest added."""
        return sum(self.objects.values())

    def _add(self, kind: str, objects: int, rows: int, rejects: int) -> None:
        self.objects[kind] = self.objects.get(kind, 0) + objects
        self.rows[kind] = self.rows.get(kind, 0) + rows
        self.rejects[kind] = self.rejects.get(kind, 0) + rejects

    def __str__(self) -> str:
        lines = []
        for kind in sorted(self.objects):
            lines.append(
                f"{kind:18} {self.objects[kind]:>7,} objects {self.rows[kind]:>10,} rows "
                f"{self.rejects[kind]:>7,} rejects"
            )
        if not lines:
            lines.append("no new evidence objects loaded")
        if self.duplicates:
            lines.append(f"{'':18} {self.duplicates:,} duplicate CloudTrail events skipped")
        if self.already_loaded:
            lines.append(f"{'':18} {self.already_loaded:,} objects already in the case (unchanged)")
        if self.context:
            lines.append(f"{'':18} {len(self.context):,} files kept as context for verify-trail "
                         "(CloudTrail public keys, digest signatures)")
        if self.skipped:
            lines.append(f"{'':18} {len(self.skipped):,} files skipped (not logs)")
        if self.first_event and self.last_event:
            lines.append(
                f"event time span    {self.first_event:%Y-%m-%d %H:%M:%S}Z .. "
                f"{self.last_event:%Y-%m-%d %H:%M:%S}Z"
            )
        for err in self.errors:
            lines.append(f"error: {err}")
        return "\n".join(lines)


@dataclass
class _Item:
    path: Path
    apath: str
    data: bytes
    content: bytes
    sha256: str
    dest: str
    source: Mapping[str, Any]
    size: int = 0
    other_dest: str = ""  # where the copy goes if another object already has `dest`
    copy: Future[bool] | None = None  # the evidence copy being written; True if this run made it

    @property
    def evidence_id(self) -> str:
        return self.sha256[:16]


def collect_files(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, Path]]:
    """Expand files and folders into (file, folder it was found under), sorted, hidden files skipped."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        # Absolute from the start: resolving each of thousands of files later costs a getcwd each.
        p = Path(os.path.abspath(raw))
        if p.is_file():
            found.append((p, p.parent))
        elif p.is_dir():
            files = sorted(
                f for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
            if not files:
                raise InputError(os.fspath(raw), "empty folder: no files to ingest")
            found.extend((f, p) for f in files)
        else:
            raise InputError(os.fspath(raw), "no such file or folder")
    return found


class Case:
    """A case folder: `case.duckdb` plus `evidence/` copies of every object loaded."""

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.root = root
        self.con = con

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True,
             read_only: bool = False) -> Case:
        """Open the case at `path`, creating the folder and database when `create` is true."""
        root = Path(path)
        db = root / DB_NAME
        if not db.exists():
            if not create or read_only:
                raise CaseError(f"{root}: not a case folder (no {DB_NAME}); ingest something first")
            if root.exists() and not root.is_dir():
                raise CaseError(f"{root}: exists and is not a folder")
            stray = sorted(e.name for e in root.iterdir() if e.name not in _CASE_ENTRIES) \
                if root.exists() else []
            if stray:
                raise CaseError(
                    f"{root}: folder is not empty and holds no {DB_NAME} (found {', '.join(stray[:3])}); "
                    "choose a new or empty folder for the case"
                )
            root.mkdir(parents=True, exist_ok=True)
        con = store.connect(db, read_only=read_only)
        if not read_only:
            store.ensure_schema(con)
            install_views(con)
        return cls(root, con)

    @property
    def evidence_dir(self) -> Path:
        """Folder holding the byte-for-byte copies of every evidence object."""
        return self.root / "evidence"

    def close(self) -> None:
        """Close the database connection."""
        self.con.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sql(self, query: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Run SQL against the case with `$name` parameters bound by DuckDB; return a polars frame."""
        return store.fetch_frame(self.con, query, params)

    def tables(self) -> dict[str, int]:
        """Row count of each case table."""
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in store.TABLE_SCHEMAS}

    # -- ingest ---------------------------------------------------------------------------------

    def _destination(self, path: str, root: str, sha: str, source: Mapping[str, Any],
                     evidence_root: str) -> str:
        """Absolute path for the object's copy in the case (string paths: this runs per file)."""
        if path.startswith(evidence_root + os.sep):
            return path  # already held (acquired straight into the case)
        if source.get("bucket") and source.get("key"):
            dest = os.path.join(evidence_root, source["bucket"], source["key"])
        else:
            rel = path[len(root) + 1:] if path.startswith(root + os.sep) else os.path.basename(path)
            dest = os.path.join(evidence_root, "local", os.path.basename(root) or "root", rel)
        return dest

    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        kind: str = "auto",
        sources: Mapping[str | os.PathLike[str], Mapping[str, Any]] | None = None,
        progress: bool = True,
    ) -> IngestSummary:
        """Copy, parse and load log objects from files and folders; safe to repeat."""
        if kind not in ("auto", "s3-access", "cloudtrail"):
            raise InputError("--kind", f"unknown kind {kind!r}: use s3-access, cloudtrail or auto")
        files = collect_files(paths)
        src = {os.path.abspath(k): v for k, v in (sources or {}).items()}
        evidence_root = os.path.abspath(self.evidence_dir)
        roots = {root: os.path.abspath(root) for root in {r for _, r in files}}
        summary = IngestSummary()
        known = store.known_hashes(self.con)
        pending: dict[str, list[_Item]] = {"s3-access": [], "cloudtrail": [], "cloudtrail-digest": []}
        pending_bytes = dict.fromkeys(pending, 0)
        loader = _Loader(self, summary)
        # Loads run beside parsing: each gets half the cores (see the CloudTrail parser).
        threads = self.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        self.con.execute(f"SET threads = {max(1, (os.cpu_count() or 2) // 2)}")
        # Creating thousands of small files is slow on some file systems (measured 0.5 ms of
        # kernel time each), so copies are written by their own threads, off the parse path.
        copier = ThreadPoolExecutor(max_workers=2, thread_name_prefix="s3forensics-copy")
        bar = tqdm(total=len(files), unit="obj", desc="ingest",
                   disable=not progress or len(files) < 50, leave=False)
        try:
            for path, root in files:
                bar.update(1)
                apath = os.path.abspath(path)
                try:
                    data = _read_evidence(apath)
                except OSError as exc:
                    summary.errors.append(f"{path}: unreadable file ({exc.strerror or exc})")
                    continue
                sha = hashlib.sha256(data).hexdigest()
                if sha in known:
                    summary.already_loaded += 1
                    continue
                try:
                    content = decompress(data, where=str(path))
                except InputError as exc:
                    summary.errors.append(str(exc))
                    continue
                detected, why = detect_kind(apath, content)
                if kind != "auto" and detected != "cloudtrail-digest":
                    detected = kind  # type: ignore[assignment]
                if detected is None:
                    # Public keys and digest signatures are kept for verify-trail (imported here:
                    # only folders holding more than logs pay for the crypto imports).
                    from .integrity.context import keep_context

                    kept = keep_context(self.root, apath, data, content)
                    if kept is not None:
                        summary.context.append((str(path), kept.detail))
                        continue
                    summary.skipped.append((str(path), why))
                    continue
                source = src.get(apath, {})
                dest = self._destination(apath, roots[root], sha, source, evidence_root)
                known.add(sha)
                item = _Item(path, apath, data, content, sha, dest, source, len(data),
                             os.path.join(evidence_root, "local", sha[:16], os.path.basename(path)))
                if dest != apath:
                    # Copied before parsing; the load waits for it before it commits.
                    item.copy = copier.submit(_store_copy, item)
                pending[detected].append(item)
                pending_bytes[detected] += len(content)
                if pending_bytes[detected] >= BATCH_BYTES or len(pending[detected]) >= BATCH_OBJECTS:
                    self._flush(detected, pending[detected], summary, loader)
                    pending[detected], pending_bytes[detected] = [], 0
            bar.close()
            for k, items in pending.items():
                if items:
                    self._flush(k, items, summary, loader)
            loader.finish()
        except BaseException:
            # The open transaction rolls back: no object of it is half loaded.
            loader.abort()
            copier.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            copier.shutdown(wait=True)
            self.con.execute(f"SET threads = {int(threads)}")
        if summary.evidence_ids:
            span = self.con.execute(
                "SELECT min(t), max(t) FROM ("
                " SELECT event_time t FROM s3_access_logs WHERE evidence_id IN (SELECT unnest($ids))"
                " UNION ALL"
                " SELECT event_time FROM cloudtrail_events WHERE evidence_id IN (SELECT unnest($ids)))",
                {"ids": summary.evidence_ids},
            ).fetchall()[0]
            if span:
                summary.first_event, summary.last_event = span
        return summary

    def _parse(self, kind: str, items: list[_Item],
               summary: IngestSummary) -> tuple[list[_Item], ParseResult | None, dict[str, int]]:
        """Parse a batch in one pass; if one object is unparseable as a whole, isolate it."""
        if kind == "cloudtrail-digest":
            return items, None, {}
        parser = parse_access_logs if kind == "s3-access" else parse_cloudtrail
        try:
            result = parser([(i.evidence_id, i.content) for i in items])
            return items, result, dict(getattr(result, "duplicates_by_evidence", {}))
        except InputError:
            good: list[_Item] = []
            results: list[ParseResult] = []
            for item in items:
                try:
                    results.append(parser([(item.evidence_id, item.content)]))
                    good.append(item)
                except InputError as exc:
                    summary.errors.append(f"{item.path}: {exc.problem}")
                    _discard_copy(item)
            if not good:
                return [], None, {}
            # Parsed one by one, so duplicates across these objects are left to the store.
            dups = {k: v for r in results for k, v in getattr(r, "duplicates_by_evidence", {}).items()}
            return good, ParseResult(
                rows=pl.concat([r.rows for r in results]),
                rejects=pl.concat([r.rejects for r in results]),
                duplicates=sum(r.duplicates for r in results),
            ), dups

    def _flush(self, kind: str, items: list[_Item], summary: IngestSummary,
               loader: _Loader) -> None:
        """Parse a batch here, then hand it to the loader so the next batch parses while it loads."""
        items, result, parse_dups = self._parse(kind, items, summary)
        if not items:
            return
        for item in items:
            item.content = b""  # parsed: free the memory before the load
        loader.submit(kind, items, result, parse_dups)

    def _insert(self, kind: str, items: list[_Item], result: ParseResult | None,
                parse_dups: dict[str, int]) -> pl.DataFrame:
        """Insert a batch's rows and evidence rows (inside the loader's transaction)."""
        # The evidence rows name where each copy went, so the batch's copies finish first. An
        # interrupted ingest leaves at worst a copy with no evidence row, which the next ingest of
        # the same object reuses; a copy that failed fails the batch before anything loads.
        for item in items:
            if item.copy is not None:
                item.copy.result()
        now = datetime.now(UTC)
        case_root = os.path.abspath(self.root)
        evidence = pl.DataFrame(
            {
                "evidence_id": [i.evidence_id for i in items],
                "sha256": [i.sha256 for i in items],
                "kind": [kind] * len(items),
                "source": [i.source.get("source") or i.apath for i in items],
                "case_path": [Path(os.path.relpath(i.dest, case_root)).as_posix() for i in items],
                "size": [i.size for i in items],
                "loaded_at": [now] * len(items),
                "bucket": [i.source.get("bucket") for i in items],
                "key": [i.source.get("key") for i in items],
                "version_id": [i.source.get("version_id") for i in items],
                "etag": [i.source.get("etag") for i in items],
                "last_modified": [i.source.get("last_modified") for i in items],
                "acquired_at": [i.source.get("acquired_at") for i in items],
                # Records dropped by the parser as repeats of an earlier record of this batch.
                "duplicates": [parse_dups.get(i.evidence_id, 0) for i in items],
            },
            schema_overrides={"loaded_at": pl.Datetime("us", "UTC"),
                              "last_modified": pl.Datetime("us", "UTC"),
                              "acquired_at": pl.Datetime("us", "UTC")},
        )
        return store.insert_batch(
            self.con,
            evidence=evidence,
            access_rows=result.rows if result is not None and kind == "s3-access" else None,
            cloudtrail_rows=result.rows if result is not None and kind == "cloudtrail" else None,
            rejects=result.rejects if result is not None else None,
        )


class _Loader:
    """Loads parsed batches on one background thread while the next batch is read and parsed.

    Batches go into one open transaction that commits every LOAD_ROWS rows (or LOAD_BYTES) and
    at the end; the summary counts only what committed. At most one batch is in flight, so
    memory stays bounded; a failed insert rolls the transaction back and is raised on the next
    submit or finish.
    """

    def __init__(self, case: Case, summary: IngestSummary) -> None:
        self._case = case
        self._summary = summary
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3forensics-load")
        self._pending: Future[None] | None = None
        self._open: list[tuple[str, pl.DataFrame]] = []  # evidence rows stored, not yet committed
        self._rows = self._bytes = 0
        self._in_transaction = False

    def submit(self, kind: str, items: list[_Item], result: ParseResult | None,
               parse_dups: dict[str, int]) -> None:
        """Queue a parsed batch for loading (waits for the one before it)."""
        self._wait()
        self._pending = self._pool.submit(self._load, kind, items, result, parse_dups)

    def finish(self) -> None:
        """Load what is queued and commit."""
        self._wait()
        self._commit()  # the load thread is idle now
        self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Let the batch in flight end, then roll back whatever is not committed."""
        while self._pending is not None:
            try:
                self._wait()
            except BaseException:
                pass
        self._rollback()
        self._pool.shutdown(wait=True)

    def _wait(self) -> None:
        if self._pending is not None:
            try:
                self._pending.result()
            finally:
                # Interrupted while waiting, the load still runs: abort must wait for it again.
                if self._pending.done():
                    self._pending = None

    def _load(self, kind: str, items: list[_Item], result: ParseResult | None,
              parse_dups: dict[str, int]) -> None:
        con = self._case.con
        if not self._in_transaction:
            con.execute("BEGIN TRANSACTION")
            self._in_transaction = True
        try:
            stored = self._case._insert(kind, items, result, parse_dups)
        except BaseException:
            self._rollback()
            raise
        self._open.append((kind, stored))
        if result is not None:
            self._rows += result.rows.height
            self._bytes += int(result.rows.estimated_size())
        if self._rows >= LOAD_ROWS or self._bytes >= LOAD_BYTES:
            self._commit()

    def _commit(self) -> None:
        if self._in_transaction:
            try:
                self._case.con.execute("COMMIT")
            except BaseException:
                self._rollback()  # whatever state the failed commit left, none of it stays
                raise
            self._in_transaction = False
        for kind, stored in self._open:
            self._summary._add(kind, stored.height, int(stored["records"].sum()),
                               int(stored["rejects"].sum()))
            self._summary.duplicates += int(stored["duplicates"].sum())
            self._summary.evidence_ids.extend(stored["evidence_id"].to_list())
        self._open, self._rows, self._bytes = [], 0, 0

    def _rollback(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            try:
                self._case.con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the transaction ended with the error being reported; keep that error
        self._open, self._rows, self._bytes = [], 0, 0


def _store_copy(item: _Item) -> bool:
    """Write the evidence copy byte for byte (via a temporary name, so no partial file is final)."""
    data, item.data = item.data, b""  # the copy is the last use of the original bytes
    if os.path.exists(item.dest):
        if _sha256_file(Path(item.dest)) == item.sha256:
            return False  # copied by an earlier, interrupted ingest
        # Same name, different bytes: keep both, never overwrite evidence. (Checked here, on the
        # copy thread: a look-up in a folder where copies are being created waits for them.)
        item.dest = item.other_dest
        if os.path.exists(item.dest):
            return False
    os.makedirs(os.path.dirname(item.dest), exist_ok=True)
    tmp = item.dest + ".partial"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, item.dest)
    return True


def _discard_copy(item: _Item) -> None:
    """Remove the copy this run made of an object that turned out unloadable."""
    if item.copy is not None and item.copy.result():
        os.remove(item.dest)


def _read_evidence(path: str) -> bytes:
    """A file's bytes, read without updating its access time where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)  # O_NOATIME is for the file's owner only
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
