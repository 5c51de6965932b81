"""One command on a host's interactive shell over netmiko, with its real exit status.

netmiko reports no exit status, so every command is followed by a marker that carries
``$?``. Secrets are never typed as part of a command: they are read into shell variables
with echo turned off, or typed at the prompt of the program that asks for them.
"""
from __future__ import annotations

import re
import select
import socket
import time
from dataclasses import dataclass
from typing import Any, Mapping

from fleet.model import Step
from tasks.markers import (PROMPT_PATTERN, RC_SUFFIX, RC_VALUE, command_body, sudo_answers,
                           sudo_event, wait_patterns)

READY = r"__READY__"


class ConnectionLost(Exception):
    """The SSH session ended while a command ran."""


class StepTimeout(Exception):
    """The command did not finish within the step's timeout."""


class SudoRefused(Exception):
    """sudo asked for a password the runner has not got, or refused the one it was given;
    the command waits at sudo's prompt and never ran."""


@dataclass
class ShellResult:
    rc: int | None
    output: str


def channel_closed(conn: Any) -> bool:
    chan = getattr(conn, "remote_conn", None)
    if chan is None:
        return True
    transport = chan.get_transport() if hasattr(chan, "get_transport") else None
    return bool(chan.closed or chan.eof_received or (transport and not transport.is_active()))


def no_delay(conn: Any) -> None:
    """Commands are small writes answered by the host: send them at once (TCP_NODELAY)."""
    chan = getattr(conn, "remote_conn", None)
    transport = chan.get_transport() if chan is not None else None
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def read_until(conn: Any, pattern: str, timeout: float) -> str:
    """Read until ``pattern``; unlike netmiko's own loop, sleep in select() until the host
    sends something (no busy polling with hundreds of hosts) and notice a closed channel at
    once instead of waiting out the timeout. What follows the match stays buffered."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + max(timeout, 0.5)
    output = ""
    chan = conn.remote_conn
    while True:
        try:
            output += conn.read_channel()
        except (OSError, EOFError) as exc:
            raise ConnectionLost(str(exc) or type(exc).__name__) from exc
        m = rx.search(output)
        if m:
            conn._read_buffer += output[m.end():]
            return output[: m.end()]
        if channel_closed(conn):
            raise ConnectionLost("the SSH channel was closed by the host")
        left = deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout(f"no answer within {timeout:g}s")
        if not chan.recv_ready():
            try:
                select.select([chan], [], [], min(left, 0.5))
            except (OSError, ValueError):     # no pollable descriptor: fall back to a nap
                time.sleep(0.01)


def type_text(conn: Any, text: str) -> None:
    try:
        conn.write_channel(text)
    except (OSError, EOFError) as exc:
        raise ConnectionLost(str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        if "closed" in str(exc).lower() or "socket" in str(exc).lower():
            raise ConnectionLost(str(exc)) from exc
        raise


def run_shell(conn: Any, step: Step, command: str, secrets: Mapping[str, str]) -> ShellResult:
    """Type ``command`` (variables already substituted) and wait for its exit status.
    sudo's own prompt gets the become password and nothing else; a step's prompts get
    their secrets; a refusing sudo ends the step at once (``SudoRefused``)."""
    deadline = time.monotonic() + step.timeout
    quiet = bool(step.inputs or step.prompts)
    if quiet:
        # Echo off before anything secret is typed, so neither the terminal nor the
        # journal ever sees it; READY proves stty ran before we type.
        reads = "".join(f"; IFS= read -r {var}" for var, _ in step.inputs)
        type_text(conn, f"stty -echo; printf '__%s__\\n' READY{reads}\n")
        read_until(conn, READY, 30)
        for _, name in step.inputs:
            type_text(conn, secrets[name] + "\n")
        read_until(conn, PROMPT_PATTERN, 30)
    type_text(conn, f"{command}{RC_SUFFIX}\n")
    answers = [(re.compile(p.pattern, re.M), p.secret) for p in step.prompts]
    pattern = wait_patterns([p.pattern for p in step.prompts])
    output = ""
    answered: set[int] = set()
    sudo_left = sudo_answers(command)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout(f"no exit status within {step.timeout:g}s")
        chunk = read_until(conn, pattern, left)
        output += chunk
        if RC_VALUE.search(chunk):
            break
        event = sudo_event(chunk)
        if event is not None:
            if not event.ask:
                raise SudoRefused(event.reason)
            if sudo_left <= 0:
                raise SudoRefused("sudo refused the become password (asked again)")
            if not secrets.get("become_password"):
                raise SudoRefused("sudo asks for a password: give the become password "
                                  "(secret become_password, env FLEET_BECOME_PASSWORD)")
            type_text(conn, secrets["become_password"] + "\n")
            sudo_left -= 1
            continue
        for i, (rx, name) in enumerate(answers):
            if rx.search(chunk) and i not in answered:
                type_text(conn, secrets[name] + "\n")
                answered.add(i)
                break
        else:
            raise StepTimeout("the command asked for input the plan has no answer for")
    read_until(conn, PROMPT_PATTERN, 30)
    if quiet:
        names = " ".join(v for v, _ in step.inputs)
        type_text(conn, f"stty echo{'; unset ' + names if names else ''}\n")
        read_until(conn, PROMPT_PATTERN, 30)
    rc, body = command_body(output)
    return ShellResult(rc, body)
