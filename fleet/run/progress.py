"""Live progress: a rich panel on a terminal, plain lines otherwise (or with NO_COLOR)."""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from fleet.model import Plan


class PlainProgress:
    """One line per event worth a line; safe to call from worker threads."""

    def __init__(self, plan: Plan, stream: Any = None) -> None:
        self.plan = plan
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
        if kind == "wave_start":
            self.line(f"wave {info['index'] + 1}/{info['of']} {info['wave']} "
                      f"({info['batches']} batch(es))")
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


def make_progress(plan: Plan) -> Any:
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        try:
            from fleet.run.live import RichProgress
            return RichProgress(plan)
        except ImportError:
            pass
    return PlainProgress(plan)
