"""CloudTrail: records from calls, delivered as an organization trail's gzipped log files.

A record's eventTime is when the request completed (receipt + total time); a file holds the
events of a 5-15 minute batch and is named by its delivery time, a few minutes later.
"""

from __future__ import annotations

import gzip
import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..render import render_cloudtrail_file
from .ids import IdMaker
from .model import ApiCall, S3Call, iso
from .ops import host_header
from .scenario import ct_user_agent
from .world import ORG_ID, REGION, TRAIL_BUCKET, VICTIM, bucket

__all__ = [
    "TrailFile",
    "api_record",
    "completion",
    "deliver_trail",
    "duplicate_one",
    "gzip_bytes",
    "in_trail",
    "s3_record",
]


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a zero timestamp, so the same input always gives the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()


def completion(call: S3Call) -> datetime:
    """When S3 finished the request: CloudTrail's eventTime (to the second)."""
    return (call.time + timedelta(milliseconds=call.total_ms or 0)).replace(microsecond=0)


def in_trail(call: S3Call) -> bool:
    """Whether the trail records the call: management events always, data events by selector."""
    if call.event_name is None:
        return False
    return call.management or bucket(call.bucket).data_events


def s3_record(call: S3Call) -> dict[str, Any]:
    """The CloudTrail record of an S3 call."""
    c, identity = call.actor.client, call.actor.identity
    owner = bucket(call.bucket).account
    rec: dict[str, Any] = {
        "eventVersion": "1.11" if call.management else "1.10",
        "userIdentity": identity.user_identity(),
        "eventTime": iso(completion(call)),
        "eventSource": "s3.amazonaws.com",
        "eventName": call.event_name,
        "awsRegion": REGION,
        "sourceIPAddress": c.service or call.actor.ip,
        "userAgent": c.service or ct_user_agent(c.user_agent or ""),
    }
    if call.error_code:
        rec["errorCode"] = call.error_code
        rec["errorMessage"] = call.error_message
    rec["requestParameters"] = call.request_parameters
    rec["responseElements"] = call.response_elements
    extra: dict[str, Any] = {}
    if c.signature:
        extra["SignatureVersion"] = c.signature
    if c.cipher:
        extra["CipherSuite"] = c.cipher
    extra["bytesTransferredIn"] = call.bytes_in
    if c.auth:
        extra["AuthenticationMethod"] = c.auth
    extra["x-amz-id-2"] = call.host_id
    extra["bytesTransferredOut"] = call.bytes_sent or 0
    rec["additionalEventData"] = extra
    rec["requestID"] = call.request_id
    rec["eventID"] = call.event_id
    rec["readOnly"] = call.read_only
    bucket_arn = f"arn:aws:s3:::{call.bucket}"
    resources: list[dict[str, Any]] = []
    if call.batch:
        resources.append({"type": "AWS::S3::Object", "ARNPrefix": f"{bucket_arn}/"})
    elif call.key is not None:
        resources.append({"type": "AWS::S3::Object", "ARN": f"{bucket_arn}/{call.key}"})
    resources.append({"accountId": owner, "type": "AWS::S3::Bucket", "ARN": bucket_arn})
    rec["resources"] = resources
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = call.management
    rec["recipientAccountId"] = owner
    if call.shared_event_id:
        rec["sharedEventID"] = call.shared_event_id
    if c.vpce:
        rec["vpcEndpointId"] = c.vpce
        rec["vpcEndpointAccountId"] = owner
    rec["eventCategory"] = "Management" if call.management else "Data"
    if c.tls_version:
        rec["tlsDetails"] = {"tlsVersion": c.tls_version, "cipherSuite": c.cipher,
                             "clientProvidedHostHeader": host_header(call.actor, call.bucket)}
    if identity.console:
        rec["sessionCredentialFromConsole"] = "true"
    return rec


def api_record(call: ApiCall) -> dict[str, Any]:
    """The CloudTrail record of a CloudTrail-only event."""
    rec: dict[str, Any] = {
        "eventVersion": call.event_version,
        "userIdentity": call.identity.user_identity(),
        "eventTime": iso(call.time),
        "eventSource": call.event_source,
        "eventName": call.event_name,
        "awsRegion": REGION,
        "sourceIPAddress": call.ip,
        "userAgent": call.user_agent,
    }
    if call.error is not None:
        rec["errorCode"], rec["errorMessage"] = call.error
    rec["requestParameters"] = call.request_parameters
    rec["responseElements"] = call.response_elements
    if call.additional is not None:
        rec["additionalEventData"] = call.additional
    if call.request_id is not None:
        rec["requestID"] = call.request_id
    rec["eventID"] = call.event_id
    rec["readOnly"] = call.read_only
    if call.resources is not None:
        rec["resources"] = call.resources
    rec["eventType"] = call.event_type
    rec["managementEvent"] = True
    rec["recipientAccountId"] = VICTIM
    if call.shared_event_id:
        rec["sharedEventID"] = call.shared_event_id
    rec["eventCategory"] = "Management"
    if call.tls:
        version, cipher, host = call.tls
        rec["tlsDetails"] = {"tlsVersion": version, "cipherSuite": cipher,
                             "clientProvidedHostHeader": host}
    if call.identity.console:
        rec["sessionCredentialFromConsole"] = "true"
    return rec


@dataclass
class TrailFile:
    """One CloudTrail log file of the organization trail."""

    key: str
    delivered: datetime
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def path(self) -> str:
        """`bucket/key`, how the answer key names a file."""
        return f"{TRAIL_BUCKET}/{self.key}"

    def content(self) -> bytes:
        """The uncompressed JSON, `{"Records": [...]}` (what digests hash)."""
        return render_cloudtrail_file(self.records, gz=False)

    def body(self) -> bytes:
        """The object's bytes: the same JSON, gzipped reproducibly."""
        return render_cloudtrail_file(self.records)

    def event_times(self) -> tuple[str, str]:
        """Oldest and newest eventTime in the file."""
        times = sorted(r["eventTime"] for r in self.records)
        return times[0], times[-1]


def deliver_trail(records: list[tuple[datetime, dict[str, Any]]], *, rng: random.Random,
                  ids: IdMaker) -> list[TrailFile]:
    """Batch records (any order) into log files delivered a few minutes after each batch."""
    ordered = sorted(records, key=lambda r: r[0])
    files: list[TrailFile] = []
    i = 0
    while i < len(ordered):
        closes = ordered[i][0] + timedelta(seconds=rng.randint(5 * 60, 15 * 60))
        batch = []
        while i < len(ordered) and ordered[i][0] < closes:
            batch.append(ordered[i][1])
            i += 1
        delivered = closes + timedelta(seconds=rng.randint(60, 300))
        key = (f"AWSLogs/{ORG_ID}/{VICTIM}/CloudTrail/{REGION}/{delivered:%Y/%m/%d}/"
               f"{VICTIM}_CloudTrail_{REGION}_{delivered:%Y%m%dT%H%M}Z_{ids.trail_suffix()}.json.gz")
        files.append(TrailFile(key, delivered, batch))
    return files


def duplicate_one(files: list[TrailFile], rng: random.Random) -> dict[str, Any]:
    """Deliver one benign data event twice, in two consecutive files, as CloudTrail sometimes does."""
    candidates = [
        (n, r) for n, f in enumerate(files[:-1]) for r in f.records
        if r["eventCategory"] == "Data" and r["eventName"] == "GetObject"
        and ":assumed-role/orders-api-task/" in r["userIdentity"].get("arn", "")
    ]
    n, record = rng.choice(candidates)
    files[n + 1].records.append(record)
    return {"event_id": record["eventID"], "event_name": record["eventName"],
            "files": [files[n].path, files[n + 1].path]}
