"""Saving and loading the two tables verification writes, and the vocabulary of their statuses.

The tables themselves (`trail_integrity`, `trail_coverage`: columns, types, docs) are declared in
`s3forensics/schema.py` with every other table of a case.
"""

from __future__ import annotations

import duckdb
import polars as pl

from ..schema import TRAIL_COVERAGE, TRAIL_INTEGRITY

__all__ = [
    "COVERAGE_STATUS_DOCS",
    "COVERAGE_TABLE",
    "FAILING",
    "INTEGRITY_TABLE",
    "STATUS_DOCS",
    "UNVERIFIABLE",
    "load_tables",
    "save_tables",
]

INTEGRITY_TABLE = TRAIL_INTEGRITY.name
COVERAGE_TABLE = TRAIL_COVERAGE.name

STATUS_DOCS: dict[str, str] = {
    "valid": "Proven: the digest is authenticated (signature, or hash chain from an authenticated "
    "digest) and, for a log, its uncompressed SHA-256 equals what the digest records.",
    "modified": "A log file whose content differs from what its digest records.",
    "missing": "Named by a digest (a log file, or a previous digest), absent from the case although "
    "the acquisition covered it: deleted, or never acquired.",
    "not_acquired": "Named by a digest but outside what the case acquired (e.g. past the window's "
    "edge); not a failure, acquire a wider window to check it.",
    "extra": "A log file held in the case, delivered while digests were being written, but named by "
    "no digest: inserted, or altered in name.",
    "unverified": "A log file that no authenticated digest vouches for: delivered outside digest "
    "coverage (validation off, before the first or after the last digest), or its "
    "digest failed or could not be checked (no public key, no signature).",
    "copy_changed": "The case's copy no longer has the SHA-256 recorded when it was loaded.",
    "malformed": "A digest file that cannot be read as a CloudTrail digest.",
    "moved": "A digest not at the bucket/key it names for itself (digestS3Bucket/digestS3Object).",
    "bad_signature": "A digest whose signature does not verify: altered after CloudTrail signed it, "
    "or its signature was replaced.",
    "chain_broken": "A digest whose link to the previous digest fails: previousDigestHashValue or "
    "previousDigestSignature does not match the previous digest held.",
    "no_public_key": "A digest signed with a key the case does not hold: unverifiable, not failed "
    "(supply the key: ingest it with the evidence, or --public-key).",
    "unsigned": "A digest with no signature to check: the newest of its chain, and its S3 metadata "
    "signature was not captured; unverifiable, not failed (supply the object metadata: ingest it "
    "with the evidence, or --object-metadata).",
}

COVERAGE_STATUS_DOCS: dict[str, str] = {
    "covered": "A run of linked digests: log files delivered in it are vouched for.",
    "digest_missing": "Between digests, where the chain links to a digest that is absent.",
    "digest_unreadable": "Between digests, where the chain links to a digest that is held but unreadable.",
    "validation_off": "Before a digest that starts a new chain: log file validation or logging was off.",
    "no_digest": "Between linked digests that are not contiguous in time.",
}

#: Statuses that say something is wrong with the evidence: the verdict is FAILED.
FAILING: frozenset[str] = frozenset(
    {
        "modified",
        "missing",
        "extra",
        "copy_changed",
        "malformed",
        "moved",
        "bad_signature",
        "chain_broken",
    }
)

#: Statuses of files that could not be proven for want of a key, a signature or a digest: the
#: verdict is UNVERIFIABLE (unless something FAILED), and what to supply is said.
UNVERIFIABLE: frozenset[str] = frozenset({"no_public_key", "unsigned", "unverified"})


def save_tables(
    con: duckdb.DuckDBPyConnection, integrity: pl.DataFrame, coverage: pl.DataFrame
) -> None:
    """Replace both tables in one transaction, as schema.py declares them (every column COMMENTed)."""
    con.execute("BEGIN TRANSACTION")
    try:
        TRAIL_INTEGRITY.replace(con, integrity)
        TRAIL_COVERAGE.replace(con, coverage)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def load_tables(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Both tables as a previous run saved them, or None when verification never ran."""
    existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {INTEGRITY_TABLE, COVERAGE_TABLE} <= existing:
        return None
    integrity = con.sql(f"SELECT * FROM {INTEGRITY_TABLE}").pl()
    coverage = con.sql(f"SELECT * FROM {COVERAGE_TABLE}").pl()
    return TRAIL_INTEGRITY.conform(integrity), TRAIL_COVERAGE.conform(coverage)
