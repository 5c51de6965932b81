"""The live state a rollback is planned from: component states from `apigee-all version`
(trace lines and tool packages as real nodes print them, real-nodes.md), the failed run's
journal, and the post-rollback version check."""
from __future__ import annotations

import pytest

from fleet.errors import InputError
from fleet.facts import judge
from fleet.model import Node
from fleet.rollback.state import FailedRun, Live, component_states, from_outputs, summarize

NODE = Node("m1", "10.0.0.1", "dc-1", frozenset({"cs", "zk", "ms", "ldap", "ui"}))
RELEASES = {"4.18.01": {"apigee-cassandra": "2.1.16-0.0.*", "apigee-openldap": "2.4-0.0.1067"}}
# the shape of a real listing (Apigee community, "Zookeeper not upgraded with 4.19.01"):
# a trace line before each package, tool packages listed too
OUTPUT = """+ apigee-service apigee-cassandra version
apigee-cassandra-2.1.16-0.0.2046
+ apigee-service apigee-zookeeper version
apigee-zookeeper-3.4.5-0.0.944
+ apigee-service apigee-openldap version
apigee-openldap-2.4-0.0.1004
+ apigee-service apigee-setup version
apigee-setup-4.18.01-0.0.1067
+ apigee-service edge-management-server version
edge-management-server-4.18.01-0.0.1607
"""


def live(text: str = OUTPUT, releases=RELEASES) -> Live:
    return Live(from_outputs({"m1": text}), None, None, releases)


def test_states_per_component():
    assert component_states(NODE, live()) == {
        "cs": "target", "zk": "target", "ldap": "old", "ms": "target", "ui": "missing"}


def test_another_release_is_refused():
    text = OUTPUT.replace("edge-management-server-4.18.01", "edge-management-server-4.17.09")
    with pytest.raises(InputError, match="neither at 4.16.09 nor at 4.18.01"):
        component_states(NODE, live(text))


def test_undecidable_is_refused_except_for_cassandra_zookeeper():
    with pytest.raises(InputError, match="cannot decide whether apigee-openldap-2.4-0.0.1004"):
        component_states(NODE, live(releases={}))
    only_cs = Node("m2", "10.0.0.2", "dc-1", frozenset({"cs"}))
    assert component_states(only_cs, Live(from_outputs({"m2": OUTPUT}), releases={})) == {"cs": "target"}


def test_failed_run_summary_from_journal_events():
    run = summarize("r1", [
        {"event": "step_end", "action": "db_upgrade", "status": "ok", "wave": "postgres", "host": "m4"},
        {"event": "step_end", "action": "update", "status": "failed", "wave": "postgres",
         "host": "m5", "key": "6/3/m5/0"},
        {"event": "step_end", "action": "qpid_unblock", "status": "failed", "wave": "qpid",
         "host": "m4", "key": "2/1/m4/1/undo0"},
        {"event": "run_end", "status": "failed"}])
    assert run == FailedRun("r1", "failed", (("postgres", "m5"),), True)


def test_check_back_after_a_rollback():
    back = OUTPUT.replace("edge-management-server-4.18.01", "edge-management-server-4.16.09")
    args = {"back": "4.16.09", "from": "4.18.01", "releases": RELEASES,
            "packages": ["edge-management-server", "apigee-openldap"]}
    assert judge("apigee-version-back", back, args)[0]
    ok, why = judge("apigee-version-back", OUTPUT, args)
    assert not ok and "edge-management-server-4.18.01-0.0.1607 not at 4.16.09" in why
    ok, why = judge("apigee-version-back", back, dict(args, packages=["edge-ui"]))
    assert not ok and "edge-ui not listed" in why
