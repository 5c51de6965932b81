"""End-of-run judgements of a rollback (rules 17-19; rule 20 is judged with rule 6 in judge.py).

17 the spare standby retired before the rollback promoted it, or retired after it became
   the master (live, in the commands and the API; here: it must serve at the end);
18 PostgreSQL data served by a 9.6 node to rolled-back 4.16.09 components, or a 9.6 node
   still serving or registered at the end of a rollback to 4.16.09;
19 analytics lost across the switch: every message stored must be in the new master's
   database, and what queued in Qpid during the switch must drain into it.
"""
from __future__ import annotations

from typing import Any, Callable

from lab.analytics import entry_hosts
from lab.state import SOURCE, TARGET, HostState, LabState

Report = Callable[[int, "str | None", str], None]
# Kept at 4.18.01 by a rollback to 4.16.09: not rolled back automatically (rollback.md
# section 6 Q3: restore from the pre-update backup by hand, or leave them at 4.18.01).
DATASTORES = ("cs", "zk")


def fenced(h: HostState, code: str) -> bool:
    """The old master's PostgreSQL left stopped for good after the switch (rollback.md 3.10)."""
    return h.postgres == "old_master" and code in ("ps", "pg") and not h.up(code)


def kept(code: str, version: str, expect: str) -> bool:
    return expect == SOURCE and code in DATASTORES and version == TARGET


def analytics_master(st: LabState) -> HostState | None:
    g = st.group
    if g is not None and g.managed:
        hosts = entry_hosts(st, g.datastore())
        return hosts[0] if hosts else None
    return st.pg_master()


def _served_by_96(st: LabState, fv: Report) -> None:
    m = analytics_master(st)
    for h in st.hosts.values():
        for c in ("ms", "qs", "pg"):
            comp = h.components.get(c)
            if comp is None or not comp.rolled_back or comp.version != SOURCE or not comp.up:
                continue
            if c == "pg" and h.has("ps") and h.components["ps"].version == TARGET:
                fv(18, h.name, f"4.16.09 {comp.service} serves the node's PostgreSQL 9.6 database")
            elif m is not None and m.has("ps") and m.components["ps"].version == TARGET and m.up("ps"):
                fv(18, h.name, f"4.16.09 {comp.service} uses analytics data of the PostgreSQL 9.6 "
                               f"master {m.name}")


def _nine_six_left(st: LabState, fv: Report) -> None:
    for h in st.hosts.values():
        if h.has("ps") and h.components["ps"].version == TARGET and h.up("ps"):
            fv(18, h.name, "PostgreSQL 9.6 still running at the end of the rollback")
    g = st.group
    if g is None:
        return
    for where, entries in (("servers", g.servers["postgres-server"]), ("datastores", g.datastores)):
        for e in entries:
            for h in entry_hosts(st, e):
                if h.has("ps") and h.components["ps"].version == TARGET or h.postgres == "old_master":
                    fv(18, h.name, f"analytics group {g.name} {where} still name {h.name} "
                                   f"(PostgreSQL 9.6 / the old master)")


def _lost_across_switch(st: LabState, fv: Report) -> None:
    sw = st.switch
    if not sw:
        return
    new, old = st.hosts[sw["master"]], sw["old"]
    if new.postgres != "master" or not new.up("ps"):
        fv(17, new.name, "the promoted spare does not serve as the PostgreSQL master at the end")
    stranded = st.stored - new.rows
    if stranded > 0:
        fv(19, new.name, f"{stranded} analytics messages were written into {old} after {new.name} "
                         f"stopped following it: not in the new master (lost to the rolled-back "
                         f"installation)")
    m = analytics_master(st)
    if st.group is not None and st.group.managed and m is not new:
        fv(19, None, f"consumer group datastores name {m.name if m else 'nothing'}, not the new "
                     f"master {new.name}: queued analytics cannot reach it")
    for h in st.hosts.values():
        if h.up("qs") and st.group is not None and st.group.managed:
            target = entry_hosts(st, h.qs_datastore)
            if not target or target[0] is not new:
                fv(19, h.name, f"Qpid Server not restarted after the registration change: it "
                               f"writes to {target[0].name if target else 'no datastore'}, not {new.name}")


def final(st: LabState, expect: str, fv: Report) -> None:
    _served_by_96(st, fv)
    if expect == SOURCE:
        _nine_six_left(st, fv)
    _lost_across_switch(st, fv)


def stats(st: LabState) -> dict[str, Any] | None:
    """The switch in figures: what queued in Qpid when it began, and where it went."""
    sw = st.switch
    if not sw:
        return None
    new = st.hosts[sw["master"]]
    return {"new_master": new.name, "old_master": sw["old"], "queued_at_switch": sw["queued"],
            "drained_into_new_master": new.rows - sw["rows_at_switch"],
            "rows_in_new_master": new.rows, "stored": st.stored,
            "not_in_new_master": max(0, st.stored - new.rows)}
