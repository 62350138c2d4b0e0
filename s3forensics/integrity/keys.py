"""CloudTrail public keys: read PEM, DER and ListPublicKeys JSON, and index them by fingerprint.

CloudTrail names the key that signed a digest by `digestPublicKeyFingerprint`; `ListPublicKeys`
returns each key as DER SubjectPublicKeyInfo (`Value`) with its `Fingerprint`. A key given as a
bare PEM or DER file carries no fingerprint, so we compute one: the hex MD5 of the DER
SubjectPublicKeyInfo (what the bundled samples use). Because a user's key file may come from
elsewhere, such keys are also tried against digests whose fingerprint matches nothing (see
`verify.py`): a signature that verifies identifies its key whatever the fingerprint says.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..errors import InputError, TimeRangeError
from ..timerange import parse_utc

__all__ = [
    "CONTEXT_KEY_FILES",
    "PublicKey",
    "case_public_keys",
    "fingerprint_of",
    "index_keys",
    "keys_from_json",
    "load_public_keys",
    "public_keys_from_bytes",
]

#: Where acquisition saves `ListPublicKeys` output, relative to the case root (first name wins).
CONTEXT_KEY_FILES: tuple[str, ...] = (
    "context/cloudtrail-public-keys.json",
    "context/cloudtrail_public_keys.json",
    "context/public-keys.json",
)
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\s.*?-----END \1-----", re.DOTALL)
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


@dataclass(frozen=True)
class PublicKey:
    """One RSA public key that may have signed digests, and where it came from."""

    #: Lower-case hex; what digests name in `digestPublicKeyFingerprint`.
    fingerprint: str
    key: RSAPublicKey
    #: File (and entry) the key was read from, for messages.
    source: str
    #: True when the fingerprint came with the key (ListPublicKeys), False when we computed it.
    fingerprint_given: bool = False
    valid_from: datetime | None = None
    valid_to: datetime | None = None


def fingerprint_of(der: bytes) -> str:
    """Hex MD5 of a DER SubjectPublicKeyInfo: the fingerprint the bundled samples use."""
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def _der(key: RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _rsa(key: object, where: str) -> RSAPublicKey:
    if not isinstance(key, RSAPublicKey):
        raise InputError(where, f"not an RSA key ({type(key).__name__}); CloudTrail signs with RSA")
    return key


def _from_der(der: bytes, where: str) -> RSAPublicKey:
    try:
        return _rsa(serialization.load_der_public_key(der), where)
    except ValueError:
        pass
    try:
        return _rsa(x509.load_der_x509_certificate(der).public_key(), where)
    except ValueError as exc:
        raise InputError(where, "not a DER public key or certificate") from exc


def _from_pem(data: bytes, where: str) -> list[RSAPublicKey]:
    keys: list[RSAPublicKey] = []
    for block in _PEM_BLOCK.finditer(data):
        label, text = block.group(1).decode(), block.group(0)
        try:
            if label in ("PUBLIC KEY", "RSA PUBLIC KEY"):
                keys.append(_rsa(serialization.load_pem_public_key(text), where))
            elif label == "CERTIFICATE":
                keys.append(_rsa(x509.load_pem_x509_certificate(text).public_key(), where))
            elif label in ("PRIVATE KEY", "RSA PRIVATE KEY"):
                # Accepted for test keys such as the samples' signing key: only its public half is used.
                private = serialization.load_pem_private_key(text, password=None)
                keys.append(_rsa(private.public_key(), where))
        except (ValueError, TypeError) as exc:
            raise InputError(where, f"unreadable PEM {label} block ({exc})") from exc
    if not keys:
        raise InputError(where, "no PUBLIC KEY, CERTIFICATE or PRIVATE KEY block in this PEM file")
    return keys


def _decode_value(value: Any, where: str) -> bytes:
    """ListPublicKeys `Value`: base64 in AWS CLI output, hex in the case's context files."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(where, "public key entry has no Value")
    text = "".join(value.split())
    if _HEX.fullmatch(text):
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise InputError(where, "public key Value is neither base64 nor hex") from exc


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_utc(str(value))
    except TimeRangeError:  # a validity time we cannot read only loses the validity note
        return None


def keys_from_json(document: Any, *, source: str) -> tuple[list[PublicKey], list[str]]:
    """Keys in a ListPublicKeys response (raw, or as the case's context saves it), and notes."""
    keys: list[PublicKey] = []
    notes: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("PublicKeyList"), list):
                for i, entry in enumerate(node["PublicKeyList"]):
                    where = f"{source} {path}PublicKeyList[{i}]"
                    if not isinstance(entry, dict):
                        raise InputError(where, "not a public key entry")
                    key = _from_der(_decode_value(entry.get("Value"), where), where)
                    given = str(entry.get("Fingerprint") or "").strip().lower()
                    keys.append(
                        PublicKey(
                            fingerprint=given or fingerprint_of(_der(key)),
                            key=key,
                            source=where,
                            fingerprint_given=bool(given),
                            valid_from=_time(entry.get("ValidityStartTime")),
                            valid_to=_time(entry.get("ValidityEndTime")),
                        )
                    )
                return
            if node.get("operation") == "ListPublicKeys" and isinstance(node.get("error"), dict):
                err = node["error"]
                notes.append(
                    f"{source} {path.rstrip('.') or '.'}: ListPublicKeys failed at acquisition "
                    f"({err.get('code')}: {err.get('message')}"
                    + (f"; needs {err['needs']}" if err.get("needs") else "")
                    + ")"
                )
                return
            for k, v in node.items():
                walk(v, f"{path}{k}.")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}].")

    walk(document, "")
    return keys, notes


def load_public_keys(path: str | os.PathLike[str]) -> list[PublicKey]:
    """Read every public key in a PEM, DER or ListPublicKeys JSON file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(str(p), f"cannot read public key file ({exc.strerror or exc})") from exc
    return public_keys_from_bytes(data, where=str(p))


def public_keys_from_bytes(data: bytes, *, where: str) -> list[PublicKey]:
    """Every public key in the bytes of a PEM, DER or ListPublicKeys JSON file (`where` names it)."""
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise InputError(where, f"not valid JSON ({exc})") from exc
        keys, _ = keys_from_json(document, source=where)
        if not keys:
            raise InputError(
                where,
                "no PublicKeyList entries (expected `aws cloudtrail list-public-keys` output)",
            )
        return keys
    if b"-----BEGIN" in data:
        found = _from_pem(data, where)
    else:
        found = [_from_der(data, where)]
    return [PublicKey(fingerprint=fingerprint_of(_der(k)), key=k, source=where) for k in found]


def case_public_keys(case_root: str | os.PathLike[str]) -> tuple[list[PublicKey], list[str]]:
    """Keys captured in the case at acquisition (ListPublicKeys), and notes on what failed."""
    root = Path(case_root)
    for name in CONTEXT_KEY_FILES:
        path = root / name
        if not path.exists():
            continue
        try:
            document = json.loads(path.read_bytes())
            return keys_from_json(document, source=name)
        except (ValueError, InputError) as exc:
            return [], [f"{name}: unreadable ({exc}); supply the keys with --public-key"]
    return [], []


def index_keys(keys: Iterable[PublicKey]) -> dict[str, list[PublicKey]]:
    """Keys grouped by fingerprint (a key with both an AWS and a computed fingerprint is in both)."""
    index: dict[str, list[PublicKey]] = {}
    for k in keys:
        index.setdefault(k.fingerprint, []).append(k)
        computed = fingerprint_of(_der(k.key))
        if computed != k.fingerprint:
            index.setdefault(computed, []).append(k)
    return index
