"""Country and network owner of every address offline, from the data geoip2fast ships; MaxMind first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from s3forensics.case import Case
from s3forensics.enrich import refresh_enrichment
from s3forensics.enrich.offline_geo import ATTRIBUTION, classify_network, offline_geo_database
from s3forensics.render import render_cloudtrail_file
from tests.factories import ct_record
from tests.test_enrich import _write_mmdb

ADDRESSES = {
    "73.162.0.1": ("US", "isp"),        # a cable ISP's customer
    "172.58.0.1": ("US", "mobile"),     # a mobile carrier
    "185.220.101.1": ("DE", "tor"),     # an AS that runs Tor exits
    "193.32.127.1": ("CH", "vpn"),      # a VPN provider's AS
    "45.137.21.9": ("NL", "hosting"),   # a VPS hoster
}


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    ips = [*ADDRESSES, "8.8.8.8", "10.0.0.5", "203.0.113.5", "2001:4860:4860::8888"]
    trail = tmp_path / "trail.json.gz"
    trail.write_bytes(render_cloudtrail_file([ct_record(i, sourceIPAddress=ip) for i, ip in enumerate(ips)]))
    with Case.open(tmp_path / "case") as case:
        case.ingest([trail], progress=False)
    return tmp_path / "case"


def test_every_public_address_gets_country_owner_and_network_type_without_a_licence(case_dir: Path) -> None:
    shipped = offline_geo_database()
    assert shipped is not None and shipped.built is not None, "geoip2fast is a core dependency"
    with Case.open(case_dir, create=False) as case:
        summary = refresh_enrichment(case.con)
        rows = {r["ip"]: r for r in case.sql("SELECT * FROM ip_enrichment").iter_rows(named=True)}
        source = case.sql("SELECT * FROM enrichment_sources WHERE source = 'geoip_offline'").row(0, named=True)
    assert summary["offline_geo"] == shipped.describe()
    label = f"geoip2fast:{shipped.built:%Y-%m-%d}"
    for ip, (country, kind) in ADDRESSES.items():
        row = rows[ip]
        assert (row["country"], row["network_type"], row["geo_database"]) == (country, kind, label), row
        assert row["as_org"] and row["network_type_basis"].startswith("AS name matches")
        assert row["asn"] is None  # the shipped data names the owner, not the number
    assert rows["2001:4860:4860::8888"]["country"] == "US"
    for unrouted in ("10.0.0.5", "203.0.113.5"):
        assert rows[unrouted]["as_org"] is None and rows[unrouted]["network_type"] is None
    # The data's date is shown, with MaxMind's attribution.
    assert source["built_at"] == shipped.built and ATTRIBUTION in source["details"]


def test_a_maxmind_database_takes_precedence(case_dir: Path, tmp_path: Path) -> None:
    asn = _write_mmdb(tmp_path / "asn.mmdb", {"8.8.8.0/24": {
        "autonomous_system_number": 15169, "autonomous_system_organization": "Example Hosting Org",
        "country": {"iso_code": "FR", "names": {"en": "France"}}}})
    with Case.open(case_dir, create=False) as case:
        refresh_enrichment(case.con, geoip=asn)
        rows = {r["ip"]: r for r in case.sql("SELECT * FROM ip_enrichment").iter_rows(named=True)}
        refresh_enrichment(case.con, offline_geo=False)
        off = case.sql("SELECT count(*) AS n FROM ip_enrichment WHERE as_org IS NOT NULL").row(0)[0]
        details = case.sql("SELECT details FROM enrichment_sources WHERE source = 'geoip_offline'").row(0)[0]
    google = rows["8.8.8.8"]
    assert (google["asn"], google["as_org"], google["country"], google["geo_database"]) == (
        15169, "Example Hosting Org", "FR", "asn.mmdb")
    assert google["network_type"] == "hosting"
    assert rows["73.162.0.1"]["geo_database"].startswith("geoip2fast:")  # the gaps still filled
    assert off == 0 and details == "switched off"


def test_enrich_cli_prints_the_offline_data_and_its_date(case_dir: Path) -> None:
    shipped = offline_geo_database()
    assert shipped is not None
    out = subprocess.run([sys.executable, "-m", "s3forensics", "enrich", "--case", str(case_dir)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"Offline:    geoip2fast {shipped.package_version}" in out.stdout
    assert f"data of {shipped.built:%Y-%m-%d}" in out.stdout


@pytest.mark.parametrize(("org", "kind"), [
    ("AMAZON-02", "hosting"), ("DIGITALOCEAN-ASN", "hosting"), ("OVH SAS", "hosting"),
    ("M247 Europe SRL", "vpn"), ("Private Internet Access", "vpn"), ("Datacamp Limited", "vpn"),
    ("TORSERVERS-NET", "tor"), ("Zwiebelfreunde e.V.", "tor"),
    ("COMCAST-7922", "isp"), ("Deutsche Telekom AG", "isp"), ("Virgin Media", "other"),
    ("T-MOBILE-AS21928", "mobile"), (None, None),
])
def test_network_types_come_from_the_owner_name(org: str | None, kind: str | None) -> None:
    assert classify_network(org)[0] == kind
