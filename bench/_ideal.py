"""The lower bound of a run's wall time, computed from the plan and the lab's duration
table: what the benchmarks compare the real runner with."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from _lab import lab_durations

def _tables() -> tuple[dict[str, float], float, dict[str, str], frozenset[str]]:
    from fleet.components import EDGE_JAVA, SERVICES
    durations, floor = lab_durations()
    return durations, floor, {v: k for k, v in SERVICES.items()}, EDGE_JAVA


@dataclass
class Estimator:
    """Emulated duration of every plan step in the lab, from the lab's duration table
    (``python -m lab durations`` × speed, at least its floor per sleep), replaying
    the component states a run goes through (a stop of a stopped service costs nothing).

    Commands that the lab answers without sleeping (checks, iptables, crontab, curl, sed,
    find, version/status reads, management-API calls) count 0; a Qpid drain counts 0 (with
    analytics production off the queue is already empty at the first poll); a pause counts
    its timeout."""

    components: dict[str, frozenset[str]]          # host -> installed components (inventory)
    installed: dict[str, bool]                     # host -> has Apigee installed at start
    speed: float
    running: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.d, self.floor, self.service_code, self.edge = _tables()
        for h, comps in self.components.items():
            self.running[h] = set(comps) if self.installed.get(h, True) else set()

    def sleep(self, what: str, factor: float = 1.0) -> float:
        return max(self.d[what] * factor * self.speed, self.floor)

    def _start(self, host: str, codes: Iterable[str]) -> float:
        t = 0.0
        for c in codes:
            if c not in self.running[host]:
                t += self.sleep("start")
                self.running[host].add(c)
        return t

    def _stop(self, host: str, codes: Iterable[str]) -> float:
        t = 0.0
        for c in codes:
            if c in self.running[host]:
                t += self.sleep("stop")
                self.running[host].discard(c)
        return t

    def one(self, host: str, cmd: str) -> float:
        """Seconds of emulated work of one shell command line (sequences with && ; ||)."""
        total = 0.0
        for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", cmd):
            total += self._simple(host, part.strip())
            if "||" in cmd and "apigee-all status" in part and self._all_up(host):
                break                                  # `status || start`: start not run
        return total

    def _all_up(self, host: str) -> bool:
        return self.running[host] >= set(self.components[host])

    def _simple(self, host: str, part: str) -> float:
        words = part.split()
        if not words:
            return 0.0
        prog = words[0].rsplit("/", 1)[-1]
        args = words[1:]
        comps = self.components[host]
        if prog == "update.sh":
            codes = args[args.index("-c") + 1].split(",")
            targets = set()
            for code in codes:
                targets |= (self.edge & comps) if code == "edge" else ({code} & comps)
            self.running[host] |= targets
            return self.sleep("update", 1 + (len(targets) - 1) * 0.15)
        if prog == "bash" and args and "bootstrap_" in args[0]:
            return self.sleep("bootstrap")
        if prog == "yum":
            return self.sleep("yum")
        if prog == "setup.sh":
            self.running[host] |= set(comps)
            return self.sleep("setup")
        if prog == "apigee-all" and args:
            if args[0] == "start":
                return self._start(host, comps)
            if args[0] == "stop":
                return self._stop(host, comps)
            return 0.0
        if prog == "apigee-service" and len(args) >= 2:
            svc, verb = args[0], args[1]
            if svc in ("apigee-setup", "apigee-validate", "apigee-provision"):
                if verb in ("update", "install"):
                    return self.sleep("setup_update")
                if verb in ("setup", "clean"):
                    return self.sleep("validate")
                return 0.0
            code = self.service_code.get(svc)
            if code is None:
                return 0.0
            if verb == "start":
                return self._start(host, [code])
            if verb == "stop":
                return self._stop(host, [code])
            if verb == "restart":
                return self._stop(host, [code]) + self._start(host, [code])
            if verb == "db_upgrade":
                return self.sleep("db_upgrade")
            if verb == "setup-replication-on-standby":
                self.running[host].add(code)
                return self.sleep("replication")
            if verb == "update":
                return self.sleep("update")
        return 0.0

    def step(self, s: dict[str, Any]) -> float:
        if s["kind"] == "pause":
            return float(s["timeout"])
        if s["kind"] in ("http", "poll"):
            return 0.0
        return self.one(s["host"], s["command"])


def estimate(plan: dict[str, Any], nodes: list[Any], speed: float) -> dict[str, Any]:
    """Shortest possible wall time: sum over batches of the longest host chain.

    Returns {"ideal": seconds, "batches": n, "steps": n, "per_step": {key: seconds}} with
    keys as in the journal (``wave_index/batch/host/index``)."""
    comps = {n.name: n.components for n in nodes}
    installed = {n.name: n.postgres != "rollback_standby" for n in nodes}
    est = Estimator(comps, installed, speed)
    ideal, batches, steps = 0.0, 0, 0
    per_step: dict[str, float] = {}
    for wi, w in enumerate(plan["waves"]):
        for bi, b in enumerate(w["batches"]):
            chains: dict[str, float] = {}
            index: dict[str, int] = {}
            for s in b["steps"]:
                i = index.get(s["host"], 0)
                index[s["host"]] = i + 1
                t = est.step(s)
                per_step[f"{wi}/{bi}/{s['host']}/{i}"] = t
                chains[s["host"]] = chains.get(s["host"], 0.0) + t
                steps += 1
            ideal += max(chains.values(), default=0.0)
            batches += 1
    return {"ideal": ideal, "batches": batches, "steps": steps, "per_step": per_step}


