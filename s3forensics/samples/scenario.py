"""The scenario being built: its calls, objects and facts, plus the CloudTrail-only events.

Actors (benign.py) and the breach (breach.py) add calls here; the log writers read them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .ids import IdMaker
from .model import Actor, ApiCall, Catalogue, Identity, S3Call, role_identity
from .ops import Requests
from .world import DATA_BUCKET, END, START, WEB_BUCKET, Role, User, World, make_world

__all__ = ["ActorFacts", "Scenario", "ct_user_agent", "hours", "is_business_hour", "stream"]

_CONSOLE_TLS = ("TLSv1.3", "TLS_AES_128_GCM_SHA256")


def stream(seed: int, name: str) -> random.Random:
    """An independent random stream per concern, so tuning one part leaves the others alone."""
    return random.Random(f"s3forensics-samples/{seed}/{name}")


def hours(start: datetime = START, end: datetime = END) -> Iterator[datetime]:
    """The hour starts in [start, end)."""
    t = start
    while t < end:
        yield t
        t += timedelta(hours=1)


def is_business_hour(t: datetime) -> bool:
    """Weekday, 07:00-19:00 UTC (the company's working day)."""
    return t.weekday() < 5 and 7 <= t.hour < 19


def ct_user_agent(user_agent: str) -> str:
    """CloudTrail wraps the user agent of S3 requests in brackets."""
    return f"[{user_agent}]"


def _expiration(moment: datetime) -> str:
    """STS's credential expiration format, e.g. `Oct 5, 2026, 6:12:03 AM`."""
    hour = moment.hour % 12 or 12
    ampm = "AM" if moment.hour < 12 else "PM"
    return (f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} {ampm}")


@dataclass
class ActorFacts:
    """A benign actor as the answer key describes it."""

    name: str
    kind: str
    description: str
    looks_suspicious_because: str
    ips: set[str] = field(default_factory=set)
    principals: set[str] = field(default_factory=set)
    user_agents: set[str] = field(default_factory=set)

    def saw(self, call: S3Call | ApiCall, *, ip: str | None = None) -> None:
        """Remember the address, principal and user agent of one of the actor's calls."""
        if isinstance(call, S3Call):
            self.ips.add(call.actor.ip)
            if call.actor.identity.requester != "-":
                self.principals.add(call.actor.identity.requester)
            if call.actor.client.user_agent:
                self.user_agents.add(call.actor.client.user_agent)
        else:
            self.ips.add(ip or call.ip)
            if call.identity.arn:
                self.principals.add(call.identity.arn)


@dataclass
class Scenario:
    """Everything that happens in the scenario, collected while it is planned."""

    seed: int
    world: World
    ids: IdMaker
    req: Requests
    catalogues: dict[str, Catalogue]
    s3_calls: list[S3Call] = field(default_factory=list)
    api_calls: list[ApiCall] = field(default_factory=list)
    #: bucket -> [from, to) periods during which its access logging was off.
    logging_off: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    actors: list[ActorFacts] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, seed: int) -> Scenario:
        """An empty scenario whose identifiers come from `seed`."""
        ids = IdMaker(stream(seed, "ids"))
        return cls(seed=seed, world=make_world(ids), ids=ids,
                   req=Requests(ids, stream(seed, "requests")),
                   catalogues={DATA_BUCKET: Catalogue(DATA_BUCKET), WEB_BUCKET: Catalogue(WEB_BUCKET)})

    @property
    def data(self) -> Catalogue:
        """The sensitive bucket's objects."""
        return self.catalogues[DATA_BUCKET]

    @property
    def web(self) -> Catalogue:
        """The website bucket's objects."""
        return self.catalogues[WEB_BUCKET]

    def add(self, call: S3Call, facts: ActorFacts | None = None) -> S3Call:
        """Record an S3 call (and who made it, for the answer key)."""
        self.s3_calls.append(call)
        if facts is not None:
            facts.saw(call)
        return call

    def add_api(self, call: ApiCall, facts: ActorFacts | None = None) -> ApiCall:
        """Record a CloudTrail-only event."""
        self.api_calls.append(call)
        if facts is not None:
            facts.saw(call)
        return call

    # -- CloudTrail-only events -----------------------------------------------------------------

    def assume_role(self, t: datetime, role: Role, session: str, *, invoked_by: str) -> Identity:
        """An AWS service assumes `role` for a workload; returns the session's identity."""
        key = self.ids.access_key("ASIA")
        identity = role_identity(role, session, key, t)
        if t >= START:  # sessions from before the span are in use, but their event is not
            self.add_api(ApiCall(
                time=t, identity=Identity(type="AWSService", requester="-", invoked_by=invoked_by),
                event_source="sts.amazonaws.com", event_name="AssumeRole", ip=invoked_by,
                user_agent=invoked_by, event_id=self.ids.uuid(), request_id=self.ids.uuid(),
                read_only=True, event_version="1.09",
                request_parameters={"roleArn": role.arn, "roleSessionName": session},
                response_elements={
                    "credentials": {"accessKeyId": key,
                                    "expiration": _expiration(t + timedelta(hours=6))},
                    "assumedRoleUser": {"assumedRoleId": f"{role.principal_id}:{session}",
                                        "arn": role.session_arn(session)},
                },
                resources=[{"accountId": role.account, "type": "AWS::IAM::Role",
                            "ARN": role.arn}],
                shared_event_id=self.ids.uuid(),
            ))
        return identity

    def console_login(self, t: datetime, user: User, ip: str, user_agent: str,
                      facts: ActorFacts | None = None) -> None:
        """A successful console sign-in with MFA."""
        self.add_api(ApiCall(
            time=t, identity=Identity(type="IAMUser", requester=user.arn, arn=user.arn,
                                      principal_id=user.principal_id, account_id=user.account,
                                      user_name=user.name),
            event_source="signin.amazonaws.com", event_name="ConsoleLogin", ip=ip,
            user_agent=user_agent, event_id=self.ids.uuid(), request_id=None, read_only=False,
            event_type="AwsConsoleSignIn", event_version="1.09",
            response_elements={"ConsoleLogin": "Success"},
            additional={"LoginTo": "https://console.aws.amazon.com/console/home"
                                   "?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1",
                        "MobileVersion": "No",
                        "MFAIdentifier": f"arn:aws:iam::{user.account}:mfa/{user.name}",
                        "MFAUsed": "Yes"},
            tls=(*_CONSOLE_TLS, "signin.aws.amazon.com"),
        ), facts)

    def list_buckets(self, t: datetime, actor: Actor, facts: ActorFacts | None = None,
                     tag: str = "") -> ApiCall:
        """ListBuckets: an account-level S3 call, so no bucket's access log has it."""
        c = actor.client
        assert c.user_agent is not None
        call = ApiCall(
            time=t, identity=actor.identity, event_source="s3.amazonaws.com",
            event_name="ListBuckets", ip=actor.ip, user_agent=ct_user_agent(c.user_agent),
            event_id=self.ids.uuid(), request_id=self.ids.s3_request_id(), read_only=True,
            request_parameters={"Host": "s3.amazonaws.com"},
            additional={"SignatureVersion": c.signature, "CipherSuite": c.cipher,
                        "bytesTransferredIn": 0, "AuthenticationMethod": c.auth,
                        "x-amz-id-2": self.ids.host_id(), "bytesTransferredOut": 1187},
            tls=(c.tls_version or "TLSv1.3", c.cipher or "", "s3.amazonaws.com"), tag=tag,
        )
        return self.add_api(call, facts)

    def caller_identity(self, t: datetime, actor: Actor, tag: str = "") -> ApiCall:
        """sts:GetCallerIdentity, the usual first call with stolen credentials."""
        c = actor.client
        assert c.user_agent is not None
        return self.add_api(ApiCall(
            time=t, identity=actor.identity, event_source="sts.amazonaws.com",
            event_name="GetCallerIdentity", ip=actor.ip, user_agent=c.user_agent,
            event_id=self.ids.uuid(), request_id=self.ids.uuid(), read_only=True,
            event_version="1.09", tls=(c.tls_version or "TLSv1.3", c.cipher or "",
                                       "sts.amazonaws.com"), tag=tag,
        ))

    def stop_logging(self, t: datetime, actor: Actor, trail_arn: str, tag: str = "") -> ApiCall:
        """cloudtrail:StopLogging on the organization trail, denied to a member-account user."""
        c = actor.client
        assert c.user_agent is not None
        user = actor.identity.user_identity().get("arn", "")
        return self.add_api(ApiCall(
            time=t, identity=actor.identity, event_source="cloudtrail.amazonaws.com",
            event_name="StopLogging", ip=actor.ip, user_agent=c.user_agent,
            event_id=self.ids.uuid(), request_id=self.ids.uuid(), read_only=False,
            event_version="1.09", request_parameters={"name": trail_arn},
            error=("AccessDenied", f"User: {user} is not authorized to perform: "
                   f"cloudtrail:StopLogging on resource: {trail_arn} because no identity-based "
                   "policy allows the cloudtrail:StopLogging action"),
            tls=(c.tls_version or "TLSv1.3", c.cipher or "", "cloudtrail.us-east-1.amazonaws.com"),
            tag=tag,
        ))

    def deactivate_key(self, t: datetime, actor: Actor, user: User,
                       facts: ActorFacts | None = None) -> ApiCall:
        """iam:UpdateAccessKey to Inactive (containment)."""
        c = actor.client
        assert c.user_agent is not None and user.access_key is not None
        return self.add_api(ApiCall(
            time=t, identity=actor.identity, event_source="iam.amazonaws.com",
            event_name="UpdateAccessKey", ip=actor.ip, user_agent=c.user_agent,
            event_id=self.ids.uuid(), request_id=self.ids.uuid(), read_only=False,
            event_version="1.09",
            request_parameters={"userName": user.name, "accessKeyId": user.access_key,
                                "status": "Inactive"},
            tls=(*_CONSOLE_TLS, "iam.amazonaws.com"),
        ), facts)

