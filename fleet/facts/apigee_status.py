"""`apigee-all status`: which components say they are not running.

A stopped component prints ``apigee-service: edge-router: Not running (DEAD)``; a failed
run ends with ``apigee-all: Error: status failed on [edge-router]`` and a non-zero exit
status (Apigee docs, "Unable to start Edge components"). The wording of a running
component's line was not found in public material, so nothing here depends on it: a
component is "not running" only by those two forms (and the exit status tells the rest).
"""
from __future__ import annotations

import re
from typing import Any

LINE = re.compile(r"^apigee-service:\s+(?P<service>[\w.-]+):\s+(?P<state>.+?)\s*$")
SUMMARY = re.compile(r"^apigee-all:\s+Error:\s+\w+ failed on \[(?P<names>[^\]]*)\]")


def command(apigee_root: str = "/opt/apigee") -> str:
    return f"{apigee_root}/apigee-service/bin/apigee-all status"


def parse(text: str) -> dict[str, Any]:
    """{"services": {service: state text}, "not_running": [service, ...],
    "failed_on": [service, ...] or None}: ``failed_on`` is the summary line's list (it names
    every component that failed, so the others run), None without a summary."""
    services: dict[str, str] = {}
    down: list[str] = []
    failed_on: list[str] | None = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        m = LINE.match(line)
        if m:
            services[m.group("service")] = m.group("state")
            if m.group("state").lower().startswith("not running"):
                down.append(m.group("service"))
            continue
        s = SUMMARY.match(line)
        if s:
            names = [n.strip() for n in re.split(r"[,\s]+", s.group("names")) if n.strip()]
            failed_on = (failed_on or []) + names
            down += names
    return {"services": services, "not_running": list(dict.fromkeys(down)),
            "failed_on": failed_on}


def check(text: str) -> tuple[bool, str]:
    down = parse(text)["not_running"]
    return (False, "not running: " + ", ".join(down)) if down else (True, "nothing reported down")
