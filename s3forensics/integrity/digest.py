"""CloudTrail digest files: read one, name its parts, build its signing string, check a signature.

Facts used (AWS CloudTrail user guide, "digest file structure" and "custom validation"; the AWS CLI
`validate-logs` command):

* the signing string is `digestEndTime` + LF + `digestS3Bucket/digestS3Object` + LF + the hex
  SHA-256 of the uncompressed digest + LF + `previousDigestSignature`, where a digest that starts a
  chain has `previousDigestSignature: null` and the string holds the word `null`;
* the signature is SHA256withRSA (PKCS #1 v1.5), hex-encoded in the digest object's S3 user
  metadata `signature`; the next digest repeats it as `previousDigestSignature`;
* `previousDigestHashValue` is the hex SHA-256 of the previous digest's uncompressed content, and
  each `logFiles[].hashValue` the hex SHA-256 of a log file's uncompressed content.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..errors import InputError, TimeRangeError
from ..layouts import TrailName, parse_trail_name, trail_tail
from ..timerange import parse_utc

__all__ = [
    "SIGNATURE_ALGORITHM",
    "Digest",
    "TrailName",
    "check_signature",
    "parse_digest",
    "parse_trail_name",
    "signing_string",
    "trail_tail",
]

SIGNATURE_ALGORITHM = "SHA256withRSA"
_REQUIRED = (
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
    "digestSignatureAlgorithm",
    "logFiles",
)


@dataclass(frozen=True)
class Digest:
    """One parsed digest file and the hash of its uncompressed content."""

    sha256: str
    start: datetime
    end: datetime
    #: `digestEndTime` exactly as written: the signing string uses the text, not a reformatting.
    end_text: str
    bucket: str
    key: str
    fingerprint: str
    algorithm: str
    previous_bucket: str | None
    previous_key: str | None
    previous_hash: str | None
    previous_hash_algorithm: str | None
    previous_signature: str | None
    oldest_event: datetime | None
    newest_event: datetime | None
    #: Each entry as written: s3Bucket, s3Object, hashValue, hashAlgorithm, oldest/newestEventTime.
    log_files: tuple[dict[str, Any], ...]


def _text(data: dict[str, Any], name: str, where: str, *, optional: bool = False) -> str | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(where, f"digest field {name} is missing or not text")
    return value


def _when(
    data: dict[str, Any], name: str, where: str, *, optional: bool = False
) -> datetime | None:
    text = _text(data, name, where, optional=optional)
    if text is None:
        return None
    try:
        return parse_utc(text, name=name)
    except TimeRangeError as exc:
        raise InputError(where, f"digest field {name} is not a UTC timestamp: {text!r}") from exc


def parse_digest(content: bytes, *, where: str) -> Digest:
    """Parse an uncompressed digest file; InputError naming the problem when it is not one."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(where, f"digest is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(where, "digest is not a JSON object")
    missing = [f for f in _REQUIRED if f not in data]
    if missing:
        raise InputError(where, f"not a CloudTrail digest: no {', '.join(missing)}")
    if "previousDigestSignature" not in data:
        raise InputError(
            where,
            "digest field previousDigestSignature is absent (null is expected "
            "when the digest starts a chain)",
        )
    files = data["logFiles"]
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("s3Object"), str) for f in files
    ):
        raise InputError(where, "digest logFiles is not a list of {s3Bucket, s3Object, hashValue}")
    start, end = _when(data, "digestStartTime", where), _when(data, "digestEndTime", where)
    if start is None or end is None:  # unreachable: both are required above
        raise InputError(where, "digest has no digestStartTime or digestEndTime")
    return Digest(
        sha256=hashlib.sha256(content).hexdigest(),
        start=start,
        end=end,
        end_text=str(data["digestEndTime"]),
        bucket=str(_text(data, "digestS3Bucket", where)),
        key=str(_text(data, "digestS3Object", where)),
        fingerprint=str(_text(data, "digestPublicKeyFingerprint", where)).lower(),
        algorithm=str(_text(data, "digestSignatureAlgorithm", where)),
        previous_bucket=_text(data, "previousDigestS3Bucket", where, optional=True),
        previous_key=_text(data, "previousDigestS3Object", where, optional=True),
        previous_hash=(_text(data, "previousDigestHashValue", where, optional=True) or "").lower()
        or None,
        previous_hash_algorithm=_text(data, "previousDigestHashAlgorithm", where, optional=True),
        previous_signature=_text(data, "previousDigestSignature", where, optional=True),
        oldest_event=_when(data, "oldestEventTime", where, optional=True),
        newest_event=_when(data, "newestEventTime", where, optional=True),
        log_files=tuple(files),
    )


def signing_string(digest: Digest) -> bytes:
    """The bytes CloudTrail signs for `digest`."""
    previous = digest.previous_signature if digest.previous_signature is not None else "null"
    return (
        f"{digest.end_text}\n{digest.bucket}/{digest.key}\n{digest.sha256}\n{previous}"
    ).encode()


def check_signature(digest: Digest, signature_hex: str, key: RSAPublicKey) -> bool:
    """True when `signature_hex` is a valid SHA256withRSA signature of `digest` under `key`."""
    try:
        signature = binascii.unhexlify("".join(signature_hex.split()))
    except (binascii.Error, ValueError):
        return False  # not hex: cannot be a signature CloudTrail wrote
    try:
        key.verify(signature, signing_string(digest), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
