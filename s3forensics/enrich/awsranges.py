"""AWS's published IP ranges: a validated local snapshot, where it lives, and how it is refreshed."""

from __future__ import annotations

import ipaddress
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = [
    "IP_RANGES_URL",
    "AwsIpRanges",
    "AwsPrefixMatch",
    "data_dir",
    "default_ip_ranges_path",
    "install_aws_ip_ranges",
    "load_aws_ip_ranges",
]

IP_RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
_FILE_NAME = "ip-ranges.json"
# Every range AWS publishes also appears under this catch-all service name; a specific service
# listed for the same prefix tells the investigator more.
_CATCH_ALL = "AMAZON"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AwsPrefixMatch:
    """The most specific AWS prefix holding an address, with its services and location."""

    prefix: str
    services: tuple[str, ...]
    region: str | None
    network_border_group: str | None

    @property
    def service(self) -> str:
        """Services of the prefix joined by commas, the catch-all AMAZON only when it is alone."""
        specific = [s for s in self.services if s != _CATCH_ALL]
        return ",".join(specific or list(self.services))


class AwsIpRanges:
    """One snapshot of ip-ranges.json: its syncToken, createDate, source and prefixes."""

    def __init__(self, *, sync_token: str, create_date: datetime, source: str,
                 prefixes: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, str | None, str | None]]) -> None:
        self.sync_token = sync_token
        self.create_date = create_date
        self.source = source
        self.prefixes = prefixes

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str) -> AwsIpRanges:
        """Validate the bytes of an ip-ranges.json file and build a snapshot from them."""
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(source, f"not an AWS ip-ranges JSON file ({exc})") from exc
        if not isinstance(doc, Mapping):
            raise InputError(source, "not an AWS ip-ranges JSON file (top level is not an object)")
        return cls.from_document(doc, source=source)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], *, source: str) -> AwsIpRanges:
        """Build a snapshot from the parsed JSON document, checking every prefix."""
        missing = [k for k in ("syncToken", "createDate", "prefixes") if k not in doc]
        if missing:
            raise InputError(source, f"not an AWS ip-ranges file: missing {', '.join(missing)}")
        try:
            created = datetime.strptime(str(doc["createDate"]), "%Y-%m-%d-%H-%M-%S").replace(
                tzinfo=UTC)
        except ValueError as exc:
            raise InputError(
                source, f"createDate {doc['createDate']!r} is not YYYY-MM-DD-hh-mm-ss") from exc
        prefixes = []
        for field, key in (("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")):
            entries = doc.get(field) or []
            if not isinstance(entries, list):
                raise InputError(source, f"{field} is not a list")
            for n, entry in enumerate(entries):
                if not isinstance(entry, Mapping) or key not in entry:
                    raise InputError(source, f"{field}[{n}] has no {key}")
                try:
                    net = ipaddress.ip_network(str(entry[key]), strict=False)
                except ValueError as exc:
                    raise InputError(source, f"{field}[{n}]: {entry[key]!r} is not a network") from exc
                prefixes.append((net, str(entry.get("service") or _CATCH_ALL),
                                 entry.get("region"), entry.get("network_border_group")))
        if not prefixes:
            raise InputError(source, "the file lists no prefixes")
        return cls(sync_token=str(doc["syncToken"]), create_date=created, source=source,
                   prefixes=prefixes)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> AwsIpRanges:
        """Read and validate an ip-ranges.json file."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise InputError(str(p), f"cannot read the AWS ip-ranges file ({exc.strerror or exc})") from exc
        return cls.from_bytes(data, source=str(p))

    @cached_property
    def _index(self) -> dict[tuple[int, int], dict[int, list[int]]]:
        # (ip version, prefix length) -> network address as int -> positions in self.prefixes.
        # A lookup then costs one dict probe per distinct prefix length (at most 33 / 129).
        index: dict[tuple[int, int], dict[int, list[int]]] = {}
        for pos, (net, _, _, _) in enumerate(self.prefixes):
            index.setdefault((net.version, net.prefixlen), {}).setdefault(
                int(net.network_address), []).append(pos)
        return index

    @cached_property
    def _lengths(self) -> dict[int, list[int]]:
        lengths: dict[int, list[int]] = {4: [], 6: []}
        for version, plen in self._index:
            lengths[version].append(plen)
        return {v: sorted(ls, reverse=True) for v, ls in lengths.items()}

    def lookup(self, address: Address) -> AwsPrefixMatch | None:
        """The longest AWS prefix containing `address`, or None when AWS does not publish it."""
        bits = address.max_prefixlen
        value = int(address)
        for plen in self._lengths[address.version]:
            masked = (value >> (bits - plen)) << (bits - plen) if plen else 0
            hits = self._index[(address.version, plen)].get(masked)
            if hits:
                entries = [self.prefixes[i] for i in hits]
                services = tuple(sorted({e[1] for e in entries}))
                # A specific service's region is more telling than the catch-all's (they agree in
                # practice; when they do not, prefer the specific entry).
                best = next((e for e in entries if e[1] != _CATCH_ALL), entries[0])
                return AwsPrefixMatch(str(best[0]), services, best[2], best[3])
        return None

    @property
    def prefix_count(self) -> int:
        """Number of IPv4 and IPv6 prefix entries in the snapshot."""
        return len(self.prefixes)

    def describe(self) -> str:
        """One line naming the snapshot: syncToken, createDate, size and where it came from."""
        return (f"AWS ip-ranges syncToken {self.sync_token} created "
                f"{self.create_date:%Y-%m-%d %H:%M:%S}Z ({self.prefix_count:,} prefixes) "
                f"from {self.source}")


def data_dir() -> Path:
    """Folder for s3forensics' own reference data: $S3FORENSICS_DATA, else the XDG data folder."""
    override = os.environ.get("S3FORENSICS_DATA")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "s3forensics"


def default_ip_ranges_path() -> Path:
    """Where `s3forensics update-ip-ranges` stores the snapshot."""
    return data_dir() / _FILE_NAME


def load_aws_ip_ranges(path: str | os.PathLike[str] | None = None) -> AwsIpRanges | None:
    """Load the snapshot at `path` (must exist) or the installed one (None when none is installed)."""
    if path is not None:
        return AwsIpRanges.read(path)
    default = default_ip_ranges_path()
    if not default.exists():
        return None
    return AwsIpRanges.read(default)


def install_aws_ip_ranges(
    *,
    source: str | os.PathLike[str] | None = None,
    url: str = IP_RANGES_URL,
    destination: str | os.PathLike[str] | None = None,
    timeout: float = 60.0,
) -> AwsIpRanges:
    """Validate ip-ranges.json from a local file (`source`) or `url` and store it as the snapshot."""
    if source is not None:
        snapshot = AwsIpRanges.read(source)
        data = Path(source).read_bytes()
    else:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError(
                url,
                f"cannot download the AWS ip-ranges file ({reason}); on a machine without internet "
                "copy ip-ranges.json from elsewhere and use `s3forensics update-ip-ranges --from FILE`",
            ) from exc
        snapshot = AwsIpRanges.from_bytes(data, source=url)
    dest = Path(destination) if destination is not None else default_ip_ranges_path()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file and a failure keeps the old one.
        tmp = dest.with_name(dest.name + ".partial")
        tmp.write_bytes(data)
        tmp.replace(dest)
    except OSError as exc:
        raise InputError(str(dest), f"cannot store the AWS ip-ranges snapshot ({exc.strerror or exc})") from exc
    return AwsIpRanges(sync_token=snapshot.sync_token, create_date=snapshot.create_date,
                       source=str(dest), prefixes=snapshot.prefixes)
