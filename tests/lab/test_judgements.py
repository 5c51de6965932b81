"""Each judgement fires on a deliberately wrong sequence typed over SSH, and stays quiet on a
correct one (full correct runs are in test_full_update.py)."""
from __future__ import annotations

import time

import netmiko

from tests.lab.driver import BLOCK, Driver


def rules(v) -> set[int]:
    return {x["rule"] for x in v.violations}


def messages(v, rule: int) -> str:
    return " | ".join(x["message"] for x in v.violations if x["rule"] == rule)


def at_target(lab, host, *codes):
    lab.set_state(host, version="4.18.01", components=list(codes))


# 1 --------------------------------------------------------------------------------------
def test_rule1_edge_before_datastores(lab5):
    lab5.set_state("m1", prepared=True)
    m1 = lab5.node("m1")
    m1.update("edge")
    v = lab5.verdict()
    assert rules(v) == {1} and "m2" in messages(v, 1)


def test_rule1_quiet_after_datastores(lab5):
    for h in ("m1", "m2", "m3"):
        lab5.set_state(h, prepared=True)
        lab5.node(h).update("cs,zk")
    lab5.node("m1").update("edge")
    assert lab5.verdict().ok


# 2 --------------------------------------------------------------------------------------
def test_rule2_broker_updated_with_messages(lab5):
    for h in ("m1", "m2", "m3"):
        at_target(lab5, h, "cs", "zk")
    lab5.set_state("m4", prepared=True)
    m4 = lab5.node("m4")
    m4.svc("edge-qpid-server", "stop")        # messages pile up in the broker
    time.sleep(0.2)
    m4.ok("sudo " + BLOCK.format(op="-A", addr=m4.address))    # closed, but not drained
    m4.update("qpid")
    v = lab5.verdict()
    assert rules(v) == {2}
    assert v.stats["analytics"]["lost"] > 10


def test_rule2_quiet_after_drain(lab5):
    for h in ("m1", "m2", "m3"):
        at_target(lab5, h, "cs", "zk")
    lab5.set_state("m4", prepared=True)
    d = Driver(lab5)
    d.drain_and_update_qpid("m4")
    v = lab5.verdict()
    assert v.ok, v.text()
    assert lab5.state()["hosts"]["m4"]["firewall"] == lab5.state()["hosts"]["m1"]["firewall"]


# 3 --------------------------------------------------------------------------------------
def test_rule3_flush_removes_operator_rule(lab5):
    m4 = lab5.node("m4")
    m4.ok("sudo " + BLOCK.format(op="-A", addr=m4.address))
    m4.ok("sudo iptables -F")
    v = lab5.verdict()
    assert rules(v) == {3}


def test_rule3_delete_exact_rule_is_quiet(lab5):
    m4 = lab5.node("m4")
    m4.ok("sudo " + BLOCK.format(op="-A", addr=m4.address))
    m4.ok("sudo " + BLOCK.format(op="-D", addr=m4.address))
    rc, out = m4.run("sudo " + BLOCK.format(op="-D", addr=m4.address))
    assert rc == 1 and "Bad rule" in out
    assert lab5.verdict().ok


# 4 --------------------------------------------------------------------------------------
def _stop_servers(lab, d: Driver):
    for h in ("m4", "m5"):
        d.nodes[h].svc("edge-postgres-server", "stop")
        d.nodes[h].svc("edge-qpid-server", "stop")


def test_rule4_db_upgrade_on_standby(lab5):
    d = Driver(lab5)
    _stop_servers(lab5, d)
    rc, _ = d.nodes["m5"].run(f"sudo {d.nodes['m5'].root}/apigee-service/bin/apigee-service apigee-postgresql db_upgrade")
    v = lab5.verdict()
    assert rules(v) == {4} and "standby" in messages(v, 4)


def test_rule4_db_upgrade_before_ps_update(lab5):
    d = Driver(lab5)
    _stop_servers(lab5, d)
    rc, out = d.nodes["m4"].run(f"sudo {d.nodes['m4'].root}/apigee-service/bin/apigee-service apigee-postgresql db_upgrade")
    assert rc != 0
    v = lab5.verdict()
    assert rules(v) == {4} and "before update.sh -c ps" in messages(v, 4)


def test_rule4_db_upgrade_with_servers_running(lab5):
    for h in ("m1", "m2", "m3"):
        at_target(lab5, h, "cs", "zk")
    lab5.set_state("m4", prepared=True)
    d = Driver(lab5)
    d.nodes["m4"].update("ps")
    d.nodes["m4"].svc("apigee-postgresql", "db_upgrade")
    v = lab5.verdict()
    assert rules(v) == {4} and "edge-qpid-server" in messages(v, 4)


def test_rule4_quiet_when_done_right(lab5):
    for h in ("m1", "m2", "m3"):
        at_target(lab5, h, "cs", "zk")
    lab5.set_state("m4", prepared=True)
    d = Driver(lab5)
    _stop_servers(lab5, d)
    d.nodes["m4"].update("ps")
    d.nodes["m4"].svc("apigee-postgresql", "db_upgrade")
    assert lab5.verdict().ok


# 5, 6, 9, 12 (end of run) ------------------------------------------------------------------
def test_rule5_standby_not_rebuilt(lab5):
    Driver(lab5, skip={"rebuild", "checks"}).run()
    v = lab5.verdict(final=True)
    assert rules(v) == {5}
    assert "not rebuilt" in messages(v, 5) and "broken" in messages(v, 5)


def test_rule5_checks_disagree(lab5):
    d = Driver(lab5, skip={"checks"})
    d.run()
    m5 = d.nodes["m5"]
    # a standby check taken while replication was broken, never repeated
    lab5.set_state("m5", component_state="stopped", components=["ps"])
    m5.run(f"{m5.root}/apigee-service/bin/apigee-service apigee-postgresql postgres-check-standby")
    lab5.set_state("m5", component_state="running", components=["ps"])
    d.nodes["m4"].svc("apigee-postgresql", "postgres-check-master")
    v = lab5.verdict(final=True)
    assert rules(v) == {5} and "disagree" in messages(v, 5)


def test_rule6_component_left_behind(lab5):
    Driver(lab5, skip={"ui"}).run()
    v = lab5.verdict(final=True)
    assert rules(v) == {6} and "edge-ui" in messages(v, 6) and "mixed" in messages(v, 6)


def test_rule9_master_data_wiped(lab5):
    time.sleep(0.3)
    m4 = lab5.node("m4")
    m4.ok(f"sudo find {m4.root}/data/apigee-postgresql/pgdata -mindepth 1 -delete")
    v = lab5.verdict(final=True)
    assert 9 in rules(v) and "lost" in messages(v, 9)


def test_rule9_and_rule2_without_drain(lab5):
    Driver(lab5, skip={"drain"}).run()
    v = lab5.verdict(final=True)
    assert rules(v) == {2, 9, 13}
    assert v.stats["analytics"]["lost"] > 0


# 13 -------------------------------------------------------------------------------------
def test_rule13_drain_polled_on_an_open_broker(lab5):
    """What a resumed run did when it skipped the block that a failed drain had removed."""
    m4 = lab5.node("m4")
    m4.ok(f"{m4.root}/apigee-qpidd/bin/qpid-stat -q")
    v = lab5.verdict()
    assert rules(v) == {13}
    assert "drain polled" in messages(v, 13) and "m1" in messages(v, 13)


def test_rule13_update_on_an_open_broker(lab5):
    for h in ("m1", "m2", "m3"):
        at_target(lab5, h, "cs", "zk")
    lab5.set_state("m4", prepared=True)
    m4 = lab5.node("m4")
    m4.update("qpid")
    v = lab5.verdict()
    assert 13 in rules(v) and "broker updated (update.sh -c qpid)" in messages(v, 13)


def test_rule13_block_that_lets_one_host_in_is_not_closed(lab5):
    m4 = lab5.node("m4")
    m1 = lab5.state()["hosts"]["m1"]["address"]
    m4.ok(f"sudo iptables -A INPUT -p tcp --destination-port 5672 ! -s {m1} -i eth0 -j DROP")
    m4.ok(f"{m4.root}/apigee-qpidd/bin/qpid-stat -q")
    v = lab5.verdict()
    assert rules(v) == {13} and "open to m1" in messages(v, 13)


def test_rule12_rollback_standby_updated(lab5):
    for h in ("m1", "m2", "m3"):
        at_target(lab5, h, "cs", "zk")
    d = Driver(lab5)
    d.add_rollback_standby()
    lab5.set_state("pgr", prepared=True)      # even a prepared rollback standby must not be updated
    d.nodes["pgr"].run(f"sudo {d.nodes['pgr'].root}/apigee-setup/bin/update.sh -c ps -f {d.nodes['pgr'].conf}")
    v = lab5.verdict()
    assert rules(v) == {12} and "updated" in messages(v, 12)


def test_rule12_left_registered_after_retired(lab5):
    Driver(lab5, skip={"delete"}).run()
    v = lab5.verdict(final=True)
    assert rules(v) == {12} and "left registered" in messages(v, 12)


# 7 --------------------------------------------------------------------------------------
def test_rule7_router_stopped_under_probe(make_lab):
    lab = make_lab("5-node", probe=True)
    m2 = lab.node("m2")
    m2.svc("edge-router", "stop")
    time.sleep(0.2)
    m2.svc("edge-router", "start")
    v = lab.verdict()
    assert rules(v) == {7}
    assert v.stats["probe"]["failed"] > 0


def test_rule7_quiet_when_router_taken_out_of_lb(make_lab):
    lab = make_lab("5-node", probe=True)
    lab.set_state(None, reset_probe=True)
    for h in ("m1", "m2", "m3"):
        at_target(lab, h, "cs", "zk")
        lab.set_state(h, prepared=True)
    Driver(lab).edge("m2", zero_downtime=True)
    v = lab.verdict()
    assert v.ok, v.text()


# 8 (judged while the probe runs, i.e. in a zero-downtime run) --------------------------
def test_rule8_not_judged_in_maintenance_mode(lab5):
    for h in ("m1", "m2", "m3"):
        lab5.node(h).svc("apigee-cassandra", "stop")
    assert lab5.verdict().ok


def test_rule8_two_cassandra_nodes_down(make_lab):
    lab5 = make_lab("5-node", probe=True)
    m1, m2 = lab5.node("m1"), lab5.node("m2")
    m1.svc("apigee-cassandra", "stop")
    m2.svc("apigee-cassandra", "stop")
    v = lab5.verdict()
    assert rules(v) == {8} and "Cassandra" in messages(v, 8)


def test_rule8_zookeeper_majority(make_lab):
    lab5 = make_lab("5-node", probe=True)
    lab5.node("m1").svc("apigee-zookeeper", "stop")
    lab5.node("m1").svc("apigee-zookeeper", "start")
    assert lab5.verdict().ok
    lab5.node("m1").svc("apigee-zookeeper", "stop")
    lab5.node("m3").svc("apigee-zookeeper", "stop")
    v = lab5.verdict()
    assert rules(v) == {8} and "majority" in messages(v, 8)


# 10 -------------------------------------------------------------------------------------
def test_rule10_password_in_argv(lab5):
    m1 = lab5.node("m1")
    sec = lab5.secrets
    m1.ok(f"curl -sSf https://software.apigee.com/bootstrap_4.18.01.sh -o {m1.dl}/b.sh")
    m1.ok(f"sudo bash {m1.dl}/b.sh apigeeuser={sec['repo_user']} apigeepassword={sec['repo_password']}")
    v = lab5.verdict()
    assert rules(v) == {10}
    assert "arguments" in messages(v, 10) and "exec" in messages(v, 10)


def test_rule10_secret_in_shell_history(lab5):
    c = netmiko.ConnectHandler(
        device_type="linux", host=lab5.addresses["m2"], port=lab5.port, username="apigee",
        password=lab5.ssh_password, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
        alt_key_file=str(lab5.known_hosts))
    try:
        c.send_command(f"export ADMIN={lab5.secrets['admin_email']}")
    finally:
        c.disconnect()
    v = lab5.verdict()
    assert rules(v) == {10} and "history" in messages(v, 10)


def test_rule10_quiet_with_prompt_and_silent_read(lab5):
    Driver(lab5).bootstrap("m1")
    assert lab5.verdict().ok


# 11 -------------------------------------------------------------------------------------
def test_rule11_update_before_prepare(lab5):
    m1 = lab5.node("m1")
    rc, out = m1.run(f"sudo {m1.root}/apigee-setup/bin/update.sh -c cs,zk -f {m1.conf}")
    assert rc != 0 and "apigee-setup update" in out
    v = lab5.verdict()
    assert rules(v) == {11}


def test_rule11_bootstrap_alone_is_not_enough(lab5):
    d = Driver(lab5)
    d.bootstrap("m1")
    rc, _ = d.nodes["m1"].run(f"sudo {d.nodes['m1'].root}/apigee-setup/bin/update.sh -c cs,zk -f {d.nodes['m1'].conf}")
    assert rc != 0
    assert rules(lab5.verdict()) == {11}
    d.nodes["m1"].svc("apigee-setup", "update")
    d.nodes["m1"].update("cs,zk")
