"""One acquisition end to end: plan, download, record, capture context, load into the case."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from tqdm.auto import tqdm

from .. import __version__
from ..errors import AcquisitionError
from ..ingest import ingest_objects
from ..manifest import ManifestWriter
from .context import CONTEXT_DIR, caller_identity, collect_context, write_context
from .download import Copies, Fetched, download, held_objects, is_intact, manifest_entry, source_of
from .listing import AcquisitionOptions, build_plan, prepare
from .results import AcquireResult, AcquisitionPlan, ListedObject, iso_utc
from .session import AwsSession

if TYPE_CHECKING:
    from ..case import Case



# -- acquire -----------------------------------------------------------------------------------


def _split_held(
    root: Path, bucket: str, objects: list[ListedObject], result: AcquireResult
) -> tuple[list[ListedObject], dict[str, dict[str, Any]]]:
    """Objects still to fetch, and manifest records of those already held intact (by key)."""
    held_records = held_objects(root, bucket)
    todo: list[ListedObject] = []
    entries: dict[str, dict[str, Any]] = {}
    for obj in objects:
        record = held_records.get((obj.key, obj.etag, obj.size))
        if record is not None and is_intact(root, record):
            entries[obj.key] = record
            continue
        if record is not None:
            result.warnings.append(
                f"{record['case_path']}: does not match its manifest record (missing or modified); "
                "fetched again, the file on disk is left as it is for examination"
            )
        todo.append(obj)
    result.held = len(entries)
    return todo, entries


def _download_all(
    aws: AwsSession,
    case: Case,
    bucket: str,
    todo: list[ListedObject],
    entries: dict[str, dict[str, Any]],
    result: AcquireResult,
    *,
    endpoint: str,
    workers: int,
    progress: bool,
) -> list[str]:
    """Fetch `todo` in parallel, recording each object in the manifest as it lands; the failures."""
    root = Path(case.root)
    failures: list[str] = []
    bars = [
        tqdm(total=len(todo), unit="obj", desc="objects", disable=not progress, position=0),
        tqdm(
            total=sum(o.size for o in todo),
            unit="B",
            unit_scale=True,
            desc="bytes",
            disable=not progress,
            position=1,
        ),
    ]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3forensics-get")
    copies = Copies(case)
    futures = {pool.submit(download, aws, bucket, obj, root, copies): obj for obj in todo}
    recorded: set[Future[Fetched]] = set()
    with ManifestWriter(root) as manifest:

        def record(fut: Future[Fetched]) -> None:
            recorded.add(fut)
            fetched = fut.result()
            entry = manifest_entry(fetched, bucket, result.acquired_by, endpoint, root)
            manifest.write(entry)
            entries[fetched.obj.key] = entry
            result.downloaded += 1
            result.downloaded_bytes += fetched.size
            if fetched.note:
                result.warnings.append(fetched.note)

        try:
            for fut in as_completed(futures):
                try:
                    record(fut)
                except AcquisitionError as exc:
                    failures.append(str(exc))
                bars[0].update(1)
                bars[1].update(futures[fut].size)
        finally:
            # Interrupted or not: stop queued work, let running downloads finish, and record
            # every object that did land, so that a rerun does not fetch it again.
            pool.shutdown(wait=True, cancel_futures=True)
            for fut in futures:
                if (
                    fut not in recorded
                    and fut.done()
                    and not fut.cancelled()
                    and fut.exception() is None
                ):
                    record(fut)
            for bar in bars:
                bar.close()
    return failures


def acquire(case: Case, *, progress: bool = False,
            **options: Unpack[AcquisitionOptions]) -> AcquireResult:
    """Fetch the log objects covering [start, end) from S3 into the case, hashed, and load them."""
    request, aws = prepare(options)
    acquired_by, identity = caller_identity(aws)
    started = datetime.now(UTC)
    plan = build_plan(aws, request)
    bucket, window, workers = request.bucket, request.window, request.workers
    result = AcquireResult(plan=plan, acquired_by=acquired_by)
    objects = plan.objects
    root = Path(case.root)
    endpoint = options.get("endpoint_url") or aws.s3.meta.endpoint_url

    todo, entries = _split_held(root, bucket, objects, result)
    failures = (
        _download_all(
            aws,
            case,
            bucket,
            todo,
            entries,
            result,
            endpoint=endpoint,
            workers=workers,
            progress=progress,
        )
        if todo
        else []
    )
    kept = [o for o in objects if o.key in entries]
    result.case_paths = [entries[o.key]["case_path"] for o in kept]
    if kept:
        # One record per object; the object holding a copy goes before those identical to it
        # (they share its file), so that the evidence table agrees with the manifest.
        ordered = sorted(kept, key=lambda o: entries[o.key].get("stored_as") == "identical")
        ingest_kind = "s3-access" if plan.kind == "s3-access" else "cloudtrail"  # digests: by name
        result.ingest = ingest_objects(
            case,
            [
                (root / entries[o.key]["case_path"], root / "evidence", source_of(entries[o.key]),
                 None)
                for o in ordered
            ],
            kind=ingest_kind,
            progress=progress,
        )
        result.warnings += [f"ingest: {e}" for e in result.ingest.errors]
    if not objects:
        result.warnings.append(
            f"no objects in s3://{bucket}/{plan.prefix} for "
            f"[{iso_utc(window.start)}, {iso_utc(window.end)}) "
            f"with its lookback ({plan.kind}; {len(plan.ranges)} listing ranges"
            + (f"; {'; '.join(plan.notes)}" if plan.notes else "")
            + ")"
        )
    collect_context(aws, case, plan, workers)
    write_context(root, "identity.json", {iso_utc(started): identity})
    _log_run(root, plan, result, started, failures)
    if failures:
        raise AcquisitionError(
            f"{len(failures)} of {len(objects)} objects could not be fetched "
            f"(first: {failures[0]}); "
            f"the other {len(objects) - len(failures)} are in the case: run the same command again "
            "to fetch the rest"
        )
    return result


def _log_run(
    root: Path, plan: AcquisitionPlan, result: AcquireResult, started: datetime, failures: list[str]
) -> None:
    """Append this run's parameters, listing cost and outcome to context/acquisitions.jsonl."""
    folder = root / CONTEXT_DIR
    folder.mkdir(exist_ok=True)
    record = {
        "started_at": iso_utc(started),
        "finished_at": iso_utc(datetime.now(UTC)),
        "acquired_by": result.acquired_by,
        "tool_version": f"s3forensics {__version__}",
        "endpoint": plan.endpoint_url,
        "bucket": plan.bucket,
        "prefix": plan.prefix,
        "kind": plan.kind,
        "start": iso_utc(plan.window.start),
        "end": iso_utc(plan.window.end),
        "lookback_seconds": plan.lookback.total_seconds(),
        "ranges": [
            {
                "layout": r.range.layout.name,
                "prefix": r.range.prefix,
                "start_after": r.range.start_after,
                "stop_at": r.range.stop_at,
                **{k: v for k, v in r.range.fields.items() if v},
                "calls": r.calls,
                "keys_listed": r.keys_listed,
                "selected": len(r.objects),
                "unrecognised": r.unrecognised,
            }
            for r in plan.ranges
        ],
        "discovery_calls": plan.discovery_calls,
        "objects": len(plan.objects),
        "downloaded": result.downloaded,
        "held": result.held,
        "failures": failures,
        "warnings": result.warnings,
        "notes": plan.notes,
    }
    with open(folder / "acquisitions.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
