"""Issue 15's Done-when through the lab, with the real runner over real SSH:

- an update that failed in the edge wave, rolled back with ``--components edge``, then
  updated again, ends clean at 4.18.01;
- an update that failed in the postgres wave after ``db_upgrade``, rolled back whole, ends
  with ``verdict --final --expect-version 4.16.09`` clean: the spare is the master and no
  analytics were lost.

5-node always; the 9-, 13- and 12-node two-DC topologies with FLEET_E2E_ALL_TOPOLOGIES=1
(several minutes each on a shared 2-core machine)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lab import Lab
from tests.e2e.helpers import events, explain, run_ids, runner

pytest.importorskip("lab.commands.rollback", reason="the lab's rollback emulation (branch i15lab)")
ALL = os.environ.get("FLEET_E2E_ALL_TOPOLOGIES") == "1"
# topology -> (a host of the edge wave after the first one, the PostgreSQL standby, a host
# whose edge update completed before that failure)
TOPOLOGIES = {"5-node": ("m2", "m5", "m1"), "9-node": ("m1", "m9", "m6"),
              "13-node": ("m10", "m9", "m12"), "12-node-2dc": ("m1", "m12", "m4")}
PARAMS = [pytest.param(t, marks=[] if t == "5-node" or ALL else pytest.mark.skip(
    reason="set FLEET_E2E_ALL_TOPOLOGIES=1 to run the bigger topologies")) for t in TOPOLOGIES]


def _latest(reports, before: list[str]) -> str:
    (new,) = [r for r in run_ids(reports) if r not in before]
    return new


def _fail_update(lab, reports, host: str, code: str, wave: str) -> None:
    """An update run that fails for good at `update.sh -c CODE` on HOST, in WAVE."""
    lab.fault(host, "fail-always", match=f"update.sh -c {code}")
    res = runner(lab, "--all", "--yes", reports=reports, timeout=900)
    assert res.returncode == 1 and f"failed: {wave}" in res.stdout, explain(res)


@pytest.mark.parametrize("topology", PARAMS)
def test_edge_failure_rolled_back_by_component_then_updated_again(tmp_path, topology):
    reports = tmp_path / "reports"
    edge_host, _, done_host = TOPOLOGIES[topology]
    with Lab.start(topology=topology, directory=tmp_path / "lab", speed=0.0) as lab:
        _fail_update(lab, reports, edge_host, "edge", "edge")
        lab.clear_faults()
        before = run_ids(reports)
        # refused without --accept-inferred, nothing done
        res = runner(lab, "rollback", "--components", "edge", "--yes", reports=reports)
        assert res.returncode == 2 and "--accept-inferred" in res.stderr, explain(res)
        assert run_ids(reports) == before
        # another run's lease on a node (an update started from another control host):
        # refused before any change, the holder named
        lease = Path(lab.host_data(done_host)["apigee_root"]) / ".fleet-runner.lease"
        lease.write_text(json.dumps({"run_id": "20260101T000000-0099", "host": "ctl2",
                                     "pid": 4242, "since": "2026-01-01T00:00:00Z"}) + "\n")
        res = runner(lab, "rollback", "--components", "edge", "--yes", "--accept-inferred",
                     reports=reports)
        assert res.returncode == 2 and "held by run 20260101T000000-0099" in res.stderr, explain(res)
        assert run_ids(reports) == before                   # no run started
        lease.unlink()
        # a rollback that stops half-way is resumed from its journal with its stored plan
        lab.fault(done_host, "fail-once", match="setup.sh -p")
        res = runner(lab, "rollback", "--components", "edge", "--yes", "--accept-inferred",
                     reports=reports, timeout=900)
        rb = _latest(reports, before)
        assert res.returncode == 1 and f"rollback --resume {rb}" in res.stdout, explain(res)
        first = {e["key"] for e in events(reports, rb)
                 if e["event"] == "step_end" and e["status"] == "ok"}
        res = runner(lab, "rollback", "--resume", rb, "--yes", "--accept-inferred",
                     reports=reports, timeout=900)
        assert res.returncode == 0, explain(res, lab)
        evts = events(reports, rb)
        assert not first & {e["key"] for e in evts if e["event"] == "step_start"
                            and e["attempt"] == 2}, "a completed step ran again"
        waves = {e["wave"] for e in evts if e["event"] == "step_end"}
        assert "rb_edge" in waves and "rb_postgres" not in waves
        assert not any(e.get("action") == "update" for e in evts if e["event"] == "step_start")
        assert (reports / rb / "report.html").exists()
        before = run_ids(reports)
        assert "--from-wave prepare" in res.stdout        # the spare stays: no rollback_add
        res = runner(lab, "--from-wave", "prepare", "--yes", reports=reports, timeout=900)
        assert res.returncode == 0, explain(res, lab)
        v = lab.verdict(final=True)
        assert v.ok, v.violations


@pytest.mark.parametrize("topology", PARAMS)
def test_postgres_failure_after_db_upgrade_rolled_back_whole(tmp_path, topology):
    reports = tmp_path / "reports"
    _, standby, _ = TOPOLOGIES[topology]
    with Lab.start(topology=topology, directory=tmp_path / "lab", speed=0.0) as lab:
        _fail_update(lab, reports, standby, "ps", "postgres")
        (update_run,) = run_ids(reports)
        assert any(e.get("action") == "db_upgrade" and e.get("status") == "ok"
                   for e in events(reports, update_run) if e["event"] == "step_end")
        lab.clear_faults()
        res = runner(lab, "rollback", "--yes", "--accept-inferred", reports=reports, timeout=900)
        assert res.returncode == 0, explain(res, lab)
        assert f"failed update run {update_run}" in res.stdout
        assert "restore the pre-update backup by hand" in res.stdout
        rb = _latest(reports, [update_run])
        evts = events(reports, rb)
        assert any(e.get("action") == "promote" and e.get("status") == "ok" for e in evts)
        assert not any(e.get("wave") == "rollback_retire" for e in evts)
        # retrying the update with the inventory unchanged would retire the new master
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 2 and "pgr is the PostgreSQL master since rollback run" \
            in res.stderr, explain(res)
        v = lab.verdict(final=True, expect_version="4.16.09")
        assert v.ok, v.violations
        st = lab.state()
        assert st["hosts"]["pgr"]["postgres"] == "master"               # the spare serves
        assert st["hosts"][standby]["postgres"] == "standby"
        assert st["hosts"]["pgr"]["components"]["ps"]["version"] == "4.16.09"
        a = st["analytics"]
        # nothing lost: every message produced is stored or still on its way (traffic goes on)
        assert a["lost"] == 0 and a["stored"] > 0, a
        assert a["produced"] == a["stored"] + a["in_brokers"] + a["buffered"], a
