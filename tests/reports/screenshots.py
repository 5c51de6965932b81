"""Make the pictures of docs/reports.md from a real lab run:

    python -m tests.reports.screenshots [OUT_DIR]     (default docs/reports/)

A 12-node, two-data-centre lab at a speed where steps take visible time; the Edge update of
one router node fails once, the run is resumed and completes; then an audit. Needs
/usr/bin/chromium for the page screenshots (the timeline is copied as is).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tests.reports.browser import render
from tests.reports.lablib import ROOT, explain, runner


def main(argv: list[str]) -> int:
    from lab import Lab

    out = Path(argv[0]) if argv else ROOT / "docs" / "reports"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="report-shots-"))
    reports = work / "reports"
    with Lab.start(topology="12-node-2dc", directory=work / "lab", speed=0.03) as lab:
        lab.fault("m3", "fail-once", match="update.sh -c edge")
        first = runner(lab, "--all", reports=reports, timeout=900)
        if first.returncode != 1:
            print(explain(first))
            return 1
        (folder,) = [p for p in reports.iterdir() if (p / "journal.jsonl").exists()]
        second = runner(lab, "--resume", folder.name, reports=reports, timeout=900)
        if second.returncode != 0:
            print(explain(second))
            return 1
        lab.set_state("m7", version="4.16.09", components=["ui"])   # something for the audit
        runner(lab, "audit", reports=reports)
    shutil.copy(folder / "timeline.png", out / "timeline.png")
    render(folder / "report.html", out / "report.png", size=(1400, 1500))
    (audit,) = [p for p in reports.iterdir() if p.name.startswith("audit-")]
    render(audit / "report.html", out / "audit.png", size=(1400, 1100))
    print(f"pictures in {out}; run folders in {reports}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
