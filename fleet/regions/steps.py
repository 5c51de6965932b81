"""One function per action: check the live resource, call only if needed, wait it out.

Each returns (changed, short output). Patches are read-modify-write on the *live*
resource (peering ranges and backends are merged, never replaced by the plan's copy), so
a range or backend that appeared after planning is never dropped.
"""
from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from fleet.model import Step
from fleet.regions import urls
from fleet.regions.client import ApiCallError, Apis, OperationFailed, pause

PLACEHOLDER = re.compile(r"\$\{(instance|address):([^.}]+)(?:\.(\w+))?\}")
Result = tuple[bool, str]


class StepRefused(Exception):
    """A run-time guard stopped a step before its call."""


@dataclass
class Context:
    apis: Apis
    step: Step
    poll: Callable[[str], None]
    notify: Callable[[str], None] = lambda text: None     # retries and lock waits: shown

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.step.timeout

    @property
    def url(self) -> str:
        return self.step.request.url if self.step.request else ""

    @property
    def body(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.step.request.body)) if self.step.request else {}

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def call(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call and wait out its operation; Apigee ones one at a time per organization."""
        with self.apis.serial(method, url, self.notify):
            op = self.apis.call(method, url, body, self.notify, lock_seconds=self.left())
            return self.apis.wait(op, self.step.timeout, self.step.interval or 1.0, self.poll,
                                  self.notify)

    def get(self, url: str) -> dict[str, Any] | None:
        return self.apis.get(url, self.notify)

    def read(self, url: str) -> dict[str, Any]:
        return self.apis.call("GET", url, notify=self.notify)

    def list(self, url: str, key: str) -> list[Any]:
        return self.apis.list(url, key, self.notify)

    def create(self, url: str, body: dict[str, Any]) -> bool:
        """POST; a 409 means an earlier, retried request made it: not an error."""
        try:
            self.call("POST", url, body)
            return True
        except ApiCallError as exc:
            if exc.status != 409:
                raise
            self.notify(f"{exc.message}: taking it as created")
            return False


def _base(url: str) -> str:
    return url.split("?", 1)[0]


def _query(url: str, key: str) -> str:
    return parse_qs(urlsplit(url).query).get(key, [""])[0]


def _resolve(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Fill ${instance:NAME.field} from the live instance (its IP, its service attachment)."""
    text = json.dumps(body)
    project = re.search(r"/(?:projects|organizations)/([^/]+)", ctx.url)  # org = project id
    p = project[1] if project else ""
    cache: dict[tuple[str, str], dict[str, Any]] = {}

    def sub(m: re.Match[str]) -> str:
        kind, name, field = m[1], m[2], m[3]
        if (kind, name) not in cache:
            url = (urls.instance(p, name) if kind == "instance"
                   else urls.compute(p, f"global/addresses/{name}"))
            cache[(kind, name)] = ctx.get(url) or {}
        got = cache[(kind, name)]
        if kind == "address":
            if not got.get("address"):
                raise StepRefused(f"range {name} is not reserved")
            return f"{got['address']}/{got.get('prefixLength')}"
        if not got.get(field):
            raise StepRefused(f"instance {name} has no {field} yet (state "
                              f"{got.get('state', 'absent')})")
        return str(got[field])
    return json.loads(PLACEHOLDER.sub(sub, text))


def create_named(ctx: Context) -> Result:
    """Compute inserts (name in body) and KMS creates (id in the query): GET, else POST."""
    body = ctx.body
    rid = body.get("name") or _query(ctx.url, "keyRingId") or _query(ctx.url, "cryptoKeyId")
    if not rid:
        raise ValueError(f"no resource id in {ctx.step.command}")
    if ctx.get(f"{_base(ctx.url)}/{rid}") is not None:
        return False, f"{rid} already exists"
    ctx.create(ctx.url, _resolve(ctx, body))
    return True, f"{rid} created"


def kms_iam_bind(ctx: Context) -> Result:
    key = ctx.url.rsplit(":", 1)[0]
    policy = ctx.read(f"{key}:getIamPolicy")
    bindings = policy.setdefault("bindings", [])
    missing = 0
    for want in ctx.body["policy"]["bindings"]:
        have = next((b for b in bindings if b["role"] == want["role"]
                     and not b.get("condition")), None)
        if have is None:
            have = {"role": want["role"], "members": []}
            bindings.append(have)
        for member in want["members"]:
            if member not in have["members"]:
                have["members"].append(member)
                missing += 1
    if not missing:
        return False, "binding already present"
    ctx.call("POST", ctx.url, {"policy": policy})           # carries the etag read above
    return True, f"granted {urls.KMS_ROLE}"


def peering_update(ctx: Context) -> Result:
    body = ctx.body
    conns = ctx.read(urls.connection(body["network"])).get("connections") or []
    if not conns:
        raise StepRefused(f"no service networking connection on {body['network']}")
    live = list(conns[0].get("reservedPeeringRanges") or [])
    wanted = body["reservedPeeringRanges"]
    if all(r in live for r in wanted):
        return False, "peering already carries every range"
    merged = live + [r for r in wanted if r not in live]   # every live range is carried again
    body["reservedPeeringRanges"] = merged
    ctx.call("PATCH", ctx.url, body)
    return True, f"peering ranges now {', '.join(merged)}"


def instance_create(ctx: Context) -> Result:
    """States are the API's enum (CREATING, ACTIVE, DELETING, UPDATING): one being deleted
    is waited out and created again, one being created or updated is waited for."""
    body = ctx.body
    url = f"{ctx.url}/{body['name']}"
    inst = ctx.get(url)
    changed = False
    if inst is not None and inst.get("state") == "DELETING":
        _wait_gone(ctx, url)
        inst = None
    if inst is None:
        changed = ctx.create(ctx.url, _resolve(ctx, body))
    inst = _wait_instance(ctx, url)
    return changed, (f"{body['name']} {'created' if changed else 'exists'}: {inst['state']}, "
                     f"host {inst.get('host')}")


def _wait_instance(ctx: Context, url: str) -> dict[str, Any]:
    while True:
        inst = ctx.get(url) or {}
        state = inst.get("state", "absent")
        if state == "ACTIVE":
            return inst
        if state in ("absent", "DELETING"):
            raise OperationFailed(f"instance {url.rsplit('/', 1)[-1]} is {state}")
        if not ctx.left():
            raise OperationFailed(f"instance not ACTIVE after {ctx.step.timeout:g}s ({state})")
        ctx.poll(f"instance {state}")
        pause(ctx.step.interval or 1.0)


def _wait_gone(ctx: Context, url: str) -> None:
    while ctx.get(url) is not None:                  # Apigee: gone once the op is done
        if not ctx.left():
            raise OperationFailed(f"{url.rsplit('/', 1)[-1]} still there after "
                                  f"{ctx.step.timeout:g}s")
        ctx.poll(f"waiting for {url.rsplit('/', 1)[-1]} to be deleted")
        pause(ctx.step.interval or 1.0)


def attach_env(ctx: Context) -> Result:
    env = ctx.body["environment"]
    if any(a.get("environment") == env for a in ctx.list(ctx.url, "attachments")):
        return False, f"{env} already attached"
    if not ctx.create(ctx.url, ctx.body):
        return False, f"{env} already attached"
    return True, f"{env} attached"


def _groups(backends: list[dict[str, Any]]) -> list[str]:
    return [b.get("group", "") for b in backends]


def _patch_backends(ctx: Context, change: Callable[[dict[str, Any]], dict[str, Any] | None]
                    ) -> Result:
    """Read-modify-write with the fingerprint; retry if another region patched first."""
    for _ in range(5):
        bs = ctx.read(ctx.url)
        patch = change(bs)
        if patch is None:
            return False, "already done"
        patch["fingerprint"] = bs.get("fingerprint")
        try:
            ctx.call("PATCH", ctx.url, patch)
            return True, "patched"
        except ApiCallError as exc:
            if exc.status != 412:
                raise
    raise StepRefused("the backend service kept changing under us (412 five times)")


def backend_add(ctx: Context) -> Result:
    wanted = ctx.body["backends"]

    def change(bs: dict[str, Any]) -> dict[str, Any] | None:
        live = bs.get("backends") or []
        missing = [b for b in wanted if not any(urls.same_resource(b["group"], g)
                                                for g in _groups(live))]
        return None if not missing else {"backends": live + missing}
    changed, out = _patch_backends(ctx, change)
    return changed, "backend already in the load balancer" if not changed else \
        f"backend added to {ctx.url.rsplit('/', 1)[-1]}"


def backend_remove(ctx: Context) -> Result:
    keep = _groups(ctx.body["backends"])
    region = f"/regions/{ctx.step.host}/"

    def change(bs: dict[str, Any]) -> dict[str, Any] | None:
        draining = (bs.get("connectionDraining") or {}).get("drainingTimeoutSec", 0)
        live = bs.get("backends") or []
        gone = [b for b in live if region in b.get("group", "")
                and not any(urls.same_resource(b["group"], k) for k in keep)]
        if not gone:
            return None
        if not draining:
            raise StepRefused(f"connection draining is off on {bs.get('name')}: refusing to "
                              f"remove a backend without it (run drain_enable first)")
        return {"backends": [b for b in live if b not in gone]}
    changed, _ = _patch_backends(ctx, change)
    return changed, "backend removed" if changed else "backend already removed"


def drain_enable(ctx: Context) -> Result:
    want = ctx.body["connectionDraining"]["drainingTimeoutSec"]

    def change(bs: dict[str, Any]) -> dict[str, Any] | None:
        have = (bs.get("connectionDraining") or {}).get("drainingTimeoutSec", 0)
        return None if have >= want else {"connectionDraining": {"drainingTimeoutSec": want}}
    changed, _ = _patch_backends(ctx, change)
    return changed, f"connection draining {want}s" + ("" if changed else " already on")


def detach_env(ctx: Context) -> Result:
    inst_url, att = ctx.url.rsplit("/attachments/", 1)
    org = inst_url.split("/instances/")[0]
    if ctx.get(inst_url) is None:
        return False, "instance already gone"
    mine = next((a for a in ctx.list(f"{inst_url}/attachments", "attachments")
                 if a.get("name") == att), None)
    if mine is None:
        return False, "already detached"
    env = mine["environment"]
    others = [i["name"] for i in ctx.list(f"{org}/instances", "instances")
              if f"{org}/instances/{i['name']}" != inst_url and i.get("state") == "ACTIVE"]
    if not any(env in {a.get("environment") for a in
                       ctx.list(f"{org}/instances/{o}/attachments", "attachments")}
               for o in others):
        raise StepRefused(f"environment {env} is attached to no other ACTIVE instance: "
                          f"refusing to leave it unserved")
    ctx.call("DELETE", ctx.url)
    return True, f"{env} detached"


def delete_if_exists(ctx: Context) -> Result:
    got = ctx.get(ctx.url)
    if got is None:
        return False, "already gone"
    if got.get("state") != "DELETING":
        try:
            ctx.call("DELETE", ctx.url)
        except ApiCallError as exc:
            if exc.status != 404:                      # a retried delete that made it
                raise
    _wait_gone(ctx, ctx.url)
    return True, f"{ctx.url.rsplit('/', 1)[-1]} deleted"


ACTIONS: dict[str, Callable[[Context], Result]] = {
    "kms_keyring_create": create_named, "kms_key_create": create_named,
    "kms_iam_bind": kms_iam_bind, "address_create": create_named,
    "peering_update": peering_update, "instance_create": instance_create,
    "attach_env": attach_env, "neg_create": create_named, "template_create": create_named,
    "mig_create": create_named, "autoscaler_create": create_named,
    "backend_add": backend_add, "drain_enable": drain_enable,
    "backend_remove": backend_remove, "detach_env": detach_env,
    "instance_delete": delete_if_exists, "neg_delete": delete_if_exists,
    "autoscaler_delete": delete_if_exists, "mig_delete": delete_if_exists,
    "template_delete": delete_if_exists,
}


def run(ctx: Context) -> Result:
    fn = ACTIONS.get(ctx.step.action)
    if fn is None:
        raise ValueError(f"unknown region action {ctx.step.action!r}")
    return fn(ctx)
