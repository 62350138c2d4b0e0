"""The report a responder hands over: the summary, the tables, report-mode pages, the PDF.

The summary is checked against the answer key of the bundled breach, and on cases unlike it
(access logs only, CloudTrail only, nothing detected), where it must still say sensible things.
"""

from __future__ import annotations

import html
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from s3forensics.case import Case
from s3forensics.display import Table, format_cell, frame_html
from s3forensics.findings import run_findings
from s3forensics.incident import summarise_incident
from s3forensics.narrative import describe_incident, format_bytes, incident_figures, sentence_text
from s3forensics.report import print_pdf, write_index

from .conftest import SAMPLES

# -- tables as people read them ----------------------------------------------------------------


def test_tables_show_plain_escaped_values_times_in_one_format_and_long_values_wrapped() -> None:
    frame = pl.DataFrame({
        "user_agent": ["<script>alert(1)</script>", "aws-cli/2.18.4 " * 60],
        "event_time": [datetime(2026, 10, 8, 14, 7, 15, tzinfo=UTC), None],
        "bytes_out": [5_588_186_765, 12],
        "ips": [["203.0.113.45", "203.0.113.77"], []],
        "keys": [["exports/a, b.csv", "c.csv"], [f"k{i}" for i in range(25)]],
    })
    page = frame_html(frame, styles=False)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '"' not in re.sub(r"<[^>]*>", "", page)  # no quotes around strings
    assert "2026-10-08 14:07:15<" in page and "UTC]" not in page
    assert ">5,588,186,765<" in page
    # list items one per line, so an item holding ", " still reads as one item
    assert "<div>203.0.113.45</div><div>203.0.113.77</div>" in page
    assert "<td><div>exports/a, b.csv</div><div>c.csv</div></td>" in page
    assert "<div>k19</div><div>… 5 more</div>" in page and "k20" not in page
    long_cell = re.search(r"<td title='([^']*)'><div>([^<]*)</div>", page)
    assert long_cell and long_cell.group(2).endswith("…") and len(long_cell.group(1)) > 800
    assert "times in UTC" in page
    assert format_cell(None) == "" and format_cell(True) == "yes" and format_cell(0.0697) == "0.0697"


def test_notebook_show_renders_the_html_table_and_says_what_was_left_out() -> None:
    table = Table(pl.DataFrame({"n": list(range(50))}), limit=30)
    assert "showing 30 of 50 rows" in table._repr_html_()
    assert repr(table).startswith("showing 30 of 50 rows")


# -- the summary on the bundled breach -----------------------------------------------------------


def _summary_text(case_dir: Path) -> tuple[str, Any]:
    with Case.open(case_dir, create=False, read_only=True) as case:
        summary = summarise_incident(case.con, run_findings(case.con))
    return " ".join(sentence_text(s) for s in describe_incident(summary)), summary


def test_summary_states_what_the_answer_key_says(report_case_dir: Path,
                                                 answers: dict[str, Any]) -> None:
    text, summary = _summary_text(report_case_dir)
    start = datetime.fromisoformat(answers["window"]["start"].replace("Z", "+00:00"))
    assert f"began {start:%Y-%m-%d %H:%M} UTC and ended 2026-10-10 03:13 UTC" in text
    for entity in [*answers["attacker"]["ips"], *answers["attacker"]["principals"],
                   *answers["attacker"]["access_keys"], *answers["attacked_buckets"]]:
        assert entity in text, entity
    stolen = {(o["bucket"], o["key"]) for o in answers["stolen_objects"]}
    assert f"{len(stolen)} objects were read ({format_bytes(answers['stolen_bytes'])} in " \
           f"{len(answers['stolen_objects'])} downloads)" in text
    assert f"deleted {len(answers['deleted_keys'])} objects" in text
    assert f"rewrote {len(answers['ssec_encrypted_keys'])} objects" in text
    assert "policy, versioning, lifecycle and logging settings of acme-prod-customer-data" in text
    assert "CloudTrail integrity: VALID" in text  # notebook 01 verified the trail
    assert "documentation range" in text  # the addresses' networks
    labels = dict((label, cite.text) for label, cite in incident_figures(summary))
    assert labels["CloudTrail integrity"] == "VALID" and labels["detections fired"] == "13"


@pytest.fixture(scope="module")
def partial_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The samples cut down: access logs only, CloudTrail only, and only the public website."""
    root = tmp_path_factory.mktemp("partial")
    parts = {"access-logs": SAMPLES / "acme-prod-s3-access-logs",
             "cloudtrail": SAMPLES / "acme-org-cloudtrail",
             "website": SAMPLES / "acme-prod-s3-access-logs" / "www-example-com"}
    for name, folder in parts.items():
        with Case.open(root / name) as case:
            case.ingest([folder], progress=False)
    return {name: root / name for name in parts}


def test_summary_of_access_logs_only_says_what_it_cannot_see(partial_cases: dict[str, Path]) -> None:
    text, _ = _summary_text(partial_cases["access-logs"])
    assert "77 objects were read" in text and "deleted 73 objects" in text
    assert "The case holds no CloudTrail events: configuration changes" in text
    assert "The case holds no CloudTrail log files: there is nothing to validate." in text
    assert "could not fire" in text and "their silence proves nothing" in text


def test_notebook_and_summary_say_the_same_words_when_there_is_no_trail(
        partial_cases: dict[str, Path]) -> None:
    from s3forensics.notebook import check_trail_integrity

    text, _ = _summary_text(partial_cases["access-logs"])
    with Case.open(partial_cases["access-logs"], create=False, read_only=True) as case:
        said = check_trail_integrity(case)
    assert said == "The case holds no CloudTrail log files: there is nothing to validate."
    assert said in text


def test_summary_of_cloudtrail_only_says_batch_deletes_name_no_keys(
        partial_cases: dict[str, Path]) -> None:
    text, _ = _summary_text(partial_cases["cloudtrail"])
    assert "rewrote 102 objects" in text and "made 2 delete requests whose keys" in text
    assert "The case holds no S3 server access logs" in text
    assert "Not validated yet: run notebook 01 or `s3forensics verify-trail`." in text


def test_summary_of_a_case_where_nothing_fired(partial_cases: dict[str, Path]) -> None:
    text, summary = _summary_text(partial_cases["website"])
    assert not summary.findings
    assert text.startswith("No detection fired on the 1,406 records of the case (S3 server access "
                           "logs, 2026-10-05")
    assert "not proof that nothing happened" in text


@pytest.mark.parametrize("name", ["access-logs", "cloudtrail", "website"])
def test_index_is_written_for_cases_unlike_the_samples(partial_cases: dict[str, Path], name: str,
                                                       tmp_path: Path) -> None:
    case_dir = tmp_path / name
    shutil.copytree(partial_cases[name], case_dir)
    page = write_index(case_dir, []).read_text(encoding="utf-8")
    assert "<h2 id=\"what-happened\">What happened</h2>" in page
    assert ("No detection fired" in page) == (name == "website")
    assert "<svg" in page  # the timeline: findings, or at least the volume of activity
    assert "No notebook was run" in page


# -- links: every figure leads to where it can be checked ----------------------------------------


def _links(page: str, section: str) -> list[tuple[str, str]]:
    part = page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return [(html.unescape(h), html.unescape(t)) for h, t in
            re.findall(r"<a class='(?:cite|figure[^']*)' href='([^']*)' title='([^']*)'>", part)]


def test_every_figure_in_the_summary_links_to_the_notebook_section_it_comes_from(
        report_case_dir: Path) -> None:
    reports = report_case_dir / "reports"
    page = (reports / "index.html").read_text(encoding="utf-8")
    summary = page.split('id="summary"', 1)[1].split("</section>", 1)[0]
    assert "class='cite' title" not in summary  # no figure left without a link
    links = _links(page, "summary")
    assert len(links) >= 20
    for href, _title in links:
        target, _, anchor = href.partition("#")
        if not target:
            assert f'id="{anchor}"' in page, href
            continue
        text = (reports / target).read_text(encoding="utf-8")
        assert not anchor or f'id="{anchor}"' in text, href
    assert any("query incident_impact" in t for _, t in links)
    assert any(h.startswith("05_hunt_exfiltration.html#Bytes-sent-over-time") for h, _ in links)
    # Each detection links to the CSV of its rows, saved by notebook 07.
    for csv in re.findall(r"href='\.\./findings/([^']+)'", page):
        assert (report_case_dir / "findings" / csv).is_file()


# -- report mode: pages without code; the PDF ------------------------------------------------------


def test_report_pages_leave_code_out_unless_asked(report_case_dir: Path, tmp_path: Path) -> None:
    from s3forensics.report import _export_html

    page = (report_case_dir / "reports" / "07_timeline_and_report.html").read_text(encoding="utf-8")
    assert 'class="jp-CodeMirrorEditor' not in page and "save_findings</span>" not in page
    assert "s3f-table" in page and "&quot;203.0.113.77&quot;" not in page
    copy = tmp_path / "07_timeline_and_report.ipynb"
    shutil.copy(report_case_dir / "reports" / copy.name, copy)
    with_code = _export_html(copy, with_code=True).read_text(encoding="utf-8")
    assert 'class="jp-CodeMirrorEditor' in with_code and "save_findings</span>" in with_code


def test_run_pdf_prints_the_index_with_chromium(executed: tuple[Path, Any]) -> None:
    from s3forensics.report import find_chromium

    case_dir, report = executed
    if find_chromium() is None:
        assert report.pdf is None and "no Chromium found" in report.pdf_note
        pytest.skip("no Chromium on this machine")
    assert report.pdf == case_dir.resolve() / "reports" / "report.pdf"
    data = report.pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000


def test_pdf_without_chromium_is_a_one_line_note(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    page = tmp_path / "index.html"
    page.write_text("<p>report</p>")
    pdf, note = print_pdf(page, tmp_path / "report.pdf")
    assert pdf is None and not (tmp_path / "report.pdf").exists()
    assert "\n" not in note and note.startswith("no PDF: no Chromium found")


def test_incident_timeline_draws_findings_as_lanes_over_the_volume() -> None:
    from s3forensics.charts import SEVERITY_ORDER, incident_timeline

    t0 = datetime(2026, 10, 8, 14, tzinfo=UTC)
    later = t0.replace(day=9, hour=20)  # 30 hours on: outside the findings and their margin
    volume = pl.DataFrame({"period_start": [t0, t0, later], "named": [False, True, False],
                           "requests": [40, 25, 3]})
    spans = pl.DataFrame({"finding": ["Access denied probing", "Objects deleted in bulk"],
                          "severity": ["medium", "high"],
                          "first_seen": [t0, t0.replace(hour=16)],
                          "last_seen": [t0.replace(minute=5), t0.replace(hour=17)]})
    spec = incident_timeline(spans, volume).to_dict()
    volume_layer, lanes = spec["layer"]
    rows = {(r["who"], r["low"], r["high"]) for r in spec["datasets"][volume_layer["data"]["name"]]}
    # The named addresses' requests are stacked on everyone else's, in the same hour.
    assert ("everyone else", 0, 40) in rows and ("the addresses the findings name", 40, 65) in rows
    # The axis spans the findings and 12 hours either side: the hour 30 hours later is left out.
    assert not any(low == 0 and high == 3 for _, low, high in rows)
    y = lanes["layer"][0]["encoding"]["y"]
    assert y["field"] == "finding" and y["sort"] == ["Access denied probing", "Objects deleted in bulk"]
    assert lanes["layer"][0]["encoding"]["color"]["scale"]["domain"] == SEVERITY_ORDER
    assert spec["resolve"]["scale"]["y"] == "independent"
    empty = incident_timeline(spans.clear(), volume).to_dict()
    assert len(empty["layer"]) == 1  # no finding: the volume alone, over the whole case


def test_notebook_01_prints_the_trail_verdict_without_flags(report_case_dir: Path) -> None:
    """The samples folder holds the key and the signatures; ingest kept them, so 01 proves the trail."""
    import nbformat

    nb = nbformat.read(report_case_dir / "reports" / "01_acquire_and_ingest.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "VALID: every one of the 269 CloudTrail log files held is proven by 180 signed digests" \
        in printed
    assert "NO_PUBLIC_KEY" not in printed and "FAILED" not in printed
    # The report page counts the files in the words the notebook printed (one method says them).
    page = html.unescape((report_case_dir / "reports" / "index.html").read_text(encoding="utf-8"))
    counts = re.findall(r"^  (?:digests|logs) +([\d,]+ held: .*)$", printed, re.M)
    assert counts and all(c in page for c in counts), counts
