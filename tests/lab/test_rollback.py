"""Rollback in the lab: a right rollback is clean, each rollback judgement (rules 17-20)
fires on a deliberately wrong sequence typed over SSH, and nodes refuse what real ones
refuse (rollback.md)."""
from __future__ import annotations

import time

import pytest

from tests.lab.driver import api, uuid_of
from tests.lab.rollback_driver import Rollback
from tests.lab.test_judgements import messages, rules

OLD = "4.16.09"


def rolled_back(make_lab, skip: set[str] = frozenset(), **failure):
    """A 9-node update failed in the PostgreSQL wave, then rolled back whole; the final
    verdict expecting 4.16.09."""
    lab = make_lab("9-node")
    d = Rollback(lab, skip=skip)
    d.fail_in_postgres_wave(**failure)
    d.rollback_whole()
    return lab, d, lab.verdict(final=True, expect_version=OLD)


@pytest.mark.parametrize("topology", ["5-node", "13-node", "12-node-2dc"])
def test_whole_rollback_of_other_topologies_is_clean(make_lab, topology):
    lab = make_lab(topology)
    d = Rollback(lab)
    d.fail_in_postgres_wave()
    d.rollback_whole()
    v = lab.verdict(final=True, expect_version=OLD)
    assert v.ok, v.text()
    assert v.stats["rollback"]["new_master"] == "pgr"


def test_whole_rollback_after_a_postgres_wave_failure_is_clean_at_4_16_09(make_lab):
    lab, _, v = rolled_back(make_lab)
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


# 17 -------------------------------------------------------------------------------------
def test_rule17_spare_retired_after_the_rollback(make_lab):
    lab, d, v = rolled_back(make_lab)
    assert v.ok, v.text()
    uuid = uuid_of(lab, "pgr", "analytics", "postgres-server")
    n = d.nodes["pgr"]                            # the update's "retire the rollback standby"
    n.ok(f"sudo {n.root}/apigee-service/bin/apigee-all stop")
    api(lab, "DELETE", f"/v1/servers/{uuid}")
    v = lab.verdict()
    assert rules(v) == {17}
    assert "apigee-all stop" in messages(v, 17) and "deregistered" in messages(v, 17)


def test_rule17_spare_retired_before_the_rollback(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab)
    d.fail_in_postgres_wave()
    uuid = uuid_of(lab, "pgr", "analytics", "postgres-server")
    n = d.nodes["pgr"]
    n.ok(f"sudo {n.root}/apigee-service/bin/apigee-all stop")      # retired by a resumed run
    api(lab, "DELETE", f"/v1/servers/{uuid}")
    assert lab.verdict().ok                       # retiring it is not wrong by itself ...
    n.ok(f"sudo {n.root}/apigee-service/bin/apigee-all start")
    for h in ("m8", "m9"):
        d.nodes[h].svc("apigee-postgresql", "stop")
    n.svc("apigee-postgresql", "promote-standby-to-master", lab.addresses["m8"])
    v = lab.verdict()                             # ... promoting it afterwards is
    assert rules(v) == {17} and "retired before the rollback" in messages(v, 17)


# 18 -------------------------------------------------------------------------------------
def test_rule18_rolled_back_qpid_server_writes_into_9_6(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab)
    d.run()                                       # a complete update: the pair is at 9.6
    d.rollback_qpid_node("m6")                    # ... and a Qpid node goes back to 4.16.09
    lab.set_state("m6", queue=2000)               # past the backlog its Qpid Server keeps
    time.sleep(0.3)
    v = lab.verdict()
    assert rules(v) == {18}
    assert "4.16.09 Qpid Server writes analytics into the PostgreSQL 9.6 master m8" in messages(v, 18)


def test_rule18_promoted_while_the_old_master_runs(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab, skip={"fence"})
    d.fail_in_postgres_wave()
    d.rollback_postgres()
    v = lab.verdict()
    assert rules(v) == {18} and "two PostgreSQL masters" in messages(v, 18)


def test_rule18_and_19_registrations_not_changed(make_lab):
    _, _, v = rolled_back(make_lab, skip={"registrations"})
    assert {18, 19} <= rules(v)
    assert "still name m8" in messages(v, 18)
    assert "datastores name m8, not the new master pgr" in messages(v, 19)


# 19 -------------------------------------------------------------------------------------
def test_rule19_analytics_written_into_the_old_master_after_the_spare_stopped(make_lab):
    _, _, v = rolled_back(make_lab, qs_restarted=True)    # Qpid Servers already wrote into 9.6
    assert rules(v) == {19}
    lost = v.stats["rollback"]["not_in_new_master"]
    assert lost > 0 and f"{lost} analytics messages were written into m8" in messages(v, 19)


def test_rule19_qpid_servers_started_before_the_registration_change(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab, skip={"registrations", "decommission"})
    d.fail_in_postgres_wave()
    d.rollback_postgres()                         # Qpid Servers started: they take m8:m9
    d.switch_registrations()
    time.sleep(0.3)
    v = lab.verdict(final=True, expect_version=OLD)
    assert 19 in rules(v) and "Qpid Server not restarted" in messages(v, 19)
    assert v.stats["rollback"]["drained_into_new_master"] == 0
    assert "still in brokers" in messages(v, 9)


# 20 -------------------------------------------------------------------------------------
def test_rule20_component_left_at_4_18_01_by_a_rollback(make_lab):
    _, _, v = rolled_back(make_lab, skip={"rb_ui"})
    assert rules(v) == {6, 20}
    assert "edge-ui-4.18.01" in messages(v, 6) and "mixed versions on the node" in messages(v, 20)
