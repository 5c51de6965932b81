"""PostgreSQL 9.6 and the master/standby pair, and the rollback standby (section 6)."""
from __future__ import annotations

from fleet.model import Batch, Node, Step, Wave, batch_of
from fleet.plan.context import Context
from fleet.plan.quote import q
from fleet.plan.roles import edge_pg_nodes

PROPERTY = "conf_pg_hba_replication.connection"


def _hba_value(addresses: list[str]) -> str:
    return "\\ \\n".join(f"host replication apigee {a}/32 trust" for a in addresses)


def _hba_listed(hba: str, address: str) -> str:
    return f"grep -qE {q('[[:space:]]' + address.replace('.', '[.]') + '/32')} {hba}"


def _set_replication(ctx: Context, master: Node, addresses: list[str],
                     gone: str | None = None) -> list[Step]:
    """Rewrite exactly our property in postgresql.properties, restart, check pg_hba.conf."""
    root = q(master.apigee_root)
    f = f"{root}/customer/application/postgresql.properties"
    hba = f"{root}/apigee-postgresql/conf/pg_hba.conf"
    line = f"{PROPERTY}={_hba_value(addresses)}"
    edit = (f"mkdir -p {root}/customer/application && touch {f} && "
            f"sed -i '/^{PROPERTY}=/d' {f} && printf '%s\\n' {q(line)} >> {f}")
    return [ctx.step(master, "pg_hba_set", edit),
            ctx.component(master, "ps", "restart", "restart_ps"),
            ctx.check(master, "pg_hba_check", " && ".join(
                [_hba_listed(hba, a) for a in addresses]
                + ([f"! {_hba_listed(hba, gone)}"] if gone else [])))]


def postgres(ctx: Context) -> Wave | None:
    ps_nodes = ctx.with_("ps")
    if not ps_nodes:
        return None
    master = ctx.role("master") or ps_nodes[0]
    standby = ctx.role("standby")
    rollback = ctx.role("rollback_standby")
    pg_hosts = ctx.with_("pg")
    qs_hosts = ctx.with_("qs")

    def stops(n: Node) -> list[Step]:
        # The spec's order: Postgres Server, then PostgreSQL on the standby (the pair) or
        # Qpid Server then PostgreSQL (a single PostgreSQL node).
        chain = [ctx.component(n, "pg", "stop")] if n in pg_hosts else []
        stop_ps = n is standby or (standby is None and n is master)
        order = ("ps", "qs") if standby else ("qs", "ps")
        for c in order:
            if (c == "ps" and stop_ps) or (c == "qs" and n in qs_hosts):
                chain.append(ctx.component(n, c, "stop"))
        return chain

    involved = list(dict.fromkeys([master] + ([standby] if standby else []) + pg_hosts + qs_hosts))
    chains = [stops(n) for n in involved]
    if rollback:
        chains.append([ctx.component(rollback, "pg", "stop"), ctx.component(rollback, "ps", "stop")])
    batches: list[Batch] = [batch_of(chains, "stop")]
    batches.append(batch_of([[ctx.update(master, ["ps"]),
                              ctx.service(master, "apigee-postgresql", "db_upgrade")]],
                            "master"))
    edge_pg = {n.name for n in edge_pg_nodes(ctx)}
    if standby is None:
        # Section 6, single PostgreSQL: its node gets `-c edge` next (edge_pg), which starts
        # its Edge components; start them here only on nodes edge_pg does not touch.
        starts = [[ctx.component(n, c, "start") for c in ("pg", "qs") if n.has(c)]
                  for n in involved if n.name not in edge_pg and n.has("pg", "qs")]
        if starts:
            batches.append(batch_of(starts, "start"))
        return Wave("postgres", tuple(batches))
    batches.append(batch_of([[ctx.update(standby, ["ps"])]], "standby"))
    starts = [[ctx.component(n, c, "start") for c in ("pg", "qs") if n.has(c)]
              for n in involved if n.has("pg", "qs")]
    batches.append(batch_of(starts, "start"))
    data = f"{q(standby.apigee_root)}/data/apigee-postgresql/pgdata"
    batches.append(batch_of([[
        ctx.step(standby, "pgdata_empty", ctx.root(f"find {data} -mindepth 1 -delete")),
        ctx.service(standby, "apigee-postgresql", "setup-replication-on-standby",
                    "replication_setup", f"-f {q(standby.config_file)}"),
    ]], "rebuild standby"))
    # Both must pass (section 6, step 6): each by its exit status (and the configured
    # pattern, if any); the batch fails unless the two agree.
    batches.append(batch_of([[ctx.postgres_check(master, "master")],
                             [ctx.postgres_check(standby, "standby")]], "check replication"))
    return Wave("postgres", tuple(batches))


def rollback_nodes(ctx: Context) -> tuple[Node, Node, Node] | None:
    """Master, standby and the spare standby to attach to them; None without all three."""
    master, standby, spare = (ctx.role(r) for r in ("master", "standby", "rollback_standby"))
    return (master, standby, spare) if master and standby and spare else None


def rollback_add(ctx: Context) -> Wave | None:
    """A spare standby that stays on the old version, for a rollback."""
    nodes = rollback_nodes(ctx)
    if nodes is None:
        return None
    master, standby, new = nodes
    # checked in preflight too; again here for a run of this wave alone
    install = [ctx.selinux_check(new)]
    install += ctx.bootstrap(new, "4.16.09")
    install += [
        ctx.service(new, "apigee-setup", "install", "setup_install"),
        ctx.step(new, "setup_ps", ctx.root(
            f"{q(new.apigee_root)}/apigee-setup/bin/setup.sh -p ps -f {q(new.config_file)}")),
        ctx.postgres_check(new, "standby"),
    ]
    return Wave("rollback_add", (
        batch_of([_set_replication(ctx, master, [standby.address, new.address])], "allow replication"),
        batch_of([install], "install rollback standby"),
    ))


def rollback_retire(ctx: Context) -> Wave | None:
    """Decommission the rollback standby after a successful update."""
    nodes = rollback_nodes(ctx)
    if nodes is None:
        return None
    master, standby, old = nodes
    status = f"{ctx.all_cmd(old, 'status')} || {ctx.all_cmd(old, 'start')}"
    master_chain = _set_replication(ctx, master, [standby.address], gone=old.address)
    return Wave("rollback_retire", (
        batch_of([[ctx.step(old, "status_or_start", status),
                   ctx.server_uuid(old, "pg", "pg_uuid"),
                   ctx.step(old, "stop_all", ctx.all_cmd(old, "stop"))]], "stop rollback standby"),
        batch_of([master_chain], "forbid its replication"),
        batch_of([[ctx.deregister(old, "pg_uuid")]], "deregister"),
    ))
