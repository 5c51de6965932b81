"""How long a plan will take: seconds per step, per batch, per wave, and the window.

Pure: a plan and the durations observed in earlier runs (``History``, read from journals
by fleet.run.history) in, an ``Estimate`` out. A step's seconds are, by its action key
(``update:cs,zk``, ``update:edge``, ``bootstrap``, ...):

1. ``estimate.seconds`` of the config, when the operator states the action's time;
2. else the median of the durations observed for that key in earlier runs of the same
   installation (successful steps only), when there is at least one;
3. else our default below. The vendor's update guide gives no typical durations for these
   steps (procedure.md names only the load balancer's notice time, "about two minutes",
   which is a configured pause here), so **every default below is our own guess** for a
   real node: a yum/RPM install on a node with a nearby repository, a Java component's
   restart of one to two minutes. They are meant to be replaced by history after a first
   rehearsal or by ``estimate.seconds``.

A pause step waits exactly its configured time (``Step.timeout``), whatever the history.

The window is the critical path as the executor runs a plan (fleet/run/executor.py):
waves one after the other, batches of a wave one after the other, hosts of a batch at the
same time (one worker per host, at most ``runner.options.num_workers`` of config.yaml:
``workers``), a host's steps in order. Steps already done (a resumed
run) count zero.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from statistics import median
from typing import Any, Iterable, Mapping

from fleet.model import PAUSE, Plan, Step, step_key

CODES = re.compile(r"update\.sh -c (\S+)")
UNKNOWN = 60.0       # an action missing from DEFAULTS (a newer plan): our guess

# Our own guesses for a real node, in seconds (see the module docstring: the vendor gives none).
DEFAULTS: dict[str, float] = {
    # preflight and gates: one apigee-all / cat / getenforce on the node
    "check_status": 20, "check_config": 2, "check_smtp": 2, "check_external_auth": 2,
    "check_selinux": 2, "gate_versions": 15, "gate_prepared": 5, "final_versions": 15,
    # prepare (section 3): yum, EPEL, the bootstrap (downloads and installs apigee-service)
    "yum_utils": 60, "epel": 60, "fetch_bootstrap": 15, "bootstrap": 300,
    "setup_update": 90, "validate_update": 45, "provision_update": 45,
    "cron_disable": 2, "cron_restore": 2,
    # update.sh per component codes: RPM update plus restart of the component(s)
    "update:cs,zk": 600, "update:qpid": 300, "update:ldap": 300, "update:edge": 900,
    "update:ui": 300, "update:ps": 600, "update:e": 600, "update:e,b": 900, "update:b": 600,
    "update:p": 300, "update:cs": 600, "update": 600,
    # Qpid drain (section 4): depends on the backlog
    "qpid_block": 2, "qpid_drain": 60, "qpid_unblock": 2,
    # zero-downtime (section 5)
    "router_block": 2, "router_unblock": 2, "router_ready": 120, "mp_ready": 120,
    "ms_ready": 120, "uuid_mp": 2, "mp_unreachable": 2, "mp_reachable": 2,
    # PostgreSQL (section 6)
    "stop_pg": 30, "stop_qs": 30, "stop_ps": 30, "start_pg": 60, "start_qs": 60,
    "restart_ps": 60, "db_upgrade": 900, "pgdata_empty": 5, "replication_setup": 600,
    "check_master": 10, "check_standby": 10, "pg_hba_set": 5, "pg_hba_check": 2,
    "setup_install": 120, "setup_ps": 900, "status_or_start": 60, "uuid_pg": 2,
    "stop_all": 60, "deregister": 2,
    # validate (section 7)
    "validate_setup": 300, "validate_clean": 60,
}


def action_key(action: str, command: str = "") -> str:
    """The key durations are kept under: the action, and for update.sh its component codes
    (``-c edge`` takes much longer than ``-c ui``)."""
    if action == "update":
        m = CODES.search(command)
        if m:
            return f"update:{m.group(1)}"
    return action


def step_action_key(step: Step) -> str:
    return action_key(step.action, step.command)


@dataclass(frozen=True)
class History:
    """Durations observed in earlier runs: action key -> seconds of each successful step."""

    samples: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    runs: tuple[str, ...] = ()                  # the run ids they come from

    def seconds(self, key: str) -> float | None:
        xs = self.samples.get(key)
        return float(median(xs)) if xs else None


@dataclass(frozen=True)
class Estimate:
    step: dict[str, float]                      # journal key -> seconds (0 when done)
    batches: tuple[tuple[float, ...], ...]      # per wave, per batch: seconds
    waves: tuple[tuple[str, float], ...]        # (wave name, seconds)
    total: float                                # the window: waves and batches in sequence
    sources: dict[str, str]     # action key -> "config" | "pause" | "history (N)" | "default"
    runs: tuple[str, ...] = ()                  # history's run ids

    def basis(self) -> str:
        """One line on where the figures come from, for a person."""
        used = {"config": 0, "pause": 0, "history": 0, "default": 0}
        for src in self.sources.values():
            used[src.split(" ")[0]] += 1
        parts = []
        if used["history"]:
            parts.append(f"{used['history']} action(s) from {len(self.runs)} earlier run(s)")
        if used["config"]:
            parts.append(f"{used['config']} action(s) from estimate.seconds")
        if used["pause"]:
            parts.append(f"{used['pause']} configured pause(s)")
        if used["default"]:
            parts.append(f"{used['default']} action(s) from our default guesses")
        return ", ".join(parts) or "no step"


def step_seconds(step: Step, history: History, overrides: Mapping[str, float]
                 ) -> tuple[float, str]:
    """(seconds, source) of one step."""
    key = step_action_key(step)
    if step.kind == PAUSE:
        return float(step.timeout), "pause"
    for k in (key, step.action):
        if k in overrides:
            return float(overrides[k]), "config"
    seen = history.seconds(key)
    if seen is not None:
        return seen, f"history ({len(history.samples[key])})"
    return float(DEFAULTS.get(key, DEFAULTS.get(step.action, UNKNOWN))), "default"


def pool_span(chains: Iterable[float], workers: int | None = None) -> float:
    """Wall time of host chains run by ``workers`` threads taking hosts in order (Nornir's
    threaded runner); all at once without a cap."""
    xs = list(chains)
    if not xs:
        return 0.0
    if not workers or workers >= len(xs):
        return max(xs)
    free = [0.0] * workers
    for x in xs:
        heapq.heappush(free, heapq.heappop(free) + x)
    return max(free)


def estimate(plan: Plan, history: History | None = None, done: Iterable[str] = (),
             overrides: Mapping[str, float] | None = None, workers: int | None = None
             ) -> Estimate:
    """Seconds per step and the window of ``plan``; ``done`` journal keys count zero."""
    history = history or History()
    overrides = overrides or {}
    finished = set(done)
    per_step: dict[str, float] = {}
    sources: dict[str, str] = {}
    batches: list[tuple[float, ...]] = []
    waves: list[tuple[str, float]] = []
    for wi, wave in enumerate(plan.waves):
        spans = []
        for bi, batch in enumerate(wave.batches):
            chains = []
            for host in batch.hosts():
                total = 0.0
                for i, s in enumerate(batch.chain(host)):
                    key = step_key(wi, bi, host, i)
                    secs, src = step_seconds(s, history, overrides)
                    sources.setdefault(step_action_key(s), src)
                    per_step[key] = 0.0 if key in finished else secs
                    total += per_step[key]
                chains.append(total)
            spans.append(pool_span(chains, workers))
        batches.append(tuple(spans))
        waves.append((wave.name, sum(spans)))
    return Estimate(per_step, tuple(batches), tuple(waves), sum(w for _, w in waves),
                    sources, history.runs)


def clock(seconds: float) -> str:
    """``1h 05m``, ``12m 30s``, ``45s``: a duration for a person."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s}s"


def check_overrides(value: Any) -> str | None:
    """Why ``estimate.seconds`` of the config is not usable, or None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return "estimate.seconds must be a mapping of action to seconds"
    for k, secs in value.items():
        base = str(k).split(":", 1)[0]
        if str(k) not in DEFAULTS and base not in DEFAULTS:
            return (f"estimate.seconds: unknown action {k!r} (known: "
                    f"{', '.join(sorted(DEFAULTS))})")
        if not isinstance(secs, (int, float)) or isinstance(secs, bool) or secs < 0:
            return f"estimate.seconds.{k} must be a number of seconds >= 0"
    return None
