"""Classify IP addresses offline: special-purpose ranges, AWS-owned ranges, AWS service names."""

from __future__ import annotations

import ipaddress
import re

import polars as pl

from .awsranges import AwsIpRanges

__all__ = ["IP_CLASSES", "IP_ENRICHMENT_SCHEMA", "classify_ips"]

IP_CLASSES = ("private", "loopback", "link_local", "documentation", "reserved", "multicast",
              "cgnat", "aws", "public", "aws_service", "invalid")

IP_ENRICHMENT_SCHEMA: dict[str, pl.DataType] = {
    "ip": pl.String(),
    "ip_version": pl.Int8(),
    "ip_class": pl.String(),
    "is_global": pl.Boolean(),
    "aws_prefix": pl.String(),
    "aws_service": pl.String(),
    "aws_region": pl.String(),
    "aws_network_border_group": pl.String(),
}



def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Order matters: the first class whose networks hold the address wins (documentation before
# private, because Python's is_private also covers the documentation ranges).
_SPECIAL: tuple[tuple[str, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]], ...] = (
    ("loopback", _nets("127.0.0.0/8", "::1/128")),
    ("link_local", _nets("169.254.0.0/16", "fe80::/10")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    # RFC 5737 and RFC 3849, plus RFC 9637's 3fff::/20; AWS's own log examples use these.
    ("documentation", _nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                            "2001:db8::/32", "3fff::/20")),
    ("cgnat", _nets("100.64.0.0/10")),
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
)
# CloudTrail's sourceIPAddress names the service when an AWS service made the call.
_SERVICE_NAME = re.compile(r"^(?:[a-z0-9-]+\.)+amazonaws\.com(?:\.cn)?$", re.IGNORECASE)
_AWS_INTERNAL = {"aws internal", "awsinternal", "aws-internal"}


def _classify(value: str, aws_ranges: AwsIpRanges | None) -> tuple[object, ...]:
    text = value.strip()
    if _SERVICE_NAME.match(text) or text.lower() in _AWS_INTERNAL:
        return (value, None, "aws_service", None, None, text, None, None)
    try:
        addr = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return (value, None, "invalid", None, None, None, None, None)
    version = addr.version
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:a.b.c.d is an IPv4 client seen over IPv6
    for name, networks in _SPECIAL:
        if any(addr in net for net in networks if net.version == addr.version):
            return (value, version, name, False, None, None, None, None)
    if not addr.is_global:
        return (value, version, "reserved", False, None, None, None, None)
    match = aws_ranges.lookup(addr) if aws_ranges is not None else None
    if match is not None:
        return (value, version, "aws", True, match.prefix, match.service, match.region,
                match.network_border_group)
    return (value, version, "public", True, None, None, None, None)


def classify_ips(ips: pl.Series, *, aws_ranges: AwsIpRanges | None = None) -> pl.DataFrame:
    """One row per distinct non-null address: version, class, and the AWS range that holds it."""
    distinct = ips.cast(pl.String).drop_nulls().unique().sort()
    rows = [_classify(v, aws_ranges) for v in distinct.to_list()]
    return pl.DataFrame(rows, schema=IP_ENRICHMENT_SCHEMA, orient="row")
