"""The bundled breach scenario: a week of realistic S3 access logs and CloudTrail with an answer key.

`generate(out)` writes the objects in their real key layouts (`<out>/<bucket>/<key>`), the digest
signatures (`object-metadata.json`), the public key that verifies them and the answer key
(`ANSWERS.md`, `answers.json`). The same seed always gives the same bytes.
"""

from __future__ import annotations

from .build import (
    DEFAULT_SEED,
    METADATA_FILE,
    PUBLIC_KEY_FILE,
    SampleSet,
    build_samples,
    evidence_sources,
    generate,
    write_samples,
)

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
