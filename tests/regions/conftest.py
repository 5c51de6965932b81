"""Fixtures for the region workflow: an in-process emulator and the CLI run in-process."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet.regions.cli import main
from lab.gcp import GcpEmulator

OP_SECONDS = 0.01
# lab time: 60 s of connection draining lasts 0.06 s, and the runs wait 0.1 s
LAB = {"drain_scale": 0.001}
FAST = ["--poll-interval", "0.005", "--op-timeout", "20", "--drain-wait", "0.1",
        "--retry-delay", "0.01", "--yes"]

PSC = {"location": "us-west1", "routing": {"mode": "psc", "subnet": "apigee-subnet"}}
MIG = {"location": "europe-west3", "routing": {"mode": "mig", "subnet": "apigee-subnet",
                                               "backend_service": "apigee-mig-backend"}}


def spec(*regions: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"project": "demo-org", "project_number": "123456789012", "network": "apigee-vpc",
            "backend_service": "apigee-xlb-backend", "draining_timeout_sec": 60,
            "drain_wait_sec": 0.1,
            "regions": list(regions), **top}


@pytest.fixture
def emulator() -> Any:
    emu = GcpEmulator.start(op_seconds=OP_SECONDS, seed=LAB)
    yield emu
    emu.stop()


@pytest.fixture
def make_emulator() -> Any:
    started: list[GcpEmulator] = []

    def make(**seed: Any) -> GcpEmulator:
        emu = GcpEmulator.start(op_seconds=OP_SECONDS, seed={**LAB, **seed})
        started.append(emu)
        return emu
    yield make
    for emu in started:
        emu.stop()


class Runner:
    """Write the spec file, run `region …` in-process, keep stdout/stderr and reports."""

    def __init__(self, tmp: Path, capsys: Any) -> None:
        self.tmp, self.capsys = tmp, capsys
        self.reports = tmp / "reports"

    def __call__(self, command: str, emu: GcpEmulator | None, inputs: dict[str, Any],
                 *extra: str) -> tuple[int, str, str]:
        path = self.tmp / "regions.yaml"
        path.write_text(yaml.safe_dump(inputs))
        args = [command, "--spec", str(path), "--reports", str(self.reports), *FAST, *extra]
        if emu is not None:
            args += ["--endpoint", emu.endpoint]
        out = io.StringIO()
        self.capsys.readouterr()
        rc = main(args, out=out)
        return rc, out.getvalue(), self.capsys.readouterr().err


@pytest.fixture
def run_region(tmp_path: Path, capsys: Any) -> Runner:
    return Runner(tmp_path, capsys)


def end_state(emu: GcpEmulator) -> dict[str, Any]:
    """What a finished run must leave, independent of generated ids and timing."""
    s = emu.state()
    return {
        "instances": {n: (i["location"], i["state"]) for n, i in s["instances"].items()},
        "attachments": s["attachments"],
        "peering": sorted(s["peering_ranges"]),
        "addresses": sorted(s["addresses"]),
        "keys": sorted(s["keys"]),
        "bindings": {k: v["policy"]["bindings"] for k, v in s["keys"].items()},
        "backends": {n: sorted(b["group"].split("/compute/v1/")[-1] for b in bs["backends"])
                     for n, bs in s["backend_services"].items()},
        "draining": {n: bs.get("connectionDraining") for n, bs in s["backend_services"].items()},
        "negs": s["negs"], "igms": s["igms"], "autoscalers": s["autoscalers"],
        "templates": s["templates"],
    }
