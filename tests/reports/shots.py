"""Lab runs whose reports are looked at in Chromium (tests/reports/test_browser.py) and
pictured in docs/reports/ (tests/reports/screenshots.py): a run that fails, its resume, and a
zero-downtime run; and what the browser sees of a page's layout."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fleet.reports.colours import wave_colour
from tests.reports.browser import LAYOUT, colour_pixels, render
from tests.reports.lablib import explain, runner

PAGES = ("failed", "resumed", "zero-downtime")


def lab_runs(base: Path, topology: str = "5-node", speed: float = 0.0,
             zd_topology: str = "5-node", fault: str = "m3",
             timeout: float = 300) -> dict[str, Path]:
    """page name -> its report.html. The failed attempt's page is attempt-1.html of the run
    that the resume completed: the resume kept it as it was."""
    from lab import Lab

    reports = base / "reports"
    with Lab.start(topology=topology, directory=base / "lab", speed=speed) as lab:
        lab.fault(fault, "fail-once", match="update.sh -c edge")
        first = runner(lab, "--all", reports=reports, timeout=timeout)
        assert first.returncode == 1, explain(first)
        (folder,) = [p for p in reports.iterdir() if (p / "journal.jsonl").exists()]
        second = runner(lab, "--resume", folder.name, reports=reports, timeout=timeout)
        assert second.returncode == 0, explain(second)
    zd_reports = base / "zd-reports"
    with Lab.start(topology=zd_topology, directory=base / "zd-lab", speed=speed,
                   probe=True) as lab:
        res = runner(lab, "--all", "--zero-downtime", reports=zd_reports, timeout=timeout)
        assert res.returncode == 0, explain(res)
        (zd,) = [p for p in zd_reports.iterdir() if (p / "journal.jsonl").exists()]
    return {"failed": folder / "attempt-1.html", "resumed": folder / "report.html",
            "zero-downtime": zd / "report.html"}


def look(page: Path, shot: Path, size: tuple[int, int] = (1400, 1600)) -> dict[str, Any]:
    """Render ``page``; its layout (LAYOUT), the URLs it requested, and per wave of its
    Waves table whether the swatch has the wave's fixed colour and the screenshot shows it."""
    requested, layout = render(page, shot, size=size, probe=LAYOUT)
    layout["requested"] = [u for u in requested if not u.startswith("data:")]
    layout["colours"] = {}
    for wave, css in layout["swatches"].items():
        rgb = tuple(int(wave_colour(wave)[i:i + 2], 16) for i in (1, 3, 5))
        layout["colours"][wave] = {"swatch": css == "rgb({}, {}, {})".format(*rgb),
                                   "pixels": colour_pixels(shot, rgb)}     # type: ignore[arg-type]
    return layout
