"""UTC half-open time windows, validated at the boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import TimeRangeError

__all__ = ["TimeRange", "parse_utc"]


def parse_utc(value: str | datetime, *, name: str = "time") -> datetime:
    """Parse an ISO-8601 timestamp with an explicit offset (or `Z`) into an aware UTC datetime."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise TimeRangeError(
                f"{name} {value!r} is not an ISO-8601 timestamp (e.g. 2024-05-01T00:00:00Z)"
            ) from exc
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise TimeRangeError(
            f"{name} {value!s} has no time zone: add Z or an offset such as +00:00 "
            "(log times are UTC; a naive time is ambiguous)"
        )
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC window [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = parse_utc(self.start, name="start")
        end = parse_utc(self.end, name="end")
        if start >= end:
            raise TimeRangeError(f"start {start.isoformat()} is not before end {end.isoformat()}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @classmethod
    def parse(cls, start: str | datetime, end: str | datetime) -> TimeRange:
        """Build a window from two ISO-8601 strings or aware datetimes."""
        return cls(parse_utc(start, name="start"), parse_utc(end, name="end"))

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= parse_utc(moment) < self.end

    def widened(self, *, before: timedelta = timedelta(0), after: timedelta = timedelta(0)) -> TimeRange:
        """Return the window grown by `before` at the start and `after` at the end."""
        return TimeRange(self.start - before, self.end + after)

    @property
    def duration(self) -> timedelta:
        """Length of the window."""
        return self.end - self.start
