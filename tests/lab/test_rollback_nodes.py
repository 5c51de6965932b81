"""What a node does with rollback commands typed in the wrong order: it refuses the way a
real one would (yum does not downgrade, shared code, 9.4 cannot open 9.6 data, promotion
needs a running standby), and the analytics group API and the CLI's --expect-version."""
from __future__ import annotations

import json
import urllib.error

import pytest

from lab import cli
from tests.lab.driver import Driver, api, uuid_of
from tests.lab.rollback_driver import GROUP, Rollback
from tests.lab.test_judgements import messages, rules


def test_uninstall_needs_a_stopped_component_and_keeps_the_data(lab5):
    m4 = lab5.node("m4")
    rc, out = m4.run(f"sudo {m4.root}/apigee-service/bin/apigee-service edge-qpid-server uninstall")
    assert rc == 1 and "still running; stop it before uninstalling" in out
    m4.svc("edge-qpid-server", "stop")
    m4.svc("edge-postgres-server", "stop")
    m4.svc("edge-gateway", "uninstall")           # both common-code components go together
    listing = m4.ok(f"{m4.root}/apigee-service/bin/apigee-all version")
    assert "edge-qpid-server" not in listing and "edge-postgres-server" not in listing
    assert "apigee-postgresql-9.4" in listing
    assert lab5.verdict().ok


def test_apigee_setup_uninstalled_is_not_listed(lab5):
    m4 = lab5.node("m4")
    m4.svc("apigee-setup", "uninstall")
    listing = m4.ok(f"{m4.root}/apigee-service/bin/apigee-all version")
    assert "apigee-setup" not in listing and "apigee-service-4.16.09" in listing
    rc, out = m4.run(f"{m4.root}/apigee-service/bin/apigee-service apigee-setup version")
    assert rc == 1 and "apigee-setup is not installed" in out


def test_broker_uninstalled_with_messages_loses_them(lab5):
    m4 = lab5.node("m4")
    m4.svc("apigee-qpidd", "stop")
    m4.svc("apigee-qpidd", "uninstall")
    v = lab5.verdict()
    assert rules(v) == {2} and "uninstalled with" in messages(v, 2)


def test_reinstall_refused_while_the_newer_package_or_shared_code_stays(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab)
    d.run(until="postgres")                       # m4 (rmp) at 4.18.01
    n = d.nodes["m4"]
    setup = f"sudo {n.root}/apigee-setup/bin/setup.sh -p rmp -f {n.conf}"
    d.bootstrap("m4", "4.16.09")                  # the old repository, apigee-setup still new
    rc, out = n.run(f"sudo {n.root}/apigee-service/bin/apigee-service apigee-setup install")
    assert rc == 1 and "apigee-setup uninstall" in out
    d.setup_4_16_09("m4")
    rc, out = n.run(setup)
    assert rc == 1 and "yum does not downgrade" in out
    n.svc("edge-router", "stop")
    n.svc("edge-router", "uninstall")             # one common-code component alone
    rc, out = n.run(f"sudo {n.root}/apigee-setup/bin/setup.sh -p r -f {n.conf}")
    assert rc == 1 and "requires edge-gateway = 4.16.09" in out and "edge-gateway uninstall" in out
    n.svc("edge-message-processor", "stop")
    n.svc("edge-gateway", "uninstall")
    n.ok(setup)
    versions = {c["version"] for c in lab.state()["hosts"]["m4"]["components"].values()}
    assert versions == {"4.16.09"}


def test_postgres_9_4_cannot_open_the_upgraded_data(make_lab):
    """An in-place downgrade of the old master (never the way: rollback.md 1.9)."""
    lab = make_lab("9-node")
    d = Rollback(lab)
    d.fail_in_postgres_wave()
    n = d.nodes["m8"]
    n.svc("apigee-postgresql", "stop")
    n.svc("apigee-postgresql", "uninstall")
    d.setup_4_16_09("m8")
    rc, out = n.run(f"sudo {n.root}/apigee-setup/bin/setup.sh -p ps -f {n.conf}")
    assert rc == 1 and "initialized by PostgreSQL version 9.6" in out
    rc, out = n.run(f"sudo {n.root}/apigee-service/bin/apigee-service apigee-postgresql install")
    assert rc == 1 and "initialized by PostgreSQL version 9.6" in out
    assert "ps" not in lab.state()["hosts"]["m8"]["components"]


def test_promotion_refusals(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab)
    d.fail_in_postgres_wave()
    a = lab.addresses
    ns = d.nodes["pgr"]
    promote = f"sudo {ns.root}/apigee-service/bin/apigee-service apigee-postgresql promote-standby-to-master "
    rc, out = ns.run(promote + a["m8"])
    assert rc == 1 and "not running" in out       # the spare was stopped for the update
    ns.ok(f"sudo {ns.root}/apigee-service/bin/apigee-all start")
    rc, out = ns.run(promote + a["m9"])
    assert rc == 1 and "is not the PostgreSQL master" in out
    m8 = d.nodes["m8"]
    rc, out = m8.run(promote.replace(ns.root, m8.root) + a["m8"])
    assert rc == 1 and "not in standby mode" in out
    assert lab.state()["hosts"]["pgr"]["postgres"] == "rollback_standby"
    m8.svc("apigee-postgresql", "stop")
    ns.ok(promote + a["m8"])
    s = lab.state()
    assert (s["hosts"]["pgr"]["postgres"], s["hosts"]["m8"]["postgres"]) == ("master", "old_master")
    assert lab.verdict().ok
    m8.svc("apigee-postgresql", "start")          # the fence broken
    v = lab.verdict()
    assert rules(v) == {18} and "started again" in messages(v, 18)


def test_standby_setup_needs_replication_allowed_on_the_new_master(make_lab):
    lab = make_lab("9-node")
    d = Rollback(lab, skip={"rebuild_standby"})
    d.fail_in_postgres_wave()
    n = d.nodes["m9"]
    for s in ("edge-postgres-server", "apigee-postgresql"):
        n.svc(s, "stop")
    n.ok(f"sudo rm -rf {n.root}/data/apigee-postgresql/")
    conf = d.conf("m9")
    rc, out = n.run(f"sudo {n.root}/apigee-service/bin/apigee-service apigee-postgresql "
                    f"setup-replication-on-standby -f {conf}")
    assert rc == 1 and "cannot connect" in out    # PG_MASTER (the spare) is not the master yet
    d.rollback_postgres()                         # promotes and allows m9 on the spare
    assert f"{lab.addresses['m9']}/32" in (d.nodes["pgr"].ok(
        f"cat {d.nodes['pgr'].root}/apigee-postgresql/conf/pg_hba.conf"))


def test_analytics_group_api(lab5):
    g = api(lab5, "GET", "/v1/analytics/groups/ax")[0]
    m4, m5 = (uuid_of(lab5, h, "analytics", "postgres-server") for h in ("m4", "m5"))
    assert g["name"] == "axgroup-001" and g["uuids"]["postgres-server"] == [f"{m4}:{m5}"]
    assert g["consumer-groups"][0]["datastores"] == [f"{m4}:{m5}"]
    assert len(g["consumer-groups"][0]["consumers"]) == 2
    pgr = f"{lab5.management_url}{GROUP}/consumer-groups/consumer-group-001/datastores?uuid={m5}"
    with pytest.raises(urllib.error.HTTPError) as e:   # a datastore must be a group server first
        api(lab5, "POST", pgr[len(lab5.management_url):])
    assert e.value.code == 400
    api(lab5, "DELETE", f"{GROUP}/servers?uuid={m4},{m5}&type=postgres-server")
    api(lab5, "POST", f"{GROUP}/servers?uuid={m5}&type=postgres-server&force=true")
    g = api(lab5, "POST", pgr[len(lab5.management_url):])
    assert g["consumer-groups"][0]["datastores"] == [f"{m4}:{m5}", m5]


def test_verdict_cli_expect_version(lab5, capsys):
    d = str(lab5.directory)
    assert cli.main(["verdict", "--dir", d, "--final"]) == 1      # nothing updated
    assert "not at 4.18.01" in capsys.readouterr().out
    assert cli.main(["verdict", "--dir", d, "--final", "--expect-version", "4.16.09"]) == 0
    assert "CLEAN" in capsys.readouterr().out
    assert json.loads((lab5.directory / "verdict.json").read_text())["expect_version"] == "4.16.09"
    with pytest.raises(SystemExit) as e:
        cli.main(["verdict", "--dir", d, "--final", "--expect-version", "4.17.01"])
    assert e.value.code == 2


def test_update_then_verdict_expecting_the_old_version_fails(lab5):
    Driver(lab5).run()
    v = lab5.verdict(final=True, expect_version="4.16.09")
    assert rules(v) == {6, 18} and "not at 4.16.09" in messages(v, 6)
    assert "PostgreSQL 9.6 still running" in messages(v, 18)
