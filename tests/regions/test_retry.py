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
