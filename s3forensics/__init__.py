"""s3forensics: acquire, parse, store and investigate AWS S3 server access logs and CloudTrail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

# The public names, each loaded on first use (PEP 562), so that `import s3forensics` and the CLI's
# `--help` cost nothing until a command needs polars, DuckDB or boto3.
_EXPORTS: dict[str, str] = {
    "AcquisitionError": ".errors",
    "CaseError": ".errors",
    "InputError": ".errors",
    "MissingExtraError": ".errors",
    "ParameterError": ".errors",
    "QueryError": ".errors",
    "S3ForensicsError": ".errors",
    "TimeRangeError": ".errors",
    "Case": ".case",
    "IngestSummary": ".case",
    "Finding": ".findings",
    "run_findings": ".findings",
    "save_findings": ".findings",
    "ParseResult": ".parse.common",
    "parse_access_log_bytes": ".parse.s3_access",
    "parse_access_log_file": ".parse.s3_access",
    "parse_access_logs": ".parse.s3_access",
    "parse_cloudtrail": ".parse.cloudtrail",
    "parse_cloudtrail_bytes": ".parse.cloudtrail",
    "parse_cloudtrail_file": ".parse.cloudtrail",
    "Query": ".queries",
    "QueryRegistry": ".queries",
    "default_registry": ".queries",
    "TimeRange": ".timerange",
}

__all__ = [  # noqa: RUF022 -- the same order as _EXPORTS
    "__version__",
    "AcquisitionError", "CaseError", "InputError", "MissingExtraError", "ParameterError",
    "QueryError",
    "S3ForensicsError", "TimeRangeError", "Case", "IngestSummary", "Finding", "run_findings",
    "save_findings", "ParseResult", "parse_access_log_bytes", "parse_access_log_file",
    "parse_access_logs", "parse_cloudtrail", "parse_cloudtrail_bytes", "parse_cloudtrail_file",
    "Query", "QueryRegistry", "default_registry", "TimeRange",
]
assert set(__all__) == {"__version__", *_EXPORTS}

if TYPE_CHECKING:
    from .case import Case, IngestSummary
    from .errors import (
        AcquisitionError,
        CaseError,
        InputError,
        MissingExtraError,
        ParameterError,
        QueryError,
        S3ForensicsError,
        TimeRangeError,
    )
    from .findings import Finding, run_findings, save_findings
    from .parse.cloudtrail import parse_cloudtrail, parse_cloudtrail_bytes, parse_cloudtrail_file
    from .parse.common import ParseResult
    from .parse.s3_access import parse_access_log_bytes, parse_access_log_file, parse_access_logs
    from .queries import Query, QueryRegistry, default_registry
    from .timerange import TimeRange


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
