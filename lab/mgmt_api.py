"""The management API on loopback: server listing, reachability, deregistration.

Served on every Management Server host at :8080 (the ``management_url`` is the first one)
and ``/v1/servers/self`` on each node's own port (router 8081, MP 8082, Qpid Server 8083,
Postgres Server 8084), with basic authentication of the system administrator.
"""
from __future__ import annotations

import asyncio
import base64
import functools
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from lab import analytics
from lab.state import Server
from lab.tables import SERVER_TYPES

if TYPE_CHECKING:
    from lab.server import LabServer

TYPES = SERVER_TYPES
SELF_PORTS = {"r": 8081, "mp": 8082, "qs": 8083, "pg": 8084}
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed"}


def server_json(lab: "LabServer", s: Server) -> dict:
    h = lab.state.hosts[s.host]
    pod, typ = TYPES[s.code]
    return {"uUID": s.uuid, "type": [typ], "region": h.dc, "pod": pod, "internalIP": h.address,
            "externalHostName": h.name, "reachable": s.reachable, "isUp": h.up(s.code),
            "tags": {"property": [{"name": "started.at", "value": "1500000000000"}]}}


class Api:
    def __init__(self, lab: "LabServer") -> None:
        self.lab = lab

    def _authorized(self, headers: dict[str, str]) -> bool:
        sec = self.lab.state.secrets
        want = base64.b64encode(f"{sec['admin_email']}:{sec['admin_password']}".encode()).decode()
        return headers.get("authorization", "") == f"Basic {want}"

    def route(self, method: str, target: str, body: str, self_of: tuple[str, str] | None) -> tuple[int, object]:
        st = self.lab.state
        url = urlsplit(target)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        if parts[:3] == ["v1", "analytics", "groups"] and self_of is None:
            return analytics.route(st, method, parts[3:], q)
        if parts[:2] != ["v1", "servers"]:
            return 404, {"code": "messaging.adaptors.http.flow.NotFound", "message": "not found"}
        if len(parts) == 2 and method == "GET":
            out = [server_json(self.lab, s) for s in st.servers.values() if s.registered
                   and ("pod" not in q or TYPES[s.code][0] == q["pod"])
                   and ("region" not in q or st.hosts[s.host].dc == q["region"])
                   and ("type" not in q or TYPES[s.code][1] == q["type"])]
            return 200, out
        if len(parts) >= 3 and parts[2] == "self":
            if self_of is None:
                return 404, {"message": "servers/self is served on the node's own port"}
            s = st.server_of(*self_of)
            if s is None or not s.registered:
                return 404, {"message": "server not registered"}
            if parts[3:] == ["reachable"]:
                return 200, s.reachable
            if parts[3:] == ["up"]:
                return 200, st.hosts[s.host].up(s.code)
            return 200, server_json(self.lab, s)
        s = st.servers.get(parts[2]) if len(parts) == 3 else None
        if s is None or not s.registered:
            return 404, {"code": "server.notfound", "message": f"Server {parts[2] if len(parts) > 2 else ''} not found"}
        if method == "GET":
            return 200, server_json(self.lab, s)
        if method == "POST":
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if "reachable" in form:
                s.reachable = form["reachable"].lower() == "true"
            return 200, server_json(self.lab, s)
        if method == "DELETE":
            if s.code == "pg":
                st.retired(st.hosts[s.host], "deregistered")
            s.registered = False
            return 200, server_json(self.lab, s)
        return 405, {"message": "method not allowed"}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     self_of: tuple[str, str] | None) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()).strip():
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0") or 0)
                body = (await reader.readexactly(n)).decode() if n else ""
                payload: Any
                if not self._authorized(headers):
                    code, payload = 401, {"code": "security.Unauthorized", "message": "Unauthorized"}
                else:
                    code, payload = self.route(method.upper(), target, body, self_of)
                data = json.dumps(payload, indent=2, separators=(",", " : ")).encode()
                close = headers.get("connection", "").lower() == "close"
                writer.write(f"HTTP/1.1 {code} {REASONS.get(code, '')}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}"
                             f"WWW-Authenticate: Basic realm=\"apigee\"\r\n\r\n".encode() + data)
                await writer.drain()
                if close:
                    break
        except (ConnectionError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def start(lab: "LabServer", fallback_address: str) -> tuple[str, list[asyncio.AbstractServer]]:
    """Listeners for the API; returns the management URL and the servers to close at stop."""
    api = Api(lab)
    servers: list[asyncio.AbstractServer] = []
    url = None
    for h in lab.state.hosts.values():
        binds: list[tuple[int, tuple[str, str] | None]] = [(8080, None)] if h.has("ms") else []
        binds += [(port, (h.name, code)) for code, port in SELF_PORTS.items() if code in h.planned]
        for port, self_of in binds:
            try:
                srv = await asyncio.start_server(
                    functools.partial(api.handle, self_of=self_of), h.address, port, reuse_address=True)
            except OSError as exc:
                lab.log(f"management API: cannot bind {h.address}:{port}: {exc}")
                continue
            servers.append(srv)
            if port == 8080 and url is None:
                url = f"http://{h.address}:8080"
    if url is None:
        srv = await asyncio.start_server(lambda r, w: api.handle(r, w, None), fallback_address, 0)
        servers.append(srv)
        url = f"http://{fallback_address}:{srv.sockets[0].getsockname()[1]}"
    return url, servers
