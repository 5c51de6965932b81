"""The lab: an emulated Apigee Edge 4.16.09 installation reached over real SSH, which judges
every run of the update. Only tests and the demo import it; ``fleet`` never does.

    with Lab.start(topology="5-node", directory=tmp_path, speed=0.0) as lab:
        ...  # run the runner with lab.config_path
        assert lab.verdict(final=True).ok
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from lab.judge import Verdict

__all__ = ["Lab", "Verdict", "LabError"]


class LabError(RuntimeError):
    pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class Lab:
    """Handle on a running lab (in this process's thread or a daemon): same calls either way."""

    def __init__(self, directory: Path, thread: threading.Thread | None = None,
                 proc: subprocess.Popen | None = None) -> None:
        self.directory = Path(directory).resolve()
        self._thread, self._proc = thread, proc
        self.info: dict[str, Any] = json.loads((self.directory / "lab.json").read_text())

    # --- starting ----------------------------------------------------------------------
    @classmethod
    def start(cls, topology: str = "5-node", directory: str | Path = ".lab", speed: float = 0.0,
              probe: bool = False, nodes: int | None = None, dcs: int | None = None,
              mirror: str | Path | None = None, repo_mode: str = "internet",
              daemon: bool = False, timeout: float = 60.0, ssh_server: str = "asyncssh",
              sudo_password: bool = False, ssh_keys: bool = False, bastion: bool = False,
              prompt: str | None = None) -> "Lab":
        """``sudo_password``: sudo asks for a password (the secrets file gets
        ``become_password``); ``ssh_keys``: key-only login with an encrypted key (the
        inventory names it, the secrets file gets its passphrase); ``bastion``: the hosts
        are reached only through a jump host (the inventory's ``proxy_jump``); ``prompt``:
        the login shell's PS1."""
        from lab.access import Access
        access = Access(sudo_password, ssh_keys, bastion, prompt)
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        for stale in ("lab.json", "verdict.json", "verdict.txt"):
            (directory / stale).unlink(missing_ok=True)
        if daemon:
            return cls._start_daemon(topology, directory, speed, probe, nodes, dcs, mirror, repo_mode,
                                     timeout, ssh_server, access.args())
        from lab.server import LabServer
        server = LabServer(directory, topology, speed, probe, nodes, dcs,
                           Path(mirror) if mirror else None, repo_mode, ssh_server, access)
        ready = threading.Event()
        errors: list[BaseException] = []

        def body() -> None:
            import asyncio
            try:
                asyncio.run(server.run(on_ready=ready.set))
            except BaseException as exc:  # surfaced to the starting thread
                errors.append(exc)
                ready.set()

        t = threading.Thread(target=body, name=f"lab-{directory.name}", daemon=True)
        t.start()
        if not ready.wait(timeout) or errors:
            raise LabError(f"lab did not start: {errors[0] if errors else 'timeout'}")
        lab = cls(directory, thread=t)
        atexit.register(lab.stop)                 # no shells left if the caller forgets stop()
        return lab

    @classmethod
    def _start_daemon(cls, topology: str, directory: Path, speed: float, probe: bool,
                      nodes: int | None, dcs: int | None, mirror: str | Path | None,
                      repo_mode: str, timeout: float, ssh_server: str,
                      access_args: list[str]) -> "Lab":
        args = [sys.executable, "-m", "lab", "_serve", "--topology", topology, "--dir", str(directory),
                "--speed", str(speed), "--repo-mode", repo_mode, "--ssh-server", ssh_server]
        args += access_args
        if probe:
            args.append("--probe")
        if nodes:
            args += ["--nodes", str(nodes)]
        if dcs:
            args += ["--dcs", str(dcs)]
        if mirror:
            args += ["--mirror", str(Path(mirror).resolve())]
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(directory / "lab.log", "a") as logf:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                    start_new_session=True, cwd=root, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (directory / "lab.json").exists():
                return cls(directory, proc=proc)
            if proc.poll() is not None:
                raise LabError(f"lab exited with {proc.returncode}; see {directory / 'lab.log'}")
            time.sleep(0.05)
        proc.kill()
        raise LabError(f"lab did not start within {timeout}s; see {directory / 'lab.log'}")

    @classmethod
    def attach(cls, directory: str | Path) -> "Lab":
        d = Path(directory)
        if not (d / "lab.json").exists():
            raise LabError(f"no running lab in {d}")
        return cls(d)

    # --- talking to it -----------------------------------------------------------------
    def _call(self, timeout: float = 60.0, **msg: Any) -> dict[str, Any]:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect("\0" + self.info["sock"][1:])
            s.sendall(json.dumps(msg).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        reply = json.loads(data) if data else {"error": "no reply from the lab"}
        if "error" in reply:
            raise LabError(reply["error"])
        return reply

    @property
    def inventory_dir(self) -> Path:
        return Path(self.info["inventory"])

    @property
    def config_path(self) -> Path:
        return Path(self.info["config"])

    @property
    def secrets_path(self) -> Path:
        return Path(self.info["secrets"])

    @property
    def known_hosts(self) -> Path:
        return Path(self.info["known_hosts"])

    @property
    def hosts(self) -> list[str]:
        return list(self.info["hosts"])

    @property
    def addresses(self) -> dict[str, str]:
        return dict(self.info["hosts"])

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def management_url(self) -> str:
        return str(self.info["management_url"])

    @property
    def secrets(self) -> dict[str, str]:
        return yaml.safe_load(self.secrets_path.read_text())

    @property
    def ssh_password(self) -> str:
        """The login password ("" for a lab with key-only login)."""
        return str(yaml.safe_load((self.inventory_dir / "defaults.yaml").read_text()).get("password") or "")

    def host_data(self, host: str) -> dict[str, Any]:
        return yaml.safe_load((self.inventory_dir / "hosts.yaml").read_text())[host]["data"]

    def verdict(self, final: bool = False, expect_version: str | None = None) -> Verdict:
        """``expect_version="4.16.09"`` judges a rolled-back installation (final only)."""
        return Verdict.from_json(self._call(control="verdict", final=final,
                                            expect_version=expect_version)["verdict"])

    def fault(self, host: str, kind: str, match: str | None = None) -> None:
        self._call(control="fault", host=host, kind=kind, match=match)

    def clear_faults(self, host: str | None = None) -> None:
        self._call(control="clear_faults", host=host)

    def state(self) -> dict[str, Any]:
        return self._call(control="state")["state"]

    def set_state(self, host: str | None = None, **kw: Any) -> None:
        """E.g. ``set_state("m4", queue=50)``, ``set_state("m1", version="4.18.01",
        components=["cs"])``, ``set_state("m2", component_state="stopped", components=["r"])``,
        ``set_state("m1", selinux="Enforcing")``, ``set_state("m1", prepared=True)``."""
        self._call(control="set_state", args=dict(kw, host=host or ""))

    def probe(self, on: bool = True) -> None:
        self._call(control="probe", on=on)

    # --- stopping ----------------------------------------------------------------------
    def stop(self, timeout: float = 15.0) -> None:
        if self._thread is not None and not self._thread.is_alive():
            return
        pid = int(self.info.get("pid", 0))
        try:
            self._call(control="stop", timeout=5)
        except (OSError, LabError):
            pass
        if self._thread is not None:
            self._thread.join(timeout)
            return
        deadline = time.monotonic() + timeout
        while pid and _pid_alive(pid) and time.monotonic() < deadline:
            if self._proc is not None:
                self._proc.poll()
            time.sleep(0.05)
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait(5)
        (self.directory / "lab.json").unlink(missing_ok=True)   # stale after a crash

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
