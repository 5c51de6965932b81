"""Hold points through the lab: a run stops after a wave (or a canary host) at a journaled
hold, asks on a terminal, ends cleanly without one (exit 3) printing the command that goes
on, and --resume continues past the hold without asking again."""
from __future__ import annotations

import os
import pty
import select
import shlex
import subprocess
import sys
import time

from lab import Lab
from tests.e2e.helpers import ROOT, events, explain, run_ids, runner
from tests.e2e.test_run_identity import _pasted


def _continue_command(stdout: str) -> str:
    (line,) = [ln for ln in stdout.splitlines() if "to go on: " in ln]
    return line.split("to go on: ", 1)[1]


def _holds(evts, attempt=None):
    reached = [e for e in evts if e["event"] == "hold"]
    answered = [e for e in evts if e["event"] == "hold_end"]
    assert [(e["wave"], e["batch"], e["attempt"]) for e in reached] == \
        [(e["wave"], e["batch"], e["attempt"]) for e in answered]
    return [(e["wave"], e["answer"]) for e in answered if (attempt is None or e["attempt"] == attempt)]


def _paused_after(lab, reports, wave: str):
    """A full run with a hold after WAVE, without a terminal: it ends there with status 3."""
    res = runner(lab, "--all", "--yes", "--pause-after", wave, reports=reports)
    assert res.returncode == 3, explain(res)
    (run_id,) = run_ids(reports)
    return res, run_id


def test_pause_after_without_a_terminal_ends_cleanly_and_resume_goes_on(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        res, run_id = _paused_after(lab, reports, "cs_zk")
        assert f"run {run_id}: HELD" in res.stdout
        assert "  hold points (the run asks there): cs_zk batch 2 (pause after wave cs_zk)" \
            in res.stdout.splitlines()[3:5]
        assert "held after cs_zk batch 2: pause after wave cs_zk" in res.stdout
        evts = events(reports, run_id)
        assert _holds(evts) == [("cs_zk", "no terminal")]
        assert evts[-1]["event"] == "run_end" and evts[-1]["status"] == "held"
        updated = {e["host"] for e in evts if e["event"] == "step_end" and e["wave"] == "cs_zk"
                   and e["action"] == "update" and e["status"] == "ok"}
        assert updated == {"m1", "m2", "m3"}
        assert not [e for e in evts if e["event"] == "step_start" and e["wave"] == "qpid"]
        assert "HELD" in (reports / run_id / "report.html").read_text()
        assert lab.verdict().ok, lab.verdict().violations

        again = _pasted(_continue_command(res.stdout), tmp_path)
        assert again.returncode == 0, explain(again, lab)
        assert "hold points (the run asks there)" not in again.stdout   # passed, not asked
        evts = events(reports, run_id)
        assert _holds(evts, attempt=2) == [("cs_zk", "resumed")]      # not asked again
        first_ok = {e["key"] for e in evts if e["event"] == "step_end" and e["attempt"] == 1
                    and e["status"] == "ok"}
        second = {e["key"] for e in evts if e["event"] == "step_start" and e["attempt"] == 2}
        assert first_ok and not first_ok & second
        assert evts[-1]["status"] == "ok"
        assert lab.verdict(final=True).ok, lab.verdict(final=True).violations


def _on_a_terminal(argv: list[str], answers: list[str], timeout: float = 300) -> tuple[int, str]:
    """The runner on a pseudo-terminal, answering each hold's question in turn."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=slave, stdout=slave, stderr=slave,
                            env=dict(os.environ, NO_COLOR="1"), close_fds=True)
    os.close(slave)
    text, asked = "", 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536).decode(errors="replace")
            except OSError:                      # the runner ended: the terminal is gone
                break
            if not chunk:
                break
            text += chunk
            if text.count("Continue the run? [y/N]") > asked:
                os.write(master, (answers[asked] + "\n").encode())
                asked += 1
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, text


def test_canary_goes_first_holds_asks_and_resume_does_the_rest(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        argv = [sys.executable, str(ROOT / "runner.py"), "--config", str(lab.config_path),
                "--reports", str(reports), "--all", "--yes", "--canary", "m1"]
        # on a terminal: yes after the datastore canary, no after the edge canary
        rc, text = _on_a_terminal(argv, ["y", "n"])
        assert rc == 3, text[-3000:]
        assert "HOLD after cs_zk batch 2: canary m1: wave cs_zk done on m1 only" in text
        assert "HOLD after edge batch 2: canary m1: wave edge done on m1 only" in text
        (run_id,) = run_ids(reports)
        evts = events(reports, run_id)
        assert _holds(evts) == [("cs_zk", "continue"), ("edge", "stop")]
        ends = {(e["wave"], e["host"]): e for e in evts
                if e["event"] == "step_end" and e["action"] == "update"}
        starts = {(e["wave"], e["host"]): e for e in evts
                  if e["event"] == "step_start" and e["action"] == "update"}
        for other in ("m2", "m3"):                 # the canary's update ended before theirs began
            assert ends[("cs_zk", "m1")]["end"] <= starts[("cs_zk", other)]["start"]
        assert ("edge", "m1") in ends and ("edge", "m2") not in starts
        assert lab.verdict().ok, lab.verdict().violations

        command = _continue_command(text.replace("\r\n", "\n"))
        assert "--canary" not in shlex.split(command)          # the journal keeps the holds
        res = _pasted(command, tmp_path)
        assert res.returncode == 0, explain(res, lab)
        evts = events(reports, run_id)
        assert _holds(evts, attempt=2) == [("cs_zk", "resumed"), ("edge", "resumed")]
        assert ends[("edge", "m1")]["end"] <= next(
            e["start"] for e in evts if e["event"] == "step_start" and e["action"] == "update"
            and e["wave"] == "edge" and e["host"] == "m2")
        assert lab.verdict(final=True).ok, lab.verdict(final=True).violations


def test_resume_refuses_other_hold_options(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        _, run_id = _paused_after(lab, reports, "prepare")
        res = runner(lab, "--resume", run_id, "--yes", "--pause-after", "ldap", reports=reports)
        assert res.returncode == 2 and "hold points cannot change within a run" in res.stderr
        assert "--pause-after prepare" in res.stderr
        res = runner(lab, "--resume", run_id, "--yes", "--pause-after", "prepare", reports=reports)
        assert res.returncode == 0, explain(res, lab)
