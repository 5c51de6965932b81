"""Rollback in the lab: a right rollback is clean, each rollback judgement (rules 17-20)
fires on a deliberately wrong sequence typed over SSH, and nodes refuse what real ones
refuse (rollback.md)."""
from __future__ import annotations

import time

from tests.lab.driver import api, uuid_of
from tests.lab.rollback_driver import GROUP, Rollback
from tests.lab.test_judgements import messages, rules

OLD = "4.16.09"


def test_whole_rollback_after_a_postgres_wave_failure_is_clean_at_4_16_09(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab)
    d.fail_in_postgres_wave()
    time.sleep(0.3)                               # analytics queues in Qpid meanwhile
    d.rollback_whole()
    v = lab.verdict(final=True, expect_version=OLD)
    assert v.ok, v.text()
    assert v.expect_version == OLD and "expecting 4.16.09" in v.text()
    r = v.stats["rollback"]
    assert (r["new_master"], r["old_master"]) == ("pgr", "m8")
    assert r["queued_at_switch"] > 0 and r["drained_into_new_master"] >= r["queued_at_switch"]
    assert r["not_in_new_master"] == 0
    s = lab.state()
    assert s["hosts"]["pgr"]["postgres"] == "master" and s["hosts"]["m8"]["postgres"] == "old_master"
    assert s["hosts"]["m1"]["components"]["cs"]["version"] == "4.18.01"   # left for the operator
    assert {c["version"] for c in s["hosts"]["m4"]["components"].values()} == {OLD}
    # the same installation is not what an update should end with (Cassandra and ZooKeeper
    # left at 4.18.01 make it mixed)
    v = lab.verdict(final=True)
    assert rules(v) == {6, 20} and "not at 4.18.01" in messages(v, 6)


def test_components_rollback_then_update_again_is_clean_at_4_18_01(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab)
    d.run(until="postgres")                       # the edge wave went through m4 ...
    d.rollback_edge("m4")                         # ... and is rolled back there
    assert {c["version"] for c in lab.state()["hosts"]["m4"]["components"].values()} == {OLD}
    v = lab.verdict(final=True)
    assert 20 in rules(v) and "mixed versions in the installation" in messages(v, 20)
    d.prepare("m4")                               # retry the update of what was rolled back
    d.edge("m4", zero_downtime=False)
    d.postgres()
    d.retire_rollback()
    v = lab.verdict(final=True)
    assert v.ok, v.text()
