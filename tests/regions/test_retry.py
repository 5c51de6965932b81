"""Google answers 429, 5xx and "the resource is locked by another operation": every call is
retried with bounded back-off, and one run's Apigee operations go one at a time."""
from __future__ import annotations

import threading
import time

import pytest

from fleet.regions.client import ApiCallError, RetryPolicy, retry_kind
from fleet.run.journal import read_events
from tests.regions.conftest import MIG, PSC, end_state, spec

LOCK_MSG = "the resource is locked by another operation where x for organization o"


def _apigee_mutations(emu) -> list[dict]:
    return [c for c in emu.mutating_calls() if (c["call"] or "").startswith("apigee.")]


def test_retry_kinds() -> None:
    assert retry_kind(ApiCallError(400, LOCK_MSG)) == "lock"
    assert retry_kind(ApiCallError(429, "Quota exceeded")) == "transient"
    assert retry_kind(ApiCallError(503, "backend error")) == "transient"
    assert retry_kind(ApiCallError(400, "Invalid value")) is None
    assert retry_kind(ApiCallError(409, "already exists")) is None
    assert retry_kind(ConnectionResetError()) == "transient"


def test_retries_are_bounded_and_shown() -> None:
    seen: list[str] = []
    calls = []

    def flaky() -> None:
        calls.append(1)
        raise ApiCallError(503, "backend error")
    with pytest.raises(ApiCallError):
        RetryPolicy(attempts=3, delay=0.001, cap=0.01).run(flaky, "GET x", seen.append)
    assert len(calls) == 3 and len(seen) == 2
    assert seen[0].startswith("retry 1: GET x: HTTP 503: backend error")


def test_two_regions_serialise_their_apigee_operations(emulator, run_region) -> None:
    """Without the per-org serialisation the emulator answers the lock error (400)."""
    rc, out, err = run_region("add", emulator, spec(PSC, MIG))
    assert rc == 0, out + err
    mutations = _apigee_mutations(emulator)
    assert len(mutations) == 2 + 4                         # two instances, four attachments
    assert all(c["status"] == 200 for c in mutations), [c for c in mutations
                                                       if c["status"] != 200]
    assert "waiting for organization demo-org's other Apigee operation" in out
    assert emulator.verdict()["ok"], emulator.verdict()


def test_org_locked_by_another_client_is_waited_out(emulator, run_region) -> None:
    op = emulator.hold_lock(60)                # e.g. someone attaching an environment by hand

    def release_after_refusals() -> None:      # the lock ends once the run has hit it twice
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if sum(c["status"] == 400 for c in _apigee_mutations(emulator)) >= 2:
                break
            time.sleep(0.01)
        op.done_at = time.monotonic()
    releaser = threading.Thread(target=release_after_refusals)
    releaser.start()
    rc, out, err = run_region("add", emulator, spec(PSC, MIG))
    releaser.join()
    assert rc == 0, out + err
    refused = [c for c in _apigee_mutations(emulator) if c["status"] == 400]
    assert refused and all(c["call"] == "apigee.instances.create" for c in refused)
    assert "locked by another operation" in out and "retry 1:" in out
    (run,) = list(run_region.reports.iterdir())
    notes = [e for e in read_events(run) if e["event"] == "step_note"]
    assert notes and any("locked by another operation" in e["text"] for e in notes)
    s = emulator.state()
    assert s["instances"]["apigee-us-west1"]["state"] == "ACTIVE"
    assert s["instances"]["apigee-europe-west3"]["state"] == "ACTIVE"


def test_run_with_injected_429_and_503_succeeds(emulator, make_emulator, run_region) -> None:
    clean = make_emulator()
    assert run_region("add", clean, spec(PSC, MIG))[0] == 0
    for call, code in (("apigee.instances.create", 429), ("apigee.operations.get", 503),
                       ("compute.backendServices.patch", 503), ("kms.keyRings.create", 429),
                       ("servicenetworking.connections.patch", 500),
                       ("compute.globalOperations.get", 503)):
        emulator.fail(call, times=2, code=code)
    emulator.fail("*", times=3, code=503)                  # whatever comes first, reads too
    rc, out, err = run_region("add", emulator, spec(PSC, MIG))
    assert rc == 0, out + err
    assert "HTTP 429" in out and "HTTP 503" in out
    assert "note: reading the organization: retry 1: GET demo-org: HTTP 503" in out
    assert all(f["times"] == 0 for f in emulator.world.faults)
    assert end_state(emulator) == end_state(clean)
    assert emulator.verdict()["ok"]


def test_retries_give_up_after_the_limit(emulator, run_region) -> None:
    emulator.fail("apigee.instances.create", times=10, code=503, message="still down")
    rc, out, _ = run_region("add", emulator, spec(PSC), "--retries", "3")
    assert rc == 1
    assert "HTTP 503: still down" in out
    creates = [c for c in emulator.calls() if c["call"] == "apigee.instances.create"]
    assert len(creates) == 3


def test_interrupted_remove_resumed_waits_out_the_draining(make_emulator, run_region) -> None:
    """Cut off right after the backends left; the re-run waits what is left of the draining
    (the emulator's verdict measures it) instead of deleting at once."""
    from fleet.regions.client import CANCEL
    emu = make_emulator(drain_scale=0.02)                 # 60 s of draining lasts 1.2 s
    assert run_region("add", emu, spec(PSC, MIG))[0] == 0
    gone = ("us-west1/networkEndpointGroups", "europe-west3/instanceGroups")

    def interrupt_once_detached() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            groups = [b["group"] for bs in emu.world.backend_services.values()
                      for b in bs["backends"]]
            if not any(g in x for g in gone for x in groups):
                break
            time.sleep(0.005)
        CANCEL.set()                                       # as Ctrl-C does
    cutter = threading.Thread(target=interrupt_once_detached)
    cutter.start()
    try:
        rc, out, _ = run_region("remove", emu, spec(PSC, MIG), "--drain-wait", "1.2")
    finally:
        cutter.join()
        CANCEL.clear()
    assert rc != 0
    assert not [c for c in emu.mutating_calls() if "delete" in (c["call"] or "")]
    started = time.monotonic()
    rc, out, err = run_region("remove", emu, spec(PSC, MIG), "--drain-wait", "1.2")
    assert rc == 0, out + err
    assert "backend already removed" in out and "draining since" in out
    assert time.monotonic() - started >= 0.8
    v = emu.verdict(removed=["us-west1", "europe-west3"])
    assert v["ok"], v


def test_remove_without_journal_waits_the_full_draining(make_emulator, run_region,
                                                        tmp_path) -> None:
    emu = make_emulator(drain_scale=0.01)                  # 60 s of draining lasts 0.6 s
    assert run_region("add", emu, spec(PSC))[0] == 0
    emu.world.backend_services["apigee-xlb-backend"]["connectionDraining"] = {
        "drainingTimeoutSec": 60}
    # the backend leaves outside any run (by hand): no journal says when
    bs = emu.world.backend_services["apigee-xlb-backend"]
    bs["backends"] = [b for b in bs["backends"] if "us-west1" not in b["group"]]
    emu.world.drained["projects/demo-org/regions/us-west1/networkEndpointGroups/"
                      "apigee-neg-us-west1"] = (time.monotonic(), 60.0, "apigee-xlb-backend")
    rc, out, err = run_region("remove", emu, spec(PSC), "--drain-wait", "0.6")
    assert rc == 0, out + err
    assert "not journaled: waiting the full 0.6s" in out
    assert emu.verdict(removed=["us-west1"])["ok"], emu.verdict(removed=["us-west1"])


def test_verdict_catches_deletion_before_draining_ends(make_emulator, run_region) -> None:
    emu = make_emulator(drain_scale=0.01)
    assert run_region("add", emu, spec(PSC))[0] == 0
    rc, out, _ = run_region("remove", emu, spec(PSC), "--drain-wait", "0")
    assert rc == 0, out
    v = emu.verdict(removed=["us-west1"])
    assert not v["ok"]
    assert any("connection draining of 60s needs 0.60s" in p for p in v["problems"]), v


@pytest.mark.parametrize("call", ["apigee.instances.create", "apigee.attachments.create",
                                  "compute.regionNetworkEndpointGroups.insert",
                                  "kms.keyRings.create", "apigee.instances.delete",
                                  "compute.regionNetworkEndpointGroups.delete"])
def test_a_retried_call_that_had_gone_through(emulator, make_emulator, run_region,
                                              call) -> None:
    """The request was done but its answer was a 503: the retry meets 409 (or 404 for a
    delete, or the org lock of its own operation) and the run goes on."""
    clean = make_emulator()
    assert run_region("add", clean, spec(PSC))[0] == 0
    remove = call.endswith(".delete")
    if remove:
        assert run_region("add", emulator, spec(PSC))[0] == 0
        assert run_region("remove", clean, spec(PSC))[0] == 0
    emulator.fail(call, mode="lost", code=503)
    rc, out, err = run_region("remove" if remove else "add", emulator, spec(PSC))
    assert rc == 0, out + err
    assert "injected lost answer" in out
    assert end_state(emulator) == end_state(clean)
    v = emulator.verdict(removed=["us-west1"] if remove else [])
    assert v["ok"], v


def test_a_resumed_add_waits_for_an_instance_still_creating(emulator, run_region) -> None:
    """Cut off while the instance is CREATING: the re-run waits for it, never POSTs again.
    The cut-off run writes no reports, so it ends well within the operation's second (on a
    cold machine loading pandas for the reports took longer than the operation)."""
    from fleet.regions.client import CANCEL
    emulator.world.op_seconds = 1.0

    def interrupt_once_creating() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            inst = emulator.world.instances.get("apigee-us-west1")
            if inst and inst["state"] == "CREATING":
                break
            time.sleep(0.005)
        CANCEL.set()
    cutter = threading.Thread(target=interrupt_once_creating)
    cutter.start()
    try:
        rc, out, _ = run_region("add", emulator, spec(PSC), "--no-reports")
    finally:
        cutter.join()
        CANCEL.clear()
    assert rc != 0
    assert emulator.state()["instances"]["apigee-us-west1"]["state"] == "CREATING"
    rc, out, err = run_region("add", emulator, spec(PSC))
    assert rc == 0, out + err
    assert "apigee-us-west1 exists: ACTIVE" in out
    creates = [c for c in emulator.calls() if c["call"] == "apigee.instances.create"]
    assert len(creates) == 1
