"""Bad input is refused with exit status 2, a message naming the problem, no traceback,
and no connection to any host (a listener on the inventory's address counts attempts)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


FIVE = {
    "m1": {"dc": "dc-1", "machine": 1, "profiles": ["ds", "ms"]},
    "m2": {"dc": "dc-1", "machine": 2, "profiles": ["ds", "rmp"]},
    "m3": {"dc": "dc-1", "machine": 3, "profiles": ["ds", "rmp"]},
    "m4": {"dc": "dc-1", "machine": 4, "profiles": ["sax"], "postgres": "master"},
    "m5": {"dc": "dc-2", "machine": 5, "profiles": ["sax"], "postgres": "standby"},
}


def write_inventory(folder: Path, hosts: dict, port: int, raw: str | None = None) -> Path:
    inv = folder / "inventory"
    inv.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        (inv / "hosts.yaml").write_text(raw)
    else:
        # distinct addresses on one port: 127.0.0.1 is the listener; the rest are unused
        entries = {}
        for i, (name, data) in enumerate(hosts.items()):
            data = dict(data)
            address = data.pop("address", "127.0.0.1" if i == 0 else f"127.0.0.{i + 1}")
            entries[name] = {"hostname": address, "port": port, "data": data}
        (inv / "hosts.yaml").write_text(yaml.safe_dump(entries))
    (inv / "defaults.yaml").write_text(yaml.safe_dump({"username": "u", "password": "p",
                                                       "platform": "linux"}))
    return inv


def run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / "runner.py"), *args], cwd=cwd,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env=full_env, timeout=60)


def config(folder: Path, user_defined: dict | None = None, raw: str | None = None) -> Path:
    path = folder / "config.yaml"
    path.write_text(raw if raw is not None else yaml.safe_dump({"user_defined": user_defined or {}}))
    return path


CASES = [
    # (name, hosts, extra args, config user_defined or raw text, expected message)
    ("unknown wave", FIVE, ["--wave", "cs_zk,bogus"], None, "unknown wave 'bogus'"),
    ("unknown dc", FIVE, ["--all", "--dc", "dc-9"], None, "unknown data centre 'dc-9'"),
    ("unknown host", FIVE, ["--all", "--hosts", "m1,m77"], None, "unknown host 'm77'"),
    ("zero downtime small", {"m1": {"dc": "dc-1", "profiles": ["aio"]}},
     ["--all", "--zero-downtime"], None, "--zero-downtime needs an install of 5 nodes"),
    ("bad profile", {"m1": {"dc": "dc-1", "profiles": ["aoi"]}}, ["--all"], None,
     "host m1: unknown profile 'aoi'"),
    ("no component", {"m1": {"dc": "dc-1"}}, ["--all"], None, "host m1: no component"),
    ("two masters", {**FIVE, "m5": {**FIVE["m5"], "postgres": "master"}}, ["--all"], None,
     "more than one PostgreSQL master"),
    ("unknown component", {"m1": {"dc": "dc-1", "components": ["cs", "kafka"]}}, ["--all"],
     None, "host m1: unknown component 'kafka'"),
    ("duplicate address", {"m1": {"dc": "dc-1", "profiles": ["sa"], "address": "127.0.0.1"},
                           "m2": {"dc": "dc-1", "profiles": ["sax"], "address": "127.0.0.1"}},
     ["--all"], None, "hosts m1, m2 share the address 127.0.0.1"),
    ("standby without master", {**FIVE, "m4": {**FIVE["m4"], "postgres": None}}, ["--all"],
     None, "host m5: PostgreSQL standby without a master"),
    ("rollback without pair", {**FIVE, "m5": {**FIVE["m5"], "postgres": "rollback_standby"}},
     ["--all"], None, "host m5: rollback standby without a PostgreSQL master/standby pair"),
    ("unknown from-wave", FIVE, ["--from-wave", "edgy"], None, "unknown wave 'edgy'"),
    ("unknown setting", FIVE, ["--all"], {"qpid": {"drain_timeot": 3}},
     "unknown setting user_defined.qpid.drain_timeot"),
    ("malformed config", FIVE, ["--all"], "user_defined: [unclosed", "is not valid YAML"),
    ("bad choice", FIVE, ["--all"], {"become": "doas"}, "user_defined.become is 'doas'"),
    ("split postgres pair", FIVE, ["--wave", "postgres", "--dc", "dc-1"], None,
     "wave postgres spans m4, m5, which this filter splits"),
    ("nothing chosen", FIVE, [], None, "say what to run"),
    ("two choices", FIVE, ["--all", "--wave", "qpid"], None, "choose one of"),
    ("no terminal", FIVE, ["--all"], None, "no terminal to confirm on: pass --yes"),
    ("unknown flag", FIVE, ["--al"], None, "unrecognized arguments"),
    ("pause after unknown wave", FIVE, ["--all", "--yes", "--pause-after", "cs_zk,edgy"], None,
     "--pause-after edgy: unknown wave"),
    ("pause after a wave not run", FIVE, ["--wave", "qpid", "--yes", "--pause-after", "edge"],
     None, "--pause-after edge: not a wave of this run"),
    ("canary not selected", FIVE, ["--wave", "cs_zk", "--yes", "--dc", "dc-1", "--canary", "m5"],
     None, "--canary m5: not a host of this run"),
    ("canary that cannot go first", FIVE, ["--all", "--yes", "--canary", "m3"], None,
     "--canary m3: in wave edge it goes in batch 4, after m1"),
    ("canary alone in its waves", FIVE, ["--wave", "ldap", "--yes", "--canary", "m1"], None,
     "no wave of this run updates m1 together with other hosts"),
]


@pytest.mark.parametrize("name,hosts,args,cfg,message", CASES, ids=[c[0] for c in CASES])
def test_refused_with_status_2(tmp_path, listener, name, hosts, args, cfg, message):
    inv = write_inventory(tmp_path, hosts, listener.port)
    cfg_path = config(tmp_path, raw=cfg) if isinstance(cfg, str) else config(tmp_path, cfg)
    before = listener.hits
    env = {"FLEET_REPO_USER": "u", "FLEET_REPO_PASSWORD": "pw", "FLEET_ADMIN_EMAIL": "a@b",
           "FLEET_ADMIN_PASSWORD": "apw"}
    res = run(["--config", str(cfg_path), "--inventory", str(inv), *args], tmp_path, env)
    assert res.returncode == 2, res.stderr + res.stdout
    assert message in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert listener.hits == before, "a host was contacted"


def test_missing_config_and_inventory(tmp_path):
    res = run(["--all", "--config", str(tmp_path / "nope.yaml")], tmp_path)
    assert res.returncode == 2 and "nope.yaml not found" in res.stderr
    cfg = config(tmp_path)
    res = run(["--all", "--config", str(cfg), "--inventory", str(tmp_path / "inv")], tmp_path)
    assert res.returncode == 2 and "hosts.yaml not found" in res.stderr


def test_malformed_inventory(tmp_path, listener):
    inv = write_inventory(tmp_path, {}, listener.port, raw="m1: {data: [oops")
    res = run(["--all", "--config", str(config(tmp_path)), "--inventory", str(inv)], tmp_path)
    assert res.returncode == 2 and "is not valid YAML" in res.stderr
    assert "Traceback" not in res.stderr


def test_secrets_file_readable_by_others_is_refused(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("repo_user: u\nrepo_password: p\nadmin_email: a\nadmin_password: b\n")
    secrets.chmod(0o644)
    before = listener.hits
    res = run(["--all", "--yes", "--config", str(config(tmp_path)), "--inventory", str(inv),
               "--secrets", str(secrets), "--reports", str(tmp_path / "r")], tmp_path)
    assert res.returncode == 2 and "chmod 600" in res.stderr
    assert listener.hits == before


def test_missing_secrets_are_named(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    env = {k: "" for k in ("FLEET_REPO_USER", "FLEET_REPO_PASSWORD", "FLEET_ADMIN_EMAIL",
                           "FLEET_ADMIN_PASSWORD")}
    before = listener.hits
    res = run(["--all", "--yes", "--config", str(config(tmp_path)), "--inventory", str(inv),
               "--reports", str(tmp_path / "r")], tmp_path, env)
    assert res.returncode == 2
    assert "repo_password (env FLEET_REPO_PASSWORD)" in res.stderr
    assert listener.hits == before


def test_dry_run_needs_no_secret_and_touches_nothing(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    before = listener.hits
    out = tmp_path / "plan.json"
    res = run(["--dry-run", "--config", str(config(tmp_path)), "--inventory", str(inv),
               "--plan-out", str(out)], tmp_path, {"FLEET_REPO_PASSWORD": ""})
    assert res.returncode == 0, res.stderr
    assert "wave 3: cs_zk" in res.stdout
    plan = __import__("json").loads(out.read_text())
    assert plan["version"] == 1 and plan["target"] == "4.18.01" and plan["mode"] == "maintenance"
    assert [w["name"] for w in plan["waves"]][:4] == ["preflight", "prepare", "cs_zk", "qpid"]
    assert listener.hits == before


@pytest.mark.parametrize("options,message", [
    ({"fleet_ssh": {"extras": {"proxy_jump": "bastion:abc"}}},
     "connection_options.fleet_ssh.extras.proxy_jump: 'bastion:abc' is not [user@]host[:port]"),
    ({"netmiko": {"extras": {"proxy_jump": "jump@bad host;id"}}},
     "connection_options.netmiko.extras.proxy_jump: 'bad host;id' is not an IP address"),
    ({"fleet_ssh": {"extras": ["use_keys"]}}, "connection_options.fleet_ssh.extras must be a mapping"),
    ({"fleet_ssh": {"extras": {"ssh_strict": False}}},
     "connection_options.fleet_ssh.extras.ssh_strict must stay true"),
], ids=["jump port", "jump host", "extras list", "strict off"])
def test_bad_ssh_options_are_refused_before_any_connection(tmp_path, listener, options, message):
    """A bastion spec used to fail only at the first connection, as a failed step."""
    inv = write_inventory(tmp_path, FIVE, listener.port)
    hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
    hosts["m2"]["connection_options"] = options
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    before = listener.hits
    env = {"FLEET_REPO_USER": "u", "FLEET_REPO_PASSWORD": "pw", "FLEET_ADMIN_EMAIL": "a@b",
           "FLEET_ADMIN_PASSWORD": "apw"}
    res = run(["--config", str(config(tmp_path)), "--inventory", str(inv), "--all", "--yes"],
              tmp_path, env)
    assert res.returncode == 2, res.stderr + res.stdout
    assert f"host m2: {message}" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert listener.hits == before, "a host was contacted"
