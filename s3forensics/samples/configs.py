"""Bucket configurations of the sensitive bucket over the scenario: policies, lifecycle, logging."""

from __future__ import annotations

from typing import Any

from .world import ATTACKER_ACCOUNT, DATA_BUCKET, SAL_BUCKET, VICTIM, bucket

__all__ = [
    "LOGGING_DISABLED",
    "lifecycle_attacker",
    "lifecycle_tmp_rule",
    "logging_enabled",
    "policy_backdoor",
    "policy_tls_only",
    "policy_v1",
    "versioning",
]

_ARN = f"arn:aws:s3:::{DATA_BUCKET}"


def policy_v1() -> dict[str, Any]:
    """The policy in force at the start: only HR may touch hr-restricted/."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyHRPrefixExceptHR",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": f"{_ARN}/hr-restricted/*",
                "Condition": {"StringNotLike": {"aws:PrincipalArn": [
                    f"arn:aws:iam::{VICTIM}:user/bob.hr", f"arn:aws:iam::{VICTIM}:role/hr-*"]}},
            },
            {
                "Sid": "DenyListingHRPrefixExceptHR",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": _ARN,
                "Condition": {
                    "StringLike": {"s3:prefix": "hr-restricted/*"},
                    "StringNotLike": {"aws:PrincipalArn": [
                        f"arn:aws:iam::{VICTIM}:user/bob.hr", f"arn:aws:iam::{VICTIM}:role/hr-*"]},
                },
            },
        ],
    }


def policy_tls_only() -> dict[str, Any]:
    """The administrator's Tuesday change: also refuse requests without TLS (a benign change)."""
    policy = policy_v1()
    policy["Statement"].append({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [_ARN, f"{_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
    return policy


def policy_backdoor() -> dict[str, Any]:
    """The attacker's change: the current policy plus read access for their own account."""
    policy = policy_tls_only()
    policy["Statement"].append({
        "Sid": "AllowPartnerReplication",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ATTACKER_ACCOUNT}:root"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [_ARN, f"{_ARN}/*"],
    })
    return policy


def lifecycle_tmp_rule() -> dict[str, Any]:
    """The original lifecycle: scratch files under tmp/ expire after a day."""
    return {"Rule": {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                     "Expiration": {"Days": 1}}}


def lifecycle_attacker() -> dict[str, Any]:
    """The attacker's lifecycle: purge every earlier version a day after it is replaced."""
    return {"Rule": {"ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": ""},
                     "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                     "Expiration": {"ExpiredObjectDeleteMarker": True}}}


def logging_enabled() -> dict[str, Any]:
    """Access logging of the sensitive bucket, partitioned by event time."""
    target = bucket(DATA_BUCKET).access_logs
    assert target is not None
    return {"LoggingEnabled": {
        "TargetBucket": SAL_BUCKET, "TargetPrefix": target.prefix,
        "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}},
    }}


#: An empty BucketLoggingStatus switches access logging off.
LOGGING_DISABLED: dict[str, Any] = {}


def versioning(status: str) -> dict[str, Any]:
    """A versioning configuration: Enabled or Suspended."""
    return {"Status": status}
