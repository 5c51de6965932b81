"""Run a region plan: each step checks its resource first, then calls, then waits.

The check-first rule is what makes a re-run after any failure safe: a step whose resource
already exists (or is already gone, for a delete) is recorded as done without a call.

Execution is Nornir's, as for Edge updates: the plan's hosts (regions, and ``global``) are
an in-memory Nornir inventory, a batch is one threaded ``nr.run`` over its hosts, each step
a sub-task (``region_step``) with a real ``Result``, and the journal and the live progress
are fed by a Processor (``RegionRecorder``) that writes step_start/step_end for every
sub-task before the next one begins.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from nornir.core import Nornir
from nornir.core.exceptions import NornirSubTaskError
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner

from fleet.model import PAUSE, Plan, Step
from fleet.regions import steps as actions
from fleet.regions.client import CANCEL, ApiCallError, Apis, OperationFailed, pause
from fleet.regions.draining import left_to_wait
from fleet.regions.progress import PlainProgress
from fleet.run.journal import Journal, step_key
from fleet.run.quiet import quiet_libraries

FAILURES = (ApiCallError, OperationFailed, actions.StepRefused, ValueError)


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
        self._idle = threading.Condition()
        self._running = 0                      # chains inside a batch, under _idle

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def run(self, argv: list[str] | None = None) -> bool:
        self.journal.event("run_start", run_id=self.journal.run_id, plan_digest=self.plan.digest(),
                           argv=list(argv or []), resumed=False, mode=self.plan.mode,
                           target=self.plan.target, endpoint=self.endpoint or "google")
        quiet_libraries()
        nr = Nornir(inventory=_inventory(self.plan))
        recorder = RegionRecorder(self)
        ok = True
        for wi, wave in enumerate(self.plan.waves):
            if not ok:
                self.count("not_run", sum(len(b.steps) for b in wave.batches))
                continue
            self.journal.event("wave_start", wave=wave.name, index=wi)
            self.progress.wave(wave.name)
            for bi, batch in enumerate(wave.batches):
                if not ok:
                    self.count("not_run", len(batch.steps))
                    continue
                names = set(batch.hosts())
                sub = (nr.filter(filter_func=lambda h, names=names: h.name in names)
                       .with_runner(ThreadedRunner(num_workers=max(1, len(names))))
                       .with_processors([recorder]))
                chains = {h: batch.chain(h) for h in names}
                with self._idle:                    # counted before any thread starts, so a
                    self._running = len(names)      # Ctrl-C waits for every chain of the batch
                try:
                    results = sub.run(task=self._chain, name=f"{wave.name} batch {bi + 1}",
                                      wi=wi, wave=wave.name, bi=bi, chains=chains,
                                      on_failed=True)
                except KeyboardInterrupt:
                    CANCEL.set()                    # running steps end as failed "interrupted"
                    self._wait_idle()
                    self.journal.event("run_end", status="interrupted", summary=dict(self.counts))
                    CANCEL.clear()
                    raise
                for r in results.values():         # a fault of ours, not a step's failure:
                    if r[0].exception is not None:  # its traceback, as before Nornir
                        raise r[0].exception
                ok = not results.failed
        status = "ok" if ok else "failed"
        self.journal.event("run_end", status=status, summary=dict(self.counts))
        return ok

    def _wait_idle(self) -> None:
        with self._idle:
            while self._running:
                self._idle.wait(0.2)

    def _chain(self, task: Task, wi: int, wave: str, bi: int,
               chains: dict[str, list[Step]]) -> Result:
        """One host's steps in order; the first failed one ends the chain (the other hosts'
        chains of the batch finish theirs) and the run after this batch."""
        host = task.host.name
        chain = chains[host]
        try:
            for index, step in enumerate(chain):
                record = {"key": step_key(wi, bi, host, index), "wave": wave, "wave_index": wi,
                          "batch": bi, "host": host, "index": index, "action": step.action,
                          "command": step.command, "kind": step.kind}
                try:
                    task.run(task=region_step, name=step.action, executor=self, step=step,
                             record=record)
                except NornirSubTaskError as exc:
                    self.count("not_run", len(chain) - index - 1)
                    return Result(host=task.host, failed=True, result=str(exc.result[0].exception))
            return Result(host=task.host, result=f"{len(chain)} steps")
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    # --- what a step does, for region_step ------------------------------------------------
    def perform(self, key: str, step: Step) -> tuple[bool, str, dict[str, Any]]:
        """(changed, output, what the journal keeps besides)."""
        if step.kind == PAUSE:
            changed, output = self._drain_wait(key, step)
            return changed, output, {}
        ctx = actions.Context(self.apis, step, lambda t: self.progress.poll(key, step, t),
                              lambda t: self._note(key, step, t))
        changed, output = actions.run(ctx)
        if step.action == "backend_remove" and changed:
            self.drain_started[step.host] = time.time()
            return changed, output, {"drain_started": self.drain_started[step.host]}
        return changed, output, {}

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


def region_step(task: Task, executor: Executor, step: Step, record: dict[str, Any]) -> Result:
    """One step as a Nornir sub-task: changed/unchanged, or failed with its reason."""
    try:
        changed, output, extra = executor.perform(record["key"], step)
    # A failed step may still have applied its call: it counts as changed, so a later
    # remove waits out the whole drain (fleet/regions/draining.py).
    except FAILURES as exc:
        return Result(host=task.host, failed=True, exception=exc, result="", changed=True)
    except Exception as exc:          # an unexpected client error still ends the step cleanly
        return Result(host=task.host, failed=True, result="", changed=True,
                      exception=RuntimeError(f"{type(exc).__name__}: {exc}"))
    return Result(host=task.host, result=output, changed=changed, extra=extra)


class RegionRecorder:
    """A Nornir Processor: journal and progress for every ``region_step`` sub-task."""

    def __init__(self, executor: Executor) -> None:
        self.x = executor
        self.started: dict[str, float] = {}

    def task_started(self, task: Task) -> None: ...
    def task_completed(self, task: Task, result: Any) -> None: ...
    def task_instance_started(self, task: Task, host: Host) -> None: ...
    def task_instance_completed(self, task: Task, host: Host, result: Any) -> None: ...

    def subtask_instance_started(self, task: Any, host: Host) -> None:
        record, step = task.params["record"], task.params["step"]
        start = self.started[record["key"]] = time.time()
        self.x.journal.event("step_start", start=start, **record)
        self.x.progress.start(record["key"], step)

    def subtask_instance_completed(self, task: Any, host: Host, result: Any) -> None:
        record, step = task.params["record"], task.params["step"]
        r: Result = result[0]
        start, end = self.started.pop(record["key"]), time.time()
        status = "failed" if r.failed else "ok"
        error = str(r.exception) if r.failed else None
        self.x.count("failed" if r.failed else ("ok" if r.changed else "unchanged"))
        self.x.journal.event("step_end", start=start, end=end, status=status,
                             output=(r.result or "")[:500], error=error, changed=r.changed,
                             **getattr(r, "extra", {}), **record)
        self.x.progress.end(record["key"], step, status, error or r.result or "", end - start)


def _inventory(plan: Plan) -> Inventory:
    """The plan's regions as Nornir hosts: nothing to connect to, the API client is shared."""
    names = dict.fromkeys(s.host for _, _, s in plan.iter_steps())
    return Inventory(hosts=Hosts({h: Host(name=h) for h in names}), groups=Groups(),
                     defaults=Defaults())
