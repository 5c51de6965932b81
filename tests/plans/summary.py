"""A compact, reviewable text form of a plan for the data-file tests.

Each non-gate batch becomes a list of host chains like
``m4: qpid_block qpid_drain update(qpid) qpid_unblock``, so a case file reads like the
vendor's order and a reviewer can check it against procedure.md section 8.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fleet.inventory import parse_inventory
from fleet.model import Plan
from fleet.plan import build_plan
from fleet.settings import default_settings, with_values

CODES = re.compile(r"update\.sh -c (\S+)")


def nodes_of(case: dict[str, Any]):
    hosts = {}
    for i, (name, data) in enumerate(case["hosts"].items(), start=1):
        data = dict(data)
        address = data.pop("address", f"10.0.{i // 250}.{i % 250 + 1}")
        hosts[name] = {"hostname": address, "data": data}
    return parse_inventory(hosts)


def plan_of(case: dict[str, Any]) -> Plan:
    settings = default_settings()
    if case.get("settings"):
        settings = with_values(settings, **case["settings"])
    return build_plan(nodes_of(case), settings, zero_downtime=case.get("mode") == "zero-downtime")


def chains(plan: Plan):
    """(host, its chain of steps) for every host of every batch, gates included."""
    for w in plan.waves:
        for b in w.batches:
            for h in b.hosts():
                yield h, b.chain(h)


def step_word(step) -> str:
    m = CODES.search(step.command)
    return f"update({m.group(1)})" if step.action == "update" and m else step.action


def summarize(plan: Plan) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for w in plan.waves:
        batches = []
        for b in w.batches:
            if b.label == "gate":
                continue
            batches.append([f"{h}: " + " ".join(step_word(s) for s in b.chain(h))
                            for h in b.hosts()])
        out[w.name] = batches
    return out


def _lines(label: str, text: str) -> list[str]:
    first, *rest = text.splitlines() or [""]
    return [f"{label}{first}"] + [" " * len(label) + line for line in rest]


def commands(plan: Plan) -> str:
    """Every step with the exact command (or API call) it runs and its timeout, for the
    golden files in tests/plans/golden/ and tests/rollback/golden/: a change in any command
    or timeout shows as a reviewable diff."""
    out: list[str] = []
    for w in plan.waves:
        out.append(f"== {w.name}")
        for bi, b in enumerate(w.batches, start=1):
            out.append(f"-- batch {bi}: {b.label}" if b.label else f"-- batch {bi}")
            for s in b.steps:
                head = f"{s.host} {s.action} [{s.kind} {s.timeout:g}s]"
                if s.request:
                    out += _lines(f"{head} ", f"{s.request.method} {s.request.url}")
                    if s.request.body:
                        out.append(f"    body {json.dumps(s.request.body, sort_keys=True)}")
                else:
                    out += _lines(f"{head} ", s.command)
                for pr in s.prompts:
                    out.append(f"    prompt {pr.pattern!r} <- secret {pr.secret}")
                for var, secret in s.inputs:
                    out.append(f"    input ${var} <- secret {secret}")
                if s.fact:
                    out.append(f"    fact {s.fact} {json.dumps(s.fact_args, sort_keys=True)}")
                if s.until:
                    out.append(f"    until {s.until} every {s.interval:g} s")
                for u in s.on_failure:
                    out += _lines(f"    on failure {u.action} [{u.timeout:g}s]: ", u.command)
    return "\n".join(out) + "\n"


def assert_golden(folder: Path, name: str, plan: Plan, regen: str) -> None:
    """The plan's exact commands equal folder/NAME.txt (rewritten by ``python -m REGEN``)."""
    golden = folder / f"{name}.txt"
    assert golden.exists(), f"no {golden.name}: run python -m {regen}"
    assert commands(plan) == golden.read_text()
