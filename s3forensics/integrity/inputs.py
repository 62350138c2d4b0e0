"""What trail verification reads besides the files: object metadata (digest signatures) and the
key ranges acquisitions listed, and the case's copies of the files themselves."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import InputError, S3ForensicsError
from ..evidence_files import read_evidence
from ..layouts import LAYOUTS, ListingRange, listing_ranges
from ..manifest import read_manifest
from ..parse.common import decompress
from ..timerange import TimeRange

if TYPE_CHECKING:
    from .chain import DigestNode

__all__ = [
    "AcquiredRanges",
    "ObjectMetadata",
    "acquired_ranges",
    "load_object_metadata",
    "normalise_metadata",
    "read_copy",
]




def normalise_metadata(value: Any) -> dict[str, str]:
    """S3 user metadata as boto3 returns it: lower-case names without `x-amz-meta-`."""
    if isinstance(value, dict) and isinstance(value.get("Metadata"), dict):
        value = value["Metadata"]  # `aws s3api head-object` output
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for name, text in value.items():
            n = str(name).lower()
            n = n.removeprefix("x-amz-meta-")
            if isinstance(text, str):
                out[n] = text.strip()
    return out


def load_object_metadata(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> dict[str, dict[str, str]]:
    """Read an object-metadata mapping `"<bucket>/<key>" -> {"signature": hex, ...}`."""
    where = "object metadata"
    if isinstance(source, Mapping):
        document: Any = source
    else:
        where = str(source)
        try:
            document = json.loads(Path(source).read_bytes())
        except OSError as exc:
            raise InputError(
                where, f"cannot read object-metadata file ({exc.strerror or exc})"
            ) from exc
        except ValueError as exc:
            raise InputError(where, f"not valid JSON ({exc})") from exc
    if not isinstance(document, Mapping):
        raise InputError(
            where,
            'expected a JSON object {"<bucket>/<key>": {"signature": "<hex>", '
            '"signature-algorithm": "SHA256withRSA"}}',
        )
    out: dict[str, dict[str, str]] = {}
    for name, value in document.items():
        if not isinstance(value, Mapping):
            raise InputError(where, f"entry {name!r} is not an object of metadata names to values")
        out[str(name).removeprefix("s3://")] = normalise_metadata(dict(value))
    return out


@dataclass
class ObjectMetadata:
    """Object metadata by case path, by "bucket/key" and by file name, with where it came from."""

    by_path: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    by_object: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    by_name: dict[str, list[tuple[dict[str, str], str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, root: Path, user: Mapping[str, dict[str, str]], notes: list[str]) -> ObjectMetadata:
        """Index the manifest's metadata and the user's (which wins where both name an object)."""
        index = cls()
        manifest = read_manifest(root)
        notes.extend(f"manifest: {p}" for p in manifest.problems)
        for entry in manifest.entries:
            meta = (normalise_metadata(entry.get("metadata")), "the acquisition manifest")
            index.by_path[str(entry["case_path"])] = meta
            if entry.get("bucket") and entry.get("key"):
                index.by_object.setdefault(f"{entry['bucket']}/{entry['key']}", meta)
        for name, meta_dict in user.items():
            meta = (meta_dict, "the object-metadata file")
            index.by_object[name] = meta  # what the user gives wins over the manifest
            index.by_name.setdefault(PurePosixPath(name).name, []).append(meta)
        return index

    def lookup(self, node: DigestNode) -> tuple[dict[str, str], str] | None:
        """The metadata of a digest held, and where it came from; None when none is known."""
        names = []
        if node.ev_bucket and node.ev_key:
            names.append(f"{node.ev_bucket}/{node.ev_key}")
        if node.digest is not None:
            names.append(f"{node.digest.bucket}/{node.digest.key}")
        for name in names:
            if name in self.by_object and self.by_object[name][0].get("signature"):
                return self.by_object[name]
        if node.case_path in self.by_path:
            return self.by_path[node.case_path]
        for name in names:
            if name in self.by_object:
                return self.by_object[name]
        by_name = self.by_name.get(PurePosixPath(node.case_path).name, [])
        return by_name[0] if len(by_name) == 1 else None


@dataclass
class AcquiredRanges:
    """What acquisitions listed (from `context/acquisitions.jsonl`): log key ranges, digest ranges."""

    #: acq_bucket, prefix, start_after, stop_at of every CloudTrail log listing
    log_ranges: pl.DataFrame
    #: (bucket, listing) of every digest listing, rebuilt from the run's window and lookback
    digest_ranges: list[tuple[str, ListingRange]]

    def digest_listed(self, bucket: str | None, key: str) -> bool | None:
        """True if an acquisition listed where `key` belongs, False if it listed its folder only
        for other times, None when no acquisition covered that folder."""
        roots = [r for b, r in self.digest_ranges if b == bucket and key.startswith(r.root)]
        if not roots:
            return None
        return any(r.wants(key) for r in roots)


def acquired_ranges(root: Path, notes: list[str]) -> AcquiredRanges:
    """What the case's acquisitions listed for CloudTrail, from `context/acquisitions.jsonl`."""
    logs: list[dict[str, str]] = []
    digests: list[tuple[str, ListingRange]] = []
    path = root / "context" / "acquisitions.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            run = json.loads(line)
            if not any(
                str(r.get("layout", "")).startswith("cloudtrail") for r in run.get("ranges") or []
            ):
                continue  # an access-log acquisition
            window = TimeRange.parse(run["start"], run["end"])
            seconds = run["lookback_seconds"]  # one number, or one per kind in older records
            if isinstance(seconds, dict):
                seconds = seconds["cloudtrail"]
            lookback = timedelta(seconds=float(seconds))
            recorded: dict[tuple[str, str, str], set[str]] = {}
            for r in run.get("ranges") or []:
                if r.get("layout") == "cloudtrail":
                    logs.append(
                        {
                            "acq_bucket": str(run["bucket"]),
                            "prefix": str(r["prefix"]),
                            "start_after": str(r["start_after"]),
                            "stop_at": str(r["stop_at"]),
                        }
                    )
                elif r.get("layout") == "cloudtrail-digest":
                    fields = (
                        str(r.get("account") or ""),
                        str(r.get("region") or ""),
                        str(r.get("org") or ""),
                    )
                    recorded.setdefault(fields, set()).add(str(r["prefix"]))
            # Digest listings keep keys by the time in their name: rebuild them from the run's
            # parameters, to ask each one exactly which keys it wanted.
            for (account, region, org), prefixes in recorded.items():
                for listing in listing_ranges(
                    LAYOUTS["cloudtrail-digest"],
                    window,
                    prefix=str(run.get("prefix") or ""),
                    lookback=lookback,
                    account=account,
                    region=region,
                    org=org,
                ):
                    if listing.prefix in prefixes:
                        digests.append((str(run["bucket"]), listing))
        except (ValueError, KeyError, TypeError, AttributeError, S3ForensicsError):
            notes.append(
                f"context/acquisitions.jsonl line {n}: unreadable; its windows are not "
                "used to tell missing files from files not acquired"
            )
    schema = {
        "acq_bucket": pl.String,
        "prefix": pl.String,
        "start_after": pl.String,
        "stop_at": pl.String,
    }
    return AcquiredRanges(pl.DataFrame(logs, schema=schema), digests)


def read_copy(
    root: Path, case_path: str, sha256: str
) -> tuple[bytes | None, str | None, str | None]:
    """(uncompressed content, note on the copy, note on reading it)."""
    try:
        data = read_evidence(root, case_path)  # a file of its own or a member of a pack
    except OSError as exc:
        return None, f"the case copy {case_path} cannot be read ({exc.strerror or exc})", None
    copy_note = None
    if hashlib.sha256(data).hexdigest() != sha256:
        copy_note = (
            f"the case copy {case_path} no longer has the SHA-256 recorded when it was loaded "
            f"({sha256[:16]}...): it changed inside the case; run `s3forensics verify`"
        )
    try:
        return decompress(data, where=case_path), copy_note, None
    except InputError as exc:
        return None, copy_note, exc.problem
