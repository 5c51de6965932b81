"""rollback.md asserted on rollback plans: golden cases as data files (every scope on the
5-, 9-, 13- and 12-node 2-DC topologies, every refusal), and invariants over all of them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fleet.components import EDGE_JAVA, PROFILES, SERVICES
from fleet.errors import InputError
from fleet.model import HTTP, Plan
from fleet.plan.render import render_table
from tests.plans.summary import assert_golden, chains, nodes_of
from tests.rollback.summary import hosts_of, plan_of, summarize

HERE = Path(__file__).parent
CASES = sorted((HERE / "cases").glob("*.yaml"))
GOOD = [p for p in CASES if "error" not in yaml.safe_load(p.read_text())]
BAD = [p for p in CASES if p not in GOOD]


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(params=GOOD, ids=[p.stem for p in GOOD])
def case(request) -> dict:
    return {**_load(request.param), "file": request.param.stem}


def _nodes(case: dict) -> dict:
    return {n.name: n for n in nodes_of({"hosts": hosts_of(case)})}


def test_case_matches_its_golden_plan(case):
    assert summarize(plan_of(case)) == case["expect"]


def test_case_matches_its_golden_commands(case):
    """The exact command and timeout of every step; `python -m tests.rollback.regen`."""
    assert_golden(HERE / "golden", case["file"], plan_of(case), "tests.rollback.regen")


def test_every_golden_file_has_its_case():
    assert {p.stem for p in (HERE / "golden").glob("*.txt")} == {p.stem for p in GOOD}


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_refused_with_the_reason(path):
    bad = _load(path)
    with pytest.raises(InputError) as err:
        plan_of(bad)
    assert bad["error"] in str(err.value)


def test_never_updates_retires_the_spare_or_touches_cassandra_zookeeper(case):
    plan = plan_of(case)
    spare = next((n for n in _nodes(case).values() if n.postgres == "rollback_standby"), None)
    for _, _, s in plan.iter_steps():
        assert "update.sh" not in s.command and s.action != "db_upgrade"
        assert "apigee-service apigee-service uninstall" not in s.command   # rollback.md 2.8
        assert not re.search(r"apigee-(cassandra|zookeeper) (stop|uninstall)", s.command)
        assert "iptables -F" not in s.command
        if spare and s.host == spare.name:
            assert s.action not in ("stop_all", "deregister", "uninstall_ps")
    assert "rollback_retire" not in plan.wave_names()
    if "rb_restore" in plan.wave_names():     # the plan ends with what is left to the operator
        assert plan.wave_names()[-1] == "rb_restore"
        assert all(s.kind == "pause" and s.timeout == 0 for b in plan.wave("rb_restore").batches
                   for s in b.steps)


def test_every_changing_step_says_what_it_rests_on(case):
    for _, _, s in plan_of(case).iter_steps():
        if s.kind in ("shell", "http"):
            assert s.basis in ("S", "S-old", "I", "P"), (s.host, s.action)


def test_management_api_calls_are_inferred(case):
    """rollback.md 3.8 is [S] only that registrations are needed, [I] how; its only [S] UUID
    command is 8084/v1/servers/self, not the Management Server listing the runner reads."""
    for _, _, s in plan_of(case).iter_steps():
        if s.kind == HTTP:
            assert s.basis == "I", (s.host, s.action, s.basis)


def test_shared_code_goes_together(case):
    """rollback.md 1.5: an uninstall of Edge Java code stops every such component there."""
    nodes = _nodes(case)
    for h, chain in chains(plan_of(case)):
        actions = [s.action for s in chain]
        if "uninstall_edge_gateway" in actions:
            stops = {a[5:] for a in actions[:actions.index("uninstall_edge_gateway")]
                     if a.startswith("stop_")}
            assert nodes[h].components & EDGE_JAVA <= stops, (h, actions)
        for c in nodes[h].components & EDGE_JAVA:
            assert f"uninstall_{c}" not in actions


def test_reinstalled_exactly_what_was_uninstalled_and_checked_back(case):
    """Every component uninstalled comes back through a setup.sh profile and is checked at
    4.16.09 (the old master's PostgreSQL pair components excepted: decommissioned)."""
    nodes = _nodes(case)
    for h, chain in chains(plan_of(case)):
        acts = [s.action for s in chain]
        gone = {a[10:] for a in acts if a.startswith("uninstall_") and a[10:] in SERVICES}
        if "uninstall_edge_gateway" in acts:
            gone |= nodes[h].components & EDGE_JAVA
        if nodes[h].postgres == "master":
            gone -= {"ps", "pg"}
        if not gone:
            continue
        profiles = [a[6:] for a in acts if a[6:] in PROFILES and a.startswith("setup_")]
        assert gone <= set().union(*(PROFILES[p] for p in profiles)), (h, acts)
        check = [s for s in chain if s.action == "check_back"]
        assert check and check[-1].fact == "apigee-version-back"
        assert set(check[-1].fact_args["packages"]) == {SERVICES[c] for c in gone}


def test_postgres_section_3_order(case):
    plan = plan_of(case)
    if "rb_postgres" not in plan.wave_names():
        return
    labels = [b.label for b in plan.wave("rb_postgres").batches]
    order = ["spare up", "uuids", "fence", "promote spare", "config", "allow replication",
             "register new master", "start new master's postgres server", "standby back",
             "check replication", "register the pair", "old master"]
    assert [x for x in labels if x in order] == order
    nodes = _nodes(case)
    om = next(n.name for n in nodes.values() if n.postgres == "master")
    for _, _, s in plan.iter_steps():         # the fenced old master is never revived
        if s.host == om:
            assert s.action not in ("start_pg", "start_ps", "status_or_start")
            assert "apigee-all start" not in s.command


def test_firewall_rules_added_are_deleted(case):
    for _, chain in chains(plan_of(case)):
        added = [s.command.split(" -A INPUT ", 1)[1] for s in chain if " -A INPUT " in s.command]
        for rule in added:
            assert any(s.command.endswith(f"-D INPUT {rule}") for s in chain)


def test_one_node_per_dc_at_a_time_in_node_waves(case):
    nodes = _nodes(case)
    for w in plan_of(case).waves:
        if w.name.startswith("rb_") and w.name not in ("rb_postgres", "rb_restore", "rb_check"):
            for b in w.batches:
                if not b.is_gate:
                    dcs = [nodes[h].dc for h in b.hosts()]
                    assert len(dcs) == len(set(dcs))


def test_inferred_steps_are_marked_in_the_dry_run_and_json_round_trips(case):
    plan = plan_of(case)
    text = render_table(plan)
    n = sum(1 for _, _, s in plan.iter_steps() if s.basis == "I")
    assert text.count("inferred — verify with vendor support") == n
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.digest() == plan.digest()
    text = plan.dumps()                  # secrets by name only: prompts and silent reads
    assert "apigeepassword=" not in text and "-u " not in text and "curl -u" not in text
    assert plan.mode == "rollback" and plan.target == "4.16.09"


def test_registrations_name_the_spare_and_the_old_standby(case):
    plan = plan_of(case)
    if "rb_postgres" not in plan.wave_names():
        return
    http = [s for b in plan.wave("rb_postgres").batches for s in b.steps if s.kind == HTTP]
    adds = [s.request.url for s in http if s.request.method == "POST"]
    assert any("servers?uuid=${ns_pg_uuid},${os_pg_uuid_new}&type=postgres-server" in u
               for u in adds)
    assert any("datastores?uuid=${ns_pg_uuid},${os_pg_uuid_new}" in u for u in adds)
    assert any(s.request.method == "DELETE" and s.request.url.endswith("/v1/servers/${om_pg_uuid}")
               for s in http)
