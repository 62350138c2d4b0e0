"""Country and network owner of every address with no licence key: the data the geoip2fast package ships.

geoip2fast (MIT, pure Python, on PyPI) carries a country + ASN data file built from MaxMind's
GeoLite2 CSV on a stated day (1.2.2: 2024-06-18), IPv4 and IPv6; lookups need no network. It names
each network's autonomous system by its organisation but not by number, so `asn` stays NULL unless
a MaxMind database given with --geoip supplies it (those databases take precedence, column by
column). The data's date is recorded in enrichment_sources, because owners of addresses change:
an old file can name yesterday's owner.

What an analyst asks first about an address is what kind of network it is. `network_type` classes
the AS organisation by its name (hosting, VPN provider, Tor operator, ISP, mobile carrier): a
keyword heuristic over the shipped names, recorded as such in `network_type_basis`, never a
verdict about a single address.
"""

from __future__ import annotations

import ipaddress
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from .geo import GEO_SCHEMA

__all__ = ["ATTRIBUTION", "NETWORK_TYPES", "OfflineGeo", "classify_network", "geolocate_offline",
           "offline_geo_database"]

#: MaxMind asks users of GeoLite2 data to say so.
ATTRIBUTION = "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com"
NETWORK_TYPES = ("tor", "vpn", "hosting", "mobile", "isp", "other")
_DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"  # country + ASN, IPv4 and IPv6: the fullest file shipped

# Ordered: the first class whose pattern matches the AS organisation wins. Tor and VPN operators
# run their exits in their own small ASes; a VPN on a general hoster is classed hosting.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
    ("tor", r"\btor\b|torservers|stiftung erneuerbare freiheit|zwiebelfreunde|emerald onion|"
            r"foundation for applied privacy|nothing to hide|calyx institute|for privacy net"),
    ("vpn", r"\bvpn\b|private internet access|mullvad|31173 services|nordvpn|tefincom|proton ag|"
            r"packethub|datacamp|cdn77|m247|expressvpn|surfshark|windscribe|ipvanish|strong technology"),
    ("hosting", r"amazon|aws\b|google|microsoft|azure|digitalocean|linode|akamai|ovh|hetzner|vultr|"
                r"choopa|the constant company|leaseweb|contabo|scaleway|online s\.a\.s|alibaba|tencent|"
                r"oracle|ibm|softlayer|cloudflare|fastly|rackspace|hostinger|ionos|1&1|godaddy|"
                r"namecheap|hostwinds|colocrossing|frantech|buyvm|psychz|quadranet|servers\.com|"
                r"serverius|worldstream|rootlayer|aeza|stark industries|pq hosting|\bhost|hosting|"
                r"server|data ?cent(er|re)|cloud|\bcolo|\bvps\b|dedicated"),
    ("mobile", r"mobile|wireless|cellular|\blte\b|t-mobile|vodafone|telefonica|verizon wireless|"
               r"\bmts\b|beeline|airtel|jio"),
    ("isp", r"telecom|telekom|comcast|charter|\bcox\b|verizon|at&t|att-internet|spectrum|broadband|"
            r"cable|\bdsl\b|fib(er|re)|\bbt\b|british telecommunications|orange|free sas|sfr\b|"
            r"deutsche|kpn|ziggo|swisscom|telia|telenor|telstra|rogers|bell canada|shaw|"
            r"\bisp\b|internet service|communications|telecommunication|net(work)?s? ltd|\bnet\b"),
))


@dataclass(frozen=True)
class OfflineGeo:
    """The shipped data file: where it is, what it says it was built from, and when."""

    path: Path
    source_info: str
    built: datetime | None
    package_version: str

    def describe(self) -> str:
        """One line naming the data and its date."""
        day = f"{self.built:%Y-%m-%d}" if self.built else "an unknown date"
        return f"geoip2fast {self.package_version} ({self.source_info}), data of {day} ({self.path})"


def offline_geo_database() -> OfflineGeo | None:
    """The geoip2fast data file installed with the package, or None when the package is absent."""
    try:
        with warnings.catch_warnings():  # its 1.2.2 source has invalid escapes (compile-time warnings)
            warnings.simplefilter("ignore", DeprecationWarning)
            import geoip2fast
    except ImportError:
        return None
    path = Path(geoip2fast.__file__).parent / _DATA_FILE
    if not path.is_file():
        return None
    reader = _reader(path)
    info = str(getattr(reader, "source_info", "") or "")
    found = re.search(r"(\d{8})$", info)
    built = datetime.strptime(found.group(1), "%Y%m%d").replace(tzinfo=UTC) if found else None
    return OfflineGeo(path=path, source_info=info, built=built, package_version=metadata.version("geoip2fast"))


_READERS: dict[Path, Any] = {}


def _reader(path: Path) -> Any:
    # Loading the file takes about half a second; one reader per process is enough.
    if path not in _READERS:
        from geoip2fast import GeoIP2Fast

        _READERS[path] = GeoIP2Fast(geoip2fast_data_file=str(path))
    return _READERS[path]


def classify_network(as_org: str | None) -> tuple[str | None, str | None]:
    """The network type an AS organisation's name suggests, and the keyword that decided it."""
    if not as_org:
        return None, None
    for kind, pattern in _RULES:
        found = pattern.search(as_org)
        if found:
            return kind, f"AS name matches '{found.group(0).strip()}'"
    return "other", "AS name matches no keyword"


def geolocate_offline(ips: pl.Series, database: OfflineGeo) -> pl.DataFrame:
    """Country, AS organisation and network per distinct public address, from the shipped data."""
    reader = _reader(database.path)
    label = f"geoip2fast:{database.built:%Y-%m-%d}" if database.built else "geoip2fast"
    rows = []
    for value in ips.cast(pl.String).drop_nulls().unique().sort().to_list():
        try:
            addr = ipaddress.ip_address(value.strip().strip("[]"))
        except ValueError:
            continue  # service names have no location
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if not addr.is_global:
            continue  # private and documentation ranges: the file's placeholders say nothing
        found = reader.lookup(str(addr))
        country = found.country_code if found.country_code and found.country_code != "--" else None
        org = found.asn_name or None
        if country is None and org is None:
            continue
        rows.append((value, None, org, country, found.country_name if country else None, None,
                     found.asn_cidr or found.cidr or None, label))
    return pl.DataFrame(rows, schema=GEO_SCHEMA, orient="row")
