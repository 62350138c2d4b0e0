"""CloudTrail log file integrity, offline: digest signatures, the chain, log hashes, coverage."""

from __future__ import annotations

from .digest import Digest, parse_digest, parse_trail_name, signing_string
from .keys import PublicKey, fingerprint_of, load_public_keys
from .report import IntegrityReport
from .tables import COVERAGE_STATUS_DOCS, COVERAGE_TABLE, FAILING, INTEGRITY_TABLE, STATUS_DOCS
from .verify import load_object_metadata, read_integrity, verify_trail

__all__ = [
    "COVERAGE_STATUS_DOCS",
    "COVERAGE_TABLE",
    "FAILING",
    "INTEGRITY_TABLE",
    "STATUS_DOCS",
    "Digest",
    "IntegrityReport",
    "PublicKey",
    "fingerprint_of",
    "load_object_metadata",
    "load_public_keys",
    "parse_digest",
    "parse_trail_name",
    "read_integrity",
    "signing_string",
    "verify_trail",
]
