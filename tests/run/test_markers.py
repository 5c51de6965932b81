"""Output handling of the fleet_ssh session, without SSH: prompts, sudo, exit status."""
from __future__ import annotations

import re

from fleet.plan.context import PASSWORD_PROMPT
from tasks.markers import (PROMPT_PATTERN, SESSION_PATTERN, SESSION_SETUP, command_body,
                           sudo_answers, sudo_event, wait_patterns)


def test_the_typed_setup_line_never_matches_what_the_shell_prints():
    echo = "[root@n1 12:01:33]# " + SESSION_SETUP.replace("\n", "\r\n")
    assert not re.search(SESSION_PATTERN, echo)
    printed = echo + "__FLEETSESSION__\r\n__FLEET_PS1__$ "
    assert re.search(SESSION_PATTERN, printed)
    # a banner or a coloured, timed prompt in between does not matter
    assert re.search(SESSION_PATTERN, printed.replace("__FLEET_PS1__", "\x1b]0;t\x07\r\n__FLEET_PS1__"))


def test_our_prompt_is_found_whatever_the_login_prompt_was():
    assert re.search(PROMPT_PATTERN, "__RC=0__\r\n__FLEET_PS1__$ ")
    assert not re.search(PROMPT_PATTERN, "[apigee@m1 12:00:01 ~]$ ")
    assert not re.search(PROMPT_PATTERN, "root@m1:~# ")


def test_exit_status_and_body_without_the_echoed_command():
    out = 'ls /x; echo "__RC=$?__"\r\nls: cannot access /x\r\n__RC=2__'
    assert command_body(out) == (2, "ls: cannot access /x")


def test_sudo_asks_at_its_marker_and_the_repository_prompt_never_matches_it():
    asks = "[sudo via fleet] __FLEET_SUDO__: "
    assert sudo_event(asks).ask
    assert not re.search(PASSWORD_PROMPT, "__FLEET_SUDO__: ")
    # the order of patterns: sudo's own prompt is classified before a step's prompts
    assert re.search(wait_patterns([PASSWORD_PROMPT]), "__FLEET_SUDO__: ")


def test_sudo_refusals_end_at_once_with_their_reason():
    assert "wrong password" in sudo_event("Sorry, try again.\r\n").reason
    assert "sudoers" in sudo_event("apigee is not in the sudoers file.  This incident "
                                   "will be reported.\r\n").reason
    assert "requiretty" in sudo_event("sudo: sorry, you must have a tty to run sudo\r\n").reason
    assert sudo_event("Updating edge-router ...\r\n") is None


def test_sudo_may_ask_once_per_sudo_of_the_command():
    assert sudo_answers("sudo crontab -l | sed s/a/b/ | sudo crontab -") == 2
    assert sudo_answers("sudo /opt/apigee/apigee-setup/bin/update.sh -c cs,zk") == 1
    assert sudo_answers("getenforce") == 1
    assert sudo_answers("echo pseudo x") == 1


def test_a_sudo_prompt_the_runner_did_not_set_is_never_answered():
    ev = sudo_event("[sudo] password for apigee: ")
    assert ev is not None and not ev.ask and ev.foreign
    # and the bootstrap's own password prompt is not sudo's
    assert sudo_event("Enter the password for the Apigee repository: ") is None
