"""Read the organization's live state (GETs only) into the snapshot the guards check."""
from __future__ import annotations

from typing import Any

from fleet.regions import urls
from fleet.regions.client import Apis
from fleet.regions.inputs import RegionInputs
from fleet.regions.snapshot import OrgState


def instance_view(inst: dict[str, Any]) -> dict[str, Any]:
    return {k: inst.get(k) for k in ("location", "ipRange", "state", "host",
                                     "serviceAttachment") if inst.get(k) is not None}


def read_attachments(apis: Apis, org: str, instance: str) -> dict[str, str]:
    atts = apis.list(f"{urls.instance(org, instance)}/attachments", "attachments")
    return {a["environment"]: a["name"] for a in atts}


def read_state(apis: Apis, inp: RegionInputs) -> OrgState:
    """Everything the guards need, read before any change is made."""
    o = apis.call("GET", urls.org(inp.org))
    st = OrgState(org=inp.org, billing_type=str(o.get("billingType") or "SUBSCRIPTION"),
                  environments=sorted(o.get("environments") or []),
                  runtime_type=str(o.get("runtimeType") or "RUNTIME_TYPE_UNSPECIFIED"),
                  disable_vpc_peering=bool(o.get("disableVpcPeering")),
                  authorized_network=str(o.get("authorizedNetwork") or ""))
    for inst in apis.list(f"{urls.org(inp.org)}/instances", "instances"):
        st.instances[inst["name"]] = instance_view(inst)
        st.attachments[inst["name"]] = read_attachments(apis, inp.org, inst["name"])
    net = urls.network(inp.project_number, inp.network)
    conns = [] if st.disable_vpc_peering else \
        apis.call("GET", urls.connection(net)).get("connections") or []
    if conns:
        st.peering = {"network": conns[0].get("network"),
                      "reservedPeeringRanges": list(conns[0].get("reservedPeeringRanges") or [])}
    for a in apis.list(urls.compute(inp.project, "global/addresses"), "items"):
        st.addresses[a["name"]] = {k: a.get(k) for k in ("address", "prefixLength", "purpose",
                                                         "network")}
    for bs in dict.fromkeys(inp.backend_for(r) for r in inp.regions):
        got = apis.get(urls.compute(inp.project, f"global/backendServices/{bs}"))
        if got is not None:
            st.backend_services[bs] = {"backends": got.get("backends") or [],
                                       "connectionDraining": got.get("connectionDraining") or {},
                                       "healthChecks": got.get("healthChecks") or [],
                                       "portName": got.get("portName") or "http"}
    for r in inp.regions:
        sub = apis.get(urls.compute(inp.project,
                                    f"regions/{r.location}/subnetworks/{r.routing.subnet}"))
        if sub is not None:
            st.subnets[f"{r.location}/{r.routing.subnet}"] = {
                "privateIpGoogleAccess": bool(sub.get("privateIpGoogleAccess"))}
    return st
