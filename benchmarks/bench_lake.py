"""Lake benchmark: Spark build at 1 and 2 cores, local build vs `ingest`, same answers at scale.

Generates (once, cached under benchmarks/out/, by corpus.py as for bench_ingest.py) >= 1,000,000
access log lines in ~10,000 objects, plus CloudTrail records (`--records`, default 100,000) and
the bundled samples (the planted breach, so that detections fire at scale too), and measures,
each workload in its own process, on the same input:

  spark1   `lake build --engine spark` with master local[1], the process tree pinned to 1 CPU
  spark2   the same with local[2] on 2 CPUs; ratio spark1 / spark2 (target >= 1.7x), each the
           mean of --repeat builds run alternately (1, 2, 2, 1, ...)
  local    `lake build --engine local` (polars + pyarrow, this process)
  ingest   `s3forensics ingest` into a case (DuckDB on disk, evidence copies); ratio ingest / local

Spark's session start (JVM) is outside the clock; its Python workers start inside it, as they
would on a cluster. Peak MiB is the measuring Python process only (not Spark's JVM or workers).

Then `compare` (not timed as a workload): every catalogue query on Spark (local[2]) over the lake
spark2 built vs DuckDB over the case ingest built, rows compared order-insensitive with types
normalised (the comparison of tests/test_lake_spark.py), and the findings JSON from both engines
compared detection for detection.

Usage: python benchmarks/bench_lake.py [--lines N] [--records N] [--repeat N] [--skip-compare]
Prints a table, then README-ready markdown rows.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path[:0] = [str(HERE), str(ROOT)]  # the corpus generator; tests' comparison helpers

import corpus  # noqa: E402


def _spark(master: str) -> Any:
    # Spark's Python workers import s3forensics from this checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from s3forensics.lake.spark import get_spark

    spark = get_spark(master=master)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _inputs(work: Path) -> list[Path]:
    return [Path(p) for p in json.loads((work / "inputs.json").read_text())]


def _lines(result: Any) -> int:
    # Rows and rejects as a case counts them: a CloudTrail record repeated across objects once.
    return sum(result.rows.values()) + sum(result.rejects.values()) - result.duplicates


def work_spark(work: Path, cores: int) -> dict[str, Any]:
    from s3forensics.lake.build import build_lake

    spark = _spark(f"local[{cores}]")
    # Only the 2-core lake is kept: `compare` queries it.
    lake = work / "spark-lake" if cores == 2 else Path(tempfile.mkdtemp(dir=work)) / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    started = time.perf_counter()
    result = build_lake(lake, paths=_inputs(work), engine="spark", spark=spark)
    seconds = time.perf_counter() - started
    spark.stop()
    if cores != 2:
        shutil.rmtree(lake.parent)
    return {"n": _lines(result), "seconds": seconds}


def work_local(work: Path) -> dict[str, Any]:
    from s3forensics.lake.build import build_lake

    lake = Path(tempfile.mkdtemp(dir=work)) / "lake"
    started = time.perf_counter()
    result = build_lake(lake, paths=_inputs(work))
    seconds = time.perf_counter() - started
    shutil.rmtree(lake.parent)
    return {"n": _lines(result), "seconds": seconds}


def work_ingest(work: Path) -> dict[str, Any]:
    from s3forensics.case import Case

    case_dir = work / "case"  # kept: `compare` queries it
    shutil.rmtree(case_dir, ignore_errors=True)
    started = time.perf_counter()
    with Case.open(case_dir) as case:
        summary = case.ingest(_inputs(work), progress=False)
    seconds = time.perf_counter() - started
    return {"n": sum(summary.rows.values()) + sum(summary.rejects.values()), "seconds": seconds}


#: Views most catalogue queries read: cached in Spark (as computed, so answers do not change).
_CACHED_VIEWS = ("s3_access_logs", "cloudtrail_events", "access_requests", "trail_events",
                 "access_log_identity", "actor_activity", "s3_request_correlation")


def work_compare(work: Path) -> dict[str, Any]:
    """Every catalogue query and the findings: Spark over the lake vs DuckDB over the case."""
    from s3forensics import store
    from s3forensics.findings import run_findings
    from s3forensics.lake.spark import SparkLake
    from s3forensics.queries.registry import default_registry
    from tests.test_lake_spark import _rows

    # The comparison is not timed against anything: give Spark room to keep the views it
    # evaluates again and again (every detection reads actor_activity) in memory.
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-memory 4g pyspark-shell")
    spark = _spark("local[2]")
    lake = SparkLake(spark, str(work / "spark-lake"))
    for view in _CACHED_VIEWS:
        spark.catalog.cacheTable(view)
    con = store.connect(work / "case" / "case.duckdb", read_only=True)
    cache: dict[tuple[str, str, str], Any] = {}

    def cached(engine: str, run: Any) -> Any:
        # findings runs the detections with the parameters the catalogue pass used: reuse rows.
        def runner(query: Any, values: Any) -> Any:
            key = (engine, query.name, json.dumps(dict(values), sort_keys=True, default=str))
            if key not in cache:
                cache[key] = run(query, values)
            return cache[key]
        return runner

    on_spark = cached("spark", lambda q, v: lake.run(q, v))
    on_duckdb = cached("duckdb", lambda q, v: q.run(con, v))
    queries = []
    started = time.perf_counter()
    for q in default_registry().list():
        t0 = time.perf_counter()
        try:
            got, want = on_spark(q, {}), on_duckdb(q, {})
        except Exception as exc:  # a query that fails on one engine is reported, the rest go on
            error = f"error: {type(exc).__name__}: {str(exc)[:160]}"
            queries.append({"name": q.name, "rows": None, "seconds": time.perf_counter() - t0,
                            "status": error})
            continue
        if q.name == "evidence_coverage":  # a lake names objects where a case names its copies
            got, want = got.drop("case_path", strict=False), want.drop("case_path", strict=False)
        same = got.columns == want.columns and _rows(got) == _rows(want)
        queries.append({"name": q.name, "status": "same" if same else "DIFFERENT",
                        "rows": want.height, "seconds": time.perf_counter() - t0})
    found_spark = [f.to_json() for f in run_findings(None, runner=on_spark)]
    found_duckdb = [f.to_json() for f in run_findings(None, runner=on_duckdb)]
    seconds = time.perf_counter() - started
    con.close()
    spark.stop()
    return {"n": len(queries), "seconds": seconds, "queries": queries,
            "findings_equal": found_spark == found_duckdb,
            "detections": [f["detection"] for f in found_duckdb],
            "findings_differ": [a.get("detection") for a, b in zip(found_spark, found_duckdb) if a != b]
            + ([f"{len(found_spark)} vs {len(found_duckdb)} findings"]
               if len(found_spark) != len(found_duckdb) else [])}


WORK = {"spark1": lambda w: work_spark(w, 1), "spark2": lambda w: work_spark(w, 2),
        "local": work_local, "ingest": work_ingest, "compare": work_compare}


def child(name: str, work: str) -> None:
    result = WORK[name](Path(work))
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


#: CPUs a workload's process tree is pinned to (Spark's JVM and Python workers inherit it).
CPUS = {"spark1": 1, "spark2": 2}


def measure(name: str, work: Path) -> dict[str, Any]:
    # As bench_ingest: no earlier writes in flight, the input in the page cache.
    os.sync()
    time.sleep(3)
    for root in _inputs(work):
        for path in corpus.corpus_files(root):
            path.read_bytes()
    # "Spark at N cores" is the whole of Spark on N CPUs: local[1] alone still lets the JVM's
    # own threads (GC, Arrow, Parquet) use the other core, which is not one core's throughput.
    cpus = CPUS.get(name)
    pin = None
    if cpus and hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= cpus:
        chosen = set(sorted(os.sched_getaffinity(0))[:cpus])
        pin = functools.partial(os.sched_setaffinity, 0, chosen)
    out = subprocess.run([sys.executable, __file__, "--child", name, str(work)],
                         capture_output=True, text=True, preexec_fn=pin)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        raise SystemExit(f"workload {name} failed (exit {out.returncode})")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="access log lines (default 1,000,000)")
    ap.add_argument("--records", type=int, default=100_000,
                    help="CloudTrail records added to the input (default 100,000; 0 for none)")
    ap.add_argument("--no-samples", action="store_true",
                    help="leave the bundled samples (the planted breach) out of the input")
    ap.add_argument("--skip-compare", action="store_true", help="measure the builds only")
    ap.add_argument("--repeat", type=int, default=2,
                    help="Spark builds at each core count, in the order 1, 2, 2, 1, 1, 2, ... "
                         "(default 2): a drift in the machine's speed weighs on both alike")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    OUT.mkdir(exist_ok=True)
    print(f"generating (cached in {OUT}) ...", flush=True)
    # The corpora bench_ingest measures: access logs in 10,000 objects, CloudTrail in 4,000 files.
    sal_dir = corpus.sal_dir(args.lines, min(10_000, args.lines))
    ct_dir = corpus.ct_dir(args.records, min(4_000, args.records)) if args.records else None
    work = OUT / f"lake-{args.lines}-{args.records}{'' if args.no_samples else '-samples'}"
    work.mkdir(exist_ok=True)
    inputs = [sal_dir] + ([ct_dir] if args.records else []) + (
        [] if args.no_samples else [ROOT / "data" / "samples"])
    (work / "inputs.json").write_text(json.dumps([str(p) for p in inputs]))
    results: dict[str, dict[str, Any]] = {}
    # The host's speed drifts by tens of percent over minutes here: one 1-core build followed by
    # one 2-core build put the drift into the ratio. Alternated (ABBA), it falls on both sides.
    runs: dict[str, list[dict[str, Any]]] = {"spark1": [], "spark2": []}
    for i in range(max(1, args.repeat)):
        for name in ("spark1", "spark2") if i % 2 == 0 else ("spark2", "spark1"):
            print(f"measuring {name} (run {len(runs[name]) + 1}) ...", flush=True)
            runs[name].append(measure(name, work))
    for name, done in runs.items():
        results[name] = {"n": done[0]["n"], "seconds": sum(r["seconds"] for r in done) / len(done),
                         "peak_mib": max(r["peak_mib"] for r in done),
                         "each": [round(r["seconds"], 1) for r in done]}
    for name in ("local", "ingest"):
        print(f"measuring {name} ...", flush=True)
        results[name] = measure(name, work)
    label = {"spark1": "`lake build --engine spark`, local[1], pinned to 1 CPU",
             "spark2": "`lake build --engine spark`, local[2], pinned to 2 CPUs",
             "local": "`lake build --engine local`", "ingest": "`ingest` (case on disk, copies)"}
    total = (f"{args.lines:,} access log lines"
             + (f" + {args.records:,} CloudTrail records" if args.records else "")
             + ("" if args.no_samples else " + the bundled samples"))
    print(f"\ninput: {total}")
    print(f"{'workload':10} {'records/s':>12} {'seconds':>8} {'peak MiB':>9}")
    for name, r in results.items():
        print(f"{name:10} {r['n'] / r['seconds']:>12,.0f} {r['seconds']:>8.1f} {r['peak_mib']:>9.0f}")
    for name in runs:
        print(f"{name} runs (s): {', '.join(map(str, results[name]['each']))}")
    scaling = results["spark1"]["seconds"] / results["spark2"]["seconds"]
    vs_ingest = results["ingest"]["seconds"] / results["local"]["seconds"]
    print(f"Spark 2 cores vs 1: {scaling:.2f}x (target >= 1.7x: {'MET' if scaling >= 1.7 else 'NOT MET'})")
    print(f"local lake build vs ingest: the build takes {1 / vs_ingest:.2f}x ingest's time")
    counts = {r["n"] for r in results.values()}
    if len(counts) != 1:
        print(f"WARNING: the workloads loaded different row counts: {sorted(counts)}")

    compare = None
    if not args.skip_compare:
        print("comparing every query and the findings (Spark over the lake vs DuckDB over the case) ...",
              flush=True)
        compare = measure("compare", work)
        print(f"\n{'query':44} {'rows':>9} {'seconds':>8}  result")
        for q in compare["queries"]:
            rows = "" if q["rows"] is None else f"{q['rows']:,}"
            print(f"{q['name']:44} {rows:>9} {q['seconds']:>8.1f}  {q['status']}")
        print(f"findings JSON equal: {compare['findings_equal']} "
              f"({len(compare['detections'])} detections fired: {', '.join(compare['detections'])})")
        if compare["findings_differ"]:
            print(f"findings that differ: {compare['findings_differ']}")

    print("\nREADME rows:\n")
    print("| workload | records/s | seconds | peak MiB (Python process) |")
    print("|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {label[name]} | {r['n'] / r['seconds']:,.0f} | {r['seconds']:.1f} | {r['peak_mib']:,.0f} |")
    print(f"\nInput: {total}. Spark at 2 cores is **{scaling:.2f}x** its 1-core speed (target 1.7x: "
          f"{'met' if scaling >= 1.7 else 'not met'}); the local lake build takes "
          f"{1 / vs_ingest:.2f}x the time of `ingest`.")
    if compare is not None:
        statuses = [q["status"] for q in compare["queries"]]
        same = sum(s == "same" for s in statuses)
        bad = [f"{q['name']} ({q['status']})" for q in compare["queries"] if q["status"] != "same"]
        print(f"Same answers on this input: {same} of {len(statuses)} queries give DuckDB's rows on "
              f"Spark; differences: {', '.join(bad) or 'none'}; findings JSON "
              f"{'identical' if compare['findings_equal'] else 'DIFFERENT'} "
              f"({len(compare['detections'])} detections); the comparison took "
              f"{compare['seconds']:.0f} s.")
        return 0 if compare["findings_equal"] and not bad else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
