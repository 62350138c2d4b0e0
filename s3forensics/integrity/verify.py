"""Verify a case's CloudTrail files offline: digest signatures, the chain, log hashes, coverage.

How held files are matched to what digests name (`logFiles[].s3Object`, `previousDigestS3Object`):
CloudTrail file names are unique (account, region, delivery time and a random string), so a held
file is a candidate for a named one when the file names are equal; how well the rest of the path
agrees is reported in `detail`: the evidence record's bucket and key (acquired objects), else the
case path ending with the full key, else the `AWSLogs/...` tails being equal (local copies under any
folder), else the file name alone. Every candidate is judged on its content, so a second copy with
other bytes shows up as `modified`, never hidden behind a good one.

Which signature proves a digest: the one in its S3 metadata (captured by acquisition in the
manifest, or given in an object-metadata file) and the one the next digest repeats as
`previousDigestSignature`; each one held is checked. A digest is *authenticated* when a signature
verifies, or when an authenticated next digest records its SHA-256 (`previousDigestHashValue`), so
only the newest digest of a chain strictly needs its metadata. Log files are `valid` only under an
authenticated digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import InputError, S3ForensicsError
from ..evidence_files import read_evidence
from ..layouts import CLOCK_MARGIN, LAYOUTS, TRAIL_TAIL, ListingRange, listing_ranges
from ..manifest import read_manifest
from ..parse.common import decompress
from ..timerange import TimeRange
from .context import context_object_metadata, context_public_keys
from .digest import (
    SIGNATURE_ALGORITHM,
    Digest,
    check_signature,
    parse_digest,
    parse_trail_name,
    trail_tail,
)
from .keys import PublicKey, case_public_keys, index_keys, load_public_keys
from .report import IntegrityReport
from .tables import (
    COVERAGE_COLUMNS,
    FAILING,
    INTEGRITY_COLUMNS,
    load_tables,
    save_tables,
)

if TYPE_CHECKING:
    from ..case import Case

__all__ = ["load_object_metadata", "read_integrity", "verify_trail"]

# A log key's time is truncated to the minute; its delivery is within the minute after it.
_KEY_RESOLUTION = timedelta(minutes=1)
# Log files this close to the ends of a run of digests may belong to the digest just outside it,
# so they are "unverified" rather than "extra" (clock skew and name truncation).
_EDGE = CLOCK_MARGIN
_KEY_HINT = (
    "supply it (a PEM or DER public key, or the JSON output of `aws cloudtrail "
    "list-public-keys` for that region): ingest it with the evidence, or pass --public-key FILE"
)


# -- inputs ------------------------------------------------------------------------------------


def _normalise_metadata(value: Any) -> dict[str, str]:
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
        out[str(name).removeprefix("s3://")] = _normalise_metadata(dict(value))
    return out


@dataclass
class _Metadata:
    """Object metadata by case path, by "bucket/key" and by file name, with where it came from."""

    by_path: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    by_object: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    by_name: dict[str, list[tuple[dict[str, str], str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, root: Path, user: Mapping[str, dict[str, str]], notes: list[str]) -> _Metadata:
        index = cls()
        manifest = read_manifest(root)
        notes.extend(f"manifest: {p}" for p in manifest.problems)
        for entry in manifest.entries:
            meta = (_normalise_metadata(entry.get("metadata")), "the acquisition manifest")
            index.by_path[str(entry["case_path"])] = meta
            if entry.get("bucket") and entry.get("key"):
                index.by_object.setdefault(f"{entry['bucket']}/{entry['key']}", meta)
        for name, meta_dict in user.items():
            meta = (meta_dict, "the object-metadata file")
            index.by_object[name] = meta  # what the user gives wins over the manifest
            index.by_name.setdefault(PurePosixPath(name).name, []).append(meta)
        return index

    def lookup(self, node: _Node) -> tuple[dict[str, str], str] | None:
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
class _Acquired:
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


def _acquired(root: Path, notes: list[str]) -> _Acquired:
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
    return _Acquired(pl.DataFrame(logs, schema=schema), digests)


class _Keys:
    """Signature checks against the known public keys."""

    def __init__(self, keys: Sequence[PublicKey]) -> None:
        self.index = index_keys(keys)
        # Keys without an AWS fingerprint are also tried on digests whose fingerprint matches none.
        self.loose = [k for k in keys if not k.fingerprint_given]

    def check(self, digest: Digest, signature: str) -> tuple[str, str | None]:
        """'ok', 'fail' or 'nokey', and a note when a key was found other than by fingerprint."""
        candidates = self.index.get(digest.fingerprint, [])
        if candidates:
            if any(check_signature(digest, signature, k.key) for k in candidates):
                return "ok", None
            return "fail", None
        for k in self.loose:
            if check_signature(digest, signature, k.key):
                return "ok", (
                    f"verified with the key from {k.source} (computed fingerprint "
                    f"{k.fingerprint}; the digest names {digest.fingerprint})"
                )
        return "nokey", None


# -- digests -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    """One digest file held in the case and what its checks found."""

    evidence_id: str
    case_path: str
    ev_bucket: str | None
    ev_key: str | None
    sha256: str | None = None  # of the uncompressed content
    digest: Digest | None = None
    meta_signature: str | None = None
    meta_source: str | None = None
    meta_result: str | None = None
    succ_results: list[tuple[_Node, str]] = field(default_factory=list)
    successors: list[_Node] = field(default_factory=list)
    preds: list[_Node] = field(default_factory=list)
    issues: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    auth: bool = False

    def fail(self, status: str, text: str) -> None:
        self.issues.setdefault(status, []).append(text)

    @property
    def location(self) -> str:
        return (
            f"{self.ev_bucket}/{self.ev_key}" if self.ev_bucket and self.ev_key else self.case_path
        )

    def group(self) -> tuple[str | None, str | None, str | None]:
        name = parse_trail_name(self.digest.key if self.digest else self.ev_key or self.case_path)
        if name is None and self.digest is not None:
            name = parse_trail_name(self.ev_key or self.case_path)
        return (name.account, name.region, name.trail) if name else (None, None, None)


def _read_copy(
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


def _load_node(root: Path, row: dict[str, Any]) -> _Node:
    node = _Node(row["evidence_id"], row["case_path"], row["bucket"], row["key"])
    content, copy_note, read_note = _read_copy(root, node.case_path, row["sha256"])
    if copy_note:
        node.fail("copy_changed", copy_note)
    if content is None:
        node.fail("malformed", read_note or "the digest cannot be read")
        return node
    node.sha256 = hashlib.sha256(content).hexdigest()
    try:
        node.digest = parse_digest(content, where=node.case_path)
    except InputError as exc:
        node.fail("malformed", exc.problem)
        return node
    d = node.digest
    if d.algorithm != SIGNATURE_ALGORITHM:
        node.fail(
            "malformed",
            f"unsupported digestSignatureAlgorithm {d.algorithm!r} "
            f"(only {SIGNATURE_ALGORITHM} is defined)",
        )
    if node.ev_bucket and node.ev_key:
        if (node.ev_bucket, node.ev_key) != (d.bucket, d.key):
            node.fail(
                "moved",
                f"acquired from s3://{node.ev_bucket}/{node.ev_key} but names itself "
                f"s3://{d.bucket}/{d.key}: moved or copied from where CloudTrail wrote it",
            )
    else:
        cp, tail = node.case_path, trail_tail(node.case_path)
        same = (
            cp.endswith("/" + d.key)
            or (tail is not None and tail == trail_tail(d.key))
            or (tail is None and PurePosixPath(cp).name == PurePosixPath(d.key).name)
        )
        if not same:
            node.fail(
                "moved",
                f"held as {cp} but names itself s3://{d.bucket}/{d.key}: "
                "renamed or moved from where CloudTrail wrote it",
            )
    return node


def _tail_key(path: str) -> str:
    return trail_tail(path) or PurePosixPath(path).name


class _Chain:
    """The digests held, how they link, and their signature and link checks."""

    def __init__(self, nodes: list[_Node], keys: _Keys) -> None:
        self.nodes = nodes
        self.keys = keys
        self.by_self: dict[tuple[str, str], list[_Node]] = {}
        self.by_tail: dict[str, list[_Node]] = {}
        for n in nodes:
            if n.digest is not None:
                self.by_self.setdefault((n.digest.bucket, n.digest.key), []).append(n)
                self.by_tail.setdefault(_tail_key(n.digest.key), []).append(n)
            self.by_tail.setdefault(_tail_key(n.location), []).append(n)
        #: (digest naming it, bucket, key) of previous digests not held
        self.absent: list[tuple[_Node, str | None, str]] = []

    def find(self, bucket: str | None, key: str) -> list[_Node]:
        exact = self.by_self.get((bucket or "", key))
        if exact:
            return exact
        return list(dict.fromkeys(self.by_tail.get(_tail_key(key), [])))

    def run(self) -> None:
        parsed = [n for n in self.nodes if n.digest is not None]
        for e in parsed:
            d = e.digest
            assert d is not None
            if d.previous_key is None:
                continue
            e.preds = [p for p in self.find(d.previous_bucket, d.previous_key) if p is not e]
            if not e.preds:
                self.absent.append((e, d.previous_bucket, d.previous_key))
            for p in e.preds:
                p.successors.append(e)
        for n in parsed:
            self._signatures(n)
        for e in parsed:
            self._link(e)
        self._authenticate(parsed)
        for n in parsed:
            self._key_and_signature_status(n)

    def _signatures(self, n: _Node) -> None:
        d = n.digest
        assert d is not None
        if n.meta_signature:
            n.meta_result, note = self.keys.check(d, n.meta_signature)
            if note:
                n.notes.append(note)
        for e in n.successors:
            sig = e.digest.previous_signature if e.digest else None
            if sig:
                result, note = self.keys.check(d, sig)
                n.succ_results.append((e, result))
                if note and not n.notes:
                    n.notes.append(note)

    def _link(self, e: _Node) -> None:
        d = e.digest
        assert d is not None
        if d.previous_key is None or not e.preds:
            return  # a chain start, or a previous digest not held (reported on its own row)
        where = f"previous digest {d.previous_key}"
        if not d.previous_hash:
            e.fail("chain_broken", f"names the {where} but records no previousDigestHashValue")
            return
        if d.previous_hash_algorithm not in (None, "SHA-256"):
            e.notes.append(
                f"previousDigestHashAlgorithm is {d.previous_hash_algorithm!r}, not SHA-256"
            )
        matched = [p for p in e.preds if p.sha256 == d.previous_hash]
        if not matched:
            held = ", ".join(sorted({(p.sha256 or "unreadable")[:16] + "..." for p in e.preds}))
            e.fail(
                "chain_broken",
                f"previousDigestHashValue {d.previous_hash[:16]}... does not match the "
                f"{where} held in the case (SHA-256 {held}): that digest was altered "
                "or replaced",
            )
            return
        if not d.previous_signature:
            e.fail("chain_broken", f"names the {where} but records no previousDigestSignature")
            return
        for p in matched:
            result = next((r for s, r in p.succ_results if s is e), None)
            if result == "fail":
                e.fail("chain_broken", f"previousDigestSignature does not verify the {where}")
            elif (
                result == "nokey"
                and p.meta_signature
                and p.meta_signature.lower() != d.previous_signature.lower()
            ):
                e.fail(
                    "chain_broken",
                    f"previousDigestSignature differs from the signature in the S3 "
                    f"metadata of the {where}",
                )

    def _authenticate(self, parsed: list[_Node]) -> None:
        def verified(n: _Node) -> bool:
            return n.meta_result == "ok" or any(r == "ok" for _, r in n.succ_results)

        eligible = [
            n
            for n in parsed
            if "malformed" not in n.issues and "moved" not in n.issues and n.meta_result != "fail"
        ]
        for n in eligible:
            n.auth = verified(n)
        # Authentication flows from a digest to its predecessor through previousDigestHashValue.
        allowed = set(eligible)
        queue = deque(n for n in eligible if n.auth)
        while queue:
            e = queue.popleft()
            for p in e.preds:
                if p in allowed and not p.auth and e.digest and e.digest.previous_hash == p.sha256:
                    p.auth = True
                    queue.append(p)

    def _key_and_signature_status(self, n: _Node) -> None:
        d = n.digest
        assert d is not None
        results = [r for r in [n.meta_result, *(r for _, r in n.succ_results)] if r is not None]
        if n.meta_result == "fail":
            n.fail(
                "bad_signature",
                f"the signature in its S3 metadata ({n.meta_source}) does not verify: "
                "the digest was altered after CloudTrail signed it, or the signature "
                "was replaced",
            )
        elif n.meta_result is None and "fail" in results and "ok" not in results:
            n.fail(
                "bad_signature",
                "the signature the next digest records for it (previousDigestSignature) "
                "does not verify: the digest was altered after CloudTrail signed it",
            )
        key_missing = "nokey" in results or (not results and not self.keys.index.get(d.fingerprint))
        no_key = (
            f"no public key with fingerprint {d.fingerprint} in the case or given; {_KEY_HINT} "
            f"({n.group()[1] or 'its region'})"
        )
        if n.auth:
            if "ok" not in results:
                why = (
                    f"no public key with fingerprint {d.fingerprint}"
                    if key_missing
                    else "no signature held"
                )
                n.notes.append(
                    f"signature not checked ({why}); its content is proven by the next "
                    "digest's previousDigestHashValue"
                )
            return
        if n.issues.keys() & {"malformed", "moved", "bad_signature"}:
            return
        if not results:
            n.fail(
                "unsigned",
                "no signature to check: it is the newest digest of its chain and its S3 "
                "metadata signature (x-amz-meta-signature) is not in the case; acquire it "
                "with `s3forensics acquire`, or ingest an object-metadata JSON file with the "
                "evidence, or pass --object-metadata FILE"
                + (f"; also {no_key}" if key_missing else ""),
            )
        elif key_missing:
            n.fail("no_public_key", no_key)
        else:  # e.g. vouched for only by a successor that is itself not authenticated
            n.fail("unsigned", "no signature that verifies it is held")


_DIGEST_PRECEDENCE = (
    "copy_changed",
    "malformed",
    "moved",
    "bad_signature",
    "chain_broken",
    "no_public_key",
    "unsigned",
)


def _digest_rows(chain: _Chain, acquired: _Acquired) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in chain.nodes:
        account, region, trail = n.group()
        status = next((s for s in _DIGEST_PRECEDENCE if s in n.issues), "valid")
        texts = [t for s in _DIGEST_PRECEDENCE for t in n.issues.get(s, [])] + n.notes
        if status == "valid" and not texts and n.digest is not None:
            texts = [
                "signature verified; starts a chain (log file validation turned on)"
                if n.digest.previous_key is None
                else "signature and link to the previous digest verified"
                if n.preds
                else "signature verified"
            ]
        d = n.digest
        successor_hashes = sorted(
            {e.digest.previous_hash for e in n.successors if e.digest and e.digest.previous_hash}
        )
        name = parse_trail_name(d.key if d else n.location)
        rows.append(
            {
                "account": account,
                "region": region,
                "trail": trail,
                "kind": "digest",
                "bucket": d.bucket if d else n.ev_bucket,
                "key": d.key if d else (n.ev_key or trail_tail(n.case_path) or n.case_path),
                "status": status,
                "detail": "; ".join(texts),
                "evidence_id": n.evidence_id,
                "case_path": n.case_path,
                "delivered_at": name.delivered_at if name else None,
                "digest_key": d.previous_key if d else None,
                "expected_sha256": successor_hashes[0] if len(successor_hashes) == 1 else None,
                "actual_sha256": n.sha256,
                "digest_start": d.start if d else None,
                "digest_end": d.end if d else None,
                "oldest_event_time": d.oldest_event if d else None,
                "newest_event_time": d.newest_event if d else None,
                "fingerprint": d.fingerprint if d else None,
            }
        )
    # Previous digests named but not held: missing, unless they precede everything held.
    earliest: dict[tuple[str | None, str | None, str | None], datetime] = {}
    for n in chain.nodes:
        if n.digest is not None:
            g = n.group()
            earliest[g] = min(earliest.get(g, n.digest.start), n.digest.start)
    seen: set[tuple[str | None, str]] = set()
    for e, bucket, key in chain.absent:
        if (bucket, key) in seen:
            continue
        seen.add((bucket, key))
        d = e.digest
        assert d is not None
        g = e.group()
        listed = acquired.digest_listed(bucket, key)
        # Without an acquisition record, only the predecessor of the earliest digest held can lie
        # outside what was collected.
        outside = (not listed) if listed is not None else earliest.get(g) == d.start
        if outside:
            status, detail = (
                "not_acquired",
                (
                    f"the chain continues before the earliest digest in the case ({d.key}); acquire "
                    "from an earlier start to check it"
                ),
            )
        elif listed:
            status, detail = (
                "missing",
                (
                    f"named as the previous digest by {d.key}; the acquisition listed where it belongs "
                    "and did not find it: deleted from the bucket"
                ),
            )
        else:
            status, detail = (
                "missing",
                (
                    f"named as the previous digest by {d.key}, absent from the case: deleted from the "
                    "bucket, or not collected"
                ),
            )
        name = parse_trail_name(key)
        rows.append(
            {
                "account": g[0],
                "region": g[1],
                "trail": g[2],
                "kind": "digest",
                "bucket": bucket,
                "key": key,
                "status": status,
                "detail": detail,
                "delivered_at": name.delivered_at if name else None,
                "expected_sha256": d.previous_hash,
                "digest_key": None,
                "fingerprint": None,
            }
        )
    return rows


# -- coverage ----------------------------------------------------------------------------------


def _hours(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, 2)


def _coverage_rows(chain: _Chain) -> list[dict[str, Any]]:
    groups: dict[tuple[str | None, str | None, str | None], list[_Node]] = {}
    for n in chain.nodes:
        if n.digest is not None and "moved" not in n.issues:
            groups.setdefault(n.group(), []).append(n)
    rows: list[dict[str, Any]] = []
    for (account, region, trail), nodes in sorted(
        groups.items(), key=lambda kv: tuple(map(str, kv[0]))
    ):
        nodes.sort(key=lambda n: (n.digest.start, n.digest.end))  # type: ignore[union-attr]
        base = {"account": account, "region": region, "trail": trail}
        run_start, count = nodes[0].digest.start, 1  # type: ignore[union-attr]
        for a, b in pairwise(nodes):
            da, db = a.digest, b.digest
            assert da is not None and db is not None
            gap: tuple[str, str] | None = None
            if db.previous_key is None:
                gap = (
                    "validation_off",
                    (
                        f"the chain restarts at {db.key}: log file validation or "
                        "logging was off, no digest vouches for files delivered then"
                    ),
                )
            elif not b.preds:
                gap = (
                    "digest_missing",
                    f"{db.key} links to {db.previous_key}, which is not in the case",
                )
            elif any(p.digest is None for p in b.preds):
                gap = (
                    "digest_unreadable",
                    f"{db.key} links to {db.previous_key}, which is unreadable",
                )
            elif db.start - da.end > _EDGE:
                gap = ("no_digest", f"no digest between {da.key} and {db.key}")
            if gap is None:
                count += 1
                continue
            rows.append(
                {
                    **base,
                    "period_start": run_start,
                    "period_end": da.end,
                    "status": "covered",
                    "digests": count,
                    "hours": _hours(run_start, da.end),
                    "detail": "linked digests",
                }
            )
            rows.append(
                {
                    **base,
                    "period_start": da.end,
                    "period_end": max(da.end, db.start),
                    "status": gap[0],
                    "digests": 0,
                    "hours": _hours(da.end, max(da.end, db.start)),
                    "detail": gap[1],
                }
            )
            run_start, count = db.start, 1
        end = nodes[-1].digest.end  # type: ignore[union-attr]
        rows.append(
            {
                **base,
                "period_start": run_start,
                "period_end": end,
                "status": "covered",
                "digests": count,
                "hours": _hours(run_start, end),
                "detail": "linked digests",
            }
        )
    return rows


# -- log files ---------------------------------------------------------------------------------


def _hash_log(root: Path, row: dict[str, Any]) -> dict[str, Any]:
    content, copy_note, read_note = _read_copy(root, row["case_path"], row["sha256"])
    name = parse_trail_name(row["key"] or row["case_path"])
    return {
        "evidence_id": row["evidence_id"],
        "case_path": row["case_path"],
        "ev_bucket": row["bucket"],
        "ev_key": row["key"],
        "name": PurePosixPath(row["key"] or row["case_path"]).name,
        "actual_sha256": hashlib.sha256(content).hexdigest() if content is not None else None,
        "copy_note": copy_note,
        "read_note": read_note,
        "log_account": name.account if name and name.kind == "log" else None,
        "log_region": name.region if name and name.kind == "log" else None,
        "log_delivered": name.delivered_at if name and name.kind == "log" else None,
    }


_LOG_SCHEMA: dict[str, pl.DataType] = {
    "evidence_id": pl.String(),
    "case_path": pl.String(),
    "ev_bucket": pl.String(),
    "ev_key": pl.String(),
    "name": pl.String(),
    "actual_sha256": pl.String(),
    "copy_note": pl.String(),
    "read_note": pl.String(),
    "log_account": pl.String(),
    "log_region": pl.String(),
    "log_delivered": pl.Datetime("us", "UTC"),
}
_ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "d": pl.Int64(),
    "s3Bucket": pl.String(),
    "s3Object": pl.String(),
    "hashValue": pl.String(),
    "hashAlgorithm": pl.String(),
    "oldestEventTime": pl.String(),
    "newestEventTime": pl.String(),
}


def _entries(chain: _Chain) -> pl.DataFrame:
    """One row per logFiles entry of every readable digest, with the digest's verdict."""
    flat: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    for i, n in enumerate(chain.nodes):
        if n.digest is None or "malformed" in n.issues:
            continue
        account, region, trail = n.group()
        status = next((s for s in _DIGEST_PRECEDENCE if s in n.issues), "valid")
        digests.append(
            {
                "d": i,
                "account": account,
                "region": region,
                "trail": trail,
                "digest_key": n.digest.key,
                "digest_auth": n.auth,
                "digest_status": status,
                "digest_start": n.digest.start,
                "digest_end": n.digest.end,
            }
        )
        flat.extend(
            {**{k: f.get(k) for k in _ENTRY_SCHEMA if k != "d"}, "d": i} for f in n.digest.log_files
        )
    entries = pl.DataFrame(flat, schema=_ENTRY_SCHEMA, strict=False)
    info = pl.DataFrame(
        digests,
        schema={
            "d": pl.Int64,
            "account": pl.String,
            "region": pl.String,
            "trail": pl.String,
            "digest_key": pl.String,
            "digest_auth": pl.Boolean,
            "digest_status": pl.String,
            "digest_start": pl.Datetime("us", "UTC"),
            "digest_end": pl.Datetime("us", "UTC"),
        },
    )
    ts = pl.Datetime("us", "UTC")
    return entries.join(info, on="d", how="inner").with_columns(
        pl.col("hashValue").str.to_lowercase(),
        pl.col("oldestEventTime").str.to_datetime(time_zone="UTC", strict=False).cast(ts),
        pl.col("newestEventTime").str.to_datetime(time_zone="UTC", strict=False).cast(ts),
        pl.col("s3Object").str.extract(r"([^/]+)$").alias("name"),
        pl.col("s3Object")
        .str.extract(r"_(\d{8}T\d{4})Z_[^/_]+$")
        .str.to_datetime("%Y%m%dT%H%M", time_zone="UTC", strict=False)
        .cast(ts)
        .alias("named_delivered"),
    )


def _matched_rows(entries: pl.DataFrame, logs: pl.DataFrame) -> pl.DataFrame:
    """Entries joined to the held files of the same name, each with its status and detail."""
    m = entries.join(logs, on="name", how="inner")
    tail = pl.col("s3Object").str.extract(TRAIL_TAIL)
    how = (
        pl.when(
            (pl.col("ev_bucket") == pl.col("s3Bucket")) & (pl.col("ev_key") == pl.col("s3Object"))
        )
        .then(pl.lit(None, pl.String))
        .when(pl.col("ev_key") == pl.col("s3Object"))
        .then(pl.format("; held from bucket {} (the digest names {})", "ev_bucket", "s3Bucket"))
        .when(pl.col("case_path").str.ends_with(pl.lit("/") + pl.col("s3Object")))
        .then(pl.lit(None, pl.String))
        .when(pl.col("case_path").str.extract(TRAIL_TAIL) == tail)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.format("; matched by file name only (held as {})", "case_path"))
    )
    unauth = pl.format(" (the digest naming it is not authenticated: {})", "digest_status")
    same = pl.col("actual_sha256") == pl.col("hashValue")
    status = (
        pl.when(pl.col("copy_note").is_not_null())
        .then(pl.lit("copy_changed"))
        .when(pl.col("actual_sha256").is_null())
        .then(pl.lit("modified"))
        .when(same & pl.col("digest_auth"))
        .then(pl.lit("valid"))
        .when(same)
        .then(pl.lit("unverified"))
        .otherwise(pl.lit("modified"))
    )
    detail = (
        pl.when(pl.col("copy_note").is_not_null())
        .then(pl.col("copy_note"))
        .when(pl.col("actual_sha256").is_null())
        .then(
            pl.format(
                "its content cannot be read ({}); the digest records SHA-256 {}",
                "read_note",
                "hashValue",
            )
        )
        .when(same & pl.col("digest_auth"))
        .then(pl.lit("SHA-256 matches the digest"))
        .when(same)
        .then(pl.concat_str(pl.lit("SHA-256 matches the digest"), unauth))
        .otherwise(
            pl.concat_str(
                pl.format(
                    "its uncompressed SHA-256 {} differs from the {} the digest records: altered "
                    "after delivery",
                    "actual_sha256",
                    "hashValue",
                ),
                pl.when(pl.col("digest_auth")).then(pl.lit("")).otherwise(unauth),
            )
        )
    )
    return m.with_columns(
        status.alias("status"),
        pl.concat_str(detail, how.fill_null("")).alias("detail"),
        pl.col("s3Bucket").alias("bucket"),
        pl.col("s3Object").alias("key"),
        pl.col("hashValue").alias("expected_sha256"),
        pl.col("oldestEventTime").alias("oldest_event_time"),
        pl.col("newestEventTime").alias("newest_event_time"),
        pl.col("named_delivered").alias("delivered_at"),
    )


def _absent_rows(absent: pl.DataFrame, logs: pl.DataFrame, ranges: pl.DataFrame) -> pl.DataFrame:
    """Entries with no held file: missing when the case should hold them, else not acquired."""
    absent = absent.with_row_index("_i")
    # Acquired cases: was the key inside a listing the acquisition made?
    acq = (
        absent.select("_i", "s3Bucket", "s3Object")
        .join(ranges, left_on="s3Bucket", right_on="acq_bucket", how="inner")
        .filter(pl.col("s3Object").str.starts_with(pl.col("prefix")))
        .group_by("_i")
        .agg(
            (
                (pl.col("s3Object") > pl.col("start_after"))
                & (pl.col("s3Object") < pl.col("stop_at"))
            )
            .any()
            .alias("_listed")
        )
    )
    # Otherwise: inside the delivery-time span of the log files held for that account and region.
    span = (
        logs.filter(pl.col("log_delivered").is_not_null())
        .group_by("log_account", "log_region")
        .agg(
            pl.col("log_delivered").min().alias("_first"),
            pl.col("log_delivered").max().alias("_last"),
        )
    )
    out = absent.join(acq, on="_i", how="left").join(
        span, left_on=["account", "region"], right_on=["log_account", "log_region"], how="left"
    )
    in_span = (
        pl.col("named_delivered").is_between(pl.col("_first"), pl.col("_last")).fill_null(False)
    )
    missing = pl.when(pl.col("_listed").is_not_null()).then(pl.col("_listed")).otherwise(in_span)
    why_missing = (
        pl.when(pl.col("_listed").is_not_null())
        .then(
            pl.lit(
                "the acquisition listed where it belongs and did not find it: deleted from the bucket"
            )
        )
        .otherwise(
            pl.format(
                "not held although the case holds this account and region's log files "
                "from {} to {}: deleted, or not collected",
                "_first",
                "_last",
            )
        )
    )
    why_not = (
        pl.when(pl.col("_listed").is_not_null())
        .then(
            pl.lit("outside the window the acquisition listed; acquire a wider window to check it")
        )
        .otherwise(
            pl.lit(
                "outside the delivery times of the log files held for this account and region; "
                "collect them to check"
            )
        )
    )
    return out.with_columns(
        pl.when(missing).then(pl.lit("missing")).otherwise(pl.lit("not_acquired")).alias("status"),
        pl.concat_str(
            pl.format("named by digest {} (SHA-256 {}); ", "digest_key", "hashValue"),
            pl.when(missing).then(why_missing).otherwise(why_not),
        ).alias("detail"),
        pl.col("s3Bucket").alias("bucket"),
        pl.col("s3Object").alias("key"),
        pl.col("hashValue").alias("expected_sha256"),
        pl.col("oldestEventTime").alias("oldest_event_time"),
        pl.col("newestEventTime").alias("newest_event_time"),
        pl.col("named_delivered").alias("delivered_at"),
    ).drop("_i")


def _unnamed_rows(logs: pl.DataFrame, coverage: pl.DataFrame) -> list[dict[str, Any]]:
    """Held log files no digest names: extra inside digest coverage, else unverified."""
    periods: dict[tuple[str, str], list[tuple[datetime, datetime, str, str]]] = {}
    for r in coverage.sort("period_start").iter_rows(named=True):
        periods.setdefault((r["account"], r["region"]), []).append(
            (r["period_start"], r["period_end"], r["status"], r["trail"])
        )
    rows = []
    for r in logs.iter_rows(named=True):
        t, group = r["log_delivered"], (r["log_account"], r["log_region"])
        status, detail = "unverified", ""
        if r["copy_note"]:
            status, detail = "copy_changed", r["copy_note"] + "; "
        if t is None:
            detail += "not a CloudTrail log file name: it cannot be matched to a digest"
        elif group not in periods:
            detail += f"no digest for account {group[0]} region {group[1]} in the case"
        else:
            span = periods[group]
            at = f"delivered {t:%Y-%m-%dT%H:%MZ}"
            inside = [
                p
                for p in span
                if p[2] == "covered" and p[0] + _EDGE <= t and t + _KEY_RESOLUTION <= p[1] - _EDGE
            ]
            near = [p for p in span if p[0] - _EDGE <= t < p[1] + _EDGE]
            if inside:
                p = inside[0]
                if status != "copy_changed":
                    status = "extra"
                detail += (
                    f"{at}, inside the digests of trail {p[3]} ({p[0]:%Y-%m-%dT%H:%M:%SZ} .. "
                    f"{p[1]:%Y-%m-%dT%H:%M:%SZ}), but named by none: inserted, or renamed"
                )
            elif near and any(p[2] != "covered" for p in near):
                p = next(p for p in near if p[2] != "covered")
                detail += (
                    f"{at}, in a period no digest vouches for ({p[2]}, {p[0]:%Y-%m-%dT%H:%M:%SZ} .. "
                    f"{p[1]:%Y-%m-%dT%H:%M:%SZ})"
                )
            elif near:
                detail += (
                    f"{at}, at the edge of the digests' coverage: its digest may be just "
                    "outside the case"
                )
            else:
                first, last = span[0][0], span[-1][1]
                side = "after the newest" if t >= last else "before the oldest"
                detail += (
                    f"{at}, {side} digest in the case (coverage {first:%Y-%m-%dT%H:%M:%SZ} .. "
                    f"{last:%Y-%m-%dT%H:%M:%SZ})"
                )
        rows.append(
            {
                "account": r["log_account"],
                "region": r["log_region"],
                "trail": None,
                "kind": "log",
                "bucket": r["ev_bucket"],
                "key": r["ev_key"] or trail_tail(r["case_path"]) or r["case_path"],
                "status": status,
                "detail": detail,
                "evidence_id": r["evidence_id"],
                "case_path": r["case_path"],
                "delivered_at": t,
                "actual_sha256": r["actual_sha256"],
            }
        )
    return rows


# -- entry point -------------------------------------------------------------------------------


_ROW_SCHEMA: dict[str, pl.DataType] = {
    n: spec[0] for n, spec in INTEGRITY_COLUMNS.items() if n not in ("failed", "checked_at")
}


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The integrity columns of `frame` (NULL where it has none), in order and typed."""
    return frame.select(
        [
            (pl.col(n) if n in frame.columns else pl.lit(None)).cast(t).alias(n)
            for n, t in _ROW_SCHEMA.items()
        ]
    )


def verify_trail(
    case: Case,
    *,
    public_keys: Iterable[str | os.PathLike[str]] = (),
    object_metadata: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    save: bool = True,
    workers: int = 4,
) -> IntegrityReport:
    """Validate the case's CloudTrail logs and digests offline; store and return the results.

    Public keys and digest signatures come from the case (captured by acquisition, or kept by
    ingest from the evidence folders) and from `public_keys` and `object_metadata`.
    """
    root = Path(case.root)
    checked_at = datetime.now(UTC)
    keys, notes = case_public_keys(root)
    kept_keys, kept_notes = context_public_keys(root)
    keys.extend(kept_keys)
    for path in public_keys:
        keys.extend(load_public_keys(path))
    # Metadata files ingest kept in the case, then the one given (which wins where both name a digest).
    kept_meta, meta_notes = context_object_metadata(root)
    notes += kept_notes + meta_notes
    user_meta = load_object_metadata(kept_meta) if kept_meta else {}
    if object_metadata is not None:
        user_meta.update(load_object_metadata(object_metadata))
    metadata = _Metadata.build(root, user_meta, notes)
    evidence = case.con.sql(
        "SELECT evidence_id, sha256, kind, case_path, bucket, key FROM evidence "
        "WHERE kind IN ('cloudtrail', 'cloudtrail-digest') ORDER BY case_path"
    ).pl()
    if evidence.height == 0:
        raise InputError(
            str(root),
            "no CloudTrail log or digest files in this case: ingest or acquire "
            "CloudTrail first (digests are under AWSLogs/.../CloudTrail-Digest/)",
        )
    digest_rows = evidence.filter(pl.col("kind") == "cloudtrail-digest").to_dicts()
    log_rows = evidence.filter(pl.col("kind") == "cloudtrail").to_dicts()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        nodes = list(pool.map(lambda r: _load_node(root, r), digest_rows))
        hashed = list(pool.map(lambda r: _hash_log(root, r), log_rows))
    for n in nodes:
        found = metadata.lookup(n)
        if found and found[0].get("signature"):
            n.meta_signature, n.meta_source = found[0]["signature"], found[1]
            algorithm = found[0].get("signature-algorithm")
            if algorithm and algorithm != SIGNATURE_ALGORITHM:
                n.notes.append(f"S3 metadata signature-algorithm is {algorithm!r}")
    chain = _Chain(nodes, _Keys(keys))
    chain.run()

    coverage_schema: dict[str, pl.DataType] = {n: s[0] for n, s in COVERAGE_COLUMNS.items()}
    coverage = pl.DataFrame(_coverage_rows(chain), schema=coverage_schema, strict=False)
    logs = pl.DataFrame(hashed, schema=_LOG_SCHEMA, strict=False)
    entries = _entries(chain)
    matched = _matched_rows(entries, logs)
    acquired = _acquired(root, notes)
    absent = _absent_rows(
        entries.join(logs.select("name"), on="name", how="anti"), logs, acquired.log_ranges
    )
    unnamed = logs.join(matched.select("evidence_id").unique(), on="evidence_id", how="anti")
    files = pl.concat(
        [
            _rows(pl.DataFrame(_digest_rows(chain, acquired), schema=_ROW_SCHEMA, strict=False)),
            _rows(matched.with_columns(kind=pl.lit("log"))),
            _rows(absent.with_columns(kind=pl.lit("log"))),
            _rows(pl.DataFrame(_unnamed_rows(unnamed, coverage), schema=_ROW_SCHEMA, strict=False)),
        ]
    )
    stamp = pl.lit(checked_at, pl.Datetime("us", "UTC")).alias("checked_at")
    files = files.with_columns(pl.col("status").is_in(sorted(FAILING)).alias("failed"), stamp)
    files = files.sort("account", "region", "kind", "delivered_at", "key", nulls_last=True)
    report = IntegrityReport(
        files=files.select(list(INTEGRITY_COLUMNS)),
        coverage=coverage.with_columns(stamp),
        notes=notes,
    )
    if save:
        save_tables(case.con, report.files, report.coverage)
    return report


def read_integrity(case: Case) -> IntegrityReport | None:
    """The results the last `verify_trail` stored in the case, or None when it never ran."""
    tables = load_tables(case.con)
    if tables is None:
        return None
    return IntegrityReport(files=tables[0], coverage=tables[1])
