"""Inventory and settings in, the whole plan out: wave order, gates, no I/O.

The wave order is procedure.md rule 2.7 with section 6 folded in: the UI wave moves after
`edge_pg` when a UI node also runs PostgreSQL (the single node), because a node's UI is
updated after its own `-c edge`.
"""
from __future__ import annotations

from typing import Iterable

from fleet.components import EDGE_JAVA
from fleet.errors import InputError
from fleet.model import Batch, Node, Plan, Wave, batch_of
from fleet.plan import datastore, postgres, prepare, roles
from fleet.plan.context import MAINTENANCE, ZERO_DOWNTIME, Context
from fleet.settings import Settings

WAVE_NAMES = ("preflight", "rollback_add", "prepare", "cs_zk", "qpid", "ldap", "edge", "ui",
              "postgres", "edge_pg", "baas_e", "baas_b", "baas_p", "rollback_retire",
              "validate")
WAVE_HELP = {
    "preflight": "read-only checks: components running, config file, SMTPMAILFROM, SELinux",
    "rollback_add": "install the rollback standby on the old version (section 6)",
    "prepare": "yum, bootstrap 4.18.01, apigee-setup update; Cassandra repair cron off",
    "cs_zk": "update.sh -c cs,zk on every datastore node (quorum-safe with --zero-downtime)",
    "qpid": "block 5672, drain, update.sh -c qpid, unblock: one broker per DC at a time",
    "ldap": "update.sh -c ldap",
    "edge": "update.sh -c edge: Qpid Servers, Postgres Servers, MS, MPs, Routers",
    "ui": "update.sh -c ui",
    "postgres": "PostgreSQL 9.6: stop, -c ps, db_upgrade on the master, standby rebuilt",
    "edge_pg": "update.sh -c edge on the PostgreSQL nodes",
    "baas_e": "API BaaS ElasticSearch (and Stack on shared nodes)",
    "baas_b": "API BaaS Stack",
    "baas_p": "API BaaS Portal",
    "rollback_retire": "decommission the rollback standby",
    "validate": "apigee-validate, repair cron restored, every version checked",
}
UPDATE_WAVES = ("cs_zk", "qpid", "ldap", "edge", "ui", "postgres", "edge_pg",
                "baas_e", "baas_b", "baas_p")


def updated_by(ctx: Context) -> dict[str, dict[str, frozenset[str]]]:
    """wave -> host -> the components that wave brings to the target version."""
    pg_nodes = {n.name for n in roles.edge_pg_nodes(ctx)}
    out: dict[str, dict[str, frozenset[str]]] = {w: {} for w in UPDATE_WAVES}
    for n in ctx.updatable():
        c = n.components
        parts = {
            "cs_zk": c & {"cs", "zk"}, "qpid": c & {"qpid"}, "ldap": c & {"ldap"},
            "edge": c & EDGE_JAVA if n.name not in pg_nodes and not n.has("ps") else set(),
            "ui": c & {"ui"}, "postgres": c & {"ps"},
            "edge_pg": c & EDGE_JAVA if n.name in pg_nodes else set(),
            "baas_e": c & {"e", "b"} if n.has("e") else set(),
            "baas_b": c & {"b"} if not n.has("e") else set(), "baas_p": c & {"p"},
        }
        for wave, comps in parts.items():
            if comps:
                out[wave][n.name] = frozenset(comps)
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
        if n.name in in_wave and wave.name in UPDATE_WAVES:
            chain.append(ctx.packages_check(n, ctx.service_cmd(n, "apigee-setup", "version"),
                                            ["apigee-setup"], "gate_prepared"))
        if chain:
            chains.append(chain)
    return batch_of(chains, "gate") if chains else None


def build_plan(nodes: list[Node], settings: Settings, zero_downtime: bool = False) -> Plan:
    mode = ZERO_DOWNTIME if zero_downtime else MAINTENANCE
    ctx = Context.build(nodes, settings, mode)
    if zero_downtime and len(ctx.updatable()) < 5:
        raise InputError(f"--zero-downtime needs an install of 5 nodes or more; this one has "
                         f"{len(ctx.updatable())} (procedure.md section 5)")
    ui_wave = roles.ui(ctx)
    pg_names = {n.name for n in roles.edge_pg_nodes(ctx)}
    ui_late = ui_wave is not None and any(h in pg_names for h in ui_wave.hosts())
    waves: list[Wave | None] = [
        prepare.preflight(ctx), postgres.rollback_add(ctx), prepare.prepare(ctx),
        datastore.cs_zk(ctx), datastore.qpid(ctx), roles.ldap(ctx), roles.edge(ctx),
        None if ui_late else ui_wave,
        postgres.postgres(ctx), roles.edge_pg(ctx),
        ui_wave if ui_late else None,
        *roles.baas(ctx), postgres.rollback_retire(ctx), prepare.validate(ctx),
    ]
    present = [w for w in waves if w is not None and w.batches]
    done = updated_by(ctx)
    gated: list[Wave] = []
    for i, w in enumerate(present):
        if w.name in UPDATE_WAVES or w.name == "rollback_retire":
            gate = _gate(ctx, w, [p.name for p in present[:i]], done)
            if gate:
                w = Wave(w.name, (gate,) + w.batches)
        gated.append(w)
    return Plan(target=ctx.target, mode=mode, waves=tuple(gated))
