"""CLI surface: flags without a file, planning from a snapshot, help and usage errors."""
from __future__ import annotations

import io
import json

import pytest

from fleet.regions.cli import main
from fleet.regions.snapshot import OrgState

FLAGS = ["--project", "demo-org", "--project-number", "123456789012", "--network",
         "apigee-vpc", "--backend-service", "apigee-xlb-backend"]


def test_flags_only_dry_run(emulator) -> None:
    out = io.StringIO()
    rc = main(["add", *FLAGS, "--location", "us-west2", "--routing", "mig", "--subnet",
               "apigee-subnet", "--backend-service", "apigee-mig-backend",   # its own: MIG
               "--endpoint", emulator.endpoint, "--dry-run"], out=out)
    assert rc == 0, out.getvalue()
    text = out.getvalue()
    assert "regions/us-west2/instanceGroupManagers" in text
    assert '"name":"apigee-us-west2"' in text
    assert emulator.mutating_calls() == []


def test_plan_from_a_snapshot_needs_no_api(tmp_path, capsys) -> None:
    state = OrgState(org="demo-org", peering={"reservedPeeringRanges": ["r1"]},
                     backend_services={"apigee-xlb-backend": {"backends": []}},
                     subnets={"us-west1/s": {"privateIpGoogleAccess": True}},
                     environments=["prod"])
    snap = tmp_path / "state.json"
    snap.write_text(json.dumps(state.to_json()))
    plan = tmp_path / "plan.json"
    args = ["add", *FLAGS, "--location", "us-west1", "--routing", "psc", "--subnet", "s",
            "--snapshot", str(snap), "--plan-out", str(plan)]
    assert main(args, out=io.StringIO()) == 0
    body = json.loads(plan.read_text())
    steps = [s for w in body["waves"] for b in w["batches"] for s in b["steps"]]
    peering = [s for s in steps if s["action"] == "peering_update"][0]
    assert peering["request"]["body"]["reservedPeeringRanges"][0] == "r1"
    assert main([*args[:-2], "--yes"], out=io.StringIO()) == 2
    assert "--snapshot is for planning only" in capsys.readouterr().err


def test_help_and_usage_errors(capsys) -> None:
    assert main(["--help"], out=io.StringIO()) == 0
    assert "add,remove" in capsys.readouterr().out
    assert main(["add", "--help"], out=io.StringIO()) == 0
    assert "--dry-run" in capsys.readouterr().out
    assert main([], out=io.StringIO()) == 2
    assert main(["add", "--routing", "psc"], out=io.StringIO()) == 2
    assert "need --location" in capsys.readouterr().err


def test_unknown_region_filter_and_missing_file(tmp_path, capsys) -> None:
    assert main(["add", "--spec", str(tmp_path / "none.yaml")], out=io.StringIO()) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["add", "--spec", "inventory/regions/example.yaml", "--region", "mars-north1",
                 "--dry-run"], out=io.StringIO()) == 2
    assert "--region mars-north1: not in the inputs" in capsys.readouterr().err


def test_unreachable_endpoint_is_a_clear_refusal(capsys) -> None:
    rc = main(["add", "--spec", "inventory/regions/example.yaml", "--endpoint",
               "http://127.0.0.1:9", "--dry-run", "--retries", "3", "--retry-delay", "0.01"],
              out=io.StringIO())
    assert rc == 2
    err = capsys.readouterr().err
    assert "cannot read the organization's state" in err and "Traceback" not in err
    assert "Connection refused" in err


def test_without_the_regions_extra_the_message_says_what_to_install(capsys, monkeypatch) -> None:
    import sys
    monkeypatch.setitem(sys.modules, "googleapiclient.discovery", None)    # not installed
    rc = main(["add", "--spec", "inventory/regions/example.yaml", "--endpoint",
               "http://127.0.0.1:9", "--dry-run"], out=io.StringIO())
    err = capsys.readouterr().err
    assert rc == 2 and "apigee-fleet-runner[regions]" in err and "Traceback" not in err


@pytest.mark.lab
def test_ctrl_c_stops_waits_at_once_and_a_rerun_finishes(tmp_path) -> None:
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import yaml

    from fleet.run.journal import read_events
    from lab.gcp import GcpEmulator
    from tests.regions.conftest import PSC, spec
    emu = GcpEmulator.start(op_seconds=30)              # every operation would take 30 s
    try:
        path = tmp_path / "r.yaml"
        path.write_text(yaml.safe_dump(spec(PSC)))
        args = [sys.executable, "-m", "fleet.regions.cli", "add", "--spec", str(path),
                "--endpoint", emu.endpoint, "--reports", str(tmp_path / "rep"), "--yes",
                "--poll-interval", "0.05", "--no-reports"]
        root = Path(__file__).resolve().parents[2]
        proc = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 20
        while not any(c["call"] == "compute.globalAddresses.insert" for c in emu.calls()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 130, err
        assert "run the same command again" in err
        (run,) = list((tmp_path / "rep").iterdir())
        events = list(read_events(run))
        assert events[-1]["event"] == "run_end" and events[-1]["status"] == "interrupted"
        emu.world.op_seconds = 0.01
        with emu.world.lock:
            for op in emu.world.ops.values():
                op.done_at = 0
        done = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert emu.state()["instances"]["apigee-us-west1"]["state"] == "ACTIVE"
    finally:
        emu.stop()
