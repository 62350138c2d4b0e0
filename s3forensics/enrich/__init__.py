"""Offline enrichment of a case: IP classes and AWS ranges, GeoIP, user agents, principals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CLOUDTRAIL_PRINCIPAL_SQL": ".principal",
    "IP_RANGES_URL": ".awsranges",
    "SAL_PRINCIPAL_SQL": ".principal",
    "AwsIpRanges": ".awsranges",
    "GeoDatabase": ".geo",
    "classify_ips": ".ip",
    "classify_principals": ".principal",
    "data_dir": ".awsranges",
    "default_ip_ranges_path": ".awsranges",
    "geolocate_ips": ".geo",
    "install_aws_ip_ranges": ".awsranges",
    "load_aws_ip_ranges": ".awsranges",
    "parse_principal": ".principal",
    "parse_user_agents": ".useragent",
    "refresh_enrichment": ".tables",
    "resolve_bucket_accounts": ".principal",
}

__all__ = [
    "CLOUDTRAIL_PRINCIPAL_SQL",
    "IP_RANGES_URL",
    "SAL_PRINCIPAL_SQL",
    "AwsIpRanges",
    "GeoDatabase",
    "classify_ips",
    "classify_principals",
    "data_dir",
    "default_ip_ranges_path",
    "geolocate_ips",
    "install_aws_ip_ranges",
    "load_aws_ip_ranges",
    "parse_principal",
    "parse_user_agents",
    "refresh_enrichment",
    "resolve_bucket_accounts",
]

if TYPE_CHECKING:
    from .awsranges import (
        IP_RANGES_URL,
        AwsIpRanges,
        data_dir,
        default_ip_ranges_path,
        install_aws_ip_ranges,
        load_aws_ip_ranges,
    )
    from .geo import GeoDatabase, geolocate_ips
    from .ip import classify_ips
    from .principal import (
        CLOUDTRAIL_PRINCIPAL_SQL,
        SAL_PRINCIPAL_SQL,
        classify_principals,
        parse_principal,
        resolve_bucket_accounts,
    )
    from .tables import refresh_enrichment
    from .useragent import parse_user_agents

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
