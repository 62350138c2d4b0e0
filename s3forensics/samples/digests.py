"""CloudTrail digest files: an hourly, signed chain over the log files, as log validation makes.

Signed with a TEST-ONLY RSA key shipped as package data; its public key is written next to the
samples. The signature is not in the digest but in the object's user metadata, as in S3.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .cloudtrail import TrailFile, gzip_bytes
from .model import iso
from .world import ORG_ID, REGION, TRAIL_BUCKET, TRAIL_NAME, VICTIM

__all__ = [
    "FINGERPRINT_DEFINITION",
    "Digest",
    "build_digests",
    "fingerprint",
    "public_key_pem",
    "signing_key",
    "signing_string",
]

SIGNATURE_ALGORITHM = "SHA256withRSA"
FINGERPRINT_DEFINITION = "hex MD5 of the DER-encoded SubjectPublicKeyInfo of the public key"
_KEY_FILE = "test_only_cloudtrail_signing_key.pem"


def signing_key() -> rsa.RSAPrivateKey:
    """The TEST-ONLY private key that signs the sample digests (published on purpose)."""
    pem = resources.files(__package__).joinpath("data", _KEY_FILE).read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """The public half, as a PEM SubjectPublicKeyInfo."""
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """The key's fingerprint as the digests name it (see FINGERPRINT_DEFINITION)."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.md5(der).hexdigest()


def signing_string(digest: dict[str, Any], content: bytes) -> str:
    """What is signed: end time, bucket/key, SHA-256 of the digest, previous signature."""
    previous = digest["previousDigestSignature"] or "null"
    return (f"{digest['digestEndTime']}\n{digest['digestS3Bucket']}/{digest['digestS3Object']}\n"
            f"{hashlib.sha256(content).hexdigest()}\n{previous}")


@dataclass(frozen=True)
class Digest:
    """One digest object and its signature (S3 user metadata)."""

    key: str
    content: bytes  # uncompressed JSON
    signature: str  # hex
    end: datetime
    log_files: int

    @property
    def path(self) -> str:
        """`bucket/key`, how the answer key names a file."""
        return f"{TRAIL_BUCKET}/{self.key}"

    def body(self) -> bytes:
        """The object's bytes (gzip)."""
        return gzip_bytes(self.content)

    def metadata(self) -> dict[str, str]:
        """The object's S3 user metadata (x-amz-meta-*)."""
        return {"signature": self.signature, "signature-algorithm": SIGNATURE_ALGORITHM}


def _digest_key(end: datetime) -> str:
    return (f"AWSLogs/{ORG_ID}/{VICTIM}/CloudTrail-Digest/{REGION}/{end:%Y/%m/%d}/"
            f"{VICTIM}_CloudTrail-Digest_{REGION}_{TRAIL_NAME}_{REGION}_{end:%Y%m%dT%H%M%SZ}.json.gz")


def build_digests(files: list[TrailFile], *, start: datetime, until: datetime,
                  rng: random.Random) -> list[Digest]:
    """Hourly digests from `start` covering every file delivered before the last one's end."""
    key = signing_key()
    print_ = fingerprint(key.public_key())
    last = max([until, *(f.delivered for f in files)])
    digests: list[Digest] = []
    begin, previous = start, None
    while begin <= last:
        end = begin + timedelta(hours=1, seconds=rng.randint(0, 25))
        covered = [f for f in files if begin <= f.delivered < end]
        times = [t for f in covered for t in f.event_times()]
        body: dict[str, Any] = {
            "awsAccountId": VICTIM,
            "digestStartTime": iso(begin),
            "digestEndTime": iso(end),
            "digestS3Bucket": TRAIL_BUCKET,
            "digestS3Object": _digest_key(end),
            "digestPublicKeyFingerprint": print_,
            "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
            "newestEventTime": max(times) if times else None,
            "oldestEventTime": min(times) if times else None,
            "previousDigestS3Bucket": TRAIL_BUCKET if previous else None,
            "previousDigestS3Object": previous.key if previous else None,
            "previousDigestHashValue":
                hashlib.sha256(previous.content).hexdigest() if previous else None,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": previous.signature if previous else None,
            "logFiles": [
                {"s3Bucket": TRAIL_BUCKET, "s3Object": f.key,
                 "hashValue": hashlib.sha256(f.content()).hexdigest(), "hashAlgorithm": "SHA-256",
                 "newestEventTime": f.event_times()[1], "oldestEventTime": f.event_times()[0]}
                for f in covered
            ],
        }
        content = json.dumps(body, separators=(",", ":")).encode()
        signature = key.sign(signing_string(body, content).encode(), padding.PKCS1v15(),
                             hashes.SHA256()).hex()
        previous = Digest(_digest_key(end), content, signature, end, len(covered))
        digests.append(previous)
        begin = end
    return digests
