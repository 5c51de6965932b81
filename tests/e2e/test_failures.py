"""Each failure class stops the run as described, and a resumed run finishes the job
without repeating what was done (procedure: stop safely, resume where it stopped)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lab import Lab
from tests.e2e.helpers import ROOT, events, explain, run_ids, runner


def tuned(lab, folder: Path, **user_defined) -> Path:
    """A copy of the lab's runner config with some settings replaced."""
    cfg = yaml.safe_load(Path(lab.config_path).read_text())
    for key, value in user_defined.items():
        if isinstance(value, dict):
            cfg["user_defined"].setdefault(key, {}).update(value)
        else:
            cfg["user_defined"][key] = value
    path = folder / "tuned-config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def ends(evts, status=None):
    return [e for e in evts if e["event"] == "step_end" and (status is None or e["status"] == status)]


def test_non_zero_exit_stops_after_the_batch_and_resume_finishes(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m2", "fail-always", match="update.sh -c cs,zk")
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 1, explain(res)
        assert "failed: cs_zk" in res.stdout and "m2" in res.stdout
        (run_id,) = run_ids(reports)
        evts = events(reports, run_id)
        failed = ends(evts, "failed")
        assert [(e["wave"], e["host"], e["action"]) for e in failed] == [("cs_zk", "m2", "update")]
        # the other hosts of the batch finished; nothing after the batch started
        done_cs = {e["host"] for e in ends(evts, "ok") if e["wave"] == "cs_zk" and e["action"] == "update"}
        assert done_cs == {"m1", "m3"}
        assert not [e for e in evts if e["event"] == "step_start" and e["wave"] in ("qpid", "ldap", "edge")]
        assert "not run:" in res.stdout and "qpid" in res.stdout

        lab.clear_faults()
        res = runner(lab, "--resume", run_id, "--yes", reports=reports)
        assert res.returncode == 0, explain(res, lab)
        evts = events(reports, run_id)
        first_ok = {e["key"] for e in ends(evts, "ok") if e["attempt"] == 1}
        again = {e["key"] for e in evts if e["event"] == "step_start" and e["attempt"] == 2}
        assert not first_ok & again, "a completed step ran again"
        assert lab.verdict(final=True).ok, lab.verdict(final=True).violations


def test_timeout_stops_the_run(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        cfg = tuned(lab, tmp_path, timeouts={"update": 2})
        lab.fault("m1", "hang", match="update.sh -c ldap")
        t0 = time.monotonic()
        res = runner(lab, "--all", "--yes", "--config", str(cfg), reports=reports)
        assert res.returncode == 1, explain(res)
        assert time.monotonic() - t0 < 60
        (run_id,) = run_ids(reports)
        (failed,) = ends(events(reports, run_id), "failed")
        assert failed["host"] == "m1" and failed["wave"] == "ldap"
        assert "timeout" in failed["error"]


def test_lost_connection_stops_the_run(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m1", "drop", match="update.sh -c edge")
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 1, explain(res)
        (run_id,) = run_ids(reports)
        (failed,) = ends(events(reports, run_id), "failed")
        assert failed["host"] == "m1" and failed["wave"] == "edge"
        assert "connection lost" in failed["error"] or "cannot connect" in failed["error"]


def test_refused_connection_is_retried_then_fails(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        cfg = tuned(lab, tmp_path, retries={"connect_attempts": 2, "backoff": 0.1})
        lab.fault("m2", "refuse")
        res = runner(lab, "--all", "--yes", "--config", str(cfg), reports=reports)
        assert res.returncode == 1, explain(res)
        (run_id,) = run_ids(reports)
        failed = ends(events(reports, run_id), "failed")
        assert {e["host"] for e in failed} == {"m2"}
        assert "cannot connect" in failed[0]["error"]
        assert not [e for e in events(reports, run_id) if e["event"] == "step_start"
                    and e["wave"] != "preflight"], "nothing may change after a failed preflight"


def test_undrained_queue_removes_the_block_fails_the_wave_and_resume_blocks_again(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        cfg = tuned(lab, tmp_path, qpid={"drain_timeout": 1, "drain_interval": 0.2})
        lab.fault("m4", "undrainable")
        res = runner(lab, "--all", "--yes", "--config", str(cfg), reports=reports)
        assert res.returncode == 1, explain(res)
        (run_id,) = run_ids(reports)
        evts = events(reports, run_id)
        failed = ends(evts, "failed")
        assert [(e["host"], e["action"]) for e in failed] == [("m4", "qpid_drain")]
        undo = [e for e in ends(evts, "ok") if e["key"].endswith("/undo0")]
        assert [(e["host"], e["action"]) for e in undo] == [("m4", "qpid_unblock")]
        assert not [e for e in evts if e["event"] == "step_start" and e["host"] == "m4"
                    and e["action"] == "update" and e["wave"] == "qpid"]
        verdict = lab.verdict()
        assert verdict.ok, verdict.violations           # no rule lost, no message lost
        rules = json.dumps(lab.state()["hosts"]["m4"]["firewall"])
        assert "5672" not in rules
        # the clean-up undid the block, so it counts as not done: a resumed run blocks,
        # drains, updates and unblocks (never drains or updates an open broker, rule 13)
        lab.clear_faults()
        res = runner(lab, "--resume", run_id, "--yes", "--config", str(cfg), reports=reports)
        assert res.returncode == 0, explain(res, lab)
        again = [e["action"] for e in events(reports, run_id) if e["event"] == "step_start"
                 and e["attempt"] == 2 and e["host"] == "m4" and e["wave"] == "qpid"]
        assert again == ["qpid_block", "qpid_drain", "update", "qpid_unblock"]
        verdict = lab.verdict(final=True)
        assert verdict.ok, verdict.violations


def test_failed_gate_names_the_hosts_and_changes_nothing(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        res = runner(lab, "--wave", "prepare", "--yes", reports=reports)
        assert res.returncode == 0, explain(res)
        res = runner(lab, "--wave", "ldap", "--yes", reports=reports)
        assert res.returncode == 1, explain(res)
        run_id = run_ids(reports)[-1]
        evts = events(reports, run_id)
        failed = ends(evts, "failed")
        assert {e["action"] for e in failed} == {"gate_versions"}
        # ldap waits for the datastore nodes (cs_zk) and the brokers (qpid) of every DC
        by_host = {e["host"]: e["error"] for e in failed}
        assert set(by_host) == {"m1", "m2", "m3", "m4", "m5"}
        # upstream packages judged by the 4.18.01 build (releases.yaml, the lab's config)
        assert all("not at 4.18.01: apigee-cassandra-2.1.13-" in by_host[h]
                   and "apigee-zookeeper-3.4.5-" in by_host[h] for h in ("m1", "m2", "m3"))
        assert all("apigee-qpidd-4.16.09-" in by_host[h] for h in ("m4", "m5"))
        assert "what to fix (gate_versions)" in res.stdout
        assert not [e for e in evts if e["event"] == "step_start" and e["action"] == "update"]
        assert lab.verdict().ok


def _runner_until(lab: Lab, reports: Path, seen, *args: str) -> tuple[subprocess.Popen, str | None]:
    """A runner started in the background, once a journal event satisfies ``seen``."""
    cmd = [sys.executable, str(ROOT / "runner.py"), "--config", str(lab.config_path),
           "--reports", str(reports), "--all", "--yes", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, NO_COLOR="1"))
    deadline = time.monotonic() + 120
    run_id = None
    while time.monotonic() < deadline:
        ids = run_ids(reports)
        if ids:
            run_id = ids[0]
            if any(seen(e) for e in events(reports, run_id)):
                break
        time.sleep(0.05)
    return proc, run_id


def _runner_until_qpid(lab: Lab, reports: Path) -> tuple[subprocess.Popen, str | None]:
    return _runner_until(lab, reports, lambda e: e["event"] == "step_start" and e["wave"] == "qpid")


def _report_children(folder: Path) -> list[str]:
    out = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"fleet.reports" in argv and str(folder).encode() in argv:
            out.append(cmdline.parent.name)
    return out


def test_resume_after_sigkill_finishes_without_repeating(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.05) as lab:
        proc, run_id = _runner_until_qpid(lab, reports)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert run_id, "the run never started"
        # the report writer started with the run goes away with it, once it has written the
        # reports from the journal: the live page does not go on reloading a dead run
        deadline = time.monotonic() + 30
        while _report_children(reports / run_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _report_children(reports / run_id)
        page = (reports / run_id / "report.html").read_text()
        assert "INTERRUPTED" in page and 'http-equiv="refresh"' not in page
        before = events(reports, run_id)
        assert not any(e["event"] == "run_end" for e in before)
        res = runner(lab, "--resume", run_id, "--yes", reports=reports)
        assert res.returncode == 0, explain(res, lab)
        evts = events(reports, run_id)
        first_ok = {e["key"] for e in ends(evts, "ok") if e["attempt"] == 1}
        again = {e["key"] for e in evts if e["event"] == "step_start" and e["attempt"] == 2}
        assert first_ok and not first_ok & again
        assert lab.verdict(final=True).ok, lab.verdict(final=True).violations


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                        (signal.SIGHUP, 129)], ids=["INT", "TERM", "HUP"])
def test_ctrl_c_sigterm_or_sighup_stop_the_run_and_still_write_its_reports(tmp_path, sig, status):
    """SIGTERM (systemd, CI, kill) and SIGHUP (a dropped session) are handled like Ctrl-C."""
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.05) as lab:
        proc, run_id = _runner_until_qpid(lab, reports)
        assert run_id, "the run never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == status, err
        assert "resume with: " in err and f"--resume {run_id} " in err
        assert "reports not written" not in err
        assert "Traceback" not in err
        evts = events(reports, run_id)
        # the steps in flight were let finish and journaled; none started after the interrupt
        assert evts[-1]["event"] == "run_end" and evts[-1]["status"] == "interrupted"
        assert evts[-1]["signal"] == signal.Signals(sig).name
        started = {e["key"] for e in evts if e["event"] == "step_start"}
        ended = [e for e in evts if e["event"] == "step_end"]
        assert started == {e["key"] for e in ended if "/undo" not in e["key"]}
        # a step cut short (a drain poll) ran its clean-up (the broker's port opened again)
        cut = {e["key"] for e in ended if "interrupted" in (e.get("error") or "")}
        undone = {e["key"].split("/undo")[0] for e in ended if "/undo" in e["key"] and e["status"] == "ok"}
        assert cut <= undone
        assert not any(e["event"] == "wave_start" and e["wave"] == "ldap" for e in evts)
        folder = reports / run_id
        assert "interrupted" in (folder / "report.html").read_text()
        assert (folder / "steps.csv").exists() and (folder / "timeline.png").stat().st_size > 0
        assert not _report_children(folder)
        assert lab.verdict().ok


def test_resume_refuses_a_changed_plan(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m1", "fail-always", match="update.sh -c ldap")
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 1
        (run_id,) = run_ids(reports)
        cfg = tuned(lab, tmp_path, firewall_interface="eth1")
        res = runner(lab, "--resume", run_id, "--yes", "--config", str(cfg), reports=reports)
        assert res.returncode == 2 and "plan changed" in res.stderr


def test_selinux_enforcing_on_the_rollback_standby_stops_the_run_before_any_change(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        root = Path(lab.host_data("m4")["apigee_root"])
        hba = root / "apigee-postgresql" / "conf" / "pg_hba.conf"
        hba_before = hba.read_text()
        lab.set_state("pgr", selinux="Enforcing")
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 1, explain(res, lab)
        assert "failed: preflight batch 1 on pgr: check_selinux" in res.stdout
        (run_id,) = run_ids(reports)
        evts = events(reports, run_id)
        assert {e["wave"] for e in evts if e["event"] == "step_start"} == {"preflight"}
        assert hba.read_text() == hba_before             # the master's replication rules untouched
        assert lab.verdict().ok


def test_ctrl_c_cuts_a_pause_short(tmp_path):
    """A pause (here the load balancer wait of --zero-downtime) does not hold Ctrl-C up."""
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0, probe=True) as lab:
        cfg = tuned(lab, tmp_path, zero_downtime={"lb_wait": 120})
        proc, run_id = _runner_until(
            lab, reports, lambda e: e["event"] == "step_start" and e["action"] == "lb_wait",
            "--zero-downtime", "--config", str(cfg))
        assert run_id, "the run never reached the pause"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert time.monotonic() - t0 < 20
        evts = events(reports, run_id)
        (pause,) = [e for e in evts if e["event"] == "step_end" and e["action"] == "lb_wait"]
        assert pause["status"] == "failed" and "interrupted during the pause" in pause["error"]
        assert evts[-1]["event"] == "run_end" and evts[-1]["status"] == "interrupted"
        assert lab.verdict().ok
