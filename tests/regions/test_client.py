"""Planned URLs map back to the right discovery methods, with typed query parameters."""
from __future__ import annotations

from pathlib import Path

import yaml

from fleet.regions.client import Apis
from fleet.regions.inputs import load, parse
from fleet.regions.planner import plan_add, plan_remove
from fleet.regions.snapshot import OrgState

DATA = Path(__file__).parent / "data"
EXPECTED = {
    "kms_keyring_create": "cloudkms.projects.locations.keyRings.create",
    "kms_key_create": "cloudkms.projects.locations.keyRings.cryptoKeys.create",
    "kms_iam_bind": "cloudkms.projects.locations.keyRings.cryptoKeys.setIamPolicy",
    "address_create": "compute.globalAddresses.insert",
    "peering_update": "servicenetworking.services.connections.patch",
    "instance_create": "apigee.organizations.instances.create",
    "attach_env": "apigee.organizations.instances.attachments.create",
    "neg_create": "compute.regionNetworkEndpointGroups.insert",
    "template_create": "compute.instanceTemplates.insert",
    "mig_create": "compute.regionInstanceGroupManagers.insert",
    "autoscaler_create": "compute.regionAutoscalers.insert",
    "backend_add": "compute.backendServices.patch",
    "drain_enable": "compute.backendServices.patch",
    "backend_remove": "compute.backendServices.patch",
    "detach_env": "apigee.organizations.instances.attachments.delete",
    "instance_delete": "apigee.organizations.instances.delete",
    "neg_delete": "compute.regionNetworkEndpointGroups.delete",
    "autoscaler_delete": "compute.regionAutoscalers.delete",
    "mig_delete": "compute.regionInstanceGroupManagers.delete",
    "template_delete": "compute.instanceTemplates.delete",
}


def _plan(name: str, build):
    case = yaml.safe_load((DATA / name).read_text())
    return build(parse(case["inputs"]), OrgState.from_json(case["state"]))


def test_every_planned_call_resolves_to_its_discovery_method() -> None:
    apis = Apis(endpoint="http://127.0.0.1:9")         # nothing is called
    seen = set()
    example = load(Path(__file__).parents[2] / "inventory/regions/example.yaml")
    state = OrgState(org="demo-org", peering={"reservedPeeringRanges": []},
                     backend_services={"apigee-xlb-backend": {}, "apigee-mig-backend": {
                         "healthChecks": ["hc"], "portName": "https"}},
                     subnets={"us-west1/apigee-subnet": {"privateIpGoogleAccess": True},
                              "europe-west3/apigee-subnet": {"privateIpGoogleAccess": True}})
    for plan in (_plan("add_psc_explicit_cidrs.yaml", plan_add),
                 _plan("remove_psc_and_mig.yaml", plan_remove), plan_add(example, state)):
        for _, _, step in plan.iter_steps():
            if step.request is None:
                continue
            method, params = apis.resolve(step.request.method, step.request.url)
            assert method.id == EXPECTED[step.action], step.action
            seen.add(step.action)
    assert seen == set(EXPECTED)


def test_query_parameters_keep_their_type() -> None:
    apis = Apis(endpoint="http://127.0.0.1:9")
    _, params = apis.resolve("PATCH", "https://servicenetworking.googleapis.com/v1/services/"
                             "servicenetworking.googleapis.com/connections/-"
                             "?updateMask=reservedPeeringRanges&force=false")
    assert params == {"name": "services/servicenetworking.googleapis.com/connections/-",
                      "updateMask": "reservedPeeringRanges", "force": False}
    _, params = apis.resolve("GET", "https://cloudkms.googleapis.com/v1/projects/p/locations/"
                             "l/keyRings/r/cryptoKeys/k:getIamPolicy")
    assert params == {"resource": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}
