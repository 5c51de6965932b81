"""Every fault kind, injected through the Python API (the CLI path is in test_lifecycle)."""
from __future__ import annotations

import asyncio
import time

import asyncssh
import pytest

from fleet.facts import qpid_stat
from tests.lab.sshclient import Node
from tests.lab.driver import BLOCK


def test_refuse_then_clear(lab5):
    lab5.fault("m2", "refuse")
    with pytest.raises(OSError):
        Node(lab5, "m2")
    lab5.clear_faults()
    n = lab5.node("m2")
    assert n.ok("hostname").strip() == "m2"


def test_fail_once_and_fail_always(lab5):
    m1 = lab5.node("m1")
    lab5.fault("m1", "fail-once", match="edge-ui status")
    rc, out = m1.run(f"{m1.root}/apigee-service/bin/apigee-service edge-ui status")
    assert rc == 1 and "injected fault" in out
    m1.svc("edge-ui", "status")
    lab5.fault("m1", "fail-always", match="getenforce")
    for _ in range(2):
        assert m1.run("getenforce")[0] == 1
    m1.ok("hostname")                                   # not an emulated command: unaffected
    lab5.clear_faults("m1")
    assert m1.ok("getenforce").strip() == "Disabled"


def test_drop_closes_the_connection_once(lab5):
    lab5.set_state("m1", prepared=True)
    m1 = lab5.node("m1")
    lab5.fault("m1", "drop", match="update.sh")
    try:
        rc, _ = m1.run(f"{m1.root}/apigee-setup/bin/update.sh -c cs,zk -f {m1.conf}", timeout=10)
        assert rc == -1                                   # channel closed without an exit status
    except (asyncssh.Error, OSError):
        pass
    with pytest.raises((asyncssh.Error, OSError)):
        m1.run("hostname")                                # the whole connection is gone
    assert lab5.state()["hosts"]["m1"]["components"]["cs"]["version"] == "4.16.09"
    again = Node(lab5, "m1")
    try:
        again.update("cs,zk")                             # fires once only
    finally:
        again.close()
    assert lab5.state()["hosts"]["m1"]["components"]["cs"]["version"] == "4.18.01"


def test_hang_never_returns(lab5):
    m1 = lab5.node("m1")
    lab5.fault("m1", "hang", match="apigee-all status")
    t = time.monotonic()
    with pytest.raises((asyncssh.Error, asyncio.TimeoutError, TimeoutError)):
        m1.run(f"{m1.root}/apigee-service/bin/apigee-all status", timeout=1)
    assert time.monotonic() - t >= 1
    lab5.clear_faults()
    fresh = Node(lab5, "m1")
    try:
        fresh.ok(f"{fresh.root}/apigee-service/bin/apigee-all status")
    finally:
        fresh.close()


def test_undrainable_broker(lab5):
    lab5.fault("m4", "undrainable")
    m4 = lab5.node("m4")
    m4.ok("sudo " + BLOCK.format(op="-A", addr=m4.address))
    time.sleep(0.5)
    qpid_stat_q = f"{m4.root}/apigee-qpidd/bin/qpid-stat -q"
    assert not qpid_stat.parse(m4.ok(qpid_stat_q))["drained"]
    lab5.clear_faults()
    deadline = time.monotonic() + 5             # a backlog of 1.48k drains in about a second
    while not qpid_stat.parse(m4.ok(qpid_stat_q))["drained"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert qpid_stat.parse(m4.ok(qpid_stat_q))["drained"]


def test_lost_client_interrupts_update_midway(make_lab):
    """Without any fault: a connection lost during update.sh kills it, leaving the components
    stopped at the old version (as on a real node); a re-run completes it."""
    lab = make_lab("5-node", speed=0.05)
    lab.set_state("m1", prepared=True)
    n = Node(lab, "m1")
    from tests.lab.sshclient import _sync

    async def start_update():
        return await n.conn.create_process(f"{n.root}/apigee-setup/bin/update.sh -c cs,zk -f {n.conf}")
    _sync(start_update())
    deadline = time.monotonic() + 5
    while lab.state()["hosts"]["m1"]["components"]["cs"]["state"] != "updating":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    n.close()
    deadline = time.monotonic() + 5
    while lab.state()["hosts"]["m1"]["components"]["cs"]["state"] == "updating":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cs = lab.state()["hosts"]["m1"]["components"]["cs"]
    assert cs == {"service": "apigee-cassandra", "version": "4.16.09", "state": "stopped"}
    again = lab.node("m1")
    again.update("cs,zk")
    assert lab.state()["hosts"]["m1"]["components"]["cs"]["state"] == "running"
