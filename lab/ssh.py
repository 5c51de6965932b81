"""One asyncssh server per emulated host: a real bash on a PTY, or an exec channel.

Why a PTY with a controlling terminal: netmiko always asks for one, and without it bash
gets no hang-up when the client goes away (lab-notes.md). Output is pumped by hand so
the exit status is reported only after every byte has been forwarded.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import signal
import struct
import termios
from typing import TYPE_CHECKING

import asyncssh

from lab.access import LabLogin, bastion_address
from lab.layout import host_env
from lab.state import HostState

if TYPE_CHECKING:
    from lab.server import LabServer


def _ctty() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class HostSSH(LabLogin):
    """The lab user's login (lab/access.py), through the bastion only when there is one;
    tracks connections for the drop fault."""

    def __init__(self, lab: "LabServer", host: HostState) -> None:
        self.lab, self.host = lab, host
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.peer = str((conn.get_extra_info("peername") or ("",))[0])
        self.lab.connections.setdefault(self.host.name, set()).add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.lab.connections.get(self.host.name, set()).discard(self.conn)

    def admit(self) -> bool:
        """With a bastion, the nodes accept only connections that come through it."""
        self.host.logins += 1
        return not self.lab.access.bastion or self.peer == bastion_address(self.lab.prefix)


async def _shell(lab: "LabServer", h: HostState, process: asyncssh.SSHServerProcess) -> None:
    loop = asyncio.get_running_loop()
    master, slave = pty.openpty()
    cols, rows = (process.get_terminal_size() or (200, 50, 0, 0))[:2]
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows or 50, cols or 200, 0, 0))
    env = host_env(lab.directory, h, lab.access.prompt)
    proc = await asyncio.create_subprocess_exec(
        "bash", "--noprofile", "--norc", "-i", stdin=slave, stdout=slave, stderr=slave,
        env=env, cwd=env["HOME"], start_new_session=True, preexec_fn=_ctty)
    os.close(slave)
    lab.children.add(proc.pid)
    eof = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            try:
                process.stdout.write(data)
                return
            except (BrokenPipeError, asyncssh.Error):   # the client hung up: stop reading
                pass
        loop.remove_reader(master)
        if not eof.done():
            eof.set_result(None)

    loop.add_reader(master, readable)

    async def pump_in() -> None:
        while True:
            try:
                data = await process.stdin.read(4096)
            except (asyncssh.Error, OSError, asyncio.CancelledError):
                data = b""
            if not data:
                return
            try:
                os.write(master, data)
            except OSError:
                return

    inp = asyncio.ensure_future(pump_in())
    bash = asyncio.ensure_future(proc.wait())
    await asyncio.wait({inp, bash}, return_when=asyncio.FIRST_COMPLETED)
    if not bash.done():                        # client gone: hang up like a real sshd
        kill_group(proc.pid, signal.SIGHUP)
        try:
            await asyncio.wait_for(asyncio.shield(bash), 2)
        except asyncio.TimeoutError:
            kill_group(proc.pid, signal.SIGKILL)
            await bash
    else:
        try:
            await asyncio.wait_for(eof, 2)
        except asyncio.TimeoutError:
            pass
    inp.cancel()
    loop.remove_reader(master)
    os.close(master)
    lab.children.discard(proc.pid)
    try:
        process.exit(bash.result() if bash.result() >= 0 else 255)
    except (OSError, asyncssh.Error):
        pass


async def _exec(lab: "LabServer", h: HostState, process: asyncssh.SSHServerProcess) -> None:
    env = host_env(lab.directory, h, lab.access.prompt)
    command = process.command or ""
    lab.state.exec_lines.append((h.name, command))
    proc = await asyncio.create_subprocess_exec(
        "bash", "--noprofile", "--norc", "-c", command, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=env["HOME"],
        start_new_session=True)
    lab.children.add(proc.pid)
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    assert stdin and stdout and stderr      # all three are PIPEs above

    async def pump_out(src: asyncio.StreamReader, dst: asyncssh.SSHWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)

    async def pump_in() -> None:
        try:
            while data := await process.stdin.read(65536):
                stdin.write(data)
                await stdin.drain()
        except (asyncssh.Error, OSError, asyncio.CancelledError):
            pass
        try:
            stdin.close()
        except OSError:
            pass

    outs = asyncio.gather(pump_out(stdout, process.stdout), pump_out(stderr, process.stderr))
    inp = asyncio.ensure_future(pump_in())
    closed = asyncio.ensure_future(process.wait_closed())
    done = asyncio.ensure_future(proc.wait())
    await asyncio.wait({done, closed}, return_when=asyncio.FIRST_COMPLETED)
    if not done.done():
        kill_group(proc.pid, signal.SIGHUP)
        await asyncio.sleep(0.2)
        kill_group(proc.pid, signal.SIGKILL)
    rc = await done
    try:
        await asyncio.wait_for(outs, 2)
    except asyncio.TimeoutError:
        pass
    inp.cancel()
    closed.cancel()
    lab.children.discard(proc.pid)
    try:
        process.exit(rc if rc >= 0 else 255)
    except (OSError, asyncssh.Error):
        pass


async def start_host(lab: "LabServer", h: HostState, key: asyncssh.SSHKey, port: int) -> asyncssh.SSHAcceptor:
    async def handler(process: asyncssh.SSHServerProcess) -> None:
        try:
            if process.command is None:
                await _shell(lab, h, process)
            else:
                await _exec(lab, h, process)
        except Exception as exc:  # never kill the server for one session
            lab.log(f"session on {h.name} failed: {exc!r}")
            try:
                process.exit(255)
            except Exception:
                pass

    return await asyncssh.create_server(
        lambda: HostSSH(lab, h), h.address, port, server_host_keys=[key],
        process_factory=handler, line_editor=False, encoding=None, reuse_address=True,
        compression_algs=None)
