"""The verdict: the judgements of issues 3, 11 and 15 over what the runner did to the lab.

Rules 1-4, 8, 11 and the "updated" half of 12 are recorded live by the commands; 7 and 10
are computed from counters and logs; 5, 6, 9, 20 and the "left registered" half of 12 are
end-of-run judgements, applied with ``final=True``; 17-19 (rollback) are both
(lab/rollback_judge.py). A final verdict expects every component at 4.18.01, or with
``expect_version="4.16.09"`` a rolled-back installation.

Where a change goes: a new judgement is a numbered rule recorded by the emulated command
that sees the harm (lab/commands/) or computed here at the end, described in lab/README.md,
with a test in tests/lab/ that drives a wrong sequence and sees the rule fire, and a right
one that stays clean. The lab keeps its own tables (lab/tables.py) and imports nothing from
fleet/.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab import rollback_judge
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
    17: "spare standby retired before a rollback promoted it, or after it became the master",
    18: "PostgreSQL data served by a 9.6 node to rolled-back 4.16.09 components, or 9.6 left "
        "serving after a rollback",
    19: "analytics lost across the rollback switch (not in the new master)",
    20: "mixed versions at the end of a rollback",
}
VERSIONS = (SOURCE, TARGET)
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
    expect_version: str = TARGET

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "final": self.final, "expect_version": self.expect_version,
                "violations": self.violations, "stats": self.stats}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Verdict":
        return cls(bool(d["ok"]), list(d["violations"]), bool(d.get("final")), dict(d.get("stats", {})),
                   str(d.get("expect_version", TARGET)))

    def text(self) -> str:
        what = f"final, expecting {self.expect_version}" if self.final else "so far"
        lines = [f"Lab verdict ({what}): "
                 + ("CLEAN" if self.ok else f"{len(self.violations)} violation(s)")]
        for v in self.violations:
            lines.append(f"  rule {v['rule']:>2} [{v.get('host') or '-'}] {v['message']}")
        a = self.stats.get("analytics", {})
        p = self.stats.get("probe", {})
        lines.append(f"  analytics: produced {a.get('produced')}, stored {a.get('stored')}, "
                     f"lost {a.get('lost')}, in brokers {a.get('in_brokers')}, buffered {a.get('buffered')}")
        if p.get("sent"):
            lines.append(f"  probe: {p.get('sent')} requests, {p.get('failed')} failed")
        r = self.stats.get("rollback")
        if r:
            lines.append(f"  rollback switch: {r['old_master']} -> {r['new_master']}; queued in Qpid "
                         f"at the switch {r['queued_at_switch']}, drained into the new master "
                         f"{r['drained_into_new_master']}, not in the new master {r['not_in_new_master']}")
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


def final_checks(st: LabState, expect: str = TARGET) -> None:
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
    mixed_rule = 20 if st.rollback_seen else 6
    every: set[str] = set()
    for h in st.hosts.values():
        if h.postgres == "rollback_standby" or not h.installed:
            continue
        judged = [c for c in h.components.values() if not rollback_judge.fenced(h, c.code)]
        versions = {c.version for c in judged if not rollback_judge.kept(c.code, c.version, expect)}
        every |= versions
        # the runner's rule in the lab's own tables: the package build of the expected release
        behind = [package(c.service, c.version) for c in judged
                  if package(c.service, c.version) != package(c.service, expect)
                  and not rollback_judge.kept(c.code, c.version, expect)]
        if behind:
            fv(6, h.name, f"not at {expect}: {', '.join(behind)}")
        if len(versions) > 1:
            fv(mixed_rule, h.name, f"mixed versions on the node: {', '.join(sorted(versions))}")
        down = [c.service for c in judged if not c.up]
        if down:
            fv(6, h.name, f"not running at the end: {', '.join(down)}")
    if len(every) > 1:
        fv(mixed_rule, None, f"mixed versions in the installation: {', '.join(sorted(every))}")
    for h in st.hosts.values():
        if h.postgres != "rollback_standby":
            continue
        if any(c.version != SOURCE for c in h.components.values()):
            fv(12, h.name, "rollback standby no longer at 4.16.09")
        registered = [s.uuid for s in st.servers.values() if s.host == h.name and s.registered]
        if h.retired and registered:
            fv(12, h.name, f"left registered after it was retired ({', '.join(registered)})")
    rollback_judge.final(st, expect, fv)
    check_master_data(st)
    pending = sum(h.queue + h.buffer for h in st.hosts.values())
    if st.produced != st.stored:
        fv(9, None, f"analytics produced {st.produced} != stored {st.stored} "
                            f"(lost {st.lost}, still in brokers/buffers {pending})")


async def verdict(lab: "LabServer", final: bool = False, expect: str = TARGET) -> Verdict:
    if expect not in VERSIONS:
        raise ValueError(f"expected version must be one of {', '.join(VERSIONS)} (got {expect!r})")
    st = lab.state
    typed_secrets(lab)
    st.violations = [v for v in st.violations if v.rule != 7]
    if st.probe_failed:
        st.violate(7, None, f"{st.probe_failed} of {st.probe_sent} probe requests failed; first: "
                            + "; ".join(st.probe_failures[:3]))
    if final:
        await lab.traffic.settle()
        try:
            final_checks(st, expect)
        finally:
            snap = st.snapshot()
            st.producing = True
    else:
        snap = st.snapshot()
    stats = {"analytics": snap["analytics"], "probe": snap["probe"]}
    if st.switch:
        stats["rollback"] = rollback_judge.stats(st)
    v = Verdict(not st.violations, [x.to_json() for x in st.violations], final, stats, expect)
    write(lab.directory, v)
    return v


def write(directory: Path, v: Verdict) -> None:
    (directory / "verdict.json").write_text(json.dumps(v.to_json(), indent=2) + "\n")
    (directory / "verdict.txt").write_text(v.text() + "\n")
