"""`region add …` / `region remove …`: inputs -> read state -> guards -> plan -> run.

Exit codes: 0 done (or dry run), 1 a step failed (re-run the same command to continue),
2 refused (bad input, a guard, no --yes without a terminal): nothing was changed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from fleet.errors import InputError
from fleet.model import Plan
from fleet.regions import inputs as inputs_mod
from fleet.regions.endpoint import ENV, Endpoint, check_unattended, resolve
from fleet.regions.planner import plan_add, plan_remove
from fleet.regions.snapshot import OrgState

EPILOG = """examples:
  region add --spec inventory/regions/example.yaml --endpoint http://127.0.0.1:8790 --dry-run
  region add --spec inventory/regions/example.yaml --region us-west1 --yes
  region add --project my-org --project-number 123456789012 --network apigee-vpc \\
      --backend-service apigee-xlb-backend --location us-west1 --routing psc \\
      --subnet apigee-subnet --yes
  region remove --spec inventory/regions/example.yaml --region us-west1 --yes

Without --endpoint (or the inputs file's endpoint, or FLEET_GCP_ENDPOINT) the calls go to
Google with the credentials of google.auth.default() (gcloud auth application-default login,
or a service account). The endpoint in use heads every plan and run; with --yes,
FLEET_GCP_ENDPOINT alone is refused (confirm it with --endpoint).
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="runner.py region", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Add or remove Apigee X runtime regions.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{add,remove}")
    for name, text in (("add", "add regions: key, ranges, peering, instance, environments, "
                               "routing"),
                       ("remove", "remove regions: drain, detach backend, delete instance "
                                  "and routing")):
        s = sub.add_parser(name, help=text, description=text, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        g = s.add_argument_group("inputs (flags override the --spec file)")
        g.add_argument("--spec", metavar="FILE", help="YAML inputs (see "
                       "inventory/regions/example.yaml)")
        g.add_argument("--region", action="append", metavar="LOCATION",
                       help="only these locations of the spec (repeatable)")
        g.add_argument("--project", help="project id (= organization name)")
        g.add_argument("--project-number")
        g.add_argument("--network", help="the VPC peered with Apigee")
        g.add_argument("--backend-service", help="the production load balancer's backend "
                       "service")
        g.add_argument("--draining-timeout", type=int, dest="draining_timeout_sec",
                       metavar="SEC", help="connection draining timeout (default 300)")
        g.add_argument("--drain-wait", type=float, dest="drain_wait_sec", metavar="SEC",
                       help="wait after detaching a backend (default: the draining timeout)")
        r = s.add_argument_group("one region by flags (added to or overriding the spec)")
        r.add_argument("--location", help="Compute Engine region, e.g. us-west1")
        r.add_argument("--instance", help="instance name (default apigee-LOCATION)")
        r.add_argument("--key-ring")
        r.add_argument("--key")
        r.add_argument("--range22", help="name of the /22 peering range")
        r.add_argument("--range28", help="name of the /28 peering range")
        r.add_argument("--cidr22", help="explicit /22 (default: Compute picks a free one)")
        r.add_argument("--cidr28", help="explicit /28")
        r.add_argument("--routing", choices=("psc", "mig"))
        r.add_argument("--subnet")
        r.add_argument("--neg", help="PSC network endpoint group name")
        r.add_argument("--mig", help="managed instance group name")
        r.add_argument("--consumer-accept-list", metavar="PROJECTS",
                       help="comma-separated projects allowed to connect over PSC")
        x = s.add_argument_group("run")
        x.add_argument("--endpoint", help="API endpoint (the lab emulator); else the inputs "
                       "file's endpoint, else env FLEET_GCP_ENDPOINT")
        x.add_argument("--snapshot", metavar="FILE", help="plan from this state JSON instead "
                       "of reading the org (only with --dry-run/--plan-out)")
        x.add_argument("--dry-run", action="store_true", help="print the plan and stop")
        x.add_argument("--plan-out", metavar="FILE", help="write the plan JSON")
        x.add_argument("--reports", default="reports", metavar="DIR",
                       help="reports folder (default reports/)")
        x.add_argument("--no-reports", action="store_true",
                       help="write only plan.json and journal.jsonl, no CSV/HTML reports")
        x.add_argument("--yes", action="store_true", help="do not ask (required without a "
                       "terminal)")
        x.add_argument("--op-timeout", type=float, default=3600.0, metavar="SEC",
                       help="give up on one long-running operation after this (default 3600)")
        x.add_argument("--poll-interval", type=float, default=10.0, metavar="SEC",
                       help="operation poll interval (default 10)")
        x.add_argument("--retries", type=int, default=6, metavar="N",
                       help="tries of a call answered 429 or 5xx, or cut off (default 6); "
                            "the Apigee org lock is retried until --op-timeout")
        x.add_argument("--retry-delay", type=float, default=1.0, metavar="SEC",
                       help="first back-off, doubled on each retry up to 60 s (default 1)")
    return p


def _flags(a: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(a, k) for k in (
        "project", "project_number", "network", "backend_service", "draining_timeout_sec",
        "drain_wait_sec")}
    if a.location:
        routing: dict[str, Any] = {}
        if a.routing:
            routing = {"mode": a.routing, "subnet": a.subnet, "neg": a.neg, "mig": a.mig}
        out["region"] = {"location": a.location, "instance": a.instance, "key_ring": a.key_ring,
                         "key": a.key, "range22": a.range22, "range28": a.range28,
                         "cidr22": a.cidr22, "cidr28": a.cidr28,
                         "consumer_accept_list": a.consumer_accept_list,
                         "routing": {k: v for k, v in routing.items() if v} or None}
    elif any(getattr(a, k) for k in ("instance", "routing", "subnet", "cidr22", "cidr28")):
        raise InputError("region flags (--instance, --routing, …) need --location")
    return out


def render_plan(plan: Plan, out: TextIO) -> None:
    """The plan as a table: one row per API call, body in compact JSON."""
    rows = [(f"{plan.waves[wi].name}/{bi}", s.host, s.action,
             s.request.method if s.request else s.kind,
             s.request.url if s.request else s.command,
             json.dumps(s.request.body, separators=(",", ":")) if s.request and s.request.body
             else "") for wi, bi, s in plan.iter_steps()]
    if out.isatty() and not os.environ.get("NO_COLOR"):
        from rich.console import Console
        from rich.table import Table
        t = Table(title=f"{plan.mode} {plan.target}: {len(rows)} steps")
        for col in ("#", "wave/batch", "host", "action", "method", "url", "body"):
            t.add_column(col, overflow="fold")
        for i, r in enumerate(rows, 1):
            t.add_row(str(i), *r)
        Console(file=out).print(t)
        return
    out.write(f"{plan.mode} {plan.target}: {len(rows)} steps\n")
    for i, (wb, host, action, method, url, body) in enumerate(rows, 1):
        out.write(f"{i:>3} {wb:<12} {host:<14} {action:<18} {method:<6} {url}\n")
        if body:
            out.write(f"{'':>4}{'':<12} body {body}\n")


def _confirm(a: argparse.Namespace, plan: Plan, ep: Endpoint) -> None:
    check_unattended(ep, a.yes)
    if a.yes:
        return
    if not sys.stdin.isatty():
        raise InputError("no terminal to confirm on: pass --yes to run without asking "
                         "(or --dry-run to only see the plan)")
    answer = input(f"Run {sum(1 for _ in plan.iter_steps())} steps ({plan.mode} "
                   f"{plan.target}) against {ep.url or 'Google'}? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise InputError("not confirmed; nothing was changed")


def run(a: argparse.Namespace, argv: list[str], out: TextIO) -> int:
    from fleet.regions.client import ApiCallError, Apis, RetryPolicy
    from fleet.regions.draining import drain_history
    from fleet.regions.executor import Executor
    from fleet.regions.live import read_state
    from fleet.regions.progress import make_progress
    from fleet.run.journal import Journal, new_run_id

    inp = inputs_mod.load(a.spec, _flags(a), a.region)
    ep = resolve(a.endpoint, inp.endpoint)
    out.write(ep.banner() + "\n")
    if not ep.google and ep.source == ENV:
        sys.stderr.write(f"warning: {ep.banner()}\n")
    if a.snapshot and not (a.dry_run or a.plan_out):
        raise InputError("--snapshot is for planning only: use it with --dry-run or --plan-out")
    if a.op_timeout <= 0 or a.poll_interval <= 0 or a.retry_delay <= 0 or a.retries < 1:
        raise InputError("--op-timeout, --poll-interval, --retry-delay and --retries must be "
                         "positive")
    apis = None
    if a.snapshot:
        try:
            state = OrgState.from_json(json.loads(Path(a.snapshot).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(f"--snapshot {a.snapshot}: {exc}") from None
    else:
        apis = _apis(Apis, ep.url, RetryPolicy(a.retries, a.retry_delay,
                                               max(a.retry_delay, 60.0), a.op_timeout))
        apis.notify = lambda text: out.write(f"note: reading the organization: {text}\n")
        try:
            state = read_state(apis, inp)
        except (ApiCallError, OSError) as exc:
            raise InputError(f"cannot read the organization's state: {exc}") from None
    build = plan_add if a.command == "add" else plan_remove
    plan = build(inp, state, op_timeout=a.op_timeout, poll_interval=a.poll_interval)
    plan_json = json.dumps({**plan.to_json(), "endpoint": ep.record()}, indent=2)
    if a.plan_out:
        Path(a.plan_out).write_text(plan_json, encoding="utf-8")
        out.write(f"plan written to {a.plan_out} ({plan.digest()})\n")
    if a.dry_run:
        render_plan(plan, out)
        return 0
    if a.plan_out and a.snapshot:
        return 0
    _confirm(a, plan, ep)
    run_id = f"{new_run_id(f'region-{a.command}-')}-{uuid.uuid4().hex[:4]}"
    journal = Journal.create(Path(a.reports), run_id, plan_json)
    (journal.folder / "snapshot.json").write_text(json.dumps(state.to_json(), indent=2))
    _hosts(journal.folder, plan)
    progress = make_progress(out)
    try:
        assert apis is not None
        history = drain_history(Path(a.reports), plan.target) if a.command == "remove" else {}
        ok = Executor(apis, plan, journal, progress, drain_history=history,
                      endpoint=ep.record()).run(["region", *argv])
    finally:
        progress.close()
    if not a.no_reports:
        _reports(journal.folder)
    ex = journal.events()[-1].get("summary", {})
    out.write(f"run {run_id}: {'done' if ok else 'FAILED'} ({ex.get('ok', 0)} changed, "
              f"{ex.get('unchanged', 0)} already done, {ex.get('failed', 0)} failed, "
              f"{ex.get('not_run', 0)} not run); journal {journal.folder}/journal.jsonl\n")
    if not ok:
        out.write("fix the cause and run the same command again: done steps are skipped\n")
    return 0 if ok else 1


def _apis(cls: Any, endpoint: str | None, retry: Any) -> Any:
    try:
        return cls(endpoint=endpoint, retry=retry)
    except Exception as exc:         # DefaultCredentialsError and friends: say what to do
        raise InputError(f"cannot set up Google API clients: {exc} (run `gcloud auth "
                         f"application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or "
                         f"pass --endpoint for the lab emulator)") from None


def _hosts(folder: Path, plan: Plan) -> None:
    """hosts.json for the reports: each host is a region (its own 'data centre')."""
    try:
        from fleet.reports import write_hosts_json
    except ImportError:
        return
    from types import SimpleNamespace
    hosts = dict.fromkeys(s.host for _, _, s in plan.iter_steps())
    write_hosts_json(folder, [SimpleNamespace(name=h, dc=h, machine=None, postgres=None,
                                              components=["apigee-x"] if h != "global" else [])
                              for h in hosts])


def _reports(folder: Path) -> None:
    """steps.csv/report.html from the journal, with the Edge runs' reports module."""
    try:
        from fleet.reports import write_run_reports
    except ImportError:
        return
    try:
        write_run_reports(folder)
    except Exception as exc:      # a report problem must not hide the run's own outcome
        sys.stderr.write(f"warning: reports not written: {type(exc).__name__}: {exc}\n")


def main(argv: list[str], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        a = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return run(a, argv, out)
    except InputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt as exc:            # Ctrl-C, SIGTERM, SIGHUP (fleet.signals)
        from fleet.signals import exit_status
        sys.stderr.write("interrupted: run the same command again to continue\n")
        return exit_status(exc)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
