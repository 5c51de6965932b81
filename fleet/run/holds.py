"""Hold points during a run: journaled, asked on the terminal, or the run ends cleanly.

When a batch that carries a hold (fleet/plan/holds.py) has completed, the run journals
``hold`` (wave, wave_index, batch, reason) and asks on the terminal whether to go on (y/N).
The answer is journaled as ``hold_end`` (answer: continue, stop, no terminal, resumed); the
time between the two is the operator's. Without a terminal, or on any answer but yes, the
run ends with status ``held`` (exit status ``HELD_EXIT``) and its summary gives the
command that continues it. ``--resume`` goes on past every hold an earlier attempt
reached: the operator continuing the run is the answer.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from fleet.errors import InputError
from fleet.model import Plan
from fleet.plan.holds import HoldOptions
from fleet.run.executor import reports_dir, say
from fleet.run.journal import Journal, read_events
from fleet.settings import Settings

HELD_EXIT = 3          # the run stopped at a hold point as asked; --resume continues it


def hold_options(args: argparse.Namespace, settings: Settings, mine: HoldOptions) -> HoldOptions:
    """The hold options of this run: as given, or for ``--resume`` those the run was started
    with (its first run_start). Others on a resume would change the plan, which ``--resume``
    refuses: that is said here, naming the options."""
    if not args.resume:
        return mine
    folder = reports_dir(settings, args.reports) / args.resume
    start = next((e for e in read_events(folder) if e.get("event") == "run_start"), {})
    stored = HoldOptions.from_json(start.get("holds"))
    if mine and mine != stored:
        was = " ".join(stored.argv()) or "no hold option"
        raise InputError(f"--resume {args.resume}: hold points cannot change within a run "
                         f"(it was started with {was}); leave {' '.join(mine.argv())} out")
    return stored


def reached_before(journal: Journal) -> set[tuple[int, int]]:
    """The holds (wave index, batch index) an earlier attempt of the run reached."""
    return {(int(e["wave_index"]), int(e["batch"])) for e in read_events(journal.folder)
            if e.get("event") == "hold" and e.get("attempt", 1) < journal.attempt}


class HoldKeeper:
    """The executor's ``on_hold``: True stops the run at this hold."""

    def __init__(self, journal: Journal, progress: Any, ask: Callable[[str], str] | None = None,
                 tty: bool | None = None) -> None:
        self.journal, self.progress = journal, progress
        self.passed = reached_before(journal)
        self.ask = ask or input
        self.tty = sys.stdin.isatty() if tty is None else tty

    def ahead(self, plan: Plan) -> list[dict[str, Any]]:
        """The plan's hold points this attempt will ask at (not those an earlier one reached)."""
        return [h for h in plan.holds() if (h["wave_index"], h["batch"]) not in self.passed]

    def __call__(self, wi: int, bi: int, wave: str, why: str) -> bool:
        where = {"wave": wave, "wave_index": wi, "batch": bi, "reason": why}
        self.journal.event("hold", **where)
        if (wi, bi) in self.passed:
            self.journal.event("hold_end", answer="resumed", **where)
            say(f"hold after {wave} batch {bi + 1} ({why}): passed (the run was resumed)")
            return False
        if not self.tty:
            self.journal.event("hold_end", answer="no terminal", **where)
            return True
        live = getattr(self.progress, "live", None)    # a rich panel would draw over the question
        if live is not None:
            live.stop()
        try:
            print(f"\nHOLD after {wave} batch {bi + 1}: {why}.\n"
                  "Check the installation now; the run's leases stay on the nodes.", flush=True)
            try:
                answer = self.ask("Continue the run? [y/N] ").strip().lower()
            except EOFError:
                answer = ""
        finally:
            if live is not None:
                # rich would start by erasing as many lines as its last panel had: ours
                render = getattr(live, "_live_render", None)
                if render is not None and hasattr(render, "_shape"):
                    render._shape = None
                live.start()
        go = answer in ("y", "yes")
        self.journal.event("hold_end", answer="continue" if go else "stop", **where)
        return not go
