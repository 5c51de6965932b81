"""Run a region plan: each step checks its resource first, then calls, then waits.

The check-first rule is what makes a re-run after any failure safe: a step whose resource
already exists (or is already gone, for a delete) is recorded as done without a call.
Every step writes step_start/step_end to the run journal before the next one begins.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from fleet.model import PAUSE, Plan, Step
from fleet.regions import steps as actions
from fleet.regions.draining import left_to_wait
from fleet.regions.client import CANCEL, ApiCallError, Apis, OperationFailed, pause
from fleet.regions.progress import PlainProgress
from fleet.run.journal import Journal, step_key


class Executor:
    def __init__(self, apis: Apis, plan: Plan, journal: Journal, progress: PlainProgress,
                 sleep: Callable[[float], None] = pause,
                 drain_history: dict[str, float] | None = None, endpoint: str = "") -> None:
        self.apis, self.plan, self.journal, self.progress = apis, plan, journal, progress
        self.sleep = sleep
        self.endpoint = endpoint
        # region -> when its backend left the load balancer (earlier runs, then this one)
        self.drain_started: dict[str, float] = dict(drain_history or {})
        self.counts = {"ok": 0, "unchanged": 0, "failed": 0, "not_run": 0}
        self._lock = threading.Lock()          # host chains of a batch count concurrently

    def _count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def run(self, argv: list[str] | None = None) -> bool:
        self.journal.event("run_start", run_id=self.journal.run_id, plan_digest=self.plan.digest(),
                           argv=list(argv or []), resumed=False, mode=self.plan.mode,
                           target=self.plan.target, endpoint=self.endpoint or "google")
        ok = True
        for wi, wave in enumerate(self.plan.waves):
            if not ok:
                self._count("not_run", sum(len(b.steps) for b in wave.batches))
                continue
            self.journal.event("wave_start", wave=wave.name, index=wi)
            self.progress.wave(wave.name)
            for bi, batch in enumerate(wave.batches):
                if not ok:
                    self._count("not_run", len(batch.steps))
                    continue
                hosts = batch.hosts()
                pool = ThreadPoolExecutor(max_workers=max(1, len(hosts)))
                try:
                    futures = [pool.submit(self._chain, wi, wave.name, bi, h, batch.chain(h))
                               for h in hosts]
                    ok = all([f.result() for f in futures])
                except KeyboardInterrupt:
                    CANCEL.set()                    # running steps end as failed "interrupted"
                    pool.shutdown(wait=True)
                    self.journal.event("run_end", status="interrupted", summary=dict(self.counts))
                    CANCEL.clear()
                    raise
                pool.shutdown(wait=True)
        status = "ok" if ok else "failed"
        self.journal.event("run_end", status=status, summary=dict(self.counts))
        return ok

    def _chain(self, wi: int, wave: str, bi: int, host: str, chain: list[Step]) -> bool:
        for index, step in enumerate(chain):
            if not self._step(wi, wave, bi, host, index, step):
                self._count("not_run", len(chain) - index - 1)
                return False
        return True

    def _step(self, wi: int, wave: str, bi: int, host: str, index: int, step: Step) -> bool:
        key = step_key(wi, bi, host, index)
        base: dict[str, Any] = {"key": key, "wave": wave, "wave_index": wi, "batch": bi,
                                "host": host,
                                "index": index, "action": step.action, "command": step.command,
                                "kind": step.kind}
        start = time.time()
        self.journal.event("step_start", start=start, **base)
        self.progress.start(key, step)
        error, changed = None, True
        extra: dict[str, Any] = {}
        try:
            if step.kind == PAUSE:
                changed, output = self._drain_wait(key, step)
            else:
                ctx = actions.Context(self.apis, step, lambda t: self.progress.poll(key, step, t),
                                      lambda t: self._note(key, step, t))
                changed, output = actions.run(ctx)
                if step.action == "backend_remove" and changed:
                    extra["drain_started"] = self.drain_started[host] = time.time()
            status = "ok"
        except (ApiCallError, OperationFailed, actions.StepRefused, ValueError) as exc:
            status, output, error = "failed", "", str(exc)
        except Exception as exc:          # an unexpected client error still ends the step cleanly
            status, output, error = "failed", "", f"{type(exc).__name__}: {exc}"
        end = time.time()
        self._count("failed" if error else ("ok" if changed else "unchanged"))
        self.journal.event("step_end", start=start, end=end, status=status,
                           output=output[:500], error=error, changed=changed, **extra, **base)
        self.progress.end(key, step, status, error or output, end - start)
        return error is None

    def _note(self, key: str, step: Step, text: str) -> None:
        """A retry or a wait for the org lock: always shown, and kept in the journal."""
        self.journal.event("step_note", key=key, host=step.host, action=step.action, text=text)
        self.progress.note(key, step, text)

    def _drain_wait(self, key: str, step: Step) -> tuple[bool, str]:
        """Wait out connection draining from when the backends left, in this run or in an
        earlier, interrupted one: nothing is deleted while requests may still drain."""
        regions = [s.host for _, _, s in self.plan.iter_steps() if s.action == "backend_remove"]
        left, why = left_to_wait(step.timeout, regions, self.drain_started)
        self.progress.note(key, step, why)
        if left <= 0:
            return False, why
        self._pause(key, step, left)
        return True, f"{why}; waited {left:.1f}s"

    def _pause(self, key: str, step: Step, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.progress.poll(key, step, f"{left:.0f}s left")
            self.sleep(min(left, 5.0))
