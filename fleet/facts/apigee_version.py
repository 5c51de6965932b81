"""`apigee-all version` (and `apigee-service PKG version`): which package builds a node has.

`apigee-all` runs `apigee-service PKG version` for every package on the node, each after a
shell trace line (``+ apigee-service apigee-cassandra version``), and prints the package's
name-version-release. Tool packages (apigee-service, apigee-setup, apigee-attribution) are
listed too; they are not components. Apigee-built packages carry the Edge version
(``edge-router-4.18.01-0.0.1607``); third-party ones their upstream version
(``apigee-cassandra-2.1.16-0.0.2046``), so "at 4.18.01" is decided per package
(``fleet.facts.releases``), never by looking for ``4.18.01`` in every line.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from fleet.facts import releases

TOOLS = frozenset({"apigee-service", "apigee-setup", "apigee-attribution"})
# name-VERSION-RELEASE: the version starts with a digit, the release is the last part.
LINE = re.compile(r"^(?P<name>[a-z][a-z0-9-]*?)-(?P<version>\d[\w.+~]*)-(?P<release>[\w.+~]+)$")


def command(apigee_root: str = "/opt/apigee") -> str:
    return f"{apigee_root}/apigee-service/bin/apigee-all version"


def parse(text: str) -> dict[str, Any]:
    """{"packages": {name: "VERSION-RELEASE"}}; trace lines and anything that is not a
    package line are ignored (a later line for the same package wins)."""
    packages: dict[str, str] = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("+"):
            continue
        m = LINE.match(line)
        if m:
            packages[m.group("name")] = f"{m.group('version')}-{m.group('release')}"
    return {"packages": packages}


def components(packages: dict[str, str]) -> dict[str, str]:
    """The packages that are components (tool packages left out)."""
    return {k: v for k, v in packages.items() if k not in TOOLS}


def display(build: str) -> str:
    """How reports show a build: the Edge version alone ("4.18.01") for Apigee-built
    packages, the whole VERSION-RELEASE for upstream ones (their version alone, 3.4.5,
    does not tell releases apart)."""
    version = releases.version_of(build)
    return version if releases.EDGE_VERSION.match(version) else build


def at_target(packages: dict[str, str], target: str,
              manifest: releases.Manifest | None = None) -> dict[str, bool | None]:
    """package -> True/False, or None where this output alone cannot decide."""
    m = manifest or releases.load()
    return {name: m.at(name, build, target) for name, build in packages.items()}


def check(text: str, target: str, wanted: Iterable[str],
          manifest: releases.Manifest | None = None) -> tuple[bool, str]:
    """Every wanted package listed and at the target: (ok, what is wrong)."""
    found = parse(text)["packages"]
    m = manifest or releases.load()
    missing, behind, unknown = [], [], []
    for name in sorted(set(wanted)):
        if name not in found:
            missing.append(name)
            continue
        verdict = m.at(name, found[name], target)
        if verdict is False:
            behind.append(f"{name}-{found[name]}")
        elif verdict is None:
            unknown.append(f"{name}-{found[name]}")
    problems = []
    if missing:
        problems.append("not listed: " + ", ".join(missing))
    if behind:
        problems.append(f"not at {target}: " + ", ".join(behind))
    if unknown:
        problems.append(f"cannot be decided from the version (no {target} build known for "
                        "the package; set user_defined.releases): " + ", ".join(unknown))
    if problems:
        return False, "; ".join(problems)
    return True, f"{len(set(wanted))} package(s) at {target}"


def check_back(text: str, back: str, came_from: str, wanted: Iterable[str],
               manifest: releases.Manifest | None = None) -> tuple[bool, str]:
    """After a rollback: every wanted package listed and at ``back``. An upstream package
    with no ``back`` build in the manifest passes when it is no longer at ``came_from``'s
    build (the only thing its version can tell)."""
    found = parse(text)["packages"]
    m = manifest or releases.load()
    problems = []
    for name in sorted(set(wanted)):
        if name not in found:
            problems.append(f"{name} not listed")
            continue
        verdict = m.at(name, found[name], back)
        if verdict is None:
            newer = m.at(name, found[name], came_from)
            verdict = None if newer is None else not newer
        if verdict is None:
            problems.append(f"{name}-{found[name]} cannot be decided (no {back} or "
                            f"{came_from} build known; set user_defined.releases)")
        elif not verdict:
            problems.append(f"{name}-{found[name]} not at {back}")
    if problems:
        return False, "; ".join(problems)
    return True, f"{len(set(wanted))} package(s) back at {back}"
