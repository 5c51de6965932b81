"""The cs_zk and qpid waves (procedure.md sections 2.7, 4 and 5)."""
from __future__ import annotations

from fleet.facts import qpid_stat
from fleet.model import Batch, Node, Wave, batch_of
from fleet.plan.context import Context, chunks
from fleet.plan.quote import q


def _interleave(nodes: list[Node]) -> list[Node]:
    """First node of each data centre, then the second of each, ... (vendor order kept)."""
    by_dc: dict[str, list[Node]] = {}
    for n in nodes:
        by_dc.setdefault(n.dc, []).append(n)
    longest = max((len(v) for v in by_dc.values()), default=0)
    return [v[i] for i in range(longest) for v in by_dc.values() if i < len(v)]


def _quorum_safe(ctx: Context, nodes: list[Node]) -> list[list[Node]]:
    """Batches in which at most one Cassandra node per data centre and no more ZooKeeper
    voters are down than keeps a majority of the whole ensemble (section 5, our rule)."""
    voters = [n for n in ctx.with_("zk") if not n.observer]
    spare = max((len(voters) - 1) // 2, 1)   # a lone voter must go down some time

    def fits(batch: list[Node], n: Node) -> bool:
        if n.has("cs") and any(m.has("cs") and m.dc == n.dc for m in batch):
            return False
        down = sum(1 for m in batch + [n] if m.has("zk") and not m.observer)
        return down <= spare

    batches: list[list[Node]] = []
    for n in _interleave(nodes):
        if batches and fits(batches[-1], n):
            batches[-1].append(n)
        else:
            batches.append([n])
    return batches


def cs_zk(ctx: Context) -> Wave | None:
    """ZooKeeper nodes (with their Cassandra) first, then Cassandra-only nodes."""
    zk = ctx.with_("zk")
    cs_only = [n for n in ctx.with_("cs") if not n.has("zk")]
    if not zk and not cs_only:
        return None
    groups: list[list[Node]] = []
    for group in (zk, cs_only):
        if not group:
            continue
        if ctx.zero_downtime:
            groups.extend(_quorum_safe(ctx, group))
        else:
            groups.extend(chunks(group, int(ctx.settings["concurrency.cs_zk"])))
    batches = [batch_of([[ctx.update(n, [c for c in ("cs", "zk") if n.has(c)])] for n in g],
                        "datastore") for g in groups]
    return Wave("cs_zk", tuple(batches))


def qpid(ctx: Context) -> Wave | None:
    """Brokers drained one per data centre at a time, data centres side by side."""
    brokers = ctx.with_("qpid")
    if not brokers:
        return None
    by_dc: dict[str, list[Node]] = {}
    for n in brokers:
        by_dc.setdefault(n.dc, []).append(n)
    rounds = max(len(v) for v in by_dc.values())
    batches: list[Batch] = []
    for i in range(rounds):
        chains = []
        for nodes in by_dc.values():
            if i >= len(nodes):
                continue
            n = nodes[i]
            rule = ctx.qpid_rule(n)
            unblock = ctx.step(n, "qpid_unblock", ctx.iptables(n, "-D", rule))
            chains.append([
                ctx.step(n, "qpid_block", ctx.iptables(n, "-A", rule)),
                ctx.poll(n, "qpid_drain", qpid_stat.command(q(n.apigee_root)), "qpid_queues_empty",
                         ctx.settings["qpid.drain_interval"], ctx.settings["qpid.drain_timeout"],
                         on_failure=[unblock]),
                ctx.update(n, ["qpid"]),
                unblock,
            ])
        batches.append(batch_of(chains, f"brokers round {i + 1}"))
    return Wave("qpid", tuple(batches))
