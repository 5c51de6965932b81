"""The lab process: one asyncio loop owning the state, the SSH hosts, the API and the ticker.

Emulated commands reach it through a Unix socket (abstract namespace, so long lab paths
do not matter) via ``lab/agent.py``; the Python API and the CLI use the same socket with
``{"control": ...}`` messages, so a lab in a thread and a daemonized lab behave alike.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import time
import traceback
from pathlib import Path
from typing import Any, Callable, cast

from lab import access as access_mod
from lab import analytics
from lab import faults as faults_mod
from lab import judge, layout, mgmt_api, ssh, topologies
from lab.access import Access
from lab.commands import CommandError, Ctx, frame, load_all, read_frame
from lab.state import (OPERATOR_JOB, OPERATOR_RULE, REPAIR_JOB, SOURCE, TARGET, Component,
                       HostState, LabState)
from lab.traffic import Traffic, seed

REGISTRY = load_all()


class LabServer:
    def __init__(self, directory: Path, topology: str = "5-node", speed: float = 1.0,
                 probe: bool = False, nodes: int | None = None, dcs: int | None = None,
                 mirror: Path | None = None, repo_mode: str = "internet", ssh_server: str = "asyncssh",
                 access: Access | None = None) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.speed = float(speed)
        self.repo_mode = repo_mode
        self.ssh_server = ssh_server                 # asyncssh | openssh (lab/openssh.py)
        self.access = access or Access()
        self.client_public: Any = None               # the operator's key (--ssh-keys)
        self.long_running: dict[tuple[str, str], int] = {}   # rule 15
        self.sshd: list[Any] = []
        self.sock = f"@apigee-lab-{secrets.token_hex(6)}"
        specs = topologies.build(topology, nodes, dcs, Path(mirror) if mirror else None)
        self.specs = {s.name: s for s in specs}
        self.prefix, addrs = layout.pick_addresses(len(specs))
        self.lb_address = self.prefix + "3"
        self.mirror_host = f"{self.prefix}4:3939"
        self.state = LabState({}, layout.new_secrets(), self.speed, probe=probe)
        for spec, addr in zip(specs, addrs, strict=True):
            self.state.hosts[spec.name] = self._host(spec, addr)
        seed(self.state)
        self.faults = faults_mod.Faults()
        self.traffic = Traffic(self)
        self.connections: dict[str, set[Any]] = {}
        self.children: set[int] = set()
        self.listeners: dict[str, Any] = {}
        self.keys: dict[str, Any] = {}
        self.port = 0
        self.stopping: asyncio.Event | None = None
        self.paths: dict[str, Path] = {}
        self._tasks: set[asyncio.Task] = set()

    def _host(self, spec: topologies.HostSpec, addr: str) -> HostState:
        base = self.directory / "hosts" / spec.name
        h = HostState(spec.name, addr, spec.dc, spec.machine, base / "opt" / "apigee",
                      base / "opt" / "silent.conf", base / "tmp", postgres=spec.postgres,
                      observer=spec.observer, installed=spec.installed, planned=spec.comps)
        h.firewall = [list(OPERATOR_RULE)]
        if spec.installed:
            for c in spec.comps:
                h.components[c] = Component(c, SOURCE)
            if "cs" in spec.comps:
                h.crontab = f"{REPAIR_JOB}\n{OPERATOR_JOB}\n"
        else:
            h.repo_version, h.setup_version = None, ""
        return h

    def log(self, text: str) -> None:
        with open(self.directory / "lab.log", "a") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {text}\n")

    # --- start / stop ----------------------------------------------------------------
    async def _listen(self, h: HostState) -> None:
        self.listeners[h.name] = await ssh.start_host(self, h, self.keys[h.name], self.port)

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        self.stopping = asyncio.Event()
        st = self.state
        for h in st.hosts.values():
            for c in h.components:
                st.register(h, c)
            (self.directory / "hosts" / h.name).mkdir(parents=True, exist_ok=True)
            self.keys[h.name] = layout.host_key(self.directory / "hosts" / h.name / "ssh_host_ed25519_key")
        analytics.build(st)
        agent_srv = await asyncio.start_unix_server(self.handle_agent, "\0" + self.sock[1:])
        key_file = None
        if self.access.ssh_keys:
            key_file, self.client_public = access_mod.client_key(
                self.directory, st.secrets["ssh_key_passphrase"])
        if self.ssh_server == "openssh":
            await self._start_openssh()
        else:
            first = next(iter(st.hosts.values()))
            for port in (2222, 0):
                try:
                    self.port = port
                    await self._listen(first)
                    break
                except OSError:
                    continue
            self.port = self.listeners[first.name].get_port()
            await asyncio.gather(*(self._listen(h) for h in st.hosts.values() if h is not first))
        bastion_key = None
        if self.access.bastion:
            bastion_key = layout.host_key(self.directory / "bastion_host_ed25519_key")
            self.listeners["(bastion)"] = await access_mod.start_bastion(self, bastion_key)
        url, api_servers = await mgmt_api.start(self, self.prefix + "2")
        repo: dict[str, Any] = {"mode": self.repo_mode}
        if self.repo_mode == "tar":
            repo["archive"] = str(layout.tar_archive(self.directory, self.sock))
        elif self.repo_mode == "mirror":
            repo["mirror_host"] = self.mirror_host
        self.paths = layout.write_lab_files(self.directory, st, self.specs, self.port, self.sock, url, repo,
                                            self.access, key_file, bastion_key)
        ticker = asyncio.ensure_future(self.traffic.run())
        info = {"pid": os.getpid(), "sock": self.sock, "port": self.port, "management_url": url,
                "hosts": {h.name: h.address for h in st.hosts.values()},
                **{k: str(v) for k, v in self.paths.items()}}
        (self.directory / "lab.json").write_text(json.dumps(info, indent=2))
        self.log(f"lab up: {len(st.hosts)} hosts on port {self.port}, API {url}")
        if on_ready:
            on_ready()
        await self.stopping.wait()
        ticker.cancel()
        for srv in list(self.listeners.values()):
            srv.close()
        for srv in api_servers:
            srv.close()
        agent_srv.close()
        for conns in self.connections.values():
            for c in list(conns):
                c.abort()
        for t in list(self._tasks):
            t.cancel()
        await self._reap()
        layout.cleanup_runtime(self.directory)
        self.log("lab stopped")

    async def _start_openssh(self) -> None:
        from lab import openssh
        ok, why = openssh.available()
        if not ok:
            raise RuntimeError(why)
        import socket
        first = next(iter(self.state.hosts.values()))
        with socket.socket() as s:                # a port free on the first address
            s.bind((first.address, 0))
            self.port = s.getsockname()[1]
        try:
            self.sshd = list(await asyncio.gather(*(openssh.start_host(self, h, self.port)
                                                    for h in self.state.hosts.values())))
        except BaseException:
            openssh.stop_all([p for p in self.sshd])
            raise

    async def _reap(self) -> None:
        if self.sshd:
            from lab import openssh
            openssh.stop_all(self.sshd)
        for sig, wait in ((signal.SIGHUP, 0.5), (signal.SIGKILL, 0.5)):
            for pid in list(self.children):
                ssh.kill_group(pid, sig)
            deadline = time.monotonic() + wait
            while self.children and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if not self.children:
                return

    # --- emulated commands -------------------------------------------------------------
    async def handle_agent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task:
            self._tasks.add(task)
        try:
            first = await reader.read(1)
            if not first:
                return
            if first == b"{":
                msg = json.loads(first + await reader.readline())
                reply = await self.control(msg)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
                return
            kind, payload = await read_frame(reader, first)
            if kind != b"h":
                return
            host, cmd, cwd, tty, *argv = payload.decode("utf-8", "surrogateescape").split("\0")
            msg = {"host": host, "cmd": cmd, "cwd": cwd, "tty": tty == "1", "argv": argv}
            inbox: asyncio.Queue = asyncio.Queue()
            line = " ".join([cmd, *argv])
            long = access_mod.long_command(cmd, argv)
            work = asyncio.ensure_future(self.dispatch(msg, inbox, writer))

            async def pump() -> None:
                """Input frames to the command; if the client dies (Ctrl-C, hang-up) the command
                is cancelled, as a real process would be killed."""
                while True:
                    k, p = await read_frame(reader)
                    if not k:
                        if not work.done() and long:
                            access_mod.killed(self.state, host, line)
                        work.cancel()
                        return
                    inbox.put_nowait((k, p))

            pumper = asyncio.ensure_future(pump())
            try:
                rc = await work
                writer.write(frame(b"x", str(rc).encode()))
                await writer.drain()
            finally:
                pumper.cancel()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task:
                self._tasks.discard(task)
            writer.close()

    async def dispatch(self, msg: dict[str, Any], inbox: asyncio.Queue,
                       writer: asyncio.StreamWriter) -> int:
        st = self.state
        h = st.hosts[msg["host"]]
        cmd, argv = msg["cmd"], list(msg.get("argv", []))
        st.commands.append({"host": h.name, "cmd": cmd, "argv": argv, "t": time.time()})
        judge.argv_secrets(st, h.name, cmd, argv)
        ctx = Ctx(self, h, cmd, argv, msg.get("cwd", "/"), bool(msg.get("tty")), inbox, writer)
        fault = self.faults.for_command(h.name, " ".join([cmd] + argv))
        if fault is not None:
            self.log(f"fault {fault.kind} on {h.name}: {cmd} {' '.join(argv)}")
            if fault.kind == "fail-verbose":
                verbose_failure(ctx, st.secrets)
                return 1
            if fault.kind in ("fail-once", "fail-always"):
                ctx.err(f"{cmd}: ERROR: operation failed (injected fault {fault.kind})")
                return 1
            if fault.kind == "drop":
                for conn in list(self.connections.get(h.name, ())):
                    conn.abort()
                await asyncio.Event().wait()  # dropped: until the caller goes away
            while fault in self.faults.items:  # hang: until the caller goes away or the
                await asyncio.sleep(0.1)       # fault is cleared (the stuck cause fixed)
            self.log(f"hang cleared on {h.name}: {cmd} {' '.join(argv)} goes on")
        handler = REGISTRY.get(cmd)
        if handler is None:
            ctx.err(f"{cmd}: command not found")
            return 127
        line = " ".join([cmd, *argv])
        long = access_mod.long_command(cmd, argv)
        if long:
            access_mod.started(st, self.long_running, h.name, line)
        try:
            return await handler(ctx)
        except CommandError as exc:
            ctx.err(str(exc))
            return exc.rc
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log(f"{h.name}: {cmd} {argv} crashed:\n{traceback.format_exc()}")
            ctx.err(f"{cmd}: internal error (see {self.directory / 'lab.log'})")
            return 70
        finally:
            if long:
                access_mod.ended(self.long_running, h.name, line)

    # --- control (Python API and CLI) -----------------------------------------------------
    async def control(self, msg: dict[str, Any]) -> dict[str, Any]:
        what = msg["control"]
        try:
            if what == "ping":
                return {"ok": True}
            if what == "verdict":
                return {"verdict": (await judge.verdict(self, bool(msg.get("final")),
                                                        msg.get("expect_version") or TARGET)).to_json()}
            if what == "state":
                return {"state": dict(self.state.snapshot(), faults=[f.to_json() for f in self.faults.items])}
            if what == "fault":
                await self.add_fault(msg["host"], msg["kind"], msg.get("match"))
                return {"ok": True}
            if what == "clear_faults":
                for f in self.faults.clear(msg.get("host")):
                    if f.kind == "refuse":
                        await self._listen(self.state.hosts[f.host])
                return {"ok": True}
            if what == "set_state":
                self.set_state(msg["args"])
                return {"ok": True}
            if what == "probe":
                self.state.probe = bool(msg["on"])
                return {"ok": True}
            if what == "stop":
                assert self.stopping is not None      # set in run() before any control call
                asyncio.get_running_loop().call_later(0.05, self.stopping.set)
                return {"ok": True}
            return {"error": f"unknown control {what!r}"}
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}

    async def add_fault(self, host: str, kind: str, match: str | None) -> None:
        if host not in self.state.hosts:
            raise ValueError(f"unknown host {host!r}")
        self.faults.add(host, kind, match)
        if self.ssh_server == "openssh" and kind in ("refuse", "drop"):
            self.faults.clear(host)
            raise ValueError(f"fault {kind!r} is not available with OpenSSH hosts")
        if kind == "refuse" and host in self.listeners:
            srv = self.listeners.pop(host)
            srv.close()
            await srv.wait_closed()

    def set_state(self, a: dict[str, Any]) -> None:
        """Test helpers: queue messages, versions, component states, SELinux, probe."""
        st = self.state
        h = cast(HostState, st.hosts.get(a.get("host", "")))   # None only with the global keys
        if h is None and not a.keys() <= {"host", "producing", "reset_probe"}:
            raise ValueError(f"unknown host {a.get('host')!r}")
        if "queue" in a:
            st.produced += int(a["queue"])
            h.queue += int(a["queue"])
        if "version" in a:
            for c in a.get("components") or list(h.components):
                h.components[c].version = a["version"]
        if "component_state" in a:
            for c in a.get("components") or list(h.components):
                st.set_state(h, c, a["component_state"])
        if "selinux" in a:
            h.selinux = a["selinux"]
        if "prepared" in a:
            h.repo_version = TARGET if a["prepared"] else SOURCE
            h.setup_version = TARGET if a["prepared"] else SOURCE
        if "producing" in a:
            st.producing = bool(a["producing"])
        if "reset_probe" in a:
            st.probe_sent = st.probe_failed = 0
            st.probe_failures.clear()
            st.violations = [v for v in st.violations if v.rule != 7]


def verbose_failure(ctx: Ctx, creds: dict[str, str]) -> None:
    """A long failing output, as update.sh prints when yum cannot reach the repository
    (yum names the URL with its credentials): the runner's host log must keep all of it,
    masked, and its summary quote the end."""
    for i in range(1, 38):
        ctx.out(f"{ctx.cmd}: [{i:02d}/40] checking component {i}")
    ctx.out(f"https://{creds.get('repo_user', '')}:{creds.get('repo_password', '')}"
            "@software.apigee.com/apigee/release/4.18.01/repodata/repomd.xml: [Errno 14] "
            "HTTPS Error 503 - Service Unavailable")
    ctx.out(f"{ctx.cmd}: [39/40] Trying other mirror.")
    ctx.err(f"{ctx.cmd}: [40/40] ERROR: operation failed (injected fault fail-verbose)")
