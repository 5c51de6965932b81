"""The rollback plan: a pure function of (inventory, settings, live facts, scope).

Order is the update's reversed (rollback.md section 4 [I]): the PostgreSQL pair with the
spare (section 3), then per-node rollback of the Edge Java components (Routers, MPs, MSs,
Postgres Servers, Qpid Servers), the UI, LDAP, qpidd (section 2); Cassandra/ZooKeeper only
as a notice of what the operator must restore from backup (section 1.6, 6 Q3). Refusals
(InputError, exit 2) come before anything runs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from fleet.components import EDGE_JAVA, SERVICES, UPDATE_CODE
from fleet.errors import InputError
from fleet.model import CHECK, GATE, PAUSE, Batch, Node, Plan, Step, Wave, batch_of
from fleet.plan.context import Context, per_dc_rounds
from fleet.plan.roles import EDGE_GROUPS
from fleet.plan.select import Selection, filter_nodes
from fleet.rollback import node as rb
from fleet.plan.quote import q
from fleet.rollback.node import INFERRED, S, closure, cover
from fleet.rollback.postgres import Pair, postgres_wave
from fleet.rollback.state import BACK, MISSING, TARGET, Live, component_states

MODE = "rollback"
# per-node waves, in order, and the components each rolls back
NODE_WAVES = (("rb_edge", EDGE_JAVA | {"qpid"}), ("rb_ui", frozenset({"ui"})),
              ("rb_ldap", frozenset({"ldap"})), ("rb_qpid", frozenset({"qpid"})))
WAVE_HELP = {
    "preflight": "read-only: apigee-all version and config file on every host of the plan",
    "rb_postgres": "section 3: fence the updated pair, promote the spare, re-point, check, "
                   "registrations, restart Qpid Servers",
    "rb_edge": "section 2: Routers, MPs, MSs, Postgres Servers, Qpid Servers (with qpidd)",
    "rb_ui": "section 2: Edge UI", "rb_ldap": "section 2: OpenLDAP",
    "rb_qpid": "section 2: qpidd (drained first)",
    "rb_restore": "notice: Cassandra/ZooKeeper stay at 4.18.01; restore from backup by hand",
    "rb_check": "read-only: apigee-all status on every changed host",
}


@dataclass(frozen=True)
class Scope(Selection):
    """What to roll back: ``components`` (names or update codes; empty: all) on ``hosts``
    (empty: all); neither: the whole installation. ``after``: the failed run's id."""

    components: tuple[str, ...] = ()
    after: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"rollback": True, "components": list(self.components),
                "hosts": list(self.hosts), "after": self.after}

    def expanded(self) -> frozenset[str] | None:
        if not self.components:
            return None
        out: set[str] = set()
        for c in self.components:
            if c in SERVICES:
                out.add(c)
            elif c in UPDATE_CODE.values():
                out |= {k for k, v in UPDATE_CODE.items() if v == c}
            else:
                raise InputError(f"--components: unknown component {c!r}; known: "
                                 f"{', '.join(sorted(SERVICES))} or edge")
        return frozenset(out)


def refuse_topology(nodes: list[Node]) -> None:
    """rollback.md 1.4: no rollback exists for all-in-one and 2-node installs."""
    n = sum(1 for x in nodes if x.postgres != "rollback_standby")
    if n <= 2:
        raise InputError(f"no rollback for a {n}-node installation: the vendor provides none "
                         "for the all-in-one and 2-node topologies (rollback.md 1.4); retry the "
                         "update (python runner.py --resume RUN_ID), or reinstall 4.18.01")


def _order(ctx: Context, nodes: list[Node]) -> list[Node]:
    """Reverse of the update's -c edge order: Routers, MPs, MSs, Postgres Servers, Qpid
    Servers; vendor machine order inside a group."""
    groups = tuple(reversed(EDGE_GROUPS))
    def rank(n: Node) -> int:
        return next((i for i, g in enumerate(groups) if n.has(g)), len(groups))
    return sorted(nodes, key=rank)


def _pair(ctx: Context) -> tuple[Node | None, Node | None, Node | None]:
    return ctx.role("master"), ctx.role("standby"), ctx.role("rollback_standby")


@dataclass
class _Sets:
    """What each node rolls back (section 2) and the old standby's part of section 3."""

    want: dict[str, frozenset[str]]
    allowed: dict[str, frozenset[str]]
    restore: dict[str, list[str]]          # cs/zk at 4.18.01, left to the operator
    os_full: frozenset[str] | None = None  # the old standby's components, full path
    os_profiles: tuple[str, ...] = ()


def build_rollback(nodes: list[Node], settings: Any, live: Live, scope: Scope) -> Plan:
    refuse_topology(nodes)
    ctx = Context.build(nodes, settings, "maintenance")
    wanted = scope.expanded()
    chosen = {n.name for n in filter_nodes(list(ctx.nodes), (), scope.hosts)}
    om, os_, ns = _pair(ctx)
    states = {n.name: component_states(n, live) for n in ctx.updatable()}

    def in_scope(n: Node, c: str) -> bool:
        return n.name in chosen and (wanted is None or c in wanted)

    # section 3 when the pair's PostgreSQL (or a Postgres Server on it) was updated and the
    # scope takes it back
    pair_nodes = [x for x in (om, os_) if x]
    pair_updated = any(states[x.name].get("ps") in (TARGET, MISSING) for x in pair_nodes
                       if x.has("ps")) or bool(live.failed_run and live.failed_run.db_upgrade_done)
    do_pg = pair_updated and any(
        in_scope(x, "ps") or (in_scope(x, "pg") and states[x.name].get("pg") in (TARGET, MISSING))
        for x in pair_nodes)
    if do_pg:
        _refuse_pair(om, os_, ns, live)
    sets = _node_sets(ctx, states, in_scope, do_pg)
    waves: list[Wave] = []
    if do_pg:
        assert om and os_ and ns
        qs_nodes = [n for n in ctx.updatable() if n.has("qs")]
        present = {c for c, s in states[os_.name].items() if s != MISSING}
        waves.append(postgres_wave(ctx, Pair(om, os_, ns), sets.os_full, list(sets.os_profiles),
                                   present, qs_nodes,
                                   om.has("ps") and states[om.name].get("ps") != MISSING))
    waves += _node_waves(ctx, states, sets, om if do_pg else None,
                         {os_.name} if os_ and sets.os_full is not None else set())
    restore = [Wave("rb_restore", (batch_of(
        [[_notice(n, sets.restore[n.name])] for n in ctx.updatable() if n.name in sets.restore],
        "restore from backup"),))] if sets.restore else []
    if not waves and not restore:
        raise InputError(_nothing(scope))
    # the plan ends with what is left to the operator (Cassandra/ZooKeeper), and stops there
    return Plan(target=BACK, mode=MODE,
                waves=tuple([_preflight(ctx, waves + restore, ns if do_pg else None)] + waves
                            + _final(ctx, waves, om if do_pg else None, do_pg, ns, os_)
                            + restore))


def _node_sets(ctx: Context, states: dict[str, dict[str, str]],
               in_scope: Callable[[Node, str], bool], do_pg: bool) -> _Sets:
    om, os_ = ctx.role("master"), ctx.role("standby")
    sets = _Sets({}, {}, {})
    for n in ctx.updatable():
        st = states[n.name]
        todo = {c for c in n.components if in_scope(n, c) and st[c] in (TARGET, MISSING)}
        kept = sorted(c for c in todo & {"cs", "zk"} if st[c] == TARGET)
        if kept:
            sets.restore[n.name] = kept
        todo -= {"cs", "zk"}
        allowed = frozenset(n.components - {"cs", "zk"})
        if n in (om, os_):                       # the pair's PostgreSQL: section 3 only
            todo -= {"ps"} if do_pg else {"ps", "pg"}
        if n is om and do_pg:                    # decommissioned: ps/pg never come back
            allowed -= {"ps", "pg"}
            if todo & EDGE_JAVA or st.get("pg") in (TARGET, MISSING):
                todo |= n.components & EDGE_JAVA
        if n is os_ and do_pg:
            if st.get("ps") in (TARGET, MISSING):      # full path: reinstalled with ps
                comps, profs = _closed(n, todo | {"ps", "pg"}, st, allowed)
                sets.os_full, sets.os_profiles = comps, tuple(profs)
                continue
            todo -= {"pg"}
        if todo:
            sets.want[n.name], _ = _closed(n, todo, st, allowed)
            sets.allowed[n.name] = allowed
    return sets


def _node_waves(ctx: Context, states: dict[str, dict[str, str]], sets: _Sets,
                fenced: Node | None, tooled: set[str]) -> list[Wave]:
    """rb_edge, rb_ui, rb_ldap, rb_qpid: one node per data centre at a time, reverse
    update order; a gate before each checks what earlier waves rolled back."""
    waves: list[Wave] = []
    rolled: dict[str, set[str]] = {}
    for wave_name, _ in NODE_WAVES:
        hosts = [n for n in _order(ctx, [n for n in ctx.updatable() if n.name in sets.want])
                 if _part(sets.want[n.name], wave_name)]
        if not hosts:
            continue
        gate = _gate(ctx, rolled)
        chains: dict[str, list[Step]] = {}
        for n in hosts:
            part = _part(sets.want[n.name], wave_name)
            st = states[n.name]
            profs = _profiles_for(n, part, st, sets.allowed[n.name])
            present = {c for c, s in st.items() if s != MISSING}
            chains[n.name] = rb.node_chain(ctx, n, part, profs, present,
                                           first=n.name not in tooled, fenced=n is fenced)
            tooled.add(n.name)
            rolled.setdefault(n.name, set()).update(part)
        rounds = per_dc_rounds(ctx, hosts, 1)
        waves.append(Wave(wave_name, tuple(([gate] if gate else []) + [
            batch_of([chains[n.name] for n in r], wave_name) for r in rounds])))
    return waves


def _refuse_pair(om: Node | None, os_: Node | None, ns: Node | None, live: Live) -> None:
    if om is None or os_ is None:
        raise InputError("PostgreSQL was updated but the installation has no master/standby "
                         "pair: no documented rollback (rollback.md 6 Q7); restore from backup")
    if ns is None:
        raise InputError("PostgreSQL was updated and there is no spare 4.16.09 standby "
                         "(inventory postgres: rollback_standby) to promote: restore the "
                         "PostgreSQL nodes from the pre-update backup (rollback.md 3)")
    if live.spare_retired_by:
        raise InputError(f"the spare standby {ns.name} was already retired by run "
                         f"{live.spare_retired_by} (rollback_retire): it cannot be promoted; "
                         "restore the PostgreSQL nodes from the pre-update backup")
    pkgs = live.packages.get(ns.name) or {}
    m = live.manifest()
    for pkg in ("apigee-postgresql", "edge-postgres-server"):
        if pkg not in pkgs or not m.at(pkg, pkgs[pkg], BACK):
            raise InputError(f"the spare standby {ns.name} is not a 4.16.09 PostgreSQL node "
                             f"({pkg}: {pkgs.get(pkg, 'not installed')}): it was retired or "
                             "never installed; restore from the pre-update backup")


def _closed(n: Node, todo: set[str], st: dict[str, str],
            allowed: frozenset[str]) -> tuple[frozenset[str], list[str]]:
    try:
        return closure(n, todo, st, allowed)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _part(comps: frozenset[str], wave: str) -> frozenset[str]:
    """The node's components this wave rolls back: qpidd goes with a Qpid Server."""
    if wave == "rb_edge":
        part = comps & EDGE_JAVA
        return part | (comps & {"qpid"}) if "qs" in part else part
    if wave == "rb_qpid" and comps & EDGE_JAVA and "qs" in comps:
        return frozenset()
    return comps & dict(NODE_WAVES)[wave]


def _profiles_for(n: Node, part: frozenset[str], st: dict[str, str],
                  allowed: frozenset[str]) -> list[str]:
    """The profiles that reinstall exactly this wave's part (extras only if at 4.16.09)."""
    if not part & allowed:
        return []
    try:
        profiles, more = cover(part & allowed, n, st, allowed)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if more - part:
        raise InputError(f"{n.name}: reinstalling {', '.join(sorted(part))} would also "
                         f"reinstall {', '.join(sorted(more - part))}, which another wave "
                         "rolls back; roll back this node with --hosts and the whole scope")
    return profiles


def _gate(ctx: Context, rolled: dict[str, set[str]]) -> Batch | None:
    """Before a wave: what earlier waves rolled back still reports 4.16.09."""
    by = {n.name: n for n in ctx.nodes}
    chains = [[rb.back_check(ctx, by[h], comps, "gate_back")] for h, comps in rolled.items()]
    return batch_of(chains, GATE) if chains else None


def _notice(n: Node, comps: list[str]) -> Step:
    pkgs = ", ".join(SERVICES[c] for c in comps)
    return Step(n.name, "restore_cs_zk_by_hand",
                f"pause 0s: operator: {pkgs} on {n.name} stay at 4.18.01; to return them to "
                "4.16.09 restore the pre-update backup by hand (rollback.md 6 Q3)",
                kind=PAUSE, timeout=0.0, basis=S)


def _preflight(ctx: Context, waves: list[Wave], spare: Node | None) -> Wave:
    hosts = {s.host for w in waves for b in w.batches for s in b.steps}
    chains = []
    for n in ctx.nodes:
        if n.name not in hosts:
            continue
        chain = [ctx.check(n, "check_config", ctx.root(f"test -r {q(n.config_file)}"))]
        if n is spare:        # the spare still exists at 4.16.09 (not retired meanwhile)
            chain.append(ctx.fact_check(n, "check_spare", ctx.all_cmd(n, "version"),
                                        "apigee-version", target=BACK,
                                        packages=["apigee-postgresql", "edge-postgres-server"]))
        chains.append(chain)
    return Wave("preflight", (batch_of(chains, "preflight"),))


def _final(ctx: Context, waves: list[Wave], fenced: Node | None, do_pg: bool,
           ns: Node | None, os_: Node | None) -> list[Wave]:
    hosts = {s.host for w in waves for b in w.batches for s in b.steps if s.kind != CHECK}
    chains = [[replace(ctx.fact_check(n, "check_status", ctx.all_cmd(n, "status"),
                                      "apigee-status"), basis=S)]
              for n in ctx.nodes if n.name in hosts and n is not fenced]
    if do_pg and ns and os_:
        chains.append([replace(ctx.postgres_check(ns, "master"), basis=S)])
        chains.append([replace(ctx.postgres_check(os_, "standby"), basis=S)])
    return [Wave("rb_check", (batch_of(chains, "final checks"),))] if chains else []


def _nothing(scope: Scope) -> str:
    what = ", ".join(scope.components) if scope.components else "any component"
    where = f" on {', '.join(scope.hosts)}" if scope.hosts else ""
    return (f"nothing to roll back: no {what}{where} is at 4.18.01 (apigee-all version); "
            "the installation in that scope is at 4.16.09 already")


def inferred_steps(plan: Plan) -> list[Step]:
    return [s for _, _, s in plan.iter_steps() if s.basis == INFERRED]
