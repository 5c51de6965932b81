"""One run from the command line: secrets, confirmation, journal, execution, summary,
reports; and what `--resume` needs to rebuild the same plan."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from fleet.errors import InputError
from fleet.model import Node, Plan
from fleet.plan.checks import HINTS
from fleet.plan.select import Selection
from fleet.run.executor import Outcome, execute_plan, open_nornir, reports_dir
from fleet.run.journal import Journal, new_run_id, read_events, write_hosts_json
from fleet.run.progress import make_progress
from fleet.secrets import load_secrets, needed, require
from fleet.settings import Settings


def _first_start(folder: Path) -> dict[str, Any]:
    for e in read_events(folder):
        if e.get("event") == "run_start":
            return e
    raise InputError(f"run {folder.name} has no run_start in its journal")


def resume_selection(settings: Settings, args: argparse.Namespace) -> tuple[Selection, bool]:
    """The selection and mode the interrupted run was started with."""
    folder = reports_dir(settings, args.reports) / args.resume
    if not (folder / "journal.jsonl").exists():
        raise InputError(f"--resume {args.resume}: no journal at {folder}")
    start = _first_start(folder)
    s = start.get("selection") or {}
    sel = Selection(tuple(s.get("waves") or ()), s.get("from_wave"), tuple(s.get("dcs") or ()),
                    tuple(s.get("hosts") or ()))
    return sel, start.get("mode") == "zero-downtime"


def _summary(out: Outcome, journal: Journal) -> str:
    lines = [f"run {journal.run_id}: {'completed' if out.ok else 'FAILED'} in "
             f"{out.elapsed:.1f}s; {out.ran} step(s) run"
             + (f", {out.skipped} already done before" if out.skipped else "")]
    hints: dict[str, str] = {}
    for f in out.failed:
        lines.append(f"  failed: {f['wave']} batch {f['batch'] + 1} on {f['host']}: {f['message']}")
        action = f["message"].split(":", 1)[0]
        if action in HINTS:
            hints.setdefault(action, HINTS[action])
    lines.extend(f"  what to fix ({a}): {h}" for a, h in hints.items())
    if out.not_run:
        lines.append("  not run:")
        lines.extend(f"    {n}" for n in out.not_run)
    lines.append(f"  journal and reports: {journal.folder}")
    if not out.ok:
        lines.append(f"  fix the cause, then: python runner.py --resume {journal.run_id}")
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings, nodes: list[Node], plan: Plan,
        sel: Selection, confirm: Callable[[argparse.Namespace, Plan], None]) -> int:
    secrets = load_secrets(args.secrets or settings["secrets_file"])
    require(secrets, needed(plan))
    confirm(args, plan)
    base = reports_dir(settings, args.reports)
    done: dict[str, dict[str, Any]] = {}
    if args.resume:
        journal = Journal.open(base, args.resume)
        stored = Plan.from_json(journal.stored_plan())
        if stored.digest() != plan.digest():
            raise InputError(f"--resume {args.resume}: the plan changed since that run "
                             f"(inventory, config or code); start a new run instead")
        done = journal.completed()
        attempt = 1 + sum(1 for e in journal.events() if e.get("event") == "run_start")
    else:
        journal = Journal.create(base, new_run_id(), secrets.mask(plan.dumps()))
        write_hosts_json(journal.folder, nodes)
        attempt = 1
    journal.attempt = attempt
    journal.event("run_start", run_id=journal.run_id, attempt=attempt, resumed=bool(args.resume),
                  plan_digest=plan.digest(), mode=plan.mode, selection=sel.to_json(),
                  argv=[secrets.mask(a) for a in sys.argv[1:]])
    progress = make_progress(plan)
    nr = open_nornir(settings, secrets)
    try:
        with progress:
            out = execute_plan(plan, nr, settings, secrets, journal, done, progress.on_event)
    except KeyboardInterrupt:
        journal.event("run_end", status="interrupted")
        _write_reports(journal)
        raise
    journal.event("run_end", status="ok" if out.ok else "failed", ran=out.ran,
                  skipped=out.skipped, failed=out.failed, not_run=out.not_run)
    _write_reports(journal)
    print(_summary(out, journal))
    return 0 if out.ok else 1


def _write_reports(journal: Journal) -> None:
    """In a child process: pandas and matplotlib stay out of the runner's memory, and a
    report problem cannot hide the run's own outcome."""
    journal.close()
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p))
    res = subprocess.run([sys.executable, "-m", "fleet.reports", str(journal.folder)],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["?"])[-1]
        print(f"warning: reports not written: {tail}", file=sys.stderr)
