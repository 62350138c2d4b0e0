"""The report's front page, `reports/index.html`: summary, timeline, findings, integrity, notebooks.

Built for a reader with a minute: headline figures, a few sentences generated from the findings
and the case (`narrative.describe_incident`), the incident on a timeline (inline SVG, drawn
offline), then the findings table, the CloudTrail verdict and the notebooks that hold the
detail. Every figure links to the notebook section that shows it and names its query in a
tooltip; each detection links to the CSV of its rows. Every value from the logs is escaped. The
page fits a 1280-pixel window without horizontal scrolling and prints cleanly to A4 (print
stylesheet; `s3forensics run --pdf`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .display import format_cell

if TYPE_CHECKING:
    from .findings import Finding
    from .incident import IncidentSummary
    from .integrity.report import IntegrityReport
    from .narrative import Cite, Sentence

__all__ = ["NotebookLink", "render_index"]

_esc = html.escape
_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class NotebookLink:
    """A notebook of the report as the index lists it."""

    name: str
    html: str | None
    ok: bool
    status: str
    seconds: float


CSS = """
:root { --ink: #1d1d1f; --muted: #666; --line: #e3e3e3; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0; background: #f6f6f4; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; min-height: 100vh; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.meta { color: var(--muted); margin: 0 0 18px; font-size: 13px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
a.cite { border-bottom: 1px dotted var(--accent); }
a.cite:hover { text-decoration: none; background: #eef4fb; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 10px;
  margin: 14px 0 6px; }
.figure { display: block; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  color: var(--ink); background: #fbfbfa; }
.figure:hover { text-decoration: none; border-color: var(--accent); }
.figure .value { display: block; font-size: 20px; font-weight: 650; line-height: 1.25;
  overflow-wrap: anywhere; }
.figure .label { display: block; font-size: 12px; color: var(--muted); }
.figure.valid .value { color: #2e7d32; } .figure.unverifiable .value { color: #a86200; }
.figure.failed .value { color: #b71c1c; }
.summary p { margin: 0 0 8px; max-width: 78em; overflow-wrap: anywhere; }
figure.timeline { margin: 6px 0 0; }
figure.timeline svg { max-width: 100%; height: auto; display: block; }
figure.timeline figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; word-break: break-word; }
th { border-bottom: 2px solid #bbb; font-weight: 600; background: #fafafa; }
table.findings { table-layout: fixed; }
table.findings col.c-sev { width: 96px; } table.findings col.c-count { width: 70px; }
table.findings col.c-when { width: 150px; } table.findings col.c-what { width: 24%; }
table.findings col.c-ip { width: 13%; } table.findings col.c-bucket { width: 15%; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.counts { width: auto; max-width: 100%; }
table.counts td { white-space: nowrap; padding-right: 14px; }
table.counts th { padding-right: 14px; overflow-wrap: normal; word-break: normal; }
td.when { font-variant-numeric: tabular-nums; white-space: nowrap; }
.sev { display: inline-block; white-space: nowrap; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.sev-critical { background: #7f0000; color: #fff; } .sev-high { background: #d7301f; color: #fff; }
.sev-medium { background: #fc8d59; color: #222; } .sev-low { background: #fdcc8a; color: #222; }
.sev-info { background: #ddd; color: #222; }
.detection { color: var(--muted); font-size: 12px; }
.more { color: var(--muted); }
p.verdict { font-size: 16px; margin: 6px 0; }
p.verdict.valid b { color: #2e7d32; } p.verdict.unverifiable b { color: #a86200; }
p.verdict.failed b { color: #b71c1c; }
tr.fail td { background: #fdecea; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; min-height: 0; }
  a, a.cite { color: inherit; border-bottom: none; }
  h2 { break-after: avoid; }
  .figures { grid-template-columns: repeat(3, 1fr); }
  .figure { padding: 6px 9px; } .figure .value { font-size: 13pt; }
  .figure, figure.timeline, tr, .summary p { break-inside: avoid; }
  thead { display: table-header-group; }
  table { font-size: 8.5pt; }
  table.counts td, table.counts th { white-space: normal; padding: 3px 5px; }
  #notebooks { break-before: auto; }
}
"""


def _utc(moment: Any) -> str:
    return format_cell(moment) if isinstance(moment, datetime) else ""


class _Links:
    """Resolves where a cited figure links to: a notebook section that exists, or nothing."""

    def __init__(self, reports: Path) -> None:
        self.reports = reports
        self._pages: dict[str, str | None] = {}

    def _page(self, notebook: str) -> str | None:
        if notebook not in self._pages:
            path = self.reports / f"{notebook}.html"
            self._pages[notebook] = path.read_text(encoding="utf-8") if path.is_file() else None
        return self._pages[notebook]

    def href(self, cite: Cite) -> str | None:
        if cite.href:
            return cite.href
        if not cite.notebook:
            return None
        page = self._page(cite.notebook)
        if page is None:
            return None
        target = f"{cite.notebook}.html"
        if cite.section:
            # nbconvert names a heading by its text, spaces as '-', percent-encoded.
            anchor = quote(cite.section.replace(" ", "-"), safe="!$&'()*+,;=:@-._~?/")
            if f'id="{anchor}"' in page:
                target += "#" + anchor
        return target


def _cite_html(cite: Cite, links: _Links) -> str:
    where = []
    if cite.query:
        where.append(f"query {cite.query}")
    if cite.notebook:
        where.append(f"notebook {cite.notebook}" + (f", {cite.section}" if cite.section else ""))
    title = _esc("; ".join(where), quote=True)
    href = links.href(cite)
    if href is None:
        return f"<span class='cite' title='{title}'>{_esc(cite.text)}</span>"
    return f"<a class='cite' href='{_esc(href, quote=True)}' title='{title}'>{_esc(cite.text)}</a>"


def _sentence_html(sentence: Sentence, links: _Links) -> str:
    return "".join(_esc(part) if isinstance(part, str) else _cite_html(part, links)
                   for part in sentence)


def _entities(values: Sequence[str], limit: int = 4) -> str:
    shown = "<br>".join(_esc(v) for v in values[:limit])
    more = len(values) - limit
    return shown + (f"<br><span class='more'>+{more:,} more</span>" if more > 0 else "")


def _findings_table(findings: Sequence[Finding], case_root: Path) -> str:
    rows = []
    for f in findings:
        ents = f.entities
        csv = case_root / "findings" / f"{f.detection}.csv"
        name = _esc(f.detection)
        if csv.is_file():
            name = (f"<a href='../findings/{quote(f.detection)}.csv' title='the rows of detection "
                    f"{_esc(f.detection, quote=True)}'>{name}</a>")
        who = [*ents.get("principals", []), *ents.get("access_keys", [])]
        sev = f.severity if f.severity in _SEVERITY_ORDER else "info"
        rows.append(
            f"<tr><td><span class='sev sev-{sev}'>{_esc(f.severity)}</span></td>"
            f"<td>{_esc(f.title)}<br><span class='detection'>{name}</span></td>"
            f"<td class='num'>{f.events:,}</td>"
            f"<td class='when'>{_esc(_utc(f.first_seen))}<br>{_esc(_utc(f.last_seen))}</td>"
            f"<td>{_entities(ents.get('ips', []))}</td><td>{_entities(who)}</td>"
            f"<td>{_entities(ents.get('buckets', []))}</td></tr>")
    if not rows:
        rows.append("<tr><td colspan='7'>No detection fired.</td></tr>")
    return ("<table class='findings'><colgroup><col class='c-sev'><col class='c-what'>"
            "<col class='c-count'><col class='c-when'><col class='c-ip'><col><col class='c-bucket'>"
            "</colgroup>"
            "<thead><tr><th>severity</th><th>finding</th><th>events</th><th>first / last seen</th>"
            "<th>addresses</th><th>principals, access keys</th><th>buckets</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _integrity_html(result: IntegrityReport | None, note: str) -> str:
    if result is None:
        return f"<p class='verdict'>{_esc(note)}</p>"
    verdict = result.verdict
    advice = "".join(f"<li>{_esc(a)}</li>" for a in verdict.advice)
    rows = []
    for r in result.account_counts():  # the same words as `s3forensics verify-trail` prints
        digests = f"{r['digests_held']:,} held: {r['digests']}"
        logs = f"{r['logs_held']:,} held: {r['logs']}"
        rows.append(f"<tr><td>{_esc(r['account'])}</td><td>{_esc(r['region'])}</td>"
                    f"<td>{_esc(digests)}</td><td>{_esc(logs)}</td>"
                    f"<td class='num'>{r['hours_without_digest']:,.1f}</td></tr>")
    head = ("<th>account</th><th>region</th><th>digest files</th><th>log files</th>"
            "<th>hours without a digest</th>")
    body = "".join(rows)
    groups = result.problem_groups(examples=3)
    probs = "".join(
        f"<tr class='{'fail' if g['verdict'] == 'FAILED' else ''}'><td>{_esc(g['verdict'])}</td>"
        f"<td>{_esc(g['status'])}</td><td>{_esc(g['kind'])}</td><td class='num'>{g['files']:,}</td>"
        f"<td>{_esc(g['meaning'] or '')}<br><span class='detection'>e.g. "
        f"{_esc(', '.join(Path(k).name for k in g['examples'] if k))}</span></td></tr>"
        for g in groups.iter_rows(named=True))
    return (f"<p class='verdict {verdict.word.lower()}'><b>{_esc(verdict.word)}</b>: "
            f"{_esc(verdict.reason)}</p>" + (f"<ul>{advice}</ul>" if advice else "")
            + f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            + ("<table><thead><tr><th>verdict</th><th>status</th><th>kind</th><th>files</th>"
               f"<th>what it means, examples</th></tr></thead><tbody>{probs}</tbody></table>"
               if probs else "")
            + "<p class='meta'>Every file and its status is in the case table trail_integrity "
              "(<code>s3forensics verify-trail --verbose</code>).</p>")


def _notebooks_html(notebooks: Sequence[NotebookLink]) -> str:
    if not notebooks:
        return "<p>No notebook was run for this page (<code>s3forensics run</code>).</p>"
    rows = []
    for n in notebooks:
        link = f"<a href='{_esc(n.html, quote=True)}'>{_esc(n.name)}</a>" if n.html else _esc(n.name)
        rows.append(f"<tr class='{'ok' if n.ok else 'fail'}'><td>{link}</td><td>{_esc(n.status)}</td>"
                    f"<td class='num'>{n.seconds:.0f} s</td></tr>")
    return ("<table class='counts'><thead><tr><th>notebook</th><th>status</th><th>time</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def render_index(*, case_name: str, generated: str, version: str, summary: IncidentSummary | None,
                 sentences: Sequence[Sentence], figures: Sequence[tuple[str, Cite]],
                 chart_svg: str | None, integrity: IntegrityReport | None, integrity_note: str,
                 findings: Sequence[Finding], notebooks: Sequence[NotebookLink], case_root: Path,
                 problems: Sequence[str] = ()) -> str:
    """The whole index page as HTML (every value from the case escaped)."""
    links = _Links(case_root / "reports")
    tiles = []
    for label, cite in figures:
        href = links.href(cite)
        css = cite.text.lower() if label == "CloudTrail integrity" else ""
        inner = (f"<span class='value'>{_esc(cite.text)}</span><span class='label'>{_esc(label)}</span>")
        title = _esc(f"query {cite.query}" if cite.query else label, quote=True)
        tiles.append(f"<a class='figure {css}' href='{_esc(href, quote=True)}' title='{title}'>{inner}</a>"
                     if href else f"<div class='figure {css}' title='{title}'>{inner}</div>")
    paragraphs = "".join(f"<p>{_sentence_html(s, links)}</p>" for s in sentences)
    evidence = ""
    if summary is not None:
        held = [f"{n:,} {'S3 access log records' if k == 's3-access' else 'CloudTrail events'}"
                for k, n in summary.sources.items() if n]
        span = (f", {_utc(summary.first_record)} to {_utc(summary.last_record)}"
                if summary.first_record else "")
        evidence = f" Evidence: {', '.join(held) or 'no records'}{span}."
    chart = (f"<h2 id='timeline'>Timeline</h2><figure class='timeline'>{chart_svg}<figcaption>Each line "
             "spans a finding from its first to its last event (dots), coloured by severity; behind "
             "them, requests per hour: in red those from the addresses the findings name, in grey "
             "everyone else's.</figcaption></figure>") if chart_svg else ""
    notes = "".join(f"<p class='meta'>{_esc(p)}</p>" for p in problems)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Incident report: case {_esc(case_name)}</title>
<style>{CSS}</style></head><body><main>
<h1>Incident report: case {_esc(case_name)}</h1>
<p class="meta">Generated {_esc(generated)} by s3forensics {_esc(version)}. Times are UTC.{_esc(evidence)}
Figures link to the notebook section that shows them; hover for the query.</p>
{notes}
<section class="summary" id="summary">
<div class="figures">{''.join(tiles)}</div>
<h2 id="what-happened">What happened</h2>
{paragraphs}
</section>
{chart}
<h2 id="findings">Findings</h2>
{_findings_table(findings, case_root)}
<h2 id="integrity">CloudTrail integrity</h2>
{_integrity_html(integrity, integrity_note)}
<h2 id="notebooks">Notebooks</h2>
{_notebooks_html(notebooks)}
<footer>s3forensics {_esc(version)} · case folder {_esc(str(case_root))}</footer>
</main></body></html>
"""
