"""Compute Engine (addresses, NEGs, backend services, templates, MIGs, autoscalers,
subnetworks, operations) and Service Networking (connections, operations).

Inserts take effect at once (so parallel reservations never get the same block) and are
undone if an injected fault fails their operation; patches take effect when their
operation finishes, like the real APIs.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Callable

from lab.gcp.lb_rules import backend_rules
from lab.gcp.world import ApiError, Op, World, net

Result = tuple[int, Any]
SELF = "https://www.googleapis.com/compute/v1"


def tail(url: str) -> str:
    i = url.find("projects/")
    return url[i:] if i >= 0 else url


def compute_op_json(w: World, op: Op) -> dict[str, Any]:
    where = f"regions/{op.region}" if op.region else "global"
    out: dict[str, Any] = {
        "kind": "compute#operation", "id": str(abs(hash(op.name)) % 10**18), "name": op.name,
        "operationType": op.op_type, "targetLink": op.target,
        "status": "DONE" if op.done else "RUNNING", "progress": 100 if op.done else 50,
        "selfLink": f"{SELF}/projects/{w.project}/{where}/operations/{op.name}"}
    if op.region:
        out["region"] = f"{SELF}/projects/{w.project}/regions/{op.region}"
    if op.done and op.error:
        out["error"] = {"errors": [{"code": op.error.reason or op.error.status,
                                    "message": op.error.message}]}
        out["httpErrorStatusCode"] = op.error.code
    return out


def _project(w: World, m: re.Match) -> None:
    if m["project"] not in (w.project, w.number):
        raise ApiError(403, f"Required 'compute.projects.get' permission for "
                            f"'projects/{m['project']}'", reason="forbidden")


def _not_found(kind: str, path: str) -> ApiError:
    return ApiError(404, f"The resource 'projects/{path}' was not found", reason="notFound")


def _insert(w: World, m: re.Match, store: dict, key: Any, body: dict, kind: str, rest: str,
            region: str | None = None, finish: Callable[[], None] | None = None) -> Result:
    """Common insert: name check, duplicate check, store now, op finishes later."""
    _project(w, m)
    name = body.get("name", "")
    if not re.match(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", name):
        raise ApiError(400, f"Invalid value for field 'resource.name': '{name}'",
                       reason="invalid")
    if "${" in json.dumps(body):
        raise ApiError(400, f"Invalid value in {kind} '{name}': unresolved placeholder",
                       reason="invalid")
    if key in store:
        raise ApiError(409, f"The resource 'projects/{w.project}/{rest}/{name}' already exists",
                       reason="alreadyExists")
    link = f"{SELF}/projects/{w.project}/{rest}/{name}"
    store[key] = {**body, "kind": f"compute#{kind}", "selfLink": link,
                  "id": str(uuid.uuid4().int % 10**18),
                  "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000-00:00")}
    if region:
        store[key]["region"] = f"{SELF}/projects/{w.project}/regions/{region}"
    op = w.start_op("compute", finish or (lambda: None), link, "insert", region,
                    fail=w.take_op_fail())
    op.on_fail = lambda: store.pop(key, None)
    return 200, compute_op_json(w, op)


def _delete(w: World, m: re.Match, store: dict, key: Any, rest: str,
            in_use: Callable[[], str | None], region: str | None = None) -> Result:
    _project(w, m)
    if key not in store:
        raise _not_found(rest, f"{w.project}/{rest}")
    user = in_use()
    if user:
        raise ApiError(400, f"The resource 'projects/{w.project}/{rest}' is already being used "
                            f"by '{user}'", reason="resourceInUseByAnotherResource")
    link = store[key]["selfLink"]
    op = w.start_op("compute", lambda: store.pop(key, None), link, "delete", region,
                    fail=w.take_op_fail())
    return 200, compute_op_json(w, op)


def _get(store: dict, key: Any, w: World, m: re.Match, rest: str) -> Result:
    _project(w, m)
    if key not in store:
        raise _not_found(rest, f"{w.project}/{rest}")
    return 200, dict(store[key])


def get_op(w: World, m: re.Match, q: dict, b: dict) -> Result:
    op = w.ops.get(m["op"])
    if op is None or op.api != "compute" or (op.region or None) != m.groupdict().get("region"):
        raise _not_found("operation", f"{w.project}/operations/{m['op']}")
    return 200, compute_op_json(w, op)


# -- addresses ---------------------------------------------------------------------------
def insert_address(w: World, m: re.Match, q: dict, b: dict) -> Result:
    b = dict(b)
    if b.get("purpose") == "VPC_PEERING" and not b.get("prefixLength"):
        raise ApiError(400, "prefixLength is required for purpose VPC_PEERING", reason="invalid")
    prefix = int(b.get("prefixLength") or 32)
    if b.get("name") in w.addresses:
        return _insert(w, m, w.addresses, b.get("name"), b, "address", "global/addresses")
    if b.get("address"):
        want = net(f"{b['address']}/{prefix}")
        for other in w.addresses:
            have = w.address_net(other)
            if have is not None and have.overlaps(want):
                raise ApiError(400, f"Invalid value for field 'resource.address': "
                                    f"'{b['address']}'. The requested range {want} overlaps "
                                    f"reserved range '{other}' ({have}).", reason="invalid")
    else:
        b["address"] = w.allocate(prefix)
    b.update(prefixLength=prefix, status="RESERVED")
    return _insert(w, m, w.addresses, b.get("name"), b, "address", "global/addresses")


def get_address(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _get(w.addresses, m["name"], w, m, f"global/addresses/{m['name']}")


def list_addresses(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _project(w, m)
    return 200, w.page([dict(a) for a in w.addresses.values()], q, "items",
                       kind="compute#addressList")


def delete_address(w: World, m: re.Match, q: dict, b: dict) -> Result:
    def in_use() -> str | None:
        if m["name"] in (w.connection or {}).get("reservedPeeringRanges", []):
            return "services/servicenetworking.googleapis.com peering"
        return None
    return _delete(w, m, w.addresses, m["name"], f"global/addresses/{m['name']}", in_use)


# -- subnetworks, NEGs -------------------------------------------------------------------
def get_subnet(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _get(w.subnets, (m["region"], m["name"]), w, m,
                f"regions/{m['region']}/subnetworks/{m['name']}")


def insert_neg(w: World, m: re.Match, q: dict, b: dict) -> Result:
    region = m["region"]
    if b.get("networkEndpointType") == "PRIVATE_SERVICE_CONNECT":
        target = b.get("pscTargetService", "")
        if not any(i.get("serviceAttachment") == target for i in w.instances.values()):
            raise ApiError(400, f"Invalid value for field 'resource.pscTargetService': "
                                f"'{target}'. No such service attachment.", reason="invalid")
    sub = (b.get("subnetwork") or "").rsplit("/", 1)[-1]
    if b.get("subnetwork") and (region, sub) not in w.subnets:
        raise _not_found("subnetwork", f"{w.project}/regions/{region}/subnetworks/{sub}")
    return _insert(w, m, w.negs, (region, b.get("name")), b, "networkEndpointGroup",
                   f"regions/{region}/networkEndpointGroups", region)


def get_neg(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _get(w.negs, (m["region"], m["name"]), w, m,
                f"regions/{m['region']}/networkEndpointGroups/{m['name']}")


def _backend_user(w: World, link_tail: str) -> str | None:
    for name, bs in w.backend_services.items():
        if any(tail(x.get("group", "")) == link_tail for x in bs.get("backends", [])):
            return f"projects/{w.project}/global/backendServices/{name}"
    return None


def delete_neg(w: World, m: re.Match, q: dict, b: dict) -> Result:
    rest = f"regions/{m['region']}/networkEndpointGroups/{m['name']}"
    if (m["region"], m["name"]) in w.negs:
        w.check_drained(m["region"], f"networkEndpointGroup {m['name']} deleted")
    return _delete(w, m, w.negs, (m["region"], m["name"]), rest,
                   lambda: _backend_user(w, f"projects/{w.project}/{rest}"), m["region"])


# -- templates, MIGs, autoscalers --------------------------------------------------------
def insert_template(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _insert(w, m, w.templates, b.get("name"), b, "instanceTemplate",
                   "global/instanceTemplates")


def get_template(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _get(w.templates, m["name"], w, m, f"global/instanceTemplates/{m['name']}")


def delete_template(w: World, m: re.Match, q: dict, b: dict) -> Result:
    def in_use() -> str | None:
        for (r, n), igm in w.igms.items():
            if tail(igm.get("instanceTemplate", "")).endswith(f"/instanceTemplates/{m['name']}"):
                return f"projects/{w.project}/regions/{r}/instanceGroupManagers/{n}"
        return None
    return _delete(w, m, w.templates, m["name"], f"global/instanceTemplates/{m['name']}", in_use)


def insert_igm(w: World, m: re.Match, q: dict, b: dict) -> Result:
    t = tail(b.get("instanceTemplate", "")).rsplit("/", 1)[-1]
    if t not in w.templates:
        raise _not_found("instanceTemplate", f"{w.project}/global/instanceTemplates/{t}")
    b = {**b, "instanceGroup": f"{SELF}/projects/{w.project}/regions/{m['region']}/"
                               f"instanceGroups/{b.get('name')}"}
    return _insert(w, m, w.igms, (m["region"], b.get("name")), b, "instanceGroupManager",
                   f"regions/{m['region']}/instanceGroupManagers", m["region"])


def get_igm(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _get(w.igms, (m["region"], m["name"]), w, m,
                f"regions/{m['region']}/instanceGroupManagers/{m['name']}")


def delete_igm(w: World, m: re.Match, q: dict, b: dict) -> Result:
    region, name = m["region"], m["name"]

    def in_use() -> str | None:
        for (r, n), a in w.autoscalers.items():
            if tail(a.get("target", "")).endswith(f"regions/{region}/instanceGroupManagers/{name}"):
                return f"projects/{w.project}/regions/{r}/autoscalers/{n}"
        return _backend_user(w, f"projects/{w.project}/regions/{region}/instanceGroups/{name}")
    if (region, name) in w.igms:
        w.check_drained(region, f"instanceGroupManager {name} deleted")
    return _delete(w, m, w.igms, (region, name),
                   f"regions/{region}/instanceGroupManagers/{name}", in_use, region)


def insert_autoscaler(w: World, m: re.Match, q: dict, b: dict) -> Result:
    t = tail(b.get("target", "")).rsplit("/", 1)[-1]
    if (m["region"], t) not in w.igms:
        raise _not_found("instanceGroupManager",
                         f"{w.project}/regions/{m['region']}/instanceGroupManagers/{t}")
    return _insert(w, m, w.autoscalers, (m["region"], b.get("name")), b, "autoscaler",
                   f"regions/{m['region']}/autoscalers", m["region"])


def get_autoscaler(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _get(w.autoscalers, (m["region"], m["name"]), w, m,
                f"regions/{m['region']}/autoscalers/{m['name']}")


def delete_autoscaler(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _delete(w, m, w.autoscalers, (m["region"], m["name"]),
                   f"regions/{m['region']}/autoscalers/{m['name']}", lambda: None, m["region"])


# -- backend services --------------------------------------------------------------------
def get_bs(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return _get(w.backend_services, m["name"], w, m, f"global/backendServices/{m['name']}")


def list_bs(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _project(w, m)
    return 200, w.page([dict(x) for x in w.backend_services.values()], q, "items",
                       kind="compute#backendServiceList")


def _group_exists(w: World, group: str) -> bool:
    g = re.search(r"regions/([^/]+)/(networkEndpointGroups|instanceGroups)/([^/]+)$", group)
    if not g:
        return False
    if g[2] == "networkEndpointGroups":
        return (g[1], g[3]) in w.negs
    return (g[1], g[3]) in w.igms


def patch_bs(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _, bs = get_bs(w, m, q, b)
    if b.get("fingerprint") and b["fingerprint"] != bs.get("fingerprint"):
        raise ApiError(412, "Invalid fingerprint: the backend service changed since it was "
                            "read", "FAILED_PRECONDITION", reason="conditionNotMet")
    for x in b.get("backends", []) or []:
        if not _group_exists(w, x.get("group", "")):
            raise ApiError(400, f"Invalid value for field 'resource.backends[].group': "
                                f"'{x.get('group')}'. The resource does not exist.",
                           reason="invalid")
    backend_rules(w, m["name"], {**bs, **{k: v for k, v in b.items() if k != "fingerprint"}})
    name = m["name"]
    if any(not o.done and o.target == bs["selfLink"] for o in w.ops.values()):
        raise ApiError(400, f"The resource 'projects/{w.project}/global/backendServices/{name}' "
                            f"is not ready", reason="resourceNotReady")

    def done() -> None:
        cur = w.backend_services[name]
        if "backends" in b:
            kept = {tail(x["group"]) for x in b["backends"] or []}
            dropped = [x["group"] for x in cur.get("backends", []) if tail(x["group"]) not in kept]
            draining = (cur.get("connectionDraining") or {}).get("drainingTimeoutSec", 0)
            for g in dropped:
                if not draining:
                    w.violations.append(f"backend {g} removed from {name} without connection "
                                        f"draining")
                w.drained[tail(g)] = (time.monotonic(), float(draining), name)
        cur.update({k: v for k, v in b.items() if k not in ("fingerprint", "selfLink", "kind")})
        cur["fingerprint"] = uuid.uuid4().hex[:12]
    link = w.backend_services[name]["selfLink"]
    op = w.start_op("compute", done, link, "patch", fail=w.take_op_fail())
    return 200, compute_op_json(w, op)


# -- Service Networking ------------------------------------------------------------------
def sn_op_json(op: Op) -> dict[str, Any]:
    out: dict[str, Any] = {"name": op.name, "metadata": {}, "done": op.done}
    if op.done and op.error:
        out["error"] = {"code": op.error.code, "message": op.error.message}
    elif op.done:
        out["response"] = op.response or {}
    return out


def get_sn_op(w: World, m: re.Match, q: dict, b: dict) -> Result:
    op = w.ops.get(f"operations/{m['op']}")
    if op is None or op.api != "servicenetworking":
        raise ApiError(404, f"Operation operations/{m['op']} not found")
    return 200, sn_op_json(op)


def _sn_network(w: World, network: str) -> None:
    """Service Networking names the network by project *number* (its discovery doc)."""
    m = re.match(r"^projects/([^/]+)/global/networks/[^/]+$", network)
    if m is None or not m[1].isdigit():
        raise ApiError(400, f"Invalid network '{network}': expected projects/{{project_number}}"
                            f"/global/networks/{{network}}", "INVALID_ARGUMENT")


def list_connections(w: World, m: re.Match, q: dict, b: dict) -> Result:
    network = q.get("network", "")
    if not network:
        raise ApiError(400, "network is required")
    _sn_network(w, network)
    c = w.connection
    if c is None or network != f"projects/{w.number}/global/networks/{w.network}":
        return 200, {}
    return 200, {"connections": [dict(c)]}


def patch_connection(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _sn_network(w, b.get("network", ""))
    if w.connection is None:
        raise ApiError(404, "no peering connection for this service and network")
    ranges = list(b.get("reservedPeeringRanges") or [])
    for r in ranges:
        a = w.addresses.get(r)
        if a is None or a.get("purpose") != "VPC_PEERING":
            raise ApiError(400, f"Allocated IP range '{r}' not found in network.",
                           "FAILED_PRECONDITION")
    old = list(w.connection.get("reservedPeeringRanges", []))
    dropped = [r for r in old if r not in ranges]
    force = str(q.get("force", "false")).lower() == "true"
    for r in dropped:
        rn = w.address_net(r)
        users = [n for n, u in w.used_nets() if rn is not None and u.subnet_of(rn)]
        if users and not force:
            raise ApiError(400, f"Cannot modify allocated ranges: range '{r}' is in use by "
                                f"{', '.join(users)}", "FAILED_PRECONDITION")

    conn = w.connection

    def done() -> dict[str, Any]:
        for r in dropped:
            w.violations.append(f"peering range {r} dropped from the service networking "
                                f"connection")
        conn["reservedPeeringRanges"] = ranges
        return dict(conn)
    op = w.start_op("servicenetworking", done, "connection", "patch", fail=w.take_op_fail())
    return 200, sn_op_json(op)
