"""One run from the command line: secrets, confirmation, journal, execution, summary,
reports; and what `--resume` needs to rebuild the same plan."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from fleet import signals
from fleet.errors import InputError
from fleet.model import Node, Plan
from fleet.plan.estimate import Estimate
from fleet.plan.waves import hint
from fleet.plan.select import Selection
from fleet.run.executor import Outcome, execute_plan, open_nornir, reports_dir
from fleet.run.holds import HELD_EXIT, HoldKeeper
from fleet.run.hostlog import HostLogs
from fleet.run.identity import banner, env_note, resume_command
from fleet.run.history import plan_window
from fleet.run.journal import JOURNAL, PLAN, Journal, new_run_id, read_events, write_hosts_json
from fleet.run.lock import LEASE, ControlLock, drop_leases, installation_key, take_leases
from fleet.run.progress import make_progress
from fleet.secrets import Secrets, load_secrets, needed, require
from fleet.settings import Settings
from fleet.values import name as valid_name


def _first_start(folder: Path) -> dict[str, Any]:
    for e in read_events(folder):
        if e.get("event") == "run_start":
            return e
    raise InputError(f"run {folder.name} has no run_start in its journal")


def resume_selection(settings: Settings, args: argparse.Namespace) -> tuple[Selection, bool]:
    """The selection and mode the interrupted run was started with."""
    # a run id is a folder name (journal.new_run_id); it is also written into the nodes' leases
    valid_name(args.resume, "--resume", "run id")
    folder = reports_dir(settings, args.reports) / args.resume
    if not (folder / JOURNAL).exists():
        raise InputError(f"--resume {args.resume}: no journal at {folder}")
    start = _first_start(folder)
    s = start.get("selection") or {}
    sel = Selection(tuple(s.get("waves") or ()), s.get("from_wave"), tuple(s.get("dcs") or ()),
                    tuple(s.get("hosts") or ()))
    return sel, start.get("mode") == "zero-downtime"


def _summary(out: Outcome, journal: Journal, logs: HostLogs, again: str) -> str:
    state = "completed" if out.ok and not out.held else "HELD" if out.ok else "FAILED"
    lines = [f"run {journal.run_id}: {state} in "
             f"{out.elapsed:.1f}s; {out.ran} step(s) run"
             + (f", {out.skipped} already done before" if out.skipped else "")]
    hints: dict[str, str] = {}
    for f in out.failed:
        lines.append(f"  failed: {f['wave']} batch {f['batch'] + 1} on {f['host']}: {f['message']}")
        lines.extend(logs.quote(f["host"]))
        action = f.get("action", "")
        what = hint(f["wave"], action)
        if what:
            hints.setdefault(action, what)
    lines.extend(f"  what to fix ({a}): {h}" for a, h in hints.items())
    if out.held:
        lines.append(f"  held after {out.held}")
    if out.not_run:
        lines.append("  not run yet:" if out.held else "  not run:")
        lines.extend(f"    {n}" for n in out.not_run)
    lines.append(f"  journal and reports: {journal.folder}")
    if out.held:
        lines.append(f"  to go on: {again}")
    elif not out.ok:
        lines.append(f"  fix the cause, then: {again}")
    if (out.held or not out.ok) and env_note():
        lines.append(env_note())
    return "\n".join(lines)


def _no_run_folder(base: Path, why: object) -> InputError:
    return InputError(f"--reports {base}: cannot create a run folder there: {why}")


def _writable(base: Path, resume: str | None) -> None:
    """--reports must take a run folder (or the resumed run's journal) before any host is
    contacted."""
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _no_run_folder(base, exc.strerror or exc) from None
    target = base / resume / JOURNAL if resume else base
    if not base.is_dir() or not os.access(target, os.W_OK):
        raise _no_run_folder(base, f"{target} is not writable")


def run(args: argparse.Namespace, settings: Settings, nodes: list[Node], plan: Plan,
        sel: Selection, confirm: Callable[[argparse.Namespace, Plan], None],
        est: Estimate | None = None) -> int:
    """``est``: the plan's estimate when the caller has it already (shown at its
    confirmation); else it is made here."""
    secrets = load_secrets(args.secrets or settings["secrets_file"])
    require(secrets, needed(plan))
    base = reports_dir(settings, args.reports)
    _writable(base, args.resume)
    run_id = args.resume or new_run_id()
    args.resume_command = resume_command(args, run_id, base, settings["secrets_file"])
    lock = ControlLock(nodes, run_id).acquire()
    try:
        confirm(args, plan)
        return _locked_run(args, settings, nodes, plan, sel, secrets, base, run_id, est)
    except KeyboardInterrupt as exc:
        if (base / run_id / JOURNAL).exists():          # something to resume
            exc.resume_command = args.resume_command    # type: ignore[attr-defined]
        raise
    finally:
        lock.release()


def _locked_run(args: argparse.Namespace, settings: Settings, nodes: list[Node], plan: Plan,
                sel: Selection, secrets: Secrets, base: Path, run_id: str,
                est: Estimate | None) -> int:
    done: dict[str, dict[str, Any]] = {}
    if args.resume:
        journal = Journal.open(base, args.resume)
        try:
            stored = Plan.from_json(journal.stored_plan())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"--resume {args.resume}: cannot read {journal.folder / PLAN}: "
                             f"{type(exc).__name__}: {exc}") from None
        if stored.digest() != plan.digest():
            raise InputError(f"--resume {args.resume}: the plan changed since that run "
                             f"(inventory, config or code); start a new run instead")
        done = journal.completed(stored)
        journal.attempt = 1 + sum(1 for e in journal.events() if e.get("event") == "run_start")
    if est is None:
        est = plan_window(plan, nodes, settings, base, done=done)
    nr = open_nornir(settings, secrets)
    leased = take_leases(nr, nodes, plan, settings, secrets, run_id, args.break_lock)
    abandoned = False
    try:
        if not args.resume:
            try:
                journal = Journal.create(base, run_id, plan.dumps())
                write_hosts_json(journal.folder, nodes)
            except OSError as exc:
                raise _no_run_folder(base, exc.strerror or exc) from None
        journal.event("run_start", run_id=journal.run_id, attempt=journal.attempt,
                      resumed=bool(args.resume), plan_digest=plan.digest(), mode=plan.mode,
                      selection=sel.to_json(), leases=leased, break_lock=args.break_lock,
                      argv=[secrets.mask(a) for a in sys.argv[1:]], holds=args.holds.to_json(),
                      resume_command=args.resume_command,
                      installation=installation_key(nodes), estimate_s=round(est.total, 1))
        progress = make_progress(plan, done, est)
        holds = HoldKeeper(journal, progress)
        print(banner(run_id, journal.folder, args.resume_command, journal.attempt,
                     holds.ahead(plan)), flush=True)
        reports = ReportWriter(journal)
        logs = HostLogs(journal.folder, run_id, journal.attempt, secrets)

        def on_event(kind: str, info: dict[str, Any]) -> None:
            logs.on_event(kind, info)
            progress.on_event(kind, info)
        try:
            with progress:
                out = execute_plan(plan, nr, settings, secrets, journal, done,
                                   reports.follow(on_event), holds)
        except KeyboardInterrupt as exc:
            abandoned = bool(getattr(exc, "abandoned", False))
            journal.event("run_end", status="interrupted", signal=signals.name(exc))
            reports.write()
            raise
        except Exception as exc:        # a fault of the runner itself: the run still ends on record
            journal.event("run_end", status="error",
                          error=secrets.mask(f"{type(exc).__name__}: {exc}"))
            reports.write()
            raise
        status = "held" if out.held else "ok" if out.ok else "failed"
        journal.event("run_end", status=status, ran=out.ran, skipped=out.skipped,
                      failed=out.failed, not_run=out.not_run, held=out.held)
        reports.write()
        print(_summary(out, journal, logs, args.resume_command))
        return HELD_EXIT if out.held else 0 if out.ok else 1
    finally:
        _release(nr, nodes, leased, settings, secrets, run_id, abandoned)


def _release(nr: Any, nodes: list[Node], leased: list[str], settings: Settings,
             secrets: Secrets, run_id: str, abandoned: bool) -> None:
    """Leases go when the run ends in order; commands cut off while still running keep
    theirs (the next run is refused until someone checks them and uses --break-lock)."""
    if abandoned:
        kept = leased
    else:
        try:
            kept = drop_leases(nr, nodes, leased, settings, secrets, run_id)
        finally:
            nr.close_connections(on_good=True, on_failed=True)
    if kept:
        print(f"warning: run {run_id} still holds the lease on {', '.join(kept)} "
              f"(APIGEE_ROOT/{LEASE}); after checking those nodes, the next run needs "
              "--break-lock", file=sys.stderr)


class ReportWriter:
    """The reports, written by a child process (``python -m fleet.reports --after-run``):
    pandas and matplotlib stay out of the runner's memory, a report problem cannot hide the
    run's own outcome, and the child loads its libraries during the run, at low priority, so
    the reports follow the last step by the time it takes to write them. It runs in its own
    session: Ctrl-C stops the run, not the reports of what was done. While the run goes on,
    the child keeps report.html as a live page: ``follow`` tells it when a batch starts or a
    step ends, and the child throttles (fleet/reports/livepage.py)."""

    LIVE_EVENTS = ("wave_start", "batch_start", "step_end")

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.errors = tempfile.TemporaryFile()
        self.child = subprocess.Popen(self._argv("--after-run"), env=self._env(), stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=self.errors,
                                      start_new_session=True)
        assert self.child.stdin is not None
        self._fd = self.child.stdin.fileno()
        os.set_blocking(self._fd, False)        # a busy child never holds a step up
        self._poke()                            # the first live page, as soon as it can

    def _poke(self) -> None:
        try:
            os.write(self._fd, b"live\n")      # one write below PIPE_BUF: whole, thread-safe
        except OSError:                         # pipe full (a page is due anyway) or child gone
            pass

    def follow(self, sink: Callable[[str, dict[str, Any]], None]
               ) -> Callable[[str, dict[str, Any]], None]:
        """``sink`` (the progress display), and the live page told of batches and steps."""
        def on_event(kind: str, info: dict[str, Any]) -> None:
            sink(kind, info)
            if kind in self.LIVE_EVENTS:
                self._poke()
        return on_event

    def _argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "fleet.reports", *extra, str(self.journal.folder)]

    @staticmethod
    def _env() -> dict[str, str]:
        root = str(Path(__file__).resolve().parents[2])
        return dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p))

    def write(self) -> None:
        self.journal.close()
        try:
            assert self.child.stdin is not None
            os.set_blocking(self._fd, True)
            self.child.stdin.write(b"write\n")
            self.child.stdin.close()
            rc = self.child.wait()
        except (BrokenPipeError, OSError):         # the child is gone: write them here and now
            self.child.wait()
            rc = -1
        if rc != 0:
            self.errors.seek(0)
            self.errors.truncate()
            rc = subprocess.run(self._argv(), env=self._env(), stdout=subprocess.DEVNULL,
                                stderr=self.errors).returncode
        if rc != 0:
            self.errors.seek(0)
            tail = (self.errors.read().decode(errors="replace").strip().splitlines() or ["?"])[-1]
            print(f"warning: reports not written: {tail}", file=sys.stderr)
        self.errors.close()
