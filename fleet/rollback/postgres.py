"""PostgreSQL rollback with the spare 4.16.09 standby (rollback.md section 3): fence the
updated pair, promote the spare, re-point the old standby and the analytics registrations,
check replication, restart the Qpid Servers so queued analytics drain into the new master.

Strictly sequential batches. Management-API calls are made by the runner; the UUIDs they
need are stored as variables of the spare's host (one namespace for the whole wave).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from fleet.model import HTTP, Batch, Node, Request, Step, Wave, batch_of
from fleet.plan.context import Context
from fleet.plan.quote import q
from fleet.rollback import node as rb
from fleet.rollback.node import INFERRED, S, tag

AX_GROUP, CONSUMER_GROUP = "axgroup-001", "consumer-group-001"


@dataclass(frozen=True)
class Pair:
    master: Node        # OM: fenced for good, decommissioned
    standby: Node       # OS: back to 4.16.09 as standby of NS
    spare: Node         # NS: promoted


def _api(ctx: Context, host: Node, action: str, method: str, path: str,
         store: str | None = None, select: dict[str, str] | None = None) -> Step:
    url = f"{ctx.management_url}{path}"
    return ctx.step(host, action, f"{method} {url}", kind=HTTP, basis=INFERRED,
                    request=Request(method, url, select=select or {}, store=store))


def _uuid(ctx: Context, holder: Node, of: Node, var: str) -> Step:
    """The Postgres Server UUID of ``of`` (listing of the analytics pod), stored on ``holder``;
    [I]: rollback.md 3.8's [S] UUID command is the node's own 8084/v1/servers/self."""
    return _api(ctx, holder, f"uuid_{var}", "GET",
                f"/v1/servers?pod=analytics&region={of.dc}", store=var,
                select={"internalIP": of.registered_address, "type": "postgres-server"})


def _config(ctx: Context, n: Node, pair: Pair) -> Step:
    """Section 3.4 [I]: PG_MASTER=NS, PG_STANDBY=OS in the node's 4.16.09 config file."""
    f = q(n.config_file)
    m, s = pair.spare.address, pair.standby.address
    cmd = (f"(test -e {f}.before-rollback || cp -p {f} {f}.before-rollback) && "
           f"sed -i -e {q(f's/^PG_MASTER=.*/PG_MASTER={m}/')} "
           f"-e {q(f's/^PG_STANDBY=.*/PG_STANDBY={s}/')} {f} && "
           f"grep -qx {q(f'PG_MASTER={m}')} {f} && grep -qx {q(f'PG_STANDBY={s}')} {f}")
    return ctx.step(n, "config_repoint", ctx.root(f"sh -c {q(cmd)}"), basis=INFERRED)


def _hba_lists(ctx: Context, n: Node, address: str) -> Step:
    hba = f"{q(n.apigee_root)}/apigee-postgresql/conf/pg_hba.conf"
    pattern = q("[[:space:]]" + address.replace(".", "[.]") + "/32")
    return replace(ctx.check(n, "pg_hba_check", f"grep -qE {pattern} {hba}"), basis=INFERRED)


def _standby_back(ctx: Context, os_: Node, full: frozenset[str] | None, profiles: list[str],
                  present: set[str]) -> list[Step]:
    """Section 3.6 [I]. ``full``: OS's components to uninstall and reinstall (its
    PostgreSQL is 9.6); None: F1's short path (its PostgreSQL is still 9.4)."""
    data = f"{q(os_.apigee_root)}/data/apigee-postgresql/"
    wipe = ctx.step(os_, "pgdata_clear", ctx.root(f"rm -rf {data}"), basis=INFERRED)
    if full is None:
        return [replace(ctx.component(os_, "ps", "stop"), basis=INFERRED), wipe,
                replace(ctx.service(os_, "apigee-postgresql", "setup-replication-on-standby",
                                    "replication_setup", f"-f {q(os_.config_file)}"),
                        timeout=ctx.settings.timeout("long"), basis=INFERRED)]
    chain: list[Step] = []
    unblock = None
    if "qpid" in full and "qpid" in present:
        drain, unblock = rb.drain_steps(ctx, os_)
        chain += drain
    chain += tag(rb.stop_uninstall(ctx, os_, full, present), INFERRED)
    chain.append(wipe)
    chain += rb.tooling(ctx, os_) + rb.reinstall(ctx, os_, profiles, full)
    if unblock is not None:
        chain.append(unblock)
    chain.append(rb.back_check(ctx, os_, full))
    return chain


def postgres_wave(ctx: Context, pair: Pair, standby_full: frozenset[str] | None,
                  standby_profiles: list[str], standby_present: set[str],
                  qpid_servers: list[Node], master_has_ps: bool) -> Wave:
    om, os_, ns = pair.master, pair.standby, pair.spare
    batches: list[Batch] = [
        batch_of([[ctx.step(ns, "status_or_start", f"{ctx.all_cmd(ns, 'status')} || "
                            f"{ctx.all_cmd(ns, 'start')}", basis=S)]], "spare up"),
        batch_of([[_uuid(ctx, ns, om, "om_pg_uuid"), _uuid(ctx, ns, os_, "os_pg_uuid"),
                   _uuid(ctx, ns, ns, "ns_pg_uuid")]], "uuids"),
    ]
    fence = [[replace(ctx.component(n, "pg", "stop"), basis=S),
              replace(ctx.component(n, "ps", "stop"), basis=INFERRED)] for n in (om, os_)]
    fence += [[replace(ctx.component(n, "qs", "stop"), basis=INFERRED)]
              for n in qpid_servers]
    batches.append(batch_of(fence, "fence"))
    batches.append(batch_of([[ctx.step(ns, "promote", ctx.service_cmd(
        ns, "apigee-postgresql", "promote-standby-to-master", q(om.address)), basis=INFERRED)]],
        "promote spare"))
    batches.append(batch_of([[_config(ctx, ns, pair)], [_config(ctx, os_, pair)]], "config"))
    batches.append(batch_of([[
        ctx.step(ns, "replication_master", ctx.service_cmd(
            ns, "apigee-postgresql", "setup-replication-on-master", f"-f {q(ns.config_file)}"),
            timeout=ctx.settings.timeout("long"), basis=INFERRED),
        _hba_lists(ctx, ns, os_.address)]], "allow replication"))
    ax = f"/v1/analytics/groups/ax/{AX_GROUP}"
    cg = f"{ax}/consumer-groups/{CONSUMER_GROUP}/datastores"
    old, ns_only = "${om_pg_uuid},${os_pg_uuid}", "${ns_pg_uuid}"
    both = "${ns_pg_uuid},${os_pg_uuid_new}"
    # NS registered and serving before OS is rebuilt: the Qpid Servers restart now, so the
    # analytics queued since the fence drain into NS, and OS's own qpidd (if it is rolled
    # back with OS) can be drained by its Qpid Server.
    batches.append(batch_of([[
        _api(ctx, ns, "cg_remove_old", "DELETE", f"{cg}?uuid={old}"),    # the group's user first
        _api(ctx, ns, "ax_remove_old", "DELETE", f"{ax}/servers?uuid={old}&type=postgres-server"),
        _api(ctx, ns, "ax_add_master", "POST",
             f"{ax}/servers?uuid={ns_only}&type=postgres-server&force=true"),
        _api(ctx, ns, "cg_add_master", "POST", f"{cg}?uuid={ns_only}"),
    ]], "register new master"))
    batches.append(batch_of([[replace(ctx.component(ns, "pg", "start"), basis=INFERRED)]],
                            "start new master's postgres server"))
    if qpid_servers:
        batches.append(batch_of([[replace(ctx.component(n, "qs", "start"), basis=INFERRED)]
                                 for n in qpid_servers], "start qpid servers"))
    batches.append(batch_of([_standby_back(ctx, os_, standby_full, standby_profiles,
                                           standby_present)], "standby back"))
    batches.append(batch_of([[replace(ctx.postgres_check(ns, "master"), basis=S)],
                             [replace(ctx.postgres_check(os_, "standby"), basis=S)]],
                            "check replication"))
    batches.append(batch_of([[
        _uuid(ctx, ns, os_, "os_pg_uuid_new"),
        _api(ctx, ns, "cg_remove_master", "DELETE", f"{cg}?uuid={ns_only}"),
        _api(ctx, ns, "ax_remove_master", "DELETE",
             f"{ax}/servers?uuid={ns_only}&type=postgres-server"),
        _api(ctx, ns, "ax_add_pair", "POST",
             f"{ax}/servers?uuid={both}&type=postgres-server&force=true"),
        _api(ctx, ns, "cg_add_pair", "POST", f"{cg}?uuid={both}"),
        _api(ctx, ns, "ax_groups", "GET", "/v1/analytics/groups/ax"),
    ]], "register the pair"))
    batches.append(batch_of([[replace(ctx.component(os_, "pg", "start"), basis=INFERRED)]],
                            "start standby's postgres server"))
    old_master: list[Step] = []
    if master_has_ps:
        old_master.append(ctx.step(om, "uninstall_ps", ctx.service_cmd(
            om, "apigee-postgresql", "uninstall"), timeout=ctx.settings.timeout("long"),
            basis=INFERRED))
    batches.append(batch_of([old_master,
                             [_api(ctx, ns, "deregister_old_master", "DELETE",
                                   "/v1/servers/${om_pg_uuid}")]], "old master"))
    return Wave("rb_postgres", tuple(b for b in batches if b is not None and b.steps))
