"""A failure injected at each call, then a re-run of the same command: same end state.

The first run must stop with exit 1 and name the error; the second must finish, skipping
what the first completed, and leave exactly what a run without failure leaves.
"""
from __future__ import annotations

import pytest

from lab.gcp import GcpEmulator
from tests.regions.conftest import LAB, MIG, OP_SECONDS, PSC, end_state, spec

ADD_PSC = ["kms.keyRings.create", "kms.cryptoKeys.create", "kms.cryptoKeys.setIamPolicy",
           "compute.globalAddresses.insert", "servicenetworking.connections.patch",
           "apigee.instances.create", "apigee.attachments.create",
           "compute.regionNetworkEndpointGroups.insert", "compute.backendServices.patch"]
ADD_MIG = ["compute.instanceTemplates.insert", "compute.regionInstanceGroupManagers.insert",
           "compute.regionAutoscalers.insert", "compute.backendServices.patch"]
LRO = {"compute.globalAddresses.insert", "servicenetworking.connections.patch",
       "apigee.instances.create", "apigee.attachments.create",
       "compute.regionNetworkEndpointGroups.insert", "compute.backendServices.patch",
       "compute.instanceTemplates.insert", "compute.regionInstanceGroupManagers.insert",
       "compute.regionAutoscalers.insert"}
REMOVE = ["compute.backendServices.patch", "apigee.attachments.delete",
          "apigee.instances.delete", "compute.regionNetworkEndpointGroups.delete",
          "compute.regionAutoscalers.delete", "compute.regionInstanceGroupManagers.delete",
          "compute.instanceTemplates.delete"]


def _cases(calls: list[str]) -> list[tuple[str, str]]:
    return [(c, "http") for c in calls] + [(c, "operation") for c in calls if c in LRO]


@pytest.fixture(scope="module")
def clean_end() -> dict[str, dict]:
    """End states of runs without failure, to compare each resumed run with."""
    import io
    import tempfile
    from pathlib import Path

    import yaml

    from fleet.regions.cli import main
    from tests.regions.conftest import FAST
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, regions, remove in (("psc", [PSC], False), ("mig", [MIG], False),
                                      ("remove", [PSC, MIG], True)):
            emu = GcpEmulator.start(op_seconds=OP_SECONDS, seed=LAB)
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(yaml.safe_dump(spec(*regions)))
            args = ["--spec", str(path), "--endpoint", emu.endpoint, "--reports", tmp,
                    "--no-reports", *FAST]
            assert main(["add", *args], out=io.StringIO()) == 0
            if remove:
                assert main(["remove", *args], out=io.StringIO()) == 0
            out[name] = end_state(emu)
            emu.stop()
    return out


def _fail_then_resume(emu, run_region, command, inputs, call, mode) -> None:
    # 400: an error no retry can fix (429, 5xx and the org lock are retried: test_retry.py)
    emu.fail(call, mode=mode, code=400, message=f"injected: {call} {mode}")
    rc, out, err = run_region(command, emu, inputs, "--no-reports")
    assert rc == 1, out + err
    assert f"injected: {call} {mode}" in out
    assert "run the same command again" in out
    rc, out, err = run_region(command, emu, inputs, "--no-reports")
    assert rc == 0, out + err
    assert "already done" in out


@pytest.mark.parametrize("call,mode", _cases(ADD_PSC))
def test_add_psc_resumes_after_failure(emulator, run_region, clean_end, call, mode) -> None:
    _fail_then_resume(emulator, run_region, "add", spec(PSC), call, mode)
    assert end_state(emulator) == clean_end["psc"]
    assert emulator.verdict()["ok"], emulator.verdict()


@pytest.mark.parametrize("call,mode", _cases(ADD_MIG))
def test_add_mig_resumes_after_failure(emulator, run_region, clean_end, call, mode) -> None:
    _fail_then_resume(emulator, run_region, "add", spec(MIG), call, mode)
    assert end_state(emulator) == clean_end["mig"]
    assert emulator.verdict()["ok"], emulator.verdict()


@pytest.mark.parametrize("call,mode", [(c, "http") for c in REMOVE]
                         + [("apigee.instances.delete", "operation"),
                            ("compute.backendServices.patch", "operation")])
def test_remove_resumes_after_failure(emulator, run_region, clean_end, call, mode) -> None:
    assert run_region("add", emulator, spec(PSC, MIG), "--no-reports")[0] == 0
    _fail_then_resume(emulator, run_region, "remove", spec(PSC, MIG), call, mode)
    assert end_state(emulator) == clean_end["remove"]
    assert emulator.verdict(removed=["us-west1", "europe-west3"])["ok"]
