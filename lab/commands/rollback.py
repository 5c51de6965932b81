"""What a rollback runs on a node (rollback.md sections 2 and 3): uninstall, the reinstall
checks of yum and setup.sh, promote-standby-to-master and setup-replication-on-master.

Real nodes cannot downgrade a package in place (yum keeps the newer one), cannot reinstall
one of the five components that share code (edge-gateway) at another version than the
others on the node, and a 9.4 server cannot open a 9.6 data directory: the lab refuses the
same way, so a rollback typed in the wrong order fails as it would on a real node.
"""
from __future__ import annotations

import time

from lab.commands import Ctx, CommandError
from lab.commands.update import option, read_config, regenerate_hba
from lab.layout import QPID_CMDS, SETUP_CMDS, hba_line
from lab.state import PG_MAJOR, SERVICE_COMPONENT, TARGET, HostState, LabState, package
from lab.tables import EDGE_JAVA, SERVICES

GATEWAY = "edge-gateway"          # the package the five common-code components share


def install_conflict(h: HostState, code: str, version: str) -> None:
    """What yum says when a package cannot be installed at ``version`` on this node."""
    service = SERVICES[code]
    have = h.components[code].version if h.has(code) else version
    if have != version:
        why = " (yum does not downgrade)" if have > version else ""
        raise CommandError(f"Error: {package(service, have)} is installed, not {service}-{version}"
                           f"{why}: 'apigee-service {service} uninstall' first")
    if code in EDGE_JAVA:
        other = sorted({h.components[c].version for c in EDGE_JAVA if h.has(c) and c != code} - {version})
        if other:
            raise CommandError(f"Error: Package {service}-{version} requires {GATEWAY} = {version}; "
                               f"installed: {GATEWAY}-{other[0]} (shared by "
                               f"{', '.join(SERVICES[c] for c in sorted(EDGE_JAVA) if h.has(c))}): "
                               f"'apigee-service {GATEWAY} uninstall' first")


def _remove_stubs(h: HostState, rels: dict[str, str]) -> None:
    for rel in rels:
        (h.root / rel).unlink(missing_ok=True)


async def uninstall(ctx: Ctx, service: str) -> int:
    """``apigee-service COMP uninstall`` (X1): removes the package, keeps data and logs."""
    h, st = ctx.host, ctx.st
    if service == GATEWAY:
        codes = [c for c in sorted(EDGE_JAVA) if h.has(c)]
    else:
        code = SERVICE_COMPONENT[service]
        codes = [code] if h.has(code) else []
    if not codes:
        raise CommandError(f"apigee-service: {service} is not installed on this node")
    running = [SERVICES[c] for c in codes if h.components[c].state != "stopped"]
    if running:
        raise CommandError(f"ERROR: {', '.join(running)} still running; stop it before uninstalling")
    if "qpid" in codes and h.queue > 0:
        st.lost += h.queue
        st.violate(2, h.name, f"broker uninstalled with {h.queue} messages in it (lost)")
        h.queue = 0
    await ctx.sleep("stop")
    for c in codes:
        comp = h.components.pop(c)
        h.uninstalled[c] = comp.version
        st.rollback_seen = st.rollback_seen or comp.version == TARGET
        ctx.out(f"Removing {package(comp.service, comp.version)} ...")
    if "qpid" in codes:
        _remove_stubs(h, QPID_CMDS)
    ctx.out(f"{service} uninstalled (data and logs under {h.root}/data are kept)")
    return 0


async def setup_uninstall(ctx: Ctx) -> int:
    """``apigee-service apigee-setup uninstall``: setup.sh and update.sh go with it."""
    h = ctx.host
    if not h.setup_version:
        raise CommandError("apigee-service: apigee-setup is not installed on this node")
    ctx.out(f"Removing {package('apigee-setup', h.setup_version)} ...")
    h.setup_version = ""
    _remove_stubs(h, SETUP_CMDS)
    return 0


def queued(st: LabState) -> int:
    return sum(x.queue + x.buffer for x in st.hosts.values())


async def promote(ctx: Ctx, rest: list[str]) -> int:
    """``apigee-service apigee-postgresql promote-standby-to-master OLD_MASTER`` (F1)."""
    h, st = ctx.host, ctx.st
    if not rest:
        raise CommandError("Usage: apigee-service apigee-postgresql promote-standby-to-master "
                           "IPorDNSofOldMaster")
    if h.postgres not in ("standby", "rollback_standby"):
        raise CommandError("ERROR: pg_ctl: cannot promote server; server is not in standby mode")
    if not h.up("ps"):
        raise CommandError("ERROR: PostgreSQL is not running on this node; start it first "
                           "(apigee-all start)")
    old = st.by_address(rest[0])
    if old is None or old.postgres != "master":
        raise CommandError(f"ERROR: {rest[0]} is not the PostgreSQL master of this installation")
    if h.spare_retired:
        st.violate(17, h.name, "spare standby retired before the rollback (stopped with apigee-all "
                               "stop or deregistered), then promoted to master")
    if old.up("ps"):
        st.violate(18, old.name, f"two PostgreSQL masters: {h.name} promoted while {old.name} "
                                 f"(PostgreSQL {PG_MAJOR[old.components['ps'].version]}) still runs")
    ctx.out(f"Promoting the standby {h.address} to master (old master {old.address}) ...")
    await ctx.sleep("start")
    st.switch = {"master": h.name, "old": old.name, "at": time.time(), "queued": queued(st),
                 "rows_at_switch": h.rows}
    old.postgres, h.postgres = "old_master", "master"
    h.pg_epoch, h.pg_synced = max(h.pg_epoch, old.pg_epoch) + 1, True
    st.rollback_seen = True
    ctx.out("server promoting")
    ctx.out(f"PostgreSQL {PG_MAJOR[h.components['ps'].version]} on {h.address} is now the master")
    return 0


async def replication_on_master(ctx: Ctx, rest: list[str]) -> int:
    """``setup-replication-on-master -f FILE``: lets PG_STANDBY replicate from this node."""
    h = ctx.host
    conf = read_config(ctx, option(rest, "-f"))
    if conf.get("PG_MASTER") != h.address or h.postgres != "master":
        raise CommandError(f"ERROR: this node ({h.address}) is not the PostgreSQL master named by "
                           "PG_MASTER in the configuration file")
    standby = conf.get("PG_STANDBY", "")
    if not standby:
        raise CommandError("ERROR: PG_STANDBY is not set in the configuration file")
    props = h.pg_properties
    lines = props.read_text().splitlines() if props.exists() else []
    key = "conf_pg_hba_replication.connection="
    old = next((x for x in lines if x.startswith(key)), None)
    entries = [e for e in (old[len(key):].split("\\ \\n") if old else []) if e.strip()]
    if hba_line(standby) not in entries:
        entries.append(hba_line(standby))
    lines = [x for x in lines if not x.startswith(key)] + [key + "\\ \\n".join(entries)]
    props.parent.mkdir(parents=True, exist_ok=True)
    props.write_text("\n".join(lines) + "\n")
    regenerate_hba(h)
    ctx.out(f"Replication from {h.address} allowed for standby {standby} (pg_hba.conf updated)")
    return 0


ROLLBACK_VERBS = {"promote-standby-to-master": promote,
                  "setup-replication-on-master": replication_on_master}
