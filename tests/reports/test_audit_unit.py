"""The audit's judgement over synthetic readings, its history, and its bad-input exits."""
from __future__ import annotations

from pathlib import Path

import yaml

from fleet import cli
from fleet.audit.analyse import Reading, analyse, matrix, parse_status, parse_versions
from fleet.audit.history import history
from fleet.facts import releases
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


# Upstream packages carry their own version (real-nodes.md): (at 4.18.01, at 4.16.09).
UPSTREAM = {"cs": ("2.1.16-0.0.2046", "2.1.13-0.0.1017"), "zk": ("3.4.5-0.0.944", "3.4.5-0.0.911"),
            "ps": ("9.6.8-0.0.1120", "9.4.5-0.0.1019")}
# The Cassandra build of 4.18.01 is not public: the operator states it, as in config.yaml.
MANIFEST = releases.load({T: {"apigee-cassandra": "2.1.16-0.0.2046"}})


def build(c: str, release: str) -> str:
    return UPSTREAM[c][release != T] if c in UPSTREAM else f"{release}-0.0.20042"


def reading(node: Node, version: dict[str, str] | str = T, down: tuple[str, ...] = ()) -> Reading:
    """Real formats: trace lines, tool packages, upstream versions; status lines only for
    what is down (a running component's line is not public), exit status 1 then."""
    comps = sorted(node.components)
    ver = version if isinstance(version, dict) else {c: version for c in comps}
    lines = [f"+ apigee-service apigee-setup version\napigee-setup-{T}-0.0.1108"]
    lines += [f"+ apigee-service {SERVICE[c]} version\n{SERVICE[c]}-{build(c, ver[c])}"
              for c in comps if c in ver]
    status = [f"apigee-service: {SERVICE[c]}: Not running (DEAD)" for c in comps if c in down]
    if down:
        status.append(f"apigee-all: Error: status failed on [{', '.join(SERVICE[c] for c in down)}]")
    return Reading(node.name, "\n".join(lines), "\n".join(status), status_rc=1 if down else 0)


def test_parsers():
    assert parse_versions("+ apigee-service edge-router version\nedge-router-4.18.01-0.0.20042\n"
                          "noise\napigee-cassandra-2.1.16-0.0.2046\napigee-setup-4.18.01-0.0.1") == {
        "r": ("edge-router", T, "0.0.20042"), "cs": ("apigee-cassandra", "2.1.16", "0.0.2046")}
    down = parse_status("apigee-service: edge-router: Not running (DEAD)\n"
                        "apigee-all: Error: status failed on [edge-router]", 1)
    assert down["r"] is False and down["mp"] is True   # the summary names all that failed
    assert parse_status("", 0)["mp"] is True
    assert parse_status("apigee-service: edge-router: Not running (DEAD)", 1) == {"r": False}


def test_an_upstream_build_without_a_known_target_is_a_finding():
    readings = {n.name: reading(n) for n in NODES}
    audit = analyse(T, NODES, readings)             # no operator entry for Cassandra
    f = {(r.finding, r.host, r.component) for r in audit.findings.itertuples()}
    assert f == {("cannot be decided", "m1", "cs"), ("cannot be decided", "m2", "cs")}


def test_all_at_target_is_ok_and_the_rollback_standby_is_not_judged():
    readings = {n.name: reading(n) for n in NODES}
    readings["m5"] = reading(NODES[4], OLD, down=("ps", "pg"))    # retired, old: as designed
    audit = analyse(T, NODES, readings, MANIFEST)
    assert audit.ok, audit.findings
    assert audit.hosts.set_index("host").loc["m5", "state"] == "not at target"


def test_findings_name_exactly_what_is_behind_down_mixed_missing_or_unreachable():
    readings = {n.name: reading(n) for n in NODES}
    readings["m1"] = reading(NODES[0], {"cs": OLD, "zk": OLD, "ms": T})
    readings["m2"] = reading(NODES[1], {"cs": T, "zk": T, "r": T}, down=("r",))   # mp missing
    readings["m4"] = Reading("m4", error="NetmikoTimeoutException: TCP connection failed")
    audit = analyse(T, NODES, readings, MANIFEST)
    f = {(r.finding, r.host, r.component) for r in audit.findings.itertuples()}
    assert f == {("not at target", "m1", "cs"), ("not at target", "m1", "zk"),
                 ("not running", "m2", "r"), ("missing", "m2", "mp"),
                 ("unreachable", "m4", ""),
                 ("mixed versions", "", "cs"), ("mixed versions", "", "zk")}
    assert not audit.ok
    m = matrix(audit.components, [n.name for n in NODES]).set_index("component")
    assert m.loc["cs", "m1"] == "2.1.13-0.0.1017" and m.loc["cs", "m2"] == "2.1.16-0.0.2046"
    assert m.loc["ms", "m1"] == T and m.loc["cs", "m3"] == "-"
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
