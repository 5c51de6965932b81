"""One runner per installation at a time.

Two locks, so that neither a second runner on the same control host nor one started from
another machine can update the same nodes at once:

- the **control lock**: a file per installation (its key is a digest of the inventory's
  node addresses and ports, so two copies of one inventory share it) under
  ``$FLEET_LOCK_DIR`` (default ``/tmp/fleet-runner-locks``), held with ``flock`` while the
  run lives. The kernel drops it when the runner dies, however it dies.
- a **lease** on every node the run changes: ``APIGEE_ROOT/.fleet-runner.lease`` with the
  run id, the control host, pid and time, created with ``set -C`` (no clobbering) before
  the first step and removed when the run ends. A runner killed with SIGKILL leaves its
  leases: ``--resume`` of the same run takes them over, any other run is refused (exit 2,
  the holder named) until the operator has checked that nothing runs and passes
  ``--break-lock``.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Iterable

from fleet.errors import InputError
from fleet.model import CHECK, PAUSE, POLL, Node, Plan, Step
from fleet.plan.quote import q
from fleet.secrets import Secrets
from fleet.settings import Settings

LEASE = ".fleet-runner.lease"
HELD = "__LEASE_HELD__"      # printed joined; the echoed command line shows it apart
BREAK_HINT = ("wait for it to end; if it crashed (nothing runs on the nodes any more), "
              "start again with --break-lock")


def lock_dir() -> Path:
    return Path(os.environ.get("FLEET_LOCK_DIR") or "/tmp/fleet-runner-locks")


def installation_key(nodes: Iterable[Node]) -> str:
    ids = sorted(f"{n.address}:{n.port}" for n in nodes)
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def holder(run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def describe(h: dict[str, Any]) -> str:
    return (f"run {h.get('run_id', '?')} (pid {h.get('pid', '?')} on {h.get('host', '?')}, "
            f"since {h.get('since', '?')})")


class ControlLock:
    """flock on the installation's lock file; the file says who holds it."""

    def __init__(self, nodes: Iterable[Node], run_id: str) -> None:
        self.path = lock_dir() / f"{installation_key(nodes)}.lock"
        self.run_id = run_id
        self.fd: int | None = None

    def acquire(self) -> "ControlLock":
        try:
            self.path.parent.mkdir(mode=0o1777, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"lock: cannot create {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                h = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            except ValueError:
                h = {}
            os.close(fd)
            raise InputError(f"another runner is working on this installation: {describe(h)}; "
                             f"lock {self.path}. Wait for it to end.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder(self.run_id)).encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)          # closing drops the flock
            self.fd = None


def changed_hosts(plan: Plan) -> list[str]:
    """Hosts on which the plan changes something (not only checks, polls and pauses)."""
    return list(dict.fromkeys(s.host for _, _, s in plan.iter_steps()
                              if s.kind not in (CHECK, POLL, PAUSE)))


def _lease_path(node: Node) -> str:
    return f"{q(node.apigee_root)}/{LEASE}"


def _sudo(settings: Settings, cmd: str) -> str:
    return f"sudo sh -c {q(cmd)}" if settings["become"] == "sudo" else cmd


def _ours(run_id: str) -> str:
    """What a lease written by this run contains (json.dumps spacing), quoted for grep."""
    return q(f'"run_id": "{run_id}"')


def take_command(node: Node, run_id: str, take_over: bool, settings: Settings) -> str:
    """Create the lease unless another run holds it (then print it, exit 3)."""
    f = _lease_path(node)
    line = q(json.dumps({**holder(run_id), "node": node.name}))
    ours = _ours(run_id)
    write = f"printf '%s\\n' {line} > {f}"
    if take_over:
        return _sudo(settings, f"mkdir -p {q(node.apigee_root)} && {write}")
    # typed into the login shell: `(exit 3)` sets the status, `exit 3` would end the session
    return _sudo(settings, f"mkdir -p {q(node.apigee_root)} && "
                           f"if ( set -C; {write} ) 2>/dev/null; then :; "
                           f"elif grep -qF {ours} {f}; then {write}; "
                           f"elif test -s {f}; then printf '__LEASE_%s__%s\\n' HELD \"$(cat {f})\"; (exit 3); "
                           f"else (exit 1); fi")


def drop_command(node: Node, run_id: str, settings: Settings) -> str:
    f = _lease_path(node)
    return _sudo(settings, f"! test -e {f} || ! grep -qF {_ours(run_id)} {f} || rm -f {f}")


def _lease_task(task: Any, commands: dict[str, str], settings: Settings, secrets: Secrets) -> str:
    from tasks.connect import ConnectFailed, connect
    from tasks.shell import run_shell

    cmd = commands[task.host.name]
    try:
        conn = connect(task, int(settings["retries.connect_attempts"]),
                       float(settings["retries.backoff"]))
        res = run_shell(conn, Step(task.host.name, "lease", cmd, CHECK, timeout=60), cmd,
                        secrets.values)
    except ConnectFailed as exc:
        return f"unreachable:{exc}"
    except Exception as exc:            # the host's answer is the lease's outcome, no traceback
        return f"error:{type(exc).__name__}: {exc}"
    if res.rc == 3 and HELD in res.output:
        text = res.output.split(HELD, 1)[1].strip().splitlines()[0]
        try:
            return "held:" + describe(json.loads(text))
        except ValueError:
            return "held:" + text[:200]
    if res.rc != 0:
        return f"error:exit status {res.rc}: {res.output.strip()[-200:]}"
    return "ok"


def _on_hosts(nr: Any, commands: dict[str, str], settings: Settings,
              secrets: Secrets) -> dict[str, str]:
    """host -> 'ok', 'held:WHO', 'unreachable:WHY' or 'error:WHY', the command run on
    each host at once."""
    from nornir.plugins.runners import ThreadedRunner

    names = set(commands)
    sub = nr.filter(filter_func=lambda h: h.name in names).with_runner(
        ThreadedRunner(num_workers=max(1, min(len(names), settings.num_workers))))
    results = sub.run(task=_lease_task, commands=commands, settings=settings, secrets=secrets,
                      on_failed=True)
    return {name: secrets.mask(str(results[name][0].result)) for name in names}


def take_leases(nr: Any, nodes: list[Node], plan: Plan, settings: Settings, secrets: Secrets,
                run_id: str, break_lock: bool) -> list[str]:
    """Lease every host the plan changes; refused (exit 2) if another run holds one.
    A host that cannot be reached is left to the preflight wave, which every changed host
    is part of: it fails there with its connection error and the run stops."""
    by_name = {n.name: n for n in nodes}
    hosts = [h for h in changed_hosts(plan) if h in by_name]
    if not hosts:
        return []
    result = _on_hosts(nr, {h: take_command(by_name[h], run_id, break_lock, settings)
                            for h in hosts}, settings, secrets)
    taken = [h for h in hosts if result[h] == "ok"]
    bad = [h for h in hosts if result[h] != "ok" and not result[h].startswith("unreachable:")]
    if not bad:
        return taken
    drop_leases(nr, nodes, taken, settings, secrets, run_id)
    held = [f"{h}: held by {result[h][5:]}" for h in bad if result[h].startswith("held:")]
    if held:
        raise InputError("another run holds the lease of "
                         + "; ".join(held) + f". {BREAK_HINT}")
    raise InputError("cannot take the run's lease on "
                     + "; ".join(f"{h}: {result[h][6:]}" for h in bad))


def drop_leases(nr: Any, nodes: list[Node], hosts: list[str], settings: Settings,
                secrets: Secrets, run_id: str) -> list[str]:
    """Remove our leases; the hosts where that failed (their lease stays)."""
    if not hosts:
        return []
    by_name = {n.name: n for n in nodes}
    result = _on_hosts(nr, {h: drop_command(by_name[h], run_id, settings) for h in hosts},
                       settings, secrets)
    return [h for h in hosts if result[h] != "ok"]
