"""Run the guided notebooks headless with papermill and build the case's HTML report."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from . import __version__
from .errors import InputError
from .extras import require
from .notebook import CASE_ENV, notebook_dir

__all__ = ["NotebookRun", "RunReport", "find_chromium", "list_notebooks", "print_pdf", "run_notebooks",
           "write_index"]


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    name: str
    ipynb: Path
    html: Path | None
    ok: bool
    error: str | None = None
    failed_cell: int | None = None
    seconds: float = 0.0


@dataclass
class RunReport:
    """All notebook runs of one `s3forensics run`, and the index page."""

    runs: list[NotebookRun] = field(default_factory=list)
    index: Path | None = None
    #: reports/report.pdf when asked for and printed; `pdf_note` says what happened either way.
    pdf: Path | None = None
    pdf_note: str = ""

    @property
    def ok(self) -> bool:
        """True when every notebook ran to the end."""
        return all(r.ok for r in self.runs)


def list_notebooks(folder: Path | None = None) -> list[Path]:
    """The guided notebooks in run order (`NN_verb_subject.ipynb`)."""
    folder = folder or notebook_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def _select(names: Sequence[str], available: list[Path]) -> list[Path]:
    if not names:
        return available
    chosen: list[Path] = []
    for name in names:
        stem = Path(name).stem
        match = [p for p in available if p.stem == stem or p.stem.split("_", 1)[0] == stem
                 or p.stem.split("_", 1)[-1] == stem]
        if not match:
            raise InputError(name, "no such notebook; choose from " + ", ".join(p.stem for p in available))
        chosen.extend(m for m in match if m not in chosen)
    return chosen


_NO_SCRIPT = "data:text/javascript,"
# ipykernel warns on every start that its local TCP sockets are unencrypted; the kernel is our own
# child on 127.0.0.1 for one notebook. Cell errors and output still arrive through the protocol.
_QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


def _export_html(ipynb: Path, *, with_code: bool = False) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    exporter = HTMLExporter(template_name="lab")
    # Report mode: the reader gets the text, tables and charts; the code stays in the .ipynb.
    exporter.exclude_input = not with_code
    exporter.exclude_input_prompt = not with_code
    exporter.exclude_output_prompt = not with_code
    # The report must open on an offline workstation: no script may come from a CDN. Charts are
    # inline SVG and need none of these (RequireJS, MathJax, Mermaid, jQuery).
    for trait in ("require_js_url", "mathjax_url", "mermaid_js_url", "mermaid_layout_elk_js_url",
                  "jquery_url"):
        if exporter.has_trait(trait):
            setattr(exporter, trait, _NO_SCRIPT)
    body, _ = exporter.from_notebook_node(nb)
    out = ipynb.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


_FROM_TEXT: dict[str, Any] = {"int": int, "float": float,
                              "bool": lambda t: {"true": True, "false": False}[t.strip().lower()]}


def coerce_parameter(notebook: str, declared: Mapping[str, Any], value: Any) -> Any:
    """A parameter given as text, typed as the notebook's parameters cell declares it.

    Text stays text unless the notebook declares a number or a boolean: an account id
    `000011112222` or an access key must reach the notebook exactly as typed.
    """
    convert = _FROM_TEXT.get(str(declared.get("inferred_type_name", "")))
    if not isinstance(value, str) or convert is None:
        return value
    try:
        return convert(value)
    except (ValueError, KeyError):
        raise InputError(f"{notebook} parameter {declared['name']}",
                         f"expects {declared['inferred_type_name']}, got {value!r}") from None


def run_notebooks(
    case_dir: str | os.PathLike[str],
    *,
    notebooks: Sequence[str] = (),
    parameters: Mapping[str, Any] | None = None,
    folder: Path | None = None,
    progress: bool = True,
    with_code: bool = False,
    pdf: bool = False,
) -> RunReport:
    """Execute notebooks into <case>/reports/ (.ipynb and .html), then write the index page.

    The HTML pages leave the code cells out unless `with_code`; with `pdf`, the index page is
    also printed to reports/report.pdf by headless Chromium when one is installed. A notebook
    that fails is recorded with its cell and error; the others still run.
    """
    require("notebooks", needed_for="running the guided notebooks")
    import papermill as pm
    from tqdm import tqdm  # plain bars: no widget warnings when run from a notebook

    case_root = Path(case_dir).resolve()
    given = {"case_dir": str(case_root), **dict(parameters or {})}
    # Every parameter is checked against every notebook before anything runs or is written.
    runs = []
    for path in _select(notebooks, list_notebooks(folder)):
        declared = pm.inspect_notebook(str(path))
        runs.append((path, {k: coerce_parameter(path.stem, declared[k], v)
                            for k, v in given.items() if k in declared}))
    reports = case_root / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    report = RunReport()
    bar = tqdm(runs, desc="notebooks", unit="nb", disable=not progress)
    for path, params in bar:
        bar.set_postfix_str(path.stem)
        out = reports / path.name
        started = datetime.now(UTC)
        run = NotebookRun(path.stem, out, None, True)
        env_before = os.environ.get(CASE_ENV)
        os.environ[CASE_ENV] = str(case_root)
        try:
            pm.execute_notebook(str(path), str(out), parameters=params, cwd=str(path.parent),
                                progress_bar=False, kernel_name="python3",
                                extra_arguments=_QUIET_KERNEL)
        except pm.PapermillExecutionError as exc:
            run.ok = False
            run.failed_cell = exc.exec_count
            run.error = f"{exc.ename}: {exc.evalue}"
        except Exception as exc:  # a kernel that died or a notebook that cannot be read
            run.ok = False
            run.error = f"{type(exc).__name__}: {exc}"
        finally:
            if env_before is None:
                os.environ.pop(CASE_ENV, None)
            else:
                os.environ[CASE_ENV] = env_before
        run.seconds = (datetime.now(UTC) - started).total_seconds()
        if out.exists():
            run.html = _export_html(out, with_code=with_code)
        report.runs.append(run)
    report.index = write_index(case_root, report.runs)
    if pdf:
        report.pdf, report.pdf_note = print_pdf(report.index, reports / "report.pdf")
    return report


#: Chromium-family browsers tried, in order, to print the report.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                  "microsoft-edge")


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on this machine, or None."""
    import shutil

    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(page: Path, out: Path, *, browser: str | None = None,
              timeout: float = 180) -> tuple[Path | None, str]:
    """Print an HTML page to PDF with headless Chromium, offline: (the PDF or None, a one-line note)."""
    import subprocess
    import tempfile

    browser = browser or find_chromium()
    if browser is None:
        return None, (f"no PDF: no Chromium found ({', '.join(CHROMIUM_NAMES)}); open {page} in a "
                      "browser and print it (the page has a print stylesheet)")
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="s3forensics-chromium-") as profile:
        cmd = [browser, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--print-to-pdf-no-header", f"--print-to-pdf={out}", page.resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"no PDF: {browser} did not print the page ({exc})"
    if not out.is_file() or out.stat().st_size == 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"no PDF: {browser} exited {done.returncode} without writing it ({last})"
    return out, f"pdf: {out}"


def _window(case_root: Path) -> dict[str, Any]:
    """The window the saved findings were run over (findings/run.json), else the whole case."""
    path = case_root / "findings" / "run.json"
    try:
        params = json.loads(path.read_text(encoding="utf-8")).get("parameters", {})
    except (OSError, ValueError, AttributeError):
        return {"start": None, "end": None}
    return {"start": params.get("start") or None, "end": params.get("end") or None}


def _incident_parts(case_root: Path) -> dict[str, Any]:
    """Everything the index shows that comes from the case, read-only; problems said, not raised."""
    from .case import Case
    from .errors import S3ForensicsError
    from .findings import run_findings
    from .incident import summarise_incident
    from .integrity import read_integrity
    from .narrative import describe_incident, incident_figures

    parts: dict[str, Any] = {"summary": None, "sentences": [], "figures": [], "chart_svg": None,
                             "integrity": None, "integrity_note": "", "findings": [], "problems": []}
    try:
        with Case.open(case_root, create=False, read_only=True) as case:
            window = _window(case_root)
            findings = run_findings(case.con, **window)
            summary = summarise_incident(case.con, findings, **window)
            parts.update(summary=summary, findings=findings, integrity=read_integrity(case),
                         integrity_note=summary.integrity_note,
                         sentences=describe_incident(summary), figures=incident_figures(summary))
    except (S3ForensicsError, OSError, duckdb.Error) as exc:
        parts["problems"].append(f"The case could not be read for the summary: {exc}")
        parts["integrity_note"] = "Integrity results unavailable: the case could not be read."
        return parts
    if summary.volume.height or summary.findings:
        try:
            from .charts import chart_svg, incident_timeline

            parts["chart_svg"] = chart_svg(incident_timeline(summary.finding_spans(), summary.volume))
        except Exception as exc:  # noqa: BLE001 -- a chart that cannot be drawn must not cost the page
            parts["problems"].append(f"The timeline chart could not be drawn: {exc}")
    return parts


def write_index(case_root: Path, runs: Sequence[NotebookRun]) -> Path:
    """Write <case>/reports/index.html: summary, timeline, findings, integrity and notebook links."""
    from .report_page import NotebookLink, render_index

    case_root = Path(case_root)
    notebooks = [
        NotebookLink(name=r.name, html=r.html.name if r.html else None, ok=r.ok,
                     status="ok" if r.ok else f"failed in cell {r.failed_cell}: {r.error or ''}",
                     seconds=r.seconds)
        for r in runs
    ]
    page = render_index(case_name=case_root.name,
                        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                        version=__version__, notebooks=notebooks, case_root=case_root,
                        **_incident_parts(case_root))
    out = case_root / "reports" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
