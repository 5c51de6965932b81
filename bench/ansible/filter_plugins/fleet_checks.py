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


def _fact(output: str, name: str, args: dict) -> bool:
    """A check step's fact (fleet.facts.CHECKS), as the runner judges it."""
    from fleet.facts import judge
    try:
        return bool(judge(name, str(output), dict(args))[0])
    except ValueError:
        return False


def pick_server(servers, select: dict) -> dict:
    """tasks/http.py's server lookup (fleet.facts.servers.find): ``uUID`` of the server of that
    type registered at that address."""
    import json
    from fleet.facts.servers import find
    found = find(json.dumps(servers), select["type"], select["internalIP"])
    return {"uUID": found["uuid"]}


class FilterModule:
    def filters(self):
        return {"fleet_until": _until, "fleet_fact": _fact, "fleet_pick_server": pick_server}
