"""The plan as data: nodes in, waves of batches of per-host steps out.

Everything here is immutable and free of I/O so that plans can be built, compared,
written and asserted on without touching a host. The JSON form (``Plan.to_json``) is a
public interface documented in the README: add optional keys, never rename or drop one.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

PLAN_FORMAT_VERSION = 1

# Step kinds. A shell step runs a command on the host and fails on a non-zero exit status;
# check and poll steps are read-only; http steps go from the runner to the management API;
# pause steps wait on the runner's side.
SHELL, CHECK, POLL, HTTP, PAUSE = "shell", "check", "poll", "http", "pause"


@dataclass(frozen=True)
class Node:
    """One machine of the installation, as the inventory describes it."""

    name: str
    address: str
    dc: str
    components: frozenset[str]
    port: int = 22
    postgres: str | None = None          # master | standby | rollback_standby
    machine: int | None = None
    internal_ip: str | None = None       # the address it registered with the management API
    observer: bool = False               # ZooKeeper observer (does not vote)
    apigee_root: str = "/opt/apigee"
    config_file: str = "/opt/silent.conf"
    download_dir: str = "/tmp"

    @property
    def registered_address(self) -> str:
        """The address to look the node up by in the management API."""
        return self.internal_ip or self.address

    def has(self, *components: str) -> bool:
        return any(c in self.components for c in components)


@dataclass(frozen=True)
class Prompt:
    """Remote output that asks for a secret, and the secret that answers it."""

    pattern: str
    secret: str


@dataclass(frozen=True)
class Request:
    """A management-API call made by the runner (never from a host's command line)."""

    method: str
    url: str
    body: dict[str, Any] = field(default_factory=dict)
    # For a listing: pick the server whose fields equal these (``type`` matches if listed).
    select: dict[str, str] = field(default_factory=dict)
    store: str | None = None             # host variable that receives the server's uUID


@dataclass(frozen=True)
class Step:
    host: str
    action: str
    command: str
    kind: str = SHELL
    timeout: float = 60.0
    expect: tuple[str, ...] = ()         # regexes that must all match the output
    fact: str | None = None              # check: the fact (fleet.facts.CHECKS) that must hold
    fact_args: dict[str, Any] = field(default_factory=dict)
    until: str | None = None             # poll: name of the predicate in fleet.plan.checks
    interval: float = 0.0                # poll interval, seconds
    inputs: tuple[tuple[str, str], ...] = ()   # (shell variable, secret) read silently first
    prompts: tuple[Prompt, ...] = ()
    request: Request | None = None
    on_failure: tuple["Step", ...] = ()  # run on the same host when this step fails
    # What the step rests on (rollback plans): "S", "S-old" or "I" as tagged in rollback.md,
    # "P" procedure.md; an "I" step is inferred and needs --accept-inferred. None: the update's.
    basis: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"host": self.host, "action": self.action,
                               "command": self.command, "kind": self.kind,
                               "timeout": self.timeout}
        if self.expect:
            out["expect"] = list(self.expect)
        if self.fact:
            out["fact"] = self.fact
            out["fact_args"] = dict(self.fact_args)
        if self.until:
            out["until"] = self.until
            out["interval"] = self.interval
        if self.inputs:
            out["inputs"] = [{"variable": v, "secret": s} for v, s in self.inputs]
        if self.prompts:
            out["prompts"] = [{"pattern": p.pattern, "secret": p.secret} for p in self.prompts]
        if self.request:
            r = self.request
            out["request"] = {"method": r.method, "url": r.url, "body": dict(r.body),
                              "select": dict(r.select), "store": r.store}
        if self.on_failure:
            out["on_failure"] = [s.to_json() for s in self.on_failure]
        if self.basis:
            out["basis"] = self.basis
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Step":
        req = d.get("request")
        return cls(
            host=d["host"], action=d["action"], command=d["command"],
            kind=d.get("kind", SHELL), timeout=float(d.get("timeout", 60.0)),
            expect=tuple(d.get("expect", ())), until=d.get("until"),
            fact=d.get("fact"), fact_args=dict(d.get("fact_args") or {}),
            interval=float(d.get("interval", 0.0)),
            inputs=tuple((i["variable"], i["secret"]) for i in d.get("inputs", ())),
            prompts=tuple(Prompt(p["pattern"], p["secret"]) for p in d.get("prompts", ())),
            request=Request(req["method"], req["url"], dict(req.get("body", {})),
                            dict(req.get("select", {})), req.get("store")) if req else None,
            on_failure=tuple(cls.from_json(s) for s in d.get("on_failure", ())),
            basis=d.get("basis"),
        )


def step_key(wave_index: int, batch_index: int, host: str, index: int) -> str:
    """Stable identity of a step inside one plan (journal, resume, estimate, reports)."""
    return f"{wave_index}/{batch_index}/{host}/{index}"


GATE = "gate"        # the label of a wave's first batch when it only checks live versions


@dataclass(frozen=True)
class Batch:
    """Hosts of a batch run concurrently; one host's steps run in order."""

    steps: tuple[Step, ...]
    label: str = ""
    hold: str = ""           # non-empty: the run holds after this batch (why; fleet/plan/holds.py)

    def hosts(self) -> list[str]:
        return list(dict.fromkeys(s.host for s in self.steps))

    @property
    def is_gate(self) -> bool:
        return self.label == GATE

    def chain(self, host: str) -> list[Step]:
        return [s for s in self.steps if s.host == host]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "steps": [s.to_json() for s in self.steps]}
        if self.hold:
            out["hold"] = self.hold
        return out


@dataclass(frozen=True)
class Wave:
    name: str
    batches: tuple[Batch, ...]

    def hosts(self) -> list[str]:
        return list(dict.fromkeys(h for b in self.batches for h in b.hosts()))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "batches": [b.to_json() for b in self.batches]}


@dataclass(frozen=True)
class Plan:
    target: str
    mode: str                             # maintenance | zero-downtime | rollback
    waves: tuple[Wave, ...]
    version: int = PLAN_FORMAT_VERSION

    def wave(self, name: str) -> Wave:
        for w in self.waves:
            if w.name == name:
                return w
        raise KeyError(name)

    def wave_names(self) -> list[str]:
        return [w.name for w in self.waves]

    def iter_steps(self) -> Iterator[tuple[int, int, Step]]:
        for wi, w in enumerate(self.waves):
            for bi, b in enumerate(w.batches):
                for s in b.steps:
                    yield wi, bi, s

    def holds(self) -> list[dict[str, Any]]:
        """The hold points: where the run stops and asks before going on."""
        return [{"wave": w.name, "wave_index": wi, "batch": bi, "reason": b.hold}
                for wi, w in enumerate(self.waves) for bi, b in enumerate(w.batches) if b.hold]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "target": self.target, "mode": self.mode,
                "waves": [w.to_json() for w in self.waves]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

    def digest(self) -> str:
        """Identity of the plan, to refuse resuming a run whose plan has changed."""
        canon = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Plan":
        return cls(
            target=d["target"], mode=d["mode"], version=int(d.get("version", 1)),
            waves=tuple(
                Wave(w["name"], tuple(
                    Batch(tuple(Step.from_json(s) for s in b["steps"]), b.get("label", ""),
                          str(b.get("hold") or ""))
                    for b in w["batches"]))
                for w in d["waves"]),
        )


def batch_of(chains: Iterable[Iterable[Step]], label: str = "") -> Batch:
    """A batch from per-host chains (hosts keep their relative order)."""
    steps: list[Step] = []
    for chain in chains:
        steps.extend(chain)
    return Batch(tuple(steps), label)
