"""A correct rollback of a lab installation to 4.16.09, typed over SSH (rollback.md).

Not the runner: the reference sequence that proves a right rollback gets a clean verdict,
and the base that the rollback judgement tests break on purpose (``skip``).
"""
from __future__ import annotations

import time

from fleet.facts import qpid_stat
from tests.lab.driver import BLOCK, Driver, api, uuid_of

EDGE_SERVICES = {"ms": "edge-management-server", "r": "edge-router", "mp": "edge-message-processor",
                 "qs": "edge-qpid-server", "pg": "edge-postgres-server"}
GROUP = "/v1/analytics/groups/ax/axgroup-001"


class Rollback(Driver):
    """``skip``: fence, registrations, restart_qs, rebuild_standby, decommission, ui."""

    # --- the failed update ----------------------------------------------------------------
    def fail_in_postgres_wave(self, qs_restarted: bool = False) -> None:
        """The update up to ``-c ps`` on the standby (after db_upgrade), then a failure; with
        ``qs_restarted`` the Qpid Servers were already writing into the 9.6 master."""
        self.run(until="postgres")
        m, sb, rb = self.master, self.standby, self.rollback
        for h in (m, sb):
            self.nodes[h].svc("edge-postgres-server", "stop")
        self.nodes[sb].svc("apigee-postgresql", "stop")
        for h in self.with_("qs"):
            self.nodes[h].svc("edge-qpid-server", "stop")
        self.nodes[rb].svc("edge-postgres-server", "stop")
        self.nodes[rb].svc("apigee-postgresql", "stop")
        self.nodes[m].update("ps")
        self.nodes[m].svc("apigee-postgresql", "db_upgrade")
        self.nodes[sb].update("ps")
        if qs_restarted:
            for h in self.with_("qs"):
                self.nodes[h].svc("edge-qpid-server", "start")
            time.sleep(0.3)                       # analytics flows into the 9.6 master

    # --- pieces -----------------------------------------------------------------------------
    def conf(self, h: str) -> str:
        """A copy of the node's config with PG_MASTER the spare and PG_STANDBY the old standby."""
        n = self.nodes[h]
        a = self.lab.addresses
        path = f"{n.dl}/rollback.conf"
        n.ok(f"sed -e 's/^PG_MASTER=.*/PG_MASTER={a[self.rollback]}/' "
             f"-e 's/^PG_STANDBY=.*/PG_STANDBY={a[self.standby]}/' {n.conf} > {path}")
        return path

    def setup_4_16_09(self, h: str) -> None:
        """apigee-setup back to 4.16.09 (rollback.md 2.5.1-4), once per node."""
        n = self.nodes[h]
        if "4.16.09" in n.svc("apigee-setup", "version"):
            return
        n.svc("apigee-setup", "uninstall")
        self.bootstrap(h, "4.16.09")
        n.svc("apigee-setup", "install")

    def reinstall(self, h: str, stop: list[str], uninstall: list[str], profiles: list[str],
                  conf: str | None = None) -> None:
        n = self.nodes[h]
        for s in stop:
            n.svc(s, "stop")
        for s in uninstall:
            n.svc(s, "uninstall")
        self.setup_4_16_09(h)
        for p in profiles:
            n.ok(f"sudo {n.root}/apigee-setup/bin/setup.sh -p {p} -f {conf or n.conf}")

    def register(self, method: str, what: str, hosts: list[str]) -> None:
        uuids = ",".join(uuid_of(self.lab, h, "analytics", "postgres-server") for h in hosts)
        path = (f"{GROUP}/servers?uuid={uuids}&type=postgres-server" if what == "servers"
                else f"{GROUP}/consumer-groups/consumer-group-001/datastores?uuid={uuids}")
        api(self.lab, method, path)

    # --- rollback.md section 3 --------------------------------------------------------------
    def rollback_postgres(self) -> None:
        m, sb, ns = self.master, self.standby, self.rollback
        a = self.lab.addresses
        self.nodes[ns].ok(f"sudo {self.nodes[ns].root}/apigee-service/bin/apigee-all start")
        if "fence" not in self.skip:
            for h in (m, sb):
                self.nodes[h].svc("edge-postgres-server", "stop")
                self.nodes[h].svc("apigee-postgresql", "stop")
        for h in self.with_("qs"):
            self.nodes[h].svc("edge-qpid-server", "stop")
        self.nodes[ns].svc("apigee-postgresql", "promote-standby-to-master", a[m])
        self.nodes[ns].svc("apigee-postgresql", "setup-replication-on-master", "-f", self.conf(ns))
        if "rebuild_standby" not in self.skip:
            n = self.nodes[sb]
            self.reinstall(sb, [], ["edge-postgres-server", "apigee-postgresql"], [])
            n.ok(f"sudo find {n.root}/data/apigee-postgresql/pgdata -mindepth 1 -delete")
            n.ok(f"sudo {n.root}/apigee-setup/bin/setup.sh -p ps -f {self.conf(sb)}")
            a_ = self.nodes[ns].svc("apigee-postgresql", "postgres-check-master").splitlines()[-1]
            b_ = n.svc("apigee-postgresql", "postgres-check-standby").splitlines()[-1]
            assert a_ == b_, (a_, b_)
        if "registrations" not in self.skip:
            self.register("DELETE", "datastores", [m, sb])
            self.register("DELETE", "servers", [m, sb])
            self.register("POST", "servers", [ns, sb])
            self.register("POST", "datastores", [ns, sb])
        for h in (ns, sb):
            self.nodes[h].svc("edge-postgres-server", "start")
        if "restart_qs" not in self.skip:
            for h in self.with_("qs"):
                self.nodes[h].svc("edge-qpid-server", "start")
        if "decommission" not in self.skip:
            uuid = uuid_of(self.lab, m, "analytics", "postgres-server")
            self.nodes[m].ok(f"sudo {self.nodes[m].root}/apigee-service/bin/apigee-all stop")
            api(self.lab, "DELETE", f"/v1/servers/{uuid}")

    # --- the other components, reverse update order (rollback.md sections 2 and 4) --------
    def rollback_qpid_node(self, h: str) -> None:
        """A Qpid node: drained like its update, then qpidd and the Qpid Server go back together."""
        n = self.nodes[h]
        n.ok("sudo " + BLOCK.format(op="-A", addr=n.address))
        for _ in range(200):
            if qpid_stat.drained(n.ok(f"{n.root}/apigee-qpidd/bin/qpid-stat -q"))[0]:
                break
            time.sleep(0.05)
        self.reinstall(h, ["edge-qpid-server", "apigee-qpidd"], ["edge-gateway", "apigee-qpidd"], ["qs"])
        n.ok("sudo " + BLOCK.format(op="-D", addr=n.address))

    def rollback_edge(self, h: str) -> None:
        edge = [c for c in ("ms", "r", "mp") if c in self.comps[h]]
        profiles = (["mo"] if "ms" in edge else []) + (["rmp"] if {"r", "mp"} <= set(edge) else
                                                       [c for c in ("r", "mp") if c in edge])
        self.reinstall(h, [EDGE_SERVICES[c] for c in edge], ["edge-gateway"], profiles)

    def rollback_whole(self) -> None:
        pair = {self.master, self.standby}
        self.rollback_postgres()
        for h in self.with_("qs"):
            if h not in pair:
                self.rollback_qpid_node(h)
        for h in self.with_("ms", "r", "mp"):
            if h not in pair and "qs" not in self.comps[h]:
                self.rollback_edge(h)
        for h in self.with_("ui") if "ui" not in self.skip else []:
            self.reinstall(h, ["edge-ui"], ["edge-ui"], ["ui"])
        for h in self.with_("ldap"):
            self.reinstall(h, ["apigee-openldap"], ["apigee-openldap"], ["ld"])
