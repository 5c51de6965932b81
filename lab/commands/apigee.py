"""apigee-service, apigee-all and setup.sh: per-service verbs and whole-node operations."""
from __future__ import annotations

import asyncio
import time

from lab.tables import PROFILES, SERVICES
from lab.commands import Ctx, CommandError, command
from lab.commands.postgres import POSTGRES_VERBS, pgdata_empty, replication_source
from lab.commands.rollback import GATEWAY, install_conflict, setup_uninstall, uninstall
from lab.commands.update import (check_pg_data, option, ordered, read_config, start, stop,
                                 update_components)
from lab.layout import install_apigee_stubs, write_nginx_conf, write_pgdata, write_postgres_files
from lab.state import SERVICE_COMPONENT, SOURCE, TARGET, HostState, package

SPECIAL = ("apigee-setup", "apigee-validate", "apigee-provision", "apigee-service",
           "apigee-attribution")


def status_line(service: str, up: bool) -> str:
    """As real nodes print a stopped component (Apigee docs, "Unable to start Edge
    components"); the running line's wording is not public, this one is the lab's."""
    return f"apigee-service: {service}: {'OK' if up else 'Not running (DEAD)'}"


def tool_versions(h: HostState) -> dict[str, str]:
    """The tool packages `apigee-all version` lists besides the components (apigee-setup
    only while it is installed: a rollback uninstalls it)."""
    tools = {"apigee-attribution": h.repo_version or SOURCE, "apigee-service": h.repo_version or SOURCE}
    return tools | ({"apigee-setup": h.setup_version} if h.setup_version else {})


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
            if not h.setup_version:
                raise CommandError("apigee-service: apigee-setup is not installed on this node")
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
                why = " (yum does not downgrade)" if h.setup_version > h.repo_version else ""
                raise CommandError(f"Error: {package('apigee-setup', h.setup_version)} is installed; "
                                   f"apigee-setup-{h.repo_version} cannot replace it{why}: "
                                   "'apigee-service apigee-setup uninstall' first")
            await ctx.sleep("setup_update")
            h.setup_version = h.repo_version
            install_apigee_stubs(h, ctx.lab.sock)
            ctx.out(f"apigee-setup installed: {package('apigee-setup', h.setup_version)}")
            return 0
    if service in ("apigee-validate", "apigee-provision"):
        if verb == "install":                    # from the configured repository (a rollback)
            await ctx.sleep("setup_update")
            setattr(h, "validate_updated" if service == "apigee-validate" else "provision_updated",
                    h.repo_version == TARGET and st.prepared(h))
            ctx.out(f"{service} installed: {package(service, h.repo_version or SOURCE)}")
            return 0
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
            read_config(ctx, option(rest, "-f"))
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
            if code == "ps":                     # it starts: 9.4 refuses a 9.6 data directory
                check_pg_data(h, version)
            await ctx.sleep("setup")
            ctx.st.install(h, [code], version)
            if code == "r":
                write_nginx_conf(h, version)
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
        ctx.st.retired(h, "stopped with apigee-all stop")
        await stop(ctx, codes)
        h.retired = h.postgres == "rollback_standby"
        return 0
    ctx.err("Usage: apigee-all start|stop|restart|status|version")
    return 1


@command("setup.sh")
async def setup_sh(ctx: Ctx) -> int:
    """Installs a profile at the version of the configured repository (used for the rollback standby)."""
    a = ctx.argv
    profile = option(a, "-p")
    if profile not in PROFILES:
        ctx.err(f"ERROR: unknown or missing profile {profile!r} (setup.sh -p PROFILE -f FILE)")
        return 1
    conf = read_config(ctx, option(a, "-f"))
    h, st = ctx.host, ctx.st
    version = h.setup_version
    codes = list(PROFILES[profile])
    for c in codes:
        install_conflict(h, c, version)
    master = None
    if "ps" in codes and conf.get("PG_STANDBY") == h.address:
        master = replication_source(st, h, conf, version)
    elif "ps" in codes:
        check_pg_data(h, version)
    new = [c for c in codes if not h.has(c)]
    ctx.out(f"Installing profile {profile} ({', '.join(SERVICES[c] for c in codes)}) version {version}")
    await ctx.sleep("setup")
    if master is not None:
        h.postgres = h.postgres or "standby"
        h.pg_epoch, h.pg_synced, h.rows = master.pg_epoch, True, master.rows
    st.install(h, new, version)
    if "r" in new:
        write_nginx_conf(h, version)
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
