"""The AWS session of an acquisition, and AWS errors turned into messages a person can act on.

The only place boto3 clients are made. Acquisition only lists, heads and gets (plus read-only context
calls); `READ_ONLY_OPERATIONS` is the complete set, and a test holds it to that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from .. import __version__
from ..errors import AcquisitionError

if TYPE_CHECKING:
    pass

#: Every API operation an acquisition may send. All read: nothing is written to the account.
READ_ONLY_OPERATIONS = frozenset(
    {
        "ListObjectsV2",
        "HeadObject",
        "GetObject",
        "GetBucketLogging",
        "GetCallerIdentity",
        "DescribeTrails",
        "GetEventSelectors",
        "GetTrailStatus",
        "ListPublicKeys",
    }
)
# The IAM action a denied operation needs, for errors a person can act on.
IAM_ACTION = {
    "ListObjectsV2": "s3:ListBucket",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "GetBucketLogging": "s3:GetBucketLogging",
    "DescribeTrails": "cloudtrail:DescribeTrails",
    "GetEventSelectors": "cloudtrail:GetEventSelectors",
    "GetTrailStatus": "cloudtrail:GetTrailStatus",
    "ListPublicKeys": "cloudtrail:ListPublicKeys",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403", "Forbidden"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidClientTokenId",
    "InvalidToken",
    "TokenRefreshRequired",
}


# -- clients and errors ---------------------------------------------------------------------


class AwsSession:
    """One boto3 session and its clients, created once and shared by every worker thread."""

    def __init__(
        self,
        session: boto3.Session | None,
        *,
        profile: str | None,
        endpoint_url: str | None,
        workers: int,
    ) -> None:
        if session is None:
            try:
                session = boto3.Session(profile_name=profile)
            except ProfileNotFound as exc:
                raise AcquisitionError(
                    f"AWS profile {profile!r} not found in the AWS config files"
                ) from exc
        try:
            credentials = session.get_credentials()
        except BotoCoreError as exc:
            raise AcquisitionError(f"cannot load AWS credentials: {exc}") from exc
        if credentials is None:
            raise AcquisitionError(
                "no AWS credentials found: pass {profile}, set AWS_PROFILE or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached",
                mentions=("profile",))
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = session.region_name or "us-east-1"
        self._config = Config(
            max_pool_connections=workers + 4,
            retries={
                "max_attempts": 8,
                "mode": "standard",
            },  # backoff with jitter on 5xx/throttling
            connect_timeout=10,
            read_timeout=60,
            # So that the acquisition's own requests are recognisable in CloudTrail.
            user_agent_extra=f"s3forensics/{__version__}",
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        # Context calls (STS, CloudTrail) are best effort: retry once, do not stall the acquisition.
        self._context_config = self._config.merge(
            Config(retries={"max_attempts": 2, "mode": "standard"})
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        """The shared client for a service (and region)."""
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.endpoint_url,
                    config=self._config if service == "s3" else self._context_config,
                )
            return self._clients[key]

    @property
    def s3(self) -> Any:
        """The shared S3 client."""
        return self.client("s3")


def error_code(exc: ClientError) -> str:
    return str(
        exc.response.get("Error", {}).get("Code")
        or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


def aws_error(exc: Exception, operation: str, bucket: str, where: str) -> AcquisitionError:
    """Turn a botocore failure into one line naming the bucket, prefix or key and the fix."""
    target = f"s3://{bucket}/{where}"
    if isinstance(exc, NoCredentialsError):
        return AcquisitionError(
            "no AWS credentials found: pass {profile}, set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached",
            mentions=("profile",))
    if isinstance(exc, EndpointConnectionError):
        return AcquisitionError(f"{operation} {target}: cannot reach the endpoint ({exc})")
    if not isinstance(exc, ClientError):
        return AcquisitionError(f"{operation} {target}: {exc}")
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    if code in _DENIED:
        action = IAM_ACTION.get(operation, operation)
        resource = (
            f"arn:aws:s3:::{bucket}"
            if action == "s3:ListBucket"
            else f"arn:aws:s3:::{bucket}/{where}"
        )
        return AcquisitionError(
            f"access denied: {operation} on {target} needs {action} on {resource}; "
            f"grant it to the acquiring identity (read-only is enough)"
        )
    if code in ("NoSuchBucket", "404") and operation == "ListObjectsV2":
        return AcquisitionError(
            f"no such bucket: {bucket!r} does not exist (check the name, "
            "the account of the credentials and {endpoint_url})",
            mentions=("endpoint_url",))
    if code in _BAD_CREDENTIALS:
        return AcquisitionError(
            f"{operation} {target}: the credentials were rejected ({code}: {message})"
        )
    return AcquisitionError(f"{operation} {target}: {code}: {message}".rstrip(": "))


def call(operation: str, bucket: str, where: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, operation, bucket, where) from exc


