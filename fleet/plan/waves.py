"""The wave registry: every wave of the update once, with what the rest of the code asks of
it. The CLI help, selection (--wave, atomic waves, --canary), the gates (what earlier waves
brought to the target), the timeouts of long steps, the hints printed when a check fails and
the README's wave table (`python -m fleet.plan.waves`, checked by tests/plans/test_waves.py)
are derived from here.

A new wave is one entry: its builder (a pure function Context -> Wave | None, in the module
of its family), and, for an update wave, the components it brings to the target on a node.
A shell step of an update wave gets the timeout class the entry names for its action, else
the one its builder gave it: ``update`` for update.sh and ``bootstrap`` for the bootstrap
(their helpers in fleet/plan/context.py), a poll or pause its own, ``default`` otherwise.
Rollback plans (fleet/rollback) set their long steps' class where they build them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from fleet.components import EDGE_JAVA
from fleet.model import SHELL, Batch, Node, Wave
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
    # --canary: a wave that updates one role host by host, where one host can go first on its
    # own; not the read-only or preparing waves, nor the PostgreSQL waves that span the pair
    canary: bool = False
    # action -> the class of timeout (user_defined.timeouts.<class>) its steps get here
    timeouts: Mapping[str, str] = field(default_factory=dict)
    # check action this wave brings -> what the operator does when it fails (summary, runbook)
    hints: Mapping[str, str] = field(default_factory=dict)


def _edge(n: Node, _c: Context, pg: frozenset[str]) -> set[str]:
    return set(n.components & EDGE_JAVA) if n.name not in pg and not n.has("ps") else set()


def _edge_pg(n: Node, _c: Context, pg: frozenset[str]) -> set[str]:
    return set(n.components & EDGE_JAVA) if n.name in pg else set()


def _only(*codes: str) -> Updates:
    return lambda n, _c, _pg: set(n.components & set(codes))


PG_HBA = {"pg_hba_check": "pg_hba.conf on the master does not (or still does) list the "
                          "rollback standby after the restart: check "
                          "conf_pg_hba_replication.connection in "
                          "customer/application/postgresql.properties, restart PostgreSQL on "
                          "the master, then resume"}


WAVES: tuple[WaveSpec, ...] = (
    WaveSpec("preflight", "read-only checks: components running, config file, SMTPMAILFROM, SELinux",
             "`apigee-all status`, config file readable, `SMTPMAILFROM` where SMTP is on, "
             "external-auth setting where configured, SELinux not enforcing",
             "all hosts", prepare.preflight, hints={
                 "check_status": "a component is not running: start it (apigee-all start) and "
                                 "check apigee-all status before the update",
                 "check_config": "the silent config file is missing or unreadable: fix "
                                 "data.config_file",
                 "check_smtp": "SKIP_SMTP=n needs SMTPMAILFROM in the config file, e.g. "
                               "SMTPMAILFROM=\"My Company <myco@company.com>\" (required since "
                               "4.17.05)",
                 "check_external_auth": "external LDAP/AD: set IS_EXTERNAL_AUTH=true in the "
                                        "config file",
                 "check_selinux": "SELinux is enforcing: setenforce 0 and SELINUX=permissive in "
                                  "/etc/selinux/config"}),
    WaveSpec("rollback_add", "install the rollback standby on the old version (section 6)",
             "the spare standby for a rollback: replication allowed on the master, 4.16.09 "
             "bootstrap, `setup.sh -p ps` (section 6)", "—", postgres.rollback_add, atomic=True,
             timeouts=dict.fromkeys(("setup_install", "setup_ps"), "long"),
             hints=PG_HBA),
    WaveSpec("prepare", "yum, bootstrap 4.18.01, apigee-setup update; Cassandra repair cron off",
             "yum utilities, EPEL, bootstrap 4.18.01 (password answered at its prompt), "
             "`apigee-setup update`, validate/provision on Management Servers; Cassandra repair "
             "cron jobs disabled", "all hosts (`concurrency.prepare`)", prepare.prepare),
    WaveSpec("cs_zk", "update.sh -c cs,zk on every datastore node (quorum-safe with --zero-downtime)",
             "`update.sh -c cs,zk` (ZooKeeper nodes, then Cassandra-only nodes)",
             "all at once; with `--zero-downtime`, batches that keep a ZooKeeper majority and at "
             "most one Cassandra node per DC down", datastore.cs_zk, _only("cs", "zk"), canary=True),
    WaveSpec("qpid", "block 5672, drain, update.sh -c qpid, unblock: one broker per DC at a time",
             "per broker: block 5672 for everyone but the node, poll `qpid-stat -q` until every "
             "queue is 0, `update.sh -c qpid`, delete exactly that rule (never `iptables -F`); a "
             "drain that times out removes the rule and fails the wave; the block then counts as "
             "not done, so `--resume` blocks, drains, updates and unblocks again",
             "one broker per DC at a time, DCs side by side", datastore.qpid, _only("qpid"),
             canary=True, hints={"qpid_drain": "the broker did not drain: check its Qpid Server "
                                               "and PostgreSQL are up, then resume (the block "
                                               "was removed)"}),
    WaveSpec("ldap", "update.sh -c ldap", "`update.sh -c ldap`",
             "`concurrency.ldap` per DC (default 1)", roles.ldap, _only("ldap"), canary=True),
    WaveSpec("edge", "update.sh -c edge: Qpid Servers, Postgres Servers, MS, MPs, Routers",
             "`update.sh -c edge` on Qpid Server, Postgres Server, Management Server, MP, Router "
             "nodes in that order (nodes running PostgreSQL wait for `edge_pg`); with "
             "`--zero-downtime` routers are blocked on 15999 and MPs made unreachable around "
             "their update", "`concurrency.edge` per DC (default 1)", roles.edge, _edge, canary=True),
    WaveSpec("ui", "update.sh -c ui", "`update.sh -c ui` (after `edge_pg` when a UI node runs "
             "PostgreSQL)", "`concurrency.ui`", roles.ui, _only("ui"), canary=True),
    WaveSpec("postgres", "PostgreSQL 9.6: stop, -c ps, db_upgrade on the master, standby rebuilt",
             "stop Postgres Servers, Qpid Servers, the standby's and rollback standby's "
             "PostgreSQL; `-c ps` and `db_upgrade` on the master; `-c ps` on the standby; start; "
             "rebuild the standby; check master and standby", "as section 6",
             postgres.postgres, _only("ps"), atomic=True,
             timeouts=dict.fromkeys(("db_upgrade", "replication_setup"), "long"), hints={
                 "check_master": "postgres-check-master failed (exit status or user_defined."
                                 "postgres.master_pattern): check PostgreSQL on the master, "
                                 "then resume",
                 "check_standby": "postgres-check-standby failed: the standby does not "
                                  "replicate from the master; rebuild it "
                                  "(setup-replication-on-standby), then resume"}),
    WaveSpec("edge_pg", "update.sh -c edge on the PostgreSQL nodes",
             "`update.sh -c edge` on the PostgreSQL nodes, master first", "one at a time",
             roles.edge_pg, _edge_pg, canary=True),
    WaveSpec("baas_e", "API BaaS ElasticSearch (and Stack on shared nodes)",
             "API BaaS ElasticSearch (with the Stack where it shares nodes)", "`concurrency.baas`",
             roles.baas_e, lambda n, _c, _pg: set(n.components & {"e", "b"}) if n.has("e") else set(),
             canary=True),
    WaveSpec("baas_b", "API BaaS Stack", "API BaaS Stack", "`concurrency.baas`", roles.baas_b,
             lambda n, _c, _pg: set(n.components & {"b"}) if not n.has("e") else set(),
             canary=True),
    WaveSpec("baas_p", "API BaaS Portal", "API BaaS Portal", "`concurrency.baas`", roles.baas_p,
             _only("p"), canary=True),
    WaveSpec("rollback_retire", "decommission the rollback standby",
             "stop and deregister the rollback standby, remove it from `pg_hba.conf`", "—",
             postgres.rollback_retire, atomic=True, gated=True, hints=PG_HBA),
    WaveSpec("validate", "apigee-validate, repair cron restored, every version checked",
             "`apigee-validate setup` + `clean` on a Management Server, repair cron restored, "
             "every component checked at 4.18.01", "—", prepare.validate,
             timeouts={"validate_setup": "long"},
             hints={"final_versions": "a component is not at the target after its wave: the "
                                      "host log shows the versions; run that wave again on the "
                                      "host (--wave NAME --hosts HOST), then resume"}),
)
BY_NAME = {w.name: w for w in WAVES}
WAVE_NAMES = tuple(BY_NAME)
WAVE_HELP = {w.name: w.help for w in WAVES}
UPDATE_WAVES = tuple(w.name for w in WAVES if w.updates)
ATOMIC_WAVES = tuple(w.name for w in WAVES if w.atomic)
CANARY_WAVES = tuple(w.name for w in WAVES if w.canary)

# What the gates before a wave check (fleet/plan/builder.py) and what to do when one fails.
GATE_HINTS = {
    "gate_versions": "an earlier wave has not reached these hosts (or failed there): run it "
                     "first, on every data centre; a package whose build 'cannot be decided' "
                     "needs its target build in user_defined.releases (README, At target)",
    "gate_prepared": "run the prepare wave on these hosts first",
}

# A check means the same in every update wave (rollback_add runs preflight's checks too).
UPDATE_HINTS = {a: h for w in WAVES for a, h in w.hints.items()}


def hint(wave: str, action: str) -> str | None:
    """What to do when ``action`` fails in ``wave``: a gate's hint anywhere, a check's hint
    in the update's waves. Other plans (rollback) reuse action names with other meanings,
    so their waves get no update hint."""
    return GATE_HINTS.get(action) or (UPDATE_HINTS.get(action) if wave in BY_NAME else None)


def with_timeouts(wave: Wave, timeouts: Mapping[str, float]) -> Wave:
    """The wave with its long steps' timeouts (action -> seconds) set."""
    if not timeouts:
        return wave
    def fix(b: Batch) -> Batch:
        return replace(b, steps=tuple(
            replace(s, timeout=timeouts[s.action]) if s.kind == SHELL and s.action in timeouts
            else s for s in b.steps))
    return Wave(wave.name, tuple(fix(b) for b in wave.batches))


def markdown_table() -> str:
    """The README's wave table."""
    rows = ["| wave | what | concurrency |", "|---|---|---|"]
    rows += [f"| `{w.name}` | {w.what} | {w.concurrency} |" for w in WAVES]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
