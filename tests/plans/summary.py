"""A compact, reviewable text form of a plan for the data-file tests.

Each non-gate batch becomes a list of host chains like
``m4: qpid_block qpid_drain update(qpid) qpid_unblock``, so a case file reads like the
vendor's order and a reviewer can check it against procedure.md section 8.
"""
from __future__ import annotations

import re
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
