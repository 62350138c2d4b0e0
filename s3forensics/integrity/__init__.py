"""CloudTrail log file integrity, offline: digest signatures, the chain, log hashes, coverage."""

from __future__ import annotations

from .context import context_object_metadata, context_public_keys, keep_context
from .digest import Digest, parse_digest, parse_trail_name, signing_string
from .keys import PublicKey, fingerprint_of, load_public_keys
from .report import IntegrityReport, Verdict
from .tables import (
    COVERAGE_STATUS_DOCS,
    COVERAGE_TABLE,
    FAILING,
    INTEGRITY_TABLE,
    STATUS_DOCS,
    UNVERIFIABLE,
)
from .verify import load_object_metadata, read_integrity, verify_trail

__all__ = [
    "COVERAGE_STATUS_DOCS",
    "COVERAGE_TABLE",
    "FAILING",
    "INTEGRITY_TABLE",
    "STATUS_DOCS",
    "UNVERIFIABLE",
    "Digest",
    "IntegrityReport",
    "PublicKey",
    "Verdict",
    "context_object_metadata",
    "context_public_keys",
    "fingerprint_of",
    "keep_context",
    "load_object_metadata",
    "load_public_keys",
    "parse_digest",
    "parse_trail_name",
    "read_integrity",
    "signing_string",
    "verify_trail",
]
