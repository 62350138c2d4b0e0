"""Build S3 requests the way S3 answers them: status, bytes, timing and parameters per operation."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from .ids import IdMaker
from .model import Actor, S3Call, StoredObject
from .world import REGION

__all__ = ["BUCKET_SUBRESOURCES", "Requests", "host_header", "request_uri"]

#: Bucket subresource -> (access log operation suffix, CloudTrail action suffix).
BUCKET_SUBRESOURCES: dict[str, tuple[str, str]] = {
    "policy": ("BUCKETPOLICY", "BucketPolicy"),
    "acl": ("ACL", "BucketAcl"),
    "versioning": ("VERSIONING", "BucketVersioning"),
    "logging": ("LOGGING_STATUS", "BucketLogging"),
    "lifecycle": ("LIFECYCLE", "BucketLifecycle"),
    "location": ("LOCATION", "BucketLocation"),
    "encryption": ("ENCRYPTION", "BucketEncryption"),
}
_S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


def host_header(actor: Actor, bucket: str) -> str | None:
    """The Host header the client sent, from its endpoint style."""
    style = actor.client.host_style
    if style == "virtual":
        return f"{bucket}.s3.{REGION}.amazonaws.com"
    if style == "global":
        return f"{bucket}.s3.amazonaws.com"
    if style == "path":
        return f"s3.{REGION}.amazonaws.com"
    if style == "website":
        return bucket  # a CNAME to the website endpoint: the bucket is named after the host
    return None  # S3 acting on its own


def request_uri(call: S3Call) -> str | None:
    """The access log's Request-URI: method, path and query as the client sent them."""
    if call.operation.startswith("S3."):
        return None
    if call.path_override is not None:
        path = call.path_override
    else:
        path = "/" + quote(call.key, safe="/~") if call.key else "/"
    if call.actor.client.host_style == "path":
        path = f"/{call.bucket}" + (path if call.key else "")
    query = f"?{call.query}" if call.query else ""
    return f"{call.method} {path}{query} HTTP/1.1"


class Requests:
    """Make `S3Call`s with consistent ids, sizes, timings and CloudTrail parameters."""

    def __init__(self, ids: IdMaker, rng: random.Random) -> None:
        self.ids = ids
        self.rng = rng

    # -- plumbing -------------------------------------------------------------------------------

    def _timing(self, actor: Actor, nbytes: int) -> tuple[int, int]:
        turnaround = self.rng.randint(3, 28)
        transfer = nbytes / (actor.client.mbytes_per_s * 1_000_000) * 1000
        total = actor.client.latency_ms + turnaround + int(transfer * self.rng.uniform(0.8, 1.3))
        return total, turnaround

    def _call(self, t: datetime, actor: Actor, bucket: str, operation: str,
              event_name: str | None, *, management: bool, key: str | None = None,
              nbytes: int = 0, params: dict[str, Any] | None = None, **kw: Any) -> S3Call:
        total, turnaround = self._timing(actor, nbytes)
        base: dict[str, Any] = {"bucketName": bucket, "Host": host_header(actor, bucket)}
        if key is not None:
            base["key"] = key
        base.update(params or {})
        call = S3Call(
            time=t.replace(microsecond=0), actor=actor, bucket=bucket, operation=operation,
            event_name=event_name, management=management, request_id=self.ids.s3_request_id(),
            host_id=self.ids.host_id(), event_id=self.ids.uuid(), key=key,
            total_ms=total, turnaround_ms=turnaround, request_parameters=base, **kw,
        )
        if actor.identity.type == "AWSAccount" and actor.identity.account_id not in (
                None, "ANONYMOUS_PRINCIPAL", "cloudfront"):
            # Cross-account calls are delivered to both accounts under one shared id.
            call.shared_event_id = self.ids.uuid()
        return call

    def _error(self, call: S3Call, status: int, code: str, message: str) -> S3Call:
        call.status, call.error_code, call.error_message = status, code, message
        call.bytes_sent = {403: 243, 404: 290, 400: 330}.get(status, 250)
        call.object_size = None
        call.response_elements = None
        return call

    def throttled(self, call: S3Call) -> S3Call:
        """The same request answered 503 SlowDown (request rate too high)."""
        return self._error(call, 503, "SlowDown", "Please reduce your request rate.")

    # -- objects --------------------------------------------------------------------------------

    def get_object(self, t: datetime, actor: Actor, bucket: str, obj: StoredObject, *,
                   denied: bool = False, query: str = "",
                   params: dict[str, Any] | None = None) -> S3Call:
        """GetObject; fails as S3 would when denied, deleted or encrypted with SSE-C."""
        call = self._call(t, actor, bucket, "REST.GET.OBJECT", "GetObject", management=False,
                          key=obj.key, nbytes=obj.size, params=params, query=query,
                          bytes_sent=obj.size, object_size=obj.size)
        if denied:
            return self._error(call, 403, "AccessDenied", "Access Denied")
        if not obj.live(call.time):
            return self._error(call, 404, "NoSuchKey", "The specified key does not exist.")
        if not obj.readable(call.time):
            return self._error(
                call, 400, "InvalidRequest",
                "The object was stored using a form of Server Side Encryption. "
                "The correct parameters must be provided to retrieve the object.")
        return call

    def head_object(self, t: datetime, actor: Actor, bucket: str, obj: StoredObject) -> S3Call:
        """HeadObject: metadata only, nothing sent back but headers."""
        return self._call(t, actor, bucket, "REST.HEAD.OBJECT", "HeadObject", management=False,
                          key=obj.key, method="HEAD", object_size=obj.size)

    def put_object(self, t: datetime, actor: Actor, bucket: str, key: str, size: int, *,
                   params: dict[str, Any] | None = None) -> S3Call:
        """PutObject of `size` bytes (versioned bucket: S3 answers with a version id)."""
        return self._call(
            t, actor, bucket, "REST.PUT.OBJECT", "PutObject", management=False, key=key,
            nbytes=size, method="PUT", object_size=size, bytes_in=size, params=params,
            response_elements={"x-amz-server-side-encryption": "AES256",
                               "x-amz-version-id": self.ids.version_id()},
        )

    def list_objects(self, t: datetime, actor: Actor, bucket: str, prefix: str, *,
                     returned: int, delimiter: str | None = None,
                     denied: bool = False) -> S3Call:
        """ListObjectsV2 under `prefix` (CloudTrail names it ListObjects, list-type 2)."""
        q = "list-type=2"
        if delimiter:
            q += "&delimiter=" + quote(delimiter, safe="")
        q += "&prefix=" + quote(prefix, safe="") + "&encoding-type=url"
        params: dict[str, Any] = {"list-type": "2", "prefix": prefix, "encoding-type": "url"}
        if delimiter:
            params["delimiter"] = delimiter
        size = 420 + 310 * returned
        call = self._call(t, actor, bucket, "REST.GET.BUCKET", "ListObjects", management=False,
                          nbytes=size, query=q, params=params, bytes_sent=size)
        if denied:
            return self._error(call, 403, "AccessDenied", "Access Denied")
        return call

    def delete_objects(self, t: datetime, actor: Actor, bucket: str,
                       objs: list[StoredObject]) -> S3Call:
        """DeleteObjects (multi-object delete): CloudTrail gets no key names, the log gets one line per key."""
        body = 110 + 70 * len(objs)
        return self._call(
            t, actor, bucket, "REST.POST.MULTI_OBJECT_DELETE", "DeleteObjects", management=False,
            nbytes=body, method="POST", query="delete", params={"delete": ""},
            bytes_sent=90 + 60 * len(objs), bytes_in=body,
            batch=[(o.key, o.size) for o in objs],
        )

    def copy_in_place_ssec(self, t: datetime, actor: Actor, bucket: str,
                           obj: StoredObject) -> S3Call:
        """CopyObject onto itself with a customer-provided key (SSE-C), as ransomware does."""
        return self._call(
            t, actor, bucket, "REST.COPY.OBJECT", "CopyObject", management=False, key=obj.key,
            nbytes=obj.size // 20, method="PUT", bytes_sent=234, object_size=obj.size,
            copy_source_key=obj.key,
            params={"x-amz-copy-source": f"{bucket}/{obj.key}",
                    "x-amz-server-side-encryption-customer-algorithm": "AES256",
                    "x-amz-metadata-directive": "REPLACE"},
            response_elements={"x-amz-server-side-encryption-customer-algorithm": "AES256",
                               "x-amz-version-id": "null"},
        )

    # -- bucket configuration -------------------------------------------------------------------

    def bucket_get(self, t: datetime, actor: Actor, bucket: str, sub: str, *,
                   size: int = 400) -> S3Call:
        """Read a bucket configuration (policy, acl, versioning, logging, lifecycle, ...)."""
        op, action = BUCKET_SUBRESOURCES[sub]
        return self._call(t, actor, bucket, f"REST.GET.{op}", f"Get{action}", management=True,
                          nbytes=size, query=sub, params={sub: ""}, bytes_sent=size)

    def bucket_put(self, t: datetime, actor: Actor, bucket: str, sub: str,
                   body: dict[str, Any]) -> S3Call:
        """Change a bucket configuration; CloudTrail records the new configuration."""
        op, action = BUCKET_SUBRESOURCES[sub]
        size = len(json.dumps(body)) + 60
        if sub == "policy":
            params: dict[str, Any] = {"bucketPolicy": body, "policy": ""}
        else:
            root = {"versioning": "VersioningConfiguration", "logging": "BucketLoggingStatus",
                    "lifecycle": "LifecycleConfiguration", "acl": "AccessControlPolicy"}[sub]
            params = {root: {"xmlns": _S3_XMLNS, **body}, sub: ""}
        return self._call(t, actor, bucket, f"REST.PUT.{op}", f"Put{action}", management=True,
                          nbytes=size, method="PUT", query=sub, params=params, bytes_in=size,
                          status=204 if sub == "policy" else 200)

    # -- website and S3's own actions -----------------------------------------------------------

    def website_get(self, t: datetime, actor: Actor, bucket: str, path: str,
                    obj: StoredObject | None, *, not_modified: bool = False,
                    error_doc: StoredObject | None = None, referer: str | None = None,
                    method: str = "GET") -> S3Call:
        """A browser request to the website endpoint: plain HTTP, anonymous, no CloudTrail."""
        key = obj.key if obj else path.lstrip("/")
        op = f"WEBSITE.{method}.OBJECT"
        call = self._call(t, actor, bucket, op, None, management=False, key=key,
                          nbytes=obj.size if obj else 0, method=method, path_override=path,
                          referer=referer)
        if obj is None:
            call.status, call.error_code = 404, "NoSuchKey"
            call.bytes_sent = error_doc.size if error_doc else 290
        elif not_modified:
            call.status, call.bytes_sent, call.object_size = 304, None, obj.size
        else:
            call.bytes_sent = obj.size if method == "GET" else None
            call.object_size = obj.size
        return call

    def expire(self, t: datetime, actor: Actor, bucket: str, obj: StoredObject) -> S3Call:
        """A lifecycle expiration: S3 deletes the object itself; only the access log shows it."""
        call = self._call(t, actor, bucket, "S3.EXPIRE.OBJECT", None, management=False,
                          key=obj.key, object_size=obj.size, status=None)
        call.host_id = None
        call.total_ms = call.turnaround_ms = None
        return call

    def after(self, t: datetime, low: float, high: float) -> datetime:
        """A moment `low`..`high` seconds after `t`, to the second."""
        return (t + timedelta(seconds=self.rng.uniform(low, high))).replace(microsecond=0)
