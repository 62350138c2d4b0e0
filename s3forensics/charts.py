"""Altair charts built from small, pre-aggregated frames; rendered offline as SVG.

Every builder takes a frame a summary query returns (tens to thousands of rows, never raw log
rows) and returns an `alt.Chart`. `use_offline_rendering()` makes notebooks display charts as
SVG produced locally by vl-convert, so they show in JupyterLab and in exported HTML without
fetching Vega from the internet.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

__all__ = [
    "use_offline_rendering",
    "chart_svg",
    "requests_over_time",
    "activity_heatmap",
    "top_values",
    "bytes_over_time",
    "ip_principal_matrix",
    "operation_mix",
    "error_rates",
    "findings_timeline",
    "incident_timeline",
]

SEVERITY_ORDER = ["critical", "high", "medium", "low", "info"]
SEVERITY_COLOURS = ["#7f0000", "#d7301f", "#fc8d59", "#fdcc8a", "#bdbdbd"]
STATUS_ORDER = ["2xx", "3xx", "4xx", "5xx", "other"]
STATUS_COLOURS = ["#4c9a2a", "#7fb3d5", "#e67e22", "#c0392b", "#95a5a6"]
MAX_ROWS = 20_000  # builders refuse more: aggregate first (a case can hold millions of rows)


def use_offline_rendering() -> None:
    """Render charts as inline SVG made locally (no CDN, no network)."""
    alt.renderers.enable("svg")


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as a standalone SVG string, for HTML reports."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())


def _small(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"chart needs columns {', '.join(missing)}; the frame has {', '.join(frame.columns)}")
    if frame.height > MAX_ROWS:
        raise ValueError(f"{frame.height} rows is too many to chart: aggregate to at most {MAX_ROWS}")
    # Vega has no decimal type (DuckDB sums are DECIMAL); dates chart best as text days.
    return frame.select(columns).with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in frame.select(columns).schema.items() if isinstance(t, pl.Decimal)]
        + [pl.col(c).cast(pl.String) for c, t in frame.select(columns).schema.items() if t == pl.Date]
    )


def _base(frame: pl.DataFrame, title: str, **props: Any) -> alt.Chart:
    return alt.Chart(frame, title=title).properties(width=props.pop("width", 640),
                                                    height=props.pop("height", 240), **props)


def requests_over_time(frame: pl.DataFrame, *, time: str = "period_start", status: str = "status_class",
                       count: str = "requests", title: str = "Requests over time by status") -> alt.Chart:
    """Stacked bars of requests per period, coloured by HTTP status class."""
    data = _small(frame, time, status, count)
    return _base(data, title).mark_bar().encode(
        x=alt.X(f"{time}:T", title="time (UTC)"),
        y=alt.Y(f"sum({count}):Q", title="requests"),
        color=alt.Color(f"{status}:N", title="status",
                        scale=alt.Scale(domain=STATUS_ORDER, range=STATUS_COLOURS)),
        tooltip=[alt.Tooltip(f"{time}:T", format="%Y-%m-%d %H:%M"), f"{status}:N", f"{count}:Q"],
    )


def activity_heatmap(frame: pl.DataFrame, *, day: str = "day", hour: str = "hour",
                     count: str = "requests", title: str = "Activity by day and hour") -> alt.Chart:
    """Day-by-hour heatmap of activity counts."""
    data = _small(frame, day, hour, count)
    return _base(data, title, height=alt.Step(16)).mark_rect().encode(
        x=alt.X(f"{hour}:O", title="hour of day"),
        y=alt.Y(f"{day}:O", title="day"),
        color=alt.Color(f"{count}:Q", title=count, scale=alt.Scale(scheme="blues")),
        tooltip=[f"{day}:O", f"{hour}:O", f"{count}:Q"],
    )


def top_values(frame: pl.DataFrame, *, label: str, value: str, title: str,
               highlight: list[str] | None = None, limit: int = 15) -> alt.Chart:
    """Horizontal bars of the largest values (top IPs, principals...); `highlight` marks some in red."""
    data = _small(frame, label, value).sort(value, descending=True).head(limit)
    marked = set(highlight or [])
    data = data.with_columns(pl.col(label).cast(pl.String).is_in(list(marked)).alias("flagged"))
    return _base(data, title, height=alt.Step(18)).mark_bar().encode(
        y=alt.Y(f"{label}:N", sort="-x", title=None),
        x=alt.X(f"{value}:Q", title=value),
        color=alt.condition("datum.flagged", alt.value("#c0392b"), alt.value("#5b7db1")),
        tooltip=[f"{label}:N", f"{value}:Q"],
    )


def bytes_over_time(frame: pl.DataFrame, *, time: str = "period_start", group: str = "group_key",
                    value: str = "bytes_out", title: str = "Bytes sent over time") -> alt.Chart:
    """Lines of bytes out per period, one per IP or principal."""
    data = _small(frame, time, group, value)
    return _base(data, title).mark_line(point=True).encode(
        x=alt.X(f"{time}:T", title="time (UTC)"),
        y=alt.Y(f"{value}:Q", title="bytes"),
        color=alt.Color(f"{group}:N", title=group),
        tooltip=[alt.Tooltip(f"{time}:T", format="%Y-%m-%d %H:%M"), f"{group}:N", f"{value}:Q"],
    )


def ip_principal_matrix(frame: pl.DataFrame, *, ip: str = "source_ip", principal: str = "principal",
                        count: str = "requests", title: str = "Who used which address") -> alt.Chart:
    """Heatmap of requests per (IP, principal) pair."""
    data = _small(frame, ip, principal, count)
    return _base(data, title, width=alt.Step(18), height=alt.Step(18)).mark_rect().encode(
        x=alt.X(f"{ip}:N", title="source IP"),
        y=alt.Y(f"{principal}:N", title="principal"),
        color=alt.Color(f"{count}:Q", scale=alt.Scale(type="log", scheme="oranges")),
        tooltip=[f"{ip}:N", f"{principal}:N", f"{count}:Q"],
    )


def operation_mix(frame: pl.DataFrame, *, operation: str = "operation", count: str = "requests",
                  source: str = "source", title: str = "Operation mix", limit: int = 25) -> alt.Chart:
    """Bars of the most frequent operations, coloured by source."""
    data = _small(frame, operation, count, source).sort(count, descending=True).head(limit)
    return _base(data, title, height=alt.Step(16)).mark_bar().encode(
        y=alt.Y(f"{operation}:N", sort="-x", title=None),
        x=alt.X(f"{count}:Q", title="requests", scale=alt.Scale(type="symlog")),
        color=alt.Color(f"{source}:N"),
        tooltip=[f"{operation}:N", f"{source}:N", f"{count}:Q"],
    )


def error_rates(frame: pl.DataFrame, *, label: str = "operation", rate: str = "error_rate",
                count: str = "errors", title: str = "Error rate by operation", limit: int = 25) -> alt.Chart:
    """Bars of error rate per operation (or any label), largest first."""
    data = _small(frame, label, rate, count).filter(pl.col(count) > 0).sort(rate, descending=True).head(limit)
    return _base(data, title, height=alt.Step(16)).mark_bar(color="#c0392b").encode(
        y=alt.Y(f"{label}:N", sort="-x", title=None),
        x=alt.X(f"{rate}:Q", title="error rate", axis=alt.Axis(format="%")),
        tooltip=[f"{label}:N", alt.Tooltip(f"{rate}:Q", format=".1%"), f"{count}:Q"],
    )


def findings_timeline(frame: pl.DataFrame, *, title: str = "Findings over time") -> alt.LayerChart:
    """Each detection's span from first to last seen, coloured by severity."""
    data = _small(frame, "detection", "severity", "first_seen", "last_seen", "count")
    bars = _base(data, title, height=alt.Step(20)).mark_bar(size=10, cornerRadius=2).encode(
        y=alt.Y("detection:N", sort=alt.SortField("first_seen"), title=None),
        x=alt.X("first_seen:T", title="time (UTC)"),
        x2="last_seen:T",
        color=alt.Color("severity:N", scale=alt.Scale(domain=SEVERITY_ORDER, range=SEVERITY_COLOURS)),
        tooltip=["detection:N", "severity:N", alt.Tooltip("first_seen:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("last_seen:T", format="%Y-%m-%d %H:%M"), "count:Q"],
    )
    return bars + bars.mark_point(filled=True, size=60)  # a point shows one-moment findings


def incident_timeline(spans: pl.DataFrame, volume: pl.DataFrame, *, width: int = 720,
                      margin_hours: float = 12, title: str = "The incident over time") -> alt.LayerChart:
    """Findings as lanes over time (coloured by severity), request volume faint behind them.

    `spans`: finding, severity, first_seen, last_seen (one row per finding row; each is drawn as
    a line from first to last seen with a dot at both ends). `volume`: period_start, named,
    requests per hour (`activity_of_addresses_over_time`): requests from the addresses the
    findings name are stacked in red on everyone else's, in grey. The time axis spans the
    findings and `margin_hours` either side (all the volume when there is no finding).
    """
    vol = _small(volume, "period_start", "named", "requests")
    lanes = _small(spans, "finding", "severity", "first_seen", "last_seen")
    hourly = (vol.group_by("period_start").agg(
        pl.col("requests").filter(~pl.col("named")).sum().alias("others"),
        pl.col("requests").filter(pl.col("named")).sum().alias("named"))
        .with_columns((pl.col("period_start") + pl.duration(hours=1)).alias("period_end")))
    bars = pl.concat([
        hourly.select("period_start", "period_end", pl.lit(0).cast(pl.Int64).alias("low"),
                      pl.col("others").cast(pl.Int64).alias("high"), pl.lit("everyone else").alias("who")),
        hourly.filter(pl.col("named") > 0).select(
            "period_start", "period_end", pl.col("others").cast(pl.Int64).alias("low"),
            (pl.col("others") + pl.col("named")).cast(pl.Int64).alias("high"),
            pl.lit("the addresses the findings name").alias("who")),
    ])
    if lanes.height:
        pad = pl.duration(hours=margin_hours)
        lo, hi = lanes.select((pl.col("first_seen").min() - pad), (pl.col("last_seen").max() + pad)).row(0)
        bars = bars.filter((pl.col("period_end") > lo) & (pl.col("period_start") < hi))
    elif hourly.height:
        lo, hi = hourly["period_start"].min(), hourly["period_end"].max()
    else:
        lo = hi = None
    x_scale = alt.Scale(domain=[lo.isoformat(), hi.isoformat()]) if lo is not None and hi is not None \
        else alt.Undefined
    axis = alt.Axis(format="%a %d %b %H:%M", labelAngle=0, grid=False, labelOverlap=True)
    height = max(160, 26 * max(lanes["finding"].n_unique(), 1))
    volume_layer = alt.Chart(bars).mark_rect(opacity=0.45, clip=True).encode(
        x=alt.X("period_start:T", title="time (UTC)", scale=x_scale, axis=axis), x2="period_end:T",
        y=alt.Y("low:Q", title="requests per hour",
                axis=alt.Axis(orient="right", titleColor="#999", labelColor="#999", grid=False)),
        y2="high:Q",
        color=alt.Color("who:N", title="requests",
                        scale=alt.Scale(domain=["everyone else", "the addresses the findings name"],
                                        range=["#bdbdbd", "#ef9a9a"]),
                        legend=alt.Legend(orient="bottom", labelLimit=300)),
    )
    if not lanes.height:
        return alt.LayerChart(layer=[volume_layer], title=title).properties(width=width, height=height)
    order = (lanes.group_by("finding").agg(pl.col("first_seen").min())
             .sort("first_seen", "finding")["finding"].to_list())
    y = alt.Y("finding:N", sort=order, title=None, axis=alt.Axis(labelLimit=380, labelFontSize=12))
    severity = alt.Color("severity:N", title="severity",
                         scale=alt.Scale(domain=SEVERITY_ORDER, range=SEVERITY_COLOURS),
                         legend=alt.Legend(orient="bottom"))
    lane = alt.Chart(lanes)
    lines = lane.mark_rule(strokeWidth=3, clip=True).encode(
        x=alt.X("first_seen:T", scale=x_scale, title="time (UTC)", axis=axis), x2="last_seen:T",
        y=y, color=severity)
    starts = lane.mark_point(filled=True, size=80, opacity=1, clip=True).encode(
        x=alt.X("first_seen:T", scale=x_scale), y=y, color=severity)
    ends = lane.mark_point(filled=True, size=80, opacity=1, clip=True).encode(
        x=alt.X("last_seen:T", scale=x_scale), y=y, color=severity)
    return alt.LayerChart(layer=[volume_layer, lines + starts + ends], title=title).resolve_scale(
        y="independent", color="independent").properties(width=width, height=height)
