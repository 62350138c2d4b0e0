"""Frames as people read them: HTML tables for notebooks and reports, every value escaped.

polars' own HTML shows strings in quotes, squeezes long values into narrow columns and prints
times with their zone name; a report handed to a manager needs none of that. `frame_html`
writes a plain table instead: text as it is (escaped: keys, user agents and ARNs come from
logs an attacker can write to), long values wrapped, times in one format (UTC,
`YYYY-MM-DD HH:MM:SS`), numbers with thousands separators, list items one per line (an item may itself hold a comma).
`Table` wraps a frame so that Jupyter shows it that way (`notebook.show` returns one).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

__all__ = ["TABLE_CSS", "Table", "format_cell", "frame_html"]

#: Styles for `frame_html` tables (class `s3f-table`); included once per table so a notebook
#: output or an exported page needs nothing else.
TABLE_CSS = """
.s3f-wrap { max-width: 100%; overflow-x: auto; margin: 0.4rem 0 0.8rem; }
table.s3f-table { border-collapse: collapse; table-layout: auto !important; width: auto;
  font: 13px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; }
table.s3f-table caption { caption-side: bottom; text-align: left; color: #666; font-size: 12px;
  padding-top: 4px; }
table.s3f-table th, table.s3f-table td { border: none; border-bottom: 1px solid #e2e2e2;
  padding: 3px 12px 3px 0; text-align: left !important; vertical-align: top;
  max-width: 44ch; overflow-wrap: break-word; word-break: normal; white-space: normal; }
table.s3f-table td > div { min-width: 14ch; overflow-wrap: anywhere; }
table.s3f-table th { border-bottom: 2px solid #bbb; font-weight: 600; white-space: nowrap; }
table.s3f-table th.num, table.s3f-table td.num { text-align: right !important;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
table.s3f-table td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.s3f-table td.null { color: #aaa; }
table.s3f-table tbody tr:nth-child(even) td { background: #fafafa; }
table.s3f-table tbody tr:hover td { background: #eef4fb; }
"""
# A cell shows at most this much of a value; the whole value is in its tooltip (up to _TITLE).
_SHOWN = 400
_TITLE = 4000


def _time(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")


def format_cell(value: Any) -> str:
    """A value as a table shows it: times in UTC `YYYY-MM-DD HH:MM:SS`, numbers with separators."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, (float, Decimal)):
        number = float(value)
        if number != number:  # NaN
            return ""
        if number.is_integer() and abs(number) < 1e15:
            return format_cell(int(number))
        return f"{number:,.2f}" if abs(number) >= 100 else f"{number:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return str(value)


def _css_class(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "num"
    if isinstance(dtype, (pl.Datetime, pl.Date, pl.Time)):
        return "time"
    return ""


# A list cell shows at most this many items, one per line, and says how many more there are.
_ITEMS = 20


def _list_cell(items: list[Any] | tuple[Any, ...]) -> str:
    # One line per item: joining with commas would make a key or user agent that contains ", "
    # read as two values.
    lines = [format_cell(v) for v in items[:_ITEMS]]
    lines = [line[:_SHOWN] + "…" if len(line) > _SHOWN else line for line in lines]
    if len(items) > _ITEMS:
        lines.append(f"… {len(items) - _ITEMS:,} more")
    return "<td>" + "".join(f"<div>{html.escape(line)}</div>" for line in lines) + "</td>"


def _cell(value: Any, css: str) -> str:
    if value is None:
        return "<td class='null'>–</td>"
    if isinstance(value, (list, tuple)) and not css:
        return _list_cell(value)
    text = format_cell(value)
    attrs = f" class='{css}'" if css else ""
    if len(text) > _SHOWN:
        attrs += f" title='{html.escape(text[:_TITLE], quote=True)}'"
        text = text[:_SHOWN] + "…"
    if css:
        return f"<td{attrs}>{html.escape(text)}</td>"
    # Text wraps anywhere inside a box of a few characters at least, so a long ARN or user agent
    # wraps instead of widening the page, and no column collapses to a letter's width.
    return f"<td{attrs}><div>{html.escape(text)}</div></td>"


def frame_html(frame: pl.DataFrame, *, limit: int | None = 30, caption: str | None = None,
               styles: bool = True) -> str:
    """The first `limit` rows of a frame as an escaped HTML table (class `s3f-table`)."""
    shown = frame if limit is None else frame.head(limit)
    classes = [_css_class(t) for t in shown.schema.values()]
    head = "".join(f"<th class='{css}'>{html.escape(str(c))}</th>" if css else
                   f"<th>{html.escape(str(c))}</th>" for c, css in zip(shown.columns, classes, strict=True))
    body = "".join(
        "<tr>" + "".join(_cell(v, css) for v, css in zip(row, classes, strict=True)) + "</tr>"
        for row in shown.iter_rows())
    notes = []
    if shown.height < frame.height:
        notes.append(f"showing {shown.height:,} of {frame.height:,} rows")
    elif frame.height == 0:
        notes.append("no rows")
    if any(isinstance(t, pl.Datetime) for t in shown.schema.values()):
        notes.append("times in UTC")
    if caption:
        notes.insert(0, caption)
    cap = f"<caption>{html.escape('; '.join(notes))}</caption>" if notes else ""
    style = f"<style>{TABLE_CSS}</style>" if styles else ""
    return (f"{style}<div class='s3f-wrap'><table class='s3f-table'>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


class Table:
    """A frame shown as a readable HTML table in Jupyter (and as polars text elsewhere)."""

    def __init__(self, frame: pl.DataFrame, *, limit: int = 30) -> None:
        self.frame = frame
        self.limit = limit

    def _repr_html_(self) -> str:
        return frame_html(self.frame, limit=self.limit)

    def __repr__(self) -> str:
        text = repr(self.frame.head(self.limit))
        if self.frame.height > self.limit:
            text = f"showing {self.limit} of {self.frame.height:,} rows\n" + text
        return text
