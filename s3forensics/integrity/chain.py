"""The digest chain: read each digest held, link it to the previous one, check signatures and
links, and tell which digests are authenticated (and so vouch for their log files)."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InputError
from .digest import (
    SIGNATURE_ALGORITHM,
    Digest,
    check_signature,
    parse_digest,
    parse_trail_name,
    trail_tail,
)
from .inputs import AcquiredRanges, read_copy
from .keys import PublicKey, index_keys

__all__ = [
    "DIGEST_PRECEDENCE",
    "DigestChain",
    "DigestNode",
    "SignatureChecker",
    "digest_rows",
    "load_digest",
    "tail_key",
]

_KEY_HINT = (
    "supply it (a PEM or DER public key, or the JSON output of `aws cloudtrail "
    "list-public-keys` for that region): ingest it with the evidence, or pass --public-key FILE"
)


class SignatureChecker:
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
class DigestNode:
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
    succ_results: list[tuple[DigestNode, str]] = field(default_factory=list)
    successors: list[DigestNode] = field(default_factory=list)
    preds: list[DigestNode] = field(default_factory=list)
    issues: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    auth: bool = False

    def fail(self, status: str, text: str) -> None:
        """Record a failing status with what was found."""
        self.issues.setdefault(status, []).append(text)

    @property
    def location(self) -> str:
        """Where the digest was acquired from, else its path in the case."""
        return (
            f"{self.ev_bucket}/{self.ev_key}" if self.ev_bucket and self.ev_key else self.case_path
        )

    def group(self) -> tuple[str | None, str | None, str | None]:
        """(account, region, trail) of the digest's chain, from its file name."""
        name = parse_trail_name(self.digest.key if self.digest else self.ev_key or self.case_path)
        if name is None and self.digest is not None:
            name = parse_trail_name(self.ev_key or self.case_path)
        return (name.account, name.region, name.trail) if name else (None, None, None)


def load_digest(root: Path, row: dict[str, Any]) -> DigestNode:
    """Read one digest held in the case and check that it is where it says it was written."""
    node = DigestNode(row["evidence_id"], row["case_path"], row["bucket"], row["key"])
    content, copy_note, read_note = read_copy(root, node.case_path, row["sha256"])
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


def tail_key(path: str) -> str:
    """The key a file is matched by: its `AWSLogs/...` end, else its file name."""
    return trail_tail(path) or PurePosixPath(path).name


class DigestChain:
    """The digests held, how they link, and their signature and link checks."""

    def __init__(self, nodes: list[DigestNode], keys: SignatureChecker) -> None:
        self.nodes = nodes
        self.keys = keys
        self.by_self: dict[tuple[str, str], list[DigestNode]] = {}
        self.by_tail: dict[str, list[DigestNode]] = {}
        for n in nodes:
            if n.digest is not None:
                self.by_self.setdefault((n.digest.bucket, n.digest.key), []).append(n)
                self.by_tail.setdefault(tail_key(n.digest.key), []).append(n)
            self.by_tail.setdefault(tail_key(n.location), []).append(n)
        #: (digest naming it, bucket, key) of previous digests not held
        self.absent: list[tuple[DigestNode, str | None, str]] = []

    def find(self, bucket: str | None, key: str) -> list[DigestNode]:
        """The digests held that `bucket`/`key` names: exactly, else by their `AWSLogs/...` tail."""
        exact = self.by_self.get((bucket or "", key))
        if exact:
            return exact
        return list(dict.fromkeys(self.by_tail.get(tail_key(key), [])))

    def run(self) -> None:
        """Link the digests, check their signatures and links, and authenticate them."""
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

    def _signatures(self, n: DigestNode) -> None:
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

    def _link(self, e: DigestNode) -> None:
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

    def _authenticate(self, parsed: list[DigestNode]) -> None:
        def verified(n: DigestNode) -> bool:
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

    def _key_and_signature_status(self, n: DigestNode) -> None:
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


DIGEST_PRECEDENCE = (
    "copy_changed",
    "malformed",
    "moved",
    "bad_signature",
    "chain_broken",
    "no_public_key",
    "unsigned",
)


def digest_rows(chain: DigestChain, acquired: AcquiredRanges) -> list[dict[str, Any]]:
    """`trail_integrity` rows of the digests held and of the previous digests named but not held."""
    rows: list[dict[str, Any]] = []
    for n in chain.nodes:
        account, region, trail = n.group()
        status = next((s for s in DIGEST_PRECEDENCE if s in n.issues), "valid")
        texts = [t for s in DIGEST_PRECEDENCE for t in n.issues.get(s, [])] + n.notes
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
