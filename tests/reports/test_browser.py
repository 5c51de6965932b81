"""report.html in headless Chromium: it renders, the timeline is on screen, and the page
sends no request anywhere. Screenshots go to test-output/ for a person to look at."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fleet.reports import write_run_reports
from tests.reports.browser import CHROMIUM, colour_pixels, render
from tests.reports.lablib import ROOT
from tests.reports.synthetic import Writer, small_plan

pytestmark = pytest.mark.lab       # starts a lab or a browser (tests/conftest.py)

OUT = ROOT / "test-output"
WAVE_BLUE = (0x1F, 0x77, 0xB4)        # the first wave's colour in the timeline (tab10/tab20)


def _need_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        print(f"SKIPPED: {CHROMIUM} is absent (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run this test")


def _run_folder(tmp_path: Path) -> Path:
    """A run from the lab when it is there, else a synthetic one."""
    try:
        from lab import Lab
        from tests.reports.lablib import explain, runner
    except ImportError:
        Lab = None
    if Lab is None:
        w = Writer(tmp_path, small_plan())
        w.start()
        w.wave(0)
        for h in ("m1", "m2", "m3"):
            w.step(0, 0, h, 0)
        w.wave(1)
        w.step(1, 0, "m1", 0, status="failed", rc=1, output="ERROR")
        w.end("failed")
        write_run_reports(w.folder)
        return w.folder
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m3", "fail-always", match="update.sh -c edge")
        res = runner(lab, "--all", reports=reports)
        assert res.returncode == 1, explain(res)
    (folder,) = [p for p in reports.iterdir() if (p / "journal.jsonl").exists()]
    return folder


def test_report_renders_in_chromium_with_the_timeline_and_no_request(tmp_path):
    _need_chromium()
    folder = _run_folder(tmp_path)
    OUT.mkdir(exist_ok=True)
    shot = OUT / "report-screenshot.png"
    shot.unlink(missing_ok=True)
    requested, box = render(folder / "report.html", shot, element="timeline")
    outside = [u for u in requested if not u.startswith("data:")]
    assert outside == [], f"the report tried to fetch: {outside}"
    # the embedded timeline decoded, is laid out inside the window, and shows on the picture
    assert box is not None, "no element with id timeline"
    assert box["complete"] and box["naturalWidth"] > 500, box
    assert box["display"] != "none" and box["visibility"] == "visible", box
    assert box["width"] > 300 and box["height"] > 100, box
    assert 0 <= box["top"] and box["top"] + box["height"] <= box["viewportHeight"], box
    assert colour_pixels(shot, WAVE_BLUE) > 500, "the timeline is not visible in the screenshot"
    shutil.copy(folder / "timeline.png", OUT / "timeline.png")


def test_the_network_check_would_catch_a_request(tmp_path):
    """The check really sees what a page fetches (else the test above proves nothing)."""
    _need_chromium()
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><img src="http://reports.example.invalid/x.png">'
                    '<img src="http://127.0.0.1:9/y.png">')
    requested, _ = render(page, tmp_path / "fetches.png", size=(400, 300))
    assert any("reports.example.invalid" in u for u in requested), requested
    assert any("127.0.0.1:9" in u for u in requested), requested
