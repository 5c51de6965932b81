"""The wave registry: every wave of the update once, with what the rest of the code asks of
it. The CLI help, selection (--wave, atomic waves), the gates (what earlier waves brought to
the target), and the README's wave table (`python -m fleet.plan.waves`, checked by
tests/plans/test_waves.py) are derived from here.

A new wave is one entry: its builder (a pure function Context -> Wave | None, in the module
of its family), and, for an update wave, the components it brings to the target on a node.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fleet.components import EDGE_JAVA
from fleet.model import Node, Wave
from fleet.plan import datastore, postgres, prepare, roles
from fleet.plan.context import Context

Updates = Callable[[Node, Context, frozenset[str]], set[str]]


@dataclass(frozen=True)
class WaveSpec:
    name: str
    help: str                       # one line, for --help
    what: str                       # the README's "what" column (Markdown)
    concurrency: str                # the README's "concurrency" column
    build: Callable[[Context], Wave | None]
    # For an update wave: the components it brings to the target on a node (given the names
    # of the nodes whose Edge waits for edge_pg). A gate checks the live versions first.
    updates: Updates | None = None
    atomic: bool = False            # its steps make sense only on all its hosts together
    gated: bool = False             # a version gate runs before it even without `updates`


def _edge(n: Node, _c: Context, pg: frozenset[str]) -> set[str]:
    return set(n.components & EDGE_JAVA) if n.name not in pg and not n.has("ps") else set()


def _edge_pg(n: Node, _c: Context, pg: frozenset[str]) -> set[str]:
    return set(n.components & EDGE_JAVA) if n.name in pg else set()


def _only(*codes: str) -> Updates:
    return lambda n, _c, _pg: set(n.components & set(codes))


WAVES: tuple[WaveSpec, ...] = (
    WaveSpec("preflight", "read-only checks: components running, config file, SMTPMAILFROM, SELinux",
             "`apigee-all status`, config file readable, `SMTPMAILFROM` where SMTP is on, "
             "external-auth setting where configured, SELinux not enforcing",
             "all hosts", prepare.preflight),
    WaveSpec("rollback_add", "install the rollback standby on the old version (section 6)",
             "the spare standby for a rollback: replication allowed on the master, 4.16.09 "
             "bootstrap, `setup.sh -p ps` (section 6)", "—", postgres.rollback_add, atomic=True),
    WaveSpec("prepare", "yum, bootstrap 4.18.01, apigee-setup update; Cassandra repair cron off",
             "yum utilities, EPEL, bootstrap 4.18.01 (password answered at its prompt), "
             "`apigee-setup update`, validate/provision on Management Servers; Cassandra repair "
             "cron jobs disabled", "all hosts (`concurrency.prepare`)", prepare.prepare),
    WaveSpec("cs_zk", "update.sh -c cs,zk on every datastore node (quorum-safe with --zero-downtime)",
             "`update.sh -c cs,zk` (ZooKeeper nodes, then Cassandra-only nodes)",
             "all at once; with `--zero-downtime`, batches that keep a ZooKeeper majority and at "
             "most one Cassandra node per DC down", datastore.cs_zk, _only("cs", "zk")),
    WaveSpec("qpid", "block 5672, drain, update.sh -c qpid, unblock: one broker per DC at a time",
             "per broker: block 5672 for everyone but the node, poll `qpid-stat -q` until every "
             "queue is 0, `update.sh -c qpid`, delete exactly that rule (never `iptables -F`); a "
             "drain that times out removes the rule and fails the wave; the block then counts as "
             "not done, so `--resume` blocks, drains, updates and unblocks again",
             "one broker per DC at a time, DCs side by side", datastore.qpid, _only("qpid")),
    WaveSpec("ldap", "update.sh -c ldap", "`update.sh -c ldap`",
             "`concurrency.ldap` per DC (default 1)", roles.ldap, _only("ldap")),
    WaveSpec("edge", "update.sh -c edge: Qpid Servers, Postgres Servers, MS, MPs, Routers",
             "`update.sh -c edge` on Qpid Server, Postgres Server, Management Server, MP, Router "
             "nodes in that order (nodes running PostgreSQL wait for `edge_pg`); with "
             "`--zero-downtime` routers are blocked on 15999 and MPs made unreachable around "
             "their update", "`concurrency.edge` per DC (default 1)", roles.edge, _edge),
    WaveSpec("ui", "update.sh -c ui", "`update.sh -c ui` (after `edge_pg` when a UI node runs "
             "PostgreSQL)", "`concurrency.ui`", roles.ui, _only("ui")),
    WaveSpec("postgres", "PostgreSQL 9.6: stop, -c ps, db_upgrade on the master, standby rebuilt",
             "stop Postgres Servers, Qpid Servers, the standby's and rollback standby's "
             "PostgreSQL; `-c ps` and `db_upgrade` on the master; `-c ps` on the standby; start; "
             "rebuild the standby; check master and standby", "as section 6",
             postgres.postgres, _only("ps"), atomic=True),
    WaveSpec("edge_pg", "update.sh -c edge on the PostgreSQL nodes",
             "`update.sh -c edge` on the PostgreSQL nodes, master first", "one at a time",
             roles.edge_pg, _edge_pg),
    WaveSpec("baas_e", "API BaaS ElasticSearch (and Stack on shared nodes)",
             "API BaaS ElasticSearch (with the Stack where it shares nodes)", "`concurrency.baas`",
             roles.baas_e, lambda n, _c, _pg: set(n.components & {"e", "b"}) if n.has("e") else set()),
    WaveSpec("baas_b", "API BaaS Stack", "API BaaS Stack", "`concurrency.baas`", roles.baas_b,
             lambda n, _c, _pg: set(n.components & {"b"}) if not n.has("e") else set()),
    WaveSpec("baas_p", "API BaaS Portal", "API BaaS Portal", "`concurrency.baas`", roles.baas_p,
             _only("p")),
    WaveSpec("rollback_retire", "decommission the rollback standby",
             "stop and deregister the rollback standby, remove it from `pg_hba.conf`", "—",
             postgres.rollback_retire, atomic=True, gated=True),
    WaveSpec("validate", "apigee-validate, repair cron restored, every version checked",
             "`apigee-validate setup` + `clean` on a Management Server, repair cron restored, "
             "every component checked at 4.18.01", "—", prepare.validate),
)
BY_NAME = {w.name: w for w in WAVES}
WAVE_NAMES = tuple(BY_NAME)
WAVE_HELP = {w.name: w.help for w in WAVES}
UPDATE_WAVES = tuple(w.name for w in WAVES if w.updates)
ATOMIC_WAVES = tuple(w.name for w in WAVES if w.atomic)


def markdown_table() -> str:
    """The README's wave table."""
    rows = ["| wave | what | concurrency |", "|---|---|---|"]
    rows += [f"| `{w.name}` | {w.what} | {w.concurrency} |" for w in WAVES]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
