"""The emulator answers like the real APIs: error JSON for each guard, and a verdict."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from fleet.regions.client import ApiCallError, Apis
from fleet.regions import urls

ORG = urls.org("demo-org")
KEY = "projects/demo-org/locations/{0}/keyRings/apigee-keyring-{0}/cryptoKeys/apigee-key-{0}"


def _raw(emu, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(emu.endpoint + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_second_instance_in_location_is_a_google_error(emulator) -> None:
    status, body = _raw(emulator, "POST", "/v1/organizations/demo-org/instances",
                        {"name": "other", "location": "us-central1",
                         "diskEncryptionKeyName": KEY.format("us-central1")})
    assert status == 400
    assert body["error"]["status"] == "FAILED_PRECONDITION"
    assert "already has instance apigee-us-central1" in body["error"]["message"]


def test_instance_limit_and_evaluation_org(make_emulator) -> None:
    emu = make_emulator(instances=10)
    apis = Apis(endpoint=emu.endpoint)
    with pytest.raises(ApiCallError) as exc:
        apis.call("POST", f"{ORG}/instances", {"name": "xx", "location": "us-west1",
                                               "diskEncryptionKeyName": "k"})
    assert exc.value.status == 400 and "maximum" in exc.value.message
    emu = make_emulator(billing_type="EVALUATION")
    apis = Apis(endpoint=emu.endpoint)
    with pytest.raises(ApiCallError) as exc:
        apis.call("POST", f"{ORG}/instances", {"name": "xx", "location": "us-west1"})
    assert "evaluation organization" in exc.value.message


def test_overlapping_address_is_refused_with_compute_error_shape(emulator) -> None:
    status, body = _raw(emulator, "POST", "/compute/v1/projects/demo-org/global/addresses",
                        {"name": "clash", "address": "10.8.1.0", "prefixLength": 24,
                         "purpose": "VPC_PEERING"})
    assert status == 400
    assert body["error"]["errors"][0]["reason"] == "invalid"
    assert "overlaps reserved range 'apigee-range-us-central1-22'" in body["error"]["message"]


def test_peering_patch_dropping_a_range(emulator) -> None:
    apis = Apis(endpoint=emulator.endpoint)
    url = urls.connection() + "/-?updateMask=reservedPeeringRanges"
    net = "projects/123456789012/global/networks/apigee-vpc"
    with pytest.raises(ApiCallError) as exc:          # in use by an instance: refused
        apis.call("PATCH", url + "&force=false", {"network": net,
                                                  "reservedPeeringRanges": []})
    assert "is in use by apigee-us-central1" in exc.value.message
    keep = ["apigee-range-us-central1-22", "apigee-range-us-central1-28"]
    op = apis.call("PATCH", url, {"network": net, "reservedPeeringRanges": keep})
    apis.wait(op, 5, 0.005)                            # not in use: accepted, but judged
    v = emulator.verdict()
    assert not v["ok"]
    assert v["violations"] == ["peering range google-managed-services-apigee-vpc dropped from "
                               "the service networking connection"]


def test_verdict_backend_without_draining_and_unserved_env(emulator) -> None:
    apis = Apis(endpoint=emulator.endpoint)
    bs = urls.compute("demo-org", "global/backendServices/apigee-xlb-backend")
    apis.wait(apis.call("PATCH", bs, {"backends": []}), 5, 0.005)
    apis.wait(apis.call("DELETE", urls.instance("demo-org", "apigee-us-central1")), 5, 0.005)
    v = emulator.verdict()
    assert any("removed from apigee-xlb-backend without connection draining" in x
               for x in v["violations"])
    assert any("environment prod left attached to no instance" in x for x in v["violations"])


def test_verdict_leftovers_and_in_use_errors(emulator, run_region) -> None:
    from tests.regions.conftest import PSC, spec
    assert run_region("add", emulator, spec(PSC))[0] == 0
    v = emulator.verdict(removed=["us-west1"])
    assert "instance apigee-us-west1 in us-west1" in v["leftovers"]
    assert "networkEndpointGroup us-west1/apigee-neg-us-west1" in v["leftovers"]
    status, body = _raw(emulator, "DELETE", "/compute/v1/projects/demo-org/regions/us-west1/"
                                            "networkEndpointGroups/apigee-neg-us-west1")
    assert status == 400
    assert body["error"]["errors"][0]["reason"] == "resourceInUseByAnotherResource"


def test_unknown_path_and_fault_names(emulator) -> None:
    status, body = _raw(emulator, "GET", "/v1/nothing")
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"
    with pytest.raises(ValueError):
        emulator.fail("apigee.no.such.call")


@pytest.mark.lab                   # starts the emulator in a process of its own
def test_lab_cli_start_state_verdict_stop(tmp_path: Path) -> None:
    d = tmp_path / "lab"
    root = Path(__file__).resolve().parents[2]
    py = [sys.executable, "-m", "lab.gcp"]
    out = subprocess.run([*py, "start", "--dir", str(d), "--op-seconds", "0.01"], cwd=root,
                         capture_output=True, text=True, timeout=30)
    try:
        assert out.returncode == 0, out.stderr
        endpoint = (d / "endpoint").read_text().strip()
        assert out.stdout.strip() == endpoint
        state = subprocess.run([*py, "state", "--dir", str(d)], cwd=root, capture_output=True,
                               text=True, timeout=30)
        assert "apigee-us-central1" in json.loads(state.stdout)["instances"]
        fail = subprocess.run([*py, "fail", "--dir", str(d), "apigee.instances.create"],
                              cwd=root, capture_output=True, text=True, timeout=30)
        assert fail.returncode == 0
        verdict = subprocess.run([*py, "verdict", "--dir", str(d)], cwd=root,
                                 capture_output=True, text=True, timeout=30)
        assert verdict.returncode == 0 and json.loads(verdict.stdout)["ok"]
    finally:
        stop = subprocess.run([*py, "stop", "--dir", str(d)], cwd=root, capture_output=True,
                              text=True, timeout=30)
    assert stop.returncode == 0
    assert not (d / "pid").exists()


SELF = "https://www.googleapis.com/compute/v1/projects/demo-org"
BS = "/compute/v1/projects/demo-org/global/backendServices/"


def test_org_lock_refuses_a_second_apigee_operation(emulator) -> None:
    op = emulator.hold_lock(30)
    path = "/v1/organizations/demo-org/instances/apigee-us-central1/attachments/"
    status, body = _raw(emulator, "DELETE", path + "seed-us-central1-test")
    assert status == 400 and body["error"]["status"] == "FAILED_PRECONDITION"
    assert body["error"]["message"].startswith("the resource is locked by another operation")
    import time
    op.done_at = time.monotonic()
    status, body = _raw(emulator, "DELETE", path + "seed-us-central1-test")
    assert status == 200 and body["metadata"]["operationType"] == "DELETE"


def test_lists_page(make_emulator, run_region) -> None:
    emu = make_emulator(page_size=1, environments=["prod", "test", "dev"])
    status, body = _raw(emu, "GET", "/v1/organizations/demo-org/instances/apigee-us-central1/"
                        "attachments")
    assert len(body["attachments"]) == 1 and body["nextPageToken"] == "1"
    apis = Apis(endpoint=emu.endpoint)
    assert len(apis.list(f"{ORG}/instances/apigee-us-central1/attachments",
                         "attachments")) == 3
    status, body = _raw(emu, "GET", "/compute/v1/projects/demo-org/global/addresses")
    assert len(body["items"]) == 1 and "nextPageToken" in body
    from tests.regions.conftest import PSC, spec
    rc, out, _ = run_region("add", emu, spec(PSC))          # every list read through pages
    assert rc == 0, out
    assert emu.state()["attachments"]["apigee-us-west1"] == ["dev", "prod", "test"]
    rc, out, _ = run_region("remove", emu, spec(PSC))
    assert rc == 0, out
    assert emu.verdict(removed=["us-west1"])["ok"]


def test_peering_network_is_named_by_project_number(emulator) -> None:
    base = "/v1/services/servicenetworking.googleapis.com/connections?network="
    status, body = _raw(emulator, "GET", base + "projects/demo-org/global/networks/apigee-vpc")
    assert status == 400 and "project_number" in body["error"]["message"]
    status, body = _raw(emulator, "GET",
                        base + "projects/123456789012/global/networks/apigee-vpc")
    assert status == 200 and body["connections"]


def test_failed_creation_leaves_no_invented_state(emulator, run_region) -> None:
    from tests.regions.conftest import PSC, spec
    emulator.fail("apigee.instances.create", mode="operation", code=400, message="no capacity")
    rc, out, _ = run_region("add", emulator, spec(PSC))
    assert rc == 1 and "no capacity" in out
    states = {i["state"] for i in emulator.state()["instances"].values()}
    assert states <= {"CREATING", "ACTIVE", "DELETING", "UPDATING"}
    assert "apigee-us-west1" not in emulator.state()["instances"]


def test_backend_kinds_health_check_and_named_port(emulator) -> None:
    w = emulator.world
    group = f"{SELF}/regions/europe-west3/instanceGroups/m"
    w.igms[("europe-west3", "m")] = {"name": "m", "namedPorts": [{"name": "http", "port": 80}],
                                     "selfLink": group}
    psc = w.backend_services["apigee-xlb-backend"]["backends"]
    status, body = _raw(emulator, "PATCH", BS + "apigee-xlb-backend",
                        {"backends": psc + [{"group": group}]})
    assert status == 400 and "cannot mix instance group and network endpoint group" \
        in body["error"]["message"]
    status, body = _raw(emulator, "PATCH", BS + "apigee-xlb-backend",
                        {"backends": [{"group": group}]})
    assert status == 400 and "must have a health check" in body["error"]["message"]
    status, body = _raw(emulator, "PATCH", BS + "apigee-xlb-backend",
                        {"healthChecks": [f"{SELF}/global/healthChecks/hc"]})
    assert status == 400 and "must not have a health check" in body["error"]["message"]
    status, _ = _raw(emulator, "PATCH", BS + "apigee-mig-backend",
                     {"backends": [{"group": group}]})
    assert status == 200
    import time
    time.sleep(0.05)                                        # the patch's operation is done
    v = emulator.verdict()                                  # group serves http, service https
    assert f"backend {group} of apigee-mig-backend has no named port 'https'" in v["problems"]
