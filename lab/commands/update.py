"""update.sh and the component life cycle (stop, start, update) it shares with apigee-service."""
from __future__ import annotations

import asyncio
import re

from lab.tables import EDGE_JAVA
from lab.commands import Ctx, CommandError, command
from lab.commands.system import judge_broker_closed
from lab.state import ORDER, PG_MAJOR, SOURCE, TARGET, HostState

CODES = ("cs", "zk", "ldap", "qpid", "ps", "edge", "ui", "e", "b", "p")


def ordered(codes: set[str] | list[str]) -> list[str]:
    return sorted(codes, key=ORDER.index)


def regenerate_hba(h: HostState) -> None:
    from lab.layout import render_hba
    if h.pg_properties.exists():
        h.pg_hba.parent.mkdir(parents=True, exist_ok=True)
        h.pg_hba.write_text(render_hba(h.pg_properties.read_text()))


def pg_data_major(h: HostState) -> str | None:
    f = h.pgdata / "PG_VERSION"
    return f.read_text().strip() if f.is_file() else None


def check_pg_data(h: HostState, version: str) -> None:
    """PostgreSQL 9.4 refuses a data directory initialized by 9.6 (pg_ctl's FATAL)."""
    data = pg_data_major(h)
    if data and data != PG_MAJOR[version] and version == SOURCE:
        raise CommandError(f"FATAL: database files are incompatible with server\nDETAIL: The data "
                           f"directory was initialized by PostgreSQL version {data}, which is not "
                           f"compatible with this version {PG_MAJOR[version]}.")


async def start(ctx: Ctx, codes: list[str]) -> None:
    h = ctx.host
    for c in ordered(codes):
        comp = h.components[c]
        if comp.up:
            ctx.out(f"{comp.service} is already running")
            continue
        if c == "ps":
            check_pg_data(h, comp.version)
        ctx.out(f"Starting {comp.service} ...")
        await ctx.sleep("start")
        if c == "ps":
            regenerate_hba(h)
        ctx.st.set_state(h, c, "running")
        ctx.out(f"{comp.service} started")


async def stop(ctx: Ctx, codes: list[str]) -> None:
    h = ctx.host
    for c in reversed(ordered(codes)):
        comp = h.components[c]
        if comp.state == "stopped":
            ctx.out(f"{comp.service} is not running")
            continue
        ctx.out(f"Stopping {comp.service} ...")
        ctx.st.set_state(h, c, "stopped")
        await ctx.sleep("stop")
        ctx.out(f"{comp.service} stopped")


def option(argv: list[str], flag: str) -> str | None:
    """The value after ``flag`` (``-f FILE``), None when absent or last."""
    i = argv.index(flag) + 1 if flag in argv else len(argv)
    return argv[i] if i < len(argv) else None


def read_config(ctx: Ctx, path: str | None) -> dict[str, str]:
    """The silent config file, as the real scripts source it."""
    if not path:
        raise CommandError("ERROR: a configuration file is required (-f FILE)")
    p = ctx.path(path)
    if not p.is_file():
        raise CommandError(f"ERROR: configuration file {path} not found")
    conf = {}
    for line in p.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            conf[m.group(1)] = m.group(2).strip().strip('"')
    if conf.get("SKIP_SMTP", "n").lower() == "n" and not conf.get("SMTPMAILFROM"):
        raise CommandError("ERROR: SMTPMAILFROM is required when SKIP_SMTP=n (since 4.17.05)")
    return conf


def targets_of(h: HostState, codes: list[str]) -> list[str]:
    out: set[str] = set()
    for code in codes:
        if code not in CODES:
            raise CommandError(f"ERROR: unknown component code '{code}' (valid: {', '.join(CODES)})")
        comps = {c for c in EDGE_JAVA if h.has(c)} if code == "edge" else {code} & set(h.components)
        if not comps:
            raise CommandError(f"ERROR: component '{code}' is not installed on this node")
        out |= comps
    return ordered(out)


async def update_components(ctx: Ctx, targets: list[str], label: str) -> None:
    """The judged part of an update: checks of rules 1, 2, 11, 12, then stop-update-start."""
    h, st = ctx.host, ctx.st
    if h.postgres == "rollback_standby":
        st.violate(12, h.name, f"rollback standby updated ({label})")
    if not st.prepared(h):
        st.violate(11, h.name, f"{label} before the node was prepared "
                               "(bootstrap_4.18.01.sh and apigee-service apigee-setup update)")
        raise CommandError("ERROR: apigee-setup 4.18.01 is not installed on this node; run "
                           "bootstrap_4.18.01.sh and 'apigee-service apigee-setup update' first")
    if any(c not in ("cs", "zk") for c in targets):
        behind = sorted({x.name for x in st.hosts.values() for c in ("cs", "zk")
                         if x.has(c) and x.components[c].version != TARGET
                         and x.postgres != "rollback_standby"})
        if behind:
            st.violate(1, h.name, f"{label} while Cassandra/ZooKeeper not yet updated on "
                                  f"{', '.join(behind)}")
    if "qpid" in targets:
        judge_broker_closed(st, h, "broker updated (update.sh -c qpid)")
    if "qpid" in targets and h.queue > 0:
        st.lost += h.queue
        st.violate(2, h.name, f"broker updated with {h.queue} messages in it (lost)")
        h.queue = 0
    async with h.lock:
        try:
            for c in targets:
                ctx.out(f"Updating {h.components[c].service} to {TARGET} ...")
                st.set_state(h, c, "updating")
            await ctx.sleep("update", 1 + (len(targets) - 1) * 0.15)
            for c in targets:
                h.components[c].version = TARGET
                if c == "ps":
                    if h.postgres == "master":
                        h.pg_epoch += 1          # on-disk data still 9.4 until db_upgrade
                    else:
                        h.pg_synced = False      # a standby must be rebuilt
                    regenerate_hba(h)
            for c in targets:
                st.set_state(h, c, "running")
                ctx.out(f"{h.components[c].service}-{TARGET} updated and started")
        except asyncio.CancelledError:
            for c in targets:
                if h.components[c].state == "updating":
                    st.set_state(h, c, "stopped")
            raise
    h.updates.append(label)


@command("update.sh")
async def update_sh(ctx: Ctx) -> int:
    a = ctx.argv
    codes, conf = option(a, "-c"), option(a, "-f")
    if not codes:
        ctx.err("Usage: update.sh -c COMPONENTS -f CONFIG_FILE")
        return 1
    read_config(ctx, conf)
    targets = targets_of(ctx.host, codes.split(","))
    ctx.log("update.log", f"update.sh -c {codes} -f {conf}")
    ctx.out(f"Apigee Edge update to {TARGET}: {codes} (log: {ctx.host.root}/var/log/apigee-setup/update.log)")
    await update_components(ctx, targets, f"update.sh -c {codes}")
    ctx.out(f"Update of {codes} completed successfully")
    ctx.log("update.log", f"update.sh -c {codes}: success")
    return 0
