"""The reports child's live loop (fleet/reports/livepage.py) without a lab: a burst of
`live` pokes makes few pages, the last poke is never lost, `write` and the end of input
both end with the final reports; and a real live page from a synthetic journal."""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from fleet.reports import livepage, write_run_reports
from tests.reports.synthetic import Writer, into_cs_zk


def _running(tmp_path: Path) -> Writer:
    w = into_cs_zk(tmp_path)
    w.step(1, 0, "m1", 0, end=False)          # running now: no step_end, no run_end
    return w


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, bool]]:
    seen: list[tuple[float, bool]] = []
    monkeypatch.setattr(livepage, "write_run_reports",
                        lambda folder, live=False: seen.append((time.monotonic(), live)))
    return seen


def _serve(folder: Path, interval: float) -> tuple[int, threading.Thread]:
    r, w = os.pipe()
    t = threading.Thread(target=livepage.follow, args=(folder, r, interval), daemon=True)
    t.start()
    return w, t


def test_a_burst_of_pokes_makes_few_pages_and_the_last_is_not_lost(tmp_path, calls):
    folder = _running(tmp_path).folder
    fd, t = _serve(folder, 0.3)
    for _ in range(50):
        os.write(fd, b"live\n")
        time.sleep(0.01)
    last_poke = time.monotonic()
    time.sleep(0.8)
    os.write(fd, b"write\n")
    t.join(10)
    os.close(fd)
    live = [at for at, is_live in calls if is_live]
    assert 1 <= len(live) < 10, live                       # 50 pokes, a handful of pages
    assert live[-1] >= last_poke                           # the state after the last poke
    assert all(b - a >= 0.3 for a, b in zip(live, live[1:], strict=False))
    assert calls[-1][1] is False and not t.is_alive()      # then the final reports


def test_the_end_of_input_without_write_still_writes_the_final_reports(tmp_path, calls):
    folder = _running(tmp_path).folder
    fd, t = _serve(folder, 0.3)
    os.write(fd, b"live\n")
    os.close(fd)                                           # the runner was killed
    t.join(10)
    assert not t.is_alive() and calls and calls[-1][1] is False


def test_a_resumed_attempt_owns_the_page_after_a_kill(tmp_path, calls):
    w = _running(tmp_path)
    fd, t = _serve(w.folder, 0.3)
    time.sleep(0.2)
    w.start(2)                                             # --resume began meanwhile
    os.close(fd)
    t.join(10)
    assert not [c for c in calls if c[1] is False]         # its child writes, not this one


def test_the_live_page_says_in_progress_and_reloads(tmp_path):
    w = _running(tmp_path)
    write_run_reports(w.folder, live=True)
    page = (w.folder / "report.html").read_text()
    assert re.search(r'<meta http-equiv="refresh" content="5">', page)
    assert "IN PROGRESS, wave cs_zk: 3 of " in page and "1 running" in page
    assert not (w.folder / "steps.csv").exists()           # only the page, while running
    w.step(1, 0, "m1", 1)
    w.end("ok")
    write_run_reports(w.folder)
    page = (w.folder / "report.html").read_text()
    assert 'http-equiv="refresh"' not in page and "IN PROGRESS" not in page


def test_a_journal_change_without_a_poke_makes_a_page(tmp_path, calls, monkeypatch):
    monkeypatch.setattr(livepage, "WATCH", 0.2)
    w = _running(tmp_path)
    fd, t = _serve(w.folder, 0.3)
    time.sleep(0.5)
    assert not calls                                       # nothing changed, nothing made
    w.event("hold", wave="cs_zk", wave_index=1, batch=0, reason="--pause-after cs_zk")
    time.sleep(1.0)
    os.write(fd, b"write\n")
    t.join(10)
    os.close(fd)
    assert [live for _, live in calls] == [True, False]


def test_a_live_page_waiting_at_a_hold_point_says_so(tmp_path):
    w = _running(tmp_path)
    w.step(1, 0, "m1", 0)
    w.event("hold", wave="cs_zk", wave_index=1, batch=0, reason="--pause-after cs_zk")
    write_run_reports(w.folder, live=True)
    page = (w.folder / "report.html").read_text()
    assert "HELD after wave cs_zk batch 1 (--pause-after cs_zk): waiting for the operator" in page
    w.event("hold_end", wave="cs_zk", wave_index=1, batch=0, answer="continue")
    write_run_reports(w.folder, live=True)
    assert "waiting for the operator" not in (w.folder / "report.html").read_text()
