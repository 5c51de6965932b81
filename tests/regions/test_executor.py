"""The region executor on Nornir, without the API: wait steps (``PAUSE``) on two regions.
A fault of the runner's own surfaces with its traceback, and Ctrl-C lets every chain of the
batch end and journal its step before the run is journaled as interrupted."""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from fleet.model import PAUSE, Plan, Step, Wave, batch_of
from fleet.regions.client import CANCEL
from fleet.regions.executor import Executor
from fleet.regions.progress import PlainProgress
from fleet.run.journal import Journal, read_events


def _plan(seconds: float) -> Plan:
    chains = [[Step(h, "drain_wait", "wait", kind=PAUSE, timeout=seconds)] for h in ("a", "b")]
    return Plan("t", "add", (Wave("drain", (batch_of(chains, "wait"),)),))


def _run(tmp_path: Path, progress: PlainProgress, seconds: float) -> Journal:
    plan = _plan(seconds)
    journal = Journal.create(tmp_path, "run", plan.dumps())
    Executor(None, plan, journal, progress).run()      # type: ignore[arg-type]  # no API call
    return journal


def test_a_fault_of_the_runner_itself_is_raised_not_reported_as_a_failed_step(tmp_path) -> None:
    class Broken(PlainProgress):
        def end(self, *_a: Any) -> None:
            raise RuntimeError("progress output broke")

    with pytest.raises(RuntimeError, match="progress output broke"):
        _run(tmp_path, Broken(open(os.devnull, "w")), 0.0)


def test_ctrl_c_lets_every_chain_journal_its_step_before_the_run_ends(tmp_path) -> None:
    class Interrupting(PlainProgress):
        def start(self, key: str, step: Step) -> None:
            super().start(key, step)
            if step.host == "a":              # Ctrl-C while both chains are in their step
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()

    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, Interrupting(open(os.devnull, "w")), 30.0)
    assert not CANCEL.is_set()
    events = list(read_events(tmp_path / "run"))
    ends = [e for e in events if e["event"] == "step_end"]
    assert {e["host"] for e in ends} == {"a", "b"}
    assert all(e["status"] == "failed" and "interrupted" in e["error"] for e in ends)
    assert events[-1]["event"] == "run_end" and events[-1]["status"] == "interrupted"
