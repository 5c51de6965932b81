"""``fleet_ssh``: the runner's Nornir connection plugin, a netmiko session made ready for
commands whose output is read by markers (tasks/markers.py).

It takes netmiko's own options (``connection_options: {netmiko|fleet_ssh: {extras: ...}}``:
``key_file``, ``use_keys``, ``allow_agent``, ``passphrase``, ``ssh_config_file``, host key
options) plus one of its own, ``proxy_jump: [user@]bastion[:port]``: the session is carried
by a ``direct-tcpip`` channel of an SSH connection to the bastion (one per bastion, shared
by every host behind it), and the bastion's host key is checked against the same known_hosts
as the hosts'. A ``ProxyJump`` in the operator's ``~/.ssh/config`` works through netmiko's
``ssh_config_file`` (the OpenSSH client does the jump and checks its host key).

netmiko's own session preparation sleeps about 0.2 s per connection with Nagle still on;
the connection is made with ``auto_connect=False`` and opened here instead: the SSH session,
TCP_NODELAY, then our own prompt and sudo prompt are set and read back.
"""
from __future__ import annotations

import os
import threading
from typing import Any

import paramiko

from tasks.markers import PROMPT, SESSION_PATTERN, SESSION_SETUP
from tasks.shell import ConnectionLost, StepTimeout, no_delay, read_until, type_text

CONNECTION = "fleet_ssh"
OPENED = "_fleet_session"       # set on a netmiko connection once its prompt is known
PROMPT_TIMEOUT = 30.0
KEEPALIVE = 30                  # seconds between keepalives: idle firewalls keep the session

_bastions: dict[tuple[Any, ...], paramiko.SSHClient] = {}
_lock = threading.Lock()


def open_session(conn: Any) -> None:
    """Finish a netmiko connection made with auto_connect=False: SSH session, then our
    prompt (``base_prompt``) and our sudo. A session that drops or stays silent meanwhile
    counts as a connection error worth another try."""
    if conn.remote_conn is None:
        conn.establish_connection()
    no_delay(conn)
    transport = conn.remote_conn.get_transport()
    if transport is not None:           # an update.sh may print nothing for many minutes
        transport.set_keepalive(KEEPALIVE)
    conn.ansi_escape_codes = True
    try:
        type_text(conn, SESSION_SETUP)
        read_until(conn, SESSION_PATTERN, PROMPT_TIMEOUT)
    except (ConnectionLost, StepTimeout) as exc:
        raise ConnectionError(f"no shell prompt: {exc}") from None
    conn.base_prompt = PROMPT[:-2]            # without "$ ", as netmiko keeps it
    setattr(conn, OPENED, True)


def parse_jump(spec: str, username: str | None) -> tuple[str, str, int]:
    """``[user@]host[:port]`` -> (user, host, port); the login user by default."""
    user, _, rest = spec.rpartition("@")
    host, port = rest, 22
    if rest.startswith("["):                       # [ipv6]:port
        host, _, tail = rest[1:].partition("]")
        port = int(tail[1:]) if tail.startswith(":") else 22
    elif rest.count(":") == 1:
        host, p = rest.split(":")
        port = int(p)
    if not host:
        raise ValueError(f"proxy_jump {spec!r}: no host")
    return user or (username or ""), host, port


def bastion_channel(spec: str, params: dict[str, Any], target: tuple[str, int]) -> Any:
    """A channel to ``target`` through the bastion (its SSH connection opened once)."""
    user, host, port = parse_jump(spec, params.get("username"))
    key = (user, host, port, params.get("key_file"), bool(params.get("use_keys")),
           bool(params.get("allow_agent")))
    with _lock:
        client = _bastions.get(key)
        transport = client.get_transport() if client else None
        if transport is None or not transport.is_active():
            client = paramiko.SSHClient()
            if params.get("system_host_keys", True):
                client.load_system_host_keys()
            alt = params.get("alt_key_file")
            if params.get("alt_host_keys") and alt and os.path.isfile(alt):
                client.load_host_keys(alt)
            client.set_missing_host_key_policy(
                paramiko.RejectPolicy() if params.get("ssh_strict", True) else paramiko.AutoAddPolicy())
            timeout = float(params.get("conn_timeout") or 10)
            client.connect(host, port, user, password=params.get("password"), pkey=params.get("pkey"),
                           key_filename=params.get("key_file"), passphrase=params.get("passphrase"),
                           look_for_keys=bool(params.get("use_keys")),
                           allow_agent=bool(params.get("allow_agent")), timeout=timeout,
                           auth_timeout=float(params.get("auth_timeout") or timeout),
                           banner_timeout=timeout)
            _bastions[key] = client
            transport = client.get_transport()
    assert transport is not None
    return transport.open_channel("direct-tcpip", target, ("127.0.0.1", 0))


_keys: dict[tuple[str, int, int], paramiko.PKey] = {}


def load_key(path: str, passphrase: str | None) -> paramiko.PKey:
    """The key file, decrypted once per version of the file: paramiko would otherwise try
    each key type on it, running the passphrase's bcrypt each time, for every connection
    (seconds per host with an encrypted key)."""
    full = os.path.abspath(os.path.expanduser(path))
    st = os.stat(full)
    ident = (full, st.st_ino, st.st_mtime_ns)
    with _lock:
        key = _keys.get(ident)
        if key is None:
            key = _keys[ident] = paramiko.PKey.from_path(full, passphrase.encode() if passphrase else None)
    return key


class FleetSSH:
    """Nornir connection plugin (registered as ``fleet_ssh``)."""

    connection: Any = None

    def open(self, hostname: str | None, username: str | None, password: str | None,
             port: int | None, platform: str | None, extras: dict[str, Any] | None = None,
             configuration: Any = None) -> None:
        from netmiko import ConnectHandler

        params: dict[str, Any] = {"host": hostname, "username": username, "password": password,
                                  "port": port or 22, "device_type": platform or "linux"}
        ssh_config = getattr(getattr(configuration, "ssh", None), "config_file", None)
        if ssh_config and os.path.exists(os.path.expanduser(ssh_config)):
            params["ssh_config_file"] = ssh_config
        params.update(extras or {})
        jump = params.pop("proxy_jump", None)
        if params.get("key_file") and not params.get("pkey"):
            params["pkey"] = load_key(str(params["key_file"]), params.get("passphrase"))
        params["auto_connect"] = False
        conn = ConnectHandler(**params)
        if jump:
            conn.sock = bastion_channel(str(jump), params, (str(hostname), int(port or 22)))
        self.connection = conn
        try:
            open_session(conn)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        """Close the transport without netmiko's polite ``exit``, which would wait for the
        prompt behind a hung command (or type into it); the shell gets a hang-up."""
        conn, self.connection = self.connection, None
        if conn is None:
            return
        try:
            conn.paramiko_cleanup()
        except Exception:          # the transport is already gone: nothing left to close
            pass


def register() -> None:
    from nornir.core.plugins.connections import ConnectionPluginRegister
    if CONNECTION not in ConnectionPluginRegister.available:
        ConnectionPluginRegister.register(CONNECTION, FleetSSH)


def shell(task: Any, command: str, timeout: float = 60.0,
          become_password: str | None = None) -> Any:
    """A Nornir task for any Nornir user: ``command`` over ``fleet_ssh``, the output as the
    result, the exit status as ``Result.rc``, failed on a non-zero status. ``sudo`` in the
    command asks at the session's own prompt, answered with ``become_password`` only.

        nr.run(task=shell, command="sudo /opt/apigee/apigee-service/bin/apigee-all status")
    """
    from nornir.core.task import Result

    from fleet.model import CHECK, Step
    from tasks.shell import run_shell

    register()
    conn = task.host.get_connection(CONNECTION, task.nornir.config)
    secrets = {"become_password": become_password} if become_password else {}
    res = run_shell(conn, Step(task.host.name, "shell", command, CHECK, timeout=timeout),
                    command, secrets)
    return Result(host=task.host, result=res.output, failed=res.rc != 0, rc=res.rc)
