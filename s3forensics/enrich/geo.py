"""ASN and country of IP addresses from MaxMind-format (.mmdb) databases the user supplies."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import maxminddb
import polars as pl

from ..errors import InputError

__all__ = ["GEO_SCHEMA", "GeoDatabase", "geolocate_ips"]

GEO_SCHEMA: dict[str, pl.DataType] = {
    "ip": pl.String(),
    "asn": pl.Int64(),
    "as_org": pl.String(),
    "country": pl.String(),
    "country_name": pl.String(),
    "city": pl.String(),
    "geo_network": pl.String(),
    "geo_database": pl.String(),
}


@dataclass(frozen=True)
class GeoDatabase:
    """A MaxMind-format database file and what its metadata says about it."""

    path: Path
    database_type: str
    build_date: datetime
    ip_version: int
    description: str

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> GeoDatabase:
        """Check that `path` is a readable MaxMind DB and read its metadata."""
        p = Path(path)
        if not p.is_file():
            raise InputError(str(p), "GeoIP database not found (give the path of a .mmdb file)")
        try:
            with maxminddb.open_database(str(p)) as reader:
                meta = reader.metadata()
        except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
            raise InputError(str(p), f"not a MaxMind DB (.mmdb) file ({exc})") from exc
        desc = meta.description or {}
        return cls(
            path=p,
            database_type=str(meta.database_type),
            build_date=datetime.fromtimestamp(int(meta.build_epoch), tz=UTC),
            ip_version=int(meta.ip_version),
            description=str(desc.get("en") or next(iter(desc.values()), "")),
        )

    def describe(self) -> str:
        """One line naming the database: type, build date and path."""
        return f"{self.database_type} built {self.build_date:%Y-%m-%d} ({self.path})"


def _text(value: Any) -> str | None:
    if isinstance(value, Mapping):  # GeoIP2 style {"names": {"en": ...}}
        names = value.get("names")
        if isinstance(names, Mapping):
            value = names.get("en") or next(iter(names.values()), None)
        else:
            return None
    return str(value) if value not in (None, "") else None


def _fields(record: Mapping[str, Any]) -> tuple[int | None, str | None, str | None, str | None, str | None]:
    # Field names differ by vendor: MaxMind GeoIP2/GeoLite2 and DB-IP use nested GeoIP2 names,
    # IPinfo uses flat `asn` ("AS15169"), `as_name`, `country_code`, `country`.
    asn_raw = record.get("autonomous_system_number", record.get("asn"))
    asn: int | None = None
    if isinstance(asn_raw, int):
        asn = asn_raw
    elif isinstance(asn_raw, str) and asn_raw.upper().removeprefix("AS").isdigit():
        asn = int(asn_raw.upper().removeprefix("AS"))
    as_org = _text(record.get("autonomous_system_organization") or record.get("as_name")
                   or record.get("as_org"))
    country_raw = record.get("country") or record.get("registered_country")
    if isinstance(country_raw, Mapping):
        iso = country_raw.get("iso_code")
        name = _text(country_raw)
    else:
        iso = record.get("country_code")
        name = _text(country_raw)
        if iso is None and name is not None and len(name) == 2:
            iso, name = name, None
    return asn, as_org, (str(iso).upper() if iso else None), name, _text(record.get("city"))


def _lookup_one(reader: maxminddb.Reader, value: str) -> tuple[Any, ...] | None:
    try:
        addr = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None  # service names and malformed values have no location
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    try:
        record, prefix_len = reader.get_with_prefix_len(addr)
    except ValueError:
        return None  # an IPv6 address asked of an IPv4-only database
    if not isinstance(record, Mapping):
        return None
    network = ipaddress.ip_network(f"{addr}/{prefix_len}", strict=False)
    return (*_fields(record), str(network))


def geolocate_ips(
    ips: pl.Series,
    *,
    database: str | os.PathLike[str] | GeoDatabase | Sequence[str | os.PathLike[str] | GeoDatabase],
) -> pl.DataFrame:
    """ASN, AS organisation, country and city per distinct address from one or more .mmdb files.

    With several databases (say an ASN and a country database) each column takes the first
    database, in the order given, that has a value for it.
    """
    items = [database] if isinstance(database, (str, os.PathLike, GeoDatabase)) else list(database)
    databases = [d if isinstance(d, GeoDatabase) else GeoDatabase.open(d) for d in items]
    distinct = ips.cast(pl.String).drop_nulls().unique().sort().to_list()
    merged: dict[str, list[Any]] = {v: [None] * 7 for v in distinct}
    for db in databases:
        with maxminddb.open_database(str(db.path)) as reader:
            for value in distinct:
                found = _lookup_one(reader, value)
                if found is None:
                    continue
                row = merged[value]
                contributed = False
                for i, x in enumerate(found[:5]):
                    if row[i] is None and x is not None:
                        row[i] = x
                        contributed = True
                if contributed:  # name only the databases that supplied a value
                    row[5] = row[5] or found[5]
                    row[6] = db.path.name if row[6] is None else f"{row[6]},{db.path.name}"
    rows = [(v, *r) for v, r in merged.items()]
    return pl.DataFrame(rows, schema=GEO_SCHEMA, orient="row")
