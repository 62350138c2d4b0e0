"""The ingest pipeline: walk, copy, hash, parse and load log objects into a case.

Reading, parsing and loading overlap: files are read, hashed and decompressed ahead on a thread
of their own, parsed batches stream into one open DuckDB transaction that commits whole row
groups on another, the parsed objects' exact bytes are appended to this ingest's evidence pack (one
tar file, see evidence_files) on a thread of its own, and each object ends as rows plus rejects
(or as identical to an object already held). `Case.ingest` fronts it.

Why a pack (issue 15; 300,000 lines in 3,000 objects on a shared 2-core VM): one file per object
(a temporary file linked to its name) took 0.5-0.9 s in two runs, appending the same bytes to one
file 0.5-0.6 s; the issue measured 0.5 ms of kernel time per file created on another disk. One
file also holds thousands of objects, is synced once per commit, and is a standard tar.
"""


from __future__ import annotations

import errno
import hashlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl
from tqdm import tqdm  # plain bars: no widget warnings inside notebooks

from . import store
from .detect import detect_kind
from .errors import InputError
from .evidence_files import (
    Destinations,
    Pack,
    display_name,
    escape_name,
    file_destinations,
    object_destinations,
)
from .parse.common import MAX_OBJECT_BYTES, ParseResult, decompress, too_large
from .parse.s3_access import parse_access_logs

if TYPE_CHECKING:
    from .case import Case

__all__ = ["IngestSummary", "collect_files", "ingest_objects"]

# Decompressed bytes per parse batch: big enough to amortise per-object cost, small enough that
# peak memory stays bounded whatever the input size. Measured on 2 cores with LOAD_AHEAD_BYTES
# queued: 1M access log lines 9.3 s at 24 MiB against 9.7 s at 48 MiB; 1M CloudTrail records
# 30.4 s and 1.33-1.37 GiB peak at 24 MiB, 26-29 s but 1.48-1.55 GiB at 48 MiB (over budget).
BATCH_BYTES = 24 * 1024 * 1024
BATCH_OBJECTS = 4000
# Rows per load transaction. DuckDB writes the full row groups (122,880 rows) of a transaction
# straight into the database file; smaller commits go through the WAL and a later checkpoint,
# measured at 2.2x the cost. Parsed batches are inserted as they come, into a transaction that
# commits once it holds two row groups, so nothing waits in memory to fill one.
ROW_GROUP = 122_880  # DuckDB's rows per row group
LOAD_ROWS = 2 * ROW_GROUP
# ... or once it holds this much parsed data: uncommitted rows stay in memory until the commit
# (CloudTrail rows, with the whole record as text, are ~2.8 KB each).
LOAD_BYTES = 256 * 1024 * 1024
#: What may be queued for the loader (the batch it is loading included, always at least one):
#: parsed rows and rejects (estimated in memory) and object bytes not yet in the pack. Commits
#: pause the loader for seconds while DuckDB compresses; with room for a few batches parsing
#: goes on meanwhile (measured on 2 cores in alternating runs: 1M CloudTrail records 39-40 s
#: with one batch at a time, 30-31 s with this; 1M access log lines 10.4-11.7 s, 8.8-9.7 s).
LOAD_AHEAD_BYTES = 256 * 1024 * 1024


@dataclass
class IngestSummary:
    """What one ingest did: per-kind counts, skipped files, errors, and the event-time span."""

    objects: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    already_loaded: int = 0
    #: objects whose bytes the case already held under another name: recorded, not loaded again
    identical: int = 0
    #: objects whose path came through a symbolic link (followed; the target is recorded)
    links: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first_event: datetime | None = None
    last_event: datetime | None = None
    evidence_ids: list[str] = field(default_factory=list)
    #: (file, what it is) of validation inputs kept under context/ (public keys, digest metadata)
    context: list[tuple[str, str]] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        """Number of evidence objects this ingest added (identical copies included)."""
        return sum(self.objects.values()) + self.identical

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
        if not lines and not self.identical:
            lines.append("no new evidence objects loaded")
        if self.identical:
            lines.append(
                f"{'':18} {self.identical:,} objects identical to another object (recorded "
                "under their own names; bytes stored and rows loaded once)")
        if self.duplicates:
            lines.append(f"{'':18} {self.duplicates:,} duplicate CloudTrail events skipped")
        if self.already_loaded:
            lines.append(f"{'':18} {self.already_loaded:,} objects already in the case (unchanged)")
        if self.links:
            lines.append(f"{'':18} {self.links:,} objects reached through symbolic links "
                         "(followed; where each pointed is in evidence.link_target)")
        if self.context:
            lines.append(f"{'':18} {len(self.context):,} files kept as context for verify-trail "
                         "(CloudTrail public keys, digest signatures)")
        if self.skipped:
            lines.append(f"{'':18} {len(self.skipped):,} files skipped (not logs, or links "
                         "not followed)")
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
    dest: str  # where the copy is (set by the copy when it is written)
    source: Mapping[str, Any]
    size: int = 0
    #: names the copy may take, in order, then the encoded name (see evidence_files); None for
    #: an object the case holds already. Worked out by the thread that appends the copy.
    destinations: Callable[[], Destinations] | None = None
    stored_as: str = "name"
    copy: Future[None] | None = None  # the object's bytes being appended to the pack
    #: an object with the bytes of an earlier one: its own id, and whose copy and rows it shares
    own_id: str = ""
    identical_to: str | None = None
    holder: _Item | None = None  # the earlier object, when it is loaded by this same ingest
    dropped: bool = False  # could not be loaded after all (its copy was removed)
    kind_of: str = ""  # the kind it was recognised as
    link_target: str | None = None  # the real path, when the path came through a symbolic link

    @property
    def evidence_id(self) -> str:
        # The first object with some bytes is known by them (rows point at it); a later object
        # with the same bytes gets an id of its own, from its bytes and its name.
        return self.own_id or self.sha256[:16]


def collect_files(paths: Iterable[str | os.PathLike[str]], *,
                  follow_links: bool = True) -> list[tuple[Path, Path]]:
    """Expand files and folders into (file, folder it was found under), sorted, hidden files skipped."""
    return [(path, root) for path, root, _ in _walk(paths, follow_links=follow_links)[0]]


def _walk(
    paths: Iterable[str | os.PathLike[str]], *, follow_links: bool
) -> tuple[list[tuple[Path, Path, str | None]], list[tuple[str, str]]]:
    """Files under `paths` as (file, folder given, where a symbolic link led or None), and skips.

    A path reached through a symbolic link at or below what was given (a linked file, or a file
    in a linked folder) carries the real path it led to. With `follow_links` false, links found
    inside folders are skipped and named; a path given explicitly is always followed. Hidden
    entries are skipped; unreadable folders and link loops are named, never skipped silently.
    """
    found: list[tuple[Path, Path, str | None]] = []
    skipped: list[tuple[str, str]] = []

    def visit(root: Path, folder: str, real: str, linked: bool, chain: tuple[str, ...]) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            skipped.append((display_name(folder), f"unreadable folder ({exc.strerror or exc})"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            is_link = entry.is_symlink()
            if is_link and not follow_links:
                target = display_name(os.readlink(entry.path))
                skipped.append((display_name(entry.path),
                                f"symbolic link to {target}, not followed (--no-follow-links)"))
                continue
            # Real paths are resolved only below a link: a plain tree costs no extra system call.
            entry_real = os.path.realpath(entry.path) if is_link else os.path.join(real, entry.name)
            through = linked or is_link
            if entry.is_dir():
                if is_link and entry_real in chain:
                    skipped.append((display_name(entry.path),
                                    f"symbolic link to {display_name(entry_real)}, a folder "
                                    "above it (a loop)"))
                    continue
                visit(root, entry.path, entry_real, through, (*chain, entry_real))
            elif entry.is_file():
                found.append((Path(entry.path), root, entry_real if through else None))
            else:  # a FIFO would block the read; say why it is not evidence
                skipped.append((display_name(entry.path),
                                f"broken symbolic link to {display_name(os.readlink(entry.path))}"
                                if is_link else "not a regular file"))

    for raw in paths:
        # Absolute from the start: resolving each of thousands of files later costs a getcwd each.
        p = Path(os.path.abspath(raw))
        given_link = os.path.islink(p)
        if p.is_file():
            found.append((p, p.parent, os.path.realpath(p) if given_link else None))
        elif p.is_dir():
            before = len(found), len(skipped)
            real = os.path.realpath(p)
            visit(p, os.fspath(p), real, given_link, (real,))
            if (len(found), len(skipped)) == before:
                raise InputError(os.fspath(raw), "empty folder: no files to ingest")
        else:
            raise InputError(os.fspath(raw), "no such file or folder")
    return found, skipped




def ingest_objects(case: Case, objects: list[tuple[Path, Path, Mapping[str, Any], str | None]], *,
                   kind: str, progress: bool) -> IngestSummary:
    """Ingest (file, folder it was found under, where it came from, link target) in order."""
    return _Pipeline(case)._ingest_objects(objects, kind=kind, progress=progress)


class _Pipeline:
    """One ingest into one case: what it holds already, and the loads in flight."""

    pack: Pack  # where this ingest keeps the bytes of the objects it loads
    copier: ThreadPoolExecutor  # the thread appending to the pack

    def __init__(self, case: Case) -> None:
        self.case = case
        self.event_ids: store.EventIds | None = None  # read at the first CloudTrail batch

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.case.con

    @property
    def root(self) -> Path:
        return self.case.root

    @property
    def evidence_dir(self) -> Path:
        return self.case.evidence_dir

    def _check_writable(self) -> None:
        self.case._check_writable()

    def _ingest_objects(
        self, objects: list[tuple[Path, Path, Mapping[str, Any], str | None]], *, kind: str,
        progress: bool,
    ) -> IngestSummary:
        """Ingest (file, folder it was found under, where it came from, link target) in order.

        Objects are recorded one each, by name: one whose bytes the case already holds under
        another name is recorded as identical to that object and shares its copy and its rows.
        """
        self._check_writable()
        files = objects
        evidence_root = os.path.abspath(self.evidence_dir)
        roots = {root: os.path.abspath(root) for root in {r for _, r, _, _ in files}}
        summary = IngestSummary()
        seen = store.known_objects(self.con)  # (sha256, source, version) of every record
        held: dict[str, _Item | tuple[str, str, str]] = dict(store.held_bytes(self.con))
        pending: dict[str, list[_Item]] = {"s3-access": [], "cloudtrail": [], "cloudtrail-digest": []}
        pending_bytes = dict.fromkeys(pending, 0)
        # Appended in order by one thread; synced before each commit (see _Loader._commit).
        self.pack = Pack(evidence_root)
        loader = _Loader(self, summary)
        # Loads run beside parsing: each gets half the cores (see the CloudTrail parser).
        threads = self.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        self.con.execute(f"SET threads = {max(1, (os.cpu_count() or 2) // 2)}")
        # Objects are appended to the pack once parsed (an unparseable one is never kept), on a
        # thread of its own so the next batch parses meanwhile.
        copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3forensics-pack")
        self.copier = copier
        bar = tqdm(total=len(files), unit="obj", desc="ingest",
                   disable=not progress or len(files) < 50, leave=False)
        reader = _Reader(files, skip=lambda identity, sha: identity in seen or sha in held)
        try:
            for ready in reader:
                path, root, source, link_target = ready.entry
                bar.update(1)
                apath, data, sha, identity = ready.apath, ready.data, ready.sha, ready.identity
                if isinstance(ready.error, OSError):
                    exc = ready.error
                    summary.errors.append(
                        f"{display_name(str(path))}: unreadable file ({exc.strerror or exc})")
                    continue
                if identity in seen:
                    summary.already_loaded += 1
                    continue
                earlier = held.get(sha)
                if earlier is not None:
                    twin = self._identical(path, apath, source, sha, len(data), earlier, identity)
                    twin.link_target = link_target
                    seen.add(identity)
                    batch = pending[twin.kind_of]
                    batch.append(twin)
                    if len(batch) >= BATCH_OBJECTS:
                        self._flush(twin.kind_of, batch, summary, loader)
                        pending[twin.kind_of], pending_bytes[twin.kind_of] = [], 0
                    continue
                try:
                    content = ready.decompressed()
                except InputError as exc:
                    summary.errors.append(str(exc))
                    continue
                # By the object's own name: an encoded copy's name says nothing.
                detected, why = detect_kind(str(source.get("key") or apath), content)
                if kind != "auto" and detected != "cloudtrail-digest":
                    detected = kind  # type: ignore[assignment]
                if detected is None:
                    # Public keys and digest signatures are kept for verify-trail (imported here:
                    # only folders holding more than logs pay for the crypto imports).
                    from .integrity.context import keep_context

                    kept = keep_context(self.root, apath, data, content)
                    if kept is not None:
                        summary.context.append((display_name(str(path)), kept.detail))
                        continue
                    summary.skipped.append((display_name(str(path)), why))
                    continue
                seen.add(identity)
                item = _Item(path, apath, data, content, sha, apath, source, len(data))
                item.kind_of, item.link_target = detected, link_target
                held[sha] = item
                if apath.startswith(evidence_root + os.sep):
                    # Already held (acquired straight into the case): the acquisition chose the name.
                    item.stored_as = str(source.get("stored_as") or "name")
                else:
                    item.destinations = (
                        partial(object_destinations, evidence_root, sha,
                                bucket=str(source["bucket"]), key=str(source["key"]),
                                version_id=source.get("version_id"))
                        if source.get("bucket") and source.get("key") else
                        partial(file_destinations, evidence_root, sha, path=apath,
                                root=roots[root]))
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
            reader.close()
            # The open transaction rolls back: no object of it is half loaded.
            loader.abort()
            copier.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            reader.close()
            copier.shutdown(wait=True)
            self.pack.close()
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


    def _identical(self, path: Path, apath: str, source: Mapping[str, Any], sha: str, size: int,
                   earlier: _Item | tuple[str, str, str], identity: tuple[str, str, str]) -> _Item:
        """The record of an object whose bytes the case holds for `earlier`: no copy, no parse."""
        twin = _Item(path, apath, b"", b"", sha, apath, source, size)
        # Its own id, from its bytes and its name: rows stay with the earlier object's id.
        twin.own_id = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]
        twin.stored_as = "identical"
        if isinstance(earlier, _Item):
            twin.holder, twin.identical_to, twin.kind_of = earlier, earlier.evidence_id, earlier.kind_of
        else:
            twin.identical_to, case_path, twin.kind_of = earlier
            twin.dest = os.path.join(os.path.abspath(self.root), case_path)
        return twin

    def _parse(self, kind: str, items: list[_Item],
               summary: IngestSummary) -> tuple[list[_Item], ParseResult | None, dict[str, int]]:
        """Parse a batch in one pass; if one object is unparseable as a whole, isolate it.

        Objects identical to an earlier one are not parsed (their rows are that object's); they
        are dropped, with an error, when that object turns out unloadable.
        """
        own = [i for i in items if i.identical_to is None]
        result: ParseResult | None = None
        dups: dict[str, int] = {}
        if kind == "s3-access":
            parser: Callable[[list[tuple[str, bytes]]], ParseResult] = parse_access_logs
        else:
            # Imported on first use: it loads pyarrow, which access logs alone never need.
            from .parse.cloudtrail import parse_cloudtrail

            parser = parse_cloudtrail
        if kind != "cloudtrail-digest" and own:
            try:
                result = parser([(i.evidence_id, i.content) for i in own])
                dups = dict(getattr(result, "duplicates_by_evidence", {}))
            except InputError:
                results: list[ParseResult] = []
                for item in own:
                    try:
                        results.append(parser([(item.evidence_id, item.content)]))
                    except InputError as exc:
                        summary.errors.append(f"{display_name(str(item.path))}: {exc.problem}")
                        item.dropped = True
                if results:
                    # Parsed one by one, so duplicates across these objects are left to the store.
                    dups = {k: v for r in results
                            for k, v in getattr(r, "duplicates_by_evidence", {}).items()}
                    result = ParseResult(
                        rows=pl.concat([r.rows for r in results]),
                        rejects=pl.concat([r.rejects for r in results]),
                        duplicates=sum(r.duplicates for r in results),
                    )
        kept: list[_Item] = []
        for item in items:
            if item.holder is not None and item.holder.dropped:
                summary.errors.append(
                    f"{display_name(str(item.path))}: same bytes as "
                    f"{display_name(str(item.holder.path))}, which could not be loaded")
            elif not item.dropped:
                kept.append(item)
        return kept, result, dups

    def _flush(self, kind: str, items: list[_Item], summary: IngestSummary,
               loader: _Loader) -> None:
        """Parse a batch here, then hand it to the loader so the next batch parses while it loads."""
        items, result, parse_dups = self._parse(kind, items, summary)
        if not items:
            return
        to_copy: list[_Item] = []  # not in the case yet: their exact bytes are kept
        for item in items:
            item.content = b""  # parsed: free the memory before the load
            if item.destinations is None:
                item.data = b""  # held by the case already: nothing will copy these bytes
            else:
                to_copy.append(item)
        # One task for the batch: a task per object cost the parsing thread a tenth of its time
        # outside the parser at 10,000 objects.
        if to_copy:
            copies = self.copier.submit(_store_copies, to_copy, self.pack)
            for item in to_copy:
                item.copy = copies
        loader.submit(kind, items, result, parse_dups)

    def _insert(self, kind: str, items: list[_Item], result: ParseResult | None,
                parse_dups: dict[str, int]) -> pl.DataFrame:
        """Insert a batch's rows and evidence rows (inside the loader's transaction)."""
        # The evidence rows name where each object's bytes went, so the batch's appends finish
        # first (and are synced before the commit). An interrupted ingest leaves at worst bytes
        # in a pack with no evidence row; a failed append fails the batch before anything loads.
        for item in items:
            if item.copy is not None:
                item.copy.result()
            if item.holder is not None:  # the same bytes, loaded earlier by this ingest
                if item.holder.copy is not None:
                    item.holder.copy.result()
                item.dest = item.holder.dest
        now = datetime.now(UTC)
        case_root = os.path.abspath(self.root)
        names = [escape_name(str(i.source.get("source") or i.apath)) for i in items]
        targets = [escape_name(i.link_target) if i.link_target else (None, False) for i in items]
        evidence = pl.DataFrame(
            {
                "evidence_id": [i.evidence_id for i in items],
                "sha256": [i.sha256 for i in items],
                "kind": [kind] * len(items),
                "source": [name for name, _ in names],
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
                "stored_as": [i.stored_as for i in items],
                "name_escaped": [a[1] or b[1] for a, b in zip(names, targets)],
                "identical_to": [i.identical_to for i in items],
                "link_target": [target for target, _ in targets],
            },
            schema_overrides={"loaded_at": pl.Datetime("us", "UTC"),
                              "last_modified": pl.Datetime("us", "UTC"),
                              "acquired_at": pl.Datetime("us", "UTC")},
        )
        if kind == "cloudtrail" and self.event_ids is None:
            self.event_ids = store.EventIds(self.con)
        return store.insert_batch(
            self.con,
            event_ids=self.event_ids,
            evidence=evidence,
            access_rows=result.rows if result is not None and kind == "s3-access" else None,
            cloudtrail_rows=result.rows if result is not None and kind == "cloudtrail" else None,
            rejects=result.rejects if result is not None else None,
        )


class _Loader:
    """Loads parsed batches on one background thread while the next batches are read and parsed.

    Batches go into one open transaction that commits every LOAD_ROWS rows (or LOAD_BYTES) and
    at the end; the summary counts only what committed. Parsed batches wait in order for the
    loader up to LOAD_AHEAD_BYTES, so memory stays bounded and parsing goes on while a commit
    compresses. A failed load (insert or commit) rolls the transaction back, the batches queued
    after it are dropped, and the error is raised on the next submit or finish.
    """

    def __init__(self, case: _Pipeline, summary: IngestSummary) -> None:
        self._case = case
        self._summary = summary
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3forensics-load")
        self._pending: deque[tuple[Future[None], int]] = deque()  # in order, with their sizes
        self._pending_bytes = 0
        self._failed = False  # a load failed: the loads queued after it do nothing
        self._open: list[tuple[str, pl.DataFrame]] = []  # evidence rows stored, not yet committed
        self._rows = self._bytes = 0
        self._in_transaction = False

    def submit(self, kind: str, items: list[_Item], result: ParseResult | None,
               parse_dups: dict[str, int]) -> None:
        """Queue a parsed batch for loading (first waiting for room, raising a failed load)."""
        # What the batch holds until loaded: its rows and rejects, and the bytes of its objects
        # not yet appended to the pack; at least a MiB, so batches of nothing queue bounded too.
        size = sum(len(item.data) for item in items) + (
            0 if result is None
            else int(result.rows.estimated_size()) + int(result.rejects.estimated_size()))
        size = max(size, 1024 * 1024)
        while self._pending and self._pending_bytes + size > LOAD_AHEAD_BYTES:
            self._wait_oldest()
        if self._failed:  # found failed after its batch was waited for: raise it
            while self._pending:
                self._wait_oldest()
        self._pending.append((self._pool.submit(self._load, kind, items, result, parse_dups), size))
        self._pending_bytes += size

    def finish(self) -> None:
        """Load what is queued and commit."""
        while self._pending:
            self._wait_oldest()
        self._commit()  # the load thread is idle now
        self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Let the loads queued end, then roll back whatever is not committed."""
        self._failed = True  # the loads not started yet do nothing
        while self._pending:
            try:
                self._wait_oldest()
            except BaseException:
                pass
        self._pool.shutdown(wait=True)  # a load submitted but not yet tracked ends first
        self._rollback()

    def _wait_oldest(self) -> None:
        future, size = self._pending[0]
        try:
            future.result()
        finally:
            # Interrupted while waiting, the load still runs: abort must wait for it again.
            if future.done():
                self._pending.popleft()
                self._pending_bytes -= size

    def _load(self, kind: str, items: list[_Item], result: ParseResult | None,
              parse_dups: dict[str, int]) -> None:
        if self._failed:
            return
        try:
            self._load_parts(kind, items, result, parse_dups)
        except BaseException:
            self._failed = True  # an insert or a commit: nothing queued behind it may commit
            raise

    def _load_parts(self, kind: str, items: list[_Item], result: ParseResult | None,
                    parse_dups: dict[str, int]) -> None:
        con = self._case.con
        for part, part_result, boundary in self._parts(items, result):
            if not self._in_transaction:
                con.execute("BEGIN TRANSACTION")
                self._in_transaction = True
            try:
                stored = self._case._insert(kind, part, part_result, parse_dups)
            except BaseException:
                self._rollback()
                raise
            self._open.append((kind, stored))
            if part_result is not None:
                self._rows += part_result.rows.height
                self._bytes += int(part_result.rows.estimated_size())
            if boundary or self._rows >= LOAD_ROWS or self._bytes >= LOAD_BYTES:
                self._commit()

    def _parts(self, items: list[_Item], result: ParseResult | None,
               ) -> Iterator[tuple[list[_Item], ParseResult | None, bool]]:
        """The batch as (objects, their rows, commit after) parts, split between two objects.

        When the batch takes the open transaction past LOAD_ROWS, the first part ends where the
        transaction holds the most whole row groups it can: each commit then leaves full row
        groups. A commit ending inside a row group left a partial one, which DuckDB's next
        checkpoint merged and compressed again (1.9 s of 18.8 s for 1M access log lines, issue
        15). An object's rows and its evidence row always commit together.
        """
        height = 0 if result is None else result.rows.height
        if result is None or self._rows + height < LOAD_ROWS:
            yield items, result, False
            return
        target = (self._rows + height) // ROW_GROUP * ROW_GROUP
        per_object = dict(result.rows.group_by("evidence_id").len().iter_rows())
        filled, split = self._rows, 0
        for n, item in enumerate(items):
            filled += per_object.get(item.evidence_id, 0)
            if filled > target:
                break
            split = n + 1
        if split == 0 or split == len(items):  # one object too large to split at, or exact
            yield items, result, split == len(items)
            return
        first = {i.evidence_id for i in items[:split]}

        def rows_of(keep: bool) -> ParseResult:
            def pick(frame: pl.DataFrame) -> pl.DataFrame:
                inside = pl.col("evidence_id").is_in(list(first))
                return frame.filter(inside if keep else ~inside)
            return ParseResult(rows=pick(result.rows), rejects=pick(result.rejects))

        yield items[:split], rows_of(True), True
        yield items[split:], rows_of(False), False

    def _commit(self) -> None:
        if self._in_transaction:
            try:
                # The rows about to commit point at pack members: those bytes reach the disk first.
                self._case.pack.sync()
                self._case.con.execute("COMMIT")
            except BaseException:
                self._rollback()  # whatever state the failed commit left, none of it stays
                raise
            self._in_transaction = False
        for kind, stored in self._open:
            twins = int(stored["identical_to"].is_not_null().sum())
            if stored.height > twins:
                self._summary._add(kind, stored.height - twins, int(stored["records"].sum()),
                                   int(stored["rejects"].sum()))
            self._summary.identical += twins
            self._summary.links += int(stored["link_target"].is_not_null().sum())
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


#: Decompressed bytes the reader may hold ahead of the parser (besides the batch being filled).
READ_AHEAD_BYTES = 64 * 1024 * 1024
_READ_AHEAD_OBJECTS = 256


@dataclass
class _Ready:
    """One input file read, hashed and (unless known already) decompressed by the reader."""

    entry: tuple[Path, Path, Mapping[str, Any], str | None]
    apath: str
    data: bytes = b""
    sha: str = ""
    identity: tuple[str, str, str] = ("", "", "")
    content: bytes | None = None  # None: not decompressed yet
    error: Exception | None = None  # OSError reading, or InputError decompressing

    def decompressed(self) -> bytes:
        """The decompressed bytes (raising the reader's InputError), decompressing if needed."""
        if isinstance(self.error, InputError):
            raise self.error
        if self.content is None:
            return decompress(self.data, where=display_name(str(self.entry[0])))
        content, self.content = self.content, None
        return content


class _Reader:
    """Reads, hashes and decompresses the files ahead of the parser, in order, on one thread.

    zlib and hashlib release the GIL, so this overlaps the parse of the batch before (issue 15:
    decompression was 4.3 s of a 1M-record CloudTrail ingest, all of it before parsing). What
    is held ahead is bounded (READ_AHEAD_BYTES decompressed, and a count of files), and files
    `skip` says are known already are only hashed.
    """

    def __init__(self, files: list[tuple[Path, Path, Mapping[str, Any], str | None]],
                 skip: Callable[[tuple[str, str, str], str], bool]) -> None:
        self._files = files
        self._skip = skip
        self._ready: queue.Queue[_Ready | BaseException | None] = queue.Queue(_READ_AHEAD_OBJECTS)
        self._held = 0
        self._room = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="s3forensics-read", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[_Ready]:
        while True:
            got = self._ready.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            if got.content is not None:
                with self._room:
                    self._held -= len(got.content)
                    self._room.notify()
            yield got

    def close(self) -> None:
        """Stop reading ahead (the thread ends at its next file)."""
        self._stop.set()
        with self._room:
            self._room.notify()
        while self._thread.is_alive():
            try:
                self._ready.get_nowait()  # unblock a put waiting for room
            except queue.Empty:
                self._thread.join(0.05)

    def _run(self) -> None:
        try:
            for entry in self._files:
                if self._stop.is_set():
                    return
                self._put(self._read(entry))
            self._put(None)
        except BaseException as exc:  # handed to the parser's thread, which reports it
            self._put(exc)

    def _put(self, item: _Ready | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _read(self, entry: tuple[Path, Path, Mapping[str, Any], str | None]) -> _Ready:
        path, _, source, _ = entry
        ready = _Ready(entry, os.path.abspath(path))
        try:
            ready.data = _read_evidence(ready.apath)
        except OSError as exc:
            ready.error = exc
            return ready
        ready.sha = hashlib.sha256(ready.data).hexdigest()
        name = escape_name(str(source.get("source") or ready.apath))[0]
        ready.identity = (ready.sha, name, str(source.get("version_id") or ""))
        if self._skip(ready.identity, ready.sha):
            return ready  # the parser's thread decides, and decompresses if it must
        with self._room:
            while self._held > READ_AHEAD_BYTES and not self._stop.is_set():
                self._room.wait()
        try:
            ready.content = decompress(ready.data, where=display_name(str(path)))
        except InputError as exc:
            ready.error = exc
            return ready
        with self._room:
            self._held += len(ready.content)
        return ready


def _store_copies(items: list[_Item], pack: Pack) -> None:
    """Append the objects' exact bytes to the pack, each under its first free name (see Pack)."""
    for item in items:
        assert item.destinations is not None
        data, item.data = item.data, b""  # the copy is the last use of the original bytes
        member, item.stored_as = pack.member_name(*item.destinations())
        item.dest = pack.append(member, data)


def _read_evidence(path: str) -> bytes:
    """A file's bytes, read without updating its access time where the system allows it.

    A file larger than MAX_OBJECT_BYTES is refused before it is read (OSError EFBIG, which
    ingest reports as an error naming the file and goes on): it is held whole in memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)  # O_NOATIME is for the file's owner only
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fd).st_size
        if size > MAX_OBJECT_BYTES:
            raise OSError(errno.EFBIG, too_large(size))
        return fh.read()

