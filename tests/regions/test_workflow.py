"""Add and remove regions through the emulator over real HTTP, end to end."""
from __future__ import annotations

import json

from fleet.model import Plan
from fleet.run.journal import read_events
from tests.regions.conftest import MIG, PSC, end_state, spec

ORIGINAL_RANGES = ["google-managed-services-apigee-vpc", "apigee-range-us-central1-22",
                   "apigee-range-us-central1-28"]


def _assert_added(emu, instance: str, location: str, group: str,
                  service: str = "apigee-xlb-backend") -> None:
    s = emu.state()
    assert s["instances"][instance]["state"] == "ACTIVE"
    assert s["instances"][instance]["location"] == location
    assert sorted(s["attachments"][instance]) == sorted(s["environments"])
    for r in ORIGINAL_RANGES:
        assert r in s["peering_ranges"]
    groups = [b["group"] for b in s["backend_services"][service]["backends"]]
    assert any(g.endswith(group) for g in groups), groups
    xlb = [b["group"] for b in s["backend_services"]["apigee-xlb-backend"]["backends"]]
    assert any(g.endswith("networkEndpointGroups/apigee-neg-us-central1") for g in xlb)
    assert emu.verdict()["ok"], emu.verdict()


def test_add_psc_region(emulator, run_region) -> None:
    rc, out, err = run_region("add", emulator, spec(PSC))
    assert rc == 0, out + err
    _assert_added(emulator, "apigee-us-west1", "us-west1",
                  "regions/us-west1/networkEndpointGroups/apigee-neg-us-west1")
    s = emulator.state()
    neg = emulator.world.negs[("us-west1", "apigee-neg-us-west1")]
    assert neg["pscTargetService"] == s["instances"]["apigee-us-west1"]["serviceAttachment"]
    assert "apigee-range-us-west1-22" in s["peering_ranges"]
    assert "done (11 changed" in out


def test_add_mig_region(emulator, run_region) -> None:
    rc, out, err = run_region("add", emulator, spec(MIG))
    assert rc == 0, out + err
    _assert_added(emulator, "apigee-europe-west3", "europe-west3",
                  "regions/europe-west3/instanceGroups/apigee-mig-europe-west3",
                  "apigee-mig-backend")
    w = emulator.world
    template = w.templates["apigee-mig-europe-west3-template"]["properties"]
    host = w.instances["apigee-europe-west3"]["host"]
    assert {"key": "ENDPOINT", "value": host} in template["metadata"]["items"]
    assert template["machineType"] == "e2-medium"
    assert "accessConfigs" not in template["networkInterfaces"][0]
    igm = w.igms[("europe-west3", "apigee-mig-europe-west3")]
    assert igm["targetSize"] == 2 and igm["namedPorts"] == [{"name": "https", "port": 443}]
    policy = w.autoscalers[("europe-west3", "apigee-mig-europe-west3")]["autoscalingPolicy"]
    assert policy["maxNumReplicas"] == 3 and policy["coolDownPeriodSec"] == 90
    assert policy["cpuUtilization"]["utilizationTarget"] == 0.75
    backend = [b for b in w.backend_services["apigee-mig-backend"]["backends"]
               if "instanceGroups" in b["group"]][0]
    assert backend["balancingMode"] == "UTILIZATION" and backend["maxUtilization"] == 0.8


def test_two_regions_in_one_run_then_rerun_changes_nothing(emulator, run_region) -> None:
    rc, out, _ = run_region("add", emulator, spec(PSC, MIG))
    assert rc == 0, out
    before = end_state(emulator)
    calls = len(emulator.mutating_calls())
    rc, out, _ = run_region("add", emulator, spec(PSC, MIG))
    assert rc == 0 and "0 changed" in out
    assert len(emulator.mutating_calls()) == calls          # a finished run is a no-op
    assert end_state(emulator) == before
    # both regions' chains ran side by side in the same batches
    run = sorted((run_region.reports).iterdir())[0]
    hosts = {e["host"] for e in read_events(run) if e.get("action") == "instance_create"}
    assert hosts == {"us-west1", "europe-west3"}


def test_remove_drains_and_leaves_nothing(emulator, run_region) -> None:
    assert run_region("add", emulator, spec(PSC, MIG))[0] == 0
    added = len(emulator.mutating_calls())
    rc, out, err = run_region("remove", emulator, spec(PSC, MIG))
    assert rc == 0, out + err
    v = emulator.verdict(removed=["us-west1", "europe-west3"])
    assert v["ok"], v
    s = emulator.state()
    assert list(s["instances"]) == ["apigee-us-central1"]
    assert s["attachments"]["apigee-us-central1"] == ["prod", "test"]
    assert s["backend_services"]["apigee-xlb-backend"]["connectionDraining"] == \
        {"drainingTimeoutSec": 60}
    for r in ORIGINAL_RANGES:
        assert r in s["peering_ranges"]
    # draining first (on both backend services), then the two backend patches, the deletes
    removal = emulator.mutating_calls()[added:]
    assert [c["call"] for c in removal[:4]] == ["compute.backendServices.patch"] * 4
    assert all(c["body"]["connectionDraining"] == {"drainingTimeoutSec": 60}
               for c in removal[:2])
    assert all("backends" in c["body"] for c in removal[2:4])
    assert {c["call"] for c in removal[4:]} == {
        "apigee.attachments.delete", "apigee.instances.delete",
        "compute.regionNetworkEndpointGroups.delete", "compute.regionAutoscalers.delete",
        "compute.regionInstanceGroupManagers.delete", "compute.instanceTemplates.delete"}
    rc, out, _ = run_region("remove", emulator, spec(PSC, MIG))
    assert rc == 0 and "0 changed" in out
    assert len(emulator.mutating_calls()) == added + len(removal)


def test_journal_records_every_step(emulator, run_region) -> None:
    assert run_region("add", emulator, spec(PSC))[0] == 0
    (run,) = list(run_region.reports.iterdir())
    events = list(read_events(run))
    assert events[0]["event"] == "run_start" and events[-1]["event"] == "run_end"
    assert events[-1]["status"] == "ok"
    ends = [e for e in events if e["event"] == "step_end"]
    assert len(ends) == 11
    for e in ends:
        for k in ("key", "wave", "batch", "host", "index", "action", "command", "kind",
                  "status", "start", "end", "output", "error"):
            assert k in e, (k, e)
        assert e["status"] == "ok" and e["kind"] == "http"
    plan = Plan.from_json(json.loads((run / "plan.json").read_text()))
    assert plan.mode == "region-add"
    assert (run / "snapshot.json").exists()
    csv = (run / "steps.csv").read_text()           # the shared reports module read it
    assert "kms_keyring_create" in csv and "backend_add" in csv


def test_dry_run_and_plan_out_change_nothing(emulator, run_region, tmp_path) -> None:
    out_file = tmp_path / "plan.json"
    rc, out, _ = run_region("add", emulator, spec(PSC, MIG), "--dry-run",
                            "--plan-out", str(out_file))
    assert rc == 0
    assert "POST   https://apigee.googleapis.com/v1/organizations/demo-org/instances" in out
    assert "PATCH  https://servicenetworking.googleapis.com/v1/services/" in out
    assert emulator.mutating_calls() == []
    plan = Plan.from_json(json.loads(out_file.read_text()))
    assert [w.name for w in plan.waves] == ["keys", "ranges", "instances", "routing"]
    assert not run_region.reports.exists()


def test_no_terminal_without_yes_is_refused(emulator, run_region, tmp_path, monkeypatch) -> None:
    import io
    import yaml

    from fleet.regions.cli import main
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(spec(PSC)))
    rc = main(["add", "--spec", str(path), "--endpoint", emulator.endpoint,
               "--reports", str(tmp_path / "rep")], out=io.StringIO())
    assert rc == 2
    assert emulator.mutating_calls() == []
