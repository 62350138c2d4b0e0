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


def _open_offline(path: Path) -> tuple[Any, Any, list[str], list[str]]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )
    context = browser.new_context(offline=True)
    blocked: list[str] = []
    # Anything that is not the report's own file is a request the offline workstation cannot make.
    context.route("**/*", lambda route: (blocked.append(route.request.url), route.abort())
                  if not route.request.url.startswith("file://") else route.continue_())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
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
        links = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
        assert len([x for x in links if x.endswith(".html")]) == 7
        assert errors == [] and blocked == []
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
