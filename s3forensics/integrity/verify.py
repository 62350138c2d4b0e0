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

The work is split by job: `inputs` (object metadata, acquisition ranges, reading the copies),
`chain` (digests, signatures, links), `coverage` (periods of each chain) and `logs` (matching log
files to digest entries); this module runs them and stores the result.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import InputError
from ..schema import TRAIL_COVERAGE, TRAIL_INTEGRITY
from .chain import DigestChain, SignatureChecker, digest_rows, load_digest
from .context import context_object_metadata, context_public_keys
from .coverage import coverage_rows
from .digest import SIGNATURE_ALGORITHM
from .inputs import ObjectMetadata, acquired_ranges, load_object_metadata
from .keys import case_public_keys, load_public_keys
from .logs import LOG_SCHEMA, absent_rows, digest_entries, hash_log, matched_rows, unnamed_rows
from .report import IntegrityReport
from .tables import FAILING, load_tables, save_tables

if TYPE_CHECKING:
    from ..case import Case

__all__ = ["load_object_metadata", "read_integrity", "verify_trail"]


#: The columns a check fills in (`failed` and `checked_at` are set once, for every row).
_ROW_SCHEMA: dict[str, pl.DataType] = {
    n: t for n, t in TRAIL_INTEGRITY.polars_schema().items() if n not in ("failed", "checked_at")
}


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
    metadata = ObjectMetadata.build(root, user_meta, notes)
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
    digest_files = evidence.filter(pl.col("kind") == "cloudtrail-digest").to_dicts()
    log_files = evidence.filter(pl.col("kind") == "cloudtrail").to_dicts()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        nodes = list(pool.map(lambda r: load_digest(root, r), digest_files))
        hashed = list(pool.map(lambda r: hash_log(root, r), log_files))
    for n in nodes:
        found = metadata.lookup(n)
        if found and found[0].get("signature"):
            n.meta_signature, n.meta_source = found[0]["signature"], found[1]
            algorithm = found[0].get("signature-algorithm")
            if algorithm and algorithm != SIGNATURE_ALGORITHM:
                n.notes.append(f"S3 metadata signature-algorithm is {algorithm!r}")
    chain = DigestChain(nodes, SignatureChecker(keys))
    chain.run()

    coverage = pl.DataFrame(
        coverage_rows(chain), schema=TRAIL_COVERAGE.polars_schema(), strict=False
    )
    logs = pl.DataFrame(hashed, schema=LOG_SCHEMA, strict=False)
    entries = digest_entries(chain)
    matched = matched_rows(entries, logs)
    acquired = acquired_ranges(root, notes)
    absent = absent_rows(
        entries.join(logs.select("name"), on="name", how="anti"), logs, acquired.log_ranges
    )
    unnamed = logs.join(matched.select("evidence_id").unique(), on="evidence_id", how="anti")
    conform = TRAIL_INTEGRITY.conform
    files = pl.concat(
        [
            conform(pl.DataFrame(digest_rows(chain, acquired), schema=_ROW_SCHEMA, strict=False)),
            conform(matched.with_columns(kind=pl.lit("log"))),
            conform(absent.with_columns(kind=pl.lit("log"))),
            conform(pl.DataFrame(unnamed_rows(unnamed, coverage), schema=_ROW_SCHEMA, strict=False)),
        ]
    )
    stamp = pl.lit(checked_at, pl.Datetime("us", "UTC")).alias("checked_at")
    files = files.with_columns(pl.col("status").is_in(sorted(FAILING)).alias("failed"), stamp)
    files = files.sort("account", "region", "kind", "delivered_at", "key", nulls_last=True)
    report = IntegrityReport(
        files=files.select(TRAIL_INTEGRITY.column_names),
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

