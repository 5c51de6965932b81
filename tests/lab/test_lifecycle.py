"""Starting and stopping: the CLI daemon, no process left behind, 40 hosts in < 10 s, mirror."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from lab import Lab
from tests.lab.sshclient import Node

ROOT = Path(__file__).resolve().parents[2]


def lab_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert not check or r.returncode == 0, r.stdout + r.stderr
    return r


def processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line or environment mentions ``text``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1][0] == "Z":
                    continue
        except OSError:
            continue
        if text.encode() in cmd or text.encode() in env:
            line = cmd.replace(b"\0", b" ").decode(errors="replace")[:120]
            found.append(f"{pid}: {line}")
    return found


def test_cli_start_verdict_fault_stop_leaves_nothing(tmp_path):
    d = tmp_path / "cli-lab"
    out = lab_cli("start", "--topology", "2-node", "--dir", str(d), "--speed", "0").stdout
    assert "config.yaml" in out
    info = json.loads((d / "lab.json").read_text())
    lab = Lab.attach(d)
    n = Node(lab, "m1")
    from tests.lab.sshclient import _sync

    async def open_shell():
        return await n.conn.create_process(term_type="xterm")
    _shells = [_sync(open_shell()) for _ in range(2)]      # interactive bash on a PTY, left open
    try:
        n.ok("hostname")
        lab_cli("fault", "--dir", str(d), "--host", "m1", "--kind", "fail-always", "--match", "getenforce")
        assert n.run("getenforce")[0] == 1
        lab_cli("clear-faults", "--dir", str(d))
        n.ok("sudo iptables -F")
        r = lab_cli("verdict", "--dir", str(d), "--json", check=False)
        assert r.returncode == 1 and json.loads(r.stdout)["violations"][0]["rule"] == 3
        time.sleep(0.2)
        assert processes_mentioning("LAB_HOST=m1"), "expected live shells before stop"
    finally:
        n.close()
    lab_cli("stop", "--dir", str(d))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (processes_mentioning(str(d)) or processes_mentioning(info["sock"])):
        time.sleep(0.1)
    assert not processes_mentioning(str(d)), processes_mentioning(str(d))
    assert not processes_mentioning(info["sock"])
    assert not (d / "lab.json").exists()


def test_in_process_stop_reaps_shells_and_hung_commands(make_lab):
    lab = make_lab("1-node")
    n = lab.node("m1")
    lab.fault("m1", "hang")
    from tests.lab.sshclient import _sync

    async def start_hung():
        return await n.conn.create_process(f"{n.root}/apigee-service/bin/apigee-all status")
    _sync(start_hung())
    time.sleep(0.3)
    assert processes_mentioning(lab.info["sock"])
    lab.stop()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and processes_mentioning(lab.info["sock"]):
        time.sleep(0.1)
    assert not processes_mentioning(lab.info["sock"])


def test_forty_nodes_start_fast(tmp_path):
    t = time.monotonic()
    lab = Lab.start("generated", tmp_path / "big", speed=0.0, nodes=40, dcs=2)
    try:
        took = time.monotonic() - t
        assert len(lab.hosts) == 41                    # plus the rollback standby
        assert took < 10, took
        hosts = yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text())
        assert {h["data"]["dc"] for h in hosts.values()} == {"dc-1", "dc-2"}
        assert sum(1 for h in hosts.values() if h["data"].get("zookeeper_observer")) == 1
        n = Node(lab, "m40")
        assert n.ok("hostname").strip() == "m40"
        n.close()
    finally:
        lab.stop()


def test_mirror_inventory(make_lab, tmp_path):
    inv = tmp_path / "ops-inventory"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(yaml.safe_dump({
        "edge-a": {"hostname": "10.1.0.5", "data": {"dc": "dc-1", "profiles": ["aio"], "postgres": "master"}},
        "edge-b": {"hostname": "10.1.0.6", "data": {"dc": "dc-1", "components": ["ps", "pg"],
                                                    "postgres": "standby"}},
    }))
    lab = make_lab(mirror=inv)
    assert lab.hosts == ["edge-a", "edge-b", "pgr"]
    data = lab.host_data("edge-b")
    assert data["components"] == ["ps", "pg"] and data["postgres"] == "standby"
    assert lab.node("edge-a").ok("hostname").strip() == "edge-a"
