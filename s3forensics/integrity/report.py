"""The result of offline CloudTrail validation: per-file rows, coverage, the verdict, text report.

Three verdicts, kept apart because they call for different actions:

* **VALID**: every CloudTrail log file held is proven by an authenticated digest, and no hour of
  the digest chains is uncovered;
* **UNVERIFIABLE**: nothing is wrong with the evidence, but some of it could not be proven: a
  public key or a digest signature is not in the case (the verdict says what to supply), or log
  files were delivered while no digest was written;
* **FAILED**: something is wrong with the evidence: a log file altered, deleted or inserted, a
  digest whose signature or chain link does not verify, a copy that changed inside the case.

`IntegrityReport.verdict` is the one place the words are chosen; the command line, the notebooks
and the HTML report all show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

import polars as pl

from .tables import FAILING, STATUS_DOCS, UNVERIFIABLE

__all__ = ["IntegrityReport", "Verdict", "VerdictWord"]

VerdictWord = Literal["VALID", "UNVERIFIABLE", "FAILED"]

_LOG_STATUSES = (
    "valid",
    "modified",
    "missing",
    "extra",
    "unverified",
    "not_acquired",
    "copy_changed",
)
_ISO = "%Y-%m-%dT%H:%M:%SZ"
# Words for counts of problems in a verdict sentence: (status, kind) -> noun phrase.
_PHRASES = {
    "modified": "modified",
    "missing": "missing",
    "extra": "inserted (named by no digest)",
    "copy_changed": "changed inside the case",
    "malformed": "unreadable",
    "moved": "moved from where CloudTrail wrote it",
    "bad_signature": "with a signature that does not verify",
    "chain_broken": "with a broken chain link",
}


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _name(key: str | None) -> str:
    return PurePosixPath(key).name if key else "?"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a validation in one word, why, and what would settle what is still open."""

    #: VALID, UNVERIFIABLE or FAILED.
    word: VerdictWord
    #: One sentence: what was proven, or what is wrong or missing.
    reason: str
    #: What to supply or do next, one instruction each.
    advice: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """True when something is wrong with the evidence (the verdict is FAILED)."""
        return self.word == "FAILED"

    def text(self) -> str:
        """The verdict as the command line prints it: `WORD: reason`, then the advice."""
        return "\n".join([f"{self.word}: {self.reason}", *(f"  - {a}" for a in self.advice)])

    def __str__(self) -> str:
        return self.text()


def _no_digests(log_files: int) -> Verdict:
    """The verdict on log files held without a digest to prove them."""
    return Verdict(
        "UNVERIFIABLE",
        f"the case holds no CloudTrail digest files, so none of its "
        f"{_plural(log_files, 'log file')} can be proven unchanged.",
        (
            "acquire the trail's digests too (AWSLogs/.../CloudTrail-Digest/, fetched by "
            "`s3forensics acquire --kind cloudtrail`), or copy them and ingest them with "
            "the logs",
        ),
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
        """True when nothing is wrong with the evidence: the verdict is VALID or UNVERIFIABLE."""
        return not self.verdict.failed

    @property
    def complete(self) -> bool:
        """True when the verdict is VALID: every held log file proven, every hour covered."""
        return self.verdict.word == "VALID"

    def problems(self) -> pl.DataFrame:
        """The rows that failed, then those that could not be verified."""
        return self.files.filter(pl.col("failed") | pl.col("status").is_in(sorted(UNVERIFIABLE))).sort(
            "failed",
            "account",
            "region",
            "kind",
            "delivered_at",
            descending=[True, False, False, False, False],
            nulls_last=True,
        )

    def problem_groups(self, *, examples: int = 3) -> pl.DataFrame:
        """Problems grouped by status and kind: verdict, count, a few example keys, first detail.

        Columns: verdict (FAILED or UNVERIFIABLE), status, kind, files, examples (list of keys),
        detail (of the first example), meaning (what the status means).
        """
        problems = self.problems()
        schema: dict[str, pl.DataType] = {
            "verdict": pl.String(),
            "status": pl.String(),
            "kind": pl.String(),
            "files": pl.Int64(),
            "examples": pl.List(pl.String()),
            "detail": pl.String(),
            "meaning": pl.String(),
        }
        if problems.height == 0:
            return pl.DataFrame(schema=schema)
        grouped = (
            problems.with_row_index("_order")
            .group_by("status", "kind")
            .agg(
                pl.col("failed").first(),
                pl.len().cast(pl.Int64).alias("files"),
                pl.col("key").head(max(0, examples)).alias("examples"),
                pl.col("detail").first(),
                pl.col("_order").min(),
            )
            # Failures first; digests before logs (a digest's problem is why its logs are open).
            .sort(["failed", "kind", "files", "_order"], descending=[True, False, True, False])
        )
        return grouped.select(
            pl.when(pl.col("failed"))
            .then(pl.lit("FAILED"))
            .otherwise(pl.lit("UNVERIFIABLE"))
            .alias("verdict"),
            "status",
            "kind",
            "files",
            "examples",
            "detail",
            pl.col("status")
            .replace_strict(STATUS_DOCS, default="", return_dtype=pl.String)
            .alias("meaning"),
        )

    def gaps(self) -> pl.DataFrame:
        """Periods of the digest chains that no digest covers, oldest first."""
        return self.coverage.filter(pl.col("status") != "covered").sort(
            "account", "region", "period_start", nulls_last=True
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
            (digest & pl.col("status").is_in(["no_public_key", "unsigned"]))
            .sum()
            .alias("digests_unverifiable"),
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

    # -- the verdict ----------------------------------------------------------------------------

    @staticmethod
    def not_validated(*, log_files: int, digest_files: int) -> str:
        """What to say of a case's CloudTrail integrity when no validation result is stored: there
        is nothing to validate, nothing can be proven (no digests), or validation has not run.

        With `verdict`, the one place the integrity wording is chosen (the notebooks, the report
        and the incident summary all show these words).
        """
        if not log_files:
            return "The case holds no CloudTrail log files: there is nothing to validate."
        if not digest_files:
            verdict = _no_digests(log_files)
            return f"Not validated: {verdict.reason} ({'; '.join(verdict.advice)})."
        return "Not validated yet: run notebook 01 or `s3forensics verify-trail`."

    @property
    def verdict(self) -> Verdict:
        """VALID, UNVERIFIABLE or FAILED, why, and what to supply or do next."""
        f = self.files
        failing = f.filter(pl.col("status").is_in(sorted(FAILING)))
        if failing.height:
            parts = [
                f"{_plural(n, 'log file' if kind == 'log' else 'digest')} {_PHRASES.get(s, s)}"
                for s, kind, n in failing.group_by("status", "kind")
                .len()
                .sort(["len", "status", "kind"], descending=[True, False, False])
                .iter_rows()
            ]
            return Verdict(
                "FAILED",
                f"{_plural(failing.height, 'CloudTrail file')} do"
                + ("es" if failing.height == 1 else "")
                + f" not validate ({'; '.join(parts)}): the evidence was altered, deleted or "
                "added to after CloudTrail delivered it, or the case's copy changed.",
                (
                    "every file and what was found is in table trail_integrity "
                    "(`s3forensics verify-trail --verbose` lists them); keep the altered and "
                    "missing files' names in the case record",
                ),
            )
        logs_held = f.filter((pl.col("kind") == "log") & pl.col("evidence_id").is_not_null())
        if self.digests_checked == 0:
            return _no_digests(logs_held.height)
        open_digests = f.filter(
            (pl.col("kind") == "digest") & pl.col("status").is_in(["no_public_key", "unsigned"])
        )
        unverified = logs_held.filter(pl.col("status") == "unverified")
        gaps = self.gaps()
        not_acquired = f.filter(pl.col("status") == "not_acquired").height
        advice: list[str] = []
        if open_digests.height or unverified.height or gaps.height:
            # A key is missing for a fingerprint no digest was proven with (an unsigned newest
            # digest may lack its key too).
            proven = f.filter((pl.col("kind") == "digest") & (pl.col("status") == "valid"))
            keyless = open_digests.filter(
                (pl.col("status") == "no_public_key")
                | ~pl.col("fingerprint").is_in(proven["fingerprint"].drop_nulls().implode())
            )
            advice += self._key_advice(keyless)
            advice += self._signature_advice(open_digests.filter(pl.col("status") == "unsigned"))
            outside = unverified.filter(pl.col("digest_key").is_null()).height
            if outside:
                advice.append(
                    f"{_plural(outside, 'log file')} were delivered where no digest in the case "
                    "vouches for them (before the first or after the last digest held, or while "
                    "validation was off): acquire the digests around them, or treat them as "
                    "unproven"
                )
            if gaps.height:
                hours = float(gaps["hours"].sum())
                kinds = ", ".join(sorted(set(gaps["status"].to_list())))
                advice.append(
                    f"{hours:,.1f} hours in {_plural(gaps.height, 'period')} have no digest "
                    f"({kinds}): log file validation or logging was off, or digests are missing"
                )
            what = []
            if open_digests.height:
                what.append(_plural(open_digests.height, "digest"))
            if unverified.height:
                what.append(_plural(unverified.height, "log file"))
            if gaps.height and not what:
                what.append(f"{float(gaps['hours'].sum()):,.1f} hours of the trail")
            return Verdict(
                "UNVERIFIABLE",
                f"nothing failed, but {' and '.join(what)} could not be proven.",
                tuple(advice),
            )
        if not_acquired:
            advice.append(
                f"{_plural(not_acquired, 'file')} the digests name are outside what the case "
                "holds (status not_acquired): acquire a wider window to check them too"
            )
        return Verdict(
            "VALID",
            f"every one of the {logs_held.height:,} CloudTrail log files held is proven by "
            f"{_plural(self.digests_checked, 'signed digest')}, and the chain has no gap.",
            tuple(advice),
        )

    @staticmethod
    def _key_advice(rows: pl.DataFrame) -> list[str]:
        out = []
        for (fp, region), group in rows.group_by("fingerprint", "region", maintain_order=True):
            start = group["digest_start"].min()
            end = group["digest_end"].max()
            window = (
                f" --start-time {start:{_ISO}} --end-time {end:{_ISO}}"
                if isinstance(start, datetime) and isinstance(end, datetime)
                else ""
            )
            out.append(
                f"{_plural(group.height, 'digest')} signed with public key {fp} ({region}) that "
                f"the case does not hold: save `aws cloudtrail list-public-keys --region {region}"
                f"{window}` (or the key as PEM/DER) with the evidence and ingest it, or pass it "
                "to verify-trail --public-key"
            )
        return out

    @staticmethod
    def _signature_advice(rows: pl.DataFrame) -> list[str]:
        if rows.height == 0:
            return []
        named = ", ".join(f"{r['bucket']}/{r['key']}" for r in rows.head(2).iter_rows(named=True))
        more = f" and {rows.height - 2:,} more" if rows.height > 2 else ""
        return [
            f"{_plural(rows.height, 'digest')} (the newest of a chain) without the signature "
            f"CloudTrail keeps in S3 object metadata: {named}{more}. Get it with `aws s3api "
            'head-object` (Metadata.signature), save {"<bucket>/<key>": {"signature": "<hex>"}} '
            "as JSON with the evidence and ingest it, or pass it to verify-trail "
            "--object-metadata; `s3forensics acquire` records it"
        ]

    # -- text -----------------------------------------------------------------------------------

    def account_counts(self) -> list[dict[str, Any]]:
        """Per account and region, what became of the files: digests and log files held, and the
        words for their counts, which the text report and the HTML report both show.

        Keys: account, region ('?' when unknown), covered_from, covered_to, digests_held,
        digests (text), logs_held, logs (text), hours_without_digest, restarts.
        """
        out = []
        for r in self.summary().iter_rows(named=True):
            out.append({
                "account": r["account"] or "?",
                "region": r["region"] or "?",
                "covered_from": r["covered_from"],
                "covered_to": r["covered_to"],
                "digests_held": r["digests"],
                "digests": (
                    f"{r['digests_valid']:,} valid, {r['digests_failed']:,} failed "
                    f"({r['links_broken']:,} broken links), {r['digests_unverifiable']:,} "
                    f"unverifiable; {r['digests_missing']:,} missing"
                ),
                "logs_held": sum(
                    r[f"logs_{s}"] for s in _LOG_STATUSES if s not in ("missing", "not_acquired")
                ),
                "logs": (
                    f"{r['logs_valid']:,} valid, {r['logs_modified']:,} modified, "
                    f"{r['logs_extra']:,} extra, {r['logs_unverified']:,} unverified; "
                    f"{r['logs_missing']:,} missing, {r['logs_not_acquired']:,} not acquired"
                ),
                "hours_without_digest": r["hours_without_digest"],
                "restarts": r["restarts"],
            })
        return out

    def render(self, *, limit: int = 3, verbose: bool = False) -> str:
        """A text report: per account/region counts, problems grouped by kind, gaps, verdict.

        Each kind of problem shows its count and `limit` examples; `verbose` lists every file.
        """
        lines: list[str] = []
        for r in self.account_counts():
            span = (
                f"digests span {r['covered_from']:{_ISO}} .. {r['covered_to']:{_ISO}}"
                if r["covered_from"] is not None
                else "no digest"
            )
            lines += [
                f"{r['account']} {r['region']}  ({span})",
                f"  digests  {r['digests_held']:>7,} held: {r['digests']}",
                f"  logs     {r['logs_held']:>7,} held: {r['logs']}",
                (
                    f"  coverage {r['hours_without_digest']:>7.1f} hours without a digest, "
                    f"{r['restarts']:,} chain restarts"
                ),
            ]
        problems = self.problems()
        if problems.height and verbose:
            lines += ["", f"problems ({problems.height:,}):"]
            for r in problems.iter_rows(named=True):
                where = f"s3://{r['bucket']}/{r['key']}" if r["bucket"] else r["key"]
                lines.append(f"  {r['status'].upper():14} {r['kind']:6} {where}: {r['detail']}")
        elif problems.height:
            lines += [
                "",
                f"problems by kind ({problems.height:,} files; every one is in table "
                "trail_integrity, --verbose lists them):",
            ]
            for g in self.problem_groups(examples=limit).iter_rows(named=True):
                noun = "log file" if g["kind"] == "log" else g["kind"]
                lines.append(
                    f"  {g['status'].upper():14} {_plural(g['files'], noun)}, "
                    f"{g['verdict'].lower()}: {g['meaning']}"
                )
                for i, key in enumerate(g["examples"]):
                    lines.append(f"      {_name(key)}" + (f": {g['detail']}" if i == 0 else ""))
        gaps = self.gaps()
        if gaps.height:
            shown = gaps if verbose else gaps.head(max(limit, 0))
            lines += ["", f"periods without a digest ({gaps.height:,}):"]
            for r in shown.iter_rows(named=True):
                lines.append(
                    f"  {r['account']} {r['region']} {r['trail']}: {r['period_start']:{_ISO}}"
                    f" .. {r['period_end']:{_ISO}} ({r['hours']:.1f} h) {r['status']}: "
                    f"{r['detail']}"
                )
            if gaps.height > shown.height:
                lines.append(
                    f"  ... and {gaps.height - shown.height:,} more (table trail_coverage)"
                )
        for note in self.notes:
            lines.append(f"note: {note}")
        lines += ["", self.verdict.text()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
