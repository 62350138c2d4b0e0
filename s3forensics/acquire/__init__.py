"""Acquire log objects from S3 into a case: windowed listing, parallel hashed download, context.

The only package that uses boto3, in modules named for their job: `session` (the AWS session and
errors a person can act on), `listing` (which keys a window needs, from the key layouts),
`download` (parallel, hashed, resumable copies and manifest entries), `context` (logging and trail
configuration, public keys), `run` (one acquisition end to end), `results` (what it planned and
fetched) and `reader` (single objects, for lake builds). It only lists, heads and gets, plus read-only context calls; `READ_ONLY_OPERATIONS` is
the complete set, and a test holds it to that.
"""

from __future__ import annotations

from ..layouts import DEFAULT_WORKERS, KINDS
from .listing import plan_acquisition
from .reader import ObjectReader
from .results import AcquireResult, AcquisitionPlan, ListedObject, RangeListing
from .run import acquire
from .session import READ_ONLY_OPERATIONS

__all__ = [
    "DEFAULT_WORKERS",
    "KINDS",
    "READ_ONLY_OPERATIONS",
    "AcquireResult",
    "AcquisitionPlan",
    "ListedObject",
    "ObjectReader",
    "RangeListing",
    "acquire",
    "plan_acquisition",
]
