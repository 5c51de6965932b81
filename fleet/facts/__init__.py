"""Facts: what the runner makes of each remote command's output.

One module per command the runner interprets: the command line and a pure parser from its
output to a typed fact (JSON-able), tested on real public captures and on the lab's output
(tests/facts/). Every reader of remote output (gates, the drain, preflight, PostgreSQL
checks, management-API lookups, the audit and the reports) goes through here.

Where a change goes: a new command's output is a new module here with a pure ``parse`` (and
a ``judge`` if a step's pass/fail depends on it, registered below), plus cases in
tests/facts/KIND/ that each name the public source of the capture; where no real capture
exists, say so in the module and depend on the exit status only.
"""
from __future__ import annotations

from typing import Any, Callable

from fleet.facts import (apigee_status, apigee_version, getenforce, postgres_check, qpid_stat,
                         releases, servers)

# KIND (as `python runner.py facts KIND` takes it) -> parser of the whole output.
PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "qpid-stat": qpid_stat.parse,
    "apigee-version": apigee_version.parse,
    "apigee-status": apigee_status.parse,
    "getenforce": getenforce.parse,
    "servers": servers.parse,
    "postgres-check": postgres_check.parse,
}


def _version_check(output: str, args: dict[str, Any]) -> tuple[bool, str]:
    manifest = releases.load(args.get("releases"))
    return apigee_version.check(output, str(args["target"]), args.get("packages", ()), manifest)


def _back_check(output: str, args: dict[str, Any]) -> tuple[bool, str]:
    manifest = releases.load(args.get("releases"))
    return apigee_version.check_back(output, str(args["back"]), str(args["from"]),
                                     args.get("packages", ()), manifest)


# Step.fact -> judgement of a check step's output, once its exit status was 0.
CHECKS: dict[str, Callable[[str, dict[str, Any]], tuple[bool, str]]] = {
    "apigee-version": _version_check,
    "apigee-version-back": _back_check,
    "apigee-status": lambda out, args: apigee_status.check(out),
    "getenforce": lambda out, args: getenforce.check(out),
    "postgres-check": lambda out, args: postgres_check.check(out, str(args.get("pattern") or "")),
}

# Poll predicates named by ``Step.until``.
PREDICATES: dict[str, Callable[[str], tuple[bool, str]]] = {
    "qpid_queues_empty": qpid_stat.drained,
}


def judge(fact: str, output: str, args: dict[str, Any]) -> tuple[bool, str]:
    """(holds, detail); ValueError when the output cannot be read as that fact."""
    return CHECKS[fact](output, args)
