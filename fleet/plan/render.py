"""The plan as a table a person reads before saying yes (--dry-run)."""
from __future__ import annotations

from fleet.model import Plan
from fleet.plan.estimate import Estimate, clock


INFERRED_NOTE = "inferred — verify with vendor support"   # a step whose basis is "I"
INFERRED = f"[I] {INFERRED_NOTE}"


def estimate_line(est: Estimate) -> str:
    """The window as one line: for --dry-run, the confirmation and the README."""
    return f"Estimated window: {clock(est.total)} ({est.basis()})"


def render_table(plan: Plan, est: Estimate | None = None) -> str:
    what = "rollback" if plan.mode == "rollback" else "update"
    lines = [f"Plan: {what} to {plan.target}, {plan.mode} mode, {len(plan.waves)} wave(s), "
             f"{sum(1 for _ in plan.iter_steps())} step(s), digest {plan.digest()}",
             "Hosts of a batch run at the same time; a host's steps run in order."]
    for wi, wave in enumerate(plan.waves, 1):
        lines.append("")
        about = f" (about {clock(est.waves[wi - 1][1])})" if est else ""
        lines.append(f"wave {wi}: {wave.name}{about}")
        for bi, batch in enumerate(wave.batches, 1):
            lines.append(f"  batch {bi} ({batch.label}) on {', '.join(batch.hosts())}")
            for s in batch.steps:
                lines.append(f"    {s.host:<10} {s.action:<18} {s.command}")
                if s.basis == "I":
                    lines.append(f"    {'':<10} {'':<18} {INFERRED}")
                for u in s.on_failure:
                    lines.append(f"    {'':<10} {'  if it fails:':<18} {u.command}")
            if batch.hold:
                lines.append(f"  HOLD: {batch.hold} (the run asks before it goes on)")
    if est:
        lines += ["", estimate_line(est)]
    return "\n".join(lines)
