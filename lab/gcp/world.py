"""The emulated Google Cloud project: state, long-running operations, verdict.

Operations finish lazily: every request first calls ``tick()``, which applies the effect
of each operation whose time has come. No background thread is needed, and a test that
sets ``op_seconds`` to 0.05 sees the same IN_PROGRESS -> done sequence as a real run.
"""
from __future__ import annotations

import ipaddress
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable


class ApiError(Exception):
    """An error the API answers with: HTTP status + Google error JSON."""

    STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
              409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED",
              500: "INTERNAL", 503: "UNAVAILABLE"}

    def __init__(self, code: int, message: str, status: str | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or self.STATUS.get(code, "UNKNOWN")
        self.reason = reason

    def to_json(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:     # Compute's shape adds errors[] with a reason
            err["errors"] = [{"message": self.message, "domain": "global",
                              "reason": self.reason}]
        return {"error": err}


@dataclass
class Op:
    """One long-running operation; ``apply`` makes its effect and returns its response."""

    api: str                         # apigee | servicenetworking | compute
    name: str
    done_at: float
    apply: Callable[[], dict[str, Any] | None]
    target: str = ""
    op_type: str = ""
    region: str | None = None
    fail: ApiError | None = None     # an injected failure: the op ends with this error
    on_fail: Callable[[], None] | None = None   # undo what the request did at once
    done: bool = False
    response: dict[str, Any] | None = None
    error: ApiError | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def net(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr, strict=False)


class World:
    """Everything the emulator knows; guarded by one lock (requests are short)."""

    def __init__(self, op_seconds: float = 0.5) -> None:
        self.lock = threading.RLock()
        self.op_seconds = op_seconds
        self.project = "demo-org"
        self.number = "123456789012"
        self.network = "apigee-vpc"
        self.billing_type = "SUBSCRIPTION"
        self.environments: list[str] = []
        self.instances: dict[str, dict[str, Any]] = {}
        self.attachments: dict[str, dict[str, dict[str, Any]]] = {}
        self.keyrings: dict[tuple[str, str], dict[str, Any]] = {}
        self.keys: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.addresses: dict[str, dict[str, Any]] = {}
        self.connection: dict[str, Any] | None = None
        self.subnets: dict[tuple[str, str], dict[str, Any]] = {}
        self.negs: dict[tuple[str, str], dict[str, Any]] = {}
        self.backend_services: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.igms: dict[tuple[str, str], dict[str, Any]] = {}
        self.autoscalers: dict[tuple[str, str], dict[str, Any]] = {}
        self.ops: dict[str, Op] = {}
        self.violations: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.next_op_fail: ApiError | None = None   # set by a fault for this request's op
        self.runtime_type = "CLOUD"
        self.disable_vpc_peering = False
        self.page_size = 2             # list calls page (Apigee defaults to 25, Compute 500)
        self.drain_scale = 1.0         # lab time: draining of T seconds lasts T * drain_scale
        # group self-link tail -> (removed at, draining seconds, backend service)
        self.drained: dict[str, tuple[float, float, str]] = {}

    def apigee_lock(self) -> None:
        """Apigee runs one long-running operation per organization: refuse like it does,
        naming the operation that holds the lock."""
        for op in self.ops.values():
            if op.api == "apigee" and not op.done:
                verb = {"INSERT": "created", "DELETE": "deleted"}.get(op.op_type, "updated")
                raise ApiError(400, f"the resource is locked by another operation where "
                                    f"{op.target} is currently being {verb} for organization "
                                    f"{self.project} by operation: "
                                    f"{op.name.rsplit('/', 1)[-1]}", "FAILED_PRECONDITION")

    def hold_lock(self, seconds: float) -> Op:
        """Another client's Apigee operation (a console user, terraform) for `seconds`."""
        op = self.start_op("apigee", lambda: {}, f"organizations/{self.project}", "UPDATE")
        op.done_at = time.monotonic() + seconds
        return op

    def check_drained(self, region: str, what: str) -> None:
        """Serving resources of a region may go only once its backend has drained."""
        now = time.monotonic()
        for group, (removed, seconds, bs) in self.drained.items():
            need = seconds * self.drain_scale
            if f"/regions/{region}/" in group and now - removed < need:
                self.violations.append(
                    f"{what} {now - removed:.2f}s after backend {group} left {bs}: connection "
                    f"draining of {seconds:g}s needs {need:.2f}s (lab time)")

    def page(self, items: list[Any], q: dict[str, Any], key: str,
             **extra: Any) -> dict[str, Any]:
        """One page of a list, with nextPageToken while more remain."""
        start = int(q.get("pageToken") or 0)
        size = min(int(q.get("pageSize") or q.get("maxResults") or self.page_size),
                   self.page_size)
        out: dict[str, Any] = dict(extra)
        if items[start:start + size]:
            out[key] = items[start:start + size]
        if start + size < len(items):
            out["nextPageToken"] = str(start + size)
        return out

    def take_op_fail(self) -> ApiError | None:
        fail, self.next_op_fail = self.next_op_fail, None
        return fail

    # -- operations --------------------------------------------------------------------
    def start_op(self, api: str, apply: Callable[[], dict[str, Any] | None], target: str = "",
                 op_type: str = "", region: str | None = None,
                 fail: ApiError | None = None) -> Op:
        if api == "apigee":
            name = f"organizations/{self.project}/operations/{uuid.uuid4()}"
        elif api == "servicenetworking":
            name = f"operations/pssn.{uuid.uuid4().hex[:20]}"
        else:
            name = f"operation-{int(time.time() * 1000)}-{uuid.uuid4().hex[:12]}"
        op = Op(api, name, time.monotonic() + self.op_seconds, apply, target, op_type, region,
                fail)
        self.ops[name] = op
        return op

    def tick(self) -> None:
        now = time.monotonic()
        for op in list(self.ops.values()):
            if op.done or now < op.done_at:
                continue
            op.done = True
            if op.fail is not None:
                op.error = op.fail
                if op.on_fail:
                    op.on_fail()
                continue
            try:
                op.response = op.apply() or {}
            except ApiError as exc:
                op.error = exc

    # -- helpers -----------------------------------------------------------------------
    def used_nets(self, skip_instance: str = "") -> list[tuple[str, ipaddress.IPv4Network]]:
        out = []
        for name, inst in self.instances.items():
            if name == skip_instance:
                continue
            for c in (inst.get("ipRange") or "").split(","):
                if c.strip():
                    out.append((name, net(c.strip())))
        return out

    def address_net(self, name: str) -> ipaddress.IPv4Network | None:
        a = self.addresses.get(name)
        return net(f"{a['address']}/{a['prefixLength']}") if a else None

    def allocate(self, prefix: int) -> str:
        """A free block for an address reserved without an explicit IP."""
        taken = [self.address_net(n) for n in self.addresses]
        for block in ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=prefix):
            if not any(t is not None and t.overlaps(block) for t in taken):
                return str(block.network_address)
        raise ApiError(400, "No free IP range of the requested size", reason="ipSpaceExhausted")

    def served_envs(self) -> set[str]:
        return {a["environment"] for atts in self.attachments.values() for a in atts.values()}

    def check_unserved(self, before: set[str], why: str) -> None:
        for env in sorted(before - self.served_envs()):
            if env in self.environments:
                self.violations.append(f"environment {env} left attached to no instance ({why})")

    # -- views -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            self.tick()
            return {
                "project": self.project, "project_number": self.number,
                "billing_type": self.billing_type, "environments": list(self.environments),
                "instances": {n: dict(i) for n, i in self.instances.items()},
                "attachments": {n: sorted(a["environment"] for a in atts.values())
                                for n, atts in self.attachments.items()},
                "keyrings": sorted("/".join(k) for k in self.keyrings),
                "keys": {"/".join(k): v for k, v in self.keys.items()},
                "addresses": {n: dict(a) for n, a in self.addresses.items()},
                "peering_ranges": list((self.connection or {}).get("reservedPeeringRanges", [])),
                "negs": sorted("/".join(k) for k in self.negs),
                "backend_services": {n: dict(b) for n, b in self.backend_services.items()},
                "templates": sorted(self.templates),
                "igms": sorted("/".join(k) for k in self.igms),
                "autoscalers": sorted("/".join(k) for k in self.autoscalers),
                "pending_operations": sum(1 for o in self.ops.values() if not o.done),
            }

    def verdict(self, removed: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        """Violations seen so far, plus leftovers of the regions said to be removed."""
        with self.lock:
            self.tick()
            leftovers: list[str] = []
            for loc in removed:
                leftovers += [f"instance {n} in {loc}" for n, i in self.instances.items()
                              if i["location"] == loc]
                leftovers += [f"networkEndpointGroup {r}/{n}" for r, n in self.negs if r == loc]
                leftovers += [f"instanceGroupManager {r}/{n}" for r, n in self.igms if r == loc]
                leftovers += [f"autoscaler {r}/{n}" for r, n in self.autoscalers if r == loc]
                leftovers += [f"instanceTemplate {n}" for n, t in self.templates.items()
                              if (t.get("properties", {}).get("labels") or {})
                              .get("apigee-x-region") == loc]
                for bs, b in self.backend_services.items():
                    leftovers += [f"backend {g['group']} in backend service {bs}"
                                  for g in b.get("backends", [])
                                  if f"/regions/{loc}/" in g.get("group", "")]
            unserved = [e for e in self.environments if e not in self.served_envs()]
            problems = list(self.violations) + [f"leftover {x}" for x in leftovers]
            problems += self.unreachable_groups()
            problems += [f"environment {e} is attached to no instance" for e in unserved
                         if self.instances]
            return {"ok": not problems, "violations": list(self.violations),
                    "leftovers": leftovers, "unserved_environments": unserved,
                    "problems": problems}

    def unreachable_groups(self) -> list[str]:
        """Instance-group backends whose group lacks the backend service's named port: the
        load balancer would send them nothing."""
        out = []
        for name, bs in self.backend_services.items():
            port = bs.get("portName") or "http"
            for b in bs.get("backends") or []:
                g = b.get("group", "")
                parts = g.split("/regions/")[-1].split("/")
                if "/instanceGroups/" not in g or len(parts) < 3:
                    continue
                igm = self.igms.get((parts[0], parts[2])) or {}
                if port not in {p.get("name") for p in igm.get("namedPorts") or []}:
                    out.append(f"backend {g} of {name} has no named port {port!r}")
        return out

    def mutating_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] not in ("GET", "HEAD")]
