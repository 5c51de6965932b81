"""Everything the emulated installation keeps, in one place owned by the lab's event loop.

All mutation happens on the lab's single asyncio thread, so plain data structures are
safe; the few multi-step commands take the host's lock. The judge reads this state.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.tables import SERVER_TYPES, SERVICE_COMPONENT, SERVICES, SOURCE, TARGET, build_number, package

PG_MAJOR = {SOURCE: "9.4", TARGET: "9.6"}
ANALYTICS_QUEUE = "ax-q-axgroup-001-consumer-group-001"
OPERATOR_RULE = ["-A", "INPUT", "-p", "tcp", "--dport", "22", "-s", "10.0.0.0/8", "-j", "ACCEPT"]
REPAIR_JOB = ("0 2 * * 0 /opt/apigee/apigee-cassandra/bin/nodetool -h localhost repair -pr "
              ">> /tmp/repair.log 2>&1")
OPERATOR_JOB = "30 3 * * * /usr/local/bin/rotate-app-logs.sh >/dev/null 2>&1"
# Start order of components on a node (stop is the reverse).
ORDER = ("zk", "cs", "ldap", "qpid", "ps", "ms", "r", "mp", "qs", "pg", "ui", "e", "b", "p")
__all__ = ["SERVICE_COMPONENT", "SOURCE", "TARGET", "build_number", "package"]


@dataclass
class Component:
    code: str
    version: str = SOURCE
    state: str = "running"          # running | stopped | updating
    rolled_back: bool = False       # reinstalled at 4.16.09 after a 4.18.01 one was uninstalled

    @property
    def service(self) -> str:
        return SERVICES[self.code]

    @property
    def up(self) -> bool:
        return self.state == "running"


@dataclass
class Server:
    """A registration in the management API."""

    uuid: str
    host: str
    code: str
    registered: bool = True
    reachable: bool = True


@dataclass
class HostState:
    name: str
    address: str
    dc: str
    machine: int
    root: Path
    config_file: Path
    download_dir: Path
    postgres: str | None = None
    observer: bool = False
    installed: bool = True
    components: dict[str, Component] = field(default_factory=dict)
    planned: frozenset[str] = frozenset()        # components the host should carry
    repo_version: str | None = SOURCE            # last bootstrap that ran
    setup_version: str = SOURCE                  # apigee-setup package
    validate_updated: bool = False
    provision_updated: bool = False
    firewall: list[list[str]] = field(default_factory=list)
    crontab: str | None = None
    selinux: str = "Disabled"
    yum: list[list[str]] = field(default_factory=list)
    queue: int = 0                               # messages in the analytics queue (qpid hosts)
    queue_in: int = 0
    queue_out: int = 0
    dead_letter: int = 0                         # messages in its dead-letter queue (never consumed)
    buffer: int = 0                              # analytics buffered in this MP
    # PostgreSQL
    pg_epoch: int = 1                            # master: data generation; standby: synced one
    pg_data_version: str = SOURCE                # master: on-disk format (db_upgrade moves it)
    pg_synced: bool = True                       # standby/rollback: replication set up
    updates: list[str] = field(default_factory=list)   # update codes run, in order
    retired: bool = False
    spare_retired: bool = False                  # rollback standby retired once (stays set)
    rows: int = 0                                # analytics rows in this node's database
    qs_datastore: str | None = None              # datastore its Qpid Server took at start
    uninstalled: dict[str, str] = field(default_factory=dict)  # code -> version removed
    logins: int = 0                              # passwords offered to the SSH server
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def has(self, code: str) -> bool:
        return code in self.components

    def up(self, code: str) -> bool:
        return code in self.components and self.components[code].up

    @property
    def pgdata(self) -> Path:
        return self.root / "data" / "apigee-postgresql" / "pgdata"

    @property
    def pg_hba(self) -> Path:
        return self.root / "apigee-postgresql" / "conf" / "pg_hba.conf"

    @property
    def pg_properties(self) -> Path:
        return self.root / "customer" / "application" / "postgresql.properties"


@dataclass
class Violation:
    rule: int
    host: str | None
    message: str
    at: float = field(default_factory=time.time)
    final: bool = False                          # recomputed by each final verdict

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "host": self.host, "message": self.message}


@dataclass
class LabState:
    hosts: dict[str, HostState]
    secrets: dict[str, str]
    speed: float
    servers: dict[str, Server] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    produced: int = 0
    stored: int = 0
    lost: int = 0
    producing: bool = True
    probe: bool = False
    probe_sent: int = 0
    probe_failed: int = 0
    probe_failures: list[str] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)   # every emulated argv
    exec_lines: list[tuple[str, str]] = field(default_factory=list)  # (host, ssh exec command)
    pg_checks: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # host -> (kind, line, t)
    group: Any = None                            # lab.analytics.AnalyticsGroup (axgroup-001)
    switch: dict[str, Any] | None = None         # the PostgreSQL rollback switch (promotion)
    rollback_seen: bool = False                  # a 4.18.01 component uninstalled or a promotion

    # --- lookups -------------------------------------------------------------------
    def by_address(self, addr: str) -> HostState | None:
        for h in self.hosts.values():
            if addr in (h.address, h.name):
                return h
        return None

    def with_comp(self, code: str, dc: str | None = None) -> list[HostState]:
        return [h for h in self.hosts.values() if h.has(code) and (dc is None or h.dc == dc)]

    def pg_master(self) -> HostState | None:
        return next((h for h in self.hosts.values() if h.postgres == "master" and h.has("ps")), None)

    def server_of(self, host: str, code: str) -> Server | None:
        return next((s for s in self.servers.values() if s.host == host and s.code == code), None)

    # --- changes -------------------------------------------------------------------
    def violate(self, rule: int, host: str | None, message: str, final: bool = False) -> None:
        """Record a judgement once (same rule, host and message are not repeated)."""
        if any(v.rule == rule and v.host == host and v.message == message for v in self.violations):
            return
        self.violations.append(Violation(rule, host, message, final=final))

    def register(self, host: HostState, code: str) -> None:
        if code in SERVER_TYPES:
            if self.server_of(host.name, code) is None:
                u = str(uuid.uuid4())
                self.servers[u] = Server(u, host.name, code)

    def retired(self, host: HostState, how: str) -> None:
        """The update's "retire the rollback standby" (``how``) ran on ``host``: remembered on
        the spare (rule 17 if a rollback promotes it later); rule 17 on the spare that a
        rollback made the master."""
        if self.switch and self.switch["master"] == host.name and host.postgres == "master":
            self.violate(17, host.name, f"the promoted spare (now the PostgreSQL master) {how} after "
                                        "the rollback: 'retire the rollback standby' run on it")
        if host.postgres == "rollback_standby":
            host.spare_retired = True

    def install(self, host: HostState, codes: list[str] | frozenset[str], version: str) -> None:
        for c in codes:
            was = host.uninstalled.pop(c, None)
            host.components[c] = Component(c, version, "stopped",
                                           rolled_back=was == TARGET and version == SOURCE)
            self.register(host, c)
            self.set_state(host, c, "running")
        host.installed = True

    def set_state(self, host: HostState, code: str, state: str) -> None:
        comp = host.components[code]
        started = state == "running" and comp.state != "running"
        comp.state = state
        if started and code == "qs" and self.group is not None:
            # a Qpid Server reads its consumer group's datastores when it starts
            host.qs_datastore = self.group.datastore()
        if started and code == "ps" and host.postgres == "old_master" and comp.version == TARGET:
            self.violate(18, host.name, "the fenced old master's PostgreSQL 9.6 was started "
                                        "again after the rollback")
        self.check_quorum()

    def check_quorum(self) -> None:
        """Judgement 8: ZooKeeper majority and at most one Cassandra node down per dc.

        Judged only while the traffic probe runs (a zero-downtime run): in maintenance mode
        the procedure accepts downtime and datastores may be updated all at once."""
        if not self.probe:
            return
        voters = [h for h in self.hosts.values() if h.has("zk") and not h.observer]
        if len(voters) >= 3:                     # 1 voter: downtime is unavoidable
            down = [h.name for h in voters if not h.up("zk")]
            if len(voters) - len(down) < len(voters) // 2 + 1:
                self.violate(8, None, f"ZooKeeper majority lost: voters down {', '.join(down)} "
                                      f"of {len(voters)}")
        for dc in sorted({h.dc for h in self.hosts.values()}):
            cs = [h for h in self.with_comp("cs", dc)]
            down = [h.name for h in cs if not h.up("cs")]
            if len(down) > 1:
                self.violate(8, None, f"{len(down)} Cassandra nodes down at once in {dc}: "
                                      f"{', '.join(down)}")

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able picture of the whole installation, for tests and the CLI."""
        hosts = {}
        for h in self.hosts.values():
            hosts[h.name] = {
                "address": h.address, "dc": h.dc, "postgres": h.postgres, "installed": h.installed,
                "components": {c.code: {"service": c.service, "version": c.version, "state": c.state}
                               for c in h.components.values()},
                "prepared": self.prepared(h), "repo_version": h.repo_version,
                "setup_version": h.setup_version,
                "firewall": [list(r) for r in h.firewall], "crontab": h.crontab,
                "selinux": h.selinux, "yum": [list(y) for y in h.yum], "queue": h.queue,
                "buffer": h.buffer, "pg_epoch": h.pg_epoch, "pg_data_version": h.pg_data_version,
                "pg_synced": h.pg_synced, "updates": list(h.updates), "retired": h.retired,
                "spare_retired": h.spare_retired, "rows": h.rows, "logins": h.logins,
            }
        return {
            "hosts": hosts,
            "servers": {u: {"host": s.host, "code": s.code, "registered": s.registered,
                            "reachable": s.reachable} for u, s in self.servers.items()},
            "analytics": {"produced": self.produced, "stored": self.stored, "lost": self.lost,
                          "in_brokers": sum(h.queue for h in self.hosts.values()),
                          "buffered": sum(h.buffer for h in self.hosts.values())},
            "probe": {"on": self.probe, "sent": self.probe_sent, "failed": self.probe_failed},
            "violations": [v.to_json() for v in self.violations],
            "analytics_group": self.group.to_json() if self.group is not None else None,
            "switch": dict(self.switch) if self.switch else None,
            "commands": [{"host": c["host"], "cmd": c["cmd"], "argv": c["argv"]} for c in self.commands],
        }

    @staticmethod
    def prepared(h: HostState) -> bool:
        return h.setup_version == TARGET
