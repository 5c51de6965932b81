"""The Nornir Processor that records every step: each step is a Nornir sub-task
(tasks/steps.py), and this processor journals its start and end, and hands both to the run's
event sink (live progress, host logs, the live report).

Recording lives here rather than in the task so that tasks/ stays usable by any Nornir user
without a journal, and the journal sees exactly what Nornir ran.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from fleet.run.hostlog import tail
from fleet.run.journal import Journal
from fleet.secrets import Secrets

EventSink = Callable[[str, dict[str, Any]], None]


class StepRecorder:
    """A Nornir Processor: step sub-tasks carry ``step``, ``key`` and ``record`` params."""

    def __init__(self, journal: Journal, secrets: Secrets, ctx: Any, on_event: EventSink) -> None:
        self.journal, self.secrets, self.ctx, self.on_event = journal, secrets, ctx, on_event
        self.started: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()

    # the processor protocol: whole tasks are the executor's business
    def task_started(self, task: Any) -> None: ...
    def task_completed(self, task: Any, result: Any) -> None: ...
    def task_instance_started(self, task: Any, host: Any) -> None: ...
    def task_instance_completed(self, task: Any, host: Any, result: Any) -> None: ...

    def subtask_instance_started(self, task: Any, host: Any) -> None:
        p = task.params
        if "step" not in p:
            return
        start = time.time()
        with self.lock:
            self.started[(host.name, p["key"])] = start
        if p.get("announce"):
            step = p["step"]
            info = dict(p["record"], key=p["key"], action=step.action, kind=step.kind,
                        command=self.secrets.mask(step.command), start=start)
            self.journal.event("step_start", **info)
            self.on_event("step_start", info)

    def subtask_instance_completed(self, task: Any, host: Any, result: Any) -> None:
        p = task.params
        if "step" not in p:
            return
        with self.lock:
            start = self.started.pop((host.name, p["key"]), time.time())
        if self.ctx.abandoned:                  # the run has ended and its reports are written
            return
        step, r = p["step"], result[0]
        exc = r.exception
        if r.failed:
            rc, output = getattr(exc, "rc", None), getattr(exc, "output", "")
            status, error = "failed", str(exc)
        else:
            rc, output, status, error = getattr(r, "rc", None), r.result or "", "ok", ""
        masked = self.secrets.mask(output)      # before cutting: a cut must not split a secret
        info = dict(p["record"], key=p["key"], action=step.action, kind=step.kind,
                    command=self.secrets.mask(step.command), status=status, rc=rc,
                    output=tail(masked), error=self.secrets.mask(error), start=start,
                    end=time.time(), vars=dict(self.ctx.host_vars.get(step.host, {})))
        self.journal.event("step_end", **info)
        # the whole output goes to the host's log (fleet/run/hostlog.py), the journal keeps a tail
        self.on_event("step_end", dict(info, full_output=masked))
