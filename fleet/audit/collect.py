"""Ask every host for `apigee-all version` and `apigee-all status`, in parallel through the
runner's own Nornir and shell layers (same host-key checking, same secret handling).

A host that cannot be reached or answers nonsense becomes a Reading with an error: the
audit is most needed exactly when something is wrong, so it must never stop half-way.
"""
from __future__ import annotations

from typing import Any

from fleet.audit.analyse import Reading
from fleet.plan.quote import q
from fleet.model import CHECK, Node, Step
from fleet.secrets import Secrets
from fleet.settings import Settings

READ_TIMEOUT = 120.0


def commands(node: Node, settings: Settings) -> dict[str, str]:
    """The two read-only command lines, with sudo when the runner is configured to use it."""
    prefix = "sudo " if settings["become"] == "sudo" else ""
    base = f"{prefix}{q(node.apigee_root)}/apigee-service/bin/apigee-all"
    return {"version": f"{base} version", "status": f"{base} status"}


def _read_host(task: Any, nodes: dict[str, Node], settings: Settings,
               secrets: Secrets) -> Reading:
    from tasks.connect import connect
    from tasks.shell import run_shell

    node = nodes[task.host.name]
    reading = Reading(node.name)
    try:
        conn = connect(task, int(settings["retries.connect_attempts"]),
                       float(settings["retries.backoff"]))
        for verb, cmd in commands(node, settings).items():
            res = run_shell(conn, Step(node.name, f"audit_{verb}", cmd, CHECK,
                                       timeout=READ_TIMEOUT), cmd, secrets.values)
            setattr(reading, f"{verb}_output", secrets.mask(res.output))
            setattr(reading, f"{verb}_rc", res.rc)
        if reading.version_rc == 127 or "No such file" in reading.version_output:
            reading.version_output = ""                 # no Apigee software installed here
    except Exception as exc:   # every failure to read a host becomes its row's error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reading.error = secrets.mask(f"{type(exc).__name__}: {first}".rstrip(": "))
    return reading


def collect(nodes: list[Node], settings: Settings, secrets: Secrets) -> dict[str, Reading]:
    """host -> Reading, for every node given (in parallel)."""
    from fleet.run.executor import open_nornir

    nr = open_nornir(settings, secrets, workers=max(1, min(len(nodes), settings.num_workers)))
    wanted = {n.name: n for n in nodes}
    sub = nr.filter(filter_func=lambda h: h.name in wanted)
    out: dict[str, Reading] = {}
    try:
        results = sub.run(task=_read_host, nodes=wanted, settings=settings, secrets=secrets,
                          on_failed=True)
        for name in wanted:
            r = results.get(name)
            if r is None:
                out[name] = Reading(name, error="not in the Nornir inventory")
            elif r.failed or not isinstance(r[0].result, Reading):
                exc = r[0].exception
                out[name] = Reading(name, error=secrets.mask(f"{type(exc).__name__}: {exc}"))
            else:
                out[name] = r[0].result
    finally:
        nr.close_connections(on_good=True, on_failed=True)
    return out
