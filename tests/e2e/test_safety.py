"""Issue 11 through the lab: what a careful attacker and a tired operator found, each
shown to be refused or handled by the real runner over real SSH."""
from __future__ import annotations

import json
from pathlib import Path

from lab import Lab
from tests.e2e.helpers import events, explain, run_ids, runner


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
