"""Run the guided notebooks headless with papermill and build the case's HTML report."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .errors import InputError
from .extras import require
from .notebook import CASE_ENV, notebook_dir

__all__ = ["NotebookRun", "RunReport", "list_notebooks", "run_notebooks", "write_index"]


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


def _export_html(ipynb: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    exporter = HTMLExporter(template_name="lab")
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
) -> RunReport:
    """Execute notebooks into <case>/reports/ (.ipynb and .html), then write the index page.

    A notebook that fails is recorded with its cell and error; the others still run.
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
            run.html = _export_html(out)
        report.runs.append(run)
    report.index = write_index(case_root, report.runs)
    return report


def _findings(case_root: Path) -> list[dict[str, Any]]:
    path = case_root / "findings" / "findings.json"
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def _integrity_html(case_root: Path) -> str:
    """The stored CloudTrail validation result as HTML, or a note that it never ran."""
    from .case import Case
    from .errors import CaseError
    from .integrity import read_integrity

    esc = html.escape
    try:
        with Case.open(case_root, create=False, read_only=True) as case:
            result = read_integrity(case)
            if result is None:
                return f"<p>{esc(_no_integrity_result(case))}</p>"
            verdict = result.verdict
            summary = result.summary()
            groups = result.problem_groups(examples=3)
    except (CaseError, OSError) as exc:
        return f"<p>Integrity results unavailable: {esc(str(exc))}</p>"
    advice = "".join(f"<li>{esc(a)}</li>" for a in verdict.advice)
    head = "".join(f"<th>{esc(c)}</th>" for c in summary.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>"
                   for row in summary.iter_rows())
    probs = "".join(
        f"<tr><td>{esc(g['verdict'])}</td><td>{esc(g['status'])}</td><td>{esc(g['kind'])}</td>"
        f"<td>{g['files']:,}</td><td>{esc(', '.join(g['examples']))}<br>{esc(g['detail'] or '')}</td></tr>"
        for g in groups.iter_rows(named=True))
    return (f"<p class='verdict {verdict.word.lower()}'><b>{esc(verdict.word)}</b>: "
            f"{esc(verdict.reason)}</p>" + (f"<ul>{advice}</ul>" if advice else "")
            + f"<table><tr>{head}</tr>{body}</table>"
            + ("<table><tr><th>verdict</th><th>status</th><th>kind</th><th>files</th>"
               f"<th>examples</th></tr>{probs}</table>" if probs else ""))


def _no_integrity_result(case: Any) -> str:
    """Why there is no stored validation: nothing to validate, no digests, or it never ran."""
    kinds = dict(case.con.execute("SELECT kind, count(*) FROM evidence GROUP BY kind").fetchall())
    if not kinds.get("cloudtrail"):
        return "The case holds no CloudTrail log files: there is nothing to validate."
    if not kinds.get("cloudtrail-digest"):
        return ("Not validated: the case holds no CloudTrail digest files, so the log files cannot be "
                "proven unchanged (acquire the trail's CloudTrail-Digest/ objects too).")
    return "Not validated: run notebook 01 or s3forensics verify-trail."


def write_index(case_root: Path, runs: Sequence[NotebookRun]) -> Path:
    """Write <case>/reports/index.html: links to every notebook report and the findings summary."""
    esc = html.escape
    findings = _findings(case_root)
    rows = []
    for f in findings:
        ents = f.get("entities", {})
        rows.append(
            "<tr class='sev-{sev}'><td>{sev}</td><td><b>{det}</b><br>{title}</td><td>{count}</td>"
            "<td>{first}<br>{last}</td><td>{ips}</td><td>{principals}</td><td>{keys}</td><td>{buckets}</td></tr>".format(
                sev=esc(f["severity"]), det=esc(f["detection"]), title=esc(f["title"]), count=f["count"],
                first=esc(str(f.get("first_seen") or "")), last=esc(str(f.get("last_seen") or "")),
                ips=esc(", ".join(ents.get("ips", []))),
                principals=esc(", ".join(ents.get("principals", []))),
                keys=esc(", ".join(ents.get("access_keys", []))),
                buckets=esc(", ".join(ents.get("buckets", []))),
            ))
    nb_rows = []
    for r in runs:
        link = f"<a href='{esc(r.html.name)}'>{esc(r.name)}</a>" if r.html else esc(r.name)
        status = "ok" if r.ok else f"failed in cell {r.failed_cell}: {esc(r.error or '')}"
        nb_rows.append(f"<tr class='{'ok' if r.ok else 'fail'}'><td>{link}</td><td>{status}</td>"
                       f"<td>{r.seconds:.0f} s</td></tr>")
    ips = sorted({ip for f in findings for ip in f.get("entities", {}).get("ips", [])})
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>s3forensics report: {esc(case_root.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }}
td, th {{ border: 1px solid #ccc; padding: 0.3rem 0.6rem; vertical-align: top; text-align: left; }}
th {{ background: #f3f3f3; }}
tr.sev-critical td:first-child {{ background: #7f0000; color: white; }}
tr.sev-high td:first-child {{ background: #d7301f; color: white; }}
tr.sev-medium td:first-child {{ background: #fc8d59; }}
tr.sev-low td:first-child {{ background: #fdcc8a; }}
tr.fail {{ background: #fde2e1; }}
p.verdict.valid {{ color: #2e7d32; }}
p.verdict.unverifiable {{ color: #8a5a00; }}
p.verdict.failed {{ color: #b71c1c; }}
</style></head><body>
<h1>Case {esc(case_root.name)}</h1>
<p>Generated {generated} by s3forensics {esc(__version__)}. Times are UTC.</p>
<h2 id="findings">Findings summary</h2>
<p>{len(findings)} detections fired. Addresses involved: {esc(", ".join(ips)) or "none"}.</p>
<table><tr><th>severity</th><th>detection</th><th>count</th><th>first / last seen</th><th>IPs</th>
<th>principals</th><th>access keys</th><th>buckets</th></tr>
{''.join(rows) or '<tr><td colspan="8">no findings (run the notebooks or `s3forensics findings`)</td></tr>'}
</table>
<h2 id="integrity">CloudTrail integrity</h2>
{_integrity_html(case_root)}
<h2 id="notebooks">Notebooks</h2>
<table><tr><th>notebook</th><th>status</th><th>time</th></tr>{''.join(nb_rows)}</table>
</body></html>
"""
    out = case_root / "reports" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
