"""Reading single objects by key, for lake builds whose tasks each fetch their share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import __version__
from ..errors import AcquisitionError
from .session import aws_error, error_code

__all__ = ["ObjectReader"]


class ObjectReader:
    """GetObject only, pinned to the ETag a listing saw: how a lake build's tasks read objects.

    Each Spark task makes its own (clients do not travel between processes); credentials come
    from the task's environment, as for any boto3 client.
    """

    def __init__(self, *, endpoint_url: str | None = None,
                 boto3_session: boto3.Session | None = None) -> None:
        session = boto3_session or boto3.session.Session()
        self._client = session.client(
            "s3", endpoint_url=endpoint_url,
            config=Config(retries={"max_attempts": 8, "mode": "standard"},
                          user_agent_extra=f"s3forensics/{__version__} lake",
                          s3={"addressing_style": "path"} if endpoint_url else None))

    def get(self, bucket: str, key: str, *, etag: str | None = None) -> tuple[bytes, dict[str, Any]]:
        """The object's bytes and its version id, ETag and when it was read; errors name it."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag:
            kwargs["IfMatch"] = f'"{etag}"'
        try:
            resp = self._client.get_object(**kwargs)
            data = resp["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "412"):
                raise AcquisitionError(
                    f"s3://{bucket}/{key}: changed since it was listed (ETag is no longer "
                    f"{etag}); run again to read the current object") from exc
            raise aws_error(exc, "GetObject", bucket, key) from exc
        except BotoCoreError as exc:
            raise aws_error(exc, "GetObject", bucket, key) from exc
        if len(data) != int(resp.get("ContentLength", len(data))):
            raise AcquisitionError(f"GetObject s3://{bucket}/{key}: received {len(data)} of "
                                   f"{resp['ContentLength']} bytes")
        return data, {"version_id": resp.get("VersionId"),
                      "etag": str(resp.get("ETag", "")).strip('"') or etag,
                      "acquired_at": datetime.now(UTC)}
