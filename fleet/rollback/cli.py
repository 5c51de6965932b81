"""`python runner.py rollback`: read the live state, plan, show, and run the rollback with
the update's session (secrets, confirmation, lock and leases, journal, executor, reports).

Order of refusals, each exit 2 with the reason: bad arguments and the 1-/2-node topologies
(nothing contacted); another runner holding the installation's control lock (nothing
contacted); a state that cannot be rolled back (after read-only `apigee-all version` on
every host); inferred steps without --accept-inferred; a lease held by another run on any
node (before the first change, by the session).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fleet.cli import Parser, add_file_options, names, write_plan
from fleet.errors import InputError
from fleet.model import Plan

EPILOG = """scopes (rollback.md section 4):
  (none)                the whole installation, the update's order reversed: PostgreSQL
                        pair with the spare, Routers/MPs/MSs/Postgres/Qpid Servers, UI,
                        LDAP, qpidd; Cassandra/ZooKeeper are never rolled back: the plan
                        ends with what to restore from backup by hand
  --components edge,ui  only these components (names ms r mp qs pg ui ldap qpid ps, or the
                        update code edge) where they report 4.18.01, then retry the update;
                        shared code (ms r mp qs pg on one node) always goes together,
                        and a Qpid Server takes its node's qpidd along (drained first)
  --hosts A,B           only these hosts (with --components: both)
The live state is read first (read-only `apigee-all version` on every host) and the
journal of the failed update run in --reports (the latest, or --after RUN_ID). Steps that
rollback.md marks inferred [I] are shown as "inferred — verify with vendor support" and need
--accept-inferred to run. Refused with exit 2 before any change: 1- and 2-node installs,
--to other than 4.16.09, another run holding the installation, no spare standby (or one
already retired) when PostgreSQL must be rolled back, nothing to roll back.
Exact commands: docs/rollback-commands.md.
After a PostgreSQL rollback the spare is the master: change the inventory's roles before
retrying the update (the update refuses to retire a spare a rollback promoted).
exit status: 0 done, 1 a step or gate failed (resume with: rollback --resume RUN_ID),
2 refused (nothing changed), 130/143/129 interrupted by a signal."""


# the update wave that failed -> what --components rolls back for it
WAVE_CODES = {"qpid": "qpid", "ldap": "ldap", "edge": "edge", "edge_pg": "edge", "ui": "ui",
              "postgres": "ps"}


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="runner.py rollback", command="rollback", allow_abbrev=False,
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                description="Roll an installation updated to 4.18.01 (wholly or in part) back "
                            "to 4.16.09, per ../shared/docs/rollback.md.")
    p.add_argument("--components", action="append", metavar="C[,C]",
                   help="roll back only these components (then retry the update)")
    p.add_argument("--hosts", action="append", metavar="A,B", help="only these hosts")
    p.add_argument("--to", default="4.16.09", metavar="VERSION",
                   help="the version to return to; only 4.16.09 is supported")
    p.add_argument("--after", metavar="RUN_ID",
                   help="the failed update run (default: the latest one in --reports that did "
                        "not end ok)")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="continue a stopped rollback run with its stored plan")
    p.add_argument("--dry-run", action="store_true",
                   help="read the live state, print the plan, change nothing")
    p.add_argument("--plan-out", metavar="FILE", help="write the plan as JSON")
    p.add_argument("--runbook", metavar="FILE.md",
                   help="write the plan as a Markdown runbook (every command with its "
                        "rollback.md tag, inferred steps marked) and exit")
    p.add_argument("--live", metavar="FILE",
                   help="plan from saved `apigee-all version` outputs (JSON or YAML: host -> "
                        "output) instead of reading the hosts; only with --dry-run, "
                        "--plan-out or --runbook")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--accept-inferred", action="store_true",
                   help="run the steps rollback.md marks inferred [I] (read them first)")
    p.add_argument("--break-lock", action="store_true",
                   help="after a crashed run: take over the leases it left on the nodes")
    add_file_options(p)
    return p


def _load_live(path: str) -> dict[str, str]:
    import yaml
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"--live {path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InputError(f"--live {path}: must map host names to `apigee-all version` output")
    return {str(k): v for k, v in data.items()}


def _read_hosts(nodes: list, settings: Any, secrets: Any) -> dict[str, str]:
    """`apigee-all version` of every host, read-only; an unreadable host refuses."""
    from fleet.audit.collect import collect
    readings = collect(nodes, settings, secrets)
    bad = [f"{h}: {r.error or f'exit status {r.version_rc}'}" for h, r in readings.items()
           if r.error or r.version_rc not in (0, None)]
    if bad:
        raise InputError("cannot read the live state (apigee-all version) of "
                         + "; ".join(bad) + "; nothing was changed")
    return {h: r.version_output for h, r in readings.items()}


def _probe_lock(nodes: list) -> None:
    """Refuse at once when a runner holds the installation (nothing read or changed)."""
    from fleet.run.lock import ControlLock
    ControlLock(nodes, "rollback-check").acquire().release()


def _confirm(args: argparse.Namespace, plan: Plan) -> None:
    from fleet.rollback.planner import inferred_steps
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise InputError("no terminal to confirm on: pass --yes to run without confirmation")
    hosts = sorted({s.host for _, _, s in plan.iter_steps()})
    print(f"About to ROLL BACK to {plan.target}: waves {', '.join(plan.wave_names())} on "
          f"{len(hosts)} host(s); {len(inferred_steps(plan))} step(s) are inferred.")
    if input("A full backup of every node exists and the window is open. Type 'yes': "
             ).strip().lower() != "yes":
        raise InputError("not confirmed; nothing was done")


def _require_accept(args: argparse.Namespace, plan: Plan) -> None:
    from fleet.plan.render import INFERRED_NOTE
    from fleet.rollback.planner import inferred_steps
    steps = inferred_steps(plan)
    if steps and not args.accept_inferred:
        actions = sorted({s.action for s in steps})
        raise InputError(f"the plan has {len(steps)} step(s) rollback.md marks inferred "
                         f"({INFERRED_NOTE}): {', '.join(actions)}; read them in --dry-run "
                         "and docs/rollback-commands.md, then pass --accept-inferred")


def _stored(settings: Any, args: argparse.Namespace) -> tuple[Plan, Any]:
    from fleet.rollback.planner import Scope
    from fleet.run.executor import reports_dir
    from fleet.run.journal import JOURNAL, PLAN, read_events
    from fleet.values import name as valid_name
    valid_name(args.resume, "--resume", "run id")
    folder = reports_dir(settings, args.reports) / args.resume
    try:
        plan = Plan.from_json(json.loads((folder / PLAN).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"--resume {args.resume}: cannot read {folder / PLAN}: {exc}") from None
    if plan.mode != "rollback" or not (folder / JOURNAL).exists():
        raise InputError(f"--resume {args.resume}: not a rollback run (resume an update with "
                         "python runner.py --resume)")
    start = next((e for e in read_events(folder) if e.get("event") == "run_start"), {})
    s = start.get("selection") or {}
    return plan, Scope(hosts=tuple(s.get("hosts") or ()),
                       components=tuple(s.get("components") or ()), after=s.get("after"))


def main(argv: list[str]) -> int:
    from fleet.inventory import load_inventory
    from fleet.plan.render import render_table
    from fleet.rollback import state
    from fleet.rollback.planner import Scope, build_rollback, refuse_topology
    from fleet.run.executor import reports_dir
    from fleet.settings import load_settings

    args = parser().parse_args(argv)
    if args.to != state.BACK:
        raise InputError(f"rollback --to {args.to}: only {state.BACK} is supported (the update "
                         f"goes from {state.BACK} to {state.FROM})")
    show = args.dry_run or args.plan_out or args.runbook
    if args.live and not show or args.live and args.resume:
        raise InputError("--live plans from saved outputs: only with --dry-run, --plan-out "
                         "or --runbook")
    if not (show or args.yes or sys.stdin.isatty()):
        raise InputError("no terminal to confirm on: pass --yes (or --dry-run to see the plan)")
    settings = load_settings(Path(args.config), Path(args.inventory) if args.inventory else None)
    if str(settings["target_version"]) != state.FROM:
        raise InputError(f"rollback undoes the {state.BACK} -> {state.FROM} update; this "
                         f"config's target_version is {settings['target_version']}")
    nodes = load_inventory(settings.inventory_files)
    refuse_topology(nodes)
    scope = Scope(hosts=names(args.hosts), components=names(args.components), after=args.after)
    scope.expanded()
    failed = None
    if args.resume:
        plan, scope = _stored(settings, args)
    else:
        if not args.live:
            _probe_lock(nodes)
        reports = reports_dir(settings, args.reports)
        spare = next((n.name for n in nodes if n.postgres == "rollback_standby"), None)
        if args.live:
            outputs = _load_live(args.live)
        else:
            from fleet.secrets import load_secrets
            outputs = _read_hosts(nodes, settings, load_secrets(args.secrets or settings["secrets_file"]))
        failed = state.read_failed_run(reports, args.after)
        live = state.Live(state.from_outputs(outputs), failed,
                          state.spare_retired_by(reports, spare), settings["releases"] or {})
        plan = build_rollback(nodes, settings, live, scope)
        if failed:
            print(f"failed update run {failed.run_id} ({failed.status}): "
                  + (", ".join(f"{w} on {h}" for w, h in failed.failed) or "no failed step")
                  + ("; db_upgrade had completed" if failed.db_upgrade_done else ""))
            codes = sorted({WAVE_CODES[w] for w, _ in failed.failed if w in WAVE_CODES})
            if codes and not scope.components:
                print(f"  the vendor's first advice is to roll back only what failed, then "
                      f"retry: --components {','.join(codes)}")
            if failed.status == "unfinished":
                print(f"  run {failed.run_id} never ended (killed?): its leases may still hold "
                      "the nodes; check that nothing of it runs, then add --break-lock")
    if args.plan_out:
        write_plan(args.plan_out, plan)
    if args.runbook:
        from fleet.rollback.runbook import render_rollback_runbook, write
        write(args.runbook, render_rollback_runbook(plan, nodes, scope, failed))
    if show:
        if args.dry_run:
            print(render_table(plan))
        return 0
    _require_accept(args, plan)
    from fleet.run.session import run
    from fleet.plan.holds import HoldOptions
    args.holds, args.subcommand = HoldOptions(), "rollback"     # no hold points in a rollback
    rc = run(args, settings, nodes, plan, scope, confirm=_confirm)
    _after(plan, rc)
    return rc


def _after(plan: Plan, rc: int) -> None:
    """What the operator must do next, printed after the run's summary: the Cassandra /
    ZooKeeper restores, and (when it completed) how to retry the update."""
    from fleet.rollback.runbook import next_steps
    notes = next_steps(plan)
    for line in notes if rc == 0 else notes[:-1]:
        print(f"  {line}")
