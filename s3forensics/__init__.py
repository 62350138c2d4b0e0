"""s3forensics: acquire, parse, store and investigate AWS S3 server access logs and CloudTrail."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
