"""Each guard refuses with a clear message before any change (no mutating call seen)."""
from __future__ import annotations

from pathlib import Path

import pytest

from fleet.regions.client import Apis
from fleet.regions.executor import Executor
from fleet.regions.inputs import parse
from fleet.regions.live import read_state
from fleet.regions.planner import plan_add, plan_remove
from fleet.regions.progress import PlainProgress
from fleet.model import Plan
from fleet.run.journal import Journal
from tests.regions.conftest import MIG, PSC, spec

US_CENTRAL = {"location": "us-central1", "instance": "apigee-us-central1",
              "routing": {"mode": "psc", "subnet": "apigee-subnet"}}
EU_WEST = {"location": "europe-west1", "instance": "apigee-europe-west1",
           "routing": {"mode": "psc", "subnet": "apigee-subnet"}}


def _refused(run_region, emu, command, inputs, *needles: str) -> str:
    rc, out, err = run_region(command, emu, inputs)
    assert rc == 2, out + err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    assert emu.mutating_calls() == [], emu.mutating_calls()
    return err


def test_no_eleventh_region(make_emulator, run_region) -> None:
    emu = make_emulator(instances=10)
    err = _refused(run_region, emu, "add", spec(PSC), "has 10 instance(s)",
                   "over the limit of 10 regions")
    assert err.startswith("error: refusing to add us-west1; nothing was changed")


def test_no_second_instance_in_a_location(emulator, run_region) -> None:
    second = {**US_CENTRAL, "instance": "apigee-second"}
    _refused(run_region, emulator, "add", spec(second),
             "location us-central1 already has instance apigee-us-central1")


def test_evaluation_org_gets_no_second_region(make_emulator, run_region) -> None:
    emu = make_emulator(billing_type="EVALUATION")
    _refused(run_region, emu, "add", spec(PSC), "evaluation organization")


def test_overlapping_range_is_refused(emulator, run_region) -> None:
    region = {**PSC, "cidr22": "10.8.0.0/22", "cidr28": "10.30.0.0/28"}
    _refused(run_region, emulator, "add", spec(region),
             "overlaps reserved range apigee-range-us-central1-22 (10.8.0.0/22)")


def test_ranges_overlapping_each_other_are_refused(emulator, run_region) -> None:
    a = {**PSC, "cidr22": "10.40.0.0/22", "cidr28": "10.40.8.0/28"}
    b = {**MIG, "cidr22": "10.40.4.0/22", "cidr28": "10.40.1.0/28"}
    _refused(run_region, emulator, "add", spec(a, b), "overlaps")


def test_reused_range_is_refused(emulator, run_region) -> None:
    region = {**PSC, "range22": "apigee-range-us-central1-22"}
    _refused(run_region, emulator, "add", spec(region),
             "range apigee-range-us-central1-22 (10.8.0.0/22) is already used by instance "
             "apigee-us-central1")


def test_mig_needs_private_google_access(make_emulator, run_region) -> None:
    emu = make_emulator(private_google_access_off=["europe-west3"])
    _refused(run_region, emu, "add", spec(MIG), "Private Google Access off")


def test_missing_backend_service_is_refused(emulator, run_region) -> None:
    _refused(run_region, emulator, "add", spec(PSC, backend_service="no-such-bs"),
             "backend service no-such-bs")


def test_removing_the_last_instance_is_refused(emulator, run_region) -> None:
    _refused(run_region, emulator, "remove", spec(US_CENTRAL),
             "would leave organization demo-org with no instance")


def test_removing_the_only_instance_serving_an_env_is_refused(make_emulator,
                                                               run_region) -> None:
    emu = make_emulator(instances=2)
    atts = emu.world.attachments["apigee-us-central1"]
    for aid in [a for a, v in atts.items() if v["environment"] == "test"]:
        del atts[aid]                           # `test` now lives on europe-west1 only
    _refused(run_region, emu, "remove", spec(EU_WEST),
             "environment test is attached only to apigee-europe-west1",
             "attach test to another instance first")


def test_peering_patch_keeps_every_original_range(emulator, tmp_path: Path) -> None:
    """The planned body carries all ranges; a range added after planning is kept too."""
    inp = parse({**spec(PSC), "endpoint": emulator.endpoint})
    apis = Apis(endpoint=emulator.endpoint)
    state = read_state(apis, inp)
    plan = plan_add(inp, state, op_timeout=20, poll_interval=0.01)
    (_, _, peering), = [x for x in plan.iter_steps() if x[2].action == "peering_update"]
    assert peering.request.body["reservedPeeringRanges"][:3] == state.peering_ranges()
    w = emulator.world
    with w.lock:                                 # someone adds a range meanwhile
        w.addresses["late-range"] = {**w.addresses["google-managed-services-apigee-vpc"],
                                     "name": "late-range", "address": "10.200.0.0"}
        w.connection["reservedPeeringRanges"].append("late-range")
    journal = Journal.create(tmp_path, "run", plan.dumps())
    assert Executor(apis, plan, journal, PlainProgress(open("/dev/null", "w"))).run()
    ranges = emulator.state()["peering_ranges"]
    assert "late-range" in ranges and set(state.peering_ranges()) <= set(ranges)
    assert emulator.verdict()["ok"]


def test_backend_is_never_removed_without_draining(emulator, run_region, tmp_path) -> None:
    """Even a plan without the drain step (hand-edited) stops before detaching."""
    assert run_region("add", emulator, spec(PSC))[0] == 0
    inp = parse(spec(PSC))
    apis = Apis(endpoint=emulator.endpoint)
    plan = plan_remove(inp, read_state(apis, inp), op_timeout=20, poll_interval=0.01)
    assert plan.wave_names()[0] == "drain"
    hacked = Plan(plan.target, plan.mode, plan.waves[1:])
    journal = Journal.create(tmp_path, "hacked", hacked.dumps())
    before = len(emulator.mutating_calls())
    assert not Executor(apis, hacked, journal, PlainProgress(open("/dev/null", "w"))).run()
    failed = [e for e in journal.events() if e.get("status") == "failed"]
    assert "connection draining is off" in failed[0]["error"]
    assert len(emulator.mutating_calls()) == before
    groups = [b["group"] for b in emulator.state()["backend_services"]["apigee-xlb-backend"]
              ["backends"]]
    assert any("us-west1" in g for g in groups)
    assert emulator.verdict()["ok"]


def test_detach_refuses_to_leave_env_unserved_at_run_time(make_emulator, run_region,
                                                          tmp_path) -> None:
    """The state changed after planning: the executor re-checks before each detach."""
    emu = make_emulator(instances=2)
    inp = parse(spec(EU_WEST))
    apis = Apis(endpoint=emu.endpoint)
    plan = plan_remove(inp, read_state(apis, inp), op_timeout=20, poll_interval=0.01)
    atts = emu.world.attachments["apigee-us-central1"]
    for aid in [a for a, v in atts.items() if v["environment"] == "prod"]:
        del atts[aid]
    journal = Journal.create(tmp_path, "late", plan.dumps())
    assert not Executor(apis, plan, journal, PlainProgress(open("/dev/null", "w"))).run()
    errors = [e["error"] for e in journal.events()
              if e["event"] == "step_end" and e["status"] == "failed"]
    assert any("environment prod is attached to no other ACTIVE instance" in e for e in errors)
    assert "prod" in emu.state()["attachments"]["apigee-europe-west1"]
    assert not [v for v in emu.verdict()["violations"] if "prod" in v]


@pytest.mark.parametrize("inputs,needle", [
    ({**spec(PSC), "project": "X"}, "project 'X' is invalid"),
    (spec({**PSC, "instance": "Bad_Name"}), "regions[0].instance 'Bad_Name' is invalid"),
    (spec({**PSC, "cidr22": "10.0.0.0/24"}), "must be an IPv4 /22 range"),
    (spec({**PSC, "routing": {"mode": "gke", "subnet": "s"}}), "routing.mode must be one of"),
    (spec({**PSC, "routing": {"mode": "psc"}}), "'subnet' is required"),
    (spec(PSC, PSC), "location 'us-west1' is also used by regions[0]"),
    ({**spec(PSC), "regions": []}, "at least one region is required"),
    ({**spec(PSC), "colour": "red"}, "unknown key(s) colour"),
])
def test_bad_inputs_exit_2_with_the_problem(emulator, run_region, inputs, needle) -> None:
    rc, out, err = run_region("add", emulator, inputs)
    assert rc == 2 and needle in err and "Traceback" not in err, err
    assert emulator.calls() == []


def test_mig_region_aimed_at_the_psc_backend_service_is_refused(emulator, run_region) -> None:
    """issue 13: the old example.yaml; Compute would refuse the patch last, after the
    instance, template, MIG and autoscaler were created and billing."""
    mig_into_psc = {**MIG, "routing": {"mode": "mig", "subnet": "apigee-subnet"}}
    _refused(run_region, emulator, "add", spec(PSC, mig_into_psc),
             "backend service apigee-xlb-backend would mix MIG and PSC NEG backends",
             "NEG: apigee-neg-us-central1, us-west1 (PSC, this run)",
             "backend service apigee-xlb-backend has no health check",
             "sends to named port 'http'")


def test_psc_region_aimed_at_a_service_with_a_health_check_is_refused(emulator,
                                                                      run_region) -> None:
    psc_into_mig = {**PSC, "routing": {**PSC["routing"], "backend_service": "apigee-mig-backend"}}
    _refused(run_region, emulator, "add", spec(psc_into_mig),
             "backend service apigee-mig-backend has a health check: the PSC NEG of us-west1 "
             "allows none")


def test_hybrid_org_is_refused(make_emulator, run_region) -> None:
    emu = make_emulator(runtime_type="HYBRID")
    _refused(run_region, emu, "add", spec(PSC), "has runtime type HYBRID")
    _refused(run_region, emu, "remove", spec(US_CENTRAL, EU_WEST), "has runtime type HYBRID")


def test_org_without_vpc_peering_adds_and_removes_a_psc_region(make_emulator,
                                                               run_region) -> None:
    emu = make_emulator(disable_vpc_peering=True)
    inputs = spec({**PSC, "consumer_accept_list": ["demo-org", "client-proj-1"]})
    rc, out, err = run_region("add", emu, inputs)
    assert rc == 0, out + err
    s = emu.state()
    inst = s["instances"]["apigee-us-west1"]
    assert inst["state"] == "ACTIVE" and "ipRange" not in inst
    assert inst["consumerAcceptList"] == ["demo-org", "client-proj-1"]
    assert s["addresses"] == {} and s["peering_ranges"] == []
    assert not any(c["call"].startswith(("compute.globalAddresses", "servicenetworking"))
                   for c in emu.mutating_calls())
    assert emu.verdict()["ok"], emu.verdict()
    rc, out, err = run_region("remove", emu, inputs)
    assert rc == 0, out + err
    assert emu.verdict(removed=["us-west1"])["ok"], emu.verdict(removed=["us-west1"])


def test_org_without_vpc_peering_refuses_mig_and_cidrs(make_emulator, run_region) -> None:
    emu = make_emulator(disable_vpc_peering=True)
    _refused(run_region, emu, "add", spec({**MIG, "cidr22": "10.20.0.0/22"}),
             "has VPC peering disabled: europe-west3 takes no cidr22/cidr28",
             "the MIG of europe-west3 could not reach the instance; use PSC routing")
