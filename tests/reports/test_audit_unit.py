"""The audit's judgement over synthetic readings, its history, and its bad-input exits."""
from __future__ import annotations

from pathlib import Path

import yaml

from fleet import cli
from fleet.audit.analyse import Reading, analyse, matrix, parse_status, parse_versions
from fleet.audit.history import history
from fleet.model import Node
from fleet.reports import write_run_reports
from tests.reports.synthetic import Writer, small_plan

T, OLD = "4.18.01", "4.16.09"
NODES = [
    Node("m1", "10.0.0.1", "dc-1", frozenset({"cs", "zk", "ms"}), machine=1),
    Node("m2", "10.0.0.2", "dc-1", frozenset({"cs", "zk", "r", "mp"}), machine=2),
    Node("m3", "10.0.0.3", "dc-1", frozenset({"ps", "pg"}), machine=3, postgres="master"),
    Node("m4", "10.0.0.4", "dc-1", frozenset({"ps", "pg"}), machine=4, postgres="standby"),
    Node("m5", "10.0.0.5", "dc-1", frozenset({"ps", "pg"}), machine=5, postgres="rollback_standby"),
]
SERVICE = {"cs": "apigee-cassandra", "zk": "apigee-zookeeper", "ms": "edge-management-server",
           "r": "edge-router", "mp": "edge-message-processor", "ps": "apigee-postgresql",
           "pg": "edge-postgres-server"}


def reading(node: Node, version: dict[str, str] | str = T, down: tuple[str, ...] = ()) -> Reading:
    comps = sorted(node.components)
    ver = version if isinstance(version, dict) else {c: version for c in comps}
    return Reading(node.name,
                   "\n".join(f"{SERVICE[c]}-{ver[c]}-0.0.20042" for c in comps if c in ver),
                   "\n".join(f"{SERVICE[c]} is {'not running' if c in down else 'running'}"
                             for c in comps))


def test_parsers():
    assert parse_versions("edge-router-4.18.01-0.0.20042\nnoise\napigee-qpidd-4.16.09-0.0.1") == {
        "r": ("edge-router", T, "0.0.20042"), "qpid": ("apigee-qpidd", OLD, "0.0.1")}
    assert parse_status("edge-router is running\nedge-message-processor is not running") == {
        "r": True, "mp": False}


def test_all_at_target_is_ok_and_the_rollback_standby_is_not_judged():
    readings = {n.name: reading(n) for n in NODES}
    readings["m5"] = reading(NODES[4], OLD, down=("ps", "pg"))    # retired, old: as designed
    audit = analyse(T, NODES, readings)
    assert audit.ok, audit.findings
    assert audit.hosts.set_index("host").loc["m5", "state"] == "not at target"


def test_findings_name_exactly_what_is_behind_down_mixed_missing_or_unreachable():
    readings = {n.name: reading(n) for n in NODES}
    readings["m1"] = reading(NODES[0], {"cs": OLD, "zk": OLD, "ms": T})
    readings["m2"] = reading(NODES[1], {"cs": T, "zk": T, "r": T}, down=("r",))   # mp missing
    readings["m4"] = Reading("m4", error="NetmikoTimeoutException: TCP connection failed")
    audit = analyse(T, NODES, readings)
    f = {(r.finding, r.host, r.component) for r in audit.findings.itertuples()}
    assert f == {("not at target", "m1", "cs"), ("not at target", "m1", "zk"),
                 ("not running", "m2", "r"), ("missing", "m2", "mp"),
                 ("unreachable", "m4", ""),
                 ("mixed versions", "", "cs"), ("mixed versions", "", "zk")}
    assert not audit.ok
    m = matrix(audit.components, [n.name for n in NODES]).set_index("component")
    assert m.loc["cs", "m1"] == OLD and m.loc["cs", "m2"] == T and m.loc["cs", "m3"] == "-"
    assert m.loc["ps", "m4"] == "?" and m.loc["mp", "m2"] == "absent"
    hosts = audit.hosts.set_index("host")
    assert hosts.loc["m4", "state"] == "unreachable" and "TCP" in hosts.loc["m4", "error"]
    assert hosts.loc["m1", "behind"] == "cs zk"


def test_history_lists_earlier_runs_and_audits(tmp_path):
    w = Writer(tmp_path, small_plan())
    w.start()
    w.wave(0)
    w.step(0, 0, "m1", 0)
    w.end("ok")
    write_run_reports(w.folder)
    audit = tmp_path / "audit-20240101T000000"
    audit.mkdir()
    (audit / "summary.json").write_text('{"time": "2024-01-01T00:00:00Z", "ok": false, '
                                        '"findings": 3, "hosts": ["m1"]}')
    (tmp_path / "junk").mkdir()
    h = history(tmp_path)
    assert list(h["kind"]) == ["run", "audit"] or list(h["kind"]) == ["audit", "run"]
    run = h[h["kind"] == "run"].iloc[0]
    assert (run["id"], run["outcome"], run["waves"], run["hosts"]) == (
        w.folder.name, "ok", "preflight", "m1")
    assert h[h["kind"] == "audit"].iloc[0]["outcome"] == "3 finding(s)"


def _config(tmp_path: Path) -> Path:
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(yaml.safe_dump(
        {"m1": {"hostname": "127.0.0.1", "data": {"dc": "dc-1", "profiles": ["aio"],
                                                  "postgres": "master"}}}))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"inventory": {"options": {"host_file": str(inv / "hosts.yaml")}}}))
    return cfg


def test_bad_input_exits_2_before_any_connection(tmp_path, capsys):
    cfg = _config(tmp_path)
    assert cli.main(["audit", "--config", str(cfg), "--hosts", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert cli.main(["audit", "--config", str(cfg), "--dc", "dc-9"]) == 2
    assert cli.main(["audit", "--config", str(cfg), "--bogus"]) == 2
    assert cli.main(["audit", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert not (tmp_path / "reports").exists()
