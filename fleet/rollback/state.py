"""The live state a rollback is planned from: the packages each node reports
(`apigee-all version`, read before planning) and what the failed update run's journal says.

Reading is here (read-only, before any change); deciding is pure (``component_states``),
so the planner stays a function of (inventory, settings, live facts, scope).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from fleet.components import SERVICES
from fleet.errors import InputError
from fleet.facts import apigee_version, releases
from fleet.facts.releases import Manifest
from fleet.model import Node
from fleet.run.journal import JOURNAL, PLAN, read_events

FROM, BACK = "4.18.01", "4.16.09"
TARGET, OLD, MISSING = "target", "old", "missing"     # a component's state on a node


@dataclass(frozen=True)
class FailedRun:
    """What the journal of the failed (or interrupted) update run tells the planner."""

    run_id: str
    status: str                                  # failed | interrupted | error | unfinished
    failed: tuple[tuple[str, str], ...] = ()     # (wave, host) of the failed steps
    db_upgrade_done: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status,
                "failed": [list(f) for f in self.failed], "db_upgrade_done": self.db_upgrade_done}


@dataclass(frozen=True)
class Live:
    """Facts read before planning. ``packages``: host -> package -> VERSION-RELEASE."""

    packages: Mapping[str, Mapping[str, str]]
    failed_run: FailedRun | None = None
    spare_retired_by: str | None = None          # run id whose rollback_retire completed
    releases: Mapping[str, Any] = field(default_factory=dict)   # user_defined.releases

    def manifest(self) -> Manifest:
        return releases.load(self.releases or None)


def from_outputs(outputs: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """host -> packages, from each host's `apigee-all version` output."""
    return {h: apigee_version.parse(text)["packages"] for h, text in outputs.items()}


def component_states(node: Node, live: Live) -> dict[str, str]:
    """component -> target (at 4.18.01), old (at 4.16.09) or missing (not listed); refused
    (InputError) when a package is at another version or its version cannot be decided."""
    pkgs = live.packages.get(node.name)
    if pkgs is None:
        raise InputError(f"no `apigee-all version` reading for {node.name}")
    m = live.manifest()
    out: dict[str, str] = {}
    for c in sorted(node.components):
        pkg = SERVICES[c]
        build = pkgs.get(pkg)
        if build is None:
            out[c] = MISSING
            continue
        new, old = m.at(pkg, build, FROM), m.at(pkg, build, BACK)
        if new:
            out[c] = TARGET
        elif old or (old is None and new is False and pkg in m.upstream):
            out[c] = OLD
        elif new is None and c in ("cs", "zk"):
            out[c] = TARGET      # never rolled back: the plan only names it for the operator
        elif new is None:
            raise InputError(f"{node.name}: cannot decide whether {pkg}-{build} is at {FROM} "
                             "(no 4.18.01 build known for it: set user_defined.releases, "
                             "see README 'At target')")
        else:
            raise InputError(f"{node.name}: {pkg}-{build} is neither at {BACK} nor at {FROM}; "
                             f"a rollback only returns an installation updated from {BACK}")
    return out


# --- the journals in reports/ -------------------------------------------------------------

def _runs(reports: Path) -> list[Path]:
    if not reports.is_dir():
        return []
    return sorted((p for p in reports.iterdir() if (p / JOURNAL).exists() and (p / PLAN).exists()),
                  key=lambda p: p.name)


def _mode(folder: Path) -> str:
    try:
        return str(json.loads((folder / PLAN).read_text(encoding="utf-8")).get("mode", ""))
    except (OSError, ValueError):
        return ""


def read_failed_run(reports: Path, run_id: str | None) -> FailedRun | None:
    """The named run, or the latest update run that did not end ok (None: there is none)."""
    if run_id:
        folder = reports / run_id
        if not (folder / JOURNAL).exists():
            raise InputError(f"--after {run_id}: no journal at {folder}")
        return summarize(run_id, list(read_events(folder)))
    for folder in reversed(_runs(reports)):
        if _mode(folder) in ("maintenance", "zero-downtime"):
            run = summarize(folder.name, list(read_events(folder)))
            return None if run.status == "ok" else run
    return None


def summarize(run_id: str, events: Iterable[dict[str, Any]]) -> FailedRun:
    status, failed, db_upgrade = "unfinished", [], False
    for e in events:
        if e.get("event") == "run_end":
            status = str(e.get("status", "unfinished"))
        elif e.get("event") == "step_end":
            if e.get("status") == "failed" and "/undo" not in str(e.get("key", "")):
                failed.append((str(e.get("wave", "")), str(e.get("host", ""))))
            if e.get("status") == "ok" and e.get("action") == "db_upgrade":
                db_upgrade = True
    return FailedRun(run_id, status, tuple(dict.fromkeys(failed)), db_upgrade)


def spare_retired_by(reports: Path, spare: str | None) -> str | None:
    """The run that retired the spare standby (its rollback_retire stop or deregister step
    completed), or None."""
    if not spare:
        return None
    for folder in _runs(reports):
        for e in read_events(folder):
            if (e.get("event") == "step_end" and e.get("status") == "ok"
                    and e.get("wave") == "rollback_retire" and e.get("host") == spare
                    and e.get("action") in ("stop_all", "deregister")):
                return folder.name
    return None


def promoted_spares(reports: Path) -> dict[str, str]:
    """host -> the rollback run that promoted it to PostgreSQL master (its promote step
    completed): a spare that is now the production master."""
    out: dict[str, str] = {}
    for folder in _runs(reports):
        if _mode(folder) != "rollback":
            continue
        for e in read_events(folder):
            if (e.get("event") == "step_end" and e.get("status") == "ok"
                    and e.get("action") == "promote"):
                out[str(e.get("host"))] = folder.name
    return out


def refuse_retiring_a_promoted_spare(nodes: Iterable[Node], reports: Path) -> None:
    """The update retires the node marked rollback_standby (rollback_retire). After a
    rollback promoted that node it is the production master: refuse (rollback.md 3)."""
    promoted = promoted_spares(reports)
    for n in nodes:
        if n.postgres == "rollback_standby" and n.name in promoted:
            raise InputError(
                f"{n.name} is the PostgreSQL master since rollback run {promoted[n.name]} "
                "promoted it, but the inventory still marks it rollback_standby: the update "
                "would retire it (rollback_retire). Set its role to master, the old standby's "
                "to standby, and a new spare's to rollback_standby first")
