"""CloudTrail validation inputs found among the evidence: public keys and digest signatures.

Next to the log folders, a responder often receives what validation needs and the log files do
not hold: the trail's public keys (a PEM or DER key, or what `aws cloudtrail list-public-keys`
prints) and the digests' S3 object metadata, where CloudTrail keeps each digest's signature (a JSON
object `{"<bucket>/<key>": {"signature": "<hex>", ...}}`). They are not logs, so ingest does not
load them as evidence; it hands them to `keep_context`, which recognises them, copies them byte
for byte into `<case>/context/integrity/` and records each (source, SHA-256, when) in
`<case>/context/integrity.jsonl`. `verify_trail` then uses them without flags, after checking
that each copy still has the hash recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from ..errors import InputError
from .keys import PublicKey, public_keys_from_bytes

__all__ = [
    "CONTEXT_FOLDER",
    "CONTEXT_RECORD",
    "KEY_KIND",
    "METADATA_KIND",
    "ContextFile",
    "context_object_metadata",
    "context_public_keys",
    "keep_context",
    "recognise_context",
]

#: Where kept files go, relative to the case root.
CONTEXT_FOLDER = "context/integrity"
#: One JSON line per kept file: kind, source, case_path, sha256, size, detail, added_at, tool_version.
CONTEXT_RECORD = "context/integrity.jsonl"
KEY_KIND = "cloudtrail-public-key"
METADATA_KIND = "digest-object-metadata"

# A key file is small; a year of hourly digest signatures for a few regions is a few MB.
_MAX_KEY_BYTES = 1 << 20
_MAX_METADATA_BYTES = 256 << 20
_PUBLIC_PEM = (b"-----BEGIN PUBLIC KEY-----", b"-----BEGIN RSA PUBLIC KEY-----",
               b"-----BEGIN CERTIFICATE-----")
_SIGNATURE_NAMES = ("signature", "x-amz-meta-signature")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class ContextFile:
    """One validation input kept in the case: what it is, where it came from, where it is now."""

    kind: str
    source: str
    case_path: str
    sha256: str
    size: int
    #: What was recognised, e.g. "1 RSA public key (fingerprint ...)" or "180 digest signatures".
    detail: str


def _is_signature_entry(value: Any) -> bool:
    if isinstance(value, Mapping) and isinstance(value.get("Metadata"), Mapping):
        value = value["Metadata"]  # `aws s3api head-object` output
    return isinstance(value, Mapping) and any(
        str(k).lower() in _SIGNATURE_NAMES for k in value
    )


def recognise_context(path: str | os.PathLike[str], content: bytes) -> tuple[str, str] | None:
    """(kind, detail) when `content` is a CloudTrail public key file or digest object metadata."""
    where = os.fspath(path)
    head = content.lstrip()[:1]
    if head in (b"{", b"["):
        if len(content) > _MAX_METADATA_BYTES:
            return None
        try:
            document = json.loads(content)
        except ValueError:
            return None
        if isinstance(document, Mapping) and "PublicKeyList" in document:
            try:
                keys = public_keys_from_bytes(content, where=where)
            except InputError:
                return None
            return KEY_KIND, _describe_keys(keys)
        if (isinstance(document, Mapping) and document
                and all(_is_signature_entry(v) for v in document.values())):
            return METADATA_KIND, f"{len(document):,} digest signature(s) from S3 object metadata"
        return None
    if len(content) > _MAX_KEY_BYTES:
        return None
    if any(marker in content for marker in _PUBLIC_PEM) or (
        content[:1] == b"\x30" and b"-----BEGIN" not in content
    ):
        try:
            keys = public_keys_from_bytes(content, where=where)
        except InputError:
            return None
        return KEY_KIND, _describe_keys(keys)
    return None


def _describe_keys(keys: list[PublicKey]) -> str:
    prints = ", ".join(k.fingerprint for k in keys[:3]) + (" ..." if len(keys) > 3 else "")
    return f"{len(keys)} RSA public key(s) (fingerprint {prints})"


def _records(case_root: Path) -> list[dict[str, Any]]:
    path = case_root / CONTEXT_RECORD
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # reported by the loaders: a record they cannot use
    return out


def keep_context(case_root: str | os.PathLike[str], path: str | os.PathLike[str], data: bytes,
                 content: bytes | None = None) -> ContextFile | None:
    """Keep a public key or digest metadata file in the case (copied and recorded), else None.

    `data` is the file's bytes as read, `content` the same decompressed (defaults to `data`).
    Keeping the same bytes twice records them once.
    """
    from .. import __version__

    recognised = recognise_context(path, data if content is None else content)
    if recognised is None:
        return None
    kind, detail = recognised
    root = Path(case_root)
    sha = hashlib.sha256(data).hexdigest()
    # The name is the sender's: kept readable but made safe (no separators, control characters
    # or names too long for the file system); the record keeps the original.
    name = _UNSAFE.sub("_", PurePath(os.fspath(path)).name)[:100].lstrip(".") or "file"
    case_path = f"{CONTEXT_FOLDER}/{sha[:16]}_{name}"
    kept = ContextFile(kind, os.fspath(path), case_path, sha, len(data), detail)
    if any(r.get("sha256") == sha and r.get("kind") == kind for r in _records(root)):
        return kept
    dest = root / case_path
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    record = {**asdict(kept), "added_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
              "tool_version": __version__}
    with (root / CONTEXT_RECORD).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return kept


def _kept(case_root: Path, kind: str, notes: list[str]) -> list[tuple[str, bytes]]:
    """(case path, bytes) of every kept file of `kind` whose copy still has its recorded hash."""
    out = []
    for r in _records(case_root):
        if r.get("kind") != kind:
            continue
        case_path = str(r.get("case_path"))
        try:
            data = (case_root / case_path).read_bytes()
        except OSError as exc:
            notes.append(f"{case_path}: kept at ingest but unreadable now ({exc.strerror or exc}); "
                         "not used")
            continue
        if hashlib.sha256(data).hexdigest() != r.get("sha256"):
            notes.append(f"{case_path}: changed since ingest recorded it (SHA-256 differs); not used")
            continue
        out.append((case_path, data))
    return out


def context_public_keys(case_root: str | os.PathLike[str]) -> tuple[list[PublicKey], list[str]]:
    """Public keys ingest kept in the case, and notes on kept files that could not be used."""
    notes: list[str] = []
    keys: list[PublicKey] = []
    for case_path, data in _kept(Path(case_root), KEY_KIND, notes):
        try:
            keys.extend(public_keys_from_bytes(data, where=case_path))
        except InputError as exc:
            notes.append(f"{case_path}: {exc.problem}; not used")
    return keys, notes


def context_object_metadata(
    case_root: str | os.PathLike[str],
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Digest object metadata ingest kept in the case ("bucket/key" -> metadata), and notes."""
    notes: list[str] = []
    merged: dict[str, dict[str, Any]] = {}
    for case_path, data in _kept(Path(case_root), METADATA_KIND, notes):
        try:
            document = json.loads(data)
        except ValueError as exc:
            notes.append(f"{case_path}: not valid JSON ({exc}); not used")
            continue
        for name, value in document.items():
            if isinstance(value, Mapping) and isinstance(value.get("Metadata"), Mapping):
                value = value["Metadata"]
            if isinstance(value, Mapping):
                merged[str(name)] = dict(value)
    return merged, notes
