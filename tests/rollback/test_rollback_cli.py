"""`runner.py rollback` on the command line: every refusal exits 2 with its reason and
contacts no host (a listener on the inventory's address counts connections); the dry run
shows inferred steps; the failed run's journal and a retired spare are read from --reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fleet.errors import InputError
from fleet.inventory import load_inventory
from fleet.run.lock import ControlLock
from fleet.settings import default_settings, with_values
from tests.cli.listener import Listener
from tests.cli.test_bad_input import FIVE, config, run, write_inventory
from tests.plans.summary import nodes_of
from tests.rollback.summary import RELEASES, live_of

FIVE_SPARE = {**FIVE, "m5": {**FIVE["m5"], "dc": "dc-1"},
              "pgr": {"dc": "dc-1", "profiles": ["ps"], "postgres": "rollback_standby"}}
ENV = {"FLEET_REPO_USER": "u", "FLEET_REPO_PASSWORD": "pw", "FLEET_ADMIN_EMAIL": "a@b",
       "FLEET_ADMIN_PASSWORD": "apw"}


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.sock.close()


def outputs(case: dict, hosts: dict) -> dict[str, str]:
    """`apigee-all version` outputs, as a node prints them, for a case's live state."""
    settings = with_values(default_settings(), releases=RELEASES)
    live = live_of(case, nodes_of({"hosts": hosts}), settings)
    return {h: "".join(f"+ apigee-service {p} version\n{p}-{b}\n" for p, b in pk.items())
            for h, pk in live.packages.items()}


def setup(tmp_path: Path, listener: Listener, hosts: dict, case: dict | None = None):
    inv = write_inventory(tmp_path, hosts, listener.port)
    cfg = config(tmp_path, {"releases": RELEASES})
    live = tmp_path / "live.yaml"
    if case is not None:
        live.write_text(yaml.safe_dump(outputs(case, hosts)))
    base = ["rollback", "--config", str(cfg), "--inventory", str(inv),
            "--reports", str(tmp_path / "reports")]
    return base, live


def fake_run(tmp_path: Path, run_id: str, mode: str, events: list[dict]) -> Path:
    """A run folder in --reports as the runner leaves it: plan.json and journal.jsonl."""
    folder = tmp_path / "reports" / run_id
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(json.dumps({"version": 1, "target": "4.18.01",
                                                  "mode": mode, "waves": []}))
    (folder / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


POSTGRES_FAILED = {"failed": {"wave": "postgres", "db_upgrade": True}, "also_updated": {"m4": ["ps"]}}
REFUSALS = [
    ("1-node", {"m1": {"dc": "dc-1", "profiles": ["aio"], "postgres": "master"}}, ["--yes"],
     "no rollback for a 1-node installation"),
    ("2-node", {"m1": {"dc": "dc-1", "profiles": ["sa"]},
                "m2": {"dc": "dc-1", "profiles": ["sax"], "postgres": "master"}}, ["--dry-run"],
     "no rollback for a 2-node installation"),
    ("other target", FIVE_SPARE, ["--to", "4.17.05", "--yes"], "only 4.16.09 is supported"),
    ("config for another update", FIVE_SPARE, ["--yes", "--config", "other.yaml"],
     "this config's target_version is 4.19.01"),
    ("unknown component", FIVE_SPARE, ["--components", "edge,kafka", "--yes"],
     "unknown component 'kafka'"),
    ("no terminal", FIVE_SPARE, [], "no terminal to confirm on"),
    ("live only for a dry run", FIVE_SPARE, ["--live", "x.yaml", "--yes"], "only with --dry-run"),
]


@pytest.mark.parametrize("name,hosts,args,message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_before_any_host_is_contacted(tmp_path, listener, name, hosts, args, message):
    base, _ = setup(tmp_path, listener, hosts)
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(
        {"user_defined": {"target_version": "4.19.01", "releases": RELEASES}}))
    before = listener.hits
    res = run(base + args, tmp_path, ENV)
    assert res.returncode == 2, res.stderr + res.stdout
    assert message in res.stderr and "Traceback" not in res.stderr
    assert listener.hits == before


def test_refused_while_another_run_holds_the_installation(tmp_path, listener, monkeypatch):
    base, _ = setup(tmp_path, listener, FIVE_SPARE)
    monkeypatch.setenv("FLEET_LOCK_DIR", str(tmp_path / "locks"))
    nodes = load_inventory({k: tmp_path / "inventory" / f"{k}.yaml"
                            for k in ("hosts", "groups", "defaults")})
    lock = ControlLock(nodes, "20260101T000000-0042").acquire()     # the update run
    try:
        before = listener.hits
        res = run(base + ["--yes", "--accept-inferred"], tmp_path,
                  dict(ENV, FLEET_LOCK_DIR=str(tmp_path / "locks")))
    finally:
        lock.release()
    assert res.returncode == 2, res.stderr
    assert "another runner is working on this installation: run 20260101T000000-0042" in res.stderr
    assert listener.hits == before and not (tmp_path / "reports").exists()


def test_dry_run_marks_inferred_steps_and_reads_the_failed_journal(tmp_path, listener):
    # live: the master's PostgreSQL still reports 9.4, but the journal says db_upgrade ran
    base, live = setup(tmp_path, listener, FIVE_SPARE, {"failed": {"wave": "postgres"}})
    events = [{"event": "run_start"},
              {"event": "step_end", "key": "6/1/m4/1", "wave": "postgres", "host": "m4",
               "action": "db_upgrade", "status": "ok"},
              {"event": "step_end", "key": "6/2/m5/0", "wave": "postgres", "host": "m5",
               "action": "update", "status": "failed"},
              {"event": "run_end", "status": "failed"}]
    fake_run(tmp_path, "20260101T000000-0007", "maintenance", events)
    before = listener.hits
    res = run(base + ["--dry-run", "--live", str(live), "--plan-out", str(tmp_path / "p.json")],
              tmp_path, ENV)
    assert res.returncode == 0, res.stderr
    assert "failed update run 20260101T000000-0007 (failed): postgres on m5; db_upgrade had completed" in res.stdout
    assert "roll back only what failed, then retry: --components ps" in res.stdout
    assert "wave 2: rb_postgres" in res.stdout
    assert "promote-standby-to-master 127.0.0.4" in res.stdout
    assert res.stdout.count("[I] inferred — verify with vendor support") >= 10
    plan = json.loads((tmp_path / "p.json").read_text())
    assert plan["mode"] == "rollback" and plan["target"] == "4.16.09"
    assert listener.hits == before


def test_a_spare_retired_by_an_earlier_run_is_refused(tmp_path, listener):
    base, live = setup(tmp_path, listener, FIVE_SPARE, POSTGRES_FAILED)
    fake_run(tmp_path, "20251231T000000-0001", "maintenance", [
        {"event": "step_end", "key": "9/0/pgr/2", "wave": "rollback_retire", "host": "pgr",
         "action": "stop_all", "status": "ok"}])
    res = run(base + ["--dry-run", "--live", str(live)], tmp_path, ENV)
    assert res.returncode == 2
    assert "spare standby pgr was already retired by run 20251231T000000-0001" in res.stderr


def test_yes_still_needs_accept_inferred(tmp_path, listener, monkeypatch):
    """A --yes run with inferred steps is refused before the lock, leases or any change."""
    from fleet.rollback import cli
    base, _ = setup(tmp_path, listener, FIVE_SPARE, POSTGRES_FAILED)
    monkeypatch.setenv("FLEET_LOCK_DIR", str(tmp_path / "locks"))
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    read = outputs(POSTGRES_FAILED, FIVE_SPARE)
    monkeypatch.setattr(cli, "_read_hosts", lambda nodes, settings, secrets: read)
    called = []
    monkeypatch.setattr("fleet.run.session.run", lambda *a, **k: called.append(a) or 0)
    with pytest.raises(InputError) as err:
        cli.main(base[1:] + ["--yes"])
    assert "pass --accept-inferred" in str(err.value) and "promote" in str(err.value)
    assert not called and not (tmp_path / "reports").exists()
    assert cli.main(base[1:] + ["--yes", "--accept-inferred"]) == 0 and len(called) == 1
    plan = called[0][3]
    assert plan.mode == "rollback" and "rb_postgres" in plan.wave_names()


def test_resume_takes_only_a_rollback_run(tmp_path, listener):
    base, _ = setup(tmp_path, listener, FIVE_SPARE)
    fake_run(tmp_path, "20260101T000000-0009", "maintenance", [])
    before = listener.hits
    res = run(base + ["--resume", "20260101T000000-0009", "--yes", "--accept-inferred"],
              tmp_path, ENV)
    assert res.returncode == 2 and "not a rollback run" in res.stderr, res.stderr
    assert listener.hits == before


def test_runbook_marks_every_inferred_step_and_what_is_left(tmp_path, listener):
    base, live = setup(tmp_path, listener, FIVE_SPARE, POSTGRES_FAILED)
    book = tmp_path / "rollback.md"
    before = listener.hits
    res = run(base + ["--live", str(live), "--runbook", str(book)], tmp_path, ENV)
    assert res.returncode == 0, res.stderr
    text = book.read_text()
    res = run(base + ["--live", str(live), "--plan-out", str(tmp_path / "p.json")], tmp_path, ENV)
    plan = json.loads((tmp_path / "p.json").read_text())
    inferred = [s for w in plan["waves"] for b in w["batches"] for s in b["steps"]
                if s.get("basis") == "I"]
    assert text.count("# [I] inferred — verify with vendor support") == len(inferred) > 10
    assert "restore the pre-update backup by hand" in text
    assert "pgr is now the PostgreSQL master" in text and "python runner.py --all" in text
    assert listener.hits == before


def test_update_refuses_to_retire_a_spare_a_rollback_promoted(tmp_path, listener):
    base, _ = setup(tmp_path, listener, FIVE_SPARE)
    fake_run(tmp_path, "20260101T000000-0011", "rollback", [
        {"event": "step_end", "key": "1/3/pgr/0", "wave": "rb_postgres", "host": "pgr",
         "action": "promote", "status": "ok"}])
    update = base[1:]                                  # the update's own command line
    before = listener.hits
    res = run(update + ["--all", "--yes"], tmp_path, ENV)
    assert res.returncode == 2, res.stderr
    assert "pgr is the PostgreSQL master since rollback run 20260101T000000-0011" in res.stderr
    res = run(update + ["--wave", "edge", "--yes", "--dry-run"], tmp_path, ENV)
    assert res.returncode == 0, res.stderr             # waves without rollback_retire go on
    assert listener.hits == before


def test_confirmation_on_a_terminal_names_the_rollback_and_its_inferred_steps(monkeypatch, capsys):
    """Without --yes on a terminal the operator is asked; anything but 'yes' changes nothing."""
    import argparse
    import sys

    from fleet.rollback.cli import _confirm
    from fleet.rollback.planner import inferred_steps
    from tests.rollback.summary import plan_of
    case = yaml.safe_load((Path(__file__).parent / "cases" / "5-node-postgres-whole.yaml").read_text())
    plan = plan_of(case)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(InputError, match="not confirmed"):
        _confirm(argparse.Namespace(yes=False), plan)
    out = capsys.readouterr().out
    assert f"About to ROLL BACK to 4.16.09: waves {', '.join(plan.wave_names())}" in out
    assert f"{len(inferred_steps(plan))} step(s) are inferred" in out
