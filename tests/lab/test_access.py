"""The lab's access options and judgements 14-16, each caught on a deliberately wrong run
over a real SSH terminal (sudo reads passwords from the terminal, and a hang-up reaches only
what runs on one)."""
from __future__ import annotations

import re
import threading
import time

import paramiko

from tasks.detach import job_for, start_line


def rules(v) -> set[int]:
    return {x["rule"] for x in v.violations}


class Terminal:
    """An interactive shell with a PTY, as an operator (or netmiko) has it."""

    def __init__(self, lab, host: str) -> None:
        self.client = paramiko.SSHClient()
        self.client.load_host_keys(str(lab.known_hosts))
        self.client.connect(lab.addresses[host], lab.port, "apigee", lab.ssh_password,
                            look_for_keys=False, allow_agent=False)
        self.chan = self.client.invoke_shell(term="dumb")
        self.out = ""

    def until(self, pattern: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.out):
            assert time.monotonic() < deadline, f"no {pattern!r} in {self.out[-500:]!r}"
            if self.chan.recv_ready():
                self.out += self.chan.recv(65536).decode(errors="replace")
            else:
                time.sleep(0.02)
        return self.out

    def type(self, text: str) -> None:
        self.chan.send(text + "\n")

    def hang_up(self) -> None:
        self.client.close()


def update_line(lab, host: str, codes: str) -> str:
    d = lab.host_data(host)
    return f"{d['apigee_root']}/apigee-setup/bin/update.sh -c {codes} -f {d['config_file']}"


# 14 -------------------------------------------------------------------------------------------
def test_rule14_repository_password_typed_at_sudos_prompt(make_lab):
    lab = make_lab("1-node", sudo_password=True)
    t = Terminal(lab, "m1")
    t.type("sudo true")
    t.until(r"\[sudo\] password for \w+: $")
    t.type(lab.secrets["repo_password"])
    t.until("Sorry, try again.")
    t.hang_up()
    v = lab.verdict()
    assert rules(v) == {14} and "repo_password typed at sudo's password prompt" in str(v.violations)


def test_rule14_quiet_for_the_become_password_at_sudos_prompt(make_lab):
    lab = make_lab("1-node", sudo_password=True)
    t = Terminal(lab, "m1")
    t.type("sudo -p 'ask: ' id >/dev/null && echo SUDO-OK")
    t.until("ask: $")
    t.type(lab.secrets["become_password"])
    t.until("SUDO-OK")
    t.hang_up()
    assert lab.verdict().ok


def test_rule14_become_password_typed_at_the_bootstraps_prompt(make_lab):
    lab = make_lab("1-node", sudo_password=True)
    d = lab.host_data("m1")
    t = Terminal(lab, "m1")
    t.type(f"curl -sSf https://software.apigee.com/bootstrap_4.18.01.sh -u "
           f"{lab.secrets['repo_user']}:x -o {d['download_dir']}/b.sh; "
           f"bash {d['download_dir']}/b.sh apigeeuser={lab.secrets['repo_user']}")
    t.until(r"password for apigeeuser: $")
    t.type(lab.secrets["become_password"])
    t.until("Unable to authenticate")
    t.hang_up()
    assert 14 in rules(lab.verdict())


# 15 -------------------------------------------------------------------------------------------
def test_rule15_update_killed_by_a_hang_up(make_lab):
    lab = make_lab("1-node", speed=0.2)
    lab.set_state("m1", prepared=True)
    t = Terminal(lab, "m1")
    t.type(update_line(lab, "m1", "cs,zk"))
    t.until("Updating apigee-")
    t.hang_up()                              # the SSH session drops: SIGHUP to the shell
    deadline = time.monotonic() + 10
    while 15 not in rules(lab.verdict()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert 15 in rules(lab.verdict())


def test_rule15_quiet_for_a_detached_update_across_a_hang_up(make_lab):
    lab = make_lab("1-node", speed=0.2)
    lab.set_state("m1", prepared=True)
    job = job_for("run", "0/0/m1/0", "update", lab.host_data("m1")["apigee_root"])
    t = Terminal(lab, "m1")
    t.type(start_line(job, update_line(lab, "m1", "cs,zk")))
    t.until("__JOB=started")
    t.hang_up()
    deadline = time.monotonic() + 30
    while lab.state()["hosts"]["m1"]["updates"] != ["update.sh -c cs,zk"]:
        assert time.monotonic() < deadline, "the detached update did not finish"
        time.sleep(0.1)
    assert lab.verdict().ok


# 16 -------------------------------------------------------------------------------------------
def test_rule16_the_same_update_twice_at_once(make_lab):
    lab = make_lab("1-node", speed=0.2)
    lab.set_state("m1", prepared=True)
    line = update_line(lab, "m1", "cs,zk")
    a, b = lab.node("m1"), lab.node("m1")
    threads = [threading.Thread(target=n.run, args=(line,)) for n in (a, b)]
    for th in threads:
        th.start()
        time.sleep(0.3)
    for th in threads:
        th.join(60)
    v = lab.verdict()
    assert 16 in rules(v) and "cs,zk" in str(v.violations)


def test_rule16_quiet_for_the_same_update_one_after_the_other(make_lab):
    lab = make_lab("1-node", speed=0.0)
    lab.set_state("m1", prepared=True)
    n = lab.node("m1")
    line = update_line(lab, "m1", "cs,zk")
    n.ok(line)
    n.ok(line)
    assert 16 not in rules(lab.verdict())
