"""The plan as a Markdown document for a change-approval board (``--runbook FILE.md``).

Pure: plan, inventory, settings and estimate in, text out. It says what the run will do,
where, in which order and for about how long, what stops it (gates and hold points), and
how to go back. Secrets appear by name only (plans never hold their values).
"""
from __future__ import annotations

from typing import Any, Iterable

from fleet.model import CHECK, HTTP, PAUSE, POLL, Batch, Node, Plan, Step, Wave
from fleet.plan.waves import WAVE_HELP, hint
from fleet.plan.estimate import Estimate, clock
from fleet.plan.render import INFERRED, estimate_line
from fleet.plan.select import Selection
from fleet.secrets import ENV, needed
from fleet.settings import Settings

SOURCE_VERSION = "4.16.09"
ROLLBACK_DOC = "shared/docs/rollback.md"


def _cell(value: Any) -> str:
    """A Markdown table cell: no pipe or line break may split the row."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _secret_names(plan: Plan) -> list[str]:
    return [f"`{n}` (env `{ENV[n]}`)" for n in sorted(needed(plan))]


def _scope(plan: Plan, nodes: list[Node], settings: Settings, sel: Selection) -> list[str]:
    in_plan = {s.host for _, _, s in plan.iter_steps()}
    dcs = sorted({n.dc for n in nodes if n.name in in_plan})
    conc = settings["concurrency"]
    what = "every wave" if not (sel.waves or sel.from_wave) else \
        (f"waves {', '.join(sel.waves)}" if sel.waves else f"from wave {sel.from_wave} on")
    where = ", ".join(filter(None, [f"data centre(s) {', '.join(sel.dcs)}" if sel.dcs else "",
                                    f"hosts {', '.join(sel.hosts)}" if sel.hosts else ""])) \
        or "every host"
    rows = [
        ("installation", f"{len(in_plan)} host(s) in {len(dcs)} data centre(s): {', '.join(dcs)} "
                         f"(inventory {settings.inventory_files['hosts']})"),
        ("update", f"Apigee Edge for Private Cloud {SOURCE_VERSION} → {plan.target}"),
        ("mode", plan.mode + (" (rolling: routers out of the load balancer, MPs unreachable, "
                              "one at a time)" if plan.mode == "zero-downtime" else
                              " (components restart; traffic is interrupted)")),
        ("selection", f"{what}; {where}"),
        ("options", f"repository {settings['repository.mode']}, become {settings['become']}, "
                    f"data centres side by side: {'yes' if settings['dcs_in_parallel'] else 'no'}, "
                    "concurrency " + ", ".join(f"{k} {v or 'all'}" for k, v in conc.items())
                    + f", Qpid drain timeout {settings['qpid.drain_timeout']}s"
                    + (f", load balancer wait {settings['zero_downtime.lb_wait']}s"
                       if plan.mode == "zero-downtime" else "")),
        ("plan digest", f"`{plan.digest()}` (a run of this plan records the same digest)"),
        ("secrets (by name)", ", ".join(_secret_names(plan)) or "none"),
    ]
    out = ["## Scope", ""] + _table(["item", "value"], rows) + ["", "### Hosts", ""]
    waves_of = {h: [w.name for w in plan.waves if h in _changed(w)] for h in in_plan}
    out += _table(["host", "address", "DC", "components", "PostgreSQL", "waves"],
                  [(n.name, f"{n.address}:{n.port}", n.dc, " ".join(sorted(n.components)),
                    n.postgres or "", ", ".join(waves_of[n.name]))
                   for n in nodes if n.name in in_plan])
    return out


def _changed(wave: Wave) -> list[str]:
    """The hosts a wave works on (gates read every node; they are not listed here)."""
    return list(dict.fromkeys(h for b in wave.batches if not b.is_gate for h in b.hosts()))


def _estimates(plan: Plan, est: Estimate) -> list[str]:
    rows = [(i, w.name, len(_changed(w)), len(w.batches), clock(secs),
             "; ".join(b.hold for b in w.batches if b.hold))
            for i, (w, (_, secs)) in enumerate(zip(plan.waves, est.waves, strict=True), 1)]
    out = ["## Estimated duration", "", f"**{estimate_line(est)}.**", "",
           "Waves and their batches run one after the other, the hosts of a batch at the same "
           "time: each batch counts its longest host chain (fleet/plan/estimate.py). Time "
           "spent at a hold point is not counted.", ""]
    return out + _table(["#", "wave", "hosts", "batches", "estimated", "hold after"], rows)


def _holds(plan: Plan) -> list[str]:
    out = ["## Hold points", ""]
    holds = [(wi, w, bi, b) for wi, w in enumerate(plan.waves, 1)
             for bi, b in enumerate(w.batches, 1) if b.hold]
    if not holds:
        return out + ["None in this plan: the run goes from wave to wave and stops only when "
                      "a step or a gate fails (then: fix, `python runner.py --resume RUN_ID`)."]
    out.append("The run stops after these batches, journals the hold and asks whether to go on "
               "(without a terminal, or on no, it ends with status 3; `--resume RUN_ID` "
               "continues past the hold):")
    return out + [""] + [f"- wave {wi} **{w.name}**, after batch {bi} ({b.label}): {b.hold}"
                         for wi, w, bi, b in holds]


def _step_line(s: Step, width: int, act: int) -> str:
    note = ""
    if s.kind == HTTP:
        note = "   # management API, system administrator's credentials"
    elif s.kind == PAUSE:
        note = f"   # runner waits {s.timeout:g}s"
    elif s.kind == POLL:
        note = f"   # repeated every {s.interval:g}s until {s.until}, at most {s.timeout:g}s"
    if s.basis == "I":
        note += f"   # {INFERRED}"
    line = f"{s.host:<{width}}  {s.action:<{act}}  {s.command}{note}"
    for u in s.on_failure:
        line += f"\n{'':<{width}}  {'  if it fails:':<{act}}  {u.command}"
    return line


def _gate_lines(wave: str, batch: Batch) -> list[str]:
    """A gate batch as sentences: what must hold on which hosts."""
    need: dict[str, list[str]] = {}
    prepared: list[str] = []
    for s in batch.steps:
        if s.action == "gate_versions":
            pkgs = ", ".join(s.fact_args.get("packages", []))
            need.setdefault(pkgs, []).append(s.host)
        elif s.action == "gate_prepared":
            prepared.append(s.host)
    out = []
    for pkgs, hosts in need.items():
        out.append(f"- `apigee-all version` at {_target(batch)} for {pkgs} on "
                   f"{', '.join(hosts)} (every data centre, whatever the selection)")
    if prepared:
        out.append(f"- this wave's nodes prepared (`apigee-setup` at {_target(batch)}): "
                   f"{', '.join(prepared)}")
    for action in dict.fromkeys(s.action for s in batch.steps):
        what = hint(wave, action)
        if what:
            out.append(f"- if `{action}` fails: {what}")
    return out


def _target(batch: Batch) -> str:
    for s in batch.steps:
        if s.fact_args.get("target"):
            return str(s.fact_args["target"])
    return "the target"


def _wave(i: int, wave: Wave, secs: float, spans: tuple[float, ...]) -> list[str]:
    out = [f"### {i}. {wave.name} (about {clock(secs)})", "", WAVE_HELP.get(wave.name, ""), "",
           f"Hosts: {', '.join(_changed(wave))}.", ""]
    gates = [b for b in wave.batches if b.is_gate]
    if gates:
        out += ["**Gate** (checked on the live installation before any step of the wave; "
                "a failure stops the run before this wave changes anything):", ""]
        for g in gates:
            out += _gate_lines(wave.name, g)
        out.append("")
    for bi, (batch, span) in enumerate(zip(wave.batches, spans, strict=True), 1):
        if batch.is_gate:
            continue
        hosts = batch.hosts()
        together = "at the same time" if len(hosts) > 1 else "one host"
        out += [f"Batch {bi} ({batch.label}): {', '.join(hosts)}, {together}; "
                f"about {clock(span)}.", "", "```sh"]
        width = max(len(h) for h in hosts)
        act = max(14, *(len(s.action) for s in batch.steps))
        out += [_step_line(s, width, act) for s in batch.steps]
        out += ["```", ""]
        checks = [s.action for s in batch.steps if s.kind == CHECK and hint(wave.name, s.action)]
        for action in dict.fromkeys(checks):
            out.append(f"- check `{action}` must pass; if not: {hint(wave.name, action)}")
        prompts = sorted({p.secret for s in batch.steps for p in s.prompts}
                         | {name for s in batch.steps for _, name in s.inputs})
        if prompts:
            out.append(f"- secrets used (typed into their prompt or read silently, never on a "
                       f"command line): {', '.join(f'`{p}`' for p in prompts)}")
        if checks or prompts:
            out.append("")
        if batch.hold:
            out += [f"**Hold point**: {batch.hold}. The run stops here and asks before it "
                    "goes on.", ""]
    return out


def _rollback(plan: Plan) -> list[str]:
    spare = "rollback_add" in plan.wave_names()
    return [
        "## Rollback path", "",
        f"As the vendor describes it for {plan.target} (summarised in `{ROLLBACK_DOC}`):",
        "",
        "- Roll back **only the component that failed**, then retry the update; Edge does not "
        "run mixed versions, so a partial rollback is a temporary state.",
        "- Management Server, Router, Message Processor, Qpid Server and Postgres Server share "
        "code: rolling back one of them on a node rolls back all of them on that node.",
        "- PostgreSQL after `db_upgrade`: never an in-place downgrade; the spare standby that "
        "stayed on 4.16.09 becomes the master"
        + (" (this plan installs it in wave `rollback_add` and retires it only in "
           "`rollback_retire`, after every update wave succeeded)." if spare else
           " (this plan has no spare standby: no master/standby pair, or not selected)."),
        "- 1-node and 2-node installations have no rollback: retry the update.",
        "- Before the first update wave (`cs_zk`) nothing needs rolling back: a failed "
        "preflight, prepare step or gate leaves the components as they were.",
        "- The runner builds the rollback's plan from the live versions and this run's journal "
        "and shows it without changing anything: `python runner.py rollback --components "
        "COMPONENT --dry-run` (only what failed, as the vendor advises) or "
        "`python runner.py rollback --dry-run` (the whole installation); its exact commands "
        "are listed in `docs/rollback-commands.md`; steps the spec only infers are marked and "
        "need `--accept-inferred`.",
    ]


def render_runbook(plan: Plan, nodes: list[Node], settings: Settings, est: Estimate,
                   sel: Selection | None = None) -> str:
    """The whole document (``sel``: the run's --wave/--dc/--hosts, for the scope)."""
    sel = sel or Selection()
    lines = [f"# Change runbook: Apigee Edge {SOURCE_VERSION} → {plan.target}", "",
             f"Generated by the fleet runner from the inventory and config (plan digest "
             f"`{plan.digest()}`). Nothing in it was run; secrets appear by name only.", ""]
    lines += _scope(plan, nodes, settings, sel) + [""]
    lines += _estimates(plan, est) + [""]
    lines += _holds(plan) + ["", "## Waves", ""]
    for i, (wave, (_, secs), spans) in enumerate(zip(plan.waves, est.waves, est.batches, strict=True), 1):
        lines += _wave(i, wave, secs, spans)
    lines += _rollback(plan)
    return "\n".join(lines).rstrip() + "\n"
