"""The fixed world of the scenario: accounts, buckets, networks, principals, client software.

Everything here is fake on purpose: account ids from AWS documentation examples, addresses from
the documentation ranges (RFC 5737 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; RFC 3849
2001:db8::/32) and private ranges (RFC 1918), domains under example.com.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .ids import IdMaker

__all__ = [
    "ATTACKER_ACCOUNT",
    "BUCKETS",
    "DATA_BUCKET",
    "END",
    "LOG_ARCHIVE",
    "NET",
    "ORG_ID",
    "REGION",
    "SAL_BUCKET",
    "START",
    "TRAIL_BUCKET",
    "TRAIL_ARN",
    "TRAIL_NAME",
    "UA",
    "VALIDATION_START",
    "VICTIM",
    "VPCE_ID",
    "WEB_BUCKET",
    "Bucket",
    "LogTarget",
    "Network",
    "Role",
    "User",
    "World",
    "bucket",
    "make_world",
]

REGION = "us-east-1"
ORG_ID = "o-7k2m9p4x1q"

#: Event times span [START, END): a Monday 00:00 to the next Monday noon, UTC.
START = datetime(2026, 10, 5, tzinfo=UTC)
END = datetime(2026, 10, 12, 12, tzinfo=UTC)
#: The org trail's log file validation was switched on just before the span, so the first
#: digest of the sample has no predecessor.
VALIDATION_START = START - timedelta(minutes=7, seconds=48)

VICTIM = "111122223333"  # acme-prod: the workload account that holds the data
LOG_ARCHIVE = "222233334444"  # acme-log-archive: holds the organization trail bucket
ATTACKER_ACCOUNT = "444455556666"  # not in the organization: the attacker's own account

DATA_BUCKET = "acme-prod-customer-data"
WEB_BUCKET = "www.example.com"
SAL_BUCKET = "acme-prod-s3-access-logs"
TRAIL_BUCKET = "acme-org-cloudtrail"
TRAIL_NAME = "acme-org-trail"
#: The organization trail lives in the management account (not a workload account).
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:777788889999:trail/{TRAIL_NAME}"
VPCE_ID = "vpce-0a1b2c3d4e5f67890"


@dataclass(frozen=True)
class LogTarget:
    """Where and how S3 server access logs of a bucket are delivered."""

    bucket: str
    prefix: str
    layout: str  # "simple" (delivery time in the key) or "partitioned-eventtime"


@dataclass(frozen=True)
class Bucket:
    """A bucket of the scenario and what is recorded about it."""

    name: str
    account: str
    purpose: str
    access_logs: LogTarget | None
    data_events: bool  # the trail's S3 data-event selectors cover this bucket


BUCKETS: tuple[Bucket, ...] = (
    Bucket(DATA_BUCKET, VICTIM,
           "customer exports, invoices, uploads, database backups, HR files (sensitive)",
           LogTarget(SAL_BUCKET, "customer-data/", "partitioned-eventtime"), data_events=True),
    Bucket(WEB_BUCKET, VICTIM,
           "public static website (website endpoint for browsers, CloudFront with an OAI)",
           LogTarget(SAL_BUCKET, "www-example-com/", "simple"), data_events=False),
)


def bucket(name: str) -> Bucket:
    """The scenario bucket called `name`."""
    return next(b for b in BUCKETS if b.name == name)


@dataclass(frozen=True)
class Network:
    """Addresses each kind of actor uses (all documentation or private ranges)."""

    office: tuple[str, ...] = ("192.0.2.10", "192.0.2.11")  # office NAT, range 192.0.2.0/27
    office_range: str = "192.0.2.0/27"
    reporting_server: str = "192.0.2.25"  # on-premises reporting server behind the office range
    cloudfront: tuple[str, ...] = tuple(f"192.0.2.{n}" for n in (67, 71, 80, 88, 93))
    cloudfront_range: str = "192.0.2.64/27"
    aws_config: tuple[str, ...] = ("192.0.2.201", "192.0.2.202", "192.0.2.207")
    aws_config_range: str = "192.0.2.200/29"
    internet_v4: str = "198.51.100.0/24"  # customers and website visitors
    internet_v6: str = "2001:db8:1000::/36"
    vpc: str = "10.0.0.0/16"
    app_subnets: tuple[str, ...] = ("10.0.1.0/24", "10.0.2.0/24")
    batch_subnet: str = "10.0.20.0/24"
    attacker_recon: str = "203.0.113.45"
    attacker_exfil: str = "203.0.113.77"
    attacker_foreign: str = "2001:db8:7a3:ff00::25"


NET = Network()


class UA:
    """User agents of the client software in the scenario (as the access log shows them)."""

    ORDERS_API = ("aws-sdk-java/2.28.16 Linux/5.10.226-214.880.amzn2.x86_64 "
                  "OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. "
                  "md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/standard")
    NIGHTLY = ("Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.1.109-118.189.amzn2023.x86_64 "
               "md/arch#x86_64 lang/python#3.11.10 md/pyimpl#CPython cfg/retry-mode#legacy "
               "Botocore/1.35.36")
    REPORTING = ("aws-sdk-java/1.12.777 Linux/5.15.0-122-generic "
                 "OpenJDK_64-Bit_Server_VM/11.0.24+8-post-Ubuntu-1ubuntu322.04 java/11.0.24 "
                 "vendor/Ubuntu cfg/retry-mode/legacy")
    CONSOLE = ("S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.770 "
               "Linux/5.10.227-198.884.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.432-b07 "
               "java/1.8.0_432 vendor/Oracle_Corporation cfg/retry-mode/standard")
    AWS_INTERNAL = ("aws-internal/3 aws-sdk-java/1.12.770 Linux/5.10.227-198.884.amzn2int.x86_64 "
                    "OpenJDK_64-Bit_Server_VM/25.432-b07 java/1.8.0_432 "
                    "vendor/Oracle_Corporation cfg/retry-mode/standard")
    CLOUDFRONT = "Amazon CloudFront"
    BROWSERS = (
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Safari/605.1.15"),
        "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"),
    )
    CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ATTACKER_CLI = ("aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.10.11-amd64 md/arch#x86_64 "
                    "lang/python#3.12.6 md/pyimpl#CPython exe/x86_64.kali.2024 "
                    "cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{command}")
    ATTACKER_RCLONE = "rclone/v1.68.1"
    ATTACKER_BOTO3 = ("Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.10.11-amd64 "
                      "md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#legacy "
                      "Botocore/1.35.36")


@dataclass(frozen=True)
class User:
    """An IAM user."""

    name: str
    account: str
    principal_id: str
    access_key: str | None = None  # long-term access key (AKIA...), when the user has one

    @property
    def arn(self) -> str:
        """The user's ARN."""
        return f"arn:aws:iam::{self.account}:user/{self.name}"


@dataclass(frozen=True)
class Role:
    """An IAM role."""

    name: str
    account: str
    principal_id: str
    path: str = "/"

    @property
    def arn(self) -> str:
        """The role's ARN."""
        return f"arn:aws:iam::{self.account}:role{self.path}{self.name}"

    def session_arn(self, session: str) -> str:
        """The ARN of a session of this role."""
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{session}"


@dataclass(frozen=True)
class World:
    """Identifiers of the scenario's principals, made from the seed."""

    owner_canonical_id: str  # canonical id of the victim account (bucket owner)
    alice: User  # cloud administrator, console with MFA
    bob: User  # HR, console, allowed into hr-restricted/
    reporting: User  # on-premises reporting tool; its long-term key is the one that leaks
    orders_api: Role  # ECS service in private subnets
    nightly: Role  # nightly bulk export on EC2
    config: Role  # AWS Config service-linked role
    foreign: User  # the attacker's user in their own account
    oai: str  # CloudFront origin access identity id


def make_world(ids: IdMaker) -> World:
    """Make the scenario's principals with identifiers drawn from `ids`."""
    return World(
        owner_canonical_id=ids.canonical_id(),
        alice=User("alice.admin", VICTIM, ids.unique_id("AIDA")),
        bob=User("bob.hr", VICTIM, ids.unique_id("AIDA")),
        reporting=User("svc-reporting", VICTIM, ids.unique_id("AIDA"), ids.access_key("AKIA")),
        orders_api=Role("orders-api-task", VICTIM, ids.unique_id("AROA")),
        nightly=Role("nightly-export", VICTIM, ids.unique_id("AROA")),
        config=Role("AWSServiceRoleForConfig", VICTIM, ids.unique_id("AROA"),
                    path="/aws-service-role/config.amazonaws.com/"),
        foreign=User("sync", ATTACKER_ACCOUNT, ids.unique_id("AIDA"), ids.access_key("AKIA")),
        oai="E" + ids.upper(13),
    )
