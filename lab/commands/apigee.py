"""apigee-service, apigee-all and setup.sh: per-service verbs and whole-node operations."""
from __future__ import annotations

import asyncio
import time

from lab.tables import PROFILES, SERVICES
from lab.commands import Ctx, CommandError, command
from lab.commands.postgres import POSTGRES_VERBS, pgdata_empty
from lab.commands.rollback import GATEWAY, install_conflict, setup_uninstall, uninstall
from lab.commands.update import check_pg_data, ordered, read_config, start, stop, update_components
from lab.layout import install_apigee_stubs, write_pgdata, write_postgres_files
from lab.state import SERVICE_COMPONENT, SOURCE, TARGET, HostState, package

SPECIAL = ("apigee-setup", "apigee-validate", "apigee-provision", "apigee-service",
           "apigee-attribution")


def status_line(service: str, up: bool) -> str:
    """As real nodes print a stopped component (Apigee docs, "Unable to start Edge
    components"); the running line's wording is not public, this one is the lab's."""
    return f"apigee-service: {service}: {'OK' if up else 'Not running (DEAD)'}"


def tool_versions(h: HostState) -> dict[str, str]:
    """The tool packages `apigee-all version` lists besides the components."""
    return {"apigee-attribution": h.repo_version or SOURCE,
            "apigee-service": h.repo_version or SOURCE, "apigee-setup": h.setup_version}


async def wait_for_ready(ctx: Ctx, code: str) -> int:
    h = ctx.host
    deadline = time.monotonic() + max(2.0, 30 * ctx.lab.speed)
    while time.monotonic() < deadline:
        if h.up(code):
            ctx.out(f"{SERVICES[code]} is ready")
            return 0
        if h.components[code].state == "stopped":
            break
        await asyncio.sleep(0.02)
    ctx.err(f"{SERVICES[code]} is not ready (state: {h.components[code].state})")
    return 1


async def special(ctx: Ctx, service: str, verb: str, rest: list[str]) -> int:
    h, st = ctx.host, ctx.st
    if service == "apigee-setup":
        if verb == "version":
            ctx.out(package("apigee-setup", h.setup_version))
            return 0
        if verb == "update":
            if h.repo_version != TARGET:
                raise CommandError("ERROR: the 4.18.01 repository is not configured on this node; "
                                   "run bootstrap_4.18.01.sh first")
            await ctx.sleep("setup_update")
            h.setup_version = TARGET
            install_apigee_stubs(h, ctx.lab.sock)
            ctx.out(f"apigee-setup updated to {package('apigee-setup', TARGET)}")
            return 0
        if verb == "uninstall":
            return await setup_uninstall(ctx)
        if verb == "install":
            if h.repo_version is None:
                raise CommandError("ERROR: apigee-service is not bootstrapped on this node")
            if h.setup_version and h.setup_version != h.repo_version:
                raise CommandError(f"Error: {package('apigee-setup', h.setup_version)} is installed; "
                                   f"apigee-setup-{h.repo_version} cannot replace it (yum does not "
                                   "downgrade): 'apigee-service apigee-setup uninstall' first")
            await ctx.sleep("setup_update")
            h.setup_version = h.repo_version
            install_apigee_stubs(h, ctx.lab.sock)
            ctx.out(f"apigee-setup installed: {package('apigee-setup', h.setup_version)}")
            return 0
    if service in ("apigee-validate", "apigee-provision"):
        if verb == "update":
            if not st.prepared(h):
                raise CommandError(f"ERROR: run 'apigee-service apigee-setup update' before {service} update")
            await ctx.sleep("setup_update")
            setattr(h, "validate_updated" if service == "apigee-validate" else "provision_updated", True)
            ctx.out(f"{service} updated to {package(service, TARGET)}")
            return 0
        if verb == "version":
            done = h.validate_updated if service == "apigee-validate" else h.provision_updated
            ctx.out(package(service, TARGET if done else SOURCE))
            return 0
        if service == "apigee-validate" and verb in ("setup", "clean"):
            read_config(ctx, rest[rest.index("-f") + 1] if "-f" in rest and len(rest) > rest.index("-f") + 1 else None)
            await ctx.sleep("validate")
            if verb == "clean":
                ctx.out("Deleting organization VALIDATE ... HTTP 200\nDeleting test users ... HTTP 200")
                return 0
            down = [f"{x.name}:{c.service}" for x in st.hosts.values() if x.installed and not x.retired
                    and x.postgres != "rollback_standby" for c in x.components.values() if not c.up]
            ctx.out("Creating organization VALIDATE ... HTTP 201")
            ctx.out("Deploying proxy apigee-validate-health-check ... HTTP 200")
            if down:
                ctx.out("Calling proxy apigee-validate-health-check ... HTTP 503")
                ctx.err("ERROR: validation failed; components down: " + ", ".join(down))
                return 1
            ctx.out("Calling proxy apigee-validate-health-check ... HTTP 200\nValidation successful")
            return 0
    if service in ("apigee-service", "apigee-attribution") and verb == "version":
        ctx.out(package(service, tool_versions(h)[service]))
        return 0
    raise CommandError(f"apigee-service: {service}: unsupported action '{verb}'")


@command("apigee-service")
async def apigee_service(ctx: Ctx) -> int:
    if len(ctx.argv) < 2:
        ctx.err("Usage: apigee-service COMPONENT ACTION [ARGS]")
        return 1
    service, verb, rest = ctx.argv[0], ctx.argv[1], ctx.argv[2:]
    if service in SPECIAL:
        return await special(ctx, service, verb, rest)
    code = SERVICE_COMPONENT.get(service)
    if code is None and service != GATEWAY:
        raise CommandError(f"apigee-service: unknown component '{service}'")
    if verb == "uninstall":
        return await uninstall(ctx, service)
    if code is None:
        raise CommandError(f"apigee-service: {service}: unsupported action '{verb}'")
    h = ctx.host
    if verb == "install":
        version = h.repo_version or SOURCE
        install_conflict(h, code, version)
        if not h.has(code):
            await ctx.sleep("setup")
            ctx.st.install(h, [code], version)
        ctx.out(f"{service} is installed")
        return 0
    if not h.has(code):
        raise CommandError(f"apigee-service: {service} is not installed on this node")
    if verb in POSTGRES_VERBS and code == "ps":
        return await POSTGRES_VERBS[verb](ctx, rest)
    comp = h.components[code]
    if verb == "status":
        ctx.out(status_line(service, comp.up))
        return 0 if comp.up else 1
    if verb == "version":
        ctx.out(package(service, comp.version))
        return 0
    if verb == "start":
        await start(ctx, [code])
        return 0
    if verb == "stop":
        await stop(ctx, [code])
        return 0
    if verb == "restart":
        await stop(ctx, [code])
        await start(ctx, [code])
        return 0
    if verb == "wait_for_ready":
        return await wait_for_ready(ctx, code)
    if verb == "update":
        await update_components(ctx, [code], f"apigee-service {service} update")
        return 0
    raise CommandError(f"apigee-service: {service}: unsupported action '{verb}'")


@command("apigee-all")
async def apigee_all(ctx: Ctx) -> int:
    h = ctx.host
    verb = ctx.argv[0] if ctx.argv else ""
    codes = ordered(list(h.components))
    if verb == "version":
        # one `apigee-service PKG version` per package, alphabetically, each after its
        # shell trace line (on stderr, as bash -x prints it)
        versions = {h.components[c].service: h.components[c].version for c in codes}
        versions.update(tool_versions(h))
        for service in sorted(versions):
            ctx.err(f"+ apigee-service {service} version")
            ctx.out(package(service, versions[service]))
        return 0
    if verb == "status":
        down = []
        for c in codes:
            service = h.components[c].service
            ctx.err(f"+ apigee-service {service} status")
            ctx.out(status_line(service, h.up(c)))
            if not h.up(c):
                down.append(service)
        if down:
            ctx.out(f"apigee-all: Error: status failed on [{', '.join(down)}]")
            return 1
        return 0
    if verb == "start":
        await start(ctx, codes)
        h.retired = False
        return 0
    if verb == "stop":
        if ctx.st.switch and ctx.st.switch["master"] == h.name and h.postgres == "master":
            ctx.st.violate(17, h.name, "the promoted spare (now the PostgreSQL master) stopped with "
                                       "apigee-all stop after the rollback: 'retire the rollback "
                                       "standby' run on it")
        await stop(ctx, codes)
        h.retired = h.postgres == "rollback_standby"
        h.spare_retired = h.spare_retired or h.retired
        return 0
    ctx.err("Usage: apigee-all start|stop|restart|status|version")
    return 1


@command("setup.sh")
async def setup_sh(ctx: Ctx) -> int:
    """Installs a profile at the version of the configured repository (used for the rollback standby)."""
    a = ctx.argv
    profile = a[a.index("-p") + 1] if "-p" in a and len(a) > a.index("-p") + 1 else None
    if profile not in PROFILES:
        ctx.err(f"ERROR: unknown or missing profile {profile!r} (setup.sh -p PROFILE -f FILE)")
        return 1
    conf = read_config(ctx, a[a.index("-f") + 1] if "-f" in a and len(a) > a.index("-f") + 1 else None)
    h, st = ctx.host, ctx.st
    version = h.setup_version
    codes = list(PROFILES[profile])
    for c in codes:
        install_conflict(h, c, version)
    standby = "ps" in codes and conf.get("PG_STANDBY") == h.address
    if standby:
        master = st.by_address(conf.get("PG_MASTER", ""))
        if master is None or not master.up("ps") or master.postgres != "master":
            raise CommandError(f"ERROR: PostgreSQL master {conf.get('PG_MASTER')} is not reachable")
        if h.address not in master.pg_hba.read_text():
            raise CommandError(f"ERROR: replication refused: pg_hba.conf on {master.address} has no "
                               f"entry for {h.address}")
        if master.components["ps"].version != version:
            raise CommandError("ERROR: cannot replicate from a PostgreSQL master of another major version")
        if not pgdata_empty(h):
            raise CommandError(f"ERROR: pg_basebackup: directory \"{h.pgdata}\" exists but is not empty")
    elif "ps" in codes:
        check_pg_data(h, version)
    new = [c for c in codes if not h.has(c)]
    ctx.out(f"Installing profile {profile} ({', '.join(SERVICES[c] for c in codes)}) version {version}")
    await ctx.sleep("setup")
    if standby:
        h.postgres = h.postgres or "standby"
        h.pg_epoch, h.pg_synced, h.rows = master.pg_epoch, True, master.rows
    st.install(h, new, version)
    if h.postgres == "rollback_standby" and version == TARGET:
        st.violate(12, h.name, "rollback standby installed at 4.18.01 instead of 4.16.09")
    install_apigee_stubs(h, ctx.lab.sock)
    if "ps" in codes:
        fresh = pgdata_empty(h)
        if not h.pg_properties.exists():
            write_postgres_files(h, st)
        if fresh:
            write_pgdata(h, version)
    ctx.out(f"Setup of profile {profile} completed successfully")
    return 0
