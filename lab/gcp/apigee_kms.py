"""Apigee (organizations, instances, attachments, environments, operations) and Cloud KMS.

Handlers take (world, path match, query, body) and return (HTTP status, JSON). They refuse
what the real APIs refuse, with the same kind of status, so the runner's guards can be
tested against a server that would otherwise let the mistake through or fail late.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
import time
import uuid
from typing import Any

from lab.gcp.world import ApiError, Op, World, net

INSTANCE_RE = re.compile(r"^[a-z][a-z\-\d]{0,30}[a-z\d]$")
MAX_INSTANCES = 10
KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
Result = tuple[int, Any]


def _org(w: World, org: str) -> None:
    if org != w.project:
        raise ApiError(403, f"Permission denied on resource organizations/{org} "
                            f"(or it may not exist)")


def apigee_op_json(op: Op) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": op.name,
        "metadata": {"@type": "type.googleapis.com/google.cloud.apigee.v1.OperationMetadata",
                     "operationType": op.op_type, "targetResourceName": op.target,
                     "state": "FINISHED" if op.done else "IN_PROGRESS"},
        "done": op.done}
    if op.done and op.error:
        out["error"] = {"code": op.error.code, "message": op.error.message,
                        "status": op.error.status}
    elif op.done:
        out["response"] = op.response or {}
    if not op.done:
        out.pop("done")       # the real API omits done while running
    return out


def get_org(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _org(w, m["org"])
    out: dict[str, Any] = {"name": w.project, "projectId": w.project, "billingType": w.billing_type,
           "subscriptionType": "TRIAL" if w.billing_type == "EVALUATION" else "PAID",
           "runtimeType": w.runtime_type, "state": "ACTIVE",
           "environments": list(w.environments)}
    if w.disable_vpc_peering:
        out["disableVpcPeering"] = True
    elif w.runtime_type == "CLOUD":
        out["authorizedNetwork"] = w.network
    return 200, out


def list_envs(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _org(w, m["org"])
    return 200, list(w.environments)


def get_operation(w: World, m: re.Match, q: dict, b: dict) -> Result:
    op = w.ops.get(f"organizations/{m['org']}/operations/{m['op']}")
    if op is None:
        raise ApiError(404, f"operation {m['op']} not found")
    return 200, apigee_op_json(op)


def list_instances(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _org(w, m["org"])
    return 200, w.page([dict(i) for i in w.instances.values()], q, "instances")


def get_instance(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _org(w, m["org"])
    inst = w.instances.get(m["inst"])
    if inst is None:
        raise ApiError(404, f"instance \"{m['inst']}\" not found")
    return 200, dict(inst)


def _pick_ranges(w: World, name: str, body: dict) -> str:
    """Check an explicit ipRange, or take free /22 and /28 blocks of the peered ranges."""
    peered: list[tuple[str, ipaddress.IPv4Network]] = []
    for r in (w.connection or {}).get("reservedPeeringRanges", []):
        n = w.address_net(r)
        if n is not None:
            peered.append((r, n))
    used = w.used_nets(skip_instance=name)
    if body.get("ipRange"):
        cidrs = [c.strip() for c in body["ipRange"].split(",")]
        for c in cidrs:
            try:
                n = net(c)
            except ValueError:
                raise ApiError(400, f"invalid ipRange {c!r}") from None
            if not any(n.subnet_of(p) for _, p in peered):
                raise ApiError(400, f"ipRange {c} is not inside any range reserved for the "
                                    f"service networking peering")
            for other, u in used:
                if n.overlaps(u):
                    raise ApiError(400, f"ipRange {c} overlaps the range of instance {other}")
        return ",".join(cidrs)
    picked = []
    for prefix in (22, 28):
        for _, p in peered:
            if p.prefixlen == prefix and not any(p.overlaps(u) for _, u in used):
                picked.append(str(p))
                used.append(("", p))
                break
        else:
            raise ApiError(400, f"no free /{prefix} range in the peered network: reserve a "
                                f"/{prefix} and add it to the peering", "FAILED_PRECONDITION")
    return ",".join(picked)


def create_instance(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _org(w, m["org"])
    name, loc = b.get("name", ""), b.get("location", "")
    if not INSTANCE_RE.match(name):
        raise ApiError(400, f"instance name {name!r} must match {INSTANCE_RE.pattern}")
    if name in w.instances:
        raise ApiError(409, f"instance \"{name}\" already exists")
    if not loc:
        raise ApiError(400, "location is required")
    for other, i in w.instances.items():
        if i["location"] == loc:
            raise ApiError(400, f"organization {w.project} already has instance {other} in "
                                f"location {loc}: only one instance per region",
                           "FAILED_PRECONDITION")
    if w.billing_type == "EVALUATION" and w.instances:
        raise ApiError(400, f"evaluation organization {w.project} can have only one instance",
                       "FAILED_PRECONDITION")
    if len(w.instances) >= MAX_INSTANCES:
        raise ApiError(400, f"organization {w.project} already has {MAX_INSTANCES} instances, "
                            f"the maximum", "FAILED_PRECONDITION")
    key = b.get("diskEncryptionKeyName", "")
    km = re.match(r"^projects/[^/]+/locations/([^/]+)/keyRings/([^/]+)/cryptoKeys/([^/]+)$", key)
    if not km or (km[1], km[2], km[3]) not in w.keys:
        raise ApiError(400, f"diskEncryptionKeyName {key!r} does not name an existing key",
                       "FAILED_PRECONDITION")
    if km[1] != loc:
        raise ApiError(400, f"the disk key must be in location {loc}, not {km[1]}")
    agent = f"serviceAccount:service-{w.number}@gcp-sa-apigee.iam.gserviceaccount.com"
    bindings = w.keys[(km[1], km[2], km[3])]["policy"].get("bindings", [])
    if not any(x["role"] == KMS_ROLE and agent in x.get("members", []) for x in bindings):
        raise ApiError(400, f"the Apigee service agent lacks {KMS_ROLE} on {key}",
                       "FAILED_PRECONDITION")
    w.apigee_lock()
    tenant = hashlib.sha1(w.project.encode()).hexdigest()[:8]
    inst = {"name": name, "location": loc, "state": "CREATING", "diskEncryptionKeyName": key,
            "port": "443", "createdAt": str(int(time.time() * 1000)),
            "runtimeVersion": "1-14-0-apigee-4"}
    host: str | None = None
    if w.disable_vpc_peering:
        if b.get("ipRange"):
            raise ApiError(400, "ipRange cannot be set for an organization with VPC peering "
                                "disabled")
    else:
        inst.update(ipRange=_pick_ranges(w, name, b), peeringCidrRange="SLASH_22")
        host = str(ipaddress.ip_network(inst["ipRange"].split(",")[0]).network_address + 2)
    if b.get("consumerAcceptList"):
        inst["consumerAcceptList"] = list(b["consumerAcceptList"])
    w.instances[name] = inst
    w.attachments[name] = {}

    def done() -> dict[str, Any]:
        if host:
            inst["host"] = host
        inst.update(state="ACTIVE", serviceAttachment=f"projects/{tenant}-tp/regions/{loc}/serviceAttachments/"
                                      f"apigee-{loc}-{uuid.uuid4().hex[:4]}")
        return dict(inst)
    op = w.start_op("apigee", done, f"organizations/{w.project}/instances/{name}", "INSERT",
                    fail=w.take_op_fail())
    # The enum has no FAILED state; what a failed creation leaves is not documented: the
    # emulator takes the instance away, so a re-run creates it again.
    def forget() -> None:
        w.instances.pop(name, None)
        w.attachments.pop(name, None)
    op.on_fail = forget
    return 200, apigee_op_json(op)


def delete_instance(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _org(w, m["org"])
    name = m["inst"]
    if name not in w.instances:
        raise ApiError(404, f"instance \"{name}\" not found")
    w.apigee_lock()
    w.check_drained(w.instances[name]["location"], f"instance {name} deleted")
    previous = w.instances[name]["state"]
    w.instances[name]["state"] = "DELETING"

    def done() -> dict[str, Any]:
        before = w.served_envs()
        w.instances.pop(name, None)
        w.attachments.pop(name, None)
        w.check_unserved(before, f"instance {name} deleted")
        return {}
    op = w.start_op("apigee", done, f"organizations/{w.project}/instances/{name}", "DELETE",
                    fail=w.take_op_fail())
    op.on_fail = lambda: w.instances[name].update(state=previous)
    return 200, apigee_op_json(op)


def list_attachments(w: World, m: re.Match, q: dict, b: dict) -> Result:
    get_instance(w, m, q, b)
    atts = list(w.attachments.get(m["inst"], {}).values())
    return 200, w.page([dict(a) for a in atts], q, "attachments")


def create_attachment(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _, inst = get_instance(w, m, q, b)
    env = b.get("environment", "")
    if env not in w.environments:
        raise ApiError(404, f"environment \"{env}\" not found")
    if inst["state"] != "ACTIVE":
        raise ApiError(400, f"instance {m['inst']} is {inst['state']}, not ACTIVE",
                       "FAILED_PRECONDITION")
    atts = w.attachments.setdefault(m["inst"], {})
    if any(a["environment"] == env for a in atts.values()):
        raise ApiError(409, f"environment {env} is already attached to instance {m['inst']}")
    w.apigee_lock()

    def done() -> dict[str, Any]:
        aid = str(uuid.uuid4())
        atts[aid] = {"name": aid, "environment": env, "createdAt": str(int(time.time() * 1000))}
        return dict(atts[aid])
    op = w.start_op("apigee", done, f"organizations/{w.project}/instances/{m['inst']}",
                    "INSERT", fail=w.take_op_fail())
    return 200, apigee_op_json(op)


def delete_attachment(w: World, m: re.Match, q: dict, b: dict) -> Result:
    get_instance(w, m, q, b)
    atts = w.attachments.get(m["inst"], {})
    if m["att"] not in atts:
        raise ApiError(404, f"attachment {m['att']} not found")
    w.apigee_lock()
    env_name = atts[m["att"]]["environment"]
    w.check_drained(w.instances[m["inst"]]["location"],
                    f"{env_name} detached from {m['inst']}")

    def done() -> dict[str, Any]:
        before = w.served_envs()
        env = atts.pop(m["att"], {}).get("environment")
        w.check_unserved(before, f"{env} detached from {m['inst']}")
        return {}
    op = w.start_op("apigee", done, f"organizations/{w.project}/instances/{m['inst']}",
                    "DELETE", fail=w.take_op_fail())
    return 200, apigee_op_json(op)


# -- Cloud KMS (synchronous) ------------------------------------------------------------
def _project(w: World, project: str) -> None:
    if project not in (w.project, w.number):
        raise ApiError(403, f"Permission denied on project {project}")


def create_keyring(w: World, m: re.Match, q: dict, b: dict) -> Result:
    _project(w, m["project"])
    ring = q.get("keyRingId", "")
    if not ring:
        raise ApiError(400, "keyRingId is required")
    if (m["loc"], ring) in w.keyrings:
        raise ApiError(409, f"KeyRing projects/{m['project']}/locations/{m['loc']}/keyRings/"
                            f"{ring} already exists.")
    w.keyrings[(m["loc"], ring)] = {
        "name": f"projects/{w.project}/locations/{m['loc']}/keyRings/{ring}",
        "createTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return 200, dict(w.keyrings[(m["loc"], ring)])


def get_keyring(w: World, m: re.Match, q: dict, b: dict) -> Result:
    ring = w.keyrings.get((m["loc"], m["ring"]))
    if ring is None:
        raise ApiError(404, f"KeyRing {m['ring']} not found.")
    return 200, dict(ring)


def create_key(w: World, m: re.Match, q: dict, b: dict) -> Result:
    get_keyring(w, m, q, b)
    key = q.get("cryptoKeyId", "")
    if (m["loc"], m["ring"], key) in w.keys:
        raise ApiError(409, f"CryptoKey {key} already exists.")
    if b.get("purpose", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        raise ApiError(400, "Apigee disk keys need purpose ENCRYPT_DECRYPT")
    w.keys[(m["loc"], m["ring"], key)] = {
        "name": f"projects/{w.project}/locations/{m['loc']}/keyRings/{m['ring']}/"
                f"cryptoKeys/{key}", "purpose": "ENCRYPT_DECRYPT",
        "policy": {"version": 1, "etag": "BwAAAA==", "bindings": []}}
    return 200, {k: v for k, v in w.keys[(m["loc"], m["ring"], key)].items() if k != "policy"}


def _key(w: World, m: re.Match) -> dict[str, Any]:
    key = w.keys.get((m["loc"], m["ring"], m["key"]))
    if key is None:
        raise ApiError(404, f"CryptoKey {m['key']} not found.")
    return key


def get_key(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return 200, {k: v for k, v in _key(w, m).items() if k != "policy"}


def get_key_policy(w: World, m: re.Match, q: dict, b: dict) -> Result:
    return 200, dict(_key(w, m)["policy"])


def set_key_policy(w: World, m: re.Match, q: dict, b: dict) -> Result:
    key = _key(w, m)
    policy = b.get("policy") or {}
    if policy.get("etag") and policy["etag"] != key["policy"]["etag"]:
        raise ApiError(409, "There were concurrent policy changes. Please retry the whole "
                            "read-modify-write with exponential backoff.", "ABORTED")
    n = int(key["policy"]["etag"].strip("=").encode().hex(), 16) + 1
    key["policy"] = {"version": 1, "etag": f"Bw{n:x}==",
                     "bindings": list(policy.get("bindings") or [])}
    return 200, dict(key["policy"])
