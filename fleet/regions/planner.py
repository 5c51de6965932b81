"""The pure planner: inputs + the org snapshot -> a Plan whose steps are the API calls.

No I/O here, so that `--dry-run`, `--plan-out` and the planner tests see exactly the calls
a run makes. Values that exist only once an earlier step ran (the instance's service
attachment and IP, the CIDR Compute picked for a range) are written as
``${instance:NAME.field}`` / ``${address:NAME}`` and filled in by the executor from
``GET …/instances/NAME`` / ``GET …/global/addresses/NAME`` right before the call.
"""
from __future__ import annotations

from typing import Any

from fleet.model import HTTP, PAUSE, Batch, Plan, Request, Step, Wave, batch_of
from fleet.regions import urls
from fleet.regions.guards import check_add, check_remove, peering_keeps_all
from fleet.regions.inputs import RegionInput, RegionInputs
from fleet.regions.snapshot import OrgState

GLOBAL = "global"          # host of steps on org-wide resources (peering, draining)
MIG_TAGS = ["https-server", "apigee-mig-proxy", "gke-apigee-proxy"]
REGION_LABEL = "apigee-x-region"


def placeholder(instance: str, field: str) -> str:
    return "${instance:%s.%s}" % (instance, field)


def address_placeholder(name: str) -> str:
    """The CIDR of a reserved range, known once Compute has picked it."""
    return "${address:%s}" % name


class _Steps:
    """Builds http steps with the run's timeouts, so every step carries the same settings."""

    def __init__(self, op_timeout: float, poll_interval: float) -> None:
        self.op_timeout = op_timeout
        self.poll_interval = poll_interval

    def http(self, host: str, action: str, method: str, url: str,
             body: dict[str, Any] | None = None, until: str | None = None) -> Step:
        return Step(host=host, action=action, command=f"{method} {url}", kind=HTTP,
                    timeout=self.op_timeout, until=until,
                    interval=self.poll_interval if until else 0.0,
                    request=Request(method, url, dict(body or {})))


def _group(inp: RegionInputs, r: RegionInput) -> str:
    if r.routing.mode == "psc":
        return urls.self_link(inp.project,
                              f"regions/{r.location}/networkEndpointGroups/{r.routing.neg}")
    return urls.self_link(inp.project, f"regions/{r.location}/instanceGroups/{r.routing.mig}")


def backend_entry(inp: RegionInputs, r: RegionInput) -> dict[str, Any]:
    if r.routing.mode == "psc":
        return {"group": _group(inp, r)}
    return {"group": _group(inp, r), "balancingMode": "UTILIZATION",
            "maxUtilization": r.routing.max_utilization}


def _keys_chain(s: _Steps, inp: RegionInputs, r: RegionInput) -> list[Step]:
    ring = urls.keyring(inp.project, r.location)
    key = urls.keyring(inp.project, r.location, r.key_ring) + f"/cryptoKeys/{r.key}"
    binding = {"role": urls.KMS_ROLE,
               "members": [urls.APIGEE_AGENT.format(number=inp.project_number)]}
    return [
        s.http(r.location, "kms_keyring_create", "POST", f"{ring}?keyRingId={r.key_ring}", {}),
        s.http(r.location, "kms_key_create", "POST",
               urls.keyring(inp.project, r.location, r.key_ring)
               + f"/cryptoKeys?cryptoKeyId={r.key}", {"purpose": "ENCRYPT_DECRYPT"}),
        s.http(r.location, "kms_iam_bind", "POST", f"{key}:setIamPolicy",
               {"policy": {"bindings": [binding]}}),
    ]


def _address(s: _Steps, inp: RegionInputs, r: RegionInput, name: str, prefix: int,
             cidr: str | None) -> Step:
    body: dict[str, Any] = {"name": name, "purpose": "VPC_PEERING", "addressType": "INTERNAL",
                            "prefixLength": prefix,
                            "network": urls.network(inp.project, inp.network)}
    if cidr:
        body["address"] = cidr.split("/")[0]
    return s.http(r.location, "address_create", "POST",
                  urls.compute(inp.project, "global/addresses"), body, until="operation_done")


def _instance_chain(s: _Steps, inp: RegionInputs, st: OrgState, r: RegionInput) -> list[Step]:
    body: dict[str, Any] = {
        "name": r.instance, "location": r.location,
        "diskEncryptionKeyName": urls.key_path(inp.project, r.location, r.key_ring, r.key)}
    # always this region's own ranges: left to itself Apigee may take another region's
    # (without VPC peering there are none: Apigee reserves nothing in the network)
    if not st.disable_vpc_peering:
        body["ipRange"] = (f"{r.cidr22 or address_placeholder(r.range22)},"
                           f"{r.cidr28 or address_placeholder(r.range28)}")
    if r.consumer_accept_list:
        body["consumerAcceptList"] = list(r.consumer_accept_list)
    chain = [s.http(r.location, "instance_create", "POST",
                    f"{urls.org(inp.org)}/instances", body, until="instance_active")]
    for env in st.environments:
        chain.append(s.http(r.location, "attach_env", "POST",
                            f"{urls.instance(inp.org, r.instance)}/attachments",
                            {"environment": env}, until="operation_done"))
    return chain


def _routing_chain(s: _Steps, inp: RegionInputs, r: RegionInput) -> list[Step]:
    p, loc, ro = inp.project, r.location, r.routing
    subnet = f"projects/{p}/regions/{loc}/subnetworks/{ro.subnet}"
    if ro.mode == "psc":
        return [s.http(loc, "neg_create", "POST",
                       urls.compute(p, f"regions/{loc}/networkEndpointGroups"),
                       {"name": ro.neg, "networkEndpointType": "PRIVATE_SERVICE_CONNECT",
                        "pscTargetService": placeholder(r.instance, "serviceAttachment"),
                        "network": urls.network(p, inp.network), "subnetwork": subnet},
                       until="operation_done")]
    template = {
        "name": ro.template,
        "properties": {
            "machineType": ro.machine_type,
            "tags": {"items": list(MIG_TAGS)},
            "disks": [{"boot": True, "autoDelete": True, "type": "PERSISTENT",
                       "initializeParams": {"sourceImage": ro.image,
                                            "diskSizeGb": str(ro.disk_gb)}}],
            "networkInterfaces": [{"network": urls.network(p, inp.network),
                                   "subnetwork": subnet}],      # no accessConfigs: no public IP
            "metadata": {"items": [
                {"key": "ENDPOINT", "value": placeholder(r.instance, "host")},
                {"key": "startup-script-url", "value": ro.startup_script_url}]},
            "labels": {REGION_LABEL: loc}}}
    igm = {"name": ro.mig, "baseInstanceName": ro.mig,
           "instanceTemplate": urls.self_link(p, f"global/instanceTemplates/{ro.template}"),
           "targetSize": ro.target_size, "namedPorts": [{"name": "https", "port": 443}]}
    autoscaler = {"name": ro.mig,
                  "target": urls.self_link(p, f"regions/{loc}/instanceGroupManagers/{ro.mig}"),
                  "autoscalingPolicy": {"minNumReplicas": ro.target_size,
                                        "maxNumReplicas": ro.max_replicas,
                                        "cpuUtilization": {"utilizationTarget": ro.target_cpu},
                                        "coolDownPeriodSec": ro.cool_down_sec}}
    return [
        s.http(loc, "template_create", "POST", urls.compute(p, "global/instanceTemplates"),
               template, until="operation_done"),
        s.http(loc, "mig_create", "POST",
               urls.compute(p, f"regions/{loc}/instanceGroupManagers"), igm,
               until="operation_done"),
        s.http(loc, "autoscaler_create", "POST", urls.compute(p, f"regions/{loc}/autoscalers"),
               autoscaler, until="operation_done"),
    ]


def plan_add(inp: RegionInputs, st: OrgState, op_timeout: float = 3600.0,
             poll_interval: float = 10.0) -> Plan:
    """Guards first (raise before any plan exists), then every call of the spec's add steps."""
    check_add(inp, st)
    s = _Steps(op_timeout, poll_interval)
    original = st.peering_ranges()
    ranges = original + [n for r in inp.regions for n in (r.range22, r.range28)
                         if n not in original]
    assert not peering_keeps_all(original, ranges)
    peering = s.http(GLOBAL, "peering_update", "PATCH",
                     urls.connection() + "/-?updateMask=reservedPeeringRanges&force=false",
                     {"network": urls.network(inp.project_number, inp.network),
                      "reservedPeeringRanges": ranges}, until="operation_done")
    backends_by_service: dict[str, list[dict[str, Any]]] = {}
    backend_steps = []
    for r in inp.regions:
        bs = inp.backend_for(r)
        current = backends_by_service.setdefault(
            bs, list((st.backend_services.get(bs) or {}).get("backends") or []))
        entry = backend_entry(inp, r)
        if not any(urls.same_resource(b.get("group", ""), entry["group"]) for b in current):
            current.append(entry)
        backend_steps.append(s.http(r.location, "backend_add", "PATCH",
                                    urls.compute(inp.project, f"global/backendServices/{bs}"),
                                    {"backends": list(current)}, until="operation_done"))
    ranges_wave = Wave("ranges", (
        batch_of(([_address(s, inp, r, r.range22, 22, r.cidr22),
                   _address(s, inp, r, r.range28, 28, r.cidr28)] for r in inp.regions),
                 "addresses"),
        Batch((peering,), "peering")))
    waves = (
        Wave("keys", (batch_of((_keys_chain(s, inp, r) for r in inp.regions), "kms"),)),
        *(() if st.disable_vpc_peering else (ranges_wave,)),
        Wave("instances", (batch_of((_instance_chain(s, inp, st, r) for r in inp.regions),
                                    "instances"),)),
        # one backend service patch at a time: Compute refuses a patch while one is running
        Wave("routing", (batch_of((_routing_chain(s, inp, r) for r in inp.regions), "routing"),
                         *(Batch((b,), f"load-balancer {b.host}") for b in backend_steps))),
    )
    return Plan(target=f"apigee-x:{inp.org}", mode="region-add", waves=waves)


def plan_remove(inp: RegionInputs, st: OrgState, op_timeout: float = 3600.0,
                poll_interval: float = 10.0) -> Plan:
    """Drain, detach the backends, wait out draining, then delete the regions' resources."""
    check_remove(inp, st)
    s = _Steps(op_timeout, poll_interval)
    services = list(dict.fromkeys(inp.backend_for(r) for r in inp.regions))
    drain = tuple(s.http(GLOBAL, "drain_enable", "PATCH",
                         urls.compute(inp.project, f"global/backendServices/{bs}"),
                         {"connectionDraining": {"drainingTimeoutSec": inp.draining_timeout_sec}},
                         until="operation_done") for bs in services)
    detach: list[Step] = []
    remaining = {bs: list((st.backend_services.get(bs) or {}).get("backends") or [])
                 for bs in services}
    for r in inp.regions:
        bs = inp.backend_for(r)
        group = _group(inp, r)
        remaining[bs] = [b for b in remaining[bs]
                         if not urls.same_resource(b.get("group", ""), group)]
        detach.append(s.http(r.location, "backend_remove", "PATCH",
                             urls.compute(inp.project, f"global/backendServices/{bs}"),
                             {"backends": list(remaining[bs])}, until="operation_done"))
    wait = inp.drain_wait()
    pause = Step(host=GLOBAL, action="drain_wait", kind=PAUSE, timeout=wait,
                 command=f"wait {wait:g}s for connection draining")
    deletes = []
    for r in inp.regions:
        chain: list[Step] = []
        inst = urls.instance(inp.org, r.instance)
        for _env, att in sorted(st.attachments.get(r.instance, {}).items()):
            chain.append(s.http(r.location, "detach_env", "DELETE", f"{inst}/attachments/{att}",
                                until="operation_done"))
        chain.append(s.http(r.location, "instance_delete", "DELETE", inst,
                            until="operation_done"))
        p, loc, ro = inp.project, r.location, r.routing
        if ro.mode == "psc":
            chain.append(s.http(loc, "neg_delete", "DELETE",
                                urls.compute(p, f"regions/{loc}/networkEndpointGroups/{ro.neg}"),
                                until="operation_done"))
        else:
            for action, rest in (("autoscaler_delete", f"regions/{loc}/autoscalers/{ro.mig}"),
                                 ("mig_delete", f"regions/{loc}/instanceGroupManagers/{ro.mig}"),
                                 ("template_delete", f"global/instanceTemplates/{ro.template}")):
                chain.append(s.http(loc, action, "DELETE", urls.compute(p, rest),
                                    until="operation_done"))
        deletes.append(chain)
    waves = (
        Wave("drain", (Batch(drain, "connection-draining"),)),
        Wave("detach", (*(Batch((d,), f"load-balancer {d.host}") for d in detach),
                        Batch((pause,), "draining"))),
        Wave("delete", (batch_of(deletes, "regions"),)),
    )
    return Plan(target=f"apigee-x:{inp.org}", mode="region-remove", waves=waves)
