"""What the runner reads in a shell's output, as pure functions (tested without SSH).

The session gets a prompt of our own and a ``sudo`` that asks with a prompt of our own, so
no PS1 (time stamps, colours, ``#`` for root, a banner) and no program's own password prompt
is ever taken for something else. Every marker is typed split in two (``'__FLEET''_PS1__'``)
so that the echo of the typed line never matches what the shell prints.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PROMPT = "__FLEET_PS1__$ "
SUDO_PROMPT = "__FLEET_SUDO__: "
# One line typed at login: our prompt (PS2 empty: a continuation line prints nothing), and
# a sudo that always asks at our own prompt. PROMPT_COMMAND is left alone (history).
SESSION_SETUP = ("unalias sudo 2>/dev/null; PS1='__FLEET''_PS1__$ '; PS2=''; "
                 "sudo() { command sudo -p '__FLEET''_SUDO__: ' \"$@\"; }; "
                 "printf '__%s__\\n' FLEETSESSION\n")
SESSION_PATTERN = r"__FLEETSESSION__[ \t]*\r?\n(?:[^\n]*\n)*?__FLEET_PS1__\$ $"
PROMPT_PATTERN = r"(?:^|\n)__FLEET_PS1__\$ $"
RC_PATTERN = r"__RC=(?:\d+)__"
RC_VALUE = re.compile(r"__RC=(\d+)__")
RC_SUFFIX = '; echo "__RC=$?__"'

SUDO_ASKS = r"__FLEET_SUDO__: $"
# sudo's own prompt (a sudo the session function did not wrap: a script calling sudo):
# never answered, since it cannot be told apart from another program's password prompt.
FOREIGN_SUDO = r"\[sudo\] password for [^\n]*: $"
SUDO_REFUSALS = (
    (r"Sorry, try again\.", "sudo refused the become password (wrong password)"),
    (r"incorrect password attempt", "sudo refused the become password (wrong password)"),
    (r"is not in the sudoers file", "the login user may not use sudo (not in sudoers)"),
    (r"is not allowed to (?:execute|run sudo)", "sudo does not allow this command for the login user"),
    (r"may not run sudo on", "the login user may not use sudo on this host"),
    (r"you must have a tty to run sudo", "sudo requires a tty (requiretty)"),
    (r"a (?:terminal is required|password is required)", "sudo needs a password and cannot ask for it"),
)


@dataclass(frozen=True)
class SudoEvent:
    """What sudo said in a piece of output: it asks (``ask``), or it refused (``reason``)."""

    ask: bool = False
    foreign: bool = False
    reason: str = ""


def sudo_event(chunk: str) -> SudoEvent | None:
    """Classify output that ended at a pattern from ``wait_patterns``."""
    for rx, why in SUDO_REFUSALS:
        if re.search(rx, chunk):
            return SudoEvent(reason=why)
    if re.search(SUDO_ASKS, chunk):
        return SudoEvent(ask=True)
    if re.search(FOREIGN_SUDO, chunk):
        return SudoEvent(foreign=True, reason="sudo asked for a password at its own prompt "
                                              "(a sudo the runner did not start); nothing typed")
    return None


def sudo_answers(command: str) -> int:
    """How many times sudo may ask during ``command``: once per sudo in it (a pipeline
    ``sudo a | sudo b`` asks twice where sudo caches no credentials). One more question
    means a password sudo did not take (it says "Sorry, try again." first, normally)."""
    return max(1, len(re.findall(r"(?:^|[\s;&|(])sudo\s", command)))


def sudo_patterns() -> list[str]:
    """Patterns that end a read so that sudo is answered or its refusal seen at once."""
    return [SUDO_ASKS, FOREIGN_SUDO] + [rx for rx, _ in SUDO_REFUSALS]


def wait_patterns(prompts: list[str]) -> str:
    """One regex for: exit status marker, sudo, and the step's own prompts (in that order
    of precedence when read by ``classify``)."""
    parts = [RC_PATTERN] + sudo_patterns() + list(prompts)
    return "(?:" + "|".join(f"(?:{p})" for p in parts) + ")"


def command_body(output: str) -> tuple[int, str]:
    """(exit status, output of the command) from what was read up to the RC marker: the
    echo of the typed line (maybe wrapped by the terminal) is cut off."""
    rc = RC_VALUE.search(output)
    if rc is None:
        raise ValueError("no exit status marker in the output")
    body = output[: rc.start()]
    echo = body.find('__RC=$?__"')
    if echo >= 0:
        body = body[body.find("\n", echo) + 1:] if "\n" in body[echo:] else ""
    body = re.sub(r"(?m)^" + re.escape(SUDO_PROMPT.strip()) + r"[ \t]*\r?\n?", "", body)
    return int(rc.group(1)), body.replace("\r", "").strip("\n")
