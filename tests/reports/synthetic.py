"""Synthetic run folders: a small plan and a journal written the way the runner writes it,
so the reports can be checked without a lab."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.model import CHECK, Batch, Node, Plan, Step, Wave
from fleet.reports import write_hosts_json
from fleet.run.journal import Journal, step_key

SECRET = "s3cr3t-Pa55word"
NODES = [
    Node("m1", "10.0.0.1", "dc-1", frozenset({"cs", "zk", "ms", "ldap", "ui"}), machine=1),
    Node("m2", "10.0.0.2", "dc-1", frozenset({"cs", "zk", "r", "mp"}), machine=2),
    Node("m3", "10.0.0.3", "dc-2", frozenset({"cs", "zk", "r", "mp"}), machine=3),
]


def small_plan() -> Plan:
    """preflight (check on every host), cs_zk (two batches), edge (one batch)."""
    def chk(h: str) -> Step:
        return Step(h, "status", "/opt/apigee/apigee-service/bin/apigee-all status", CHECK)

    def upd(h: str, codes: str) -> list[Step]:
        return [Step(h, "update", f"/opt/apigee/apigee-setup/bin/update.sh -c {codes} -f /opt/silent.conf"),
                Step(h, "final_versions", "/opt/apigee/apigee-service/bin/apigee-all version", CHECK)]
    return Plan("4.18.01", "maintenance", (
        Wave("preflight", (Batch(tuple(chk(n.name) for n in NODES), "all"),)),
        Wave("cs_zk", (Batch(tuple(upd("m1", "cs,zk")), "dc-1 #1"),
                       Batch(tuple(upd("m2", "cs,zk") + upd("m3", "cs,zk")), "dc-1 #2, dc-2"))),
        Wave("edge", (Batch(tuple(upd("m2", "edge") + upd("m3", "edge")), "routers"),)),
    ))


@dataclass
class Clock:
    t: float = 1_700_000_000.0

    def tick(self, dt: float = 1.0) -> float:
        self.t += dt
        return self.t


class Writer:
    """Writes journal events with controlled times."""

    def __init__(self, reports: Path, plan: Plan, run_id: str = "20240101T000000-0001") -> None:
        self.plan = plan
        self.journal = Journal.create(reports, run_id, plan.dumps())
        write_hosts_json(self.journal.folder, NODES)
        self.clock = Clock()

    @property
    def folder(self) -> Path:
        return self.journal.folder

    def event(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": self.clock.t, "attempt": self.journal.attempt,
                  **fields}
        with (self.folder / "journal.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def start(self, attempt: int = 1) -> None:
        self.journal.attempt = attempt
        self.event("run_start", run_id=self.journal.run_id, attempt=attempt, resumed=attempt > 1)

    def step(self, wi: int, bi: int, host: str, index: int, status: str = "ok",
             took: float = 5.0, end: bool = True, output: str = "", rc: int | None = 0) -> str:
        wave = self.plan.waves[wi]
        s = wave.batches[bi].chain(host)[index]
        key = step_key(wi, bi, host, index)
        base = {"key": key, "wave": wave.name, "wave_index": wi, "batch": bi, "host": host,
                "index": index, "action": s.action, "kind": s.kind, "command": s.command}
        start = self.clock.tick()
        self.event("step_start", **base, start=start)
        if end:
            self.event("step_end", **base, status=status, rc=rc, output=output,
                       error="" if status == "ok" else f"exit status {rc}", start=start,
                       end=self.clock.tick(took), vars={})
        return key

    def wave(self, wi: int) -> None:
        self.event("wave_start", wave=self.plan.waves[wi].name, wave_index=wi)

    def end(self, status: str) -> None:
        self.event("run_end", status=status)


def into_cs_zk(reports: Path) -> Writer:
    """A run of small_plan(): preflight done on every host, the cs_zk wave just begun."""
    w = Writer(reports, small_plan())
    w.start()
    w.wave(0)
    for h in ("m1", "m2", "m3"):
        w.step(0, 0, h, 0)
    w.wave(1)
    return w
