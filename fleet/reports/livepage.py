"""The reports child's side of a run: report.html as a live page while the run goes on.

The runner writes one word a line to this process's standard input: ``live`` after a
batch starts or a step ends, ``write`` when the run is over. ``live`` pages are written at
most every ``INTERVAL`` seconds (a burst of step ends is one page, written within
``INTERVAL`` of the last of them), each replacing report.html whole. ``write`` writes every
report file, final. A page that takes long to make is made less often (5 times its making
time apart at least). End of input without ``write`` means the runner was killed: the final
reports are written from the journal then, so nobody watches a page that reloads forever
(unless a resumed attempt has begun meanwhile, whose own child now owns the page)."""
from __future__ import annotations

import os
import select
import sys
import time
from pathlib import Path

from fleet.reports.run import write_run_reports
from fleet.run.journal import JOURNAL, read_events

INTERVAL = 3.0           # seconds at least between two live pages
WATCH = 5.0              # seconds between looks at the journal when no poke comes


def _attempt(folder: Path) -> int:
    return max((int(e.get("attempt", 1)) for e in read_events(folder)), default=0)


def _live(folder: Path) -> None:
    try:
        write_run_reports(folder, live=True)
    except Exception as exc:         # a live page that fails must not cost the final reports
        print(f"live page not written: {type(exc).__name__}: {exc}", file=sys.stderr)


def _size(folder: Path) -> int:
    try:
        return (folder / JOURNAL).stat().st_size
    except OSError:
        return 0


def follow(folder: Path, fd: int = 0, interval: float = INTERVAL) -> None:
    """Serve the runner until ``write`` or the end of input. Between pokes the journal is
    watched too (a hold point waiting for the operator journals without a poke)."""
    mine = _attempt(folder)
    last, pending, buf, gap = float("-inf"), False, b"", interval
    seen = _size(folder)
    while True:
        wait = max(0.0, last + gap - time.monotonic()) if pending else WATCH
        if not select.select([fd], [], [], wait)[0]:
            pending = pending or _size(folder) != seen
        else:
            chunk = os.read(fd, 4096)
            if not chunk:                                      # the runner is gone
                if _attempt(folder) == mine:
                    write_run_reports(folder)
                return
            *lines, buf = (buf + chunk).split(b"\n")
            words = {line.strip() for line in lines}
            if b"write" in words:
                write_run_reports(folder)
                return
            pending = pending or b"live" in words
        if pending and time.monotonic() - last >= gap:
            began = time.monotonic()
            seen = _size(folder)
            _live(folder)
            last, pending = time.monotonic(), False
            # a page that takes long to make (hundreds of hosts) is made less often: the
            # reports child never takes more than a sixth of a core from the update
            gap = max(interval, 5 * (last - began))
