"""Issue 14 through the lab: a run says who it is and how to resume it, with a command that
works when pasted; every step's whole output is kept per host, masked; the failure summary
quotes the failed command's last lines; the journal keeps a bounded tail."""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab import Lab
from tests.e2e.helpers import ROOT, events, explain, run_ids, runner


def _pasted(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """The printed command run as an operator pastes it: parsed by a shell's rules, from
    another directory, no terminal."""
    return subprocess.run(shlex.split(command), check=False, cwd=cwd, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1"))


def _secret_values(lab) -> list[str]:
    return [str(v) for v in lab.secrets.values() if v]


def test_whole_output_per_host_masked_and_summary_quotes_the_end(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m1", "fail-verbose", match="update.sh -c")
        res = runner(lab, "--all", "--yes", "--secrets", str(lab.secrets_path), reports=reports)
        assert res.returncode == 1, explain(res)
        (run_id,) = run_ids(reports)
        folder = (reports / run_id).absolute()
        # who the run is, first thing
        head = res.stdout.splitlines()[:3]
        assert head[0] == f"run {run_id}" and f"reports: {folder}/" in head[1], head
        assert head[2].startswith("  to resume if it stops: ") and f"--resume {run_id}" in head[2]

        (failed,) = [e for e in events(reports, run_id)
                     if e["event"] == "step_end" and e["status"] == "failed"]
        assert failed["host"] == "m1" and failed["action"] == "update"
        # the journal: a bounded tail
        tail = failed["output"].splitlines()
        assert len(tail) == 20 and "[40/40]" in tail[-1] and "[01/40]" not in failed["output"]
        # the host log: every line, the command as in the plan, the exit status
        log = (folder / "hosts" / "m1.log").read_text()
        for i in range(1, 38):
            assert f"[{i:02d}/40] checking component {i}\n" in log
        assert f"START update ({failed['wave']} batch" in log
        assert f"$ {failed['command']}\n" in log
        assert re.search(r"END update: exit status 1, FAILED: exit status 1 \(\d", log)
        assert log.startswith(f"##### run {run_id} attempt 1\n")
        assert "********@software.apigee.com" in log      # yum's URL, user and password masked
        # the summary quotes the last 10 lines and says where the rest is
        quoted = res.stdout[res.stdout.index("failed: "):]
        assert "last 10 line(s) of update" in quoted and "[31/40]" in quoted
        assert "[40/40] ERROR: operation failed" in quoted and "[30/40]" not in quoted
        assert f"whole output: {folder / 'hosts' / 'm1.log'}" in quoted
        page = (folder / "report.html").read_text()           # the report quotes it too
        assert "[40/40] ERROR: operation failed" in page and "href='hosts/m1.log'" in page
        assert f"Fix the cause, then {head[2].split(': ', 1)[1]}" in page
        # no secret on the terminal, in a log or in the journal
        texts = [res.stdout, res.stderr, (folder / "journal.jsonl").read_text()] + \
            [p.read_text() for p in (folder / "hosts").glob("*.log")]
        for value in _secret_values(lab):
            assert not any(re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w.-])", t) for t in texts), value

        # the printed command, pasted as is, from elsewhere, finishes the run
        line = next(ln for ln in res.stdout.splitlines() if "fix the cause, then: " in ln)
        command = line.split("fix the cause, then: ", 1)[1]
        assert f"--secrets {lab.secrets_path.absolute()}" in command
        assert not any(v in command for v in _secret_values(lab))
        lab.clear_faults()
        again = _pasted(command, tmp_path)
        assert again.returncode == 0, explain(again, lab)
        assert run_ids(reports) == [run_id]
        assert again.stdout.splitlines()[0] == f"run {run_id} (attempt 2)"
        log = (folder / "hosts" / "m1.log").read_text()
        assert "[37/40] checking component 37" in log                 # attempt 1 kept
        assert f"##### run {run_id} attempt 2\n" in log
        assert log.rindex("END update: exit status 0, ok") > log.index("attempt 2")
        assert lab.verdict(final=True).ok, lab.verdict(final=True).violations


def test_ctrl_c_prints_a_resume_command_that_works_when_pasted(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.05) as lab:
        cmd = [sys.executable, str(ROOT / "runner.py"), "--config", str(lab.config_path),
               "--reports", str(reports), "--secrets", str(lab.secrets_path), "--all", "--yes"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ, NO_COLOR="1"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
                e["event"] == "step_start" and e["wave"] == "qpid"
                for r in run_ids(reports) for e in events(reports, r)):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        (run_id,) = run_ids(reports)
        assert out.splitlines()[0] == f"run {run_id}"
        (line,) = [ln for ln in err.splitlines() if "resume with: " in ln]
        command = line.split("resume with: ", 1)[1]
        argv = shlex.split(command)
        assert argv[argv.index("--resume") + 1] == run_id
        assert argv[argv.index("--config") + 1] == str(Path(lab.config_path).absolute())
        assert argv[argv.index("--reports") + 1] == str(reports.absolute())
        assert "--yes" in argv and "--all" not in argv
        res = _pasted(command, tmp_path)
        assert res.returncode == 0, explain(res, lab)
        evts = events(reports, run_id)
        assert [e["status"] for e in evts if e["event"] == "run_end"] == ["interrupted", "ok"]
        assert lab.verdict(final=True).ok, lab.verdict(final=True).violations
