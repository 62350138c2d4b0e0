"""Coverage: the periods of each digest chain, covered runs of linked digests and the gaps
between them (missing or unreadable digests, validation off)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from ..layouts import CLOCK_MARGIN
from .chain import DigestChain, DigestNode

__all__ = ["EDGE", "coverage_rows"]

# Log files this close to the ends of a run of digests may belong to the digest just outside it,
# so they are "unverified" rather than "extra" (clock skew and name truncation).
EDGE = CLOCK_MARGIN


def _hours(start: datetime, end: datetime) -> float:
    # Half away from zero on the decimal value, as SQL's round_places() gives hours elsewhere
    # (Python's round() of the float gives 58.06 for 58.065 h).
    hours = Decimal(str((end - start).total_seconds() / 3600))
    return float(hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def coverage_rows(chain: DigestChain) -> list[dict[str, Any]]:
    """`trail_coverage` rows: covered runs of linked digests and the gaps between them."""
    groups: dict[tuple[str | None, str | None, str | None], list[DigestNode]] = {}
    for n in chain.nodes:
        if n.digest is not None and "moved" not in n.issues:
            groups.setdefault(n.group(), []).append(n)
    rows: list[dict[str, Any]] = []
    for (account, region, trail), nodes in sorted(
        groups.items(), key=lambda kv: tuple(map(str, kv[0]))
    ):
        nodes.sort(key=lambda n: (n.digest.start, n.digest.end))  # type: ignore[union-attr]
        base = {"account": account, "region": region, "trail": trail}
        run_start, count = nodes[0].digest.start, 1  # type: ignore[union-attr]
        for a, b in pairwise(nodes):
            da, db = a.digest, b.digest
            assert da is not None and db is not None
            gap: tuple[str, str] | None = None
            if db.previous_key is None:
                gap = (
                    "validation_off",
                    (
                        f"the chain restarts at {db.key}: log file validation or "
                        "logging was off, no digest vouches for files delivered then"
                    ),
                )
            elif not b.preds:
                gap = (
                    "digest_missing",
                    f"{db.key} links to {db.previous_key}, which is not in the case",
                )
            elif any(p.digest is None for p in b.preds):
                gap = (
                    "digest_unreadable",
                    f"{db.key} links to {db.previous_key}, which is unreadable",
                )
            elif db.start - da.end > EDGE:
                gap = ("no_digest", f"no digest between {da.key} and {db.key}")
            if gap is None:
                count += 1
                continue
            rows.append(
                {
                    **base,
                    "period_start": run_start,
                    "period_end": da.end,
                    "status": "covered",
                    "digests": count,
                    "hours": _hours(run_start, da.end),
                    "detail": "linked digests",
                }
            )
            rows.append(
                {
                    **base,
                    "period_start": da.end,
                    "period_end": max(da.end, db.start),
                    "status": gap[0],
                    "digests": 0,
                    "hours": _hours(da.end, max(da.end, db.start)),
                    "detail": gap[1],
                }
            )
            run_start, count = db.start, 1
        end = nodes[-1].digest.end  # type: ignore[union-attr]
        rows.append(
            {
                **base,
                "period_start": run_start,
                "period_end": end,
                "status": "covered",
                "digests": count,
                "hours": _hours(run_start, end),
                "detail": "linked digests",
            }
        )
    return rows


# -- log files ---------------------------------------------------------------------------------
