"""The result of offline CloudTrail validation: per-file rows, coverage, summary, text report."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

__all__ = ["IntegrityReport"]

_LOG_STATUSES = (
    "valid",
    "modified",
    "missing",
    "extra",
    "unverified",
    "not_acquired",
    "copy_changed",
)


@dataclass
class IntegrityReport:
    """What offline CloudTrail validation found: per-file rows, coverage periods, notes."""

    #: One row per digest and per log file; the `trail_integrity` table.
    files: pl.DataFrame
    #: Covered runs and gaps of each digest chain; the `trail_coverage` table.
    coverage: pl.DataFrame
    #: Things to know that are not about one file (keys that could not be read, manifest problems).
    notes: list[str] = field(default_factory=list)

    @property
    def digests_checked(self) -> int:
        """Digest files held in the case (whatever their status)."""
        return self.files.filter(
            (pl.col("kind") == "digest") & pl.col("evidence_id").is_not_null()
        ).height

    @property
    def ok(self) -> bool:
        """True when digests were checked and no file failed."""
        return self.digests_checked > 0 and not bool(self.files["failed"].any())

    @property
    def complete(self) -> bool:
        """True when `ok` and every held log file is proven and no hour of the chains is uncovered."""
        return (
            self.ok
            and self.files.filter(pl.col("status") == "unverified").height == 0
            and self.coverage.filter(pl.col("status") != "covered").height == 0
        )

    def problems(self) -> pl.DataFrame:
        """The rows that failed, then those that could not be verified."""
        return self.files.filter(pl.col("failed") | (pl.col("status") == "unverified")).sort(
            "failed",
            "account",
            "region",
            "kind",
            "delivered_at",
            descending=[True, False, False, False, False],
            nulls_last=True,
        )

    def summary(self) -> pl.DataFrame:
        """Counts per account and region: digests, log files by status, uncovered hours, restarts."""
        f = self.files
        digest = pl.col("kind") == "digest"
        log = pl.col("kind") == "log"
        counts = f.group_by("account", "region").agg(
            (digest & pl.col("evidence_id").is_not_null()).sum().alias("digests"),
            (digest & (pl.col("status") == "valid")).sum().alias("digests_valid"),
            (digest & pl.col("failed") & pl.col("evidence_id").is_not_null())
            .sum()
            .alias("digests_failed"),
            (digest & (pl.col("status") == "chain_broken")).sum().alias("links_broken"),
            (digest & (pl.col("status") == "missing")).sum().alias("digests_missing"),
            *[(log & (pl.col("status") == s)).sum().alias(f"logs_{s}") for s in _LOG_STATUSES],
        )
        cov = self.coverage.group_by("account", "region").agg(
            pl.col("period_start").min().alias("covered_from"),
            pl.col("period_end").max().alias("covered_to"),
            pl.col("hours")
            .filter(pl.col("status") != "covered")
            .sum()
            .alias("hours_without_digest"),
            (pl.col("status") == "validation_off").sum().alias("restarts"),
        )
        out = counts.join(cov, on=["account", "region"], how="left", nulls_equal=True)
        return out.with_columns(
            pl.col("hours_without_digest").fill_null(0.0), pl.col("restarts").fill_null(0)
        ).sort("account", "region", nulls_last=True)

    def render(self, *, limit: int = 40) -> str:
        """A text report: per account/region table, coverage gaps, problems, verdict."""
        lines: list[str] = []
        summary = self.summary()
        for r in summary.iter_rows(named=True):
            held = sum(
                r[f"logs_{s}"] for s in _LOG_STATUSES if s not in ("missing", "not_acquired")
            )
            span = (
                f"digests span {r['covered_from']:%Y-%m-%dT%H:%M:%SZ} .. "
                f"{r['covered_to']:%Y-%m-%dT%H:%M:%SZ}"
                if r["covered_from"] is not None
                else "no digest"
            )
            lines += [
                f"{r['account'] or '?'} {r['region'] or '?'}  ({span})",
                (
                    f"  digests  {r['digests']:>7,} held: {r['digests_valid']:,} valid, "
                    f"{r['digests_failed']:,} failed ({r['links_broken']:,} broken links); "
                    f"{r['digests_missing']:,} missing"
                ),
                (
                    f"  logs     {held:>7,} held: {r['logs_valid']:,} valid, {r['logs_modified']:,} modified, "
                    f"{r['logs_extra']:,} extra, {r['logs_unverified']:,} unverified; "
                    f"{r['logs_missing']:,} missing, {r['logs_not_acquired']:,} not acquired"
                ),
                (
                    f"  coverage {r['hours_without_digest']:>7.1f} hours without a digest, "
                    f"{r['restarts']:,} chain restarts"
                ),
            ]
        gaps = self.coverage.filter(pl.col("status") != "covered")
        if gaps.height:
            lines.append("")
            lines.append("periods without a digest:")
            for r in gaps.iter_rows(named=True):
                lines.append(
                    f"  {r['account']} {r['region']} {r['trail']}: {r['period_start']:%Y-%m-%dT%H:%M:%SZ}"
                    f" .. {r['period_end']:%Y-%m-%dT%H:%M:%SZ} ({r['hours']:.1f} h) {r['status']}: "
                    f"{r['detail']}"
                )
        problems = self.problems()
        if problems.height:
            lines.append("")
            lines.append("problems:")
            for r in problems.head(limit).iter_rows(named=True):
                where = f"s3://{r['bucket']}/{r['key']}" if r["bucket"] else r["key"]
                lines.append(f"  {r['status'].upper():14} {r['kind']:6} {where}: {r['detail']}")
            if problems.height > limit:
                lines.append(f"  ... and {problems.height - limit:,} more (table trail_integrity)")
        for note in self.notes:
            lines.append(f"note: {note}")
        lines.append("")
        failed = int(self.files["failed"].sum())
        if self.digests_checked == 0:
            lines.append(
                "FAILED: no CloudTrail digest files in the case, nothing to validate against "
                "(digests are under AWSLogs/.../CloudTrail-Digest/)"
            )
        elif not self.ok:
            lines.append(f"FAILED: {failed:,} files failed validation")
        elif not self.complete:
            lines.append(
                "OK: no file failed, but some log files or hours are not covered by a digest"
            )
        else:
            lines.append("OK: every log file held is proven by the digest chain")
        outside = self.files.filter(pl.col("status") == "not_acquired").height
        if outside and self.digests_checked:
            lines.append(
                f"{outside:,} files the digests name are outside what the case holds "
                "(status not_acquired): acquire a wider window to check them too"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
