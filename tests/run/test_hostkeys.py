"""known_hosts parsed once per file version (tasks/hostkeys.py) and still strictly checked:
a run against a host whose key does not match stops before anything is done."""
from __future__ import annotations

import os
from pathlib import Path

import paramiko
import pytest
import yaml

from lab import Lab
from tasks.hostkeys import entries
from tests.e2e.helpers import events, explain, run_ids, runner

pytestmark = pytest.mark.lab       # starts a lab or a browser (tests/conftest.py)


def _lines(keys: paramiko.HostKeys) -> list[str]:
    return sorted(e.to_line() for e in keys._entries)


def test_cached_entries_match_paramiko_and_follow_file_changes(tmp_path: Path) -> None:
    a, b = (paramiko.RSAKey.generate(1024) for _ in range(2))
    f = tmp_path / "known_hosts"
    f.write_text(f"[10.0.0.1]:22 ssh-rsa {a.get_base64()}\n10.0.0.2 ssh-rsa {b.get_base64()}\n")
    first = paramiko.HostKeys()
    first._entries = entries(str(f))
    assert _lines(first) == _lines(paramiko.HostKeys(str(f)))
    assert first.lookup("[10.0.0.1]:22")["ssh-rsa"] == a
    first._entries[0].hostnames.append("evil")               # a client's copy is its own
    assert "evil" not in entries(str(f))[0].hostnames
    f.write_text(f"[10.0.0.1]:22 ssh-rsa {b.get_base64()}\n")  # changed file: read again
    os.utime(f, ns=(1, 1))
    again = paramiko.HostKeys()
    again._entries = entries(str(f))
    assert again.lookup("[10.0.0.1]:22")["ssh-rsa"] == b and again.lookup("10.0.0.2") is None


def test_a_host_key_that_does_not_match_stops_the_run_in_preflight(tmp_path: Path) -> None:
    """Also when a group sets netmiko extras of its own (only a connect timeout here):
    they are merged with the defaults', never replace them, so ssh_strict stays on, no
    password is offered to the host and no step runs there."""
    reports = tmp_path / "reports"
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        groups = lab.directory / "inventory" / "groups.yaml"
        groups.write_text(yaml.safe_dump({"dc-1": {"data": {"dc": "dc-1"}, "connection_options": {
            "netmiko": {"extras": {"conn_timeout": 20}}}}}))
        stranger = paramiko.Ed25519Key.from_private_key_file(
            str(lab.directory / "hosts" / "m1" / "ssh_host_ed25519_key")).get_base64()
        lines = lab.known_hosts.read_text().splitlines()
        lines = [ln.rsplit(" ", 1)[0] + " " + stranger if ln.startswith(f"[{lab.addresses['m2']}]")
                 else ln for ln in lines]                   # m2 now "has" m1's key
        lab.known_hosts.write_text("\n".join(lines) + "\n")
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 1, explain(res, lab)
        # refused at once with paramiko's reason, not retried as if the network were slow
        assert "on m2: check_status: cannot connect" in res.stdout
        assert "Host key for server" in res.stdout and "does not match" in res.stdout
        (run_id,) = run_ids(reports)
        evts = events(reports, run_id)
        assert {e["wave"] for e in evts if e["event"] == "step_start"} == {"preflight"}
        (failed,) = [e for e in evts if e["event"] == "step_end" and e["status"] == "failed"]
        assert failed["end"] - failed["start"] < 1.0      # no backoff (1 s, 2 s) spent on it
        assert not [e for e in evts if e["event"] == "step_end" and e["host"] == "m2"
                    and e["status"] == "ok"]
        hosts = lab.state()["hosts"]
        assert hosts["m2"]["logins"] == 0, "the SSH password was offered to a wrong host key"
        assert hosts["m1"]["logins"] > 0
        assert lab.verdict().ok


def test_turning_host_key_checks_off_is_refused(tmp_path: Path) -> None:
    with Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        groups = lab.directory / "inventory" / "groups.yaml"
        groups.write_text(yaml.safe_dump({"dc-1": {"data": {"dc": "dc-1"}, "connection_options": {
            "netmiko": {"extras": {"ssh_strict": False}}}}}))
        res = runner(lab, "--all", "--yes", reports=tmp_path / "reports")
        assert res.returncode == 2, explain(res)
        assert "group dc-1: connection_options.netmiko.extras.ssh_strict must stay true" in res.stderr
        assert all(h["logins"] == 0 for h in lab.state()["hosts"].values())
