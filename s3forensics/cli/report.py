"""`s3forensics run`, `lab` and `demo`: the guided notebooks, headless or in JupyterLab."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..errors import InputError
from ..extras import require


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `run`, `lab` and `demo` commands."""
    raw = argparse.RawDescriptionHelpFormatter
    r = sub.add_parser(
        "run", help="execute the guided notebooks headless into <case>/reports/",
        description=("Execute the guided notebooks with papermill against a case, writing executed .ipynb\n"
                     "and standalone .html files into <case>/reports/, plus index.html: a summary of the\n"
                     "incident, its timeline, the findings, the CloudTrail verdict and links to every\n"
                     "notebook. The .html pages are reports: text, tables and charts, without the code\n"
                     "cells unless --with-code (the .ipynb files keep everything). With --pdf, index.html\n"
                     "is also printed to reports/report.pdf. A failing notebook is reported; the others\n"
                     "still run."),
        epilog=("examples:\n  s3forensics run --case cases/acme --pdf\n"
                "  s3forensics run --case cases/acme --notebook 03_investigate_ip -p ip 203.0.113.66"),
        formatter_class=raw)
    r.add_argument("--case", required=True, type=Path, metavar="DIR", help="case folder")
    r.add_argument("--notebook", action="append", default=[], metavar="NAME",
                   help="run only this notebook (name, number or subject; repeatable)")
    r.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="notebook parameter (repeatable); given to each notebook that declares it, "
                        "typed as its parameters cell declares (text stays exactly as given)")
    r.add_argument("--with-code", action="store_true",
                   help="keep the code cells in the .html pages (default: text, tables and charts only)")
    r.add_argument("--pdf", action="store_true",
                   help="also print index.html to <case>/reports/report.pdf with headless Chromium "
                        "(chromium, chromium-browser or google-chrome; a note says so when none is found)")
    r.set_defaults(func=_run)

    lab = sub.add_parser(
        "lab", help="open the guided notebooks in JupyterLab with a case preselected",
        description="Start JupyterLab on the notebooks folder; every notebook opens the given case.",
        epilog="example: s3forensics lab --case cases/acme --port 8899",
        formatter_class=raw)
    lab.add_argument("--case", required=True, type=Path, metavar="DIR", help="case folder")
    lab.add_argument("--port", type=int, default=8888, help="port to listen on (localhost only)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--token", default=None, help="server token (default: JupyterLab generates one)")
    lab.set_defaults(func=_lab)

    d = sub.add_parser(
        "demo", help="the bundled breach scenario end to end: samples -> case -> notebooks -> report",
        description=("Load the bundled sample logs into a case, run every guided notebook on it and print "
                     "where the report is. Safe to repeat: already-loaded evidence is skipped."),
        epilog="example: s3forensics demo --case cases/demo",
        formatter_class=raw)
    d.add_argument("--case", type=Path, default=Path("cases/demo"), metavar="DIR",
                   help="case folder (default: cases/demo)")
    d.add_argument("--no-notebooks", action="store_true", help="only ingest and summarise")
    d.set_defaults(func=_demo)


def _print_runs(report) -> None:  # type: ignore[no-untyped-def]
    for run in report.runs:
        state = "ok" if run.ok else f"FAILED (cell {run.failed_cell}): {run.error}"
        print(f"  {run.name:38} {state}")
    print(f"report: {report.index}")


def _run(args: argparse.Namespace) -> int:
    from ..report import run_notebooks

    require("notebooks", needed_for="s3forensics run")
    if not (args.case / "case.duckdb").exists():
        raise InputError(str(args.case), "not a case folder; create it with `s3forensics ingest` first")
    params = dict(args.param)  # text; typed per notebook from its parameters cell
    report = run_notebooks(args.case, notebooks=args.notebook, parameters=params,
                           with_code=args.with_code, pdf=args.pdf)
    _print_runs(report)
    if report.pdf_note:
        print(report.pdf_note)
    return 0 if report.ok else 1


def _lab(args: argparse.Namespace) -> int:
    from ..notebook import CASE_ENV, notebook_dir

    require("notebooks", needed_for="s3forensics lab")
    env = dict(os.environ, **{CASE_ENV: str(args.case.resolve())})
    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebook_dir()}",
           f"--ServerApp.port={args.port}", "--ServerApp.ip=127.0.0.1",
           # Forensic workstations are often offline: no extension-manager calls to PyPI.
           "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # analysts' VMs and CI often run as root
    if args.no_browser:
        cmd.append("--no-browser")
    if args.token is not None:
        cmd.append(f"--IdentityProvider.token={args.token}")
    if os.name == "posix":
        # Become JupyterLab, so that stopping this process (a signal from a service manager or a
        # test) stops the server too instead of leaving it running orphaned.
        sys.stdout.flush()
        os.execve(sys.executable, cmd, env)
    return subprocess.call(cmd, env=env)


def _demo(args: argparse.Namespace) -> int:
    from ..case import Case
    from ..report import list_notebooks, run_notebooks
    from ..sample_data import bundled_samples

    if not args.no_notebooks:
        require("notebooks", needed_for="s3forensics demo (or add --no-notebooks)")
    samples = bundled_samples()
    if samples is None:
        print("generating the sample breach (installed package: no data/samples folder)...")
        samples = bundled_samples(generate=True)
    assert samples is not None
    with Case.open(args.case) as case:
        summary = case.ingest([samples])
        print(f"samples: {samples}")
        print(summary)
        for table, n in case.tables().items():
            print(f"  {table:18} {n:>9,} rows")
    if args.no_notebooks or not list_notebooks():
        print(f"case: {args.case.resolve()}")
        return 0
    report = run_notebooks(args.case)
    _print_runs(report)
    return 0 if report.ok else 1
