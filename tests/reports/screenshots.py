"""Make the pictures of docs/reports.md and the README from real lab runs:

    python -m tests.reports.screenshots [OUT_DIR]     (default docs/reports/)

12-node two-data-centre labs at a speed where steps take visible time: an `--all` run
whose Edge update fails once on one node (its live page is caught while it runs), its
`--resume`, a `--zero-downtime` run; then an audit of a lab with one node left behind.
Each page is checked as tests/reports/test_browser.py checks it. Needs /usr/bin/chromium.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

from tests.reports.browser import render
from tests.reports.lablib import ROOT, runner
from tests.reports.shots import lab_runs, look


class LiveCatcher(threading.Thread):
    """Keeps the last in-progress report.html seen under ``reports`` while a run goes."""

    def __init__(self, reports: Path) -> None:
        super().__init__(daemon=True)
        self.reports, self.page, self.stop = reports, "", threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for page in self.reports.glob("*/report.html"):
                text = page.read_text(encoding="utf-8")
                if "IN PROGRESS" in text and "wave edge" in text:
                    self.page = text


def main(argv: list[str]) -> int:
    from lab import Lab

    out = Path(argv[0]) if argv else ROOT / "docs" / "reports"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="report-shots-"))
    catcher = LiveCatcher(work / "reports")
    catcher.start()
    pages = lab_runs(work, topology="12-node-2dc", speed=0.03, zd_topology="12-node-2dc",
                     timeout=900)
    catcher.stop.set()
    bad = []
    for name, page in pages.items():
        seen = look(page, out / f"report-{name}.png", size=(1400, 1500))
        if seen["scrollWidth"] > seen["viewportWidth"] or seen["requested"] or \
                not all(c["swatch"] for c in seen["colours"].values()):
            bad.append((name, seen))
    shutil.copy(pages["resumed"].parent / "timeline.png", out / "timeline.png")
    # the tables below the fold of the pictures above: Waves and Hosts of the resumed run
    render(pages["resumed"], out / "report-tables.png", size=(1400, 1300),
           probe="document.getElementById('waves').scrollIntoView(), 0")
    if catcher.page:
        live = work / "live.html"
        live.write_text(catcher.page, encoding="utf-8")
        render(live, out / "report-live.png", size=(1400, 900))
    with Lab.start(topology="5-node", directory=work / "audit-lab", speed=0.0) as lab:
        runner(lab, "--wave", "prepare,cs_zk,qpid", reports=work / "audit")
        lab.set_state("m3", version="4.16.09", components=["cs"])
        audit = runner(lab, "audit", reports=work / "audit")
    (folder,) = [p for p in (work / "audit").iterdir() if p.name.startswith("audit-")]
    render(folder / "report.html", out / "audit.png", size=(1400, 1300))
    print(f"pictures in {out}; run folders in {work}" + (f"; audit exit {audit.returncode}"))
    for name, seen in bad:
        print(f"LAYOUT PROBLEM in {name}: {seen}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
