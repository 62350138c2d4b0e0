"""Key layouts: a window becomes listing bounds that keep every needed key and stop past the rest.

Keys here are written the way AWS names them (strftime in the test), not with the layout module,
so a wrong template or bound in layouts.py shows up as a mismatch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3forensics.errors import AcquisitionError
from s3forensics.layouts import (
    CLOCK_MARGIN,
    DEFAULT_LOOKBACK,
    DIGEST_PERIOD,
    LAYOUTS,
    after_simple_year,
    is_account,
    is_org,
    is_region,
    listing_ranges,
    simple_year,
)
from s3forensics.timerange import TimeRange

UTC = UTC


def one_range(*args, **kwargs):
    (rng,) = listing_ranges(*args, **kwargs)
    return rng


class Ranges:
    """Several day-folder listings seen as one: a key is wanted when any of them wants it."""

    def __init__(self, ranges) -> None:
        self.ranges = ranges

    def wants(self, key: str) -> bool:
        return any(r.wants(key) for r in self.ranges)


W = TimeRange(datetime(2024, 5, 1, 10, 0, tzinfo=UTC), datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
ACCT, REGION = "111122223333", "eu-west-1"


def sal_simple_key(prefix: str, delivered: datetime) -> str:
    return f"{prefix}{delivered:%Y-%m-%d-%H-%M-%S}-0123456789ABCDEF"


def sal_partitioned_key(prefix: str, day_or_delivery: datetime) -> str:
    t = day_or_delivery
    return f"{prefix}{ACCT}/{REGION}/src-bucket/{t:%Y/%m/%d}/{t:%Y-%m-%d-%H-%M-%S}-0123456789ABCDEF"


def ct_key(prefix: str, delivered: datetime, org: str = "") -> str:
    t = delivered
    org_part = f"{org}/" if org else ""
    return (
        f"{prefix}AWSLogs/{org_part}{ACCT}/CloudTrail/{REGION}/{t:%Y/%m/%d}/"
        f"{ACCT}_CloudTrail_{REGION}_{t:%Y%m%dT%H%M}Z_abcdEFGH12345678.json.gz"
    )


def digest_key(prefix: str, delivered: datetime, trail: str = "org_trail-1") -> str:
    t = delivered
    return (
        f"{prefix}AWSLogs/{ACCT}/CloudTrail-Digest/{REGION}/{t:%Y/%m/%d}/"
        f"{ACCT}_CloudTrail-Digest_{REGION}_{trail}_us-east-1_{t:%Y%m%dT%H%M%S}Z.json.gz"
    )


def test_simple_prefix_bounds_cover_delivery_from_start_to_end_plus_lookback() -> None:
    rng = one_range(LAYOUTS["s3-access-simple"], W, prefix="logs/")
    lookback = DEFAULT_LOOKBACK["s3-access"]
    assert rng.prefix == "logs/"
    # An object delivered just before the start can hold no in-window record...
    assert not rng.wants(sal_simple_key("logs/", W.start - CLOCK_MARGIN - timedelta(seconds=1)))
    # ...but one delivered within the clock margin is kept, as is everything up to end + lookback.
    assert rng.wants(sal_simple_key("logs/", W.start - CLOCK_MARGIN))
    assert rng.wants(sal_simple_key("logs/", W.start))
    assert rng.wants(sal_simple_key("logs/", W.end + lookback - timedelta(seconds=1)))
    assert not rng.wants(sal_simple_key("logs/", W.end + lookback))
    # The listing starts right before the first wanted key and stops at the first unwanted one.
    assert rng.start_after < sal_simple_key("logs/", W.start - CLOCK_MARGIN)
    assert sal_simple_key("logs/", W.end + lookback) >= rng.stop_at
    # Keys that are not access logs are not wanted even inside the bounds.
    assert not rng.wants("logs/2024-05-01-11-00-00")
    assert not rng.wants("other/2024-05-01-11-00-00-0123456789ABCDEF")


def test_lookback_is_configurable_and_zero_means_none() -> None:
    rng = one_range(LAYOUTS["s3-access-simple"], W, prefix="", lookback=timedelta(0))
    assert rng.wants(sal_simple_key("", W.end - timedelta(seconds=1)))
    assert not rng.wants(sal_simple_key("", W.end))
    with pytest.raises(AcquisitionError, match="negative"):
        listing_ranges(LAYOUTS["s3-access-simple"], W, lookback=timedelta(hours=-1))


DELIVERY_CASES = [
    ("s3-access-simple", "logs/", sal_simple_key, timedelta(seconds=1)),
    ("s3-access-partitioned-delivery", "pp/", sal_partitioned_key, timedelta(seconds=1)),
    ("cloudtrail", "ct/", ct_key, timedelta(minutes=1)),
]
moments = st.datetimes(
    min_value=datetime(2023, 12, 25), max_value=datetime(2024, 1, 8), timezones=st.just(UTC)
)


@pytest.mark.parametrize(
    "name,prefix,key_at,resolution", DELIVERY_CASES, ids=[c[0] for c in DELIVERY_CASES]
)
@settings(max_examples=150, deadline=None)
@given(start=moments, hours=st.integers(1, 72), lookback_h=st.integers(0, 48), delivered=moments)
def test_delivery_layouts_keep_exactly_the_objects_delivered_in_the_widened_window(
    name: str,
    prefix: str,
    key_at,
    resolution: timedelta,
    start: datetime,
    hours: int,
    lookback_h: int,
    delivered: datetime,
) -> None:
    window = TimeRange(start, start + timedelta(hours=hours))
    lookback = timedelta(hours=lookback_h)
    rng = one_range(
        LAYOUTS[name],
        window,
        prefix=prefix,
        lookback=lookback,
        account=ACCT,
        region=REGION,
        source_bucket="src-bucket",
    )
    key = key_at(prefix, delivered)  # names the delivery time truncated to `resolution`
    low, high = window.start - CLOCK_MARGIN, window.end + lookback
    # Every object delivered inside [start - margin, end + lookback) is kept...
    if low <= delivered < high:
        assert rng.wants(key)
    # ...and nothing delivered more than one key-time step outside it.
    if rng.wants(key):
        assert low - resolution < delivered < high + resolution
    # Listing stops at the first key >= stop_at: the string bounds agree with what is wanted.
    assert rng.wants(key) == (rng.start_after < key < rng.stop_at)


def test_partitioned_event_time_lists_the_window_days_without_lookback() -> None:
    window = TimeRange(
        datetime(2024, 5, 1, 22, 0, tzinfo=UTC), datetime(2024, 5, 2, 1, 0, tzinfo=UTC)
    )
    ranges = listing_ranges(
        LAYOUTS["s3-access-partitioned-event"],
        window,
        prefix="pp/",
        account=ACCT,
        region=REGION,
        source_bucket="src-bucket",
    )
    root = f"pp/{ACCT}/{REGION}/src-bucket/"
    # One listing per day folder: the Prefix itself bounds what S3 returns.
    assert [r.prefix for r in ranges] == [root + "2024/05/01/", root + "2024/05/02/"]
    assert all(r.bounded_by_prefix and r.root == root for r in ranges)
    days = [datetime(2024, 4, 30, tzinfo=UTC) + timedelta(days=n) for n in range(4)]
    assert [d.day for d in days if Ranges(ranges).wants(sal_partitioned_key("pp/", d))] == [1, 2]
    # A window ending exactly at midnight does not reach into the next day.
    exact = TimeRange(datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))
    ranges = Ranges(
        listing_ranges(
            LAYOUTS["s3-access-partitioned-event"],
            exact,
            prefix="pp/",
            account=ACCT,
            region=REGION,
            source_bucket="src-bucket",
        )
    )
    assert ranges.wants(sal_partitioned_key("pp/", days[1]))
    assert not ranges.wants(sal_partitioned_key("pp/", days[2]))


def test_cloudtrail_roots_with_and_without_organization_id() -> None:
    plain = one_range(LAYOUTS["cloudtrail"], W, prefix="ct/", account=ACCT, region=REGION)
    org = one_range(
        LAYOUTS["cloudtrail"], W, prefix="ct/", account=ACCT, region=REGION, org="o-abcdef1234"
    )
    assert plain.prefix == f"ct/AWSLogs/{ACCT}/CloudTrail/{REGION}/"
    assert org.prefix == f"ct/AWSLogs/o-abcdef1234/{ACCT}/CloudTrail/{REGION}/"
    assert org.wants(ct_key("ct/", W.start, org="o-abcdef1234"))
    assert not org.wants(ct_key("ct/", W.start))  # another root's key
    lookback = DEFAULT_LOOKBACK["cloudtrail"]
    assert plain.wants(ct_key("ct/", W.end + lookback - timedelta(minutes=1)))
    assert not plain.wants(ct_key("ct/", W.end + lookback))
    assert plain.wants("ct/" + ct_key("", W.start).replace(".json.gz", ".json"))  # plain JSON too


def test_digests_cover_the_hour_after_the_last_log_file_and_any_trail_name() -> None:
    ranges = listing_ranges(
        LAYOUTS["cloudtrail-digest"], W, prefix="ct/", account=ACCT, region=REGION
    )
    rng = Ranges(ranges)
    last_logs = W.end + DEFAULT_LOOKBACK["cloudtrail"]
    assert rng.wants(digest_key("ct/", W.start))
    assert rng.wants(digest_key("ct/", last_logs + DIGEST_PERIOD, trail="a_b_c"))
    assert not rng.wants(digest_key("ct/", W.start - CLOCK_MARGIN - timedelta(seconds=1)))
    assert not rng.wants(
        digest_key("ct/", last_logs + DIGEST_PERIOD + CLOCK_MARGIN + timedelta(seconds=1))
    )
    # Digest names do not sort by time within a day (the trail name comes first): whole day
    # folders are listed and the digests kept by the time in their name.
    assert [r.prefix for r in ranges] == [
        f"ct/AWSLogs/{ACCT}/CloudTrail-Digest/{REGION}/2024/05/01/"
    ]
    late = TimeRange(datetime(2024, 5, 1, 21, tzinfo=UTC), datetime(2024, 5, 1, 23, 30, tzinfo=UTC))
    assert len(listing_ranges(LAYOUTS["cloudtrail-digest"], late, account=ACCT, region=REGION)) == 2


def test_discovery_names() -> None:
    assert is_account("111122223333") and not is_account("11112222333") and not is_account("o-abc")
    assert is_org("o-a1b2c3d4e5") and not is_org("o-short") and not is_org("111122223333")
    for region in ("us-east-1", "eu-central-2", "ap-southeast-7", "us-gov-west-1", "cn-north-1"):
        assert is_region(region)
    for name in ("CloudTrail", "us-east", "global", "111122223333"):
        assert not is_region(name)


@settings(max_examples=200, deadline=None)
@given(
    year=st.integers(2006, 2099),
    rest=st.integers(0, 10**8 - 1),
    account=st.from_regex(r"\d{12}", fullmatch=True),
    stamp=st.datetimes(min_value=datetime(2006, 1, 1), max_value=datetime(2099, 12, 31)),
)
def test_skipping_a_year_of_simple_keys_skips_nothing_else(
    year: int, rest: int, account: str, stamp: datetime
) -> None:
    key = f"{stamp:%Y-%m-%d-%H-%M-%S}-0123456789ABCDEF"
    skip = after_simple_year("logs/", f"{stamp:%Y}")
    assert simple_year(key) == f"{stamp:%Y}"
    assert "logs/" + key < skip  # every simple key of that year is skipped
    if account.startswith(f"{stamp:%Y}"):
        assert f"logs/{account}/" > skip  # an account folder sharing the digits is not
    assert f"logs/{stamp.year + 1:04d}-01-01-00-00-00-X" > skip  # nor is the next year


def test_a_key_below_a_digest_is_not_a_digest() -> None:
    # Trail names hold no '/': a key planted below a real digest key is not of the layout.
    layout = LAYOUTS["cloudtrail-digest"]
    root = layout.root(prefix="", account=ACCT, region=REGION)
    real = digest_key("", W.start).removeprefix(root)
    assert layout.key_time(real) == W.start
    assert layout.key_time(f"{real}/x_{REGION}_{W.start:%Y%m%dT%H%M%S}Z.json.gz") is None
    assert layout.key_time(digest_key("", W.start, trail="a/b").removeprefix(root)) is None


def test_a_key_names_its_kind_in_one_place() -> None:
    from s3forensics.layouts import kind_from_key, parse_trail_name

    digest = ("AWSLogs/o-abc123defg/111122223333/CloudTrail-Digest/us-east-1/2026/10/05/"
              "111122223333_CloudTrail-Digest_us-east-1_org_trail_us-east-1_20261005T010000Z.json.gz")
    log = ("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/05/"
           "111122223333_CloudTrail_eu-west-1_20261005T0105Z_AbCdEf0123456789.json.gz")
    assert kind_from_key(digest) == "cloudtrail-digest"
    assert kind_from_key(log) == "cloudtrail"
    assert kind_from_key("logs/2026-10-05-01-02-03-0123456789ABCDEF") == "s3-access"
    assert kind_from_key("notes/readme.txt") is None
    name = parse_trail_name(digest)
    assert name is not None and name.trail == "org_trail" and name.kind == "digest"
    assert parse_trail_name(log) is not None and parse_trail_name(log).region == "eu-west-1"  # type: ignore[union-attr]
