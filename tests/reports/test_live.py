"""Live progress: the rich panel follows the events; plain lines without a terminal."""
from __future__ import annotations

import io

from rich.console import Console

from fleet.run import progress
from fleet.run.live import RichProgress, short
from tests.reports.synthetic import small_plan


def panel_text(p: RichProgress) -> str:
    out = io.StringIO()
    Console(file=out, width=140, color_system=None).print(p.render())
    return out.getvalue()


def test_panel_shows_wave_batch_hosts_and_what_they_wait_on():
    log = io.StringIO()
    p = RichProgress(small_plan(), console=Console(file=log, width=140, color_system=None))
    with p:
        p.on_event("wave_start", {"wave": "cs_zk", "index": 1, "of": 3, "batches": 2})
        p.on_event("batch_start", {"wave": "cs_zk", "batch": 1, "label": "dc-1 #2, dc-2",
                                   "of": 2, "hosts": ["m2", "m3"]})
        p.on_event("step_start", {"host": "m2", "action": "update", "kind": "shell", "index": 0,
                                  "command": "sudo /opt/apigee/apigee-setup/bin/update.sh "
                                             "-c cs,zk -f /opt/silent.conf"})
        p.on_event("step_start", {"host": "m3", "action": "drain", "kind": "poll", "index": 0,
                                  "command": "qpid-stat -q"})
        p.on_event("waiting", {"host": "m3", "action": "drain", "detail": "queue ax: 12 msg"})
        text = panel_text(p)
        assert "wave 2/3 cs_zk" in text and "batch 2/2 dc-1 #2, dc-2" in text
        assert "0 done · 2 running · 0 failed" in text
        assert "update.sh -c cs,zk -f /opt/silent.conf" in text      # what m2 is busy with
        assert "queue ax: 12 msg" in text                             # what m3 waits on
        p.on_event("step_end", {"host": "m2", "action": "update", "status": "failed", "index": 0,
                                "key": "1/1/m2/0", "error": "exit status 3"})
        for i in (0, 1):
            p.on_event("step_end", {"host": "m3", "action": "x", "status": "ok", "index": i,
                                    "key": f"1/1/m3/{i}"})
        text = panel_text(p)
        assert "1 done · 0 running · 1 failed" in text
        assert "2/13 steps" in text                     # the failed step is not done
        assert "0 host(s) done · 1 failed · 2 to go" in text
        for i in (0, 1):                     # m3's last step of the plan: m3 is done
            p.on_event("step_end", {"host": "m3", "action": "x", "status": "ok", "index": i,
                                    "key": f"2/0/m3/{i}"})
        assert "1 host(s) done · 1 failed · 1 to go" in panel_text(p)
    scroll = log.getvalue()
    assert "wave 2/3 cs_zk (2 batch(es))" in scroll
    assert "FAILED m2 update (cs_zk batch 2): exit status 3" in scroll


def test_short_command_drops_sudo_and_paths():
    assert short("sudo /opt/apigee/apigee-service/bin/apigee-all status") == "apigee-all status"
    assert len(short("x " * 100, 40)) == 40


def test_plain_progress_without_a_terminal_or_with_no_color(monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert isinstance(progress.make_progress(small_plan()), progress.PlainProgress)
    monkeypatch.delenv("NO_COLOR")
    assert isinstance(progress.make_progress(small_plan()), RichProgress)
