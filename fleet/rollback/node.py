"""Per-node component rollback (rollback.md section 2): stop, uninstall, bring back the
4.16.09 tooling, `setup.sh -p PROFILE` for exactly what was uninstalled, check.

Every step carries the tag of the rollback.md statement it rests on (``Step.basis``);
docs/rollback-commands.md lists the lines and tags.
"""
from __future__ import annotations

import posixpath
from dataclasses import replace
from typing import Iterable

from fleet.components import EDGE_JAVA, PROFILES, SERVICES
from fleet.facts import qpid_stat
from fleet.model import Node, Step
from fleet.plan.context import Context
from fleet.plan.quote import q
from fleet.rollback.state import BACK, FROM, OLD

S, S_OLD, INFERRED, PROCEDURE = "S", "S-old", "I", "P"     # P: procedure.md (our own rule)
# setup.sh profiles a rollback may reinstall with, largest first (rollback.md section 2.5.5)
REINSTALL_PROFILES = ("sax", "rmp", "qs", "ps", "mo", "ld", "ui", "r", "mp", "pdb")


def nginx_conf(n: Node) -> str:
    """The vendor's /opt/nginx/conf.d (R0): beside the Apigee root (/opt/apigee)."""
    return f"{posixpath.dirname(n.apigee_root.rstrip('/'))}/nginx/conf.d"


def tag(steps: Iterable[Step], basis: str) -> list[Step]:
    return [replace(s, basis=basis) for s in steps]


def cover(wanted: frozenset[str], node: Node, states: dict[str, str],
          allowed: frozenset[str]) -> tuple[list[str], frozenset[str]]:
    """Profiles whose union covers ``wanted``; each profile's other components must be on
    the node, allowed, and already at 4.16.09 (setup.sh leaves an installed one as it is).
    Returns (profiles, components the profiles need rolled back too: close over them)."""
    left, chosen, more = set(wanted), [], set()
    while left:
        best = None
        for p in REINSTALL_PROFILES:
            comps = set(PROFILES[p])
            if not comps & left or not comps <= node.components or not comps <= allowed:
                continue
            extra = comps - set(wanted)
            score = (len(comps & left), -len(extra))
            if best is None or score > best[0]:
                best = (score, p, comps, extra)
        if best is None:
            raise ValueError(f"{node.name}: no setup.sh profile reinstalls "
                             f"{', '.join(sorted(left))}")
        _, p, comps, extra = best
        chosen.append(p)
        more |= {c for c in extra if states.get(c) != OLD}
        left -= comps
    return chosen, frozenset(more)


def closure(node: Node, wanted: set[str], states: dict[str, str],
            allowed: frozenset[str]) -> tuple[frozenset[str], list[str]]:
    """The components to roll back with ``wanted`` (shared code, profile extras) and the
    profiles that reinstall them."""
    s = set(wanted)
    while True:
        if s & EDGE_JAVA:                    # rollback.md 1.5: shared code goes together
            s |= node.components & EDGE_JAVA & allowed
        profiles, more = cover(frozenset(s & allowed), node, states, allowed)
        if more <= s:
            return frozenset(s), profiles
        s |= more


def drain_steps(ctx: Context, n: Node) -> tuple[list[Step], Step]:
    """Block 5672 for everyone but the node, wait for every queue to empty (procedure.md
    section 4); the unblock step comes last in the chain."""
    rule = ctx.qpid_rule(n)
    unblock = ctx.step(n, "qpid_unblock", ctx.iptables(n, "-D", rule), basis=PROCEDURE)
    return [ctx.step(n, "qpid_block", ctx.iptables(n, "-A", rule), basis=PROCEDURE),
            replace(ctx.poll(n, "qpid_drain", qpid_stat.command(q(n.apigee_root)),
                             "qpid_queues_empty", ctx.settings["qpid.drain_interval"],
                             ctx.settings["qpid.drain_timeout"], on_failure=[unblock]),
                    basis=PROCEDURE)], unblock


def stop_uninstall(ctx: Context, n: Node, comps: frozenset[str], present: set[str]) -> list[Step]:
    """Steps 1, 3, 4 of section 2 [S-old]: stop, uninstall (shared code as edge-gateway)."""
    common = sorted(n.components & EDGE_JAVA & present) if comps & EDGE_JAVA else []
    others = sorted(c for c in comps - EDGE_JAVA if c in present)
    long = ctx.settings.timeout("long")
    steps = [ctx.component(n, c, "stop") for c in common + others]
    if comps & EDGE_JAVA and common:
        steps.append(ctx.step(n, "uninstall_edge_gateway", ctx.service_cmd(
            n, "edge-gateway", "uninstall"), timeout=long))
    steps += [ctx.step(n, f"uninstall_{c}", ctx.service_cmd(n, SERVICES[c], "uninstall"),
                       timeout=long) for c in others]
    if "r" in comps:
        d = q(nginx_conf(n))
        steps.append(ctx.step(n, "nginx_conf_clear", ctx.root(
            f"sh -c {q(f'if [ -d {d} ]; then cd {d} && rm -rf ./*; fi')}")))
    return tag(steps, S_OLD)


def tooling(ctx: Context, n: Node) -> list[Step]:
    """Section 2.5.1-4: apigee-setup of 4.16.09 again (once per node)."""
    return (tag([ctx.step(n, "setup_uninstall", ctx.service_cmd(n, "apigee-setup", "uninstall"))],
                INFERRED)
            + tag(ctx.bootstrap(n, BACK), S)
            + tag([replace(ctx.service(n, "apigee-setup", "install", "setup_install"),
                           timeout=ctx.settings.timeout("long"))], S))


def reinstall(ctx: Context, n: Node, profiles: list[str], comps: frozenset[str]) -> list[Step]:
    """Section 2.5.5 and 2.7: setup.sh per profile, MS side packages."""
    long = ctx.settings.timeout("long")
    steps = [ctx.step(n, f"setup_{p}", ctx.root(
        f"{q(n.apigee_root)}/apigee-setup/bin/setup.sh -p {p} -f {q(n.config_file)}"),
        timeout=long, basis=INFERRED) for p in profiles]
    if "ms" in comps:
        steps += tag([ctx.service(n, "apigee-validate", "install", "validate_install"),
                      ctx.service(n, "apigee-provision", "install", "provision_install")], INFERRED)
    return steps


def back_check(ctx: Context, n: Node, comps: Iterable[str], action: str = "check_back") -> Step:
    """Section 5.1: apigee-all version shows each rolled-back package at 4.16.09."""
    args: dict[str, object] = {"back": BACK, "from": FROM,
                               "packages": sorted({SERVICES[c] for c in comps})}
    if ctx.settings["releases"]:
        args["releases"] = ctx.settings["releases"]
    return replace(ctx.fact_check(n, action, ctx.all_cmd(n, "version"), "apigee-version-back",
                                  **args), basis=S)


def start_all(ctx: Context, n: Node) -> Step:
    """Section 2.6 [I]: setup.sh leaves components running; start them if not."""
    return ctx.step(n, "status_or_start",
                    f"{ctx.all_cmd(n, 'status')} || {ctx.all_cmd(n, 'start')}", basis=INFERRED)


def node_chain(ctx: Context, n: Node, comps: frozenset[str], profiles: list[str],
               present: set[str], first: bool, fenced: bool) -> list[Step]:
    """One node's rollback of ``comps`` in one wave. ``first``: the node's first rollback
    wave (bring back the 4.16.09 tooling). ``fenced``: the old PostgreSQL master, which no
    `apigee-all start` may revive."""
    chain: list[Step] = []
    unblock = None
    if "qpid" in comps and "qpid" in present:
        drain, unblock = drain_steps(ctx, n)
        chain += drain
    chain += stop_uninstall(ctx, n, comps, present)
    if profiles:
        chain += tooling(ctx, n) if first else []
        chain += reinstall(ctx, n, profiles, comps)
    if not fenced:
        chain.append(start_all(ctx, n))
    if unblock is not None:
        chain.append(unblock)
    reinstalled = set().union(*(PROFILES[p] for p in profiles)) & comps if profiles else set()
    if reinstalled:
        chain.append(back_check(ctx, n, reinstalled))
    return chain
