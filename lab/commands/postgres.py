"""apigee-postgresql verbs: db_upgrade, standby rebuild, master/standby checks (rules 4, 5)."""
from __future__ import annotations

import time
from typing import Awaitable, Callable

from lab.commands import Ctx, CommandError
from lab.commands.rollback import ROLLBACK_VERBS
from lab.commands.update import option, read_config
from lab.layout import write_pgdata
from lab.state import PG_MAJOR, HostState, LabState


def pgdata_empty(h: HostState) -> bool:
    return not h.pgdata.is_dir() or not any(h.pgdata.iterdir())


def check_master_data(st: LabState) -> None:
    """An emptied master data directory loses every stored analytics message."""
    m = st.pg_master()
    if m is not None and m.installed and pgdata_empty(m) and st.stored:
        st.violate(9, m.name, f"PostgreSQL master data directory emptied: {st.stored} stored "
                              "analytics messages lost")
        st.lost += st.stored
        st.stored = m.rows = 0


def streaming(st: LabState, sb: HostState) -> bool:
    m = st.pg_master()
    if m is None or sb is m or not sb.has("ps") or not m.has("ps"):
        return False
    mv, sv = m.components["ps"].version, sb.components["ps"].version
    return (m.up("ps") and sb.up("ps") and sb.pg_synced and sb.pg_epoch == m.pg_epoch
            and mv == sv and m.pg_data_version == mv and not pgdata_empty(sb)
            and m.pg_hba.exists() and f" {sb.address}/32 " in m.pg_hba.read_text())


def replication_source(st: LabState, h: HostState, conf: dict[str, str], version: str) -> HostState:
    """The master a new standby copies from (PG_MASTER of the file), as pg_basebackup needs
    it: running as master, same major version with upgraded data, this host in its
    pg_hba.conf; and an empty data directory here."""
    if not pgdata_empty(h):
        raise CommandError(f"ERROR: data directory {h.pgdata} is not empty; remove its contents first")
    m = st.by_address(conf.get("PG_MASTER", ""))
    if m is None or m.postgres != "master" or not m.up("ps"):
        raise CommandError(f"ERROR: cannot connect to the PostgreSQL master {conf.get('PG_MASTER')}")
    if m.components["ps"].version != version:
        raise CommandError("ERROR: master and standby run different PostgreSQL major versions")
    if m.pg_data_version != m.components["ps"].version:
        raise CommandError("ERROR: master database is not upgraded (run db_upgrade on the master)")
    if f" {h.address}/32 " not in (m.pg_hba.read_text() if m.pg_hba.exists() else ""):
        raise CommandError(f"ERROR: pg_basebackup: no pg_hba.conf entry for replication from {h.address}")
    return m


def _state_line(st: LabState, ok: bool, epoch: int) -> str:
    return f"REPLICATION: {'streaming' if ok else 'broken'} timeline={epoch}"


async def db_upgrade(ctx: Ctx, rest: list[str]) -> int:
    h, st = ctx.host, ctx.st
    if h.postgres != "master":
        st.violate(4, h.name, "db_upgrade run on a standby")
    elif h.components["ps"].version != "4.18.01":
        st.violate(4, h.name, "db_upgrade before update.sh -c ps on the master")
    running = [f"{x.name}:{s}" for x in st.hosts.values() for c, s in
               (("pg", "edge-postgres-server"), ("qs", "edge-qpid-server")) if x.up(c)]
    if running:
        st.violate(4, h.name, "db_upgrade while these still run: " + ", ".join(running))
    if not h.up("ps"):
        raise CommandError("ERROR: PostgreSQL is not running")
    if h.components["ps"].version != "4.18.01":
        raise CommandError("ERROR: PostgreSQL 9.6 binaries not found; run update.sh -c ps first")
    if h.pg_data_version == "4.18.01":
        ctx.out("Database already at PostgreSQL 9.6; nothing to do")
        return 0
    ctx.out("Upgrading the PostgreSQL data directory from 9.4 to 9.6 (pg_upgrade) ...")
    await ctx.sleep("db_upgrade")
    h.pg_data_version = "4.18.01"
    if h.postgres == "master":
        h.pg_epoch += 1
    else:
        h.pg_synced = False
    write_pgdata(h, "4.18.01")
    ctx.out("db_upgrade completed successfully")
    return 0


async def setup_replication(ctx: Ctx, rest: list[str]) -> int:
    h, st = ctx.host, ctx.st
    conf = read_config(ctx, option(rest, "-f"))
    if conf.get("PG_STANDBY") != h.address or h.postgres == "master":
        raise CommandError(f"ERROR: this node ({h.address}) is not PG_STANDBY in the configuration file")
    m = replication_source(st, h, conf, h.components["ps"].version)
    ctx.out(f"Taking a base backup from {m.address} ...")
    await ctx.sleep("replication")
    write_pgdata(h, h.components["ps"].version)
    h.pg_synced, h.pg_epoch = True, m.pg_epoch
    if not h.up("ps"):
        st.set_state(h, "ps", "running")
    ctx.out("Replication set up; standby is streaming from " + m.address)
    return 0


async def check_master(ctx: Ctx, rest: list[str]) -> int:
    h, st = ctx.host, ctx.st
    check_master_data(st)
    if h.postgres != "master" or not h.up("ps"):
        if h.postgres == "master":
            st.pg_checks[h.name] = ("master", f"REPLICATION: down timeline={h.pg_epoch}", time.time())
        ctx.err("ERROR: this node is not running as PostgreSQL master")
        return 1
    ctx.out(f"PostgreSQL {PG_MAJOR[h.components['ps'].version]} is running as master")
    standbys = [x for x in st.hosts.values() if x.postgres in ("standby", "rollback_standby") and x.has("ps")]
    ok = True
    for sb in standbys:
        s = streaming(st, sb)
        ctx.out(f"standby {sb.address}: {'streaming' if s else 'not connected'}")
        ok = ok and (s or sb.postgres == "rollback_standby")
    ctx.out(_state_line(st, ok, h.pg_epoch))
    st.pg_checks[h.name] = ("master", _state_line(st, ok, h.pg_epoch), time.time())
    return 0 if ok else 1


async def check_standby(ctx: Ctx, rest: list[str]) -> int:
    h, st = ctx.host, ctx.st
    if h.postgres not in ("standby", "rollback_standby") or not h.up("ps"):
        if h.postgres in ("standby", "rollback_standby"):
            st.pg_checks[h.name] = ("standby", f"REPLICATION: down timeline={h.pg_epoch}", time.time())
        ctx.err("ERROR: this node is not running as PostgreSQL standby")
        return 1
    ok = streaming(st, h)
    m = st.pg_master()
    ctx.out(f"PostgreSQL {PG_MAJOR[h.components['ps'].version]} is running as standby of "
            f"{m.address if m else '?'}")
    line = _state_line(st, ok, h.pg_epoch)
    ctx.out(line)
    st.pg_checks[h.name] = ("standby", line, time.time())
    return 0 if ok else 1


POSTGRES_VERBS: dict[str, Callable[[Ctx, list[str]], Awaitable[int]]] = {
    "db_upgrade": db_upgrade, "setup-replication-on-standby": setup_replication,
    "postgres-check-master": check_master, "postgres-check-standby": check_standby,
    **ROLLBACK_VERBS,
}
