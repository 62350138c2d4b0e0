"""Offline enrichment: IP classes and AWS ranges, GeoIP, user agents, principals, case tables, CLI."""

from __future__ import annotations

import argparse
import http.server
import ipaddress
import json
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from s3forensics.cli import enrich as enrich_cli
from s3forensics.enrich import (
    AwsIpRanges,
    GeoDatabase,
    classify_ips,
    classify_principals,
    geolocate_ips,
    install_aws_ip_ranges,
    load_aws_ip_ranges,
    parse_principal,
    parse_user_agents,
    refresh_enrichment,
    resolve_bucket_accounts,
)
from s3forensics.errors import CaseError, InputError, S3ForensicsError
from s3forensics.schema import ENRICHMENT_TABLES

FIXTURES = Path(__file__).parent / "fixtures" / "enrich"
IP_RANGES = FIXTURES / "ip-ranges.json"
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
STRANGER = "ab" * 32
BUILD_EPOCH = 1714521600  # 2024-05-01T00:00:00Z

# The example record of the AWS S3 user guide's access-log format page ("Chrome 79 on macOS").
SEED_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_2) AppleWebKit/537.36 "
           "(KHTML, like Gecko) Chrome/79.0.3945.130 Safari/537.36")


@pytest.fixture
def ranges() -> AwsIpRanges:
    return AwsIpRanges.read(IP_RANGES)


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Never read or write the real ~/.local/share/s3forensics from a test.
    data = tmp_path / "s3f-data"
    monkeypatch.setenv("S3FORENSICS_DATA", str(data))
    return data


# -- a minimal MaxMind DB writer, so tests own every byte of their .mmdb files ------------------


class _U32(int):
    pass


class _U64(int):
    pass


def _mm_encode(value: Any) -> bytes:
    def ctrl(type_: int, size: int, payload: bytes) -> bytes:
        if size < 29:
            s, extra = size, b""
        elif size < 285:
            s, extra = 29, bytes([size - 29])
        else:
            s, extra = 30, (size - 285).to_bytes(2, "big")
        head = bytes([(type_ << 5) | s]) if type_ <= 7 else bytes([s, type_ - 7])
        return head + extra + payload

    if isinstance(value, bool):
        return ctrl(14, int(value), b"")
    if isinstance(value, str):
        raw = value.encode()
        return ctrl(2, len(raw), raw)
    if isinstance(value, float):
        return ctrl(3, 8, struct.pack(">d", value))
    if isinstance(value, int):
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        kind = 9 if isinstance(value, _U64) else 6 if isinstance(value, _U32) or value >= 2**16 else 5
        return ctrl(kind, len(raw), raw)
    if isinstance(value, dict):
        return ctrl(7, len(value), b"".join(_mm_encode(k) + _mm_encode(v) for k, v in value.items()))
    if isinstance(value, list):
        return ctrl(11, len(value), b"".join(_mm_encode(v) for v in value))
    raise TypeError(value)


def _write_mmdb(path: Path, networks: dict[str, dict[str, Any]], *, ip_version: int = 4,
                database_type: str = "Test-ASN", build_epoch: int = BUILD_EPOCH) -> Path:
    """A MaxMind DB (format 2.0, 24-bit records) mapping non-overlapping networks to records."""
    bits = 32 if ip_version == 4 else 128
    nodes: list[list[tuple[str, int] | None]] = [[None, None]]
    data = b""
    for cidr, record in networks.items():
        net = ipaddress.ip_network(cidr)
        if net.version == 4 and ip_version == 6:  # IPv4 lives under ::/96 in an IPv6 tree
            net = ipaddress.IPv6Network((int(net.network_address), 96 + net.prefixlen))
        offset = len(data)
        data += _mm_encode(record)
        value, node = int(net.network_address), 0
        for depth in range(net.prefixlen):
            bit = (value >> (bits - 1 - depth)) & 1
            if depth == net.prefixlen - 1:
                nodes[node][bit] = ("data", offset)
                break
            child = nodes[node][bit]
            if child is None:
                nodes.append([None, None])
                child = ("node", len(nodes) - 1)
                nodes[node][bit] = child
            node = child[1]
    count = len(nodes)

    def ref(r: tuple[str, int] | None) -> int:
        return count if r is None else r[1] if r[0] == "node" else count + 16 + r[1]

    tree = b"".join(ref(a).to_bytes(3, "big") + ref(b).to_bytes(3, "big") for a, b in nodes)
    meta = {"node_count": _U32(count), "record_size": 24, "ip_version": ip_version,
            "database_type": database_type, "languages": ["en"],
            "binary_format_major_version": 2, "binary_format_minor_version": 0,
            "build_epoch": _U64(build_epoch), "description": {"en": f"{database_type} test data"}}
    path.write_bytes(tree + bytes(16) + data + b"\xab\xcd\xefMaxMind.com" + _mm_encode(meta))
    return path


@pytest.fixture
def asn_db(tmp_path: Path) -> Path:
    return _write_mmdb(tmp_path / "asn.mmdb", {
        "8.8.8.0/24": {"autonomous_system_number": 15169, "autonomous_system_organization": "GOOGLE"},
        "52.216.0.0/15": {"autonomous_system_number": 16509, "autonomous_system_organization": "AMAZON-02"},
    })


@pytest.fixture
def country_db(tmp_path: Path) -> Path:
    return _write_mmdb(tmp_path / "country.mmdb", {
        "8.8.8.0/24": {"country": {"iso_code": "US", "names": {"en": "United States"}}},
        "52.216.0.0/15": {"country": {"iso_code": "US", "names": {"en": "United States"}},
                          "city": {"names": {"en": "Ashburn"}}},
        "2a00:1450::/32": {"country": {"iso_code": "IE", "names": {"en": "Ireland"}}},
    }, ip_version=6, database_type="Test-Country", build_epoch=BUILD_EPOCH + 86400)


# -- user agents ---------------------------------------------------------------------------------


def _ua(ua: str) -> dict[str, Any]:
    return parse_user_agents(pl.Series([ua])).row(0, named=True)


def test_seed_article_user_agent_is_chrome_79_on_mac_os_x_10_15_2() -> None:
    row = _ua(SEED_UA)
    assert (row["tool_class"], row["browser"], row["os"], row["os_version"], row["device"]) == (
        "browser", "Chrome", "Mac OS X", "10.15.2", "desktop")
    assert row["browser_version"].split(".")[0] == "79"
    assert row["pentest_distro"] is None


@pytest.mark.parametrize(("ua", "tool_class", "tool", "version", "language"), [
    ("aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/s3.cp",
     "aws_cli", "aws-cli", "2.15.0", "python"),
    ("aws-cli/1.29.62 Python/3.11.6 Linux/6.5.0-kali3-amd64 botocore/1.31.62",
     "aws_cli", "aws-cli", "1.29.62", "python"),
    (("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 "
     "cfg/retry-mode#legacy Botocore/1.34.0"), "aws_sdk", "Boto3", "1.34.0", "python"),
    ("aws-sdk-java/1.12.488 Linux/5.10.184 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372",
     "aws_sdk", "aws-sdk-java", "1.12.488", "java"),
    ("aws-sdk-go/1.44.0 (go1.20.3; linux; amd64)", "aws_sdk", "aws-sdk-go", "1.44.0", "go"),
    ("aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 api/s3#1.40.0",
     "aws_sdk", "aws-sdk-go-v2", "1.21.0", "go"),
    ("S3Console/0.4", "aws_console", "S3Console", "0.4", None),
    (("[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184-175.731.amzn2.x86_64 "
     "OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Amazon.com_Inc.]"),
     "aws_console", "S3Console", "0.4", None),
    ("aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10", "aws_internal", "aws-internal", "3", None),
    ("AWS Internal", "aws_internal", "AWS Internal", None, None),
    ("Amazon CloudFront", "aws_service", "Amazon CloudFront", None, None),
    ("s3.amazonaws.com", "aws_service", "s3.amazonaws.com", None, None),
    ("rclone/v1.65.0", "s3_tool", "rclone", "1.65.0", None),
    ("s3cmd/2.3.0", "s3_tool", "s3cmd", "2.3.0", None),
    ("Cyberduck/8.7.1.40770 (Mac OS X/14.2) (x86_64)", "s3_tool", "Cyberduck", "8.7.1.40770", None),
    ("curl/8.4.0", "scripting", "curl", "8.4.0", None),
    ("python-requests/2.31.0", "scripting", "python-requests", "2.31.0", "python"),
    ("Wget/1.21.4", "scripting", "Wget", "1.21.4", None),
    ("Wget", "scripting", "Wget", None, None),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     "bot", "Googlebot", "2.1", None),
    ("SomeInHouseUploader/3.2 (build 7)", "other", "SomeInHouseUploader", "3.2", None),
    ("", "unknown", None, None, None),
])
def test_user_agents_get_the_tool_class_an_investigator_expects(
        ua: str, tool_class: str, tool: str | None, version: str | None, language: str | None) -> None:
    row = _ua(ua)
    assert (row["tool_class"], row["tool"], row["tool_version"], row["sdk_language"]) == (
        tool_class, tool, version, language)


@pytest.mark.parametrize(("ua", "distro"), [
    ("aws-cli/1.29.62 Python/3.11.6 Linux/6.5.0-kali3-amd64 botocore/1.31.62", "Kali Linux"),
    (("aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.11-amd64 lang/python#3.11.8 "
     "md/installer#exe md/distrib#kali.2024 md/prompt#off"), "Kali Linux"),
    ("Boto3/1.34.0 ua/2.0 os/linux#6.5.0-13parrot1-amd64 lang/python#3.11.8 Botocore/1.34.0",
     "Parrot OS"),
    ("aws-cli/1.27.0 Python/3.10.9 Linux/6.1.12-pentoo botocore/1.29.0", "Pentoo"),
    ("aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64", None),
    ("Boto3/1.34.0 Python/3.11 Linux/6.1 Botocore/1.34.0 Kalimba/2", None),
])
def test_penetration_testing_distributions_are_named(ua: str, distro: str | None) -> None:
    assert _ua(ua)["pentest_distro"] == distro


def test_sdk_user_agents_report_their_platform() -> None:
    row = _ua("aws-cli/1.29.62 Python/3.11.6 Linux/6.5.0-kali3-amd64 botocore/1.31.62")
    assert (row["os"], row["os_version"]) == ("Linux", "6.5.0-kali3-amd64")
    row = _ua("Boto3/1.34.0 ua/2.0 os/linux#6.5.0-13parrot1-amd64 lang/python#3.11.8 Botocore/1.34.0")
    assert (row["os"], row["os_version"]) == ("Linux", "6.5.0-13parrot1-amd64")


@pytest.mark.parametrize(("ua", "browser", "os", "device"), [
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox", "Linux", "desktop"),
    (("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.2 Safari/605.1.15"), "Safari", "Mac OS X", "desktop"),
    (("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"), "Edge", "Windows", "desktop"),
    (("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.1 Mobile/15E148 Safari/604.1"), "Mobile Safari", "iOS", "mobile"),
    (("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1"), "Mobile Safari", "iOS", "tablet"),
    (("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.6099.144 Mobile Safari/537.36"), "Chrome Mobile", "Android", "mobile"),
])
def test_browsers_get_family_os_and_device(ua: str, browser: str, os: str, device: str) -> None:
    row = _ua(ua)
    assert (row["tool_class"], row["browser"], row["os"], row["device"]) == (
        "browser", browser, os, device)


def test_user_agents_one_row_per_distinct_value() -> None:
    frame = parse_user_agents(pl.Series(["curl/8.4.0", None, "curl/8.4.0", SEED_UA]))
    assert sorted(frame["user_agent"].to_list()) == sorted(["curl/8.4.0", SEED_UA])


# -- IP classes and AWS ranges -------------------------------------------------------------------


@pytest.mark.parametrize(("ip", "ip_class", "version"), [
    ("10.1.2.3", "private", 4), ("172.16.9.9", "private", 4), ("192.168.0.1", "private", 4),
    ("fd00::1", "private", 6), ("127.0.0.1", "loopback", 4), ("::1", "loopback", 6),
    ("169.254.169.254", "link_local", 4), ("fe80::1", "link_local", 6),
    ("192.0.2.3", "documentation", 4), ("198.51.100.7", "documentation", 4),
    ("203.0.113.9", "documentation", 4), ("2001:db8::10", "documentation", 6),
    ("100.64.1.1", "cgnat", 4), ("224.0.0.251", "multicast", 4), ("ff02::1", "multicast", 6),
    ("0.0.0.0", "reserved", 4), ("240.0.0.1", "reserved", 4), ("198.18.0.1", "reserved", 4),
    ("8.8.8.8", "public", 4), ("2a00:1450::5", "public", 6),
    ("::ffff:10.0.0.1", "private", 6), ("s3.amazonaws.com", "aws_service", None),
    ("AWS Internal", "aws_service", None), ("not-an-ip", "invalid", None), ("999.1.1.1", "invalid", None),
])
def test_ip_classes(ip: str, ip_class: str, version: int | None) -> None:
    row = classify_ips(pl.Series([ip])).row(0, named=True)
    assert (row["ip"], row["ip_class"], row["ip_version"]) == (ip, ip_class, version)


def test_aws_class_needs_a_snapshot_and_names_the_most_specific_range(ranges: AwsIpRanges) -> None:
    ips = pl.Series(["52.217.10.20", "3.5.65.1", "3.5.1.1", "13.33.0.1", "2600:1fa0:4000::1",
                     "2600:1f00::9", "8.8.8.8", "10.0.0.1"])
    without = classify_ips(ips)
    assert set(without.filter(pl.col("ip") != "10.0.0.1")["ip_class"]) == {"public"}
    got = {r["ip"]: r for r in classify_ips(ips, aws_ranges=ranges).iter_rows(named=True)}
    assert (got["52.217.10.20"]["ip_class"], got["52.217.10.20"]["aws_service"],
            got["52.217.10.20"]["aws_region"]) == ("aws", "S3", "us-east-1")
    # A /21 S3 range inside a /16 AMAZON range: the /21 wins; outside it only AMAZON remains.
    assert (got["3.5.65.1"]["aws_prefix"], got["3.5.65.1"]["aws_service"]) == ("3.5.64.0/21", "S3")
    assert (got["3.5.1.1"]["aws_prefix"], got["3.5.1.1"]["aws_service"]) == ("3.5.0.0/16", "AMAZON")
    assert got["13.33.0.1"]["aws_network_border_group"] == "GLOBAL"
    assert got["2600:1fa0:4000::1"]["aws_service"] == "S3"
    assert got["2600:1f00::9"]["aws_service"] == "AMAZON"
    assert got["8.8.8.8"]["ip_class"] == "public" and got["8.8.8.8"]["aws_prefix"] is None
    assert got["10.0.0.1"]["ip_class"] == "private"


def test_ip_ranges_snapshot_identity(ranges: AwsIpRanges) -> None:
    assert ranges.sync_token == "1714600000"
    assert ranges.create_date == datetime(2024, 5, 1, 21, 46, 40, tzinfo=UTC)
    assert ranges.prefix_count == 9


@pytest.mark.parametrize(("content", "problem"), [
    (b"not json", "not an AWS ip-ranges JSON file"),
    (b'{"createDate": "2024-05-01-00-00-00", "prefixes": []}', "missing syncToken"),
    (b'{"syncToken": "1", "createDate": "May 1", "prefixes": []}', "is not YYYY-MM-DD-hh-mm-ss"),
    ((b'{"syncToken": "1", "createDate": "2024-05-01-00-00-00", '
     b'"prefixes": [{"ip_prefix": "52.0.0.0/99"}]}'), "is not a network"),
    (b'{"syncToken": "1", "createDate": "2024-05-01-00-00-00", "prefixes": []}', "lists no prefixes"),
])
def test_bad_ip_ranges_files_are_refused_naming_the_file(tmp_path: Path, content: bytes,
                                                         problem: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(InputError) as err:
        AwsIpRanges.read(bad)
    assert err.value.where == str(bad) and problem in err.value.problem


def test_install_from_file_then_load_finds_it(_private_data_dir: Path, tmp_path: Path) -> None:
    assert load_aws_ip_ranges() is None
    installed = install_aws_ip_ranges(source=IP_RANGES)
    stored = _private_data_dir / "ip-ranges.json"
    assert stored.read_bytes() == IP_RANGES.read_bytes()
    loaded = load_aws_ip_ranges()
    assert loaded is not None and loaded.sync_token == installed.sync_token == "1714600000"
    # A bad file is refused and the snapshot in place survives.
    bad = tmp_path / "bad.json"
    bad.write_text('{"syncToken": "2"}')
    with pytest.raises(InputError):
        install_aws_ip_ranges(source=bad)
    assert stored.read_bytes() == IP_RANGES.read_bytes()


@pytest.fixture
def local_server() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving the fixture at /ip-ranges.json (404 elsewhere)."""
    body = IP_RANGES.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/ip-ranges.json"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_install_downloads_from_a_url(local_server: str, _private_data_dir: Path) -> None:
    snapshot = install_aws_ip_ranges(url=f"{local_server}/ip-ranges.json", timeout=10)
    assert snapshot.sync_token == "1714600000"
    assert (_private_data_dir / "ip-ranges.json").read_bytes() == IP_RANGES.read_bytes()


def test_failed_download_says_how_to_work_offline(local_server: str, _private_data_dir: Path) -> None:
    with pytest.raises(InputError) as err:
        install_aws_ip_ranges(url=f"{local_server}/missing.json", timeout=10)
    assert "--from FILE" in err.value.problem
    assert not (_private_data_dir / "ip-ranges.json").exists()


def test_unreachable_url_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InputError) as err:
        install_aws_ip_ranges(url=f"http://127.0.0.1:{port}/ip-ranges.json", timeout=5)
    assert err.value.where.endswith("/ip-ranges.json")


# -- GeoIP ---------------------------------------------------------------------------------------


def test_geo_database_metadata_is_read(country_db: Path) -> None:
    info = GeoDatabase.open(country_db)
    assert (info.database_type, info.ip_version) == ("Test-Country", 6)
    assert info.build_date == datetime(2024, 5, 2, tzinfo=UTC)


def test_geolocate_merges_asn_and_country_databases(asn_db: Path, country_db: Path) -> None:
    ips = pl.Series(["8.8.8.8", "52.217.1.1", "2a00:1450::5", "10.0.0.1", "s3.amazonaws.com", None])
    got = {r["ip"]: r for r in geolocate_ips(ips, database=[asn_db, country_db]).iter_rows(named=True)}
    assert set(got) == {"8.8.8.8", "52.217.1.1", "2a00:1450::5", "10.0.0.1", "s3.amazonaws.com"}
    g = got["8.8.8.8"]
    assert (g["asn"], g["as_org"], g["country"], g["country_name"], g["geo_network"]) == (
        15169, "GOOGLE", "US", "United States", "8.8.8.0/24")
    assert g["geo_database"] == "asn.mmdb,country.mmdb"
    assert (got["52.217.1.1"]["asn"], got["52.217.1.1"]["city"]) == (16509, "Ashburn")
    # IPv6 is absent from the IPv4-only ASN database but the country database has it.
    assert (got["2a00:1450::5"]["asn"], got["2a00:1450::5"]["country"]) == (None, "IE")
    assert got["2a00:1450::5"]["geo_database"] == "country.mmdb"
    assert got["10.0.0.1"]["country"] is None and got["s3.amazonaws.com"]["asn"] is None


def test_geolocate_reads_ipinfo_style_flat_records(tmp_path: Path) -> None:
    db = _write_mmdb(tmp_path / "ipinfo.mmdb", {"1.1.1.0/24": {
        "asn": "AS13335", "as_name": "Cloudflare, Inc.", "country_code": "AU", "country": "Australia"}})
    row = geolocate_ips(pl.Series(["1.1.1.1"]), database=db).row(0, named=True)
    assert (row["asn"], row["as_org"], row["country"], row["country_name"]) == (
        13335, "Cloudflare, Inc.", "AU", "Australia")


def test_bad_geo_databases_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        GeoDatabase.open(tmp_path / "nope.mmdb")
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"this is not a maxmind database" * 10)
    with pytest.raises(InputError) as err:
        geolocate_ips(pl.Series(["8.8.8.8"]), database=junk)
    assert err.value.where == str(junk) and "MaxMind" in err.value.problem


# -- principals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("principal", "expected"), [
    ("arn:aws:iam::111122223333:user/alice",
     {"principal_class": "iam_user", "account_id": "111122223333", "user_name": "alice"}),
    ("arn:aws:iam::111122223333:user/division/team/bob",
     {"principal_class": "iam_user", "user_name": "bob"}),
    ("arn:aws:sts::111122223333:assumed-role/DataReader/i-0abc123",
     {"principal_class": "assumed_role", "account_id": "111122223333", "role_name": "DataReader",
      "session_name": "i-0abc123"}),
    ("arn:aws:sts::111122223333:federated-user/carol", {"principal_class": "federated",
                                                         "user_name": "carol"}),
    ("arn:aws:iam::111122223333:root", {"principal_class": "root", "account_id": "111122223333"}),
    ("arn:aws-cn:iam::111122223333:user/dave", {"principal_class": "iam_user", "user_name": "dave"}),
    (OWNER, {"principal_class": "canonical_user", "account_id": None}),
    ("svc:logging.s3.amazonaws.com", {"principal_class": "aws_service",
                                      "service": "logging.s3.amazonaws.com"}),
    ("arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHEXAMPLE",
     {"principal_class": "aws_service", "service": "cloudfront.amazonaws.com", "account_id": None,
      "user_name": "CloudFront Origin Access Identity E2QWRUHEXAMPLE"}),
    ("AmazonS3", {"principal_class": "aws_internal"}),
    ("AWS Internal", {"principal_class": "aws_internal"}),
    ("-", {"principal_class": "anonymous"}),
    ("ANONYMOUS_PRINCIPAL", {"principal_class": "anonymous"}),
    ("s3.amazonaws.com", {"principal_class": "aws_service", "service": "s3.amazonaws.com"}),
    ("AROAEXAMPLEROLEID1234:exfil-session", {"principal_class": "assumed_role",
                                              "session_name": "exfil-session"}),
    ("something else", {"principal_class": "unknown"}),
])
def test_principal_formats(principal: str, expected: dict[str, str | None]) -> None:
    got = parse_principal(principal)
    assert {k: got[k] for k in expected} == expected


def test_cloudtrail_identity_type_and_account_fill_gaps() -> None:
    got = parse_principal("AIDAEXAMPLEUSERID1234", identity_type="AWSAccount",
                          account_hint="999988887777")
    assert (got["principal_class"], got["account_id"]) == ("iam_user", "999988887777")
    assert parse_principal("opaque", identity_type="Root")["principal_class"] == "root"


def test_cross_account_is_judged_per_bucket() -> None:
    rows = pl.DataFrame({
        "principal": ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice",
                      "arn:aws:sts::999988887777:assumed-role/Ext/s1", OWNER, STRANGER, "-",
                      "arn:aws:iam::555555555555:user/eve"],
        "bucket": ["acme-data", "acme-archive", "acme-data", "acme-data", "acme-data", "acme-data",
                   "unknown-bucket"],
        "bucket_owner": [OWNER, None, OWNER, OWNER, OWNER, OWNER, None],
    })
    accounts = {"acme-data": "111122223333", "acme-archive": "444455556666"}
    got = {r["principal"]: r for r in classify_principals(rows, bucket_accounts=accounts)
           .iter_rows(named=True)}
    alice = got["arn:aws:iam::111122223333:user/alice"]
    assert alice["is_cross_account"] is True
    assert alice["buckets"] == ["acme-archive", "acme-data"]
    assert alice["cross_account_buckets"] == ["acme-archive"]
    assert got["arn:aws:sts::999988887777:assumed-role/Ext/s1"]["is_cross_account"] is True
    # Canonical IDs stand for one account: the owner's own ID is not cross-account, another is.
    assert got[OWNER]["is_cross_account"] is False
    assert got[STRANGER]["is_cross_account"] is True
    assert got["-"]["is_cross_account"] is None and got["-"]["principal_class"] == "anonymous"
    assert got["arn:aws:iam::555555555555:user/eve"]["is_cross_account"] is None


def test_bucket_account_precedence_keeps_conflicts_visible() -> None:
    claims = pl.DataFrame({
        "bucket": ["b1", "b1", "b1", "b2", "b3", "b3", "b4", "b5"],
        "account_id": ["111111111111", "222222222222", "333333333333", "444444444444",
                       "555555555555", "666666666666", "777777777777", "888888888888"],
        "source": ["cloudtrail_recipient", "sal_partitioned_key", "cloudtrail_resources",
                   "cloudtrail_recipient", "cloudtrail_recipient", "cloudtrail_recipient",
                   "sal_partitioned_key", "cloudtrail_resources"],
        "n": [50, 1, 1, 3, 2, 2, 1, 1],
    })
    got = {r["bucket"]: r for r in resolve_bucket_accounts(
        claims, user={"b5": "999999999999"}).iter_rows(named=True)}
    assert (got["b1"]["account_id"], got["b1"]["source"]) == ("333333333333", "cloudtrail_resources")
    assert got["b1"]["other_accounts"] == ["111111111111", "222222222222"]
    assert (got["b2"]["account_id"], got["b2"]["source"]) == ("444444444444", "cloudtrail_recipient")
    assert "b3" not in got  # two recipient accounts: a cross-account event, owner unknown
    assert got["b4"]["source"] == "sal_partitioned_key"
    assert (got["b5"]["account_id"], got["b5"]["source"], got["b5"]["other_accounts"]) == (
        "999999999999", "user", ["888888888888"])


# -- the case tables -----------------------------------------------------------------------------

ARCHIVE_KEY = ("sal-logs/444455556666/eu-west-1/acme-archive/2024/05/01/"
               "2024-05-01-00-00-00-0123456789ABCDEF")
RESOURCES = json.dumps([
    {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::acme-data/reports/q1.csv"},
    {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-data", "accountId": "111122223333"},
])


def _case_db(path: Path) -> Path:
    """A tiny case database with the columns enrichment reads, from both log sources."""
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE s3_access_logs (bucket_owner VARCHAR, bucket VARCHAR,
        event_time TIMESTAMPTZ, remote_ip VARCHAR, requester VARCHAR, operation VARCHAR,
        user_agent VARCHAR, evidence_id VARCHAR, line_no BIGINT)""")
    sal = [
        (OWNER, "acme-data", "192.0.2.3", "arn:aws:iam::111122223333:user/alice", SEED_UA, "e1"),
        (OWNER, "acme-data", "52.217.1.1", "arn:aws:sts::999988887777:assumed-role/Exfil/s1",
         "aws-cli/1.29.62 Python/3.11.6 Linux/6.5.0-kali3-amd64 botocore/1.31.62", "e1"),
        (OWNER, "acme-data", "8.8.8.8", None, "curl/8.4.0", "e1"),
        (OWNER, "acme-data", "10.0.0.7", OWNER, "S3Console/0.4", "e1"),
        (OWNER, "acme-data", None, "svc:logging.s3.amazonaws.com", None, "e1"),
        ("cd" * 32, "acme-archive", "2a00:1450::5", "arn:aws:iam::111122223333:user/bob",
         "rclone/v1.65.0", "e2"),
    ]
    con.executemany("INSERT INTO s3_access_logs VALUES (?, ?, TIMESTAMPTZ '2024-05-01 12:00:00+00', "
                    "?, ?, 'REST.GET.OBJECT', ?, ?, 1)", sal)
    con.execute("""CREATE TABLE cloudtrail_events (event_time TIMESTAMPTZ, event_name VARCHAR,
        event_category VARCHAR, source_ip VARCHAR, user_agent VARCHAR, identity_type VARCHAR,
        principal_arn VARCHAR, principal_id VARCHAR, account_id VARCHAR, invoked_by VARCHAR,
        recipient_account_id VARCHAR, bucket VARCHAR, resources VARCHAR, evidence_id VARCHAR)""")
    ct = [
        ("Data", "52.217.1.1", "[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64]", "AssumedRole",
         "arn:aws:sts::111122223333:assumed-role/Admin/jdoe", "AROAEXAMPLE12345678:jdoe",
         "111122223333", None, "111122223333", "acme-data", RESOURCES),
        ("Data", "s3.amazonaws.com", "s3.amazonaws.com", "AWSService", None, None, None,
         "s3.amazonaws.com", "111122223333", "acme-data", None),
        ("Data", "198.51.100.9", "python-requests/2.31.0", "AWSAccount", None, "",
         "ANONYMOUS_PRINCIPAL", None, "111122223333", "acme-data", RESOURCES),
        ("Data", "AWS Internal", "AWS Internal", "AWSAccount", None, "AIDAEXAMPLEUSERID1234",
         "999988887777", None, "111122223333", "acme-data", "not json ["),
        ("Data", "3.5.65.1", "Boto3/1.34.0 Python/3.11 Linux/6.1 Botocore/1.34.0", "IAMUser",
         "arn:aws:iam::222233334444:user/svc", "AIDAEXAMPLESVC", "222233334444", None,
         "222233334444", "solo-bucket", None),
    ]
    con.executemany("INSERT INTO cloudtrail_events VALUES (TIMESTAMPTZ '2024-05-01 12:00:05+00', "
                    "'GetObject', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'c1')", ct)
    con.execute("""CREATE TABLE evidence (evidence_id VARCHAR, kind VARCHAR, bucket VARCHAR,
        key VARCHAR, case_path VARCHAR)""")
    con.execute("INSERT INTO evidence VALUES ('e1', 's3-access', NULL, NULL, "
                "'evidence/local/logs/2024-05-01-12-10-00-0123456789ABCDEF'), "
                "('e2', 's3-access', 'log-bucket', ?, 'evidence/log-bucket/x'), "
                "('c1', 'cloudtrail', NULL, NULL, 'evidence/local/ct.json.gz')", [ARCHIVE_KEY])
    con.close()
    return path


def _table(con: duckdb.DuckDBPyConnection, name: str, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in con.sql(f"SELECT * FROM {name}").pl().iter_rows(named=True)}


def test_refresh_builds_documented_tables_from_both_sources(
        tmp_path: Path, ranges: AwsIpRanges, asn_db: Path, country_db: Path) -> None:
    con = duckdb.connect(str(_case_db(tmp_path / "case.duckdb")))
    summary = refresh_enrichment(con, geoip=[asn_db, country_db], aws_ranges=ranges)

    ips = _table(con, "ip_enrichment", "ip")
    assert set(ips) == {"192.0.2.3", "52.217.1.1", "8.8.8.8", "10.0.0.7", "2a00:1450::5",
                        "s3.amazonaws.com", "198.51.100.9", "AWS Internal", "3.5.65.1"}
    assert (ips["52.217.1.1"]["ip_class"], ips["52.217.1.1"]["aws_service"],
            ips["52.217.1.1"]["asn"]) == ("aws", "S3", 16509)
    assert ips["s3.amazonaws.com"]["ip_class"] == "aws_service"
    assert ips["AWS Internal"]["ip_class"] == "aws_service"
    assert (ips["8.8.8.8"]["ip_class"], ips["8.8.8.8"]["country"]) == ("public", "US")
    assert ips["192.0.2.3"]["ip_class"] == "documentation"

    uas = _table(con, "user_agent_enrichment", "user_agent")
    assert uas[SEED_UA]["browser"] == "Chrome" and uas[SEED_UA]["os_version"] == "10.15.2"
    kali = "aws-cli/1.29.62 Python/3.11.6 Linux/6.5.0-kali3-amd64 botocore/1.31.62"
    assert (uas[kali]["tool_class"], uas[kali]["pentest_distro"]) == ("aws_cli", "Kali Linux")
    assert uas["[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64]"]["tool_class"] == "aws_cli"
    assert len(uas) == 10

    owners = _table(con, "bucket_owner_accounts", "bucket")
    assert (owners["acme-data"]["account_id"], owners["acme-data"]["source"],
            owners["acme-data"]["owner_canonical_id"]) == ("111122223333", "cloudtrail_resources", OWNER)
    assert (owners["acme-archive"]["account_id"], owners["acme-archive"]["source"]) == (
        "444455556666", "sal_partitioned_key")
    assert (owners["solo-bucket"]["account_id"], owners["solo-bucket"]["source"]) == (
        "222233334444", "cloudtrail_recipient")

    pr = _table(con, "principal_enrichment", "principal")
    assert pr["-"]["principal_class"] == "anonymous"
    assert pr["ANONYMOUS_PRINCIPAL"]["principal_class"] == "anonymous"
    assert pr["arn:aws:iam::111122223333:user/alice"]["is_cross_account"] is False
    assert pr["arn:aws:iam::111122223333:user/bob"]["cross_account_buckets"] == ["acme-archive"]
    exfil = pr["arn:aws:sts::999988887777:assumed-role/Exfil/s1"]
    assert (exfil["principal_class"], exfil["role_name"], exfil["session_name"],
            exfil["is_cross_account"]) == ("assumed_role", "Exfil", "s1", True)
    assert pr[OWNER]["account_id"] == "111122223333" and pr[OWNER]["is_cross_account"] is False
    assert pr["svc:logging.s3.amazonaws.com"]["principal_class"] == "aws_service"
    assert (pr["s3.amazonaws.com"]["principal_class"], pr["s3.amazonaws.com"]["seen_in"]) == (
        "aws_service", ["cloudtrail_events"])
    caller = pr["AIDAEXAMPLEUSERID1234"]
    assert (caller["principal_class"], caller["account_id"], caller["is_cross_account"]) == (
        "iam_user", "999988887777", True)
    assert pr["arn:aws:sts::111122223333:assumed-role/Admin/jdoe"]["identity_type"] == "AssumedRole"

    # Every enrichment column is documented in the database itself.
    comments = con.execute("""SELECT table_name, column_name, comment FROM duckdb_columns()
        WHERE table_name IN ('ip_enrichment', 'user_agent_enrichment', 'principal_enrichment',
                             'bucket_owner_accounts', 'enrichment_sources')""").fetchall()
    assert {t for t, _, _ in comments} == set(ENRICHMENT_TABLES)
    assert all(c for _, _, c in comments), [(t, n) for t, n, c in comments if not c]
    for name, table in ENRICHMENT_TABLES.items():
        assert [(n, c) for t, n, c in comments if t == name] == [
            (col.name, col.doc) for col in table.columns], name

    sources = _table(con, "enrichment_sources", "path")
    ranges_row = sources[str(IP_RANGES)]
    assert (ranges_row["version"], ranges_row["built_at"]) == (
        "1714600000", datetime(2024, 5, 1, 21, 46, 40, tzinfo=UTC))
    assert sources[str(country_db)]["database_type"] == "Test-Country"
    assert sources[str(asn_db)]["built_at"] == datetime(2024, 5, 1, tzinfo=UTC)
    assert summary["ip_enrichment"] == 9 and summary["aws_ip_ranges"].startswith("AWS ip-ranges")

    # Joins the way queries will use them reach every row of both sources that has a value.
    unmatched = con.execute("""SELECT count(*) FROM s3_access_logs l LEFT JOIN principal_enrichment p
        ON p.principal = coalesce(l.requester, '-') WHERE p.principal IS NULL""").fetchall()
    assert unmatched == [(0,)]
    con.close()


def test_refresh_without_reference_data_says_so_and_replaces_tables(tmp_path: Path) -> None:
    con = duckdb.connect(str(_case_db(tmp_path / "case.duckdb")))
    refresh_enrichment(con)
    first = con.sql("SELECT * FROM ip_enrichment ORDER BY ip").pl()
    assert "aws" not in first["ip_class"].to_list()
    assert first["asn"].null_count() == first.height
    missing = {source: (path, details) for source, path, details in con.execute(
        "SELECT source, path, details FROM enrichment_sources").fetchall()}
    assert missing["aws_ip_ranges"][0] is None and "update-ip-ranges" in missing["aws_ip_ranges"][1]
    assert missing["geoip"][0] is None and "no GeoIP database" in missing["geoip"][1]
    refresh_enrichment(con, bucket_accounts={"acme-archive": "121212121212"})
    assert con.sql("SELECT * FROM ip_enrichment ORDER BY ip").pl().equals(first)
    rows = con.execute("SELECT account_id, source, other_accounts FROM bucket_owner_accounts "
                       "WHERE bucket = 'acme-archive'").fetchall()
    assert rows == [("121212121212", "user", ["444455556666"])]
    con.close()


def test_refresh_works_with_one_empty_source(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "sal-only.duckdb"))
    con.execute("CREATE TABLE s3_access_logs (bucket_owner VARCHAR, bucket VARCHAR, "
                "remote_ip VARCHAR, requester VARCHAR, user_agent VARCHAR)")
    summary = refresh_enrichment(con)
    assert (summary["ip_enrichment"], summary["principal_enrichment"]) == (0, 0)
    assert con.execute("SELECT count(*) FROM principal_enrichment").fetchall() == [(0,)]
    con.close()


def test_refresh_refuses_a_database_without_logs(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    with pytest.raises(CaseError, match="ingest"):
        refresh_enrichment(con)
    con.close()


def test_refresh_with_bad_geoip_changes_nothing(tmp_path: Path) -> None:
    con = duckdb.connect(str(_case_db(tmp_path / "case.duckdb")))
    with pytest.raises(InputError):
        refresh_enrichment(con, geoip=tmp_path / "missing.mmdb")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ip_enrichment'"
                       ).fetchall() == [(0,)]
    con.close()


# -- CLI -----------------------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    # Mirrors cli.main: the enrich module's commands, library errors turned into exit code 1.
    parser = argparse.ArgumentParser(prog="s3forensics")
    enrich_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except S3ForensicsError as exc:
        print(f"error: {exc}")
        return 1


def test_cli_update_then_enrich_uses_the_snapshot(tmp_path: Path, _private_data_dir: Path,
                                                  asn_db: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case"
    case.mkdir()
    _case_db(case / "case.duckdb")
    assert _cli(["enrich", "--case", str(case)]) == 0
    assert "none installed" in capsys.readouterr().out

    assert _cli(["update-ip-ranges", "--from", str(IP_RANGES)]) == 0
    out = capsys.readouterr().out
    assert "syncToken 1714600000" in out and "2024-05-01 21:46:40Z" in out

    assert _cli(["enrich", "--case", str(case), "--geoip", str(asn_db),
                 "--bucket-account", "solo-bucket=121212121212"]) == 0
    out = capsys.readouterr().out
    assert "syncToken 1714600000" in out and "Test-ASN built 2024-05-01" in out
    con = duckdb.connect(str(case / "case.duckdb"), read_only=True)
    assert con.execute("SELECT ip_class FROM ip_enrichment WHERE ip = '3.5.65.1'"
                       ).fetchall() == [("aws",)]
    assert con.execute("SELECT source FROM bucket_owner_accounts WHERE bucket = 'solo-bucket'"
                       ).fetchall() == [("user",)]
    con.close()


@pytest.mark.parametrize(("argv", "message"), [
    (["enrich", "--case", "{tmp}/nowhere"], "not a case folder"),
    (["enrich", "--case", "{tmp}", "--bucket-account", "acme-data"], "BUCKET=ACCOUNT"),
    (["enrich", "--case", "{tmp}", "--ip-ranges", "{tmp}/none.json"], "cannot read"),
    (["update-ip-ranges", "--from", "{tmp}/none.json"], "cannot read"),
])
def test_cli_errors_are_one_clear_line(tmp_path: Path, argv: list[str], message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    assert message in capsys.readouterr().out
