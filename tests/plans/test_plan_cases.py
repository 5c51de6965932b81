"""Every rule of procedure.md asserted on plans: golden cases as data files, invariants
over all of them, and the inventories that must be refused."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fleet.components import EDGE_JAVA
from fleet.errors import InputError
from fleet.model import Plan
from tests.plans.summary import CODES, assert_golden, chains, nodes_of, plan_of, summarize

HERE = Path(__file__).parent
CASES = sorted((HERE / "cases").glob("*.yaml"))
BAD = yaml.safe_load((HERE / "bad_inventories.yaml").read_text())


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(params=CASES, ids=[p.stem for p in CASES])
def case(request) -> dict:
    return {**load(request.param), "file": request.param.stem}


def update_steps(plan: Plan):
    for wi, w in enumerate(plan.waves):
        for bi, b in enumerate(w.batches):
            for s in b.steps:
                m = CODES.search(s.command)
                if s.action == "update" and m:
                    yield wi, bi, w.name, s, m.group(1).split(",")


def test_case_matches_its_golden_plan(case):
    assert summarize(plan_of(case)) == case["expect"]


def test_case_matches_its_golden_commands(case):
    """The exact command of every step; regenerate with `python -m tests.plans.regen`."""
    assert_golden(HERE / "golden", case["file"], plan_of(case), "tests.plans.regen")


def test_every_golden_file_has_its_case():
    cases = {p.stem for p in CASES if "error" not in load(p)}
    assert {p.stem for p in (HERE / "golden").glob("*.txt")} == cases


def test_every_component_updated_exactly_once(case):
    plan = plan_of(case)
    got: dict[str, list[str]] = {}
    nodes = {n.name: n for n in nodes_of(case)}
    for _, _, _, s, codes in update_steps(plan):
        for code in codes:
            comps = nodes[s.host].components & EDGE_JAVA if code == "edge" else {code}
            got.setdefault(s.host, []).extend(sorted(comps))
    for name, node in nodes.items():
        if node.postgres == "rollback_standby":
            assert name not in got, "the rollback standby must stay on the old version"
            continue
        assert sorted(got.get(name, [])) == sorted(node.components), name


def test_datastore_first_everywhere(case):
    steps = list(update_steps(plan_of(case)))
    last_cs = max(((wi, bi) for wi, bi, w, _, c in steps if set(c) & {"cs", "zk"}), default=None)
    first_other = min(((wi, bi) for wi, bi, w, _, c in steps if not set(c) & {"cs", "zk"}),
                      default=None)
    if last_cs and first_other:
        assert last_cs < first_other


def test_firewall_rules_are_deleted_exactly_never_flushed(case):
    plan = plan_of(case)
    for w in plan.waves:
        for b in w.batches:
            for host in b.hosts():
                added = []
                for s in b.chain(host):
                    assert "iptables -F" not in s.command
                    m = re.search(r"iptables -([AD]) (.*)$", s.command)
                    if m and m.group(1) == "A":
                        added.append(m.group(2))
                        assert any(u.command.endswith(f"-D {m.group(2)}") for u in s.on_failure) \
                            or any(x.command.endswith(f"-D {m.group(2)}") for x in b.chain(host))
                    elif m:
                        assert m.group(2) in added, "a -D must remove a rule this chain added"


def test_db_upgrade_only_on_the_master_after_its_ps_update(case):
    plan = plan_of(case)
    nodes = {n.name: n for n in nodes_of(case)}
    seen_ps = set()
    for _, _, s in plan.iter_steps():
        if s.action == "update" and "-c ps " in s.command:
            seen_ps.add(s.host)
        if s.action == "db_upgrade":
            assert nodes[s.host].postgres in ("master", None)
            assert s.host in seen_ps
    standby = next((n for n in nodes.values() if n.postgres == "standby"), None)
    if standby:
        order = [s.host for _, _, s in plan.iter_steps() if "-c ps " in s.command]
        assert order.index(standby.name) > order.index(
            next(n.name for n in nodes.values() if n.postgres == "master"))


def test_qpid_one_broker_per_dc_at_a_time(case):
    plan = plan_of(case)
    nodes = {n.name: n for n in nodes_of(case)}
    if "qpid" not in plan.wave_names():
        return
    for b in plan.wave("qpid").batches:
        if b.label == "gate":
            continue
        dcs = [nodes[h].dc for h in b.hosts()]
        assert len(dcs) == len(set(dcs))


def test_zero_downtime_datastore_batches_keep_quorum(case):
    if case.get("mode") != "zero-downtime":
        return
    plan = plan_of(case)
    nodes = {n.name: n for n in nodes_of(case)}
    voters = [n for n in nodes.values() if "zk" in n.components and not n.observer]
    for b in plan.wave("cs_zk").batches:
        if b.label == "gate":
            continue
        cs_dcs = [nodes[h].dc for h in b.hosts() if "cs" in nodes[h].components]
        assert len(cs_dcs) == len(set(cs_dcs)), "two Cassandra nodes of one DC down at once"
        down = [h for h in b.hosts() if nodes[h] in voters]
        assert len(voters) - len(down) > len(voters) // 2, "ZooKeeper majority lost"


def test_zero_downtime_routers_leave_and_rejoin(case):
    if case.get("mode") != "zero-downtime":
        return
    for _, chain in chains(plan_of(case)):
        actions = [s.action for s in chain]
        if "router_block" in actions:
            assert actions.index("router_block") < actions.index("update") \
                < actions.index("router_ready") < actions.index("router_unblock")
        if "mp_unreachable" in actions:
            assert actions.index("mp_unreachable") < actions.index("update") \
                < actions.index("mp_ready") < actions.index("mp_reachable")


def test_plan_json_round_trip_and_no_secret(case):
    plan = plan_of(case)
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.digest() == plan.digest()
    text = plan.dumps()
    assert "apigeepassword=" not in text
    assert all(s.command and s.kind in ("shell", "check", "poll", "http", "pause")
               for _, _, s in plan.iter_steps())


@pytest.mark.parametrize("bad", BAD, ids=[b["name"] for b in BAD])
def test_bad_inventory_is_refused(bad):
    with pytest.raises(InputError) as err:
        plan_of(bad)
    assert bad["error"] in str(err.value)
