"""Detached jobs (tasks/detach.py): the generated lines run in a local bash, no SSH."""
from __future__ import annotations

import os
import pty
import signal
import subprocess
import time

from fleet.model import SHELL, Prompt, Step
from tasks.detach import (JobState, detachable, follow_line, job_for, log_text, next_move,
                          parse_state, start_line, state_line)


def sh(line: str) -> str:
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30).stdout


def test_a_job_runs_detached_and_is_followed_to_its_exit_status(tmp_path):
    job = job_for("20260101T000000-0001", "3/0/m1/2", "update", str(tmp_path))
    assert parse_state(sh(state_line(job))) == JobState("none")
    started = parse_state(sh(start_line(job, "sleep 0.5; echo 'it ran'; exit 3")))
    assert started.state == "started" and started.number
    assert parse_state(sh(state_line(job))).state == "running"
    out = sh(follow_line(job))
    assert parse_state(out) == JobState("done", 3)
    assert log_text(out) == "it ran"
    assert next_move(parse_state(out)) == "start"            # failed: start again


def test_a_job_survives_the_hang_up_of_the_terminal_that_started_it(tmp_path):
    """The lab's and sshd's way to end a session: SIGHUP to the shell's process group."""
    job = job_for("r", "0/0/m1/0", "update", str(tmp_path))
    pid, fd = pty.fork()
    if pid == 0:                                 # a shell on a terminal, like an SSH session
        os.execvp("bash", ["bash", "-c", start_line(job, "sleep 1; echo done") + "; sleep 30"])
    deadline = time.monotonic() + 10
    while not os.path.exists(job.path("pid")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    os.killpg(pid, signal.SIGHUP)
    os.close(fd)
    os.waitpid(pid, 0)
    assert parse_state(sh(state_line(job))).state == "running"
    out = sh(follow_line(job))
    assert parse_state(out) == JobState("done", 0) and "done" in log_text(out)
    assert next_move(parse_state(out)) == "take"


def test_a_killed_job_is_dead_and_started_again(tmp_path):
    job = job_for("r", "0/0/m1/0", "db_upgrade", str(tmp_path))
    started = parse_state(sh(start_line(job, "sleep 30")))
    os.killpg(os.getpgid(started.number), signal.SIGKILL)
    time.sleep(0.2)
    dead = parse_state(sh(state_line(job)))
    assert dead == JobState("dead") and next_move(dead) == "start"


def test_sudo_stays_outside_the_detacher_so_it_asks_on_the_terminal():
    job = job_for("r", "k", "update", "/opt/apigee")
    line = start_line(job, "sudo /opt/apigee/apigee-setup/bin/update.sh -c cs,zk -f /opt/s.conf")
    assert line.startswith("sudo bash -c ") and "update.sh -c cs,zk" in line
    assert job.folder == "/opt/apigee/var/log/fleet" and "/" not in job.name


def test_only_long_steps_without_typed_input_detach():
    assert detachable(Step("m1", "update", "sudo update.sh -c ldap", SHELL))
    assert not detachable(Step("m1", "stop_pg", "sudo apigee-service stop", SHELL))
    assert not detachable(Step("m1", "update", "x", SHELL, prompts=(Prompt("p:", "s"),)))
    assert next_move(JobState("running", 42)) == "follow"
    assert next_move(JobState("none")) == "start"
