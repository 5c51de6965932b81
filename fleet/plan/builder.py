"""Inventory and settings in, the whole plan out: wave order, gates, no I/O.

The waves and their order come from the registry (fleet/plan/waves.py: procedure.md rule
2.7 with section 6 folded in); one rule is applied here: the UI wave moves after `edge_pg`
when a UI node also runs PostgreSQL (the single node), because a node's UI is updated after
its own `-c edge`.
"""
from __future__ import annotations

from typing import Iterable

from fleet.errors import InputError
from fleet.model import GATE, Batch, Node, Plan, Wave, batch_of
from fleet.plan import roles
from fleet.plan.context import MAINTENANCE, ZERO_DOWNTIME, Context
from fleet.plan.waves import BY_NAME, UPDATE_WAVES, WAVES, WaveSpec, with_timeouts
from fleet.settings import Settings

__all__ = ["build_plan", "updated_by"]


def updated_by(ctx: Context) -> dict[str, dict[str, frozenset[str]]]:
    """wave -> host -> the components that wave brings to the target version."""
    pg_nodes = frozenset(n.name for n in roles.edge_pg_nodes(ctx))
    out: dict[str, dict[str, frozenset[str]]] = {w: {} for w in UPDATE_WAVES}
    for n in ctx.updatable():
        for spec in WAVES:
            comps = spec.updates(n, ctx, pg_nodes) if spec.updates else set()
            if comps:
                out[spec.name][n.name] = frozenset(comps)
    return out


def _gate(ctx: Context, wave: Wave, earlier: Iterable[str],
          done: dict[str, dict[str, frozenset[str]]]) -> Batch | None:
    """Live-state checks before a wave: earlier waves' components at the target on every
    node of every data centre, and this wave's nodes prepared."""
    need: dict[str, set[str]] = {}
    for w in earlier:
        for host, comps in done.get(w, {}).items():
            need.setdefault(host, set()).update(comps)
    in_wave = set(wave.hosts())
    chains = []
    for n in ctx.updatable():
        chain = []
        if need.get(n.name):
            chain.append(ctx.versions_check(n, need[n.name], "gate_versions"))
        if n.name in in_wave and BY_NAME[wave.name].updates:
            chain.append(ctx.packages_check(n, ctx.service_cmd(n, "apigee-setup", "version"),
                                            ["apigee-setup"], "gate_prepared"))
        if chain:
            chains.append(chain)
    return batch_of(chains, GATE) if chains else None


def _build(spec: WaveSpec, ctx: Context) -> Wave | None:
    wave = spec.build(ctx)
    if wave is None:
        return None
    return with_timeouts(wave, {a: ctx.settings.timeout(c) for a, c in spec.timeouts.items()})


def build_plan(nodes: list[Node], settings: Settings, zero_downtime: bool = False) -> Plan:
    mode = ZERO_DOWNTIME if zero_downtime else MAINTENANCE
    ctx = Context.build(nodes, settings, mode)
    if zero_downtime and len(ctx.updatable()) < 5:
        raise InputError(f"--zero-downtime needs an install of 5 nodes or more; this one has "
                         f"{len(ctx.updatable())} (procedure.md section 5)")
    built = [_build(spec, ctx) for spec in WAVES]
    present = [w for w in built if w is not None and w.batches]
    pg_names = {n.name for n in roles.edge_pg_nodes(ctx)}
    ui = next((w for w in present if w.name == "ui"), None)
    if ui is not None and any(h in pg_names for h in ui.hosts()):
        present.remove(ui)
        after = [i for i, w in enumerate(present) if w.name in ("postgres", "edge_pg")]
        present.insert(after[-1] + 1 if after else len(present), ui)
    done = updated_by(ctx)
    gated: list[Wave] = []
    for i, w in enumerate(present):
        spec = BY_NAME[w.name]
        if spec.updates or spec.gated:
            gate = _gate(ctx, w, [p.name for p in present[:i]], done)
            if gate:
                w = Wave(w.name, (gate,) + w.batches)
        gated.append(w)
    return Plan(target=ctx.target, mode=mode, waves=tuple(gated))
