"""Reports in headless Chromium: a failed run's page, its resume's and a zero-downtime
run's render without sideways scrolling at 1400 and 1000 px, the wave swatches carry the
fixed wave colours and those colours are on the screen, the timeline is decoded and inside
the window, and no page sends a request anywhere. Screenshots go to test-output/ (the
pictures of docs/reports/ are made by ``python -m tests.reports.screenshots``)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reports.browser import CHROMIUM, render
from tests.reports.lablib import ROOT
from tests.reports.shots import PAGES, lab_runs, look

pytestmark = pytest.mark.lab       # starts a lab or a browser (tests/conftest.py)

OUT = ROOT / "test-output"


def _need_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        print(f"SKIPPED: {CHROMIUM} is absent (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run this test")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    _need_chromium()
    pytest.importorskip("lab")
    return lab_runs(tmp_path_factory.mktemp("browser"))


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("width", [1400, 1000])
def test_the_report_fits_the_window_with_the_wave_colours(pages, name, width):
    OUT.mkdir(exist_ok=True)
    shot = OUT / f"report-{name}-{width}.png"
    shot.unlink(missing_ok=True)
    seen = look(pages[name], shot, size=(width, 1600))
    assert seen["requested"] == [], f"the report tried to fetch: {seen['requested']}"
    assert seen["scrollWidth"] <= seen["viewportWidth"] == width, seen
    assert seen["sticking_out"] == [], seen["sticking_out"]
    assert not seen["refresh"]                           # a finished run's page stays put
    tl = seen["timeline"]
    assert tl and tl["complete"] and tl["naturalWidth"] > 500 and tl["width"] <= width, tl
    waves = {"failed": {"preflight", "prepare", "cs_zk", "qpid", "ldap", "edge"},
             "resumed": {"preflight", "edge", "ui", "postgres", "validate"},
             "zero-downtime": {"preflight", "cs_zk", "qpid", "edge", "validate"}}[name]
    assert waves <= set(seen["colours"]), seen["colours"]
    for wave, c in seen["colours"].items():
        assert c["swatch"], (wave, seen["swatches"][wave])
        # the wave's colour is on the screen (the swatches, the timeline's bars and legend)
        assert c["pixels"] > 40, (wave, c)


def test_the_network_check_would_catch_a_request(tmp_path):
    """The check really sees what a page fetches (else the test above proves nothing)."""
    _need_chromium()
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><img src="http://reports.example.invalid/x.png">'
                    '<img src="http://127.0.0.1:9/y.png">')
    requested, _ = render(page, tmp_path / "fetches.png", size=(400, 300))
    assert any("reports.example.invalid" in u for u in requested), requested
    assert any("127.0.0.1:9" in u for u in requested), requested


def test_the_layout_check_would_catch_a_page_wider_than_the_window(tmp_path):
    """A page with the old 1400 px wall of a table does scroll sideways, and is seen to."""
    _need_chromium()
    page = tmp_path / "wide.html"
    page.write_text("<!DOCTYPE html><table><tr>" + "".join(
        f"<td>waves_run_{i}_without_any_break</td>" for i in range(60)) + "</tr></table>")
    seen = look(page, tmp_path / "wide.png", size=(1000, 400))
    assert seen["scrollWidth"] > seen["viewportWidth"] and seen["sticking_out"]
