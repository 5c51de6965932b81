"""The verdict: the judgements of issues 3 and 11 over what the runner did to the lab.

Rules 1-4, 8, 11 and the "updated" half of 12 are recorded live by the commands; 7 and 10
are computed from counters and logs; 5, 6, 9 and the "left registered" half of 12 are
end-of-run judgements, applied with ``final=True``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.commands.postgres import check_master_data, streaming
from lab.state import SOURCE, TARGET, LabState
from lab.tables import package

if TYPE_CHECKING:
    from lab.server import LabServer

RULES = {
    1: "component updated before every Cassandra/ZooKeeper node",
    2: "broker updated with messages in it",
    3: "operator firewall rule removed",
    4: "db_upgrade on a standby, before -c ps on the master, or with Postgres/Qpid Servers running",
    5: "PostgreSQL standby not rebuilt, replication broken, or checks disagree",
    6: "component not at the target version (or not running), or mixed versions",
    7: "requests dropped while the probe ran",
    8: "ZooKeeper majority lost or more than one Cassandra node per data centre down",
    9: "analytics lost end to end",
    10: "secret seen in a remote command line or shell history",
    11: "update.sh before the node was prepared",
    12: "rollback standby updated, or left registered after it was retired",
    13: "broker drained or updated while its 5672 is open to other hosts",
    14: "secret typed at a prompt it does not belong to",
    15: "long command (update.sh, setup.sh, bootstrap, db_upgrade, replication) killed mid-way",
    16: "the same long command running twice at once on a node",
}
# Passwords may never appear in an emulated command's argv; the repository user may (it is
# passed as ``apigeeuser=`` to the bootstrap, as the vendor documents).
ARGV_SECRETS = ("repo_password", "admin_password")
TYPED_SECRETS = ("repo_user", "repo_password", "admin_email", "admin_password", "become_password",
                 "ssh_key_passphrase")


@dataclass
class Verdict:
    ok: bool
    violations: list[dict[str, Any]]
    final: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "final": self.final, "violations": self.violations, "stats": self.stats}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Verdict":
        return cls(bool(d["ok"]), list(d["violations"]), bool(d.get("final")), dict(d.get("stats", {})))

    def text(self) -> str:
        lines = [f"Lab verdict ({'final' if self.final else 'so far'}): "
                 + ("CLEAN" if self.ok else f"{len(self.violations)} violation(s)")]
        for v in self.violations:
            lines.append(f"  rule {v['rule']:>2} [{v.get('host') or '-'}] {v['message']}")
        a = self.stats.get("analytics", {})
        p = self.stats.get("probe", {})
        lines.append(f"  analytics: produced {a.get('produced')}, stored {a.get('stored')}, "
                     f"lost {a.get('lost')}, in brokers {a.get('in_brokers')}, buffered {a.get('buffered')}")
        if p.get("sent"):
            lines.append(f"  probe: {p.get('sent')} requests, {p.get('failed')} failed")
        return "\n".join(lines)


def argv_secrets(st: LabState, host: str, cmd: str, argv: list[str]) -> None:
    """Rule 10 for the argv of an emulated command (seen by ``ps`` on a real node)."""
    joined = " ".join(argv)
    for k in ARGV_SECRETS:
        if st.secrets[k] and st.secrets[k] in joined:
            st.violate(10, host, f"{k} in the arguments of {cmd}")


def typed_secrets(lab: "LabServer") -> None:
    """Rule 10 for typed command lines: shell history files and ssh exec commands."""
    st = lab.state
    for name in st.hosts:
        hist = lab.directory / "hosts" / name / ".bash_history"
        text = hist.read_text(errors="replace") if hist.exists() else ""
        for k in TYPED_SECRETS:
            if st.secrets[k] in text:
                st.violate(10, name, f"{k} in the shell history ({hist})")
    for name, line in st.exec_lines:
        for k in TYPED_SECRETS:
            if st.secrets[k] in line:
                st.violate(10, name, f"{k} in a remote (exec) command line")


def final_checks(st: LabState) -> None:
    def fv(rule: int, host: str | None, message: str) -> None:
        st.violate(rule, host, message, final=True)

    st.violations = [v for v in st.violations if not v.final]
    master = st.pg_master()
    for sb in (h for h in st.hosts.values() if h.postgres == "standby" and h.has("ps")):
        if master is None:
            break
        if not sb.pg_synced or sb.pg_epoch != master.pg_epoch:
            fv(5, sb.name, "standby not rebuilt after the PostgreSQL update "
                                   "(setup-replication-on-standby)")
        if not streaming(st, sb):
            fv(5, sb.name, f"replication from {master.name} broken")
        cm, cs = st.pg_checks.get(master.name), st.pg_checks.get(sb.name)
        if cm and cs and cm[1] != cs[1]:
            fv(5, sb.name, f"postgres-check-master ({cm[1]}) and postgres-check-standby "
                                   f"({cs[1]}) disagree")
    for h in st.hosts.values():
        if h.postgres == "rollback_standby" or not h.installed:
            continue
        versions = {c.version for c in h.components.values()}
        # the runner's rule in the lab's own tables: the package build of the target release
        behind = [package(c.service, c.version) for c in h.components.values()
                  if package(c.service, c.version) != package(c.service, TARGET)]
        if behind:
            fv(6, h.name, f"not at {TARGET}: {', '.join(behind)}")
        if len(versions) > 1:
            fv(6, h.name, f"mixed versions on the node: {', '.join(sorted(versions))}")
        down = [c.service for c in h.components.values() if not c.up]
        if down:
            fv(6, h.name, f"not running at the end: {', '.join(down)}")
    every = {c.version for h in st.hosts.values() if h.installed and h.postgres != "rollback_standby"
             for c in h.components.values()}
    if len(every) > 1:
        fv(6, None, f"mixed versions in the installation: {', '.join(sorted(every))}")
    for h in st.hosts.values():
        if h.postgres != "rollback_standby":
            continue
        if any(c.version != SOURCE for c in h.components.values()):
            fv(12, h.name, "rollback standby no longer at 4.16.09")
        registered = [s.uuid for s in st.servers.values() if s.host == h.name and s.registered]
        if h.retired and registered:
            fv(12, h.name, f"left registered after it was retired ({', '.join(registered)})")
    check_master_data(st)
    pending = sum(h.queue + h.buffer for h in st.hosts.values())
    if st.produced != st.stored:
        fv(9, None, f"analytics produced {st.produced} != stored {st.stored} "
                            f"(lost {st.lost}, still in brokers/buffers {pending})")


async def verdict(lab: "LabServer", final: bool = False) -> Verdict:
    st = lab.state
    typed_secrets(lab)
    st.violations = [v for v in st.violations if v.rule != 7]
    if st.probe_failed:
        st.violate(7, None, f"{st.probe_failed} of {st.probe_sent} probe requests failed; first: "
                            + "; ".join(st.probe_failures[:3]))
    if final:
        await lab.traffic.settle()
        try:
            final_checks(st)
        finally:
            snap = st.snapshot()
            st.producing = True
    else:
        snap = st.snapshot()
    v = Verdict(not st.violations, [x.to_json() for x in st.violations], final,
                {"analytics": snap["analytics"], "probe": snap["probe"]})
    write(lab.directory, v)
    return v


def write(directory: Path, v: Verdict) -> None:
    (directory / "verdict.json").write_text(json.dumps(v.to_json(), indent=2) + "\n")
    (directory / "verdict.txt").write_text(v.text() + "\n")
