"""Parallel, hashed, resumable download of the planned objects into the case's evidence."""

from __future__ import annotations

import hashlib
import os
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from .. import __version__
from ..errors import AcquisitionError
from ..evidence_files import new_temp_file, object_destinations, store_copy
from ..manifest import read_manifest, sha256_file
from .results import ListedObject, iso_utc
from .session import AwsSession, aws_error, error_code

if TYPE_CHECKING:
    from ..case import Case

DOWNLOAD_ATTEMPTS = 4
_CHUNK = 1 << 20
_MD5_ETAG = re.compile(r"[0-9a-f]{32}")
_RETRYABLE_STREAM = (
    ReadTimeoutError,
    ConnectionClosedError,
    IncompleteReadError,
    ResponseStreamingError,
    EndpointConnectionError,
)



# -- download --------------------------------------------------------------------------------


class _Corrupt(Exception):
    """The bytes received do not match what S3 said it sent."""


@dataclass
class Fetched:
    obj: ListedObject
    path: Path
    sha256: str
    size: int
    version_id: str | None
    etag: str
    last_modified: datetime
    storage_class: str | None
    encryption: dict[str, Any] | None
    metadata: dict[str, str]
    acquired_at: datetime
    note: str | None = None
    stored_as: str = "name"
    identical_to: str | None = None  # source of the object whose copy holds these bytes


def _stream(
    aws: AwsSession, bucket: str, obj: ListedObject, tmp: Path
) -> tuple[dict[str, Any], str, int]:
    """GET the object into `tmp`, hashing while writing; retry torn or corrupted transfers."""
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            # IfMatch: fetch the object the listing saw; a change in between is reported, not mixed.
            resp = aws.s3.get_object(Bucket=bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')
            sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
            with open(tmp, "wb") as fh:
                for chunk in resp["Body"].iter_chunks(_CHUNK):
                    fh.write(chunk)
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
            etag = str(resp.get("ETag", "")).strip('"')
            if size != int(resp.get("ContentLength", size)):
                raise _Corrupt(f"received {size} bytes of {resp.get('ContentLength')}")
            # A single-part object without KMS has its MD5 as ETag: a free end-to-end check.
            plain = resp.get("ServerSideEncryption") in (None, "AES256")
            if _MD5_ETAG.fullmatch(etag) and plain and md5.hexdigest() != etag:
                raise _Corrupt(f"MD5 {md5.hexdigest()} differs from ETag {etag}")
            return resp, sha.hexdigest(), size
        except ClientError as exc:
            tmp.unlink(missing_ok=True)
            if error_code(exc) in ("PreconditionFailed", "412"):
                raise AcquisitionError(
                    f"s3://{bucket}/{obj.key}: changed since it was listed (ETag is no longer "
                    f"{obj.etag}); run the acquisition again to fetch the current object"
                ) from exc
            raise aws_error(exc, "GetObject", bucket, obj.key) from exc
        except (_Corrupt, *_RETRYABLE_STREAM) as exc:
            tmp.unlink(missing_ok=True)
            if attempt == DOWNLOAD_ATTEMPTS:
                raise AcquisitionError(
                    f"GetObject s3://{bucket}/{obj.key}: failed {attempt} times (last: {exc})"
                ) from exc
            time.sleep(min(5.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


class Copies:
    """The case's copies by SHA-256, so that bytes already held under another name are not stored
    again: the object is recorded as identical to the one holding them."""

    def __init__(self, case: Case) -> None:
        self.root = Path(case.root)
        self.lock = threading.Lock()  # a look-up and the placing of a copy happen together
        self._by_sha: dict[str, tuple[str, str]] = {}  # sha256 -> (case path, source)
        for entry in read_manifest(self.root).entries:
            if entry.get("stored_as") != "identical" and entry.get("bucket"):
                self._by_sha.setdefault(
                    str(entry["sha256"]),
                    (str(entry["case_path"]), f"s3://{entry['bucket']}/{entry['key']}"),
                )
        try:  # copies of local files are in the evidence table only
            rows = case.sql("SELECT sha256, case_path, source FROM evidence "
                            "WHERE identical_to IS NULL").rows()
        except Exception:  # noqa: BLE001 -- the store's business; at worst bytes are stored twice
            rows = []
        for sha, case_path, source in rows:
            self._by_sha.setdefault(sha, (case_path, source))

    def find(self, sha256: str) -> tuple[str, str] | None:
        """(case path, source) of a copy holding exactly these bytes (re-hashed), or None."""
        hit = self._by_sha.get(sha256)
        if hit is None:
            return None
        path = self.root / hit[0]
        if path.is_file() and not path.is_symlink() and sha256_file(path) == sha256:
            return hit
        return None  # changed or gone: the new copy is stored under its own name

    def add(self, sha256: str, case_path: str, source: str) -> None:
        """Remember a copy just stored."""
        self._by_sha.setdefault(sha256, (case_path, source))


def download(
    aws: AwsSession, bucket: str, obj: ListedObject, case_root: Path, copies: Copies
) -> Fetched:
    """Fetch one object into the case (`evidence/<bucket>/<key>` when the name can be held there).

    The bytes land in a temporary file apart from every evidence name and are then linked to the
    object's name, never over other evidence: different bytes already there keep both; a key the
    file system cannot hold goes under an encoded name (see evidence_files); bytes the case
    already holds for another object are not stored again. Any failure is an AcquisitionError
    naming the key, so one bad object never stops the others.
    """
    evidence_dir = case_root / "evidence"
    try:
        fd, tmp = new_temp_file(case_root)
        os.close(fd)
    except OSError as exc:
        raise AcquisitionError(
            f"s3://{bucket}/{obj.key}: cannot create a temporary file in {case_root} "
            f"({exc.strerror or exc})"
        ) from exc
    try:
        resp, digest, size = _stream(aws, bucket, obj, Path(tmp))
        candidates, encoded = object_destinations(
            os.fspath(evidence_dir), digest, bucket=bucket, key=obj.key,
            version_id=resp.get("VersionId"),
        )
        identical_to = None
        with copies.lock:
            twin = copies.find(digest)
            if twin is not None:
                os.unlink(tmp)
                placed, stored_as = os.fspath(case_root / twin[0]), "identical"
                identical_to = twin[1]
            else:
                placed, stored_as, _ = store_copy(tmp, digest, candidates, encoded)
                copies.add(digest, Path(placed).relative_to(case_root).as_posix(),
                           f"s3://{bucket}/{obj.key}")
    except OSError as exc:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise AcquisitionError(
            f"s3://{bucket}/{obj.key}: cannot write the evidence file under "
            f"{evidence_dir} ({exc.strerror or exc})"
        ) from exc
    dest = Path(placed)
    shown = dest.relative_to(case_root).as_posix()
    note = {
        # A different copy of the same key is kept beside the first.
        "renamed": f"s3://{bucket}/{obj.key}: the case already holds different bytes under this "
        f"key's name; this copy is kept at {shown}",
        "encoded": f"s3://{bucket}/{obj.key}: the key cannot be a file name here (too long, "
        f"not a plain path, or a folder of another key); kept at {shown}",
    }.get(stored_as)
    encryption = {
        k: resp[k]
        for k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "SSECustomerAlgorithm")
        if resp.get(k) is not None
    }
    return Fetched(
        obj=obj,
        path=dest,
        sha256=digest,
        size=size,
        version_id=resp.get("VersionId"),
        etag=str(resp.get("ETag", "")).strip('"'),
        last_modified=resp["LastModified"].astimezone(UTC),
        storage_class=resp.get("StorageClass") or obj.storage_class or "STANDARD",
        encryption=encryption or None,
        metadata=dict(resp.get("Metadata") or {}),
        acquired_at=datetime.now(UTC),
        note=note,
        stored_as=stored_as,
        identical_to=identical_to,
    )


def held_objects(case_root: Path, bucket: str) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The latest manifest record of each (key, ETag, size) already acquired from `bucket`."""
    by_object: dict[tuple[str, str, int], dict[str, Any]] = {}
    for entry in read_manifest(case_root).entries:
        if entry.get("bucket") == bucket:
            by_object[(entry["key"], entry.get("etag") or "", int(entry.get("size") or 0))] = entry
    return by_object


def is_intact(case_root: Path, entry: Mapping[str, Any]) -> bool:
    path = case_root / entry["case_path"]
    return (
        path.is_file()
        and not path.is_symlink()  # a copy swapped for a link is not the case's own copy
        and path.stat().st_size == int(entry["size"])
        and sha256_file(path) == entry["sha256"]
    )


def manifest_entry(
    f: Fetched, bucket: str, acquired_by: str, endpoint: str, case_root: Path
) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "key": f.obj.key,
        "version_id": f.version_id,
        "etag": f.etag,
        "size": f.size,
        "last_modified": iso_utc(f.last_modified),
        "storage_class": f.storage_class,
        "encryption": f.encryption,
        "metadata": f.metadata,
        "sha256": f.sha256,
        "acquired_at": iso_utc(f.acquired_at),
        "acquired_by": acquired_by,
        "tool_version": f"s3forensics {__version__}",
        "endpoint": endpoint,
        "case_path": f.path.relative_to(case_root).as_posix(),
        "stored_as": f.stored_as,
        "identical_to": f.identical_to,
    }


def source_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "source": f"s3://{entry['bucket']}/{entry['key']}",
        "bucket": entry["bucket"],
        "key": entry["key"],
        "version_id": entry["version_id"],
        "etag": entry["etag"],
        "last_modified": datetime.fromisoformat(entry["last_modified"]),
        "acquired_at": datetime.fromisoformat(entry["acquired_at"]),
        "stored_as": entry.get("stored_as") or "name",  # absent from earlier manifests
    }


