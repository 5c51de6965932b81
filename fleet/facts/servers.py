"""The management API's server registrations (`GET /v1/servers?pod=…&region=…`).

Jackson-formatted JSON: a list of servers with ``uUID``, ``type`` (a list of roles),
``internalIP`` (the address the server registered, not necessarily the inventory's
hostname), ``region``, ``pod``, ``reachable``, ``isUp`` (Apigee docs, "Viewing pod
details"). A server is found by its role and the address it registered.
"""
from __future__ import annotations

import json
import socket
from typing import Any, Callable


class NoServer(ValueError):
    """No registration matches; the message says what was looked for and what exists."""


def parse(text: str) -> dict[str, Any]:
    """{"servers": [{uuid, internal_ip, types, region, pod, reachable, is_up}]}."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not JSON ({exc.msg} at line {exc.lineno})") from None
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for s in items:
        if not isinstance(s, dict):
            raise ValueError("a server entry is not a JSON object")
        t = s.get("type") or []
        out.append({"uuid": s.get("uUID"), "internal_ip": s.get("internalIP"),
                    "types": list(t) if isinstance(t, list) else [t],
                    "region": s.get("region"), "pod": s.get("pod"),
                    "reachable": s.get("reachable"), "is_up": s.get("isUp")})
    return {"servers": out}


def resolve(name: str) -> set[str]:
    """The IPv4/IPv6 addresses of a host name (empty when it does not resolve)."""
    try:
        return {str(a[4][0]) for a in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return set()


def find(text: str, role: str, address: str,
         resolver: Callable[[str], set[str]] = resolve) -> dict[str, Any]:
    """The one server of ``role`` registered at ``address`` (an IP, or a DNS name that
    resolves to the registered internalIP)."""
    servers = parse(text)["servers"]
    of_role = [s for s in servers if role in s["types"]]
    hits = [s for s in of_role if s["internal_ip"] == address]
    tried = [address]
    if not hits:
        addrs = resolver(address) - {address}
        tried += sorted(addrs)
        hits = [s for s in of_role if s["internal_ip"] in addrs]
    if not hits:
        seen = ", ".join(sorted({str(s["internal_ip"]) for s in of_role})) or "none"
        raise NoServer(f"no {role} registered at {' / '.join(tried)} (registered {role} "
                       f"addresses: {seen}); if the node registered another address, set "
                       "data.internal_ip for it in the inventory")
    return hits[0]
