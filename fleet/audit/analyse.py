"""From what each host answered to the audit's tables and findings; pure, no I/O.

A reading is the text of `apigee-all version` and `apigee-all status` on one host (or why it
could not be read). The rollback standby is kept out of every finding: by design it stays
on the old version and is stopped once retired, so it is reported apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from fleet.components import COMPONENT_OF, COMPONENTS, SERVICES
from fleet.facts import apigee_status, apigee_version, releases
from fleet.model import Node

UNREACHABLE, NOT_AT_TARGET, MISSING, NOT_RUNNING, MIXED, UNDECIDED = (
    "unreachable", "not at target", "missing", "not running", "mixed versions",
    "cannot be decided")
STANDBY = "rollback_standby"


@dataclass
class Reading:
    """What one host said; ``error`` set when it could not be asked."""

    host: str
    version_output: str = ""
    status_output: str = ""
    error: str = ""
    version_rc: int | None = None
    status_rc: int | None = None


@dataclass
class Audit:
    target: str
    nodes: list[Node]
    readings: dict[str, Reading]
    components: pd.DataFrame = field(default_factory=pd.DataFrame)   # one row per host × component
    hosts: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifest: releases.Manifest | None = None

    @property
    def ok(self) -> bool:
        return self.findings.empty


def parse_versions(text: str) -> dict[str, tuple[str, str, str]]:
    """component (or package name when unknown) -> (package, version, release); the tool
    packages (apigee-service, apigee-setup, apigee-attribution) are not components."""
    packages = apigee_version.components(apigee_version.parse(text)["packages"])
    return {COMPONENT_OF.get(name, name): (name, *build.rsplit("-", 1))    # type: ignore[misc]
            for name, build in packages.items()}


def parse_status(text: str, rc: int | None) -> dict[str, bool]:
    """component (or service name) -> running. Only the stopped form of a status line is
    known from real nodes: a listed component that is not reported down runs; with exit
    status 0, or a summary naming what failed, every other component runs."""
    fact = apigee_status.parse(text)
    down = set(fact["not_running"])
    named = set(fact["services"]) | down
    out = {COMPONENT_OF.get(s, s): s not in down for s in named}
    if rc == 0 or fact["failed_on"] is not None:
        out.update({code: True for code in COMPONENTS if code not in out})
    return out


def _order(code: str) -> tuple[int, str]:
    return (COMPONENTS.index(code) if code in COMPONENTS else len(COMPONENTS), code)


def component_rows(target: str, nodes: list[Node], readings: dict[str, Reading],
                   manifest: releases.Manifest | None = None) -> pd.DataFrame:
    m = manifest or releases.load()
    rows: list[dict[str, Any]] = []
    for n in nodes:
        r = readings.get(n.name) or Reading(n.name, error="not asked")
        versions = parse_versions(r.version_output)
        running = parse_status(r.status_output, r.status_rc)
        codes = sorted(set(n.components) | set(versions), key=_order)
        for code in codes:
            service, version, build = versions.get(code, (SERVICES.get(code, code), "", ""))
            rows.append({
                "host": n.name, "dc": n.dc, "machine": n.machine, "postgres": n.postgres or "",
                "rollback_standby": n.postgres == STANDBY, "reachable": not r.error,
                "component": code, "service": service, "in_inventory": code in n.components,
                "version": version, "build": build,
                "shown": apigee_version.display(f"{version}-{build}") if version else "",
                "running": running.get(code) if not r.error else None,
                "at_target": m.at(service, f"{version}-{build}", target) if version else None,
            })
    return pd.DataFrame(rows, columns=["host", "dc", "machine", "postgres", "rollback_standby",
                                       "reachable", "component", "service", "in_inventory",
                                       "version", "build", "shown", "running", "at_target"])


def findings_of(target: str, comps: pd.DataFrame, nodes: list[Node],
                readings: dict[str, Reading]) -> pd.DataFrame:
    """Everything that keeps the installation from being 'at target and consistent'."""
    rows: list[dict[str, str]] = []

    def add(kind: str, host: str, component: str, detail: str) -> None:
        rows.append({"finding": kind, "host": host, "component": component, "detail": detail})

    for n in nodes:
        r = readings.get(n.name)
        if n.postgres != STANDBY and r is not None and r.error:
            add(UNREACHABLE, n.name, "", r.error)
    live = comps[(~comps["rollback_standby"]) & comps["reachable"]] if not comps.empty else comps
    for _, c in live.iterrows():
        if not c["version"]:
            if c["in_inventory"]:
                add(MISSING, c["host"], c["component"],
                    f"{c['service']} is in the inventory but `apigee-all version` does not list it")
            continue
        if c["at_target"] is False:
            add(NOT_AT_TARGET, c["host"], c["component"], f"{c['shown']} (target {target})")
        elif c["at_target"] is None:
            add(UNDECIDED, c["host"], c["component"],
                f"{c['service']}-{c['version']}-{c['build']}: no {target} build known for it "
                "(set user_defined.releases)")
        if c["running"] is not True:
            state = "not running" if c["running"] is False else "no status line"
            add(NOT_RUNNING, c["host"], c["component"], f"{c['service']}: {state}")
    for code, group in (live[live["version"] != ""].groupby("component", sort=False)
                        if not live.empty else []):
        versions = group.groupby("shown")["host"].apply(lambda h: ", ".join(h))
        if len(versions) > 1:
            add(MIXED, "", str(code), "; ".join(f"{v} on {hosts}" for v, hosts in versions.items()))
    out = pd.DataFrame(rows, columns=["finding", "host", "component", "detail"])
    rank = {k: i for i, k in enumerate((UNREACHABLE, NOT_RUNNING, MIXED, MISSING, NOT_AT_TARGET,
                                        UNDECIDED))}
    out["_r"] = out["finding"].map(rank)
    return out.sort_values("_r", kind="stable").drop(columns="_r").reset_index(drop=True)


def host_rows(target: str, comps: pd.DataFrame, nodes: list[Node],
              readings: dict[str, Reading]) -> pd.DataFrame:
    rows = []
    for n in nodes:
        r = readings.get(n.name) or Reading(n.name, error="not asked")
        mine = comps[comps["host"] == n.name] if not comps.empty else comps
        listed = mine[mine["version"] != ""] if not mine.empty else mine
        behind = [c for c, ok in zip(listed["component"], listed["at_target"], strict=True) if ok is not True] \
            if not listed.empty else []
        down = list(mine[mine["running"] == False]["component"]) if not mine.empty else []  # noqa: E712
        if r.error:
            state = "unreachable"
        elif listed.empty:
            state = "no Apigee software"
        elif behind:
            state = "not at target"
        elif down:
            state = "at target, not all running"
        else:
            state = "at target"
        rows.append({"host": n.name, "dc": n.dc, "machine": n.machine,
                     "postgres": n.postgres or "",
                     "components": " ".join(sorted(n.components, key=_order)),
                     "state": state,
                     "versions": " ".join(sorted(set(listed["shown"]))) if not listed.empty else "",
                     "behind": " ".join(behind), "not_running": " ".join(down), "error": r.error})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["machine"] = pd.array([None if pd.isna(v) else int(v) for v in out["machine"]],
                                  dtype="Int64")
    return out


def matrix(comps: pd.DataFrame, hosts: Iterable[str]) -> pd.DataFrame:
    """component × host: the version, '-' where the host has no such component, '?' where
    the host could not be read."""
    if comps.empty:
        return pd.DataFrame()
    cell = comps.assign(cell=comps.apply(
        lambda c: c["shown"] or ("?" if not c["reachable"] else "absent"), axis=1))
    m = cell.pivot_table(index="component", columns="host", values="cell", aggfunc="first")
    m = m.reindex(columns=[h for h in hosts if h in m.columns])
    m = m.reindex(sorted(m.index, key=_order)).fillna("-")
    return m.reset_index()


def analyse(target: str, nodes: list[Node], readings: dict[str, Reading],
            manifest: releases.Manifest | None = None) -> Audit:
    """``manifest``: the release rule with the installation's own builds
    (``user_defined.releases``), as the gates use it."""
    comps = component_rows(target, nodes, readings, manifest)
    return Audit(target, nodes, readings, comps, host_rows(target, comps, nodes, readings),
                 findings_of(target, comps, nodes, readings), manifest)
