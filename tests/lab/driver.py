"""A correct update of a lab installation, typed over SSH step by step (procedure.md).

Not the runner: a plain, sequential reference used to prove that a correct sequence gets a
clean verdict, and as a base that the judgement tests break on purpose.
"""
from __future__ import annotations

import base64
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fleet.components import expand
from fleet.facts import qpid_stat
from lab import Lab

BLOCK = "iptables {op} INPUT -p tcp --destination-port 5672 ! -s {addr} -i eth0 -j DROP"
LB = "iptables {op} INPUT -i eth0 -p tcp --dport 15999 -j REJECT"
HBA = "host replication apigee {}/32 trust"


def api(lab: Lab, method: str, path: str, body: str | None = None) -> Any:
    sec = lab.secrets
    req = urllib.request.Request(lab.management_url + path, method=method,
                                 data=body.encode() if body is not None else None)
    req.add_header("Authorization", "Basic " + base64.b64encode(
        f"{sec['admin_email']}:{sec['admin_password']}".encode()).decode())
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def uuid_of(lab: Lab, host: str, pod: str, typ: str) -> str:
    addr = lab.addresses[host]
    for s in api(lab, "GET", f"/v1/servers?pod={pod}"):
        if s["internalIP"] == addr and typ in s["type"]:
            return s["uUID"]
    raise KeyError((host, typ))


class Driver:
    """``skip`` leaves steps out on purpose: drain, rebuild, checks, ui, delete."""

    def __init__(self, lab: Lab, skip: set[str] | frozenset[str] = frozenset()) -> None:
        self.lab = lab
        self.skip = set(skip)
        self.sec = lab.secrets
        self.nodes = {h: lab.node(h) for h in lab.hosts}   # type: ignore[attr-defined]
        self.comps = {h: expand(d.get("profiles", []), d.get("components", []))
                      for h in lab.hosts for d in [lab.host_data(h)]}
        self.role = {h: lab.host_data(h).get("postgres") for h in lab.hosts}
        self.installed = [h for h in lab.hosts if self.role[h] != "rollback_standby"]
        self.master = next((h for h in lab.hosts if self.role[h] == "master"), None)
        self.standby = next((h for h in lab.hosts if self.role[h] == "standby"), None)
        self.rollback = next((h for h in lab.hosts if self.role[h] == "rollback_standby"), None)

    def with_(self, *codes: str, hosts: list[str] | None = None) -> list[str]:
        return [h for h in (hosts or self.installed) if any(c in self.comps[h] for c in codes)]

    # --- steps ------------------------------------------------------------------------
    def bootstrap(self, h: str, version: str = "4.18.01") -> None:
        n = self.nodes[h]
        n.ok(f"curl -sSf https://software.apigee.com/bootstrap_{version}.sh -o {n.dl}/bootstrap_{version}.sh")
        n.ok(f"IFS= read -rs U; sudo bash {n.dl}/bootstrap_{version}.sh apigeeuser=\"$U\"",
             stdin=f"{self.sec['repo_user']}\n{self.sec['repo_password']}\n")

    def prepare(self, h: str) -> None:
        n = self.nodes[h]
        n.ok("sudo yum install -y yum-utils yum-plugin-priorities")
        assert n.ok("getenforce").strip() in ("Disabled", "Permissive")
        self.bootstrap(h)
        n.svc("apigee-setup", "update")
        if "ms" in self.comps[h]:
            n.svc("apigee-validate", "update")
            n.svc("apigee-provision", "update")

    def set_hba(self, addrs: list[str]) -> None:
        m = self.nodes[self.master]
        props = f"{m.root}/customer/application/postgresql.properties"
        value = "\\ \\n".join(HBA.format(a) for a in addrs)
        m.ok(f"grep -v '^conf_pg_hba_replication' {props} > {props}.new; "
             f"printf '%s\\n' 'conf_pg_hba_replication.connection={value}' >> {props}.new && mv {props}.new {props}")
        m.svc("apigee-postgresql", "restart")

    def add_rollback_standby(self) -> None:
        self.set_hba([self.lab.addresses[self.standby], self.lab.addresses[self.rollback]])
        n = self.nodes[self.rollback]
        self.bootstrap(self.rollback, "4.16.09")
        n.svc("apigee-setup", "install")
        n.ok(f"sudo {n.root}/apigee-setup/bin/setup.sh -p ps -f {n.conf}")
        n.svc("apigee-postgresql", "postgres-check-standby")

    def drain_and_update_qpid(self, h: str) -> None:
        n = self.nodes[h]
        if "drain" in self.skip:                 # the careless way: no block, no drain
            n.update("qpid")
            return
        n.ok("sudo " + BLOCK.format(op="-A", addr=n.address))
        for _ in range(200):
            if qpid_stat.drained(n.ok(f"{n.root}/apigee-qpidd/bin/qpid-stat -q"))[0]:
                break
            time.sleep(0.05)
        n.update("qpid")
        n.ok("sudo " + BLOCK.format(op="-D", addr=n.address))

    def edge(self, h: str, zero_downtime: bool) -> None:
        n = self.nodes[h]
        if not zero_downtime or not ({"r", "mp"} & self.comps[h]):
            n.update("edge")
            return
        mp = uuid_of(self.lab, h, "gateway", "message-processor") if "mp" in self.comps[h] else None
        if "r" in self.comps[h]:
            n.ok("sudo " + LB.format(op="-A"))
            time.sleep(0.5)
        if mp:
            api(self.lab, "POST", f"/v1/servers/{mp}", "reachable=false")
        n.update("edge")
        if mp:
            n.svc("edge-message-processor", "wait_for_ready")
            api(self.lab, "POST", f"/v1/servers/{mp}", "reachable=true")
        if "r" in self.comps[h]:
            n.svc("edge-router", "wait_for_ready")
            n.ok("sudo " + LB.format(op="-D"))

    def postgres(self) -> None:
        m, sb, rb = self.master, self.standby, self.rollback
        qs = self.with_("qs")
        pgs = [x for x in (m, sb) if x]
        for h in pgs:
            self.nodes[h].svc("edge-postgres-server", "stop")
        if sb:
            self.nodes[sb].svc("apigee-postgresql", "stop")
        for h in qs:
            self.nodes[h].svc("edge-qpid-server", "stop")
        if rb:
            self.nodes[rb].svc("edge-postgres-server", "stop")
            self.nodes[rb].svc("apigee-postgresql", "stop")
        if not sb:
            self.nodes[m].svc("apigee-postgresql", "stop")
        self.nodes[m].update("ps")
        self.nodes[m].svc("apigee-postgresql", "db_upgrade")
        if sb:
            self.nodes[sb].update("ps")
        for h in pgs:
            self.nodes[h].svc("edge-postgres-server", "start")
        for h in qs:
            self.nodes[h].svc("edge-qpid-server", "start")
        if sb and "rebuild" not in self.skip:
            n = self.nodes[sb]
            n.ok(f"sudo find {n.root}/data/apigee-postgresql/pgdata -mindepth 1 -delete")
            n.svc("apigee-postgresql", "setup-replication-on-standby", "-f", n.conf)
        if sb and "checks" not in self.skip:
            n = self.nodes[sb]
            a = self.nodes[m].svc("apigee-postgresql", "postgres-check-master").splitlines()[-1]
            b = n.svc("apigee-postgresql", "postgres-check-standby").splitlines()[-1]
            assert a == b, (a, b)
        for h in pgs:
            self.nodes[h].update("edge")

    def retire_rollback(self) -> None:
        rb = self.rollback
        n = self.nodes[rb]
        n.run(f"sudo {n.root}/apigee-service/bin/apigee-all status")
        uuid = uuid_of(self.lab, rb, "analytics", "postgres-server")
        n.ok(f"sudo {n.root}/apigee-service/bin/apigee-all stop")
        self.set_hba([self.lab.addresses[self.standby]])
        if "delete" not in self.skip:
            api(self.lab, "DELETE", f"/v1/servers/{uuid}")

    def cron(self, disable: bool) -> None:
        for h in self.with_("cs"):
            sed = ("sed -E '/nodetool.*repair/ s/^([^#])/#fleet-disabled# \\1/'" if disable
                   else "sed -E 's/^#fleet-disabled# //'")
            self.nodes[h].ok(f"crontab -l | {sed} | crontab -")

    # --- the whole update -----------------------------------------------------------------
    def run(self, zero_downtime: bool = False, until: str | None = None) -> None:
        self.cron(disable=True)
        if self.rollback:
            self.add_rollback_standby()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(self.prepare, self.installed))
        if until == "prepared":
            return
        for h in self.with_("cs", "zk"):
            self.nodes[h].update(",".join(c for c in ("cs", "zk") if c in self.comps[h]))
        for h in self.with_("qpid"):
            self.drain_and_update_qpid(h)
        for h in self.with_("ldap"):
            self.nodes[h].update("ldap")
        ps_hosts = set(self.with_("ps"))
        edge_order = (self.with_("qs") + self.with_("pg") + self.with_("ms") + self.with_("mp")
                      + self.with_("r"))
        for h in dict.fromkeys(edge_order):
            if h not in ps_hosts:
                self.edge(h, zero_downtime)
        for h in self.with_("ui") if "ui" not in self.skip else []:
            self.nodes[h].update("ui")
        for code in ("e", "b", "p"):
            for h in self.with_(code):
                self.nodes[h].update(code)
        if until == "postgres":                  # stop where the PostgreSQL wave begins
            return
        if self.master:
            self.postgres()
        if self.rollback:
            self.retire_rollback()
        for h in self.with_("ms"):
            n = self.nodes[h]
            n.svc("apigee-validate", "setup", "-f", n.conf)
            n.svc("apigee-validate", "clean", "-f", n.conf)
            break
        self.cron(disable=False)
