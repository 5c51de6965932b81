"""Realism check against Debian's OpenSSH sshd (skipped, with the reason, where unavailable)."""
from __future__ import annotations

import netmiko
import pytest

from lab import Lab
from lab.openssh import available
from tests.lab.driver import Driver
from tests.lab.sshclient import Node

OK, WHY = available()
pytestmark = pytest.mark.skipif(not OK, reason=f"OpenSSH lab unavailable: {WHY}")


def test_openssh_hosts_prompt_echo_status_and_full_update(tmp_path):
    lab = Lab.start("5-node", tmp_path / "ossh", speed=0.0, ssh_server="openssh")
    nodes: list[Node] = []
    lab.node = lambda h: nodes.append(Node(lab, h)) or nodes[-1]  # type: ignore[attr-defined]
    try:
        c = netmiko.ConnectHandler(
            device_type="linux", host=lab.addresses["m1"], port=lab.port, username="apigee",
            password=lab.ssh_password, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
            alt_key_file=str(lab.known_hosts))
        try:
            assert c.find_prompt() == "[apigee@m1 ~]$"
            assert c.send_command("hostname; echo __RC=$?") == "m1\n__RC=0"
            assert c.send_command("getenforce; false; echo __RC=$?") == "Disabled\n__RC=1"
            dl = lab.host_data("m1")["download_dir"]
            c.send_command(f"curl -sSf https://software.apigee.com/bootstrap_4.18.01.sh -o {dl}/b.sh")
            c.send_command_timing("IFS= read -rs APIGEE_REPO_USER", read_timeout=1)
            c.send_command_timing(lab.secrets["repo_user"], read_timeout=1, cmd_verify=False)
            out = c.send_command_timing(f'sudo bash {dl}/b.sh apigeeuser="$APIGEE_REPO_USER"',
                                        read_timeout=5)
            assert "password" in out
            out = c.send_command(lab.secrets["repo_password"], expect_string=r"\$", cmd_verify=False,
                                 read_timeout=10)
            assert lab.secrets["repo_password"] not in out
            assert c.send_command("echo __RC=$?") == "__RC=0"
        finally:
            c.disconnect()
        Driver(lab).run()
        v = lab.verdict(final=True)
        assert v.ok, v.text()
    finally:
        for n in nodes:
            n.close()
        lab.stop()


def test_openssh_full_update_with_sudo_passwords_and_keys_through_a_bastion(tmp_path):
    """The runner itself over real sshd: key-only login (encrypted key, passphrase secret)
    through the jump host, sudo asking for a password at every call, a prompt with the time."""
    from tests.e2e.helpers import explain, runner
    lab = Lab.start("5-node", tmp_path / "ossh", speed=0.0, ssh_server="openssh",
                    sudo_password=True, ssh_keys=True, bastion=True, prompt=r"\t \u@\h \w\$ ")
    try:
        res = runner(lab, "--all", "--yes", reports=tmp_path / "reports")
        assert res.returncode == 0, explain(res, lab)
        v = lab.verdict(final=True)
        assert v.ok, v.text()
    finally:
        lab.stop()
