"""An SSH session to a host, as the runner and the audit open it: retried when the network
is slow, refused at once for a bad password or host key, and kept while it lives.

netmiko's own session preparation sleeps about 0.2 s per connection (a fixed 0.1 s, then
several buffer-clearing naps) with Nagle still on; the connection is created with
``auto_connect=False`` (set by ``open_nornir``) and opened here instead: the SSH session,
TCP_NODELAY, then the shell's prompt read the way every step reads (select, no naps).
The prompt is the line the shell prints after a marker we ask it to print, so that a login
banner ending in ``#`` or ``$`` is never mistaken for it.
"""
from __future__ import annotations

import re
import socket
from typing import Any

from nornir.core.task import Task
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from tasks.shell import (ConnectionLost, StepTimeout, channel_closed, no_delay, read_until,
                         type_text)

HOST_KEY_REFUSED = ("not found in known_hosts", "does not match")
# printf prints the marker joined; the echoed command line shows it apart, so never matches
MARKER_COMMAND = "printf '__%s__\\n' FLEETSESSION\n"
PROMPT_AFTER_MARKER = r"__FLEETSESSION__[ \t]*\r?\n(?P<prompt>[^\n]*[$#])\s*$"
PROMPT_TIMEOUT = 30.0
OPENED = "_fleet_session"       # set on a netmiko connection once its prompt is known


class ConnectFailed(Exception):
    """No session to the host; the message says why, in one line."""


def reason(exc: BaseException) -> str:
    """The line of a connection error that says what happened (netmiko wraps paramiko's
    message in a paragraph that starts with a blank line)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].startswith("A paramiko SSHException"):
        return lines[1]
    return lines[0] if lines else ""


def transient(exc: BaseException) -> bool:
    """Worth another try: timeouts and dropped connections, never a refused password or a
    host key that is unknown or does not match."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    if isinstance(exc, NetmikoAuthenticationException):
        return False
    if any(s in str(exc) for s in HOST_KEY_REFUSED):
        return False
    return isinstance(exc, (NetmikoTimeoutException, ConnectionError, EOFError, socket.timeout))


def open_session(conn: Any) -> None:
    """Finish a netmiko connection made with auto_connect=False: SSH session, then the
    shell's prompt (``base_prompt``, which every step waits for). A session that drops or
    stays silent meanwhile counts as a connection error worth another try."""
    if conn.remote_conn is None:
        conn.establish_connection()
    no_delay(conn)
    conn.ansi_escape_codes = True
    try:
        type_text(conn, MARKER_COMMAND)
        out = read_until(conn, PROMPT_AFTER_MARKER, PROMPT_TIMEOUT)
    except (ConnectionLost, StepTimeout) as exc:
        raise ConnectionError(f"no shell prompt: {exc}") from None
    prompt = re.search(PROMPT_AFTER_MARKER, out.replace("\r\n", "\n"))
    assert prompt is not None
    conn.base_prompt = prompt.group("prompt").strip()[:-1]
    setattr(conn, OPENED, True)


def cut(host: Any) -> None:
    """Close the SSH transport without netmiko's polite `exit`, which would wait for the
    prompt behind a hung command (or type into it); the remote shell gets a hang-up."""
    conn = host.connections.pop("netmiko", None)
    if conn is None or conn.connection is None:
        return
    try:
        conn.connection.paramiko_cleanup()
    except Exception:          # the transport is already gone: nothing left to close
        pass


def connect(task: Task, attempts: int, backoff: float) -> Any:
    """The host's live netmiko connection, opened (again) if needed."""
    host = task.host

    @retry(stop=stop_after_attempt(max(1, attempts)), wait=wait_exponential(multiplier=backoff, max=30),
           retry=retry_if_exception(transient), reraise=True)
    def attempt() -> Any:
        if "netmiko" in host.connections:
            conn = host.connections["netmiko"].connection
            # Not netmiko's is_alive(): it types a NUL byte, and the command written right
            # after it then waits on Nagle and a delayed ACK (~40 ms a step).
            if conn is not None and not channel_closed(conn) and getattr(conn, OPENED, False):
                return conn
            cut(host)
        conn = host.get_connection("netmiko", task.nornir.config)
        try:
            open_session(conn)
        except Exception:
            cut(host)
            raise
        return conn

    try:
        return attempt()
    except Exception as exc:   # every connection error ends in one line with its reason
        raise ConnectFailed(f"cannot connect to {host.hostname}:{host.port}: "
                            f"{type(exc).__name__}: {reason(exc)}") from None
