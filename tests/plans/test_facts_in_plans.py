"""What the plan asks of remote output is named as facts (fleet.facts), never as strings
guessed from the lab: gates by package build, PostgreSQL checks by exit status, servers by
the address they registered."""
from __future__ import annotations

from fleet.facts import CHECKS
from fleet.settings import default_settings, with_values
from fleet.plan import build_plan
from tests.plans.summary import nodes_of

FIVE = {"hosts": {
    "m1": {"dc": "dc-1", "machine": 1, "profiles": ["ds", "ms"]},
    "m2": {"dc": "dc-1", "machine": 2, "profiles": ["ds", "rmp"], "address": "r1.example.com",
           "internal_ip": "10.9.0.2"},
    "m3": {"dc": "dc-1", "machine": 3, "profiles": ["ds", "rmp"], "address": "r2.example.com"},
    "m4": {"dc": "dc-1", "machine": 4, "profiles": ["sax"], "postgres": "master"},
    "m5": {"dc": "dc-1", "machine": 5, "profiles": ["sax"], "postgres": "standby"},
}}


def steps(plan):
    return [s for _, _, s in plan.iter_steps()]


def test_checks_name_facts_not_strings():
    plan = build_plan(nodes_of(FIVE), default_settings())
    for s in steps(plan):
        assert not s.expect, f"{s.action}: a regex over remote output"
        if s.fact:
            assert s.fact in CHECKS, s.action
    gates = [s for s in steps(plan) if s.action in ("gate_versions", "final_versions")]
    assert gates and all(s.fact == "apigee-version" and s.fact_args["target"] == "4.18.01"
                         for s in gates)
    cs_gate = next(s for s in steps(plan) if s.action == "gate_versions" and s.host == "m1")
    assert "apigee-cassandra" in cs_gate.fact_args["packages"]
    checks = [s for s in steps(plan) if s.action in ("check_master", "check_standby")]
    assert {s.fact for s in checks} == {"postgres-check"}
    assert all("pattern" not in s.fact_args for s in checks)     # exit status only by default
    drain = next(s for s in steps(plan) if s.action == "qpid_drain")
    assert drain.command == "/opt/apigee/apigee-qpidd/bin/qpid-stat -q"


def test_operator_releases_and_patterns_reach_the_checks():
    settings = with_values(default_settings(),
                           releases={"4.18.01": {"apigee-cassandra": "2.1.16-0.0.*"}},
                           postgres={"standby_pattern": "slave/standby$"})
    plan = build_plan(nodes_of(FIVE), settings)
    gate = next(s for s in steps(plan) if s.action == "gate_versions")
    assert gate.fact_args["releases"] == {"4.18.01": {"apigee-cassandra": "2.1.16-0.0.*"}}
    standby = next(s for s in steps(plan) if s.action == "check_standby")
    assert standby.fact_args == {"pattern": "slave/standby$"}


def test_servers_are_looked_up_by_the_address_they_registered():
    plan = build_plan(nodes_of(FIVE), default_settings(), zero_downtime=True)
    lookups = {s.host: s.request.select["internalIP"] for s in steps(plan)
               if s.request and s.request.select}
    assert lookups["m2"] == "10.9.0.2"                  # data.internal_ip
    assert lookups["m3"] == "r2.example.com"            # a name: resolved when it runs
