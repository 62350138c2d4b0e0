"""Best-effort capture of the configuration around the logs: bucket logging, trails, public keys."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
)

from .results import AcquisitionPlan, iso_utc
from .session import IAM_ACTION, AwsSession, aws_error, error_code

if TYPE_CHECKING:
    from ..case import Case

CONTEXT_DIR = "context"


# -- context -------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _best_effort(operation: str, fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """Call a read-only context API; a failure (e.g. missing permission) is recorded, not raised."""
    record: dict[str, Any] = {
        "operation": operation,
        "params": _jsonable(kwargs),
        "collected_at": iso_utc(datetime.now(UTC)),
    }
    try:
        record["response"] = _jsonable(fn(**kwargs))
    except ClientError as exc:
        record["error"] = {
            "code": error_code(exc),
            "message": exc.response.get("Error", {}).get("Message", ""),
            "needs": IAM_ACTION.get(operation, operation),
        }
    except BotoCoreError as exc:
        record["error"] = {"code": type(exc).__name__, "message": str(exc)}
    return record


def write_context(case_root: Path, name: str, entries: Mapping[str, Any]) -> None:
    """Merge `entries` into `<case>/context/<name>` (later runs add to earlier ones)."""
    folder = case_root / CONTEXT_DIR
    folder.mkdir(exist_ok=True)
    path = folder / name
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(entries)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def caller_identity(aws: AwsSession) -> tuple[str, dict[str, Any]]:
    record = _best_effort("GetCallerIdentity", aws.client("sts").get_caller_identity)
    if "response" in record:
        return str(record["response"].get("Arn")), record
    if record["error"]["code"] == "NoCredentialsError":
        raise aws_error(NoCredentialsError(), "GetCallerIdentity", "", "")
    return f"unknown ({record['error']['code']}: {record['error']['message']})", record


def collect_context(aws: AwsSession, case: Case, plan: AcquisitionPlan, workers: int) -> None:
    """Save the logging and trail configuration behind the acquired logs, best effort."""
    root = case.root
    jobs: dict[str, tuple[str, Callable[..., Any], dict[str, Any]]] = {}
    if plan.kind == "s3-access":
        sources = {
            r.range.fields["source_bucket"]
            for r in plan.ranges
            if r.range.fields.get("source_bucket")
        }
        try:  # simple-prefix keys do not name the source bucket: the loaded records do
            frame = case.sql(
                "SELECT DISTINCT l.bucket FROM s3_access_logs l "
                "JOIN evidence e USING (evidence_id) "
                "WHERE e.bucket = $bucket AND l.bucket IS NOT NULL LIMIT 100",
                {"bucket": plan.bucket},
            )
            sources |= set(frame.to_series().to_list())
        except Exception as exc:  # noqa: BLE001 -- the store's business; context is best effort
            plan.notes.append(f"source buckets not read from the case ({exc})")
        for name in sorted(sources):
            jobs[f"bucket-logging.json|{name}"] = (
                "GetBucketLogging",
                aws.s3.get_bucket_logging,
                {"Bucket": name},
            )
    else:
        ct_regions = sorted({r.range.fields["region"] for r in plan.ranges})
        for region in ct_regions:
            ct = aws.client("cloudtrail", region)
            jobs[f"cloudtrail-trails.json|{region}"] = (
                "DescribeTrails",
                ct.describe_trails,
                {"includeShadowTrails": True},
            )
            jobs[f"cloudtrail-public-keys.json|{region}"] = (
                "ListPublicKeys",
                ct.list_public_keys,
                {
                    "StartTime": plan.window.start - timedelta(days=1),
                    "EndTime": plan.window.end + plan.lookback + timedelta(days=1),
                },
            )
    with ThreadPoolExecutor(max_workers=max(1, min(workers, 8))) as pool:
        results = dict(
            zip(jobs, pool.map(lambda j: _best_effort(j[0], j[1], **j[2]), jobs.values()))
        )
    files: dict[str, dict[str, Any]] = {}
    for label, record in results.items():
        name, key = label.split("|", 1)
        files.setdefault(name, {})[key] = record
    # Event selectors and status of every trail seen, asked in the trail's home region.
    trails: dict[str, dict[str, Any]] = {}
    for record in files.get("cloudtrail-trails.json", {}).values():
        for trail in record.get("response", {}).get("trailList", []):
            trails.setdefault(trail["TrailARN"], trail)
    if trails:
        calls = []
        for arn, trail in trails.items():
            ct = aws.client("cloudtrail", trail.get("HomeRegion") or aws.region)
            calls.append((arn, "GetEventSelectors", ct.get_event_selectors, {"TrailName": arn}))
            calls.append((arn, "GetTrailStatus", ct.get_trail_status, {"Name": arn}))
        with ThreadPoolExecutor(max_workers=max(1, min(workers, 8))) as pool:
            done = list(pool.map(lambda c: (c[0], c[1], _best_effort(c[1], c[2], **c[3])), calls))
        summary = files.setdefault("cloudtrail-trail-config.json", {})
        for arn, operation, record in done:
            entry = summary.setdefault(
                arn, {"LogFileValidationEnabled": trails[arn].get("LogFileValidationEnabled")}
            )
            entry[operation] = record
    for name, entries in files.items():
        write_context(root, name, entries)


