"""The report in a real headless browser (Debian's Chromium driven by playwright): it loads from a file with no
console errors and no network request, and every plot renders (an SVG with drawn traces).

Needs /usr/bin/chromium (``apt-get install chromium``; .ci/run installs it). Writes docs/report.png when
MM_ORCH_REPORT_SCREENSHOT=1 (how the screenshot in docs/observability.md was made)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mm_orch.reporting import build_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium: apt-get install -y chromium"),
]


def test_report_loads_without_errors_and_every_plot_renders(synthetic_folder: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "report.html"
    summary = build_report(synthetic_folder, out)
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on(
                "console",
                lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri(), wait_until="load")
            page.wait_for_function(
                "n => document.querySelectorAll('.plotly-graph-div .main-svg').length >= n", arg=summary.figures
            )
            drawn = page.evaluate(
                """() => [...document.querySelectorAll('.plotly-graph-div')].map(d => ({
                    id: d.id,
                    width: d.getBoundingClientRect().width,
                    traces: d.querySelectorAll('g.trace, g.hm, g.heatmaplayer image, g.barlayer path, g.scatterlayer path').length,
                    data: (d.data || []).length,
                }))"""
            )
            title = page.title()
            if os.environ.get("MM_ORCH_REPORT_SCREENSHOT") == "1":
                docs = Path(__file__).resolve().parents[2] / "docs" / "report.png"
                page.set_viewport_size({"width": 1280, "height": 900})
                page.wait_for_timeout(500)
                page.screenshot(
                    path=str(docs), clip={"x": 0, "y": 0, "width": 1280, "height": 2400}, full_page=True
                )
        finally:
            browser.close()
    assert problems == []
    assert requests == [out.as_uri()]  # the file itself and nothing else: no CDN, fonts or images
    assert title == "mm-orch trace report"
    assert len(drawn) == summary.figures >= 10
    for fig in drawn:
        assert fig["data"] > 0, fig
        assert fig["traces"] > 0, fig
        assert 300 < fig["width"] <= 1400, fig  # laid out inside the page, not at plotly's default size
