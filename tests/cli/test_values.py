"""Issue 11: every value that reaches a remote command is validated at load time, and
the files and options an operator can get wrong are refused with exit 2, a message naming
the host, file or key, no traceback and no host contacted."""
from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
import yaml

from fleet.model import Node
from fleet.plan import build_plan
from fleet.secrets import Secrets
from fleet.settings import default_settings
from tests.cli.test_bad_input import FIVE, config, run, write_inventory

ENV = {"FLEET_REPO_USER": "u", "FLEET_REPO_PASSWORD": "pw", "FLEET_ADMIN_EMAIL": "a@b",
       "FLEET_ADMIN_PASSWORD": "apw"}


def with_data(host: str, **data) -> dict:
    return {**FIVE, host: {**FIVE[host], **data}}


CASES = [
    ("config_file runs a command", with_data("m2", config_file="/opt/silent.conf; touch /tmp/x"),
     None, "host m2: data.config_file: '/opt/silent.conf; touch /tmp/x' is not a safe absolute path"),
    ("download_dir with $()", with_data("m3", download_dir='/tmp/$(printf x "$APIGEE_REPO_PASSWORD")'),
     None, "host m3: data.download_dir"),
    ("apigee_root with a space", with_data("m1", apigee_root="/opt/my apigee"), None,
     "host m1: data.apigee_root: '/opt/my apigee' is not a safe absolute path: contains ' '"),
    ("relative config_file", with_data("m1", config_file="silent.conf"), None,
     "must start with '/'"),
    ("dotdot path", with_data("m1", download_dir="/tmp/../etc"), None, "must not contain '..'"),
    ("hostname runs a command", with_data("m4", address="10.0.0.4;reboot"), None,
     "host m4: hostname: '10.0.0.4;reboot' is not an IP address or host name"),
    ("firewall interface runs a command", FIVE,
     {"firewall_interface": "eth0 -j ACCEPT; iptables -F; #"},
     "user_defined.firewall_interface: 'eth0 -j ACCEPT; iptables -F; #' is not a network interface"),
    ("archive path", FIVE, {"repository": {"mode": "tar", "archive": "/tmp/a.tgz && reboot"}},
     "user_defined.repository.archive"),
    ("mirror host", FIVE, {"repository": {"mode": "mirror", "mirror_host": "m;x:3939"}},
     "user_defined.repository.mirror_host"),
    ("aws region", FIVE, {"platform": {"os": "aws7", "aws_region": "us-east-1 x"}},
     "user_defined.platform.aws_region"),
    ("dc names differ by case", with_data("m5", dc="DC-1", postgres="standby"), None,
     "data centre names differ only by case"),
    ("dc name with shell", with_data("m5", dc="dc-2;x"), None, "host m5: data.dc"),
    ("observer not a bool", with_data("m1", zookeeper_observer="yes"), None,
     "host m1: data.zookeeper_observer must be true or false"),
    ("misspelled data key", with_data("m1", confg_file="/opt/x.conf"), None,
     "host m1: unknown data key(s) confg_file (did you mean 'config_file'?)"),
    ("wrong setting type", FIVE, {"external_auth": "no"}, "external_auth must be true or false"),
]


@pytest.mark.parametrize("name,hosts,cfg,message", CASES, ids=[c[0] for c in CASES])
def test_unsafe_values_are_refused(tmp_path, listener, name, hosts, cfg, message):
    inv = write_inventory(tmp_path, hosts, listener.port)
    before = listener.hits
    res = run(["--config", str(config(tmp_path, cfg)), "--inventory", str(inv), "--all",
               "--yes", "--reports", str(tmp_path / "r")], tmp_path, ENV)
    assert res.returncode == 2, res.stderr + res.stdout
    assert message in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert listener.hits == before, "a host was contacted"
    assert not (tmp_path / "r").exists()


def refused(tmp_path: Path, listener, *args: str, env: dict | None = None) -> str:
    before = listener.hits
    res = run([*args], tmp_path, {**ENV, **(env or {})})
    assert res.returncode == 2, res.stderr + res.stdout
    assert "Traceback" not in res.stderr + res.stdout
    assert listener.hits == before, "a host was contacted"
    return res.stderr


def test_duplicate_host_keys_are_refused(tmp_path, listener):
    raw = (f"m1: {{hostname: 127.0.0.1, port: {listener.port}, data: {{dc: dc-1, profiles: [aio]}}}}\n"
           f"m1: {{hostname: 127.0.0.2, port: {listener.port}, data: {{dc: dc-1, profiles: [aio]}}}}\n")
    inv = write_inventory(tmp_path, {}, listener.port, raw=raw)
    err = refused(tmp_path, listener, "--config", str(config(tmp_path)), "--inventory", str(inv),
                  "--all", "--yes")
    assert "hosts.yaml is not valid YAML" in err and "duplicate key 'm1' (first on line 1)" in err


def test_misspelled_host_attribute_names_the_known_ones(tmp_path, listener):
    raw = yaml.safe_dump({"m1": {"hostnme": "127.0.0.1", "port": listener.port,
                                 "data": {"dc": "dc-1", "profiles": ["aio"]}}})
    inv = write_inventory(tmp_path, {}, listener.port, raw=raw)
    err = refused(tmp_path, listener, "--config", str(config(tmp_path)), "--inventory", str(inv),
                  "--all", "--yes")
    assert "host m1: unknown attribute 'hostnme' (did you mean 'hostname'?)" in err
    assert "known: hostname, port" in err


def test_misspelled_group_attribute(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
    hosts["m1"]["groups"] = ["g"]
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (inv / "groups.yaml").write_text(yaml.safe_dump({"g": {"dta": {"dc": "dc-1"}}}))
    err = refused(tmp_path, listener, "--config", str(config(tmp_path)), "--inventory", str(inv),
                  "--all", "--yes")
    assert "group g: unknown attribute 'dta' (did you mean 'data'?)" in err


@pytest.mark.parametrize("which", ["hosts.yaml", "defaults.yaml", "config.yaml"])
def test_non_utf8_files_are_refused(tmp_path, listener, which):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    cfg = config(tmp_path)
    target = cfg if which == "config.yaml" else inv / which
    target.write_bytes(target.read_bytes() + b"\n# caf\xe9\n")
    err = refused(tmp_path, listener, "--config", str(cfg), "--inventory", str(inv), "--all", "--yes")
    assert f"{target} is not UTF-8 text" in err


@pytest.mark.parametrize("raw,message", [
    ("inventory: inventory/\n", "config: inventory must be a mapping"),
    ("inventory: {options: [a]}\n", "config: inventory.options must be a mapping"),
    ("inventory: {options: {host_file: [a]}}\n", "inventory.options.host_file must be a file name"),
    ("runner: {options: {num_workers: many}}\n", "num_workers must be a whole number >= 1, not 'many'"),
    ("runner: {options: {num_workers: 0}}\n", "num_workers must be a whole number >= 1"),
    ("runner: fast\n", "config: runner must be a mapping"),
])
def test_wrong_types_in_the_config(tmp_path, listener, raw, message):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    cfg = config(tmp_path, raw=raw)
    err = refused(tmp_path, listener, "--config", str(cfg), "--inventory", str(inv), "--all", "--yes")
    assert message in err


def test_reports_that_is_a_file_is_refused(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    (tmp_path / "r").write_text("not a folder")
    err = refused(tmp_path, listener, "--config", str(config(tmp_path)), "--inventory", str(inv),
                  "--all", "--yes", "--reports", str(tmp_path / "r"))
    assert f"--reports {tmp_path / 'r'}: cannot create a run folder there" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_read_only_reports_is_refused(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    err = refused(tmp_path, listener, "--config", str(config(tmp_path)), "--inventory", str(inv),
                  "--all", "--yes", "--reports", str(ro))
    assert "cannot create a run folder there" in err


def test_plan_out_into_a_missing_folder_is_refused(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    err = refused(tmp_path, listener, "--config", str(config(tmp_path)), "--inventory", str(inv),
                  "--plan-out", str(tmp_path / "no" / "plan.json"))
    assert "--plan-out" in err and "cannot write" in err


def test_a_value_that_slipped_past_validation_is_still_one_shell_word():
    """The command builder quotes: a Node built without the loader's checks cannot inject."""
    evil = "/opt/silent.conf; touch /tmp/x"
    nodes = [Node("m1", "10.0.0.1", "dc-1", frozenset({"cs", "zk", "ms", "r", "mp", "qpid",
                                                        "qs", "ps", "pg", "ldap", "ui"}),
                  config_file=evil, download_dir="/tmp/$(id)", apigee_root="/opt/a b")]
    plan = build_plan(nodes, default_settings(), False)
    commands = [s.command for _, _, s in plan.iter_steps() if s.kind in ("shell", "check")]
    update = next(c for c in commands if "update.sh" in c)
    assert shlex.split(update)[-2:] == ["-f", evil]
    assert shlex.split(update)[0] == "/opt/a b/apigee-setup/bin/update.sh"
    fetch = next(s.command for _, _, s in plan.iter_steps() if s.action == "fetch_bootstrap")
    assert "'/tmp/$(id)'/bootstrap_4.18.01.sh" in fetch
    assert not any("; touch" in c.replace(f"'{evil}'", "") for c in commands)


def test_masking_whole_values_only():
    s = Secrets({"repo_user": "apigee", "repo_password": "pw", "admin_password": "x" * 20})
    text = "/opt/apigee/apigee-service password user=apigee apigee:pw@host " + "x" * 25
    assert s.mask(text) == ("/opt/apigee/apigee-service password user=******** "
                            "********:********@host ********xxxxx")
    # a URL's user, as yum prints the repository it cannot reach
    assert s.mask("https://apigee:pw@software.apigee.com/apigee/x") == \
        "https://********:********@software.apigee.com/apigee/x"


def test_plan_files_are_never_masked(tmp_path, listener):
    """--plan-out writes the plan as built, whatever the secrets (a plan holds none)."""
    inv = write_inventory(tmp_path, FIVE, listener.port)
    out = tmp_path / "plan.json"
    res = run(["--config", str(config(tmp_path)), "--inventory", str(inv), "--plan-out", str(out)],
              tmp_path, {**ENV, "FLEET_REPO_USER": "apigee", "FLEET_REPO_PASSWORD": "tmp"})
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert "/opt/apigee/apigee-setup/bin/update.sh" in text and "********" not in text
    assert json.loads(text)["waves"]


def test_resume_with_a_damaged_plan_file_is_refused(tmp_path, listener):
    inv = write_inventory(tmp_path, FIVE, listener.port)
    folder = tmp_path / "r" / "RUN1"
    folder.mkdir(parents=True)
    (folder / "journal.jsonl").write_bytes(
        b'{"event": "run_start", "selection": {}, "mode": "maintenance"}\n{"event": "step_en\xc3')
    (folder / "plan.json").write_text('{"waves": [')
    err = refused(tmp_path, listener, "--config", str(config(tmp_path)), "--inventory", str(inv),
                  "--resume", "RUN1", "--yes", "--reports", str(tmp_path / "r"))
    assert f"--resume RUN1: cannot read {folder / 'plan.json'}" in err
