"""Detections and `enrich` classify addresses and clients alike: one set of rules, two engines.

Detections read `actor_activity.is_private_ip` and `.ua_family` (SQL macros generated from enrich's
rule data); `enrich` writes `ip_enrichment` and `user_agent_enrichment` with Python. A case holding
tricky addresses and user agents in both log sources must get the same answer from each.
"""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import duckdb
import polars as pl

from s3forensics.case import Case
from s3forensics.enrich import AwsIpRanges, refresh_enrichment
from s3forensics.enrich.macros import PRIVATE_IP_CLASSES, install_macros, macro_definitions
from s3forensics.enrich.useragent import family_name
from s3forensics.lake.translate import to_spark
from s3forensics.render import format_access_log_line, render_cloudtrail_file
from tests.factories import ct_record, sal_record

IP_RANGES = Path(__file__).parent / "fixtures" / "enrich" / "ip-ranges.json"

ADDRESSES = {
    "10.0.3.7": True,
    "172.31.255.254": True,
    "172.32.0.1": False,  # just past 172.16.0.0/12
    "100.64.12.1": True,  # carrier-grade NAT
    "169.254.169.254": True,  # the instance metadata service
    "fd00:ec2::254": True,  # IPv6 unique local (the IPv6 metadata service)
    "fe80::1ff:fe23:4567:890a": True,
    "::1": True,
    "::ffff:192.168.1.20": True,  # an IPv4 client over IPv6
    "::ffff:8.8.8.8": False,
    "::ffff:a00:1": True,  # the same, its IPv4 address written in hex (10.0.0.1)
    "52.216.8.1": False,  # an AWS (S3) range
    "2600:1fa0:4000::12": False,  # an AWS IPv6 range
    "2001:db8::1": False,  # documentation
    "198.51.100.7": False,
    "192.0.2.10": False,  # documentation (the factory default)
    "10.0.0.256": False,  # not an address
}

USER_AGENTS = {
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10 OpenJDK_64-Bit_Server_VM/25.372-b08 "
    "java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]": "s3console",
    "console.amazonaws.com": "aws management console",
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.kali.2024 prompt/off command/s3.cp": "aws-cli",
    "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 lang/python#3.11 Botocore/1.34.0": "boto3",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Safari/537.36": "browser",
    "s3.amazonaws.com": "s3.amazonaws.com",
    "AWS Internal": "aws internal",
    "curl/8.4.0": "curl",
    "Pacu (botocore)": "pacu",
    "sqlmap/1.8#stable (https://sqlmap.org)": "sqlmap",
    "MyCrawlerBot/2.0": "bot",
    "Something, else/1.0": "something,",
}


def _case(root: Path) -> Path:
    evidence = root / "evidence"
    folder = evidence / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2024" / "05" / "01"
    folder.mkdir(parents=True)
    pairs = list(zip(ADDRESSES, [*USER_AGENTS, *USER_AGENTS]))
    # Addresses and user agents reach detections through both sources: half through each.
    trail = [ct_record(i, sourceIPAddress=ip, userAgent=ua, requestID=f"CTONLY{i:010d}",
                       eventID=f"20000000-0000-4000-8000-{i:012d}")
             for i, (ip, ua) in enumerate(pairs) if i % 2 == 0]
    access = [sal_record(i, remote_ip=ip, user_agent=ua, request_id=f"SALONLY{i:09d}")
              for i, (ip, ua) in enumerate(pairs) if i % 2 == 1]
    access += [sal_record(100 + i, user_agent=ua, request_id=f"SALUA{i:011d}")
               for i, ua in enumerate(USER_AGENTS)]
    (folder / "111122223333_CloudTrail_us-east-1_20240501T1200Z_abcdEFGH12345678.json.gz").write_bytes(
        render_cloudtrail_file(trail))
    (evidence / "2024-05-01-12-00-00-ABCDEF0123456789").write_text(
        "\n".join(format_access_log_line(r) for r in access) + "\n")
    with Case.open(root / "case") as case:
        case.ingest([evidence], progress=False)
    return root / "case"


def test_detections_and_enrichment_agree_on_tricky_addresses_and_user_agents(tmp_path: Path) -> None:
    with Case.open(_case(tmp_path)) as case:
        before = case.sql("SELECT DISTINCT source_ip, is_private_ip FROM actor_activity "
                          "WHERE source_ip IS NOT NULL")
        refresh_enrichment(case.con, aws_ranges=AwsIpRanges.read(IP_RANGES), offline_geo=False)
        ips = case.sql("""
            SELECT DISTINCT a.source_ip, a.is_private_ip, e.ip_class, c.ip_class AS seen_by_detections
            FROM actor_activity a JOIN ip_enrichment e ON e.ip = a.source_ip
            LEFT JOIN address_classes c ON c.ip = a.source_ip""")
        uas = case.sql("""
            SELECT DISTINCT a.user_agent, a.ua_family, u.tool_class, u.tool
            FROM actor_activity a JOIN user_agent_enrichment u USING (user_agent)""")

    assert set(ips["source_ip"]) == set(ADDRESSES)
    for row in ips.iter_rows(named=True):
        assert row["is_private_ip"] == (row["ip_class"] in PRIVATE_IP_CLASSES), row
        assert row["is_private_ip"] == ADDRESSES[row["source_ip"]], row
        assert row["seen_by_detections"] == row["ip_class"], row
    assert ips.filter(pl.col("source_ip") == "52.216.8.1")["ip_class"].to_list() == ["aws"]
    # The classification does not wait for `enrich`: the same before it ran.
    assert dict(before.iter_rows()) == dict(ips.select("source_ip", "is_private_ip").iter_rows())

    assert set(uas["user_agent"]) == set(USER_AGENTS)
    for row in uas.iter_rows(named=True):
        assert row["ua_family"] == family_name(row["tool_class"], row["tool"]), row
        assert row["ua_family"] == USER_AGENTS[row["user_agent"]], row


def test_spark_and_athena_get_the_macros_expanded_into_plain_sql() -> None:
    sql = to_spark("SELECT ip_is_private(source_ip) AS p, user_agent_family(user_agent) AS f FROM t")
    assert not any(name in sql.lower() for name in macro_definitions())
    assert "RLIKE" in sql and "(?P<" not in sql  # Java's regex has no (?P<name>...) groups


def _networks_by_python(rng: random.Random) -> dict[str, str | None]:
    """Addresses written every way a log may write them, with the network ipaddress names."""
    out: dict[str, str | None] = {
        "203.0.113.77": "203.0.113.0/24",
        "::ffff:198.51.100.9": "198.51.100.0/24",  # an IPv4 client over IPv6
        "0:0:0:0:0:ffff:198.51.100.9": "198.51.100.0/24",
        "2001:DB8:0:1::7": "2001:db8:0::/48",
        "fe80::1ff:fe23:4567:890a%eth0": "fe80::/48",  # with a zone
        "64:ff9b::192.0.2.33": "64:ff9b::/48",  # IPv4 embedded in IPv6 (NAT64)
        "::": "::/48",
        "::1": "::/48",
        "1::": "1::/48",
        "0:5::": "0:5::/48",
        "0:0:5::9": "0:0:5::/48",
        "2600:1f18:4000:1::12": "2600:1f18:4000::/48",
        # Not addresses: service names, garbage, too many or too few hextets, two '::'.
        "AWS Internal": None, "s3.amazonaws.com": None, "10.0.0.256": None, "1.2.3": None,
        ":::": None, "gggg::1": None, "1:2:3:4:5:6:7:8:9": None, "1:2:3:4:5:6:7": None,
        "1::2::3": None, "12345::1": None, "": None, "1.2.3.4%eth0": None, "fe80::1%": None,
        "1:2::3:4:5:6:7:8": None,  # '::' must stand for one zero hextet at least
    }
    for key in list(out):
        if out[key] is not None and "%" not in key and "." not in key:
            net = ipaddress.ip_network(f"{key}/48", strict=False)
            out[key] = net.compressed
    for _ in range(50):  # IPv4 clients over IPv6, the IPv4 address written in hex or dotted
        v4 = ipaddress.IPv4Address(rng.randrange(2**32))
        mapped = ipaddress.IPv6Address((0xFFFF << 32) | int(v4))
        network = str(ipaddress.ip_network(f"{v4}/24", strict=False))
        hextets = mapped.exploded.split(":")
        for written in (f"::ffff:{int(hextets[6], 16):x}:{int(hextets[7], 16):x}",
                        mapped.exploded, f"0:0:0:0:0:ffff:{v4}", f"::FFFF:{v4}"):
            out[written] = network
    for _ in range(300):
        # Runs of zero hextets, so that '::' falls anywhere, including inside the /48.
        hextets = [0 if rng.random() < 0.4 else rng.randrange(0x10000) for _ in range(8)]
        addr = ipaddress.IPv6Address(sum(h << (16 * (7 - i)) for i, h in enumerate(hextets)))
        network = ipaddress.ip_network(f"{addr}/48", strict=False).compressed
        if addr.ipv4_mapped:
            network = str(ipaddress.ip_network(f"{addr.ipv4_mapped}/24", strict=False))
        plain = ":".join(f"{h:x}" for h in hextets)
        for written in (addr.compressed, addr.exploded, plain, addr.compressed.upper()):
            out[written] = network
    return out


def test_the_network_of_an_address_is_the_one_ipaddress_names() -> None:
    expected = _networks_by_python(random.Random(48))
    con = duckdb.connect()
    install_macros(con)
    got = dict(con.execute("SELECT ip, ip_network(ip) FROM unnest($ips) AS t(ip)",
                           {"ips": list(expected)}).fetchall())
    wrong = {ip: (got[ip], want) for ip, want in expected.items() if got[ip] != want}
    assert wrong == {}
