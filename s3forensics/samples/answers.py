"""The answer key: facts about the planted breach and the benign actors, for tests and people.

Everything is derived from the calls the scenario made (never typed in), so the key cannot say
something the logs do not.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from .breach import PHASES
from .cloudtrail import completion, in_trail
from .model import ApiCall, S3Call, iso
from .scenario import Scenario
from .world import (
    ATTACKER_ACCOUNT,
    BUCKETS,
    DATA_BUCKET,
    END,
    LOG_ARCHIVE,
    ORG_ID,
    REGION,
    SAL_BUCKET,
    START,
    TRAIL_BUCKET,
    TRAIL_NAME,
    VALIDATION_START,
    VICTIM,
)

__all__ = ["SCHEMA_VERSION", "build_answers"]

SCHEMA_VERSION = 1


def _phase(tag: str) -> str:
    name = tag.removeprefix("breach:")
    return "exposure" if name == "exposure-read" else name


def _when(call: S3Call | ApiCall) -> tuple[datetime, datetime]:
    if isinstance(call, S3Call):
        return call.time, completion(call)
    return call.time, call.time


def _object_fact(call: S3Call) -> dict[str, Any]:
    return {"bucket": call.bucket, "key": call.key, "access_log_time": iso(call.time),
            "cloudtrail_time": iso(completion(call)), "request_id": call.request_id}


def _detail(call: S3Call) -> str:
    p = call.request_parameters
    if call.event_name == "PutBucketPolicy":
        added = [s for s in p["bucketPolicy"]["Statement"]
                 if s["Effect"] == "Allow" and isinstance(s.get("Principal"), dict)]
        if added:
            s = added[-1]
            return (f"policy statement {s['Sid']} allows {', '.join(s['Action'])} to "
                    f"{s['Principal']['AWS']} (a foreign account)")
        sids = ", ".join(s["Sid"] for s in p["bucketPolicy"]["Statement"])
        return f"policy with statements {sids} (no public or foreign grant)"
    if call.event_name == "PutBucketVersioning":
        return f"versioning {p['VersioningConfiguration']['Status']}"
    if call.event_name == "PutBucketLogging":
        enabled = p["BucketLoggingStatus"].get("LoggingEnabled")
        if not enabled:
            return "empty BucketLoggingStatus: server access logging disabled"
        return (f"server access logging enabled to {enabled['TargetBucket']}/"
                f"{enabled['TargetPrefix']} (partitioned, EventTime)")
    if call.event_name == "PutBucketLifecycle":
        rule = p["LifecycleConfiguration"]["Rule"]
        what = ", ".join(k for k in rule if k in ("Expiration", "NoncurrentVersionExpiration"))
        prefix = rule["Filter"]["Prefix"] or "(every key)"
        return f"lifecycle rule {rule['ID']!r} on prefix {prefix}: {what}"
    return call.event_name or call.operation


def _change(call: S3Call) -> dict[str, Any]:
    return {"event_time": iso(completion(call)), "access_log_time": iso(call.time),
            "event_name": call.event_name, "operation": call.operation, "bucket": call.bucket,
            "detail": _detail(call), "request_id": call.request_id, "event_id": call.event_id,
            "source_ip": call.actor.ip, "principal": call.actor.identity.requester}


def build_answers(sc: Scenario, *, malformed: list[dict[str, Any]],
                  duplicates: list[dict[str, Any]], counts: dict[str, int],
                  trail: dict[str, Any]) -> dict[str, Any]:
    """The answer key as a JSON-ready dict (schema version SCHEMA_VERSION)."""
    breach_s3 = [c for c in sc.s3_calls if c.tag.startswith("breach:")]
    breach_api = [c for c in sc.api_calls if c.tag.startswith("breach:")]
    everything: list[S3Call | ApiCall] = [*breach_s3, *breach_api]
    moments = [m for c in everything for m in _when(c)]
    window = {"start": iso(min(moments)), "end": iso(max(moments) + timedelta(seconds=1))}

    by_phase: dict[str, list[S3Call | ApiCall]] = defaultdict(list)
    for c in everything:
        by_phase[_phase(c.tag)].append(c)
    phases = []
    for name, (mitre, summary) in PHASES.items():
        calls = by_phase[name]
        times = [m for c in calls for m in _when(c)]
        phases.append({"name": name, "start": iso(min(times)), "end": iso(max(times)),
                       "mitre": list(mitre), "summary": summary,
                       "requests": len(calls)})

    ips = sorted({c.actor.ip for c in breach_s3} | {c.ip for c in breach_api})
    principals = sorted({c.actor.identity.requester for c in breach_s3}
                        | {c.identity.arn for c in breach_api if c.identity.arn})
    keys = sorted({k for k in [c.actor.identity.access_key_id for c in breach_s3]
                   + [c.identity.access_key_id for c in breach_api] if k})
    agents = sorted({c.actor.client.user_agent for c in breach_s3 if c.actor.client.user_agent}
                    | {c.user_agent.strip("[]") for c in breach_api})

    sources: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for c in everything:
        if isinstance(c, S3Call):
            ip, who, key, ua = (c.actor.ip, c.actor.identity.requester,
                                c.actor.identity.access_key_id, c.actor.client.user_agent or "")
        else:
            ip, who, key, ua = c.ip, c.identity.arn or "", c.identity.access_key_id, c.user_agent
        first, last = _when(c)
        entry = sources.setdefault((ip, who, key), {
            "ip": ip, "principal": who, "access_key": key, "first_seen": first,
            "last_seen": last, "user_agents": set()})
        entry["first_seen"] = min(entry["first_seen"], first)
        entry["last_seen"] = max(entry["last_seen"], last)
        entry["user_agents"].add(ua)
    attacker_sources = [
        {**e, "first_seen": iso(e["first_seen"]), "last_seen": iso(e["last_seen"]),
         "user_agents": sorted(e["user_agents"])}
        for e in sorted(sources.values(), key=lambda e: e["first_seen"])]

    stolen = []
    for c in breach_s3:
        if c.operation == "REST.GET.OBJECT" and c.status == 200:
            via = "exposure" if c.tag == "breach:exposure-read" else "leaked-key"
            stolen.append({**_object_fact(c), "bytes": c.bytes_sent, "source_ip": c.actor.ip,
                           "principal": c.actor.identity.requester, "via": via})
    denied = [{**_object_fact(c), "operation": c.operation, "error_code": c.error_code}
              for c in breach_s3 if c.status == 403]
    changes = [_change(c) for c in breach_s3 if c.management and c.method == "PUT"]
    exposing = next(ch for ch in changes if ch["event_name"] == "PutBucketPolicy")
    deleted = [{"bucket": c.bucket, "key": key, "access_log_time": iso(c.time),
                "request_id": c.request_id}
               for c in breach_s3 if c.batch for key, _ in c.batch]
    ssec = [_object_fact(c) for c in breach_s3 if c.operation == "REST.COPY.OBJECT"]
    note = next(c for c in breach_s3 if c.operation == "REST.PUT.OBJECT")

    gaps = [{"bucket": b, "source": "s3-access", "from": iso(a), "to": iso(min(z, END)),
             "cause": "access logging disabled by the attacker (PutBucketLogging) and "
                      "re-enabled by the administrator on Monday; each change takes effect "
                      "with a delay"}
            for b, spans in sorted(sc.logging_off.items()) for a, z in spans]

    benign = []
    for f in sc.actors:
        if not (f.ips or f.principals):
            continue
        shares = bool(set(f.principals) & set(principals))
        actor: dict[str, Any] = {
            "name": f.name, "kind": f.kind, "description": f.description,
            "looks_suspicious_because": f.looks_suspicious_because,
            "ips": sorted(f.ips - {"-"}), "principals": sorted(f.principals),
            "user_agents": sorted(f.user_agents),
        }
        if shares:
            actor["shares_principal_with_attacker"] = True
        benign.append(actor)

    benign_changes = [_change(c) for c in sc.facts.get("benign_changes", [])]
    trail_tampering = [
        {"event_time": iso(c.time), "event_name": c.event_name, "source_ip": c.ip,
         "principal": c.identity.arn, "event_id": c.event_id,
         "outcome": c.error[0] if c.error else "success",
         "target": (c.request_parameters or {}).get("name")}
        for c in breach_api if c.event_source == "cloudtrail.amazonaws.com"]
    attacker_bucket_names = sorted({c.bucket for c in breach_s3})
    buckets = []
    for b in BUCKETS:
        buckets.append({
            "name": b.name, "account": b.account, "region": REGION, "purpose": b.purpose,
            "access_logs": ({"target_bucket": b.access_logs.bucket, "prefix": b.access_logs.prefix,
                             "layout": b.access_logs.layout} if b.access_logs else None),
            "cloudtrail_data_events": b.data_events,
        })
    buckets += [
        {"name": SAL_BUCKET, "account": VICTIM, "region": REGION,
         "purpose": "destination of the server access logs", "access_logs": None,
         "cloudtrail_data_events": False},
        {"name": TRAIL_BUCKET, "account": LOG_ARCHIVE, "region": REGION,
         "purpose": "destination of the organization trail (logs and digests)",
         "access_logs": None, "cloudtrail_data_events": False},
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": "leaked-access-key-exfiltration-and-s3-ransomware",
        "title": "A leaked access key: discovery, exfiltration, a bucket-policy backdoor and "
                 "S3 ransomware",
        "seed": sc.seed,
        "regenerate": f"s3forensics samples --out DIR --seed {sc.seed}",
        "time_span": {"start": iso(START), "end": iso(END)},
        "organization_id": ORG_ID,
        "accounts": [
            {"id": VICTIM, "name": "acme-prod", "role": "victim: the workload account holding the data"},
            {"id": LOG_ARCHIVE, "name": "acme-log-archive",
             "role": "holds the organization trail's bucket"},
            {"id": ATTACKER_ACCOUNT, "name": None,
             "role": "attacker-controlled, outside the organization"},
        ],
        "buckets": buckets,
        "trail": {"name": TRAIL_NAME, "bucket": TRAIL_BUCKET, "organization_id": ORG_ID,
                  "home_region": REGION, "data_event_buckets": [b.name for b in BUCKETS
                                                                if b.data_events],
                  "log_file_validation_since": iso(VALIDATION_START), **trail},
        "window": window,
        "attacked_buckets": attacker_bucket_names,
        "attacker": {"ips": ips, "principals": principals, "access_keys": keys,
                     "user_agents": agents, "accounts": [ATTACKER_ACCOUNT],
                     "sources": attacker_sources},
        "phases": phases,
        "stolen_objects": stolen,
        "stolen_bytes": sum(s["bytes"] for s in stolen),
        "access_denied": denied,
        "exposure": {
            "change": exposing,
            "grantee": f"arn:aws:iam::{ATTACKER_ACCOUNT}:root",
            "reader": next(s["principal"] for s in stolen if s["via"] == "exposure"),
            "reads": [s for s in stolen if s["via"] == "exposure"],
        },
        "config_changes": changes,
        "trail_tampering": trail_tampering,
        "deleted_keys": deleted,
        "ssec_encrypted_keys": ssec,
        "ransom_note": {"bucket": note.bucket, "key": note.key, "access_log_time": iso(note.time),
                        "request_id": note.request_id},
        "logging_gaps": gaps,
        "benign_actors": benign,
        "benign_config_changes": benign_changes,
        "malformed_lines": malformed,
        "duplicate_events": duplicates,
        "counts": counts,
        "in_cloudtrail": {
            "data_events_for": [DATA_BUCKET],
            "breach_requests_in_both_sources": sum(1 for c in breach_s3 if in_trail(c)),
        },
    }
