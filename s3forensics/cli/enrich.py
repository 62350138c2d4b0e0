"""`s3forensics enrich` and `s3forensics update-ip-ranges`: offline enrichment of a case."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..enrich.awsranges import IP_RANGES_URL
from ..errors import CaseError, InputError

# The case database's file name (s3forensics.case.DB_NAME); opened here directly so enrichment
# needs only the database, not the ingest machinery.
_DB_NAME = "case.duckdb"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `enrich` and `update-ip-ranges` commands."""
    p = sub.add_parser(
        "enrich",
        help="classify IPs, user agents and principals of a case from local data (offline)",
        description=(
            "Build the tables ip_enrichment, user_agent_enrichment, principal_enrichment, "
            "bucket_owner_accounts and enrichment_sources from the distinct values in the case's "
            "access logs and CloudTrail events. Uses only local data: the AWS ip-ranges snapshot "
            "installed by `update-ip-ranges`, GeoIP (.mmdb) databases you name, and by default the "
            "country and network-owner data shipped with the geoip2fast package (its date is "
            "printed), which fills in whatever no --geoip database supplies. Re-running replaces "
            "the tables."
        ),
        epilog=(
            "examples:\n"
            "  s3forensics enrich --case cases/acme\n"
            "  s3forensics enrich --case cases/acme --geoip GeoLite2-ASN.mmdb "
            "--geoip GeoLite2-Country.mmdb\n"
            "  s3forensics enrich --case cases/acme --bucket-account acme-data=111122223333"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--case", required=True, type=Path, metavar="DIR", help="case folder")
    p.add_argument("--geoip", action="append", type=Path, default=[], metavar="FILE.mmdb",
                   help="MaxMind-format database for ASN/country (repeat for several; the first "
                        "with a value wins)")
    p.add_argument("--no-offline-geo", dest="offline_geo", action="store_false",
                   help="do not use the country/ASN data shipped with geoip2fast")
    p.add_argument("--ip-ranges", type=Path, metavar="FILE",
                   help="AWS ip-ranges.json to use instead of the installed snapshot")
    p.add_argument("--bucket-account", action="append", default=[], metavar="BUCKET=ACCOUNT",
                   help="owner account of a bucket; overrides what the logs suggest (repeatable)")
    p.set_defaults(func=_enrich)

    u = sub.add_parser(
        "update-ip-ranges",
        help="download (or import) AWS's published ip-ranges.json as the local snapshot",
        description=(
            f"Fetch {IP_RANGES_URL} (or import a copy with --from), check it, and store it where "
            "`enrich` finds it: $S3FORENSICS_DATA/ip-ranges.json, by default "
            "~/.local/share/s3forensics/ip-ranges.json."
        ),
        epilog=(
            "examples:\n"
            "  s3forensics update-ip-ranges\n"
            "  s3forensics update-ip-ranges --from ~/Downloads/ip-ranges.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = u.add_mutually_exclusive_group()
    source.add_argument("--from", dest="from_file", type=Path, metavar="FILE",
                        help="import an ip-ranges.json copied from a machine with internet")
    source.add_argument("--url", default=IP_RANGES_URL, metavar="URL",
                        help="where to download from (default: AWS's published file)")
    u.set_defaults(func=_update)


def _bucket_accounts(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        bucket, sep, account = item.partition("=")
        if not sep or not bucket or not re.fullmatch(r"\d{12}", account):
            raise InputError("--bucket-account", f"{item!r} is not BUCKET=ACCOUNT (12-digit id)")
        mapping[bucket] = account
    return mapping


def _enrich(args: argparse.Namespace) -> int:
    from .. import store
    from ..enrich import default_ip_ranges_path, load_aws_ip_ranges, refresh_enrichment

    mapping = _bucket_accounts(args.bucket_account)
    ranges = load_aws_ip_ranges(args.ip_ranges)
    db = args.case / _DB_NAME
    if not db.is_file():
        raise CaseError(f"{args.case}: not a case folder (no {_DB_NAME}); ingest something first")
    con = store.connect(db)  # a case held by readers: one line naming the holder
    try:
        summary = refresh_enrichment(con, geoip=args.geoip, aws_ranges=ranges,
                                     bucket_accounts=mapping, offline_geo=args.offline_geo)
    finally:
        con.close()
    if summary["aws_ip_ranges"]:
        print(f"AWS ranges: {summary['aws_ip_ranges']}")
    else:
        print(f"AWS ranges: none installed at {default_ip_ranges_path()}; no address is classed "
              "'aws'. Run `s3forensics update-ip-ranges` (online) or `--from FILE`.")
    for line in summary["geoip"]:
        print(f"GeoIP:      {line}")
    if not summary["geoip"]:
        print("GeoIP:      none given (--geoip FILE.mmdb adds ASN numbers and takes precedence)")
    if summary["offline_geo"]:
        print(f"Offline:    {summary['offline_geo']}")
    elif args.offline_geo:
        print("Offline:    geoip2fast is not installed: no country/network owner without --geoip")
    for table in ("ip_enrichment", "user_agent_enrichment", "principal_enrichment",
                  "bucket_owner_accounts"):
        print(f"  {table:22} {summary[table]:>9,} rows")
    classes = ", ".join(f"{k} {v:,}" for k, v in summary["ip_classes"].items())
    if classes:
        print(f"IP classes: {classes}")
    return 0


def _update(args: argparse.Namespace) -> int:
    from ..enrich import install_aws_ip_ranges, load_aws_ip_ranges

    previous = None
    try:
        previous = load_aws_ip_ranges()
    except InputError:
        pass  # a damaged snapshot is about to be replaced
    snapshot = install_aws_ip_ranges(source=args.from_file, url=args.url)
    origin = args.from_file if args.from_file is not None else args.url
    print(f"installed {snapshot.describe()}")
    print(f"  (taken from {origin})")
    if previous is not None:
        if previous.create_date > snapshot.create_date:
            print(f"note: it is OLDER than the snapshot it replaced (created "
                  f"{previous.create_date:%Y-%m-%d %H:%M:%S}Z)")
        else:
            print(f"  replaced syncToken {previous.sync_token} created "
                  f"{previous.create_date:%Y-%m-%d %H:%M:%S}Z")
    return 0
