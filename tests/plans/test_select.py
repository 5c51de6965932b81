"""Cutting a plan down to a run: --wave, --from-wave, --dc, --hosts."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fleet.errors import InputError
from fleet.plan import Selection, select
from tests.plans.summary import nodes_of, plan_of

CASES = Path(__file__).parent / "cases"


def case(name: str) -> dict:
    return yaml.safe_load((CASES / f"{name}.yaml").read_text())


def cut(name: str, **sel):
    c = case(name)
    return select(plan_of(c), nodes_of(c), Selection(**sel))


def test_a_wave_run_starts_with_preflight_and_keeps_the_wave_whole():
    plan = cut("13-node", waves=("qpid",))
    assert plan.wave_names() == ["preflight", "qpid"]
    assert plan.wave("qpid") == plan_of(case("13-node")).wave("qpid")


def test_from_wave_runs_the_rest_in_order():
    full = plan_of(case("5-node")).wave_names()
    plan = cut("5-node", from_wave="edge")
    assert plan.wave_names() == ["preflight"] + full[full.index("edge"):]


def test_dc_filter_keeps_other_dcs_in_the_version_gate_only():
    plan = cut("12-node-2dc", waves=("ldap",), dcs=("dc-2",))
    gate, work = plan.wave("ldap").batches
    assert gate.label == "gate"
    gated = {s.host for s in gate.steps if s.action == "gate_versions"}
    assert {"m1", "m2", "m3", "m7", "m8", "m9"} <= gated      # every DC's datastore
    assert {s.host for s in gate.steps if s.action == "gate_prepared"} == {"m7"}
    assert work.hosts() == ["m7"]
    assert set(plan.wave("preflight").hosts()) == {"m7", "m8", "m9", "m10", "m11", "m12"}


def test_hosts_filter():
    plan = cut("13-node", waves=("edge",), hosts=("m6", "m10"))
    work = [b for b in plan.wave("edge").batches if b.label != "gate"]
    assert [b.hosts() for b in work] == [["m6"], ["m10"]]


@pytest.mark.parametrize("wave", ["postgres", "rollback_add", "rollback_retire"])
def test_a_filter_that_splits_the_pair_is_refused(wave):
    with pytest.raises(InputError, match="splits"):
        cut("12-node-2dc", waves=(wave,), dcs=("dc-2",) if wave == "postgres" else ("dc-1",),
            hosts=("m6",) if wave != "postgres" else ())


def test_the_pair_in_one_dc_may_be_filtered_by_that_dc():
    plan = cut("5-node", waves=("postgres",), dcs=("dc-1",))
    assert "postgres" in plan.wave_names()


def test_a_wave_with_nothing_to_do_is_named():
    with pytest.raises(InputError, match="nothing to do in this installation"):
        cut("5-node", waves=("baas_e",))


def test_a_filter_that_leaves_nothing_to_do_is_refused():
    with pytest.raises(InputError, match="leaves no host in wave.s. qpid, ldap"):
        cut("12-node-2dc", waves=("qpid", "ldap"), hosts=("m2",))
    plan = cut("12-node-2dc", waves=("qpid", "ldap"), hosts=("m2", "m4"))
    assert plan.wave_names() == ["preflight", "qpid"]


@pytest.mark.parametrize("waves, checked", [
    ((), True), (("rollback_add",), True), (("rollback_retire",), True),
    (("edge",), False), (("cs_zk", "qpid"), False)])
def test_preflight_checks_the_rollback_standby_only_when_the_run_touches_it(waves, checked):
    plan = cut("5-node", waves=waves)
    hosts = {s.host for b in plan.wave("preflight").batches for s in b.steps}
    assert ("pgr" in hosts) == checked
    assert {"m1", "m2", "m3", "m4", "m5"} <= hosts      # the installation itself always
