"""SSH client helper for the lab tests (one module so that one event loop serves them all)."""
from __future__ import annotations

import asyncio
import threading

import asyncssh

from lab import Lab

_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, name="test-ssh", daemon=True).start()


def _sync(coro, timeout: float = 60):
    return asyncio.run_coroutine_threadsafe(coro, _loop).result(timeout)


class Node:
    """An exec-channel SSH client (asyncssh, verifying the host key) to one lab host: what a
    careless operator's ``ssh host CMD`` does. Netmiko/paramiko are tested in test_hosts."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.lab, self.name = lab, name
        self.data = lab.host_data(name)
        self.root, self.conf, self.dl = self.data["apigee_root"], self.data["config_file"], self.data["download_dir"]
        self.address = lab.addresses[name]
        async def connect() -> asyncssh.SSHClientConnection:
            return await asyncssh.connect(self.address, lab.port, username="apigee",
                                          password=lab.ssh_password, known_hosts=str(lab.known_hosts))

        self.conn = _sync(connect())

    def run(self, cmd: str, stdin: str | None = None, timeout: float = 60) -> tuple[int, str]:
        r = _sync(self.conn.run(cmd, input=stdin, check=False, timeout=timeout), timeout + 5)
        return (r.exit_status if r.exit_status is not None else -1), (r.stdout or "") + (r.stderr or "")

    def ok(self, cmd: str, stdin: str | None = None) -> str:
        rc, out = self.run(cmd, stdin)
        assert rc == 0, f"{self.name}: `{cmd}` exited {rc}:\n{out}"
        return out

    def svc(self, service: str, verb: str, *rest: str) -> str:
        return self.ok(f"sudo {self.root}/apigee-service/bin/apigee-service {service} {verb} {' '.join(rest)}")

    def update(self, codes: str) -> str:
        return self.ok(f"sudo {self.root}/apigee-setup/bin/update.sh -c {codes} -f {self.conf}")

    def close(self) -> None:
        self.conn.close()
