"""The HTML report in a real headless Chromium with networking disabled: charts render, no errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it when run as root)",
)


def _open_offline(path: Path, *, width: int = 1280,
                  height: int = 900) -> tuple[Any, Any, list[str], list[str]]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )
    context = browser.new_context(offline=True, viewport={"width": width, "height": height})
    blocked: list[str] = []
    # Anything that is not the report's own file is a request the offline workstation cannot make.
    context.route("**/*", lambda route: (blocked.append(route.request.url), route.abort())
                  if not route.request.url.startswith("file://") else route.continue_())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(500)
    return pw, page, errors, blocked


def test_index_names_the_attacker_ips(report_case_dir: Path, answers: dict[str, Any]) -> None:
    assert CHROMIUM, "chromium is required in CI"
    pw, page, errors, blocked = _open_offline(report_case_dir / "reports" / "index.html")
    try:
        summary = page.inner_text("#findings ~ table")
        for ip in answers["attacker"]["ips"]:
            assert ip in summary, f"findings summary does not name attacker IP {ip}"
        integrity = page.inner_text("#integrity + p")
        assert integrity.startswith("VALID: every one of the") and "proven" in integrity
        links = page.eval_on_selector_all("#notebooks + table a",
                                          "els => els.map(e => e.getAttribute('href'))")
        assert len(links) == 7 and all(x.endswith(".html") for x in links)
        assert errors == [] and blocked == []
    finally:
        pw.stop()


def test_index_fits_1280_pixels_with_summary_timeline_and_findings(report_case_dir: Path,
                                                                   tmp_path: Path) -> None:
    import json

    assert CHROMIUM, "chromium is required in CI"
    pw, page, errors, blocked = _open_offline(report_case_dir / "reports" / "index.html", width=1280)
    try:
        # Nothing wider than the window: long ARNs wrap, the chart scales down.
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        assert page.is_visible("#what-happened") and "13 detections fired" in page.inner_text("#summary")
        chart = page.eval_on_selector("figure.timeline svg", "e => e.getBoundingClientRect().toJSON()")
        assert chart["width"] > 800 and chart["x"] + chart["width"] <= 1280
        assert page.locator("figure.timeline svg text", has_text="Objects deleted in bulk").count()
        saved = json.loads((report_case_dir / "findings" / "findings.json").read_text())
        assert page.locator("table.findings tbody tr").count() == len(saved) == 13
        widest = page.eval_on_selector_all(
            "table.findings td", "els => Math.max(...els.map(e => e.getBoundingClientRect().right))")
        assert widest <= 1280
        page.screenshot(path=str(tmp_path / "index-1280.png"), full_page=True)
        assert errors == [] and blocked == []
    finally:
        pw.stop()


def test_index_prints_on_a4_without_clipping(report_case_dir: Path) -> None:
    assert CHROMIUM, "chromium is required in CI"
    # A4 less the print margins is about 700 CSS pixels wide.
    pw, page, errors, _ = _open_offline(report_case_dir / "reports" / "index.html", width=700)
    try:
        page.emulate_media(media="print")
        assert page.evaluate("document.documentElement.scrollWidth") <= 700
        assert page.evaluate("getComputedStyle(document.querySelector('main')).paddingLeft") == "0px"
        assert errors == []
    finally:
        pw.stop()


def test_values_an_attacker_wrote_do_not_run_in_the_report(tmp_path: Path) -> None:
    """A `<script>` in a user agent, an ARN, a bucket or an object key is shown, never run."""
    from s3forensics.case import Case
    from s3forensics.display import frame_html
    from s3forensics.render import render_cloudtrail_file
    from s3forensics.report import write_index

    from .factories import ct_record

    assert CHROMIUM, "chromium is required in CI"
    hostile = "<script>window.__pwned = 1</script>"
    image = "<img src=x onerror=\"window.__pwned = 2\">"
    record = ct_record(
        1, eventName="PutBucketVersioning", eventCategory="Management", managementEvent=True,
        readOnly=False, userAgent=hostile, sourceIPAddress="203.0.113.9",
        userIdentity={"type": "IAMUser", "principalId": "AIDAX", "accountId": "111122223333",
                      "arn": f"arn:aws:iam::111122223333:user/{hostile}",
                      "accessKeyId": f"AKIA{image}", "userName": hostile},
        requestParameters={"bucketName": image, "key": hostile,
                           "VersioningConfiguration": {"Status": "Suspended"}})
    src = tmp_path / "src" / ("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/"
                              "111122223333_CloudTrail_us-east-1_20240501T0010Z_abcdEFGH12345678.json.gz")
    src.parent.mkdir(parents=True)
    src.write_bytes(render_cloudtrail_file([record]))
    with Case.open(tmp_path / "case") as case:
        case.ingest([tmp_path / "src"], progress=False)
        table = frame_html(case.sql("SELECT user_agent, principal, bucket, object_key, access_key_id "
                                    "FROM trail_events"))
    index = write_index(tmp_path / "case", [])
    assert hostile in index.read_text(encoding="utf-8").replace("&lt;", "<").replace("&gt;", ">")
    notebook_like = tmp_path / "case" / "reports" / "table.html"
    notebook_like.write_text(f"<!doctype html><html><body>{table}</body></html>", encoding="utf-8")
    for path in (index, notebook_like):
        pw, page, errors, _ = _open_offline(path)
        try:
            assert page.evaluate("window.__pwned") is None, path.name
            assert page.locator("script").count() == 0 and page.locator("img[src=x]").count() == 0
            assert "<script>window.__pwned = 1</script>" in page.inner_text("body")
            assert errors == []
        finally:
            pw.stop()


def _charts_in_notebook(ipynb: Path) -> int:
    nb = json.loads(ipynb.read_text())
    return sum(1 for cell in nb["cells"] for out in cell.get("outputs", [])
               if "image/svg+xml" in out.get("data", {}))


def test_every_notebook_report_renders_its_charts_offline(report_case_dir: Path) -> None:
    assert CHROMIUM, "chromium is required in CI"
    pages = sorted((report_case_dir / "reports").glob("[0-9][0-9]_*.html"))
    assert len(pages) == 7
    with_charts = 0
    for html_page in pages:
        expected = _charts_in_notebook(html_page.with_suffix(".ipynb"))
        with_charts += expected > 0
        pw, page, errors, blocked = _open_offline(html_page)
        try:
            # Charts are SVG: inline, or an <img> of SVG data that the browser decoded and drew.
            rendered = page.eval_on_selector_all(
                ".jp-OutputArea-output svg, .jp-OutputArea-output canvas, "
                ".jp-OutputArea-output img[src^='data:image/svg+xml']",
                "els => els.filter(e => e.getBoundingClientRect().width > 50"
                " && (e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 50))).length")
            assert rendered >= expected, f"{html_page.name}: {rendered} of {expected} charts rendered"
            assert errors == [], f"{html_page.name}: script errors {errors}"
            assert blocked == [], f"{html_page.name}: tried to fetch {blocked[:3]}"
        finally:
            pw.stop()
    assert with_charts >= 6, "the triage to report notebooks each draw charts"
