"""Live progress: a rich panel on a terminal, plain lines otherwise (or with NO_COLOR)."""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Iterable

from fleet.model import Plan, step_key
from fleet.plan.estimate import Estimate, clock, estimate


class Tally:
    """Steps done out of the plan's, and the time left by the estimate. Steps an earlier
    attempt completed count as done from the start (a resume ends at 100 %, not at "83/218").
    Time left: the current batch's longest remaining host chain (less what its running step
    has already taken) plus every later batch, scaled by the pace of this attempt (actual over
    estimated seconds of the steps it finished, once they weigh 5 % of the window), so an
    installation faster or slower than the model moves the figure with it. Called under the
    progress's lock."""

    def __init__(self, plan: Plan, done: Iterable[str] = (), est: Estimate | None = None) -> None:
        keys = {step_key(wi, bi, h, i) for wi, w in enumerate(plan.waves)
                for bi, b in enumerate(w.batches) for h in b.hosts()
                for i in range(len(b.chain(h)))}
        self.plan, self.total = plan, len(keys)
        self.done = set(done) & keys
        self.est = est or estimate(plan, done=self.done)
        flat = [(wi, bi, secs) for wi, spans in enumerate(self.est.batches)
                for bi, secs in enumerate(spans)]
        self.after: dict[tuple[int, int], float] = {}
        rest = 0.0
        for wi, bi, secs in reversed(flat):
            self.after[(wi, bi)] = rest
            rest += secs
        self.before_start = rest
        self.batch: tuple[int, int] | None = None
        self.left: dict[str, float] = {}        # host -> estimated seconds left in the batch
        self.since: dict[str, float] = {}       # host -> start of its running step (monotonic)
        self.real_done = self.est_done = 0.0     # seconds of the steps finished in this attempt
        self.finished = 0

    @property
    def steps_done(self) -> int:
        return len(self.done)

    def percent(self) -> int:
        return 100 * len(self.done) // max(self.total, 1)

    def on_event(self, kind: str, info: dict[str, Any], now: float) -> None:
        if kind == "batch_start":
            wi = [w.name for w in self.plan.waves].index(info["wave"])
            bi = info["batch"]
            batch = self.plan.waves[wi].batches[bi]
            self.batch, self.since = (wi, bi), {}
            self.left = {h: sum(self.est.step.get(step_key(wi, bi, h, i), 0.0)
                                for i in range(len(batch.chain(h)))) for h in info["hosts"]}
        elif kind == "step_start":
            self.since[info["host"]] = now
        elif kind == "step_end" and "/undo" not in str(info.get("key", "")):
            self.since.pop(info["host"], None)
            if info["status"] == "ok":
                self.done.add(info["key"])
                if "start" in info and "end" in info:
                    self.finished += 1
                    self.real_done += max(float(info["end"]) - float(info["start"]), 0.0)
                    self.est_done += self.est.step.get(info["key"], 0.0)
                self.left[info["host"]] = self.left.get(info["host"], 0.0) \
                    - self.est.step.get(info["key"], 0.0)

    def pace(self) -> float:
        """Actual over estimated seconds of the steps finished so far; 1 until they are five
        and weigh 5 % of the window, so quick checks at the start do not judge a long run."""
        if self.finished < 5 or self.est_done <= 0 or self.est_done < 0.05 * self.before_start:
            return 1.0
        return max(self.real_done / self.est_done, 1e-4)

    def seconds_left(self, now: float) -> float:
        pace = self.pace()
        if self.batch is None:
            return self.before_start * pace
        current = max((max(left - ((now - self.since[h]) / pace if h in self.since else 0.0), 0.0)
                       for h, left in self.left.items()), default=0.0)
        return (current + self.after[self.batch]) * pace

    def text(self, now: float) -> str:
        """``83/218 steps (38%) · about 1h 05m left``"""
        return (f"{self.steps_done}/{self.total} steps ({self.percent()}%) · "
                f"about {clock(self.seconds_left(now))} left")


class PlainProgress:
    """One line per event worth a line; safe to call from worker threads."""

    def __init__(self, plan: Plan, stream: Any = None, done: Iterable[str] = (),
                 est: Estimate | None = None) -> None:
        self.plan = plan
        self.tally = Tally(plan, done, est)
        self.stream = stream or sys.stdout
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.last_wait: dict[str, float] = {}

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def line(self, text: str) -> None:
        with self.lock:
            print(f"[{time.monotonic() - self.t0:7.1f}s] {text}", file=self.stream, flush=True)

    def on_event(self, kind: str, info: dict[str, Any]) -> None:
        with self.lock:
            self.tally.on_event(kind, info, time.monotonic())
        if kind == "wave_start":
            self.line(f"wave {info['index'] + 1}/{info['of']} {info['wave']} "
                      f"({info['batches']} batch(es)) · {self.tally.text(time.monotonic())}")
        elif kind == "batch_start":
            self.line(f"  {info['wave']} batch {info['batch'] + 1}/{info['of']} "
                      f"{info['label']}: {', '.join(info['hosts'])}")
        elif kind == "step_end":
            took = info["end"] - info["start"]
            mark = "ok" if info["status"] == "ok" else f"FAILED: {info.get('error', '')}"
            self.line(f"    {info['host']:<10} {info['action']:<18} {mark} ({took:.1f}s)")
        elif kind == "waiting":
            now = time.monotonic()
            key = f"{info['host']}/{info['action']}"
            if now - self.last_wait.get(key, 0) >= 5:
                self.last_wait[key] = now
                self.line(f"    {info['host']:<10} waiting: {info['detail']}")


def make_progress(plan: Plan, done: Iterable[str] = (), est: Estimate | None = None) -> Any:
    """``done``: journal keys an earlier attempt completed; ``est``: the run's estimate."""
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        try:
            from fleet.run.live import RichProgress
            return RichProgress(plan, done=done, est=est)
        except ImportError:
            pass
    return PlainProgress(plan, done=done, est=est)
