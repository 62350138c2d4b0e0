"""s3forensics: acquire, parse, store and investigate AWS S3 server access logs and CloudTrail."""

from __future__ import annotations

__version__ = "0.1.0"

from .case import Case, IngestSummary  # noqa: E402
from .errors import (  # noqa: E402
    AcquisitionError,
    CaseError,
    InputError,
    QueryError,
    S3ForensicsError,
    TimeRangeError,
)
from .findings import Finding, run_findings, save_findings  # noqa: E402
from .parse.cloudtrail import parse_cloudtrail, parse_cloudtrail_bytes, parse_cloudtrail_file  # noqa: E402
from .parse.common import ParseResult  # noqa: E402
from .parse.s3_access import (  # noqa: E402
    parse_access_log_bytes,
    parse_access_log_file,
    parse_access_logs,
)
from .queries import Query, QueryRegistry, default_registry  # noqa: E402
from .timerange import TimeRange  # noqa: E402

__all__ = [
    "__version__",
    "AcquisitionError",
    "Case",
    "CaseError",
    "Finding",
    "IngestSummary",
    "InputError",
    "ParseResult",
    "Query",
    "QueryError",
    "QueryRegistry",
    "S3ForensicsError",
    "TimeRange",
    "TimeRangeError",
    "default_registry",
    "parse_access_log_bytes",
    "parse_access_log_file",
    "parse_access_logs",
    "parse_cloudtrail",
    "parse_cloudtrail_bytes",
    "parse_cloudtrail_file",
    "run_findings",
    "save_findings",
]
