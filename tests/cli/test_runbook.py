"""--runbook FILE.md: the plan as a document for a change board. Pure assertions on the
12-node two-DC topology, and the command line: no secret, no connection, bad path exit 2."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from fleet.plan.holds import HoldOptions, apply_holds
from fleet.plan.estimate import clock, estimate
from fleet.plan.runbook import render_runbook
from fleet.settings import default_settings
from tests.cli.test_bad_input import FIVE, config, run, write_inventory
from tests.plans.summary import nodes_of, plan_of

CASES = Path(__file__).resolve().parents[1] / "plans" / "cases"


def book(name: str, holds=(), canary=None) -> tuple[str, object, object]:
    case = yaml.safe_load((CASES / f"{name}.yaml").read_text())
    plan = apply_holds(plan_of(case), HoldOptions(tuple(holds), canary=canary))
    est = estimate(plan)
    return render_runbook(plan, nodes_of(case), default_settings(), est), plan, est


def test_every_wave_host_and_exact_command_with_the_estimates():
    text, plan, est = book("12-node-2dc")
    assert text.startswith("# Change runbook: Apigee Edge 4.16.09 → 4.18.01")
    assert "dc-1, dc-2" in text and "maintenance" in text
    for i, (wave, (_, secs)) in enumerate(zip(plan.waves, est.waves, strict=True), 1):
        assert f"### {i}. {wave.name} (about {clock(secs)})" in text
    for _, _, step in plan.iter_steps():
        assert f"| {step.host} |" in text                         # in the hosts table
        if not step.action.startswith("gate_"):
            line = re.compile(rf"^{re.escape(step.host)} +{re.escape(step.action)} +"
                              rf"{re.escape(step.command)}", re.M)
            assert line.search(text), (step.host, step.action, step.command)
    assert f"**Estimated window: {clock(est.total)} (" in text
    # gates read as rules, with what to do when they fail
    assert "`apigee-all version` at 4.18.01 for apigee-cassandra, apigee-zookeeper on" in text
    assert "if `gate_versions` fails: an earlier wave has not reached these hosts" in text
    # the rollback path
    assert "shared/docs/rollback.md" in text and "python runner.py rollback --dry-run" in text
    assert "spare standby" in text and "`rollback_add`" in text
    assert "None in this plan" in text                            # no hold point asked for


def test_secrets_by_name_and_hold_points():
    text, plan, _ = book("13-node-zero-downtime", holds=["cs_zk", "edge"])
    assert "`repo_password` (env `FLEET_REPO_PASSWORD`)" in text
    assert "`admin_password` (env `FLEET_ADMIN_PASSWORD`)" in text
    assert re.search(r"^- wave \d+ \*\*cs_zk\*\*, after batch \d+ \(.*\): pause after wave cs_zk$",
                     text, re.M)
    assert "**Hold point**: pause after wave edge. The run stops here" in text
    assert re.search(r"^\| \d+ \| cs_zk \|.*\| pause after wave cs_zk \|$", text, re.M)
    assert "None in this plan" not in text
    assert "# runner waits 120s" in text                          # the load balancer's pause
    assert "zero-downtime (rolling" in text


def test_a_canary_is_its_own_batch_with_a_hold():
    text, plan, _ = book("13-node", canary="m12")          # a Qpid node: qpid and edge waves
    assert len(re.findall(r"^Batch 2 \(canary m12\): m12, one host; about ", text, re.M)) == 2
    for wave in ("qpid", "edge"):
        assert f"**Hold point**: canary m12: wave {wave} done on m12 only." in text
        assert re.search(rf"^- wave \d+ \*\*{wave}\*\*, after batch 2 \(canary m12\)", text, re.M)


def test_cli_writes_it_without_secrets_or_connections(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    cfg = config(tmp_path)
    before = listener.hits
    secret = "Very-Secret-Repo-Pw-123"
    out = tmp_path / "change.md"
    res = run(["--config", str(cfg), "--inventory", str(inv), "--runbook", str(out)], tmp_path,
              {"FLEET_REPO_PASSWORD": secret, "FLEET_ADMIN_PASSWORD": secret})
    assert res.returncode == 0, res.stderr
    assert "runbook written to" in res.stdout and "nothing was run" in res.stdout
    text = out.read_text()
    assert secret not in text and "`repo_password`" in text
    assert "### 1. preflight" in text and "| m5 | 127.0.0.5:" in text
    assert listener.hits == before, "a host was contacted"
    # with a selection: only those waves, and still nothing runs
    res = run(["--config", str(cfg), "--inventory", str(inv), "--wave", "cs_zk",
               "--runbook", str(out)], tmp_path)
    assert res.returncode == 0, res.stderr
    picked = out.read_text()
    assert "### 2. cs_zk" in picked and ". edge_pg (about" not in picked and "### 3." not in picked
    assert listener.hits == before


def test_cli_bad_path_is_exit_2(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    res = run(["--config", str(config(tmp_path)), "--inventory", str(inv),
               "--runbook", str(tmp_path / "no" / "such" / "dir.md")], tmp_path)
    assert res.returncode == 2
    assert "--runbook" in res.stderr and "cannot write" in res.stderr
    assert "Traceback" not in res.stderr
