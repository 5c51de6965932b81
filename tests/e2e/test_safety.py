"""Issue 11 through the lab: what a careful attacker and a tired operator found, each
shown to be refused or handled by the real runner over real SSH."""
from __future__ import annotations

import json
from pathlib import Path

from lab import Lab
from fleet.run.lock import LEASE
from tests.e2e.helpers import events, explain, run_ids, runner
from tests.e2e.test_failures import _runner_until, _runner_until_qpid


def test_a_secret_that_is_a_common_word_changes_no_plan_and_resume_works(tmp_path):
    """FLEET_REPO_USER=apigee: the run's plan.json is the plan as built (no /opt/********),
    its digest unchanged, so --resume is not refused; and a torn last journal line does not
    swallow the resumed attempt's run_start."""
    reports = tmp_path / "reports"
    env = {"FLEET_REPO_USER": "apigee"}
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m1", "fail-always", match="apigee-all status")
        res = runner(lab, "--wave", "preflight", "--yes", reports=reports, env=env)
        assert res.returncode == 1, explain(res)
        (run_id,) = run_ids(reports)
        folder = reports / run_id
        plan_text = (folder / "plan.json").read_text()
        assert "********" not in plan_text and "/opt/apigee/apigee-service" in plan_text
        out = tmp_path / "plan.json"
        assert runner(lab, "--wave", "preflight", "--plan-out", str(out), "--dry-run",
                      reports=reports, env=env).returncode == 0
        assert json.loads(out.read_text()) == json.loads(plan_text)
        starts = [e for e in events(reports, run_id) if e["event"] == "step_start"]
        assert any("/opt/apigee/" in e["command"] for e in starts)
        with (folder / "journal.jsonl").open("a") as fh:
            fh.write('{"event": "step_end", "key": "0/0/m1/9", "sta')      # killed mid-write
        lab.clear_faults()
        res = runner(lab, "--resume", run_id, "--yes", reports=reports, env=env)
        assert res.returncode == 0, explain(res, lab)
        assert [e["attempt"] for e in events(reports, run_id) if e["event"] == "run_start"] == [1, 2]


def _lease_files(lab) -> dict[str, str]:
    out = {}
    for h in lab.state()["hosts"]:
        f = Path(lab.host_data(h)["apigee_root"]) / LEASE
        if f.exists():
            out[h] = f.read_text()
    return out


def test_a_second_runner_is_refused_and_a_killed_runs_leases_hold_until_resumed(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_LOCK_DIR", str(tmp_path / "locks"))
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.05) as lab:
        first, run_id = _runner_until_qpid(lab, reports)
        assert run_id, "the run never started"
        # the same installation from another reports folder: the control host's lock
        res = runner(lab, "--all", "--yes", reports=tmp_path / "other")
        assert res.returncode == 2, explain(res)
        assert f"another runner is working on this installation: run {run_id} (pid {first.pid}" in res.stderr
        assert not (tmp_path / "other").exists() or not run_ids(tmp_path / "other")
        first.kill()
        first.wait()
        leases = _lease_files(lab)
        assert set(leases) == {"m1", "m2", "m3", "m4", "m5", "pgr"}
        assert all(json.loads(text)["run_id"] == run_id for text in leases.values())
        # the kernel dropped the control lock; the nodes' leases still name the killed run
        res = runner(lab, "--all", "--yes", reports=tmp_path / "other")
        assert res.returncode == 2, explain(res)
        assert f"held by run {run_id}" in res.stderr and "--break-lock" in res.stderr
        assert "Traceback" not in res.stderr
        # the killed run itself may go on: --resume takes its own leases over
        res = runner(lab, "--resume", run_id, "--yes", reports=reports)
        assert res.returncode == 0, explain(res, lab)
        assert _lease_files(lab) == {}
        verdict = lab.verdict(final=True)
        assert verdict.ok, verdict.violations


def test_break_lock_takes_over_the_leases_of_a_crashed_run(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_LOCK_DIR", str(tmp_path / "locks"))
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.05) as lab:
        first, run_id = _runner_until(
            lab, reports, lambda e: e["event"] == "step_start" and e["wave"] == "prepare")
        assert run_id, "the run never started"
        first.kill()
        first.wait()
        assert set(_lease_files(lab)) == {"m1", "m2"}
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 2 and f"held by run {run_id}" in res.stderr, explain(res)
        res = runner(lab, "--all", "--yes", "--break-lock", reports=reports)
        assert res.returncode == 0, explain(res, lab)
        assert _lease_files(lab) == {}
        second = [r for r in run_ids(reports) if r != run_id][0]
        (start,) = [e for e in events(reports, second) if e["event"] == "run_start"]
        assert start["break_lock"] is True and sorted(start["leases"]) == ["m1", "m2"]
        assert lab.verdict(final=True).ok
