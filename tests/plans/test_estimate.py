"""The duration model and the critical path (fleet/plan/estimate.py), as data cases, and
on the documented topologies."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fleet.model import PAUSE, Batch, Plan, Step, Wave
from fleet.plan.estimate import DEFAULTS, History, action_key, check_overrides, clock, estimate
from tests.plans.summary import plan_of

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"
CASES = yaml.safe_load((HERE / "estimate_cases.yaml").read_text())


def step_of(host: str, text: str) -> Step:
    if text.startswith("update -c "):
        return Step(host, "update", f"sudo /opt/apigee/apigee-setup/bin/update.sh "
                                    f"-c {text.split()[-1]} -f /opt/silent.conf")
    if text.startswith("pause "):
        return Step(host, "lb_wait", f"wait {text.split()[1]}s", PAUSE, timeout=float(text.split()[1]))
    return Step(host, text, f"run {text}")


def plan_from(waves: dict) -> Plan:
    return Plan("4.18.01", "maintenance", tuple(
        Wave(name, tuple(Batch(tuple(step_of(h, s) for h, chain in b.items() for s in chain))
                         for b in batches))
        for name, batches in waves.items()))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_estimate_case(case):
    history = History({k: tuple(map(float, v)) for k, v in (case.get("history") or {}).items()})
    est = estimate(plan_from(case["waves"]), history, case.get("done") or (),
                   case.get("seconds") or {}, case.get("workers"))
    assert est.total == pytest.approx(case["expect"]["total"])
    assert dict(est.waves) == pytest.approx(case["expect"]["waves"])


def test_action_key_separates_update_by_components():
    assert action_key("update", "sudo /opt/apigee/apigee-setup/bin/update.sh -c cs,zk -f /x") \
        == "update:cs,zk"
    assert action_key("update", "update.sh -c edge -f /x") == "update:edge"
    assert action_key("bootstrap", "bash /tmp/bootstrap_4.18.01.sh") == "bootstrap"


def case(name: str) -> dict:
    return yaml.safe_load((CASES_DIR / f"{name}.yaml").read_text())


def test_data_centres_side_by_side_shorten_the_window():
    """12 nodes in 2 DCs: with dcs_in_parallel (our rule) each DC's one-at-a-time edge
    batches overlap; one DC after the other costs the second DC's edge time again."""
    side = case("12-node-2dc")
    serial = dict(side, settings={"dcs_in_parallel": False})
    pa, pb = plan_of(side), plan_of(serial)
    a, b = estimate(pa), estimate(pb)
    wi = pa.wave_names().index("edge")
    assert pa.waves[wi].batches[0].label == pb.waves[wi].batches[0].label == "gate"
    edge_a, edge_b = (sum(e.batches[wi][1:]) for e in (a, b))      # the gate is once in both
    assert edge_b == pytest.approx(2 * edge_a)
    assert b.total > a.total


def test_window_is_the_sum_of_batch_critical_paths_on_a_real_topology():
    """13 nodes, our defaults: every wave is the sum of its batches, each batch its longest
    host chain, computed here independently from the plan."""
    plan = plan_of(case("13-node"))
    est = estimate(plan)
    total = 0.0
    for wave in plan.waves:
        for batch in wave.batches:
            total += max(sum(DEFAULTS.get(action_key(s.action, s.command), 60) for s in batch.chain(h))
                         for h in batch.hosts())
    assert est.total == pytest.approx(total)
    assert est.basis().endswith("from our default guesses")
    assert 2 * 3600 < est.total < 6 * 3600            # hours, not minutes or days


def test_zero_downtime_takes_longer_than_maintenance():
    a = estimate(plan_of(case("13-node"))).total
    b = estimate(plan_of(case("13-node-zero-downtime"))).total
    assert b > a


def test_overrides_are_checked():
    assert check_overrides(None) is None
    assert check_overrides({"update:edge": 1200, "bootstrap": 60}) is None
    assert "unknown action" in check_overrides({"boostrap": 60})
    assert ">= 0" in check_overrides({"bootstrap": -1})
    assert "mapping" in check_overrides([1])


def test_clock():
    assert clock(45) == "45s"
    assert clock(750) == "12m 30s"
    assert clock(3900) == "1h 05m"
