"""CLI start-up benchmark: what `s3forensics --help` costs beyond importing polars and DuckDB.

Every command needs polars and DuckDB, so their import is the floor; the target is that
`s3forensics --help` and `s3forensics query --help` cost at most that floor plus 0.3 s. Each
contender is a fresh process (`python -c "import polars, duckdb"`, `python -m s3forensics ...`),
run alternately in one session so that both see the same machine state; the medians are compared
as a difference and as a ratio. A warm-up round first fills the page cache and the bytecode caches.

Usage: python benchmarks/bench_startup.py [--runs 15] [--budget 0.3]
Exit status 1 when a command exceeds the floor by more than the budget.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CONTENDERS: dict[str, list[str]] = {
    "floor: import polars, duckdb": [sys.executable, "-c", "import polars, duckdb"],
    "s3forensics --help": [sys.executable, "-m", "s3forensics", "--help"],
    "s3forensics query --help": [sys.executable, "-m", "s3forensics", "query", "--help"],
    "s3forensics acquire --help": [sys.executable, "-m", "s3forensics", "acquire", "--help"],
}


def _once(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, float]:
    """Median wall seconds of each contender over `runs` alternating rounds."""
    for cmd in CONTENDERS.values():
        _once(cmd)  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(runs):
        for name, cmd in CONTENDERS.items():
            samples[name].append(_once(cmd))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds per contender (default 15)")
    parser.add_argument("--budget", type=float, default=0.3,
                        help="allowed seconds above the floor (default 0.3)")
    args = parser.parse_args()
    medians = measure(args.runs)
    floor = medians["floor: import polars, duckdb"]
    print(f"{'command':32} {'median s':>9} {'above floor s':>14} {'x floor':>8}")
    worst = 0.0
    for name, seconds in medians.items():
        extra = seconds - floor
        if name.startswith("s3forensics"):
            worst = max(worst, extra)
        print(f"{name:32} {seconds:9.3f} {extra:14.3f} {seconds / floor:8.2f}")
    verdict = "met" if worst <= args.budget else "NOT met"
    print(f"worst command costs {worst:.3f} s above the floor (budget {args.budget} s): {verdict}")
    return 0 if worst <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
