"""The rollback plan as a Markdown document for the people who approve it
(``runner.py rollback --runbook FILE.md``): why (the failed run), what and where, every
command in order with the rollback.md statement it rests on, the inferred steps called out,
and what is left to the operator. Pure: plan, inventory, live facts and scope in, text out.
"""
from __future__ import annotations

from typing import Any

from fleet.model import Node, Plan
from fleet.plan.runbook import _step_line, _table
from fleet.plan.render import INFERRED_NOTE
from fleet.rollback.planner import WAVE_HELP, Scope, inferred_steps
from fleet.rollback.state import FailedRun

BASIS = {"S": "vendor text for 4.18.01", "S-old": "vendor text of another release",
         "I": INFERRED_NOTE, "P": "procedure.md (our rule)"}


def render_rollback_runbook(plan: Plan, nodes: list[Node], scope: Scope,
                            failed: FailedRun | None) -> str:
    in_plan = list(dict.fromkeys(s.host for _, _, s in plan.iter_steps()))
    what = (f"components {', '.join(scope.components)}" if scope.components else "every component")
    where = f"hosts {', '.join(scope.hosts)}" if scope.hosts else "every host"
    why = (f"update run `{failed.run_id}` ended {failed.status}"
           + (f", failed in {', '.join(f'{w} on {h}' for w, h in failed.failed)}"
              if failed.failed else "")
           + ("; `db_upgrade` had completed" if failed.db_upgrade_done else "")
           if failed else "no failed update run in the reports folder")
    out = [f"# Rollback runbook: Apigee Edge 4.18.01 → {plan.target}", "",
           "Per `../shared/docs/rollback.md`; exact commands in `docs/rollback-commands.md`. "
           "Nothing has run: this document was written from the live state read just before.",
           ""]
    out += _table(["item", "value"], [
        ("why", why), ("scope", f"{what}; {where}"),
        ("hosts", f"{len(in_plan)}: {', '.join(in_plan)}"),
        ("plan digest", f"`{plan.digest()}`"),
        ("inferred steps", f"{len(inferred_steps(plan))} (marked below; the run needs "
                           "`--accept-inferred`)")])
    out += ["", "## Waves", ""]
    for i, w in enumerate(plan.waves, 1):
        out += [f"### {i}. {w.name}", "", WAVE_HELP.get(w.name, ""), ""]
        for bi, b in enumerate(w.batches, 1):
            hosts = b.hosts()
            width = max(len(h) for h in hosts)
            act = max(14, *(len(s.action) for s in b.steps))
            out += [f"Batch {bi} ({b.label}): {', '.join(hosts)}.", "", "```sh"]
            for s in b.steps:
                tag = s.basis if s.basis != "I" else None      # _step_line marks [I] itself
                out.append(_step_line(s, width, act)
                           + (f"   # [{tag}] {BASIS.get(tag, '')}" if tag else ""))
            out += ["```", ""]
    out += ["## Left to the operator", ""] + [f"- {n}" for n in next_steps(plan)]
    return "\n".join(out) + "\n"


def next_steps(plan: Plan) -> list[str]:
    """What the operator does after this plan ran: cs/zk restores, then the retry."""
    notes = [s.command.split(": ", 1)[1] for _, _, s in plan.iter_steps()
             if s.action == "restore_cs_zk_by_hand"]
    if "rb_postgres" in plan.wave_names():
        promote = next(s for _, _, s in plan.iter_steps() if s.action == "promote")
        notes.append(f"{promote.host} is now the PostgreSQL master: set its inventory role to "
                     "master; the old master is stopped and deregistered (its data kept): rebuild "
                     "it as the next spare (rollback_standby). Then retry the update with a new "
                     "run: python runner.py --all")
    else:
        notes.append("rolled back; the update is still pending: fix the cause, then retry it "
                     "with a new run (the spare standby is already there): "
                     "python runner.py --from-wave prepare")
    return notes


def write(path: str, text: str) -> None:
    from pathlib import Path

    from fleet.errors import InputError
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--runbook {path}: cannot write: {exc.strerror or exc}") from None
    print(f"runbook written to {path} (nothing was run)")


__all__: list[Any] = ["render_rollback_runbook", "write"]
