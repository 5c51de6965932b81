"""`python runner.py facts KIND [FILE]` as an operator runs it: JSON out, exit 2 on input
it cannot read."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def facts(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "runner.py"), "facts", *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_a_real_capture_from_a_file_and_from_stdin(tmp_path):
    case = yaml.safe_load((HERE / "qpid-stat" / "apigee-docs-report-timed-out.yaml").read_text())
    out = tmp_path / "qpid.txt"
    out.write_text(case["output"])
    res = facts("qpid-stat", str(out))
    assert res.returncode == 0, res.stderr
    fact = json.loads(res.stdout)
    assert fact["drained"] is True and fact["dead_letter"][1] == {
        "name": "ax-q-axgroup001-consumer-group-001-dl", "msg": 323}
    case = yaml.safe_load((HERE / "apigee-version" / "community-4.19.01-node.yaml").read_text())
    res = facts("apigee-version", "--target", "4.18.01", stdin=case["output"])
    assert res.returncode == 0, res.stderr
    at = json.loads(res.stdout)["at_target"]
    assert at["apigee-cassandra"] is None and at["apigee-setup"] is False


def test_the_config_states_the_builds_no_release_note_gives(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"user_defined": {
        "releases": {"4.18.01": {"apigee-cassandra": "2.1.16-0.0.*"}}}}))
    res = facts("apigee-version", "--target", "4.18.01", "--config", str(cfg),
                stdin="apigee-cassandra-2.1.16-0.0.2046\n")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["at_target"] == {"apigee-cassandra": True}


def test_unreadable_input_exits_2_with_a_message(tmp_path):
    res = facts("qpid-stat", str(tmp_path / "missing.txt"))
    assert res.returncode == 2 and "cannot read" in res.stderr and not res.stdout
    res = facts("qpid-stat", stdin="Failed: ConnectionError: [Errno 111] Connection refused\n")
    assert res.returncode == 2 and "no queue table" in res.stderr
    res = facts("servers", stdin="<html>502</html>")
    assert res.returncode == 2 and "not JSON" in res.stderr
    res = facts("nonsense")
    assert res.returncode == 2 and "Traceback" not in res.stderr
