"""Durations of earlier runs refine the estimate (fleet/run/history.py), from journal
fixtures in tests/run/data/history/: two runs of installation ``aaaa`` (one resumed, with a
failed step, a clean-up, a pause and a step re-run after an interruption), a fast lab run of
installation ``bbbb``, and a run written before runs recorded their installation."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fleet.model import Batch, Plan, Step, Wave
from fleet.plan.estimate import estimate
from fleet.run.history import load_history, observations
from fleet.run.journal import read_events

DATA = Path(__file__).parent / "data" / "history"


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    base = tmp_path / "reports"
    shutil.copytree(DATA, base)
    for i, folder in enumerate(sorted(base.iterdir())):       # mtime in run-id order
        os.utime(folder / "journal.jsonl", (1_800_000_000 + i, 1_800_000_000 + i))
    return base


def test_only_whole_successful_steps_count():
    seen = observations(read_events(DATA / "20261201T100000-0001"))
    # m1 600 s and m2 660 s; m3 was cut off in attempt 1 and re-run (re-attached) in 2: out
    assert seen["update:cs,zk"] == [600.0, 660.0]
    assert seen["qpid_drain"] == [40.0] and seen["qpid_block"] == [1.0]
    assert "update:qpid" not in seen          # failed
    assert "qpid_unblock" not in seen         # only ran as the clean-up of the failure
    assert "lb_wait" not in seen              # a pause is its configured time


def test_history_of_the_same_installation_only(reports: Path):
    h = load_history(reports, "aaaa")
    assert sorted(h.runs) == ["20261201T100000-0001", "20261201T120000-0002"]
    assert sorted(h.samples["update:cs,zk"]) == [540.0, 600.0, 660.0]
    assert h.seconds("update:cs,zk") == 600.0
    lab = load_history(reports, "bbbb")
    assert lab.seconds("update:cs,zk") == 2.0
    assert load_history(reports, "cccc").samples == {}
    assert load_history(reports, "aaaa", scope="off").samples == {}


def test_scope_all_and_the_newest_runs(reports: Path):
    every = load_history(reports, None, scope="all")
    assert len(every.runs) == 4 and len(every.samples["update:cs,zk"]) == 7
    newest = load_history(reports, "aaaa", scope="all", runs=1)
    assert newest.runs == ("20261202T090000-0003",)           # the newest journal


def test_history_refines_the_window(reports: Path):
    plan = Plan("4.18.01", "maintenance", (
        Wave("cs_zk", (Batch(tuple(Step(h, "update", "/opt/apigee/apigee-setup/bin/update.sh "
                                                     "-c cs,zk -f /opt/silent.conf")
                                   for h in ("m1", "m2", "m3"))),)),
        Wave("qpid", (Batch((Step("m4", "qpid_block", "iptables"),
                             Step("m4", "qpid_drain", "qpid-stat -q", "poll"))),)),
    ))
    default = estimate(plan)
    real = estimate(plan, load_history(reports, "aaaa"))
    lab = estimate(plan, load_history(reports, "bbbb"))
    assert default.total == 600 + 2 + 60                       # our guesses
    assert real.total == 600 + 1 + 40                          # medians of aaaa's runs
    assert real.sources["update:cs,zk"] == "history (3)"
    assert "2 earlier run(s)" in real.basis()
    assert lab.total == 2 + 2 + 60                             # the lab knows no drain
    assert load_history(reports / "missing", "aaaa").samples == {}
