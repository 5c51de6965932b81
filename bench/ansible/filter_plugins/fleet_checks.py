"""Jinja filters for the generated playbooks: the runner's own poll predicates, so that the
Ansible version waits for exactly what the runner waits for (fleet/plan/checks.py)."""
from __future__ import annotations

import os
import sys

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def _until(output: str, name: str) -> bool:
    from fleet.plan.checks import PREDICATES
    try:
        return bool(PREDICATES[name](str(output))[0])
    except ValueError:
        return False


def pick_server(servers, select: dict) -> dict:
    """tasks/http.py's _pick: the server whose fields equal ``select`` (lists: membership)."""
    if isinstance(servers, dict):
        servers = [servers]
    for s in servers or []:
        if all((want in s.get(k)) if isinstance(s.get(k), list) else str(s.get(k)) == want
               for k, want in select.items()):
            return s
    raise ValueError(f"no server with {select}")


class FilterModule:
    def filters(self):
        return {"fleet_until": _until, "fleet_pick_server": pick_server}
