"""Drain start across runs, from journals: what a resumed remove may count on."""
from __future__ import annotations

from pathlib import Path

from fleet.regions.draining import drain_history, left_to_wait
from fleet.run.journal import Journal

TARGET = "apigee-x:demo-org"


def _run(reports: Path, name: str, target: str, events: list[tuple[str, dict]]) -> None:
    j = Journal.create(reports, name, "{}")
    j.event("run_start", target=target)
    for event, fields in events:
        j.event(event, **fields)


def test_latest_finished_removal_counts(tmp_path: Path) -> None:
    _run(tmp_path, "region-remove-1", TARGET, [
        ("step_start", {"key": "a", "host": "us-west1", "action": "backend_remove"}),
        ("step_end", {"key": "a", "host": "us-west1", "action": "backend_remove",
                      "status": "ok", "changed": True, "drain_started": 100.0})])
    _run(tmp_path, "region-remove-2", "apigee-x:other-org", [
        ("step_end", {"key": "a", "host": "us-west1", "action": "backend_remove",
                      "status": "ok", "changed": True, "drain_started": 999.0})])
    assert drain_history(tmp_path, TARGET) == {"us-west1": 100.0}


def test_cut_off_removal_or_later_add_makes_the_start_unknown(tmp_path: Path) -> None:
    _run(tmp_path, "region-remove-1", TARGET, [
        ("step_end", {"key": "a", "host": "us-west1", "action": "backend_remove",
                      "status": "ok", "changed": True, "drain_started": 100.0}),
        ("step_end", {"key": "b", "host": "europe-west3", "action": "backend_remove",
                      "status": "ok", "changed": True, "drain_started": 100.0})])
    _run(tmp_path, "region-add-2", TARGET, [
        ("step_end", {"key": "c", "host": "us-west1", "action": "backend_add",
                      "status": "ok", "changed": True})])
    _run(tmp_path, "region-remove-3", TARGET, [
        ("step_start", {"key": "d", "host": "europe-west3", "action": "backend_remove"})])
    assert drain_history(tmp_path, TARGET) == {}


def test_left_to_wait() -> None:
    assert left_to_wait(300, ["a", "b"], {"a": 1000.0, "b": 1100.0}, now=1200.0)[0] == 200.0
    assert left_to_wait(300, ["a"], {"a": 1000.0}, now=2000.0)[0] == 0.0
    left, why = left_to_wait(300, ["a", "b"], {"a": 1000.0}, now=1200.0)
    assert left == 300 and "drain start of b not journaled" in why
