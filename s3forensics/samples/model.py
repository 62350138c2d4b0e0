"""What happens in the scenario, independent of how it is logged: who calls what, and the objects.

An `S3Call` is one request to S3 as both logs see it; an `ApiCall` is an event only CloudTrail
records (STS, console sign-in, ListBuckets). The log writers turn these into access log lines
and CloudTrail records, so the two sources agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .world import Role, User

__all__ = [
    "ANONYMOUS",
    "S3_INTERNAL",
    "Actor",
    "ApiCall",
    "Catalogue",
    "Client",
    "Identity",
    "S3Call",
    "StoredObject",
    "foreign_identity",
    "iso",
    "oai_identity",
    "role_identity",
    "user_identity",
]


def iso(moment: datetime) -> str:
    """CloudTrail's timestamp format, `2026-10-05T09:12:33Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Identity:
    """Who made a request: the access log's Requester and CloudTrail's userIdentity."""

    type: str  # CloudTrail userIdentity.type
    requester: str  # access log Requester field ("-" for anonymous)
    arn: str | None = None
    principal_id: str | None = None
    account_id: str | None = None
    access_key_id: str | None = None
    user_name: str | None = None
    issuer: Role | None = None  # the role of an assumed-role session
    session_created: datetime | None = None
    mfa: bool = False
    invoked_by: str | None = None
    console: bool = False  # credentials of a console session

    def user_identity(self) -> dict[str, Any]:
        """The CloudTrail userIdentity element."""
        out: dict[str, Any] = {"type": self.type}
        if self.principal_id is not None:
            out["principalId"] = self.principal_id
        if self.arn is not None and self.type != "AWSAccount":
            out["arn"] = self.arn
        if self.account_id is not None:
            out["accountId"] = self.account_id
        if self.access_key_id is not None:
            out["accessKeyId"] = self.access_key_id
        if self.user_name is not None:
            out["userName"] = self.user_name
        if self.issuer is not None or self.session_created is not None:
            ctx: dict[str, Any] = {}
            if self.issuer is not None:
                ctx["sessionIssuer"] = {
                    "type": "Role", "principalId": self.issuer.principal_id,
                    "arn": self.issuer.arn, "accountId": self.issuer.account,
                    "userName": self.issuer.name,
                }
            ctx["attributes"] = {
                "creationDate": iso(self.session_created) if self.session_created else None,
                "mfaAuthenticated": "true" if self.mfa else "false",
            }
            out["sessionContext"] = ctx
        if self.invoked_by is not None:
            out["invokedBy"] = self.invoked_by
        return out


def user_identity(user: User, *, access_key: str | None = None,
                  console_since: datetime | None = None, mfa: bool = False) -> Identity:
    """An IAM user calling with its long-term key, or with console session credentials."""
    return Identity(
        type="IAMUser", requester=user.arn, arn=user.arn, principal_id=user.principal_id,
        account_id=user.account, access_key_id=access_key or user.access_key,
        user_name=user.name, session_created=console_since, mfa=mfa,
        console=console_since is not None,
    )


def role_identity(role: Role, session: str, access_key: str, created: datetime, *,
                  invoked_by: str | None = None) -> Identity:
    """A session of an assumed role."""
    arn = role.session_arn(session)
    return Identity(
        type="AssumedRole", requester=arn, arn=arn,
        principal_id=f"{role.principal_id}:{session}", account_id=role.account,
        access_key_id=access_key, issuer=role, session_created=created, invoked_by=invoked_by,
    )


def foreign_identity(user: User) -> Identity:
    """A principal of another account: the bucket owner's trail shows only its account."""
    return Identity(type="AWSAccount", requester=user.arn, arn=user.arn,
                    principal_id=user.principal_id, account_id=user.account)


ANONYMOUS = Identity(type="AWSAccount", requester="-", principal_id="",
                     account_id="ANONYMOUS_PRINCIPAL")
#: S3 acting on its own (lifecycle): the access log shows the requester as AmazonS3.
S3_INTERNAL = Identity(type="AWSService", requester="AmazonS3", invoked_by="s3.amazonaws.com")


def oai_identity(oai: str) -> Identity:
    """A CloudFront origin access identity (its access log requester contains spaces)."""
    arn = f"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {oai}"
    return Identity(type="AWSAccount", requester=arn, arn=arn, principal_id=oai,
                    account_id="cloudfront")


@dataclass(frozen=True)
class Client:
    """The software and network path of a caller: TLS, signing, endpoint style, speed."""

    user_agent: str | None
    tls_version: str | None = "TLSv1.3"
    cipher: str | None = "TLS_AES_128_GCM_SHA256"
    signature: str | None = "SigV4"
    auth: str | None = "AuthHeader"
    host_style: str = "virtual"  # virtual | path | global | website
    vpce: str | None = None  # gateway VPC endpoint the request came through
    in_region: bool = False  # request originates inside AWS (access log source_region)
    mbytes_per_s: float = 40.0
    latency_ms: int = 30
    #: CloudTrail's userAgent and sourceIPAddress when an AWS service calls on its own behalf.
    service: str | None = None


@dataclass(frozen=True)
class Actor:
    """A caller at one moment: identity, address and client."""

    identity: Identity
    ip: str
    client: Client


@dataclass
class S3Call:
    """One request to S3, with everything both logs record about it."""

    time: datetime  # when S3 received it (access log time); CloudTrail adds total_ms
    actor: Actor
    bucket: str
    operation: str  # access log operation, e.g. REST.GET.OBJECT
    event_name: str | None  # CloudTrail eventName; None when CloudTrail never records it
    management: bool  # a bucket-level (management) event rather than a data event
    request_id: str
    host_id: str | None
    event_id: str
    key: str | None = None
    method: str = "GET"
    query: str = ""
    status: int | None = 200
    error_code: str | None = None
    error_message: str | None = None
    bytes_sent: int | None = None
    object_size: int | None = None
    bytes_in: int = 0
    total_ms: int | None = 20
    turnaround_ms: int | None = 10
    referer: str | None = None
    request_parameters: dict[str, Any] = field(default_factory=dict)
    response_elements: dict[str, Any] | None = None
    #: DeleteObjects: the (key, size) pairs deleted; each gets a BATCH.DELETE.OBJECT line.
    batch: list[tuple[str, int]] = field(default_factory=list)
    copy_source_key: str | None = None  # CopyObject: logged again as REST.COPY.OBJECT_GET
    path_override: str | None = None  # website requests: the path asked for ("/")
    shared_event_id: str | None = None  # cross-account calls: CloudTrail sharedEventID
    #: Label for the answer key (e.g. "breach:exfiltration"); never written to a log.
    tag: str = ""

    @property
    def read_only(self) -> bool:
        """CloudTrail's readOnly: the request does not change anything."""
        return self.method in ("GET", "HEAD")


@dataclass
class ApiCall:
    """An event only CloudTrail records: STS calls, console sign-in, ListBuckets."""

    time: datetime  # eventTime
    identity: Identity
    event_source: str
    event_name: str
    ip: str
    user_agent: str
    event_id: str
    request_id: str | None
    read_only: bool
    request_parameters: dict[str, Any] | None = None
    response_elements: dict[str, Any] | None = None
    additional: dict[str, Any] | None = None
    resources: list[dict[str, Any]] | None = None
    event_type: str = "AwsApiCall"
    event_version: str = "1.11"
    tls: tuple[str, str, str] | None = None  # version, cipher, client host header
    shared_event_id: str | None = None
    tag: str = ""
    error: tuple[str, str] | None = None  # (errorCode, errorMessage) of a failed call


@dataclass
class StoredObject:
    """An object in a bucket and what happens to it during the scenario."""

    key: str
    size: int
    created: datetime
    deleted: datetime | None = None
    encrypted: datetime | None = None  # re-encrypted in place with a customer key (SSE-C)

    def live(self, moment: datetime) -> bool:
        """The object exists at `moment`."""
        return self.created <= moment and (self.deleted is None or moment < self.deleted)

    def readable(self, moment: datetime) -> bool:
        """The object exists and can be read without the attacker's key at `moment`."""
        return self.live(moment) and (self.encrypted is None or moment < self.encrypted)


class Catalogue:
    """The objects of one bucket over time, in creation order."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self._objects: dict[str, StoredObject] = {}

    def add(self, obj: StoredObject) -> StoredObject:
        """Record a new object."""
        self._objects[obj.key] = obj
        return obj

    def get(self, key: str) -> StoredObject:
        """The object with `key`."""
        return self._objects[key]

    def live(self, prefix: str, moment: datetime) -> list[StoredObject]:
        """Objects under `prefix` that exist at `moment`, sorted by key."""
        return sorted((o for k, o in self._objects.items()
                       if k.startswith(prefix) and o.live(moment)), key=lambda o: o.key)

    def created_under(self, prefix: str) -> list[StoredObject]:
        """Every object ever created under `prefix`, deleted or not, sorted by key."""
        return sorted((o for k, o in self._objects.items() if k.startswith(prefix)),
                      key=lambda o: o.key)

    def readable(self, prefix: str, moment: datetime) -> list[StoredObject]:
        """Objects under `prefix` readable at `moment`, sorted by key."""
        return [o for o in self.live(prefix, moment) if o.readable(moment)]
