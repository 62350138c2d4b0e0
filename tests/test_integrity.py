"""Offline CloudTrail log file validation: digest chains signed here with a test RSA key.

Each test writes log files and hourly digests in CloudTrail's key layout, signs the digests the
way the AWS documentation describes (signing string built here, independently of the code under
test), damages the evidence the way an attacker would, ingests it into a case and checks what
`verify_trail` reports.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from s3forensics.case import Case
from s3forensics.cli import integrity as integrity_cli
from s3forensics.errors import InputError
from s3forensics.evidence_files import locate_evidence
from s3forensics.integrity import (
    COVERAGE_TABLE,
    INTEGRITY_TABLE,
    IntegrityReport,
    load_public_keys,
    read_integrity,
    verify_trail,
)
from s3forensics.render import render_cloudtrail_file

from .factories import ct_record
from .s3server import moto_server, s3_endpoint, s3_session  # noqa: F401 (fixtures)

ACCOUNT, REGION, TRAIL, BUCKET = "111122223333", "us-east-1", "acme-trail", "acme-trail-logs"
T0 = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def log_key(t: datetime) -> str:
    unique = uuid.uuid5(uuid.NAMESPACE_URL, t.isoformat()).hex[:16]
    return (
        f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{t:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{REGION}_{t:%Y%m%dT%H%M}Z_{unique}.json.gz"
    )


def digest_key(end: datetime) -> str:
    return (
        f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{end:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail-Digest_{REGION}_{TRAIL}_{REGION}_{end:%Y%m%dT%H%M%SZ}.json.gz"
    )


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def log_body(t: datetime, n: int = 2) -> bytes:
    base = int((t - T0).total_seconds())
    return render_cloudtrail_file(
        [
            ct_record(base + i, eventTime=iso(t - timedelta(minutes=4) + timedelta(seconds=i)))
            for i in range(n)
        ]
    )


@dataclass
class Trail:
    """Log files and digests as a trail delivers them, and the signature of each digest."""

    logs: dict[str, bytes] = field(default_factory=dict)
    digests: dict[str, bytes] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    hour_digest: list[str | None] = field(default_factory=list)
    hour_logs: list[list[str]] = field(default_factory=list)

    def write(self, src: Path) -> Path:
        for key, data in {**self.logs, **self.digests}.items():
            path = src / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return src

    def metadata(self, keys: list[str] | None = None) -> dict[str, dict[str, str]]:
        return {
            f"{BUCKET}/{k}": {
                "signature": self.signatures[k],
                "signature-algorithm": "SHA256withRSA",
            }
            for k in (keys if keys is not None else list(self.digests))
        }


def sign(private: rsa.RSAPrivateKey, text: str) -> str:
    return private.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()


def fingerprint(private: rsa.RSAPrivateKey) -> str:
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.md5(der).hexdigest()


def build_trail(
    private: rsa.RSAPrivateKey,
    *,
    hours: int = 4,
    off: tuple[int, ...] = (),
    change: dict[int, dict[str, Any]] | None = None,
    fp: str | None = None,
) -> Trail:
    """Hourly digests over `hours` hours, two log files an hour; `off` hours have validation off
    (logs, no digest; the next digest starts a new chain); `change[h]` edits digest h before signing."""
    trail = Trail()
    previous: tuple[str, str, str] | None = None  # key, sha256, signature
    for h in range(hours):
        start = T0 + h * HOUR
        end = start + HOUR
        keys = [log_key(start + timedelta(minutes=m)) for m in (10, 40)]
        for k, m in zip(keys, (10, 40)):
            trail.logs[k] = log_body(start + timedelta(minutes=m))
        trail.hour_logs.append(keys)
        if h in off:
            previous = None
            trail.hour_digest.append(None)
            continue
        body: dict[str, Any] = {
            "awsAccountId": ACCOUNT,
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestS3Bucket": BUCKET,
            "digestS3Object": digest_key(end),
            "digestPublicKeyFingerprint": fp or fingerprint(private),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": iso(start + timedelta(minutes=40)),
            "oldestEventTime": iso(start + timedelta(minutes=6)),
            "previousDigestS3Bucket": BUCKET if previous else None,
            "previousDigestS3Object": previous[0] if previous else None,
            "previousDigestHashValue": previous[1] if previous else None,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": previous[2] if previous else None,
            "logFiles": [
                {
                    "s3Bucket": BUCKET,
                    "s3Object": k,
                    "hashValue": hashlib.sha256(gzip.decompress(trail.logs[k])).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": iso(start + timedelta(minutes=m - 4, seconds=1)),
                    "oldestEventTime": iso(start + timedelta(minutes=m - 4)),
                }
                for k, m in zip(keys, (10, 40))
            ],
        }
        body.update((change or {}).get(h, {}))
        content = json.dumps(body).encode()
        sha = hashlib.sha256(content).hexdigest()
        key = digest_key(end)
        # The documented signing string: end time, bucket/key, hash of the digest, previous signature.
        signature = sign(
            private, f"{iso(end)}\n{BUCKET}/{key}\n{sha}\n{previous[2] if previous else 'null'}"
        )
        trail.digests[key] = gz(content)
        trail.signatures[key] = signature
        trail.hour_digest.append(key)
        previous = (key, sha, signature)
    return trail


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def public_pem(tmp_path: Path, private_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "cloudtrail-public-key.pem"
    path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


Tamper = Callable[[Path], None]


def check(
    tmp_path: Path,
    trail: Trail,
    *,
    keys: list[Path] | None = None,
    metadata: dict[str, dict[str, str]] | None = None,
    tamper: Tamper | None = None,
) -> IntegrityReport:
    """Write the trail, tamper with the files, ingest them into a new case and verify it."""
    src = trail.write(tmp_path / "src")
    if tamper:
        tamper(src)
    meta_path = tmp_path / "object-metadata.json"
    meta_path.write_text(json.dumps(trail.metadata() if metadata is None else metadata))
    with Case.open(tmp_path / "case") as case:
        case.ingest([src], progress=False)
        return verify_trail(case, public_keys=keys or [], object_metadata=meta_path)


def rows(report: IntegrityReport, kind: str) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in report.files.filter(pl.col("kind") == kind).iter_rows(named=True)}


def statuses(report: IntegrityReport, kind: str) -> dict[str, str]:
    return {k: r["status"] for k, r in rows(report, kind).items()}


# -- the outcomes a responder relies on ---------------------------------------------------------


def test_intact_chain_validates_every_digest_and_log_file(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    report = check(tmp_path, trail, keys=[public_pem])
    assert statuses(report, "digest") == dict.fromkeys(trail.digests, "valid")
    assert statuses(report, "log") == dict.fromkeys(trail.logs, "valid")
    assert report.ok and report.complete
    cov = report.coverage.to_dicts()
    assert [(c["status"], c["digests"], c["period_start"], c["period_end"]) for c in cov] == [
        ("covered", 4, T0, T0 + 4 * HOUR)
    ]
    summary = report.summary().row(0, named=True)
    assert (
        summary["account"],
        summary["region"],
        summary["digests"],
        summary["logs_valid"],
        summary["hours_without_digest"],
        summary["restarts"],
    ) == (ACCOUNT, REGION, 4, 8, 0.0, 0)
    # Each log row names the digest that vouches for it and the hash it recorded.
    log = rows(report, "log")[trail.hour_logs[2][0]]
    assert log["digest_key"] == trail.hour_digest[2]
    assert (
        log["expected_sha256"]
        == log["actual_sha256"]
        == hashlib.sha256(gzip.decompress(trail.logs[trail.hour_logs[2][0]])).hexdigest()
    )


def test_recompressed_log_file_is_still_valid_because_the_hash_is_of_its_content(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=2)
    key = trail.hour_logs[1][0]

    def recompress(src: Path) -> None:
        (src / key).write_bytes(
            gzip.compress(gzip.decompress(trail.logs[key]), compresslevel=1, mtime=99)
        )

    report = check(tmp_path, trail, keys=[public_pem], tamper=recompress)
    assert (tmp_path / "src" / key).read_bytes() != trail.logs[key]
    assert statuses(report, "log")[key] == "valid" and report.ok


def test_modified_log_file_is_reported_with_both_hashes(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    key = trail.hour_logs[1][1]

    def edit(src: Path) -> None:
        records = json.loads(gzip.decompress(trail.logs[key]))["Records"]
        records[0]["sourceIPAddress"] = "10.0.0.1"  # the attacker hides their address
        (src / key).write_bytes(render_cloudtrail_file(records))

    report = check(tmp_path, trail, keys=[public_pem], tamper=edit)
    logs = rows(report, "log")
    assert logs[key]["status"] == "modified" and logs[key]["failed"]
    assert logs[key]["expected_sha256"] in logs[key]["detail"]
    assert logs[key]["actual_sha256"] in logs[key]["detail"]
    assert {k: r["status"] for k, r in logs.items() if k != key} == dict.fromkeys(
        set(trail.logs) - {key}, "valid"
    )
    assert set(statuses(report, "digest").values()) == {"valid"}
    assert not report.ok


def test_deleted_log_file_is_missing(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    key = trail.hour_logs[2][0]
    report = check(tmp_path, trail, keys=[public_pem], tamper=lambda src: (src / key).unlink())
    row = rows(report, "log")[key]
    assert row["status"] == "missing" and row["evidence_id"] is None
    assert row["digest_key"] == trail.hour_digest[2] and trail.hour_digest[2] in row["detail"]
    assert report.summary().row(0, named=True)["logs_missing"] == 1
    assert not report.ok


def test_inserted_log_file_is_extra(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    planted = log_key(T0 + 2 * HOUR + timedelta(minutes=25))

    def insert(src: Path) -> None:
        (src / planted).write_bytes(log_body(T0 + 2 * HOUR + timedelta(minutes=25), n=1))

    report = check(tmp_path, trail, keys=[public_pem], tamper=insert)
    row = rows(report, "log")[planted]
    assert row["status"] == "extra" and row["failed"] and "named by none" in row["detail"]
    assert sum(s == "valid" for s in statuses(report, "log").values()) == len(trail.logs)
    assert not report.ok


def test_tampered_digest_fails_its_signature_and_breaks_the_next_link(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    victim, hidden = trail.hour_digest[1], trail.hour_logs[1][0]
    assert victim is not None

    def doctor(src: Path) -> None:
        # Cover a modified log file by rewriting its hash in the digest (without AWS's private key).
        (src / hidden).write_bytes(log_body(T0 + HOUR + timedelta(minutes=10), n=1))
        body = json.loads(gzip.decompress(trail.digests[victim]))
        body["logFiles"][0]["hashValue"] = hashlib.sha256(
            gzip.decompress((src / hidden).read_bytes())
        ).hexdigest()
        (src / victim).write_bytes(gz(json.dumps(body).encode()))

    report = check(tmp_path, trail, keys=[public_pem], tamper=doctor)
    digests = rows(report, "digest")
    assert digests[victim]["status"] == "bad_signature"
    assert digests[trail.hour_digest[2]]["status"] == "chain_broken"  # type: ignore[index]
    assert "previousDigestHashValue" in digests[trail.hour_digest[2]]["detail"]  # type: ignore[index]
    assert digests[trail.hour_digest[0]]["status"] == "valid"  # type: ignore[index]
    # The doctored log matches the doctored digest, but nothing vouches for that digest.
    logs = rows(report, "log")
    assert logs[hidden]["status"] == "unverified" and "bad_signature" in logs[hidden]["detail"]
    assert not report.ok


def test_tampered_digest_is_caught_by_the_next_digest_without_its_own_metadata(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    victim, newest = trail.hour_digest[1], trail.hour_digest[-1]
    assert victim and newest

    def doctor(src: Path) -> None:
        body = json.loads(gzip.decompress(trail.digests[victim]))
        body["logFiles"] = body["logFiles"][1:]  # hide a log file from the record
        (src / victim).write_bytes(gz(json.dumps(body).encode()))

    # Only the newest digest's metadata signature: the older ones rely on the chain.
    report = check(
        tmp_path, trail, keys=[public_pem], metadata=trail.metadata([newest]), tamper=doctor
    )
    digests = statuses(report, "digest")
    assert digests[victim] == "bad_signature"
    assert digests[trail.hour_digest[2]] == "chain_broken"  # type: ignore[index]
    assert digests[trail.hour_digest[0]] == "valid" and digests[newest] == "valid"  # type: ignore[index]


def test_chain_proves_older_digests_when_only_the_newest_signature_is_held(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    newest = trail.hour_digest[-1]
    assert newest
    report = check(tmp_path, trail, keys=[public_pem], metadata=trail.metadata([newest]))
    assert set(statuses(report, "digest").values()) == {"valid"} and report.ok and report.complete


def test_newest_digest_without_its_metadata_is_unsigned(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=3)
    report = check(tmp_path, trail, keys=[public_pem], metadata={})
    digests = rows(report, "digest")
    newest = digests[trail.hour_digest[-1]]  # type: ignore[index]
    assert newest["status"] == "unsigned" and "--object-metadata" in newest["detail"]
    # Older digests are still proven by the signatures their successors carry.
    assert [digests[k]["status"] for k in trail.hour_digest[:-1]] == ["valid", "valid"]  # type: ignore[index]
    assert {statuses(report, "log")[k] for k in trail.hour_logs[-1]} == {"unverified"}
    # Nothing is wrong with the evidence: only a signature is missing, and the verdict says so.
    assert not newest["failed"] and report.verdict.word == "UNVERIFIABLE"
    assert any("--object-metadata" in a and trail.hour_digest[-1] in a  # type: ignore[operator]
               for a in report.verdict.advice)


def test_broken_link_is_reported_on_the_digest_whose_link_fails(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    # Digest 2 is signed, but records a hash that is not digest 1's.
    trail = build_trail(private_key, change={2: {"previousDigestHashValue": "0" * 64}})
    report = check(tmp_path, trail, keys=[public_pem])
    digests = rows(report, "digest")
    assert {k: r["status"] for k, r in digests.items()} == {
        trail.hour_digest[0]: "valid",
        trail.hour_digest[1]: "valid",
        trail.hour_digest[2]: "chain_broken",
        trail.hour_digest[3]: "valid",
    }
    assert trail.hour_digest[1] in digests[trail.hour_digest[2]]["detail"]  # type: ignore[index]
    assert not report.ok


def test_deleted_digest_leaves_a_missing_hour(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key)
    gone = trail.hour_digest[2]
    assert gone
    report = check(tmp_path, trail, keys=[public_pem], tamper=lambda src: (src / gone).unlink())
    digests = rows(report, "digest")
    assert digests[gone]["status"] == "missing" and digests[gone]["evidence_id"] is None
    gaps = report.coverage.filter(pl.col("status") != "covered").to_dicts()
    assert [(g["status"], g["period_start"], g["period_end"], g["hours"]) for g in gaps] == [
        ("digest_missing", T0 + 2 * HOUR, T0 + 3 * HOUR, 1.0)
    ]
    assert report.summary().row(0, named=True)["hours_without_digest"] == 1.0
    # The hour's log files are held but nothing vouches for them any more.
    logs = rows(report, "log")
    assert {logs[k]["status"] for k in trail.hour_logs[2]} == {"unverified"}
    assert "digest_missing" in logs[trail.hour_logs[2][0]]["detail"]
    assert not report.ok


def test_validation_switched_off_shows_as_a_restart_not_a_failure(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=5, off=(2,))
    report = check(tmp_path, trail, keys=[public_pem])
    assert set(statuses(report, "digest").values()) == {"valid"}
    cov = [(c["status"], c["period_start"], c["period_end"]) for c in report.coverage.to_dicts()]
    assert cov == [
        ("covered", T0, T0 + 2 * HOUR),
        ("validation_off", T0 + 2 * HOUR, T0 + 3 * HOUR),
        ("covered", T0 + 3 * HOUR, T0 + 5 * HOUR),
    ]
    assert {statuses(report, "log")[k] for k in trail.hour_logs[2]} == {"unverified"}
    assert report.summary().row(0, named=True)["restarts"] == 1
    assert report.ok and not report.complete


def test_missing_public_key_is_a_clear_status_not_a_crash(
    tmp_path: Path, private_key: rsa.RSAPrivateKey
) -> None:
    trail = build_trail(private_key, hours=2)
    report = check(tmp_path, trail, keys=[])
    fp = fingerprint(private_key)
    for row in rows(report, "digest").values():
        assert row["status"] == "no_public_key" and not row["failed"]
        assert fp in row["detail"] and "--public-key" in row["detail"]
    assert set(statuses(report, "log").values()) == {"unverified"}
    # Missing evidence, not tampering: UNVERIFIABLE, and it says which key to fetch.
    assert report.verdict.word == "UNVERIFIABLE" and report.ok and not report.complete
    (advice,) = report.verdict.advice
    assert fp in advice and f"aws cloudtrail list-public-keys --region {REGION}" in advice
    text = report.render()
    assert "FAILED" not in text and text.splitlines()[-len(report.verdict.advice) - 1].startswith(
        "UNVERIFIABLE: nothing failed"
    )


def test_a_key_file_with_another_fingerprint_still_verifies_by_signature(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    # AWS fingerprints need not be our MD5: a key that verifies the signature is the right key.
    trail = build_trail(private_key, hours=2, fp="0123456789abcdef0123456789abcdef")
    report = check(tmp_path, trail, keys=[public_pem])
    assert set(statuses(report, "digest").values()) == {"valid"} and report.ok


def test_wrong_key_for_the_fingerprint_is_a_bad_signature(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    # A forger signs with their own key but claims CloudTrail's fingerprint.
    forger = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    trail = build_trail(forger, hours=2, fp=fingerprint(private_key))
    report = check(tmp_path, trail, keys=[public_pem])
    assert set(statuses(report, "digest").values()) == {"bad_signature"}
    assert not report.ok


def test_digest_moved_from_where_cloudtrail_wrote_it(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=2)
    first = trail.hour_digest[0]
    assert first
    moved = first.replace(f"_{TRAIL}_", "_other-trail_")

    def move(src: Path) -> None:
        (src / first).rename(src / moved)

    report = check(tmp_path, trail, keys=[public_pem], tamper=move)
    row = rows(report, "digest")[first]  # rows carry the key the digest names for itself
    assert row["status"] == "moved" and moved in row["case_path"]


def test_unreadable_digest_is_malformed_and_its_hour_uncovered(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=3)
    broken = trail.hour_digest[1]
    assert broken
    report = check(
        tmp_path,
        trail,
        keys=[public_pem],
        tamper=lambda src: (src / broken).write_bytes(gz(b'{"digestStartTime": "trunc')),
    )
    digests = rows(report, "digest")
    assert digests[broken]["status"] == "malformed" and "JSON" in digests[broken]["detail"]
    assert digests[trail.hour_digest[2]]["status"] == "chain_broken"  # type: ignore[index]
    assert "digest_unreadable" in set(report.coverage["status"])


def test_log_files_past_the_last_digest_are_not_acquired_rather_than_missing(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    # Files were copied up to 02:30 only: the last digest names one delivered later.
    trail = build_trail(private_key, hours=3)
    late = trail.hour_logs[2][1]
    report = check(tmp_path, trail, keys=[public_pem], tamper=lambda src: (src / late).unlink())
    row = rows(report, "log")[late]
    assert row["status"] == "not_acquired" and not row["failed"]
    assert report.ok


def test_evidence_copy_changed_inside_the_case_is_flagged(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=2)
    key = trail.hour_logs[0][0]
    check(tmp_path, trail, keys=[public_pem])
    with Case.open(tmp_path / "case") as case:
        (case_path,) = [p for (p,) in case.sql("SELECT case_path FROM evidence").rows()
                        if p.endswith("/" + Path(key).name)]
        # Ingest keeps the bytes in a pack (issue 15): change one byte of them in place.
        span = locate_evidence(case.root, case_path)
        os.chmod(span.file, 0o644)
        with open(span.file, "r+b") as fh:
            fh.seek(span.offset + span.size // 2)
            byte = fh.read(1)
            fh.seek(-1, 1)
            fh.write(bytes([byte[0] ^ 0xFF]))
        meta = tmp_path / "object-metadata.json"
        report = verify_trail(case, public_keys=[public_pem], object_metadata=meta)
    row = rows(report, "log")[key]
    assert set(report.files.filter(pl.col("failed"))["key"]) == {key}
    assert row["status"] == "copy_changed" and "s3forensics verify" in row["detail"]
    assert not report.ok


# -- acquired cases: manifest metadata, ListPublicKeys context, acquisition windows ------------


def test_acquired_case_uses_manifest_signatures_and_captured_public_keys(
    tmp_path: Path,
    private_key: rsa.RSAPrivateKey,
    s3_endpoint: str,  # noqa: F811 (the session fixture)
) -> None:
    from s3forensics.acquire import acquire

    trail = build_trail(private_key, hours=4)
    bucket = f"trail-{uuid.uuid4().hex[:12]}"
    s3 = s3_session().client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    # Deleted from the bucket before the responder arrived: a log file, and the first digest.
    gone, first = trail.hour_logs[1][0], trail.hour_digest[0]
    for key, body in trail.logs.items():
        if key != gone:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
    # Digests name the bucket they were delivered to: re-signed for this one, the signature in
    # S3 user metadata as CloudTrail stores it.
    for key, (data, signature) in _resign(trail, bucket, private_key).items():
        if key == first:
            continue
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            Metadata={"signature": signature, "signature-algorithm": "SHA256withRSA"},
        )
    with Case.open(tmp_path / "case") as case:
        acquire(
            case,
            bucket=bucket,
            start=T0,
            end=T0 + 3 * HOUR,
            endpoint_url=s3_endpoint,
            boto3_session=s3_session(),
            workers=4,
        )
        # What ListPublicKeys returned at acquisition (the acquisition stores bytes as hex).
        der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (case.root / "context" / "cloudtrail-public-keys.json").write_text(
            json.dumps(
                {
                    REGION: {
                        "operation": "ListPublicKeys",
                        "response": {
                            "PublicKeyList": [
                                {
                                    "Value": der.hex(),
                                    "Fingerprint": fingerprint(private_key),
                                    "ValidityStartTime": "2024-01-01T00:00:00Z",
                                    "ValidityEndTime": "2025-01-01T00:00:00Z",
                                }
                            ]
                        },
                    }
                }
            )
        )
        report = verify_trail(case)
        # The acquisition listed where both belong and did not find them: deleted, not skipped.
        logs, digests = rows(report, "log"), rows(report, "digest")
        assert logs[gone]["status"] == "missing" and "acquisition listed" in logs[gone]["detail"]
        assert digests[first]["status"] == "missing"  # type: ignore[index]
        assert "acquisition listed" in digests[first]["detail"]  # type: ignore[index]
        # No key or metadata file was given: the newest digest is only valid (not "unsigned" or
        # "no_public_key") because the manifest kept its S3 metadata and the context its key.
        assert {k: r["status"] for k, r in digests.items() if k != first} == dict.fromkeys(
            trail.hour_digest[1:], "valid"
        )
        expected = dict.fromkeys(trail.hour_logs[0], "unverified")  # their digest is gone
        expected |= {k: "valid" for hour in trail.hour_logs[1:] for k in hour if k != gone}
        assert {k: r["status"] for k, r in logs.items() if k != gone} == expected
        assert not report.ok
        # Without the acquisition's record, a missing first digest cannot be told from one
        # before the window.
        (case.root / "context" / "acquisitions.jsonl").unlink()
        again = rows(verify_trail(case), "digest")
        assert again[first]["status"] == "not_acquired"  # type: ignore[index]


def _resign(trail: Trail, bucket: str, private: rsa.RSAPrivateKey) -> dict[str, tuple[bytes, str]]:
    out: dict[str, tuple[bytes, str]] = {}
    previous: tuple[str, str] | None = None  # sha256, signature
    for key in [k for k in trail.hour_digest if k]:
        body = json.loads(gzip.decompress(trail.digests[key]))
        body["digestS3Bucket"] = bucket
        for f in body["logFiles"]:
            f["s3Bucket"] = bucket
        if previous:
            body["previousDigestS3Bucket"] = bucket
            body["previousDigestHashValue"], body["previousDigestSignature"] = previous
        content = json.dumps(body).encode()
        sha = hashlib.sha256(content).hexdigest()
        signature = sign(
            private,
            f"{body['digestEndTime']}\n{bucket}/{key}\n{sha}\n"
            f"{previous[1] if previous else 'null'}",
        )
        out[key] = (gz(content), signature)
        previous = (sha, signature)
    return out


# -- storage, inputs, command line ---------------------------------------------------------------


def test_results_are_stored_documented_and_replaced_on_each_run(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=2)
    first = check(tmp_path, trail, keys=[public_pem])
    with Case.open(tmp_path / "case") as case:
        stored = read_integrity(case)
        assert stored is not None
        assert stored.files.drop("checked_at").equals(first.files.drop("checked_at"))
        verify_trail(case, public_keys=[public_pem])  # no metadata this time: newest is unsigned
        again = case.sql(
            f"SELECT status, count(*) n FROM {INTEGRITY_TABLE} WHERE kind = 'digest' "
            "GROUP BY status ORDER BY status"
        )
        assert dict(again.iter_rows()) == {"unsigned": 1, "valid": 1}
        for table in (INTEGRITY_TABLE, COVERAGE_TABLE):
            comments = case.sql(
                "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = $t",
                {"t": table},
            )
            assert comments.height > 5 and comments["comment"].is_not_null().all(), table


def test_public_key_files_in_every_supported_form(
    tmp_path: Path, private_key: rsa.RSAPrivateKey
) -> None:
    pub = private_key.public_key()
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    forms = {
        "key.pem": pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "key.der": der,
        # `aws cloudtrail list-public-keys` prints Value as base64.
        "keys.json": json.dumps(
            {"PublicKeyList": [{"Value": base64.b64encode(der).decode(), "Fingerprint": "AB" * 16}]}
        ).encode(),
    }
    for name, data in forms.items():
        (tmp_path / name).write_bytes(data)
        (key,) = load_public_keys(tmp_path / name)
        assert key.key.public_numbers() == pub.public_numbers(), name
    assert load_public_keys(tmp_path / "keys.json")[0].fingerprint == "ab" * 16
    assert load_public_keys(tmp_path / "key.pem")[0].fingerprint == fingerprint(private_key)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a key at all", "not a DER public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "unreadable PEM"),
        (b'{"something": "else"}', "no PublicKeyList"),
    ],
)
def test_bad_public_key_files_are_clear_errors(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        load_public_keys(path)
    assert str(path) in str(err.value)


def test_bad_object_metadata_file_is_a_clear_error(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, public_pem: Path
) -> None:
    trail = build_trail(private_key, hours=1)
    bad = tmp_path / "meta.json"
    bad.write_text('["not", "a", "mapping"]')
    with Case.open(tmp_path / "case") as case:
        case.ingest([trail.write(tmp_path / "src")], progress=False)
        with pytest.raises(InputError, match="expected a JSON object"):
            verify_trail(case, public_keys=[public_pem], object_metadata=bad)


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="s3forensics")
    integrity_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def _verify_cli(
    case: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[str]]:
    code = _cli(["verify-trail", "--case", str(case), *extra])
    return code, capsys.readouterr().out.splitlines()


def test_three_verdicts_and_their_exit_codes(
    tmp_path: Path,
    private_key: rsa.RSAPrivateKey,
    public_pem: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trail = build_trail(private_key, hours=2)
    src = trail.write(tmp_path / "src")
    meta = tmp_path / "object-metadata.json"
    meta.write_text(json.dumps(trail.metadata()))
    case = tmp_path / "case"
    with Case.open(case) as c:
        c.ingest([src], progress=False)
    with_meta = ["--object-metadata", str(meta)]

    # VALID: key and signatures given.
    code, out = _verify_cli(case, capsys, *with_meta, "--public-key", str(public_pem))
    assert code == 0 and f"{ACCOUNT} {REGION}" in out[0]
    assert out[-2].startswith("VALID: every one of the 4 CloudTrail log files held is proven")

    # UNVERIFIABLE: no key. Exit 0 (nothing is wrong with the evidence), 1 with --strict.
    code, out = _verify_cli(case, capsys, *with_meta)
    verdict = next(line for line in out if line.startswith(("VALID", "UNVERIFIABLE", "FAILED")))
    assert code == 0 and verdict.startswith("UNVERIFIABLE: nothing failed, but 2 digests")
    assert any("list-public-keys" in line for line in out) and "Traceback" not in "\n".join(out)
    assert _verify_cli(case, capsys, *with_meta, "--strict")[0] == 1

    # FAILED: a log file modified after delivery (its copy in a new case).
    key = trail.hour_logs[1][0]
    records = json.loads(gzip.decompress(trail.logs[key]))["Records"]
    records[0]["sourceIPAddress"] = "10.9.9.9"  # the attacker hides their address
    (src / key).write_bytes(render_cloudtrail_file(records))
    tampered = tmp_path / "tampered"
    with Case.open(tampered) as c:
        c.ingest([src], progress=False)
    code, out = _verify_cli(tampered, capsys, *with_meta, "--public-key", str(public_pem))
    assert code == 1
    assert "FAILED: 1 CloudTrail file does not validate (1 log file modified)" in "\n".join(out)
    assert any(line.strip().startswith(f"{Path(key).name}: its uncompressed SHA-256")
               for line in out)


def test_problems_are_grouped_by_kind_with_a_count_and_a_few_examples(
    tmp_path: Path,
    private_key: rsa.RSAPrivateKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trail = build_trail(private_key, hours=6)
    check(tmp_path, trail, keys=[])  # no key: 6 digests and 12 log files unverifiable
    meta = ["--object-metadata", str(tmp_path / "object-metadata.json")]
    code, out = _verify_cli(tmp_path / "case", capsys, *meta)
    assert code == 0 and len(out) < 25
    text = "\n".join(out)
    assert "NO_PUBLIC_KEY  6 digests, unverifiable" in text
    assert "UNVERIFIED     12 log files, unverifiable" in text
    shown = [k for k in trail.logs if Path(k).name in text]
    assert len(shown) == 3  # examples, not the whole list
    # --verbose and the table have every one of them.
    code, out = _verify_cli(tmp_path / "case", capsys, *meta, "--verbose")
    assert all(any(k in line for line in out) for k in trail.logs)
    with Case.open(tmp_path / "case", read_only=True) as c:
        stored = c.sql(f"SELECT count(*) AS n FROM {INTEGRITY_TABLE} WHERE status = 'unverified'")
    assert stored["n"][0] == 12


def test_ingest_keeps_public_keys_and_digest_metadata_and_verify_uses_them(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    import base64

    trail = build_trail(private_key, hours=2)
    src = trail.write(tmp_path / "src")
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # As `aws cloudtrail list-public-keys` prints it, next to the logs; and the digests' metadata.
    (src / "keys.json").write_text(json.dumps({"PublicKeyList": [
        {"Value": base64.b64encode(der).decode(), "Fingerprint": fingerprint(private_key)}]}))
    (src / "meta da\u0301ta <x>.json").write_text(json.dumps(trail.metadata()))
    (src / "notes.json").write_text(json.dumps({"case": "not a key"}))
    with Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        assert sorted(Path(p).name for p, _ in summary.context) == [
            "keys.json", "meta da\u0301ta <x>.json"]
        assert [Path(p).name for p, _ in summary.skipped] == ["notes.json"]
        assert "2 files kept as context for verify-trail" in str(summary)
        again = case.ingest([src], progress=False)  # idempotent: recorded once
        assert len(again.context) == 2
    records = [json.loads(line) for line in
               (tmp_path / "case" / "context" / "integrity.jsonl").read_text().splitlines()]
    assert sorted(r["kind"] for r in records) == ["cloudtrail-public-key", "digest-object-metadata"]
    for r in records:
        kept = tmp_path / "case" / r["case_path"]
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == r["sha256"]
        assert r["source"].startswith(str(src))
        assert kept.name.endswith(("_keys.json", "_meta_da_ta__x_.json"))  # a safe name
    code, out = _verify_cli(tmp_path / "case", capsys)  # no flags
    assert code == 0 and out[-2].startswith("VALID")
    # A kept key that changed since ingest is not trusted.
    key_copy = next(tmp_path / "case" / r["case_path"] for r in records
                    if r["kind"] == "cloudtrail-public-key")
    key_copy.write_text(json.dumps({"PublicKeyList": []}))
    code, out = _verify_cli(tmp_path / "case", capsys)
    text = "\n".join(out)
    assert "changed since ingest" in text and "UNVERIFIABLE" in text


def test_ingest_recognises_pem_and_der_keys_but_keeps_no_private_key(
    tmp_path: Path, private_key: rsa.RSAPrivateKey
) -> None:
    from s3forensics.integrity.context import recognise_context

    pub = private_key.public_key()
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    private = private_key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    assert recognise_context("k.pem", pem) == (
        "cloudtrail-public-key", f"1 RSA public key(s) (fingerprint {fingerprint(private_key)})")
    assert recognise_context("k.der", der) is not None
    assert recognise_context("k.pem", private) is None
    assert recognise_context("x.bin", b"\x30\x03\x02\x01\x00") is None
    assert recognise_context("m.json", b'{"a/b": {"color": "red"}}') is None


def test_ingested_samples_verify_without_flags_in_under_20_lines(
    sample_case_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    case = tmp_path / "case"
    shutil.copytree(sample_case_dir, case)
    code, out = _verify_cli(case, capsys)
    assert code == 0 and len(out) < 20, "\n".join(out)
    assert any(line.startswith("VALID: every one of the") for line in out)


def test_samples_chain_validates_with_the_shipped_key_and_metadata(tmp_path: Path) -> None:
    from s3forensics.sample_data import bundled_samples

    samples = bundled_samples()
    if samples is None or not (samples / "object-metadata.json").exists():
        pytest.skip("bundled samples (data/samples) not generated")
    keys = sorted(samples.glob("*public*key*"))
    assert keys, "the samples ship a public key for their digests"
    trail_folders = sorted(p.parent for p in samples.glob("*/AWSLogs"))
    with Case.open(tmp_path / "case") as case:
        case.ingest(trail_folders, progress=False)
        report = verify_trail(
            case, public_keys=keys, object_metadata=samples / "object-metadata.json"
        )
    files = report.files
    assert report.digests_checked == files.filter(pl.col("kind") == "digest").height > 0
    assert set(files["status"]) == {"valid"}, report.render()
    assert report.ok and report.complete
