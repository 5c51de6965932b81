"""The hosts look real to netmiko/paramiko, and the emulated commands answer like the real ones."""
from __future__ import annotations

import base64
import json
import re
import stat
import urllib.error
import urllib.request

import netmiko
import paramiko
import pytest
import yaml

from fleet.facts import apigee_status, apigee_version, qpid_stat

from tests.lab.driver import Driver, api


def shell(lab, host):
    return netmiko.ConnectHandler(
        device_type="linux", host=lab.addresses[host], port=lab.port, username="apigee",
        password=lab.ssh_password, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
        alt_key_file=str(lab.known_hosts))


def test_inventory_config_and_secrets(lab5):
    hosts = yaml.safe_load((lab5.inventory_dir / "hosts.yaml").read_text())
    assert list(hosts) == ["m1", "m2", "m3", "m4", "m5", "pgr"]
    assert len({h["hostname"] for h in hosts.values()}) == 6
    assert all(h["hostname"].startswith("127.") and h["hostname"] != "127.0.0.1" for h in hosts.values())
    assert hosts["m4"]["data"]["postgres"] == "master" and hosts["m5"]["data"]["postgres"] == "standby"
    assert hosts["pgr"]["data"] == {**hosts["pgr"]["data"], "postgres": "rollback_standby",
                                    "profiles": ["ps"], "dc": "dc-1"}
    assert "postgres" not in hosts["m1"]["data"]
    defaults = yaml.safe_load((lab5.inventory_dir / "defaults.yaml").read_text())
    assert defaults["platform"] == "linux"
    assert defaults["connection_options"]["netmiko"]["extras"]["ssh_strict"] is True
    cfg = yaml.safe_load(lab5.config_path.read_text())
    assert set(cfg["user_defined"]) == {"management_url", "secrets_file", "repository", "qpid",
                                        "zero_downtime", "timeouts", "releases"}
    assert cfg["user_defined"]["repository"] == {"mode": "internet"}
    assert stat.S_IMODE(lab5.secrets_path.stat().st_mode) == 0o600
    assert set(lab5.secrets) == {"repo_user", "repo_password", "admin_email", "admin_password"}
    conf = open(lab5.host_data("pgr")["config_file"]).read()
    assert f"PG_STANDBY={lab5.addresses['pgr']}" in conf and f"PG_MASTER={lab5.addresses['m4']}" in conf
    assert 'SMTPMAILFROM="My Company <myco@company.com>"' in conf


def test_paramiko_strict_host_keys_and_bad_password(lab5):
    c = paramiko.SSHClient()
    c.load_host_keys(str(lab5.known_hosts))
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    c.connect(lab5.addresses["m3"], lab5.port, "apigee", lab5.ssh_password, look_for_keys=False,
              allow_agent=False)
    _, o, _ = c.exec_command("hostname; exit 7")
    assert o.read().decode().strip() == "m3" and o.channel.recv_exit_status() == 7
    c.close()
    c = paramiko.SSHClient()
    c.load_host_keys(str(lab5.known_hosts))
    with pytest.raises(paramiko.AuthenticationException):
        c.connect(lab5.addresses["m3"], lab5.port, "apigee", "wrong", look_for_keys=False,
                  allow_agent=False)


def test_netmiko_shell_prompt_history_and_path(lab5):
    c = shell(lab5, "m2")
    try:
        assert c.find_prompt() == "[apigee@m2 ~]$"
        out = c.send_command("hostname; echo __RC=$?")
        assert out == "m2\n__RC=0"                       # no stray newline (bracketed paste off)
        assert c.send_command("command -v iptables crontab yum").split() == [
            str(lab5.directory / "hosts/m2/bin" / x) for x in ("iptables", "crontab", "yum")]
        assert "lab sudo" in c.send_command("sudo bash -c 'cat $(command -v sudo)'")
        assert c.send_command("sudo iptables -S").splitlines()[-1].startswith("-A INPUT -p tcp --dport 22")
        assert c.send_command("false; echo __RC=$?") == "__RC=1"
    finally:
        c.disconnect()
    hist = (lab5.directory / "hosts/m2/.bash_history").read_text()
    assert "hostname; echo __RC=$?" in hist


def test_bootstrap_password_prompt_over_pty(lab5):
    c = shell(lab5, "m1")
    sec = lab5.secrets
    dl = lab5.host_data("m1")["download_dir"]
    try:
        c.send_command(f"curl -sSf https://software.apigee.com/bootstrap_4.18.01.sh -o {dl}/bootstrap_4.18.01.sh")
        out = c.send_command_timing(f"sudo bash {dl}/bootstrap_4.18.01.sh apigeeuser={sec['repo_user']}",
                                    read_timeout=5)
        assert "password" in out
        out = c.send_command(sec["repo_password"], expect_string=r"\$", read_timeout=10, cmd_verify=False)
        assert sec["repo_password"] not in out and "successfully" in out
        assert c.send_command("echo __RC=$?") == "__RC=0"
    finally:
        c.disconnect()
    assert lab5.state()["hosts"]["m1"]["repo_version"] == "4.18.01"


def test_wrong_repo_password_fails(lab5):
    m1 = lab5.node("m1")
    m1.ok(f"curl -sSf https://software.apigee.com/bootstrap_4.18.01.sh -o {m1.dl}/b.sh")
    rc, out = m1.run(f"bash {m1.dl}/b.sh apigeeuser={lab5.secrets['repo_user']}", stdin="nope\n")
    assert rc == 1 and "401" in out


def test_mirror_and_tar_repositories(make_lab):
    lab = make_lab("1-node", repo_mode="mirror")
    cfg = yaml.safe_load(lab.config_path.read_text())["user_defined"]["repository"]
    assert cfg["mode"] == "mirror"
    m1, sec = lab.node("m1"), lab.secrets
    cmd = (f"IFS= read -r U; IFS= read -r P; printf 'user = \"%s:%s\"\\n' \"$U\" \"$P\" | "
           f"curl -sSf -K - http://{cfg['mirror_host']}/bootstrap_4.18.01.sh -o {m1.dl}/bootstrap_4.18.01.sh")
    m1.ok(cmd, stdin=f"{sec['repo_user']}\n{sec['repo_password']}\n")
    rc, out = m1.run(cmd, stdin=f"{sec['repo_user']}\nbad\n")
    assert rc == 22 and "401" in out
    lab2 = make_lab("1-node", repo_mode="tar")
    archive = yaml.safe_load(lab2.config_path.read_text())["user_defined"]["repository"]["archive"]
    n = lab2.node("m1")
    n.ok(f"mkdir -p {n.dl}/repos && tar -xzf {archive} -C {n.dl}/repos")
    n.ok(f'sudo bash {n.dl}/repos/bootstrap_4.18.01.sh apigeeprotocol="file://" apigeerepobasepath={n.dl}/repos')
    n.svc("apigee-setup", "update")
    assert lab2.state()["hosts"]["m1"]["prepared"]


def test_versions_status_and_qpid_table(lab5):
    """Real formats (docs/real-nodes.md), read back through the runner's facts."""
    m4 = lab5.node("m4")
    out = m4.ok(f"{m4.root}/apigee-service/bin/apigee-all version")
    assert "+ apigee-service apigee-postgresql version" in out
    packages = apigee_version.parse(out)["packages"]
    assert packages["apigee-postgresql"].startswith("9.4.")           # upstream version
    assert packages["edge-qpid-server"].startswith("4.16.09-0.0.")      # Edge-built
    assert {"apigee-service", "apigee-setup", "apigee-attribution"} <= set(packages)
    m4.svc("edge-qpid-server", "stop")
    rc, out = m4.run(f"{m4.root}/apigee-service/bin/apigee-all status")
    assert rc == 1 and "apigee-service: edge-qpid-server: Not running (DEAD)" in out
    assert apigee_status.parse(out)["not_running"] == ["edge-qpid-server"]
    rc, _ = m4.run("qpid-stat -q")
    assert rc == 127                                    # not on PATH, as on Apigee nodes
    out = m4.ok(f"{m4.root}/apigee-qpidd/bin/qpid-stat -q")
    table = out.splitlines()
    assert table[0] == "Queues" and table[1].split() == [
        "queue", "dur", "autoDel", "excl", "msg", "msgIn", "msgOut", "bytes", "bytesIn", "bytesOut",
        "cons", "bind"]
    assert set(table[2].strip()) == {"="}
    fact = qpid_stat.parse(out)
    backlog = fact["queues"][1]
    assert backlog["msg"] >= 1480 and not fact["drained"]
    assert re.search(r"\s\d\.\d\dk\s", out)           # printed with the tool's suffix
    assert fact["dead_letter"] == [{"name": "ax-q-axgroup-001-consumer-group-001-dl", "msg": 323}]


def test_crontab_disable_and_restore(lab5):
    m1 = lab5.node("m1")
    before = m1.ok("crontab -l")
    m1.ok("crontab -l | sed -E '/nodetool.*repair/ s/^([^#])/#fleet-disabled# \\1/' | crontab -")
    assert m1.ok("crontab -l").startswith("#fleet-disabled# 0 2 * * 0")
    m1.ok("crontab -l | sed -E 's/^#fleet-disabled# //' | crontab -")
    assert m1.ok("crontab -l") == before
    rc, out = lab5.node("m4").run("crontab -l")
    assert rc == 1 and "no crontab" in out


def test_pg_hba_regenerated_and_pgdata_guard(lab5):
    d = Driver(lab5)
    d.set_hba([lab5.addresses["m5"], lab5.addresses["pgr"]])
    hba = open(f"{d.nodes['m4'].root}/apigee-postgresql/conf/pg_hba.conf").read()
    assert f"host replication apigee {lab5.addresses['pgr']}/32 trust" in hba.splitlines()
    m5 = d.nodes["m5"]
    rc, out = m5.run(f"{m5.root}/apigee-service/bin/apigee-service apigee-postgresql "
                     f"setup-replication-on-standby -f {m5.conf}")
    assert rc == 1 and "not empty" in out


def test_rollback_standby_starts_empty_and_installs(lab5):
    n = lab5.node("pgr")
    assert n.ok("hostname").strip() == "pgr"
    assert n.run(f"ls {n.root}/apigee-service/bin/apigee-service")[0] != 0
    Driver(lab5).add_rollback_standby()
    st = lab5.state()["hosts"]["pgr"]
    assert {c: x["version"] for c, x in st["components"].items()} == {"ps": "4.16.09", "pg": "4.16.09"}
    assert any(s["host"] == "pgr" and s["code"] == "pg" for s in lab5.state()["servers"].values())


def test_management_api(lab5):
    servers = api(lab5, "GET", "/v1/servers?pod=gateway&region=dc-1")
    assert {s["type"][0] for s in servers} == {"router", "message-processor"}
    s = servers[0]
    assert set(s) >= {"uUID", "type", "region", "pod", "internalIP", "reachable", "isUp"}
    assert api(lab5, "POST", f"/v1/servers/{s['uUID']}", "reachable=false")["reachable"] is False
    mp_addr = lab5.addresses["m2"]
    sec = lab5.secrets
    req = urllib.request.Request(f"http://{mp_addr}:8082/v1/servers/self")
    req.add_header("Authorization", "Basic " + base64.b64encode(
        f"{sec['admin_email']}:{sec['admin_password']}".encode()).decode())
    me = json.loads(urllib.request.urlopen(req, timeout=5).read())
    assert me["type"] == ["message-processor"] and me["internalIP"] == mp_addr
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(lab5.management_url + "/v1/servers", timeout=5)
    assert e.value.code == 401


def test_validate_fails_while_a_component_is_down(lab5):
    lab5.set_state("m1", prepared=True)
    m1, m3 = lab5.node("m1"), lab5.node("m3")
    assert m1.ok("hostname -i").strip() == lab5.addresses["m1"]
    m1.svc("apigee-validate", "update")
    m1.svc("apigee-validate", "setup", "-f", m1.conf)
    m3.svc("edge-message-processor", "stop")
    rc, out = m1.run(f"{m1.root}/apigee-service/bin/apigee-service apigee-validate setup -f {m1.conf}")
    assert rc == 1 and "HTTP 503" in out and "m3:edge-message-processor" in out


@pytest.mark.parametrize("kind", ["native", "python"])
def test_both_agents_answer_prompts_stdin_and_status(make_lab, monkeypatch, kind):
    """The C agent (built with cc) and agent.py (no compiler) speak the same protocol:
    a hidden prompt over the PTY, all of stdin, exit statuses."""
    import shutil as _shutil

    from lab import layout

    if kind == "native" and not (_shutil.which("cc") or _shutil.which("gcc")):
        pytest.skip("no C compiler: the lab uses agent.py")
    if kind == "python":
        monkeypatch.setenv("LAB_PY_AGENT", "1")
    layout._agent.cache_clear()
    try:
        lab = make_lab("5-node")
    finally:
        layout._agent.cache_clear()
    stub = (lab.directory / "hosts" / "m1" / "bin" / "crontab").read_text()
    assert ("agent.py" in stub) == (kind == "python")
    test_bootstrap_password_prompt_over_pty(lab)
    test_crontab_disable_and_restore(lab)
    m4 = lab.node("m4")
    rc, out = m4.run("apigee-service edge-router nosuchverb")
    assert rc != 0
