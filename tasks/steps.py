"""The Nornir tasks that carry out one host's chain of steps in a batch.

``run_chain`` runs each step as a Nornir sub-task (``step_task``: a real ``Result`` with the
output, ``rc``, ``changed``; a failure is the ``StepFailed`` exception of a failed Result).
A failed step stops the chain, runs the step's own clean-up (``on_failure``) and marks the
host failed so the batch is the last. Recording (journal, progress, host logs) is not done
here but by a Nornir Processor that sees every sub-task (fleet/run/recorder.py).
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import Result, Task

from fleet.facts import judge
from fleet.model import CHECK, HTTP, PAUSE, POLL, Prompt, Step
from fleet.plan.checks import PREDICATES, readable
from fleet.secrets import Secrets
from tasks.http import ApiError, call
from tasks.connect import ConnectFailed, connect, cut
from tasks.detach import (detachable, follow_line, input_marker, job_for, log_text, next_move,
                          parse_state, start_line, state_line)
from tasks.shell import ConnectionLost, ShellResult, StepTimeout, SudoRefused, run_shell

VAR = re.compile(r"\$\{(\w+)\}")


@dataclass
class ChainContext:
    """What every host's chain shares; mutable parts are guarded by the journal's lock
    or keyed by host (one thread per host)."""

    run_id: str                                      # names the detached jobs on the nodes
    secrets: Secrets
    connect_attempts: int
    backoff: float
    host_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    on_event: Callable[[str, dict[str, Any]], None] = lambda kind, info: None
    stop: threading.Event = field(default_factory=threading.Event)   # Ctrl-C: no new step
    abandoned: bool = False                          # second Ctrl-C: record and undo nothing
    running: int = 0                                 # chains inside run_chain, under `idle`
    idle: threading.Condition = field(default_factory=threading.Condition)

    def wait_idle(self, poll: float = 0.2) -> None:
        """Until no chain is running a step (a second Ctrl-C interrupts the wait)."""
        with self.idle:
            while self.running:
                self.idle.wait(poll)


class StepFailed(Exception):
    def __init__(self, message: str, rc: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.rc, self.output = rc, output


class SudoFailed(StepFailed):
    """sudo refused or could not be answered: nothing ran, so no job goes on either."""


def _connection(task: Task, ctx: ChainContext) -> Any:
    try:
        return connect(task, ctx.connect_attempts, ctx.backoff)
    except ConnectFailed as exc:       # every connection error ends the step with its reason
        raise StepFailed(str(exc)) from None


def _shell(task: Task, ctx: ChainContext, step: Step, command: str) -> ShellResult:
    conn = _connection(task, ctx)
    try:
        return run_shell(conn, step, command, ctx.secrets.values)
    except StepTimeout as exc:
        cut(task.host)            # the channel still runs the command: start afresh next time
        raise StepFailed(f"timeout: {exc}") from None
    except ConnectionLost as exc:
        cut(task.host)
        raise StepFailed(f"connection lost: {exc}") from None
    except SudoRefused as exc:
        cut(task.host)            # sudo waits at its prompt: hang up, nothing ran
        raise SudoFailed(f"sudo: {exc}") from None


def _detached(task: Task, ctx: ChainContext, step: Step, command: str, key: str) -> ShellResult:
    """A long command as a job of its own on the node (tasks/detach.py): started unless
    an earlier attempt of this run already started it, then followed to its end."""
    job = job_for(ctx.run_id, key, step.action,
                  str(task.host.get("apigee_root", None) or "/opt/apigee"))
    deadline = time.monotonic() + step.timeout
    try:
        probe = Step(step.host, step.action, state_line(job), CHECK, timeout=60)
        found = parse_state(_shell(task, ctx, probe, probe.command).output)
        note = ""
        if next_move(found) == "start":
            secrets = [name for _, name in step.inputs] + [p.secret for p in step.prompts]
            begin = Step(step.host, step.action, command, CHECK, timeout=min(step.timeout, 300),
                         prompts=tuple(Prompt(input_marker(i), name)
                                       for i, name in enumerate(secrets, 1)))
            line = start_line(job, command, tuple(v for v, _ in step.inputs), len(step.prompts))
            started = parse_state(_shell(task, ctx, begin, line).output)
            if started.state != "started":
                raise StepFailed(f"the command did not start as job {job.name}")
        else:
            note = f"re-attached to job {job.name} ({found.state} when this attempt began)\n"
            ctx.on_event("waiting", {"host": task.host.name, "action": step.action,
                                     "detail": f"re-attached to {job.name}"})
        left = max(deadline - time.monotonic(), 1.0)
        watch = Step(step.host, step.action, follow_line(job), CHECK, timeout=left)
        res = _shell(task, ctx, watch, watch.command)
    except SudoFailed:
        raise
    except StepFailed as exc:
        raise StepFailed(f"{exc} (the command goes on as job {job.name}, log {job.path('log')}; "
                         "--resume waits for it)", exc.rc, exc.output) from None
    end = parse_state(res.output)
    output = note + log_text(res.output)
    if end.state != "done" or end.number is None:
        raise StepFailed(f"job {job.name} ended without an exit status (killed?)", None, output)
    return ShellResult(end.number, output)


def _check_expect(step: Step, res: ShellResult) -> None:
    if res.rc != 0:
        raise StepFailed(f"exit status {res.rc}", res.rc, res.output)
    for rx in step.expect:
        if not re.search(rx, res.output):
            raise StepFailed(f"not in the output: {readable(rx)}", res.rc, res.output)
    if step.fact:
        try:
            ok, detail = judge(step.fact, res.output, step.fact_args)
        except ValueError as exc:
            raise StepFailed(f"cannot read the output: {exc}", res.rc, res.output) from None
        if not ok:
            raise StepFailed(detail, res.rc, res.output)


def _poll(task: Task, ctx: ChainContext, step: Step, command: str) -> ShellResult:
    predicate = PREDICATES[step.until or ""]
    deadline = time.monotonic() + step.timeout
    probe = Step(step.host, step.action, step.command, CHECK, timeout=min(step.timeout, 60))
    while True:
        res = _shell(task, ctx, probe, command)
        _check_expect(probe, res)
        try:
            done, detail = predicate(res.output)
        except ValueError as exc:
            raise StepFailed(f"cannot read the output: {exc}", res.rc, res.output) from None
        if done:
            return ShellResult(res.rc, res.output)
        ctx.on_event("waiting", {"host": task.host.name, "action": step.action, "detail": detail})
        if time.monotonic() + step.interval > deadline:
            raise StepFailed(f"not done within {step.timeout:g}s: {detail}", res.rc, res.output)
        if ctx.stop.wait(step.interval):
            raise StepFailed(f"interrupted while waiting: {detail}", res.rc, res.output)


def execute(task: Task, ctx: ChainContext, step: Step, key: str = "") -> tuple[int | None, str]:
    """Run one step; (exit status, output) on success, StepFailed otherwise."""
    host_vars = ctx.host_vars.setdefault(task.host.name, {})

    def subst(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            if m.group(1) not in host_vars:
                raise StepFailed(f"${{{m.group(1)}}} is not known yet (its step did not run)")
            return host_vars[m.group(1)]
        return VAR.sub(one, text)

    if step.kind == PAUSE:
        ctx.on_event("waiting", {"host": task.host.name, "action": step.action,
                                 "detail": step.command})
        if ctx.stop.wait(step.timeout):
            raise StepFailed("interrupted during the pause")
        return 0, ""
    if step.kind == HTTP and step.request:
        try:
            api = call(step.request, subst(step.request.url), ctx.secrets["admin_email"],
                       ctx.secrets["admin_password"], step.timeout)
        except ApiError as exc:
            raise StepFailed(str(exc)) from None
        host_vars.update(api.stored)
        return api.status, api.output
    command = subst(step.command)
    if step.kind == POLL:
        res = _poll(task, ctx, step, command)
    elif key and detachable(step):
        res = _detached(task, ctx, step, command, key)
        _check_expect(step, res)
    else:
        res = _shell(task, ctx, step, command)
        _check_expect(step, res)
    return res.rc, res.output


READ_ONLY = (CHECK, POLL, PAUSE)


def step_task(task: Task, ctx: ChainContext, step: Step, key: str, record: dict[str, Any],
              announce: bool = False, job: bool = True) -> Result:
    """One step as a Nornir sub-task. ``key``/``record``/``announce`` are for the recorder
    (a clean-up step is recorded at its end only); ``job``: a long command may run as a
    detached job keyed by ``key`` (never a clean-up)."""
    rc, output = execute(task, ctx, step, key if job else "")
    return Result(host=task.host, result=output, rc=rc, changed=step.kind not in READ_ONLY)


def run_chain(task: Task, ctx: ChainContext, base: dict[str, Any],
              chain: list[tuple[str, int, Step]]) -> Result:
    """The host's steps of one batch, ``(key, index, step)`` in order."""
    with ctx.idle:
        ctx.running += 1
    try:
        return _chain(task, ctx, base, chain)
    finally:
        with ctx.idle:
            ctx.running -= 1
            ctx.idle.notify_all()


def _failed(task: Task, action: str, message: str) -> Result:
    return Result(host=task.host, failed=True, result=f"{action}: {message}", action=action,
                  message=message)


def _chain(task: Task, ctx: ChainContext, base: dict[str, Any],
           chain: list[tuple[str, int, Step]]) -> Result:
    for key, index, step in chain:
        if ctx.stop.is_set():                    # interrupted: the steps in flight finish, no more
            return _failed(task, step.action, "not started (interrupted)")
        record = dict(base, index=index)
        failure: BaseException | None = None
        try:
            task.run(task=step_task, name=step.action, ctx=ctx, step=step, key=key,
                     record=record, announce=True)
        except NornirSubTaskError as exc:
            failure = exc.result[0].exception
        if ctx.abandoned:                        # the run has ended and its reports are written
            return _failed(task, step.action, "abandoned")
        if failure is None:
            continue
        for j, undo in enumerate(step.on_failure):
            try:
                task.run(task=step_task, name=undo.action, ctx=ctx, step=undo,
                         key=f"{key}/undo{j}", record=record, job=False)
            except NornirSubTaskError:
                pass                             # recorded as failed; the step failed anyway
        return _failed(task, step.action, str(failure))
    return Result(host=task.host, result="ok")
