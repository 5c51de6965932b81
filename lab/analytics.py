"""The analytics group (``axgroup-001``) and where analytics rows end up.

Qpid Servers write what they consume into the PostgreSQL master named by their consumer
group's datastores, read when the Qpid Server starts (so a changed registration takes
effect at its restart, as rollback.md section 3 step 9 expects). Each node keeps the rows of
its own database; a standby that streams from the master has the master's rows.

The management API resources are the ones Apigee's "Adding and deleting analytics
components in analytics groups" page uses (``/v1/analytics/groups/ax[/GROUP]``,
``.../servers?uuid=U[,U2]&type=postgres-server|qpid-server``,
``.../consumer-groups/CG/datastores?uuid=M[,S]``, ``.../consumer-groups/CG/consumers?uuid=Q``);
a master/standby pair is one entry ``MASTER_UUID:STANDBY_UUID``, the master first. Which
errors the real API gives for a wrong order is not public: the lab refuses only a datastore
that is not (yet) a postgres-server of the group, the order A1 adds them in (the lab's own
choice, documented in lab/README.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.state import SOURCE, TARGET, HostState, LabState

GROUP = "axgroup-001"
CONSUMER_GROUP = "consumer-group-001"
KINDS = ("postgres-server", "qpid-server")


@dataclass
class AnalyticsGroup:
    name: str = GROUP
    servers: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    consumers: list[str] = field(default_factory=list)
    datastores: list[str] = field(default_factory=list)
    managed: bool = False          # False: no Postgres Server registered (writes go to the master)

    def datastore(self) -> str | None:
        return self.datastores[0] if self.datastores else None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "properties": {"consumer-type": "ax"}, "scopes": [],
                "uuids": {k: list(v) for k, v in self.servers.items()},
                "consumer-groups": [{"name": CONSUMER_GROUP, "consumers": list(self.consumers),
                                     "datastores": list(self.datastores), "properties": {}}],
                "data-processors": {}}


def build(st: LabState) -> AnalyticsGroup:
    """The group as the 4.16.09 installer left it: every Qpid Server, the master/standby pair."""
    g = AnalyticsGroup()
    qs = [s.uuid for s in st.servers.values() if s.code == "qs"]
    pair = [st.server_of(h.name, "pg") for role in ("master", "standby")
            for h in st.hosts.values() if h.postgres == role and h.installed]
    entry = ":".join(s.uuid for s in pair if s is not None)
    g.servers["qpid-server"], g.consumers = list(qs), list(qs)
    if entry:
        g.servers["postgres-server"], g.datastores = [entry], [entry]
        g.managed = True
    st.group = g
    for h in st.hosts.values():
        if h.up("qs"):
            h.qs_datastore = g.datastore()
    return g


def entry_hosts(st: LabState, entry: str | None) -> list[HostState]:
    """The nodes of a ``MASTER[:STANDBY]`` entry (unknown UUIDs left out)."""
    out = []
    for u in (entry or "").split(":"):
        s = st.servers.get(u)
        if s is not None:
            out.append(st.hosts[s.host])
    return out


def write_target(st: LabState, broker: HostState) -> HostState | None:
    """The database the broker's Qpid Server writes into, if it accepts writes now."""
    if st.group is None or not st.group.managed:
        m = st.pg_master()
    else:
        hosts = entry_hosts(st, broker.qs_datastore)
        m = hosts[0] if hosts else None
    if (m is None or m.postgres != "master" or not m.up("ps")
            or m.pg_data_version != m.components["ps"].version):
        return None
    return m


def store(st: LabState, broker: HostState, master: HostState, n: int) -> None:
    """``n`` messages written by the broker's Qpid Server into ``master``; rule 18 if a
    rolled-back (4.16.09) Qpid Server writes into a 9.6 database."""
    master.rows += n
    st.stored += n
    qs = broker.components.get("qs")
    if qs is not None and qs.rolled_back and qs.version == SOURCE and master.components["ps"].version == TARGET:
        st.violate(18, broker.name, f"4.16.09 Qpid Server writes analytics into the PostgreSQL "
                                    f"9.6 master {master.name}")


def follow(st: LabState) -> None:
    """Standbys streaming from the master hold its rows (they catch up when they resume)."""
    m = st.pg_master()
    if m is None or not m.has("ps"):
        return
    for x in st.hosts.values():
        if (x is not m and x.postgres in ("standby", "rollback_standby") and x.up("ps")
                and x.pg_synced and x.pg_epoch == m.pg_epoch and x.has("ps")
                and x.components["ps"].version == m.components["ps"].version):
            x.rows = m.rows


# --- the management API's /v1/analytics/groups/ax ---------------------------------------
def route(st: LabState, method: str, parts: list[str], q: dict[str, str]) -> tuple[int, object]:
    """``parts`` after ``v1/analytics/groups``."""
    g = st.group
    if g is None or parts[:1] != ["ax"]:
        return 404, {"code": "analytics.group.notfound", "message": "no such analytics group type"}
    if len(parts) == 1:
        return (200, [g.to_json()]) if method == "GET" else (405, {"message": "method not allowed"})
    if parts[1] != g.name:
        return 404, {"code": "analytics.group.notfound", "message": f"Analytics group {parts[1]} not found"}
    rest = parts[2:]
    if not rest:
        return (200, g.to_json()) if method == "GET" else (405, {"message": "method not allowed"})
    uuids = [u for u in q.get("uuid", "").split(",") if u]
    if method not in ("POST", "DELETE") or not uuids:
        return 400, {"message": "POST or DELETE with ?uuid=UUID[,UUID]"}
    unknown = [u for u in uuids if u not in st.servers or not st.servers[u].registered]
    if unknown:
        return 400, {"code": "server.notfound", "message": f"Server {unknown[0]} not found"}
    if rest == ["servers"]:
        kind = q.get("type", "")
        if kind not in KINDS:
            return 400, {"message": f"type must be one of {', '.join(KINDS)}"}
        want = "pg" if kind == "postgres-server" else "qs"
        wrong = [u for u in uuids if st.servers[u].code != want]
        if wrong:
            return 400, {"message": f"Server {wrong[0]} is not a {kind}"}
        entry = ":".join(uuids) if kind == "postgres-server" else None
        entries = [entry] if entry else uuids
        if method == "POST":
            for e in entries:
                if e not in g.servers[kind]:
                    g.servers[kind].append(e)
            return 200, g.to_json()
        missing = [e for e in entries if e not in g.servers[kind]]
        if missing:
            return 400, {"message": f"{missing[0]} is not a {kind} of {g.name}"}
        for e in entries:
            g.servers[kind].remove(e)
        return 200, g.to_json()
    if rest[:2] == ["consumer-groups", CONSUMER_GROUP] and rest[2:] in (["datastores"], ["consumers"]):
        if rest[2] == "datastores":
            entries, lst, kind = [":".join(uuids)], g.datastores, "postgres-server"
        else:
            entries, lst, kind = uuids, g.consumers, "qpid-server"
        if method == "POST":
            absent = [e for e in entries if e not in g.servers[kind]]
            if absent:
                return 400, {"message": f"{absent[0]} is not a {kind} of {g.name}; add it "
                                        "to the group's servers first"}
            lst.extend(e for e in entries if e not in lst)
            return 200, g.to_json()
        missing = [e for e in entries if e not in lst]
        if missing:
            return 400, {"message": f"{missing[0]} is not in consumer group {CONSUMER_GROUP}"}
        for e in entries:
            lst.remove(e)
        return 200, g.to_json()
    return 404, {"message": "not found"}
