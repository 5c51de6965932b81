"""Rollback plan cases as data: a topology (the hosts of a tests/plans case), how far the
failed update got, the scope; the plan summarised as in tests/plans, each inferred step
marked ``[I]``.

The live packages are made from the update's own planner (``updated_by``): every component
a completed wave updates reports its 4.18.01 build, the rest their 4.16.09 build.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fleet.components import SERVICES
from fleet.model import Plan
from fleet.plan.builder import updated_by
from fleet.plan.context import Context
from fleet.rollback.planner import Scope, build_rollback
from fleet.rollback.state import FailedRun, Live
from fleet.settings import default_settings, with_values
from tests.plans.summary import nodes_of, step_word

PLANS = Path(__file__).parents[1] / "plans" / "cases"
UPSTREAM = {"4.16.09": {"apigee-cassandra": "2.1.13-0.0.1017", "apigee-zookeeper": "3.4.5-0.0.911",
                        "apigee-openldap": "2.4-0.0.1004", "apigee-postgresql": "9.4.5-0.0.1019"},
            "4.18.01": {"apigee-cassandra": "2.1.16-0.0.2046", "apigee-zookeeper": "3.4.5-0.0.944",
                        "apigee-openldap": "2.4-0.0.1067", "apigee-postgresql": "9.6.8-0.0.1120"}}
RELEASES = {"4.18.01": {"apigee-cassandra": "2.1.16-0.0.*", "apigee-openldap": "2.4-0.0.1067"}}
WAVES = ("cs_zk", "qpid", "ldap", "edge", "ui", "postgres", "edge_pg")


def build(release: str, pkg: str) -> str:
    return UPSTREAM[release].get(pkg) or f"{release}-0.0.{100 + len(pkg)}"


def hosts_of(case: dict[str, Any]) -> dict[str, Any]:
    if "hosts" in case:
        return case["hosts"]
    return yaml.safe_load((PLANS / f"{case['topology']}.yaml").read_text())["hosts"]


def live_of(case: dict[str, Any], nodes, settings) -> Live:
    """``failed: {wave: W, done: [hosts]}``: waves before W completed, W on ``done``;
    ``also_updated`` adds components at 4.18.01, ``missing`` removes packages, ``empty``
    hosts list nothing, ``packages`` sets builds as given."""
    ctx = Context.build(nodes, settings, "maintenance")
    done = updated_by(ctx)
    failed = case.get("failed") or {}
    upto = failed.get("wave", "edge_pg")
    new: dict[str, set[str]] = {}
    for w in WAVES:
        if w == upto:
            for h in failed.get("done", []):
                new.setdefault(h, set()).update(done[w].get(h, ()))
            break
        for h, comps in done[w].items():
            new.setdefault(h, set()).update(comps)
    for h, comps in (case.get("also_updated") or {}).items():
        new.setdefault(h, set()).update(comps)
    packages = {}
    for n in nodes:
        if n.name in (case.get("empty") or []):
            packages[n.name] = {}
            continue
        packages[n.name] = {SERVICES[c]: build("4.18.01" if c in new.get(n.name, ()) else "4.16.09",
                                               SERVICES[c]) for c in n.components}
        for c in (case.get("missing") or {}).get(n.name, []):
            packages[n.name].pop(SERVICES[c], None)
        packages[n.name].update((case.get("packages") or {}).get(n.name, {}))
    run = FailedRun("20260101T000000-0001", "failed", ((upto, failed.get("host", "")),),
                    bool(failed.get("db_upgrade")))
    return Live(packages, run, case.get("spare_retired_by"), settings["releases"])


def plan_of(case: dict[str, Any]) -> Plan:
    settings = with_values(default_settings(), releases=case.get("releases", RELEASES))
    nodes = nodes_of({"hosts": hosts_of(case)})
    scope = case.get("scope") or {}
    return build_rollback(nodes, settings, live_of(case, nodes, settings),
                          Scope(hosts=tuple(scope.get("hosts") or ()),
                                components=tuple(scope.get("components") or ())))


def summarize(plan: Plan) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for w in plan.waves:
        out[w.name] = [[f"{h}: " + " ".join(step_word(s) + ("[I]" if s.basis == "I" else "")
                                            for s in b.chain(h)) for h in b.hosts()]
                       for b in w.batches if not b.is_gate]
    return out
