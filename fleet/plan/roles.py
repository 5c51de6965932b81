"""Waves that update one role group after another: ldap, edge, ui and the BaaS waves.

Order inside `edge` is rule 2.10: Qpid Server nodes, Postgres Server nodes, Management
Servers, Message Processors, Routers; a node belongs to the first group it matches and gets
one `-c edge` for all its Edge Java components. Nodes that run PostgreSQL get theirs in
`edge_pg`, after the pair is updated (section 6).
"""
from __future__ import annotations

from fleet.components import EDGE_JAVA
from fleet.model import Node, Step, Wave, batch_of
from fleet.plan.context import Context, chunks, per_dc_rounds

EDGE_GROUPS = ("qs", "pg", "ms", "mp", "r")


def edge_pg_nodes(ctx: Context) -> list[Node]:
    """PostgreSQL nodes with Edge Java components: master, standby, then any other."""
    nodes = [n for n in ctx.with_("ps") if n.components & EDGE_JAVA]
    rank = {"master": 0, "standby": 1}
    return sorted(nodes, key=lambda n: rank.get(n.postgres or "", 2))


def edge_nodes(ctx: Context) -> list[Node]:
    """Nodes with Edge Java components and no PostgreSQL, in vendor order."""
    return [n for n in ctx.updatable() if n.components & EDGE_JAVA and not n.has("ps")]


def edge_update(ctx: Context, n: Node) -> list[Step]:
    """`-c edge`, with routers and MPs taken out and put back in zero-downtime mode."""
    update = ctx.update(n, n.components & EDGE_JAVA)
    if not ctx.zero_downtime:
        return [update]
    before: list[Step] = []
    after: list[Step] = []
    if n.has("r"):
        rule = ctx.router_rule()
        before += [ctx.step(n, "router_block", ctx.iptables(n, "-A", rule)),
                   ctx.pause(n, "lb_wait", ctx.settings["zero_downtime.lb_wait"],
                             "load balancer health check notices the router is out")]
        after += [ctx.component(n, "r", "wait_for_ready", "router_ready"),
                  ctx.step(n, "router_unblock", ctx.iptables(n, "-D", rule))]
    if n.has("mp"):
        before += [ctx.server_uuid(n, "mp", "mp_uuid"),
                   ctx.reachable(n, "mp_uuid", False, "mp_unreachable")]
        after = [ctx.component(n, "mp", "wait_for_ready", "mp_ready"),
                 ctx.reachable(n, "mp_uuid", True, "mp_reachable")] + after
    if n.has("ms"):
        after.append(ctx.component(n, "ms", "wait_for_ready", "ms_ready"))
    return before + [update] + after


def _role_wave(ctx: Context, name: str, nodes: list[Node], setting: str,
               chain_of) -> Wave | None:
    if not nodes:
        return None
    size = int(ctx.settings[f"concurrency.{setting}"])
    rounds = per_dc_rounds(ctx, nodes, size)
    return Wave(name, tuple(batch_of([chain_of(n) for n in r], name) for r in rounds))


def ldap(ctx: Context) -> Wave | None:
    return _role_wave(ctx, "ldap", ctx.with_("ldap"), "ldap",
                      lambda n: [ctx.update(n, ["ldap"])])


def edge(ctx: Context) -> Wave | None:
    """One role group at a time, in rule 2.10 order."""
    nodes = edge_nodes(ctx)
    if not nodes:
        return None
    size = int(ctx.settings["concurrency.edge"])
    batches = []
    for group in EDGE_GROUPS:
        members = [n for n in nodes if next(g for g in EDGE_GROUPS if n.has(g)) == group]
        for r in per_dc_rounds(ctx, members, size):
            batches.append(batch_of([edge_update(ctx, n) for n in r], f"edge {group}"))
    return Wave("edge", tuple(batches))


def ui(ctx: Context) -> Wave | None:
    return _role_wave(ctx, "ui", ctx.with_("ui"), "ui", lambda n: [ctx.update(n, ["ui"])])


def edge_pg(ctx: Context) -> Wave | None:
    """Master, then standby: never both PostgreSQL nodes' Edge components down at once,
    even when the pair spans data centres."""
    nodes = edge_pg_nodes(ctx)
    if not nodes:
        return None
    rounds = chunks(nodes, int(ctx.settings["concurrency.edge_pg"]))
    return Wave("edge_pg", tuple(batch_of([edge_update(ctx, n) for n in r], "edge_pg")
                                 for r in rounds))


def baas_e(ctx: Context) -> Wave | None:
    """BaaS ElasticSearch, with the Stack where both share nodes."""
    return _role_wave(ctx, "baas_e", ctx.with_("e"), "baas",
                      lambda n: [ctx.update(n, [c for c in ("e", "b") if n.has(c)])])


def baas_b(ctx: Context) -> Wave | None:
    return _role_wave(ctx, "baas_b", [n for n in ctx.with_("b") if not n.has("e")], "baas",
                      lambda n: [ctx.update(n, ["b"])])


def baas_p(ctx: Context) -> Wave | None:
    return _role_wave(ctx, "baas_p", ctx.with_("p"), "baas", lambda n: [ctx.update(n, ["p"])])
