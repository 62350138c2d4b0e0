"""Assemble the sample case: plan the week, write the logs, sign the digests, write the answers."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .access_logs import LogObject, damage, deliver_access_logs, render_lines
from .answer_doc import render_answers_md
from .answers import build_answers
from .benign import Benign, seed_objects
from .breach import Breach
from .cloudtrail import api_record, completion, deliver_trail, duplicate_one, in_trail, s3_record
from .digests import FINGERPRINT_DEFINITION, build_digests, fingerprint, public_key_pem, signing_key
from .ids import IdMaker
from .scenario import Scenario, stream
from .world import BUCKETS, END, VALIDATION_START, WEB_BUCKET

__all__ = [
    "DEFAULT_SEED",
    "METADATA_FILE",
    "PUBLIC_KEY_FILE",
    "SampleSet",
    "build_samples",
    "evidence_sources",
    "generate",
    "write_samples",
]

DEFAULT_SEED = 20261010
PUBLIC_KEY_FILE = "cloudtrail-public-key.pem"
METADATA_FILE = "object-metadata.json"
ANSWERS_JSON = "answers.json"
ANSWERS_MD = "ANSWERS.md"
_TOP_LEVEL = (ANSWERS_JSON, ANSWERS_MD, PUBLIC_KEY_FILE, METADATA_FILE)


@dataclass(frozen=True)
class SampleSet:
    """The generated samples in memory: relative path -> bytes, and the answer key."""

    seed: int
    files: dict[str, bytes]
    answers: dict[str, Any]

    @property
    def size(self) -> int:
        """Total bytes of all files."""
        return sum(len(b) for b in self.files.values())


def _in_gap(sc: Scenario, bucket: str, moment: Any) -> bool:
    return any(a <= moment < b for a, b in sc.logging_off.get(bucket, []))


def _plan(seed: int) -> Scenario:
    sc = Scenario.new(seed)
    seed_objects(sc, stream(seed, "objects"))
    benign = Benign(sc, stream(seed, "benign"))
    benign.writes()
    Breach(sc, stream(seed, "breach")).plan()
    benign.reads()
    for call in sc.s3_calls:  # the answer key promises every breach request is in the logs
        if call.tag.startswith("breach:") and _in_gap(sc, call.bucket, call.time):
            raise AssertionError(f"breach request {call.request_id} falls in a logging gap")
    return sc


def build_samples(*, seed: int = DEFAULT_SEED) -> SampleSet:
    """Generate the whole sample set for `seed`, in memory (deterministic, byte for byte)."""
    sc = _plan(seed)
    delivery = stream(seed, "delivery")
    ids = IdMaker(stream(seed, "delivery-ids"))
    files: dict[str, bytes] = {}

    sal: list[LogObject] = []
    for b in BUCKETS:
        if b.access_logs is None:
            continue
        calls = [c for c in sc.s3_calls if c.bucket == b.name and not _in_gap(sc, b.name, c.time)]
        sal += deliver_access_logs(render_lines(calls, sc.world.owner_canonical_id),
                                   source_bucket=b.name, account=b.account,
                                   target=b.access_logs, rng=delivery, ids=ids)
    web_target = next(b.access_logs for b in BUCKETS if b.name == WEB_BUCKET)
    assert web_target is not None
    malformed = damage([o for o in sal if o.key.startswith(web_target.prefix)], delivery)
    for obj in sal:
        files[obj.path] = obj.body()

    records = [(completion(c), s3_record(c)) for c in sc.s3_calls if in_trail(c)]
    records += [(c.time, api_record(c)) for c in sc.api_calls]
    trail = deliver_trail(records, rng=delivery, ids=ids)
    duplicate = duplicate_one(trail, delivery)
    for tf in trail:
        files[tf.path] = tf.body()
    digests = build_digests(trail, start=VALIDATION_START, until=END, rng=delivery)
    metadata = {}
    for d in digests:
        files[d.path] = d.body()
        metadata[d.path] = d.metadata()

    key = signing_key()
    lines = sum(len(o.lines) for o in sal)
    counts = {
        "access_log_objects": len(sal),
        "access_log_lines": lines,
        "access_log_rows": lines - len(malformed),
        "cloudtrail_files": len(trail),
        "cloudtrail_records_delivered": sum(len(t.records) for t in trail),
        "cloudtrail_events": len(records),
        "digest_files": len(digests),
    }
    trail_facts = {"public_key_file": PUBLIC_KEY_FILE,
                   "public_key_fingerprint": fingerprint(key.public_key()),
                   "fingerprint_definition": FINGERPRINT_DEFINITION,
                   "signature_metadata_file": METADATA_FILE,
                   "signing_key": "TEST-ONLY key shipped with s3forensics; proves nothing outside "
                                  "these samples"}
    answers = build_answers(sc, malformed=malformed, duplicates=[duplicate], counts=counts,
                            trail=trail_facts)
    files[ANSWERS_JSON] = (json.dumps(answers, indent=2, ensure_ascii=False) + "\n").encode()
    files[ANSWERS_MD] = render_answers_md(answers).encode()
    files[PUBLIC_KEY_FILE] = public_key_pem(key)
    files[METADATA_FILE] = (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode()
    return SampleSet(seed, dict(sorted(files.items())), answers)


def _is_samples_folder(path: Path) -> bool:
    """A folder this generator wrote: an answer key plus only bucket folders and known files."""
    if not (path / ANSWERS_JSON).is_file():
        return False
    try:
        buckets = {b["name"] for b in json.loads((path / ANSWERS_JSON).read_text())["buckets"]}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all(e.name in _TOP_LEVEL or (e.is_dir() and e.name in buckets) for e in path.iterdir())


def write_samples(samples: SampleSet, out: str | os.PathLike[str]) -> Path:
    """Write `samples` to `out` (new, empty, or holding earlier samples, which are replaced)."""
    dest = Path(out)
    if dest.exists() and not dest.is_dir():
        raise InputError(str(dest), "exists and is not a folder")
    if dest.exists() and any(dest.iterdir()) and not _is_samples_folder(dest):
        raise InputError(str(dest), "folder is not empty and does not hold earlier samples; "
                                    "choose a new or empty folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the destination and swap in, so a failure never leaves half a sample set.
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        for rel, data in samples.files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if dest.exists():
            for entry in dest.iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            for entry in staging.iterdir():
                entry.rename(dest / entry.name)
            staging.rmdir()
        else:
            staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return dest


def generate(out: str | os.PathLike[str], *, seed: int = DEFAULT_SEED) -> SampleSet:
    """Generate the samples for `seed` and write them to `out`."""
    samples = build_samples(seed=seed)
    write_samples(samples, out)
    return samples


def evidence_sources(root: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Map each object file under a samples folder to its S3 origin, for `Case.ingest(sources=)`."""
    base = Path(root)
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if path.is_file() and len(rel.parts) > 1:
            bucket, key = rel.parts[0], "/".join(rel.parts[1:])
            out[str(path)] = {"source": f"s3://{bucket}/{key}", "bucket": bucket, "key": key}
    return out
