"""An SSH session to a host, as the runner and the audit open it: retried when the network
is slow, refused at once for a bad password or host key, and kept while it lives. The
session itself is the ``fleet_ssh`` connection plugin (tasks/plugin.py).
"""
from __future__ import annotations

import socket
from typing import Any

from nornir.core.task import Task
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from tasks.plugin import CONNECTION, OPENED, register
from tasks.shell import channel_closed

HOST_KEY_REFUSED = ("not found in known_hosts", "does not match")


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


def cut(host: Any) -> None:
    """Close the SSH transport without netmiko's polite `exit`, which would wait for the
    prompt behind a hung command (or type into it); the remote shell gets a hang-up."""
    plugin = host.connections.pop(CONNECTION, None)
    if plugin is not None:
        plugin.close()


def connect(task: Task, attempts: int, backoff: float) -> Any:
    """The host's live netmiko connection, opened (again) if needed."""
    host = task.host

    @retry(stop=stop_after_attempt(max(1, attempts)), wait=wait_exponential(multiplier=backoff, max=30),
           retry=retry_if_exception(transient), reraise=True)
    def attempt() -> Any:
        if CONNECTION in host.connections:
            conn = host.connections[CONNECTION].connection
            # Not netmiko's is_alive(): it types a NUL byte, and the command written right
            # after it then waits on Nagle and a delayed ACK (~40 ms a step).
            if conn is not None and not channel_closed(conn) and getattr(conn, OPENED, False):
                return conn
            cut(host)
        register()
        return host.get_connection(CONNECTION, task.nornir.config)

    try:
        return attempt()
    except Exception as exc:   # every connection error ends in one line with its reason
        raise ConnectFailed(f"cannot connect to {host.hostname}:{host.port or 22}: "
                            f"{type(exc).__name__}: {reason(exc)}") from None
