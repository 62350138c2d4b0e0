"""Log file matching: hash the log files held, match them to the digest entries that name them
(vectorised in polars), and judge the entries no file answers and the files no entry names."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from ..layouts import FILE_NAME, TRAIL_LOG_DELIVERY, TRAIL_LOG_DELIVERY_FORMAT, TRAIL_TAIL
from .chain import DIGEST_PRECEDENCE, DigestChain
from .coverage import EDGE
from .digest import parse_trail_name, trail_tail
from .inputs import read_copy

__all__ = [
    "LOG_SCHEMA",
    "absent_rows",
    "digest_entries",
    "hash_log",
    "matched_rows",
    "unnamed_rows",
]

# A log key's time is truncated to the minute; its delivery is within the minute after it.
_KEY_RESOLUTION = timedelta(minutes=1)


def hash_log(root: Path, row: dict[str, Any]) -> dict[str, Any]:
    """The SHA-256 of a log file held and what its name says, as one row for matching."""
    content, copy_note, read_note = read_copy(root, row["case_path"], row["sha256"])
    name = parse_trail_name(row["key"] or row["case_path"])
    return {
        "evidence_id": row["evidence_id"],
        "case_path": row["case_path"],
        "ev_bucket": row["bucket"],
        "ev_key": row["key"],
        "name": PurePosixPath(row["key"] or row["case_path"]).name,
        "actual_sha256": hashlib.sha256(content).hexdigest() if content is not None else None,
        "copy_note": copy_note,
        "read_note": read_note,
        "log_account": name.account if name and name.kind == "log" else None,
        "log_region": name.region if name and name.kind == "log" else None,
        "log_delivered": name.delivered_at if name and name.kind == "log" else None,
    }


LOG_SCHEMA: dict[str, pl.DataType] = {
    "evidence_id": pl.String(),
    "case_path": pl.String(),
    "ev_bucket": pl.String(),
    "ev_key": pl.String(),
    "name": pl.String(),
    "actual_sha256": pl.String(),
    "copy_note": pl.String(),
    "read_note": pl.String(),
    "log_account": pl.String(),
    "log_region": pl.String(),
    "log_delivered": pl.Datetime("us", "UTC"),
}
_ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "d": pl.Int64(),
    "s3Bucket": pl.String(),
    "s3Object": pl.String(),
    "hashValue": pl.String(),
    "hashAlgorithm": pl.String(),
    "oldestEventTime": pl.String(),
    "newestEventTime": pl.String(),
}


def _entry_as_row() -> list[pl.Expr]:
    """A digest entry's columns under their `trail_integrity` names."""
    return [
        pl.col("s3Bucket").alias("bucket"),
        pl.col("s3Object").alias("key"),
        pl.col("hashValue").alias("expected_sha256"),
        pl.col("oldestEventTime").alias("oldest_event_time"),
        pl.col("newestEventTime").alias("newest_event_time"),
        pl.col("named_delivered").alias("delivered_at"),
    ]


def digest_entries(chain: DigestChain) -> pl.DataFrame:
    """One row per logFiles entry of every readable digest, with the digest's verdict."""
    flat: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    for i, n in enumerate(chain.nodes):
        if n.digest is None or "malformed" in n.issues:
            continue
        account, region, trail = n.group()
        status = next((s for s in DIGEST_PRECEDENCE if s in n.issues), "valid")
        digests.append(
            {
                "d": i,
                "account": account,
                "region": region,
                "trail": trail,
                "digest_key": n.digest.key,
                "digest_auth": n.auth,
                "digest_status": status,
                "digest_start": n.digest.start,
                "digest_end": n.digest.end,
            }
        )
        flat.extend(
            {**{k: f.get(k) for k in _ENTRY_SCHEMA if k != "d"}, "d": i} for f in n.digest.log_files
        )
    entries = pl.DataFrame(flat, schema=_ENTRY_SCHEMA, strict=False)
    info = pl.DataFrame(
        digests,
        schema={
            "d": pl.Int64,
            "account": pl.String,
            "region": pl.String,
            "trail": pl.String,
            "digest_key": pl.String,
            "digest_auth": pl.Boolean,
            "digest_status": pl.String,
            "digest_start": pl.Datetime("us", "UTC"),
            "digest_end": pl.Datetime("us", "UTC"),
        },
    )
    ts = pl.Datetime("us", "UTC")
    return entries.join(info, on="d", how="inner").with_columns(
        pl.col("hashValue").str.to_lowercase(),
        pl.col("oldestEventTime").str.to_datetime(time_zone="UTC", strict=False).cast(ts),
        pl.col("newestEventTime").str.to_datetime(time_zone="UTC", strict=False).cast(ts),
        pl.col("s3Object").str.extract(FILE_NAME).alias("name"),
        pl.col("s3Object")
        .str.extract(TRAIL_LOG_DELIVERY)
        .str.to_datetime(TRAIL_LOG_DELIVERY_FORMAT, time_zone="UTC", strict=False)
        .cast(ts)
        .alias("named_delivered"),
    )


def matched_rows(entries: pl.DataFrame, logs: pl.DataFrame) -> pl.DataFrame:
    """Entries joined to the held files of the same name, each with its status and detail."""
    m = entries.join(logs, on="name", how="inner")
    tail = pl.col("s3Object").str.extract(TRAIL_TAIL)
    how = (
        pl.when(
            (pl.col("ev_bucket") == pl.col("s3Bucket")) & (pl.col("ev_key") == pl.col("s3Object"))
        )
        .then(pl.lit(None, pl.String))
        .when(pl.col("ev_key") == pl.col("s3Object"))
        .then(pl.format("; held from bucket {} (the digest names {})", "ev_bucket", "s3Bucket"))
        .when(pl.col("case_path").str.ends_with(pl.lit("/") + pl.col("s3Object")))
        .then(pl.lit(None, pl.String))
        .when(pl.col("case_path").str.extract(TRAIL_TAIL) == tail)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.format("; matched by file name only (held as {})", "case_path"))
    )
    unauth = pl.format(" (the digest naming it is not authenticated: {})", "digest_status")
    same = pl.col("actual_sha256") == pl.col("hashValue")
    status = (
        pl.when(pl.col("copy_note").is_not_null())
        .then(pl.lit("copy_changed"))
        .when(pl.col("actual_sha256").is_null())
        .then(pl.lit("modified"))
        .when(same & pl.col("digest_auth"))
        .then(pl.lit("valid"))
        .when(same)
        .then(pl.lit("unverified"))
        .otherwise(pl.lit("modified"))
    )
    detail = (
        pl.when(pl.col("copy_note").is_not_null())
        .then(pl.col("copy_note"))
        .when(pl.col("actual_sha256").is_null())
        .then(
            pl.format(
                "its content cannot be read ({}); the digest records SHA-256 {}",
                "read_note",
                "hashValue",
            )
        )
        .when(same & pl.col("digest_auth"))
        .then(pl.lit("SHA-256 matches the digest"))
        .when(same)
        .then(pl.concat_str(pl.lit("SHA-256 matches the digest"), unauth))
        .otherwise(
            pl.concat_str(
                pl.format(
                    "its uncompressed SHA-256 {} differs from the {} the digest records: altered "
                    "after delivery",
                    "actual_sha256",
                    "hashValue",
                ),
                pl.when(pl.col("digest_auth")).then(pl.lit("")).otherwise(unauth),
            )
        )
    )
    return m.with_columns(
        status.alias("status"),
        pl.concat_str(detail, how.fill_null("")).alias("detail"),
        *_entry_as_row(),
    )


def absent_rows(absent: pl.DataFrame, logs: pl.DataFrame, ranges: pl.DataFrame) -> pl.DataFrame:
    """Entries with no held file: missing when the case should hold them, else not acquired."""
    absent = absent.with_row_index("_i")
    # Acquired cases: was the key inside a listing the acquisition made?
    acq = (
        absent.select("_i", "s3Bucket", "s3Object")
        .join(ranges, left_on="s3Bucket", right_on="acq_bucket", how="inner")
        .filter(pl.col("s3Object").str.starts_with(pl.col("prefix")))
        .group_by("_i")
        .agg(
            (
                (pl.col("s3Object") > pl.col("start_after"))
                & (pl.col("s3Object") < pl.col("stop_at"))
            )
            .any()
            .alias("_listed")
        )
    )
    # Otherwise: inside the delivery-time span of the log files held for that account and region.
    span = (
        logs.filter(pl.col("log_delivered").is_not_null())
        .group_by("log_account", "log_region")
        .agg(
            pl.col("log_delivered").min().alias("_first"),
            pl.col("log_delivered").max().alias("_last"),
        )
    )
    out = absent.join(acq, on="_i", how="left").join(
        span, left_on=["account", "region"], right_on=["log_account", "log_region"], how="left"
    )
    in_span = (
        pl.col("named_delivered").is_between(pl.col("_first"), pl.col("_last")).fill_null(False)
    )
    missing = pl.when(pl.col("_listed").is_not_null()).then(pl.col("_listed")).otherwise(in_span)
    why_missing = (
        pl.when(pl.col("_listed").is_not_null())
        .then(
            pl.lit(
                "the acquisition listed where it belongs and did not find it: deleted from the bucket"
            )
        )
        .otherwise(
            pl.format(
                "not held although the case holds this account and region's log files "
                "from {} to {}: deleted, or not collected",
                "_first",
                "_last",
            )
        )
    )
    why_not = (
        pl.when(pl.col("_listed").is_not_null())
        .then(
            pl.lit("outside the window the acquisition listed; acquire a wider window to check it")
        )
        .otherwise(
            pl.lit(
                "outside the delivery times of the log files held for this account and region; "
                "collect them to check"
            )
        )
    )
    return out.with_columns(
        pl.when(missing).then(pl.lit("missing")).otherwise(pl.lit("not_acquired")).alias("status"),
        pl.concat_str(
            pl.format("named by digest {} (SHA-256 {}); ", "digest_key", "hashValue"),
            pl.when(missing).then(why_missing).otherwise(why_not),
        ).alias("detail"),
        *_entry_as_row(),
    ).drop("_i")


def unnamed_rows(logs: pl.DataFrame, coverage: pl.DataFrame) -> list[dict[str, Any]]:
    """Held log files no digest names: extra inside digest coverage, else unverified."""
    periods: dict[tuple[str, str], list[tuple[datetime, datetime, str, str]]] = {}
    for r in coverage.sort("period_start").iter_rows(named=True):
        periods.setdefault((r["account"], r["region"]), []).append(
            (r["period_start"], r["period_end"], r["status"], r["trail"])
        )
    rows = []
    for r in logs.iter_rows(named=True):
        t, group = r["log_delivered"], (r["log_account"], r["log_region"])
        status, detail = "unverified", ""
        if r["copy_note"]:
            status, detail = "copy_changed", r["copy_note"] + "; "
        if t is None:
            detail += "not a CloudTrail log file name: it cannot be matched to a digest"
        elif group not in periods:
            detail += f"no digest for account {group[0]} region {group[1]} in the case"
        else:
            span = periods[group]
            at = f"delivered {t:%Y-%m-%dT%H:%MZ}"
            inside = [
                p
                for p in span
                if p[2] == "covered" and p[0] + EDGE <= t and t + _KEY_RESOLUTION <= p[1] - EDGE
            ]
            near = [p for p in span if p[0] - EDGE <= t < p[1] + EDGE]
            if inside:
                p = inside[0]
                if status != "copy_changed":
                    status = "extra"
                detail += (
                    f"{at}, inside the digests of trail {p[3]} ({p[0]:%Y-%m-%dT%H:%M:%SZ} .. "
                    f"{p[1]:%Y-%m-%dT%H:%M:%SZ}), but named by none: inserted, or renamed"
                )
            elif near and any(p[2] != "covered" for p in near):
                p = next(p for p in near if p[2] != "covered")
                detail += (
                    f"{at}, in a period no digest vouches for ({p[2]}, {p[0]:%Y-%m-%dT%H:%M:%SZ} .. "
                    f"{p[1]:%Y-%m-%dT%H:%M:%SZ})"
                )
            elif near:
                detail += (
                    f"{at}, at the edge of the digests' coverage: its digest may be just "
                    "outside the case"
                )
            else:
                first, last = span[0][0], span[-1][1]
                side = "after the newest" if t >= last else "before the oldest"
                detail += (
                    f"{at}, {side} digest in the case (coverage {first:%Y-%m-%dT%H:%M:%SZ} .. "
                    f"{last:%Y-%m-%dT%H:%M:%SZ})"
                )
        rows.append(
            {
                "account": r["log_account"],
                "region": r["log_region"],
                "trail": None,
                "kind": "log",
                "bucket": r["ev_bucket"],
                "key": r["ev_key"] or trail_tail(r["case_path"]) or r["case_path"],
                "status": status,
                "detail": detail,
                "evidence_id": r["evidence_id"],
                "case_path": r["case_path"],
                "delivered_at": t,
                "actual_sha256": r["actual_sha256"],
            }
        )
    return rows


# -- entry point -------------------------------------------------------------------------------
