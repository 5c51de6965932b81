"""Compute's rules for the backends of a global backend service, as the emulator enforces
them: what Google refuses when a MIG is added beside PSC NEGs (or without a health check)."""
from __future__ import annotations

import re
from typing import Any

from lab.gcp.world import ApiError, World


def backend_rules(w: World, name: str, bs: dict[str, Any]) -> None:
    """Compute's rules for a backend service's backends: one kind only (instance groups or
    NEGs); instance groups need a health check, PSC NEGs allow none."""
    groups = [x.get("group", "") for x in bs.get("backends") or []]
    kinds = {"instance group" if "/instanceGroups/" in g else "network endpoint group"
             for g in groups}
    if len(kinds) > 1:
        raise ApiError(400, f"Invalid value for field 'resource.backends': backend service "
                            f"'{name}' cannot mix instance group and network endpoint group "
                            f"backends.", reason="invalid")
    if "instance group" in kinds and not bs.get("healthChecks"):
        raise ApiError(400, f"Invalid value for field 'resource.healthChecks': backend service "
                            f"'{name}' with instance group backends must have a health check.",
                       reason="invalid")
    psc = [g for g in groups if "/networkEndpointGroups/" in g and (w.negs.get(
        _neg_key(g)) or {}).get("networkEndpointType") == "PRIVATE_SERVICE_CONNECT"]
    if psc and bs.get("healthChecks"):
        raise ApiError(400, f"Invalid value for field 'resource.healthChecks': backend service "
                            f"'{name}' with Private Service Connect NEG backends must not have "
                            f"a health check.", reason="invalid")


def _neg_key(group: str) -> tuple[str, str]:
    g = re.search(r"regions/([^/]+)/networkEndpointGroups/([^/]+)$", group)
    return (g[1], g[2]) if g else ("", "")
