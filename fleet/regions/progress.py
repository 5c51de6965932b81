"""Live progress of a region run: rich on a terminal, plain lines otherwise.

Plain lines (no TTY, NO_COLOR, CI) keep logs greppable; polls of a long operation are
throttled so a 30-minute instance creation prints a line a minute, not a line a poll.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

from fleet.model import Step


class PlainProgress:
    def __init__(self, stream: TextIO | None = None, poll_every: float = 60.0) -> None:
        self.stream = stream or sys.stdout
        self.poll_every = poll_every
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def _line(self, text: str) -> None:
        with self._lock:
            self.stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self.stream.flush()

    def wave(self, name: str) -> None:
        self._line(f"== wave {name}")

    def start(self, key: str, step: Step) -> None:
        self._line(f"{step.host:<14} {step.action:<18} start  {step.command}")

    def poll(self, key: str, step: Step, text: str) -> None:
        now = time.monotonic()
        if now - self._last.get(key, 0.0) >= self.poll_every:
            self._last[key] = now
            self._line(f"{step.host:<14} {step.action:<18} wait   {text}")

    def note(self, key: str, step: Step, text: str) -> None:
        self._line(f"{step.host:<14} {step.action:<18} note   {text}")

    def end(self, key: str, step: Step, status: str, output: str, seconds: float) -> None:
        self._line(f"{step.host:<14} {step.action:<18} {status:<6} {output} ({seconds:.1f}s)")

    def close(self) -> None:
        pass


class RichProgress(PlainProgress):
    """A spinner per running step, finished steps printed above it."""

    def __init__(self) -> None:
        super().__init__(poll_every=0.0)
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console()
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=self.console, transient=True)
        self.progress.start()
        self.tasks: dict[str, Any] = {}

    def wave(self, name: str) -> None:
        self.console.print(f"[bold]== wave {name}[/bold]")

    def start(self, key: str, step: Step) -> None:
        with self._lock:
            self.tasks[key] = self.progress.add_task(f"{step.host} {step.action}", total=None)

    def poll(self, key: str, step: Step, text: str) -> None:
        with self._lock:
            if key in self.tasks:
                self.progress.update(self.tasks[key],
                                     description=f"{step.host} {step.action}: {text}")

    def note(self, key: str, step: Step, text: str) -> None:
        with self._lock:
            self.console.print(f"[yellow]note  [/yellow] {step.host:<14} {step.action:<18} "
                               f"{text}", highlight=False)

    def end(self, key: str, step: Step, status: str, output: str, seconds: float) -> None:
        colour = {"ok": "green", "failed": "red"}.get(status, "yellow")
        with self._lock:
            task = self.tasks.pop(key, None)
            if task is not None:
                self.progress.remove_task(task)
            self.console.print(f"[{colour}]{status:<6}[/{colour}] {step.host:<14} "
                               f"{step.action:<18} {output} ({seconds:.1f}s)", highlight=False)

    def close(self) -> None:
        self.progress.stop()


def make_progress(stream: TextIO | None = None) -> PlainProgress:
    out = stream or sys.stdout
    if out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb":
        return RichProgress()
    return PlainProgress(out)
