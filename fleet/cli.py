"""`python runner.py`: plan, show and carry out the Edge update; `audit` and `region` are
sub-commands. Bad input exits 2 with a message and no traceback, before any host is touched."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fleet import TARGET_VERSION, signals
from fleet.errors import InputError
from fleet.plan import WAVE_HELP, WAVE_NAMES, Selection, build_plan, select
from fleet.plan.holds import HoldOptions, apply_holds
from fleet.plan.render import estimate_line, render_table

EPILOG = "waves, in order:\n" + "\n".join(f"  {w:<16} {WAVE_HELP[w]}" for w in WAVE_NAMES) + """

Every run starts with the read-only preflight wave. Before each update wave a gate checks
the live versions of the installation. Secrets come from FLEET_REPO_USER,
FLEET_REPO_PASSWORD, FLEET_ADMIN_EMAIL, FLEET_ADMIN_PASSWORD (and FLEET_SSH_PASSWORD,
FLEET_SSH_KEY_PASSPHRASE, FLEET_BECOME_PASSWORD for access) or a mode-600 YAML file
outside the repository (--secrets or user_defined.secrets_file).

other commands:
  python runner.py audit --help     versions and states of every host, as a report
  python runner.py rollback --help  back to 4.16.09 after a failed update (rollback.md)
  python runner.py region --help    Apigee X: add or remove a runtime region
  python runner.py facts --help     what the runner reads from a command's output (JSON)
Every run prints its id, its folder (reports/RUN_ID/: journal, reports, hosts/HOST.log with
every step's whole output) and the complete command that resumes it.
Ctrl-C, SIGTERM or SIGHUP: no new step starts; steps already running are let finish, then
the reports are written (the signal again: stop waiting); the resume command is printed.
Hold points (--pause-after, --pause-each-wave, --canary): when the batch before one is done
the run asks on the terminal whether to go on (y/N; --yes does not answer it). Without a
terminal, or on N, it ends with status 3 and prints the command that continues it; --resume
goes on past the hold without asking again.
exit status: 0 done, 1 a step or gate failed (see reports/RUN_ID/), 2 bad input (nothing
touched) or another run holds the installation (--break-lock only after a crashed run),
3 stopped at a hold point (--resume continues), 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP."""


class Parser(argparse.ArgumentParser):
    """Bad arguments are bad input: exit 2 through InputError, naming the subcommand's help."""
    def __init__(self, *args: Any, command: str = "", **kwargs: Any) -> None:
        self.command = command
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        if self.command:
            raise InputError(f"{self.command}: {message} (see {self.command} --help)")
        raise InputError(f"{message} (see --help)")


def names(values: list[str] | None) -> tuple[str, ...]:
    """Repeatable, comma-separated option values as one tuple."""
    return tuple(x.strip() for v in values or [] for x in v.split(",") if x.strip())


def add_file_options(group: Any) -> None:
    """--config/--inventory/--secrets/--reports: the same files for the update and rollback."""
    group.add_argument("--config", default="config.yaml", metavar="FILE",
                       help="settings (default: config.yaml)")
    group.add_argument("--inventory", metavar="DIR",
                       help="Nornir SimpleInventory folder (hosts.yaml, groups.yaml, defaults.yaml)")
    group.add_argument("--secrets", metavar="FILE", help="mode-600 YAML file of secrets")
    group.add_argument("--reports", metavar="DIR", help="where run folders go (default: reports/)")


def write_plan(path: str, plan: Any) -> None:
    """--plan-out: the plan as JSON (it names secrets, never holds their values)."""
    try:
        Path(path).write_text(plan.dumps() + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--plan-out {path}: cannot write: {exc.strerror or exc}") from None
    print(f"plan written to {path}")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="runner.py", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
               description=f"Update Apigee Edge for Private Cloud 4.16.09 -> {TARGET_VERSION}, "
                           "wave by wave over SSH.", epilog=EPILOG)
    what = p.add_argument_group("what to run")
    what.add_argument("--wave", action="append", metavar="NAME[,NAME]",
                      help="run these waves (repeatable or comma list)")
    what.add_argument("--all", action="store_true", help="run every wave")
    what.add_argument("--from-wave", metavar="NAME", help="run this wave and every later one")
    what.add_argument("--resume", metavar="RUN_ID",
                      help="continue a stopped run: completed steps are skipped, the "
                           "interrupted one is run again; refused if the plan changed")
    where = p.add_argument_group("where")
    where.add_argument("--dc", action="append", metavar="DC", help="only hosts of this data centre")
    where.add_argument("--hosts", action="append", metavar="A,B", help="only these hosts")
    hold = p.add_argument_group("hold points (the run stops and asks; --resume continues)")
    hold.add_argument("--pause-after", action="append", metavar="WAVE[,WAVE]",
                      help="hold after these waves (repeatable or comma list)")
    hold.add_argument("--pause-each-wave", action="store_true", help="hold after every wave but the last")
    hold.add_argument("--canary", metavar="HOST",
                      help="in each role wave HOST takes part in, run it on HOST alone first, "
                           "hold, then the rest (HOST must be one the wave may start with)")
    how = p.add_argument_group("how")
    how.add_argument("--zero-downtime", action="store_true",
                     help="rolling update: quorum-safe datastore batches, routers and MPs "
                          "taken out of service one at a time (5 nodes or more)")
    how.add_argument("--dry-run", action="store_true",
                     help="print the plan and connect to nothing (no secrets needed)")
    how.add_argument("--plan-out", metavar="FILE",
                     help="write the plan as JSON (it names secrets, never holds their values)")
    how.add_argument("--runbook", metavar="FILE.md",
                     help="write the plan as a Markdown runbook for a change board (scope, "
                          "waves, commands, estimates, gates, holds, rollback) and exit: "
                          "connects to nothing, needs no secret")
    how.add_argument("--yes", action="store_true",
                     help="do not ask for confirmation (required without a terminal)")
    how.add_argument("--break-lock", action="store_true",
                     help="after a crashed run: take over the leases it left on the nodes "
                          "(check first that nothing of it still runs there)")
    add_file_options(p.add_argument_group("files"))
    return p


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(waves=names(args.wave), from_wave=args.from_wave,
                     dcs=names(args.dc), hosts=names(args.hosts))


def _confirm(args: argparse.Namespace, plan: Any, est: Any = None) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise InputError("no terminal to confirm on: pass --yes to run without confirmation")
    hosts = sorted({s.host for _, _, s in plan.iter_steps()})
    print(f"About to run waves {', '.join(plan.wave_names())} on {len(hosts)} host(s).")
    if est is not None:
        print(estimate_line(est) + ("; steps done by the earlier attempts count 0"
                                    if args.resume else ""))
    answer = input("A full backup of every node exists and the window is open. Type 'yes': ")
    if answer.strip().lower() != "yes":
        raise InputError("not confirmed; nothing was done")


def _write_runbook(path: str, plan: Any, nodes: Any, settings: Any, est: Any,
                   sel: Selection) -> None:
    """--runbook: the document, written before anything could run (it never runs)."""
    from fleet.plan.runbook import render_runbook
    try:
        Path(path).write_text(render_runbook(plan, nodes, settings, est, sel), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--runbook {path}: cannot write: {exc.strerror or exc}") from None
    print(f"runbook written to {path} (nothing was run)")


def update_main(argv: list[str]) -> int:
    from fleet.inventory import load_inventory
    from fleet.settings import load_settings

    args = parser().parse_args(argv)
    picked = sum(bool(x) for x in (args.wave, args.all, args.from_wave, args.resume))
    if picked > 1:
        raise InputError("choose one of --wave, --all, --from-wave and --resume")
    if not picked and not (args.dry_run or args.plan_out or args.runbook):
        raise InputError("say what to run: --all, --wave NAME or --from-wave NAME "
                         "(or --dry-run to see the plan)")
    settings = load_settings(Path(args.config), Path(args.inventory) if args.inventory else None)
    nodes = load_inventory(settings.inventory_files)
    if args.resume:
        from fleet.run.session import resume_selection
        sel, zero = resume_selection(settings, args)
    else:
        sel, zero = _selection(args), args.zero_downtime
    plan = select(build_plan(nodes, settings, zero), nodes, sel)
    if "rollback_retire" in plan.wave_names():       # never retire a spare a rollback promoted
        from fleet.rollback.state import refuse_retiring_a_promoted_spare
        from fleet.run.executor import reports_dir
        refuse_retiring_a_promoted_spare(nodes, reports_dir(settings, args.reports))
    from fleet.run.holds import hold_options
    args.holds = hold_options(args, settings, HoldOptions(
        names(args.pause_after), args.pause_each_wave, args.canary))
    plan = apply_holds(plan, args.holds)
    if args.plan_out:
        write_plan(args.plan_out, plan)
    from fleet.run.executor import reports_dir
    from fleet.run.history import plan_window
    est = plan_window(plan, nodes, settings, reports_dir(settings, args.reports), args.resume)
    if args.runbook:
        _write_runbook(args.runbook, plan, nodes, settings, est, sel)
    if args.dry_run or args.runbook or (args.plan_out and not picked):
        if args.dry_run:
            print(render_table(plan, est))
        return 0
    from fleet.run.session import run
    return run(args, settings, nodes, plan, sel, confirm=lambda a, p: _confirm(a, p, est), est=est)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    signals.install()
    try:
        if argv[:1] == ["region"]:
            from fleet.regions.cli import main as region_main
            return region_main(argv[1:])
        if argv[:1] == ["facts"]:
            from fleet.facts.cli import main as facts_main
            return facts_main(argv[1:])
        if argv[:1] == ["rollback"]:
            from fleet.rollback.cli import main as rollback_main
            return rollback_main(argv[1:])
        if argv[:1] == ["audit"]:
            from fleet.audit import main as audit_main
            return audit_main(argv[1:])
        return update_main(argv)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        command = getattr(exc, "resume_command", None)
        print(f"interrupted ({signals.name(exc)}): "
              + (f"resume with: {command}" if command else "no run was started, nothing to resume"),
              file=sys.stderr)
        return signals.exit_status(exc)
