"""report.html while a lab run goes on: it exists before the end, says the run is in
progress and reloads itself, is never seen half written; at the end it is the final report,
which no longer reloads."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reports.lablib import ROOT

pytestmark = pytest.mark.lab       # starts a lab or a browser (tests/conftest.py)

lab_module = pytest.importorskip("lab")

REFRESH = re.compile(r'<meta http-equiv="refresh" content="(\d+)">')


def _read_whole(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    # written by rename: a reader sees a whole page or the one before, never a part
    assert text.rstrip().endswith("</html>"), f"half a page: ...{text[-200:]!r}"
    return text


def test_the_page_is_live_during_the_run_and_final_after_it(tmp_path):
    reports = tmp_path / "reports"
    with lab_module.Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m1", "hang", match="update.sh -c ldap")        # the run stops there
        proc = subprocess.Popen([sys.executable, str(ROOT / "runner.py"), "--all", "--yes",
                                 "--config", str(lab.config_path), "--reports", str(reports)],
                                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=dict(os.environ, NO_COLOR="1"))
        try:
            live, reads = None, 0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                for page in reports.glob("*/report.html"):
                    text = _read_whole(page)
                    reads += 1
                    if text and "running" in text and "wave ldap" in text:
                        live = text
                if live:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the run ended before its live page was seen"
            assert live, "no live page showed the hanging ldap update"
            (folder,) = [p.parent for p in reports.glob("*/journal.jsonl")]
            assert not (folder / "steps.csv").exists()       # the run really is not over
            banner = re.search(r"<div class='banner (\w+)' id='outcome'>([^<]*)", live)
            assert banner and banner.group(1) == "live", banner
            assert banner.group(2).startswith("IN PROGRESS, wave ldap")
            assert "1 running" in banner.group(2)
            assert REFRESH.search(live) and int(REFRESH.search(live).group(1)) <= 10
            # the hanging step is a running row of the ldap wave, expanded
            assert re.search(r"<details open><summary>ldap: running", live)
            lab.clear_faults()
            for _ in range(40):                   # keep reading while the page is replaced
                _read_whole(folder / "report.html")
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    final = _read_whole(folder / "report.html")
    assert final and not REFRESH.search(final)
    assert "IN PROGRESS" not in final and "Completed" in final
    assert (folder / "attempt-1.html").exists() and (folder / "steps.csv").exists()
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
