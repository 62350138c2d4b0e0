"""The access-log renderer writes what AWS writes (the parser tests rely on it as the inverse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from s3forensics.render import (
    ACCESS_LOG_FIELDS,
    encode_key,
    format_access_log_line,
    format_access_time,
)


def test_request_keys_are_encoded_twice_and_s3_actions_once() -> None:
    # A space logs as %2520 for requests (the already-encoded path, encoded again) and as + for
    # S3's own actions and batch-delete keys (form-encoded once, so a real + is %2B); '*' is left
    # as it is (seen in real logs).
    assert encode_key("my photos/a b*.jpg", "REST.GET.OBJECT") == "my%2520photos/a%2520b*.jpg"
    assert encode_key("my photos/a b*.jpg", "S3.EXPIRE.OBJECT") == "my+photos/a+b*.jpg"
    assert encode_key("a+b c.txt", "BATCH.DELETE.OBJECT") == "a%2Bb+c.txt"
    assert encode_key("100%", "WEBSITE.GET.OBJECT") == "100%2525"


def test_access_time_keeps_the_records_offset() -> None:
    moment = datetime(2019, 2, 6, 2, 0, 38, tzinfo=timezone(timedelta(hours=2)))
    assert format_access_time(moment) == "[06/Feb/2019:02:00:38 +0200]"
    assert format_access_time(datetime(2020, 1, 1, tzinfo=UTC)) == "[01/Jan/2020:00:00:00 +0000]"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_access_time(datetime(2020, 1, 1))


@pytest.mark.parametrize("n_fields", [18, 24, 25, 26, 27])
def test_each_era_writes_its_number_of_fields(n_fields: int) -> None:
    record: dict[str, object] = {name: None for name in ACCESS_LOG_FIELDS}
    record.update(
        event_time=datetime(2024, 5, 1, tzinfo=UTC),
        operation="REST.GET.OBJECT",
        object_key="k",
        extra_fields="future-28",
    )
    line = format_access_log_line(record, n_fields=n_fields)
    # The time holds one space; every other field here is a single token.
    assert len(line.split(" ")) == n_fields + 1 + 1
    assert line.endswith(" future-28")
