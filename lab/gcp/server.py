"""The HTTP side of the emulator: the real URL shapes, fault injection, the call log.

Paths are those google-api-python-client sends when its ``api_endpoint`` is this server
(``http://HOST:PORT/`` for Apigee, KMS and Service Networking, ``…/compute/v1/`` for
Compute). ``/_emulator/*`` is the lab's own control surface (state, verdict, faults).
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from lab.gcp import apigee_kms as ak
from lab.gcp import compute_sn as cs
from lab.gcp.seed import seed_world
from lab.gcp.world import ApiError, World

Handler = Callable[[World, re.Match, dict, dict], tuple[int, Any]]
_O = r"/v1/organizations/(?P<org>[^/]+)"
_K = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<loc>[^/]+)/keyRings"
_C = r"/compute/v1/projects/(?P<project>[^/]+)"
_R = _C + r"/regions/(?P<region>[^/]+)"
_N = r"(?P<name>[^/]+)"

ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", _O, "apigee.organizations.get", ak.get_org),
    ("GET", _O + "/environments", "apigee.environments.list", ak.list_envs),
    ("GET", _O + "/operations/(?P<op>[^/]+)", "apigee.operations.get", ak.get_operation),
    ("GET", _O + "/instances", "apigee.instances.list", ak.list_instances),
    ("POST", _O + "/instances", "apigee.instances.create", ak.create_instance),
    ("GET", _O + "/instances/(?P<inst>[^/]+)", "apigee.instances.get", ak.get_instance),
    ("DELETE", _O + "/instances/(?P<inst>[^/]+)", "apigee.instances.delete", ak.delete_instance),
    ("GET", _O + "/instances/(?P<inst>[^/]+)/attachments", "apigee.attachments.list",
     ak.list_attachments),
    ("POST", _O + "/instances/(?P<inst>[^/]+)/attachments", "apigee.attachments.create",
     ak.create_attachment),
    ("DELETE", _O + "/instances/(?P<inst>[^/]+)/attachments/(?P<att>[^/]+)",
     "apigee.attachments.delete", ak.delete_attachment),
    ("POST", _K, "kms.keyRings.create", ak.create_keyring),
    ("GET", _K + "/(?P<ring>[^/:]+)", "kms.keyRings.get", ak.get_keyring),
    ("POST", _K + "/(?P<ring>[^/]+)/cryptoKeys", "kms.cryptoKeys.create", ak.create_key),
    ("GET", _K + "/(?P<ring>[^/]+)/cryptoKeys/(?P<key>[^/:]+)", "kms.cryptoKeys.get", ak.get_key),
    ("GET", _K + "/(?P<ring>[^/]+)/cryptoKeys/(?P<key>[^/:]+):getIamPolicy",
     "kms.cryptoKeys.getIamPolicy", ak.get_key_policy),
    ("POST", _K + "/(?P<ring>[^/]+)/cryptoKeys/(?P<key>[^/:]+):setIamPolicy",
     "kms.cryptoKeys.setIamPolicy", ak.set_key_policy),
    ("GET", _C + "/global/addresses", "compute.globalAddresses.list", cs.list_addresses),
    ("POST", _C + "/global/addresses", "compute.globalAddresses.insert", cs.insert_address),
    ("GET", _C + "/global/addresses/" + _N, "compute.globalAddresses.get", cs.get_address),
    ("DELETE", _C + "/global/addresses/" + _N, "compute.globalAddresses.delete",
     cs.delete_address),
    ("GET", _R + "/subnetworks/" + _N, "compute.subnetworks.get", cs.get_subnet),
    ("POST", _R + "/networkEndpointGroups", "compute.regionNetworkEndpointGroups.insert",
     cs.insert_neg),
    ("GET", _R + "/networkEndpointGroups/" + _N, "compute.regionNetworkEndpointGroups.get",
     cs.get_neg),
    ("DELETE", _R + "/networkEndpointGroups/" + _N,
     "compute.regionNetworkEndpointGroups.delete", cs.delete_neg),
    ("GET", _C + "/global/backendServices", "compute.backendServices.list", cs.list_bs),
    ("GET", _C + "/global/backendServices/" + _N, "compute.backendServices.get", cs.get_bs),
    ("PATCH", _C + "/global/backendServices/" + _N, "compute.backendServices.patch",
     cs.patch_bs),
    ("PUT", _C + "/global/backendServices/" + _N, "compute.backendServices.update", cs.patch_bs),
    ("POST", _C + "/global/instanceTemplates", "compute.instanceTemplates.insert",
     cs.insert_template),
    ("GET", _C + "/global/instanceTemplates/" + _N, "compute.instanceTemplates.get",
     cs.get_template),
    ("DELETE", _C + "/global/instanceTemplates/" + _N, "compute.instanceTemplates.delete",
     cs.delete_template),
    ("POST", _R + "/instanceGroupManagers", "compute.regionInstanceGroupManagers.insert",
     cs.insert_igm),
    ("GET", _R + "/instanceGroupManagers/" + _N, "compute.regionInstanceGroupManagers.get",
     cs.get_igm),
    ("DELETE", _R + "/instanceGroupManagers/" + _N,
     "compute.regionInstanceGroupManagers.delete", cs.delete_igm),
    ("POST", _R + "/autoscalers", "compute.regionAutoscalers.insert", cs.insert_autoscaler),
    ("GET", _R + "/autoscalers/" + _N, "compute.regionAutoscalers.get", cs.get_autoscaler),
    ("DELETE", _R + "/autoscalers/" + _N, "compute.regionAutoscalers.delete",
     cs.delete_autoscaler),
    ("GET", _C + "/global/operations/(?P<op>[^/]+)", "compute.globalOperations.get", cs.get_op),
    ("GET", _R + "/operations/(?P<op>[^/]+)", "compute.regionOperations.get", cs.get_op),
    ("GET", r"/v1/services/(?P<svc>[^/]+)/connections", "servicenetworking.connections.list",
     cs.list_connections),
    ("PATCH", r"/v1/services/(?P<svc>[^/]+)/connections/(?P<conn>[^/]+)",
     "servicenetworking.connections.patch", cs.patch_connection),
    ("GET", r"/v1/operations/(?P<op>[^/]+)", "servicenetworking.operations.get", cs.get_sn_op),
]
COMPILED = [(m, re.compile(p + "$"), n, h) for m, p, n, h in ROUTES]
CALL_NAMES = sorted({n for _, _, n, _ in ROUTES})
ANY_CALL = "*"                  # a fault for whatever call comes next, reads included
FAULT_CALLS = [ANY_CALL, *CALL_NAMES]


def dispatch(w: World, method: str, raw_path: str, body: dict) -> tuple[int, Any]:
    parts = urlsplit(raw_path)
    path = unquote(parts.path)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    with w.lock:
        w.tick()
        for m, rx, name, handler in COMPILED:  # noqa: B007 (used after the break)
            match = rx.match(path)
            if match and m == method:
                break
        else:
            w.calls.append({"method": method, "path": path, "call": None, "status": 404})
            return 404, ApiError(404, f"no such method: {method} {path}").to_json()
        call: dict[str, Any] = {"method": method, "path": path, "call": name, "query": query, "body": body}
        w.calls.append(call)
        try:
            fault = _take_fault(w, name)
            if fault is not None and fault.get("mode", "http") == "http":
                raise ApiError(int(fault.get("code", 500)),
                               fault.get("message") or f"injected fault on {name}")
            if fault is not None and fault.get("mode") == "operation":
                w.next_op_fail = ApiError(int(fault.get("code", 500)),
                                          fault.get("message") or f"injected failure of the "
                                                                  f"operation of {name}")
            status, out = handler(w, match, query, body)
            if fault is not None and fault.get("mode") == "lost":   # done, but the answer lost
                raise ApiError(int(fault.get("code", 503)),
                               fault.get("message") or f"injected lost answer of {name}")
        except ApiError as exc:
            status, out = exc.code, exc.to_json()
        finally:
            w.next_op_fail = None
        call["status"] = status
        return status, out


def _take_fault(w: World, call: str) -> dict[str, Any] | None:
    for f in w.faults:
        if f["call"] in (call, ANY_CALL) and f.get("times", 1) > 0:
            f["times"] = f.get("times", 1) - 1
            return f
    return None


def control(w: World, method: str, raw_path: str, body: dict) -> tuple[int, Any]:
    parts = urlsplit(raw_path)
    q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    what = parts.path[len("/_emulator/"):]
    if what == "state":
        return 200, w.state()
    if what == "verdict":
        removed = [x for x in q.get("removed", "").split(",") if x]
        return 200, w.verdict(removed)
    if what == "calls":
        with w.lock:
            return 200, list(w.calls)
    if what == "faults" and method == "POST":
        if body.get("call") not in FAULT_CALLS:
            return 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                   "message": f"unknown call; known: {', '.join(FAULT_CALLS)}"}}
        with w.lock:
            w.faults.append(dict(body))
        return 200, {"faults": w.faults}
    if what == "lock" and method == "POST":
        with w.lock:
            op = w.hold_lock(float(body.get("seconds", 10)))
        return 200, {"operation": op.name}
    if what == "seed" and method == "POST":
        with w.lock:
            seed_world(w, body)
        return 200, w.state()
    return 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": what}}


class _Handler(BaseHTTPRequestHandler):
    server: "EmulatorServer"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True       # headers and body go out in two writes: no 40 ms stall

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = None
        if body is None or not isinstance(body, dict):
            status, out = 400, ApiError(400, "Invalid JSON payload received.").to_json()
        elif self.path.startswith("/_emulator/"):
            status, out = control(self.server.world, self.command, self.path, body)
        else:
            status, out = dispatch(self.server.world, self.command, self.path, body)
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:   # keep test output clean
        pass


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], world: World) -> None:
        super().__init__(addr, _Handler)
        self.world = world


class GcpEmulator:
    """The Python API for tests: start on a free port, read state/verdict, inject faults."""

    def __init__(self, server: EmulatorServer, thread: threading.Thread) -> None:
        self.server, self.thread, self.world = server, thread, server.world

    @classmethod
    def start(cls, port: int = 0, op_seconds: float = 0.5, seed: dict[str, Any] | None = None,
              host: str = "127.0.0.1") -> "GcpEmulator":
        world = World(op_seconds=op_seconds)
        seed_world(world, seed or {})
        server = EmulatorServer((host, port), world)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="gcp-emulator", daemon=True)
        thread.start()
        return cls(server, thread)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}" if isinstance(host, str) else f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def state(self) -> dict[str, Any]:
        return self.world.state()

    def verdict(self, removed: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return self.world.verdict(removed)

    def calls(self) -> list[dict[str, Any]]:
        with self.world.lock:
            return list(self.world.calls)

    def mutating_calls(self) -> list[dict[str, Any]]:
        with self.world.lock:
            return self.world.mutating_calls()

    def fail(self, call: str, times: int = 1, code: int = 500, message: str | None = None,
             mode: str = "http") -> None:
        """Make the next `times` requests of `call` ("*": any call) fail (mode http) or
        their operation fail."""
        if call not in FAULT_CALLS:
            raise ValueError(f"unknown call {call!r}; known: {', '.join(FAULT_CALLS)}")
        with self.world.lock:
            self.world.faults.append({"call": call, "times": times, "code": code,
                                      "message": message, "mode": mode})

    def hold_lock(self, seconds: float) -> Any:
        """Another client holds the org's Apigee operation lock for `seconds`; the returned
        operation's ``done_at`` may be moved (time.monotonic()) to release it sooner."""
        with self.world.lock:
            return self.world.hold_lock(seconds)

    def __enter__(self) -> "GcpEmulator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
