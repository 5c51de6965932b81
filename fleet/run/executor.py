"""Carry out a plan wave by wave, batch by batch, through Nornir; stop after a failed batch.

Execution is thin on purpose: the plan says what to run where and in which order; this
module only opens Nornir, hands each batch's chains to the threaded runner, skips what a
resumed run already did, and reports what ran, what failed and what never started.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fleet.model import Plan
from fleet.model import step_key
from fleet.run.journal import Journal
from fleet.run.quiet import quiet_libraries
from fleet.secrets import Secrets
from fleet.settings import Settings

EventSink = Callable[[str, dict[str, Any]], None]
# a hold point reached (wave index, batch index, wave, why): True stops the run there
HoldSink = Callable[[int, int, str, str], bool]


@dataclass
class Outcome:
    ok: bool
    ran: int = 0
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    held: str = ""                 # the run stopped at this hold point (fleet/run/holds.py)


def open_nornir(settings: Settings, secrets: Secrets, workers: int | None = None) -> Any:
    """Nornir over our inventory files, host keys verified unless the inventory says how."""
    from nornir import InitNornir

    from tasks.hostkeys import install
    install()                                   # known_hosts parsed once, not per connection
    quiet_libraries()                           # no library tracebacks on the terminal

    from tasks.inventory import PLUGIN, register
    register()                                  # the inventory fleet.inventory read, not again
    files = settings.inventory_files
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": workers or settings.num_workers}},
        inventory={"plugin": PLUGIN, "options": {"host_file": str(files["hosts"]),
                                                 "group_file": str(files["groups"]),
                                                 "defaults_file": str(files["defaults"])}},
        logging={"enabled": False},
    )
    ssh_options(nr, settings, secrets)
    defaults = nr.inventory.defaults
    if secrets.get("ssh_password"):
        defaults.password = secrets["ssh_password"]
        for h in nr.inventory.hosts.values():
            h.password = None                          # fall back to the secret
    for h in nr.inventory.hosts.values():
        if h.password:
            secrets.add(f"ssh_password:{h.name}", h.password)
    if defaults.password:
        secrets.add("ssh_password:defaults", defaults.password)
    return nr


def ssh_options(nr: Any, settings: Settings, secrets: Secrets) -> None:
    """Each host's ``fleet_ssh`` options: netmiko's extras merged key by key from defaults,
    groups and host (Nornir itself takes a whole ``extras`` from the first level that has
    one, so a group's ``key_file`` would drop the defaults' host key settings), our safe
    defaults below them, the key passphrase from the secrets."""
    from nornir.core.inventory import ConnectionOptions

    from tasks.plugin import CONNECTION

    base = {"ssh_strict": True,                    # never accept an unknown host key
            "system_host_keys": True,
            "conn_timeout": float(settings["timeouts.connect"]),
            "auth_timeout": float(settings["timeouts.connect"]),
            "use_keys": False, "allow_agent": False}
    defaults = nr.inventory.defaults
    for h in nr.inventory.hosts.values():
        given: dict[str, Any] = {}                # the inventory's own extras, merged
        fields: dict[str, Any] = {}
        for layer in [defaults, *reversed(h.extended_groups()), h]:
            for name in ("netmiko", CONNECTION):
                co = layer.connection_options.get(name)
                if co is None:
                    continue
                given.update(co.extras or {})
                for f in ("hostname", "port", "username", "password", "platform"):
                    if getattr(co, f) is not None:
                        fields[f] = getattr(co, f)
        extras = {**base, **given}
        if given.get("key_file") and "use_keys" not in given:
            extras["use_keys"] = True
        if secrets.get("ssh_key_passphrase"):
            extras.setdefault("passphrase", secrets["ssh_key_passphrase"])
        for key, value in (("passphrase", given.get("passphrase")),
                           ("password", fields.get("password"))):
            if value:                              # written in the inventory: masked too
                secrets.add(f"ssh_{key}:{h.name}:options", str(value))
        extras["ssh_strict"] = True                # whatever a group says (refused at load too)
        fields.setdefault("platform", "linux")
        h.connection_options[CONNECTION] = ConnectionOptions(extras=extras, **fields)


def execute_plan(plan: Plan, nr: Any, settings: Settings, secrets: Secrets, journal: Journal,
                 done: dict[str, dict[str, Any]] | None = None,
                 on_event: EventSink = lambda kind, info: None,
                 on_hold: HoldSink = lambda wi, bi, wave, why: False) -> Outcome:
    from nornir.plugins.runners import ThreadedRunner

    from tasks.steps import ChainContext

    done = done or {}
    host_vars: dict[str, dict[str, str]] = {}
    for event in done.values():
        host_vars.setdefault(event["host"], {}).update(event.get("vars") or {})
    from fleet.run.recorder import StepRecorder

    ctx = ChainContext(run_id=journal.run_id, secrets=secrets,
                       connect_attempts=int(settings["retries.connect_attempts"]),
                       backoff=float(settings["retries.backoff"]),
                       host_vars=host_vars, on_event=on_event)
    recorder = StepRecorder(journal, secrets, ctx, on_event)
    out = Outcome(ok=True)
    t0 = time.monotonic()
    try:
        for wi, wave in enumerate(plan.waves):
            journal.event("wave_start", wave=wave.name, wave_index=wi)
            on_event("wave_start", {"wave": wave.name, "index": wi, "of": len(plan.waves),
                                    "batches": len(wave.batches)})
            for bi, batch in enumerate(wave.batches):
                chains: dict[str, list[tuple[str, int, Any]]] = {}
                for host in batch.hosts():
                    todo = []
                    for i, s in enumerate(batch.chain(host)):
                        key = step_key(wi, bi, host, i)
                        if key in done:
                            out.skipped += 1
                        else:
                            todo.append((key, i, s))
                    if todo:
                        chains[host] = todo
                if not chains:
                    if _held(out, plan, wi, bi, on_hold):
                        return out
                    continue
                on_event("batch_start", {"wave": wave.name, "batch": bi, "label": batch.label,
                                         "of": len(wave.batches), "hosts": list(chains)})
                names = set(chains)
                sub = nr.filter(filter_func=lambda h, names=names: h.name in names)
                # config.yaml runner.options.num_workers caps how many hosts of a batch run at once
                sub = sub.with_runner(ThreadedRunner(num_workers=max(1, min(len(names), settings.num_workers))))
                sub = sub.with_processors([recorder])
                base = {"wave": wave.name, "wave_index": wi, "batch": bi}
                try:
                    results = sub.run(task=_dispatch, name=f"{wave.name} batch {bi + 1}",
                                      ctx=ctx, base=base, chains=chains, on_failed=True)
                except KeyboardInterrupt as exc:
                    _finish_running_steps(ctx)
                    exc.abandoned = ctx.abandoned         # type: ignore[attr-defined]
                    raise
                out.ran += sum(len(c) for c in chains.values())
                failed = [h for h in names if results[h].failed]
                if failed:
                    for h in sorted(failed):
                        r = results[h][0]
                        action = getattr(r, "action", "")
                        message = r.result if action else str(r.exception)   # a fault of ours
                        out.failed.append({"wave": wave.name, "batch": bi, "host": h,
                                           "action": action,
                                           "message": secrets.mask(str(message))})
                    out.ok = False
                    out.not_run = _not_run(plan, wi, bi)
                    return out
                if _held(out, plan, wi, bi, on_hold):
                    return out
    finally:
        out.elapsed = time.monotonic() - t0
        if ctx.abandoned:                 # commands still run: hang up, type nothing into them
            from tasks.connect import cut
            for host in nr.inventory.hosts.values():
                cut(host)
        else:
            nr.close_connections(on_good=True, on_failed=True)
    return out


def _held(out: Outcome, plan: Plan, wi: int, bi: int, on_hold: HoldSink) -> bool:
    """After a batch that carries a hold: stop here if the hold says so."""
    batch = plan.waves[wi].batches[bi]
    if batch.hold and on_hold(wi, bi, plan.waves[wi].name, batch.hold):
        out.held = f"{plan.waves[wi].name} batch {bi + 1}: {batch.hold}"
        out.not_run = _not_run(plan, wi, bi)
        return True
    return False


def _finish_running_steps(ctx: Any) -> None:
    """Ctrl-C: no new step starts; a command already running on a node (an update.sh, a
    db_upgrade) is let finish and journaled, since cutting it off mid-way is what harms a
    node. A second Ctrl-C stops waiting (its SSH sessions are then closed under it)."""
    ctx.stop.set()
    if ctx.running:
        say(f"\ninterrupted: letting {ctx.running} running step(s) finish, no new step starts "
             "(Ctrl-C again to stop waiting)")
    try:
        ctx.wait_idle()
    except KeyboardInterrupt:
        ctx.abandoned = True
        say("stopped waiting: the steps still running are cut off and not recorded as done")


def say(text: str) -> None:
    """A line for the operator; a terminal that is gone (SIGHUP) must not end the wait."""
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:
        pass


def _dispatch(task: Any, ctx: Any, base: dict[str, Any],
              chains: dict[str, list[tuple[str, int, Any]]]) -> Any:
    from tasks.steps import run_chain
    return run_chain(task, ctx, dict(base, host=task.host.name), chains[task.host.name])


def _not_run(plan: Plan, wi: int, bi: int) -> list[str]:
    """The waves and batches that never started because of the failure."""
    rest = []
    for wj, wave in enumerate(plan.waves):
        for bj, batch in enumerate(wave.batches):
            if (wj, bj) > (wi, bi):
                rest.append(f"{wave.name} batch {bj + 1} ({batch.label}): "
                            f"{', '.join(batch.hosts())}")
    return rest


def reports_dir(settings: Settings, override: str | None) -> Path:
    return Path(override or settings["reports_dir"])
