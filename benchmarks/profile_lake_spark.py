"""Where a Spark lake build spends its time: per job and stage, and the time that does not scale.

Runs one `lake build --engine spark` (master local[N], the process tree pinned to N CPUs as
bench_lake.py pins it; the session starts outside the clock) over bench_lake.py's input, with
Spark's event log on, and prints from the event log, in order:

  driver gap   time between jobs when no job runs (planning, commits, collects on the driver)
  job          wall time, and its serial part: time in which fewer than N tasks run
  stage        number of tasks and each task's wall time (in task order), GC time

and for the whole build the serial time (fewer than N tasks running) and the idle time (no task
at all). Read as Amdahl's law, the serial time is what a second core cannot shrink.

Usage: python benchmarks/profile_lake_spark.py --cores 2 [--lines N] [--records N]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import bench_ingest  # noqa: E402


def child(cores: int, inputs: list[str], events: str) -> None:
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from s3forensics.lake.build import build_lake
    from s3forensics.lake.spark import get_spark

    # get_spark's settings plus the event log (get_spark returns this session as the active one).
    (SparkSession.builder.master(f"local[{cores}]").config("spark.eventLog.enabled", "true")
     .config("spark.eventLog.dir", events).config("spark.eventLog.compress", "false")
     .config("spark.driver.memory", "4g").config("spark.ui.enabled", "false")
     .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "8")
     .config("spark.executorEnv.POLARS_MAX_THREADS", "1").getOrCreate())
    spark = get_spark()
    spark.sparkContext.setLogLevel("ERROR")
    lake = Path(tempfile.mkdtemp()) / "lake"
    started = time.time()
    build_lake(lake, paths=inputs, engine="spark", spark=spark)
    ended = time.time()
    spark.stop()
    shutil.rmtree(lake.parent)
    print("RESULT " + json.dumps({"start": started * 1000, "end": ended * 1000}))


def _events(folder: str) -> list[dict[str, Any]]:
    files = sorted(glob.glob(os.path.join(folder, "*", "events_*")) or glob.glob(os.path.join(folder, "*")))
    return [json.loads(line) for f in files if os.path.isfile(f)
            for line in Path(f).read_text().splitlines() if line.strip()]


def report(cores: int, events: list[dict[str, Any]], start: float, end: float) -> None:
    jobs: dict[int, dict[str, Any]] = {}
    stages: dict[int, dict[str, Any]] = {}
    tasks: list[tuple[int, int, float, float, float]] = []  # stage, index, launch, finish, gc
    for e in events:
        kind = e["Event"]
        if kind == "SparkListenerJobStart":
            jobs[e["Job ID"]] = {"start": e["Submission Time"], "stages": e["Stage IDs"]}
        elif kind == "SparkListenerJobEnd":
            jobs[e["Job ID"]]["end"] = e["Completion Time"]
        elif kind == "SparkListenerStageCompleted":
            s = e["Stage Info"]
            stages[s["Stage ID"]] = {"tasks": s["Number of Tasks"], "name": s["Stage Name"],
                                     "start": s.get("Submission Time"), "end": s.get("Completion Time")}
        elif kind == "SparkListenerTaskEnd":
            t = e["Task Info"]
            tasks.append((e["Stage ID"], t["Index"], t["Launch Time"], t["Finish Time"],
                          e.get("Task Metrics", {}).get("JVM GC Time", 0)))

    def serial(a: float, b: float) -> tuple[float, float]:
        """Seconds in [a, b) with fewer than `cores` tasks running, and with none."""
        edges = sorted(p for _, _, s, f, _ in tasks if min(f, b) > max(s, a)
                       for p in ((max(s, a), 1), (min(f, b), -1)))
        running, last, few, none = 0, a, 0.0, 0.0
        for at, step in edges:
            few += (at - last) if running < cores else 0
            none += (at - last) if running == 0 else 0
            running, last = running + step, at
        return (few + b - last) / 1000, (none + (b - last if running == 0 else 0)) / 1000

    few, none = serial(start, end)
    print(f"build {(end - start) / 1000:.1f} s at {cores} core(s): serial (fewer than {cores} "
          f"tasks running) {few:.1f} s, of which no task at all {none:.1f} s")
    previous = start
    for number in sorted(jobs):
        job = jobs[number]
        if job["start"] < start or "end" not in job:
            continue
        f, n = serial(job["start"], job["end"])
        print(f"  driver gap {(job['start'] - previous) / 1000:5.2f} s | job {number:3} "
              f"{(job['end'] - job['start']) / 1000:6.2f} s, serial {f:5.2f} s, idle {n:5.2f} s")
        for sid in job["stages"]:
            st = stages.get(sid)
            if not st or not st["start"]:
                continue
            mine = sorted((t for t in tasks if t[0] == sid), key=lambda t: t[1])
            durations = [round((t[3] - t[2]) / 1000, 1) for t in mine]
            print(f"      stage {sid:3} {st['name'][:38]:38} {st['tasks']:3} tasks, "
                  f"{(st['end'] - st['start']) / 1000:6.2f} s, GC {sum(t[4] for t in mine) / 1000:.1f} s, "
                  f"tasks {durations[:20]}")
        previous = job["end"]
    print(f"  driver tail {(end - previous) / 1000:.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2, help="local[N] and CPUs pinned (default 2)")
    ap.add_argument("--lines", type=int, default=1_000_000, help="access log lines (default 1,000,000)")
    ap.add_argument("--records", type=int, default=100_000, help="CloudTrail records (default 100,000)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), json.loads(args.child[1]), args.child[2])
        return 0
    # bench_lake.py's input: the same corpora (cached), the bundled samples.
    inputs = [str(bench_ingest._sal_dir(args.lines, min(10_000, args.lines)))]
    if args.records:
        inputs.append(str(bench_ingest._ct_dir(args.records, min(4_000, args.records))))
    inputs.append(str(ROOT / "data" / "samples"))
    events = tempfile.mkdtemp(prefix="spark-events-")
    pin = None
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= args.cores:
        chosen = set(sorted(os.sched_getaffinity(0))[:args.cores])
        pin = lambda: os.sched_setaffinity(0, chosen)  # noqa: E731
    out = subprocess.run([sys.executable, __file__, "--child", str(args.cores), json.dumps(inputs),
                          events], capture_output=True, text=True, preexec_fn=pin)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        raise SystemExit(f"the build failed (exit {out.returncode})")
    clock = json.loads(lines[-1][len("RESULT "):])
    report(args.cores, _events(events), clock["start"], clock["end"])
    shutil.rmtree(events, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
