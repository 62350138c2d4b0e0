"""The two case tables verification writes, `trail_integrity` and `trail_coverage`, with docs."""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl

__all__ = [
    "COVERAGE_COLUMNS",
    "COVERAGE_STATUS_DOCS",
    "COVERAGE_TABLE",
    "FAILING",
    "INTEGRITY_COLUMNS",
    "INTEGRITY_TABLE",
    "STATUS_DOCS",
    "TABLE_DOCS",
    "UNVERIFIABLE",
    "empty_frame",
    "load_tables",
    "save_tables",
]

INTEGRITY_TABLE = "trail_integrity"
COVERAGE_TABLE = "trail_coverage"

_UTC = pl.Datetime("us", "UTC")

#: name -> (polars type, DuckDB type, what it means)
INTEGRITY_COLUMNS: dict[str, tuple[pl.DataType, str, str]] = {
    "account": (
        pl.String(),
        "VARCHAR",
        "AWS account of the trail files (from the key's file name).",
    ),
    "region": (
        pl.String(),
        "VARCHAR",
        "Region the files were recorded for (from the key's file name).",
    ),
    "trail": (
        pl.String(),
        "VARCHAR",
        "Trail named by the digest (for a log: the digest naming it); NULL when none.",
    ),
    "kind": (
        pl.String(),
        "VARCHAR",
        "'digest' for a digest file, 'log' for a CloudTrail log file.",
    ),
    "bucket": (
        pl.String(),
        "VARCHAR",
        "S3 bucket of the file as AWS delivered it (digest or evidence record); NULL when unknown.",
    ),
    "key": (
        pl.String(),
        "VARCHAR",
        (
            "S3 key of the file as AWS delivered it; for a local copy no digest names, the "
            "AWSLogs/... end of its path."
        ),
    ),
    "status": (
        pl.String(),
        "VARCHAR",
        "Verification outcome; see STATUS_DOCS (valid, modified, missing, extra, ...).",
    ),
    "failed": (
        pl.Boolean(),
        "BOOLEAN",
        (
            "True when the status says something is wrong with the evidence (altered, deleted, "
            "inserted, moved, unreadable); False for valid files and for those that could only "
            "not be checked (no public key, no signature: see UNVERIFIABLE)."
        ),
    ),
    "detail": (pl.String(), "VARCHAR", "What was found and what to do about it, in words."),
    "evidence_id": (
        pl.String(),
        "VARCHAR",
        "Evidence object checked (evidence.evidence_id); NULL for files not in the case.",
    ),
    "case_path": (
        pl.String(),
        "VARCHAR",
        "Where the checked copy is in the case folder; NULL for files not in the case.",
    ),
    "delivered_at": (
        _UTC,
        "TIMESTAMPTZ",
        "Delivery time in the file name (UTC; to the minute for logs, the second for digests).",
    ),
    "digest_key": (
        pl.String(),
        "VARCHAR",
        "For a log: key of the digest that names it. For a digest: the previous digest it links to.",
    ),
    "expected_sha256": (
        pl.String(),
        "VARCHAR",
        (
            "SHA-256 of the uncompressed content a digest records for this file (for a digest: "
            "what the next digest records)."
        ),
    ),
    "actual_sha256": (
        pl.String(),
        "VARCHAR",
        "SHA-256 of the uncompressed content of the copy in the case.",
    ),
    "digest_start": (
        _UTC,
        "TIMESTAMPTZ",
        "digestStartTime of the digest (for a log: of the digest naming it).",
    ),
    "digest_end": (
        _UTC,
        "TIMESTAMPTZ",
        "digestEndTime of the digest (for a log: of the digest naming it).",
    ),
    "oldest_event_time": (_UTC, "TIMESTAMPTZ", "oldestEventTime the digest records for this file."),
    "newest_event_time": (_UTC, "TIMESTAMPTZ", "newestEventTime the digest records for this file."),
    "fingerprint": (
        pl.String(),
        "VARCHAR",
        "digestPublicKeyFingerprint: the public key that signed the digest (digests only).",
    ),
    "checked_at": (
        _UTC,
        "TIMESTAMPTZ",
        "When this verification ran (UTC); the table is replaced by each run.",
    ),
}

COVERAGE_COLUMNS: dict[str, tuple[pl.DataType, str, str]] = {
    "account": (pl.String(), "VARCHAR", "AWS account of the digest chain."),
    "region": (pl.String(), "VARCHAR", "Region of the digest chain."),
    "trail": (pl.String(), "VARCHAR", "Trail of the digest chain."),
    "period_start": (_UTC, "TIMESTAMPTZ", "Start of the period (UTC, inclusive)."),
    "period_end": (_UTC, "TIMESTAMPTZ", "End of the period (UTC, exclusive)."),
    "status": (
        pl.String(),
        "VARCHAR",
        (
            "covered, digest_missing, digest_unreadable, validation_off or no_digest "
            "(see COVERAGE_STATUS_DOCS)."
        ),
    ),
    "digests": (pl.Int64(), "BIGINT", "Digest files held for the period (0 for a gap)."),
    "hours": (pl.Float64(), "DOUBLE", "Length of the period in hours."),
    "detail": (pl.String(), "VARCHAR", "What the period means, in words."),
    "checked_at": (
        _UTC,
        "TIMESTAMPTZ",
        "When this verification ran (UTC); the table is replaced by each run.",
    ),
}

TABLE_DOCS: dict[str, str] = {
    INTEGRITY_TABLE: (
        "CloudTrail log file validation, offline: one row per digest and per log file "
        "(held or named by a digest) with its verification status."
    ),
    COVERAGE_TABLE: (
        "Periods of each digest chain: covered runs of digests, and gaps where no digest "
        "vouches for the log files (missing digests, validation off)."
    ),
}

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


def _schema(columns: Mapping[str, tuple[pl.DataType, str, str]]) -> dict[str, pl.DataType]:
    return {name: spec[0] for name, spec in columns.items()}


def empty_frame(columns: Mapping[str, tuple[pl.DataType, str, str]]) -> pl.DataFrame:
    """An empty frame with the table's columns."""
    return pl.DataFrame(schema=_schema(columns))


def _conform(
    frame: pl.DataFrame, columns: Mapping[str, tuple[pl.DataType, str, str]]
) -> pl.DataFrame:
    return frame.select(
        [
            (pl.col(n) if n in frame.columns else pl.lit(None)).cast(spec[0]).alias(n)
            for n, spec in columns.items()
        ]
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def save_tables(
    con: duckdb.DuckDBPyConnection, integrity: pl.DataFrame, coverage: pl.DataFrame
) -> None:
    """Replace both tables in one transaction, every column with a COMMENT."""
    frames = {
        INTEGRITY_TABLE: (_conform(integrity, INTEGRITY_COLUMNS), INTEGRITY_COLUMNS),
        COVERAGE_TABLE: (_conform(coverage, COVERAGE_COLUMNS), COVERAGE_COLUMNS),
    }
    con.execute("BEGIN TRANSACTION")
    try:
        for table, (frame, columns) in frames.items():
            con.execute(f"DROP TABLE IF EXISTS {table}")
            cols = ", ".join(f'"{n}" {spec[1]}' for n, spec in columns.items())
            con.execute(f"CREATE TABLE {table} ({cols})")
            con.execute(f"COMMENT ON TABLE {table} IS {_quote(TABLE_DOCS[table])}")
            for n, spec in columns.items():
                con.execute(f'COMMENT ON COLUMN {table}."{n}" IS {_quote(spec[2])}')
            con.register("_integrity_rows", frame)
            con.execute(f"INSERT INTO {table} SELECT * FROM _integrity_rows")
            con.unregister("_integrity_rows")
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
    return _conform(integrity, INTEGRITY_COLUMNS), _conform(coverage, COVERAGE_COLUMNS)
