"""Durations of earlier runs, read from their journals, for the estimate (fleet.plan.estimate).

Which runs count (``estimate.history`` in the config):

- ``installation`` (the default): only runs of the same installation, known by the digest of
  the inventory's node addresses and ports that run_start records (the lock's key). A lab's
  fast emulated runs, or a rehearsal on other machines, never shorten a real window; a run
  written before runs recorded their installation does not count either.
- ``all``: every run in the reports folder (a folder kept for one installation whose
  addresses changed, or a benchmark's own folder).
- ``off``: our defaults and ``estimate.seconds`` only.

The newest ``estimate.runs`` runs (default 10) are read, newest journal first. A step
counts when it ended ok, is not a clean-up (``/undo``) or a pause, and was not started in an
earlier attempt of its run (a re-run after an interruption may re-attach to a job half done,
so its time says nothing about a whole one).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from fleet.model import PAUSE, Node, Plan
from fleet.plan.estimate import Estimate, History, action_key, estimate
from fleet.run.journal import JOURNAL, Journal, read_events
from fleet.run.lock import installation_key
from fleet.settings import Settings

SCOPES = ("installation", "all", "off")


def observations(events: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """action key -> durations of the steps of one run's journal that count (see above)."""
    started: dict[str, int] = {}
    out: dict[str, list[float]] = {}
    for e in events:
        kind = e.get("event")
        key, attempt = str(e.get("key", "")), int(e.get("attempt", 1))
        if kind == "step_start":
            started.setdefault(key, attempt)
        if kind != "step_end" or e.get("status") != "ok" or "/undo" in key:
            continue
        if e.get("kind") == PAUSE or started.get(key, attempt) < attempt:
            continue
        try:
            secs = float(e["end"]) - float(e["start"])
        except (KeyError, TypeError, ValueError):
            continue
        if secs >= 0:
            out.setdefault(action_key(str(e.get("action", "")), str(e.get("command", ""))),
                           []).append(secs)
    return out


def _installation_of(folder: Path) -> str | None:
    for e in read_events(folder):
        if e.get("event") == "run_start":
            return e.get("installation")
    return None


def load_history(base: Path, installation: str | None, scope: str = "installation",
                 runs: int = 10, exclude: str | None = None) -> History:
    """The durations of the newest ``runs`` matching runs under ``base`` (see module doc)."""
    if scope == "off" or runs <= 0 or not Path(base).is_dir():
        return History()
    try:
        folders = sorted((p.parent for p in Path(base).glob(f"*/{JOURNAL}")),
                         key=lambda f: (f / JOURNAL).stat().st_mtime, reverse=True)
    except OSError:
        return History()
    samples: dict[str, list[float]] = {}
    used: list[str] = []
    for folder in folders:
        if len(used) >= runs:
            break
        if folder.name == exclude:
            continue
        if scope == "installation" and (installation is None
                                        or _installation_of(folder) != installation):
            continue
        seen = observations(read_events(folder))
        if not seen:
            continue
        used.append(folder.name)
        for key, xs in seen.items():
            samples.setdefault(key, []).extend(xs)
    return History({k: tuple(v) for k, v in samples.items()}, tuple(used))


def plan_window(plan: Plan, nodes: list[Node], settings: Settings, base: Path,
                resume: str | None = None, done: Iterable[str] | None = None) -> Estimate:
    """The estimate of ``plan`` as the runner will carry it out: history of this
    installation from ``base``, the config's own seconds; the ``done`` journal keys (or,
    for ``--resume RUN_ID``, the steps that run completed) count zero."""
    if done is None:
        done = ()
    if resume and not done:
        try:
            done = Journal.open(base, resume).completed(plan)
        except (OSError, ValueError, KeyError, IndexError):
            done = ()          # the run itself refuses an unreadable journal, with the reason
    history = load_history(base, installation_key(nodes), settings["estimate.history"],
                           int(settings["estimate.runs"]))
    return estimate(plan, history, done, settings["estimate.seconds"] or {},
                    workers=settings.num_workers)
