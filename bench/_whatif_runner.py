"""runner.py with one proposed fix applied in memory, for bench/efficiency.py --what-if.

Fixes (comma-separated): ``groupcommit`` (see its doc) and
``nodelay``: TCP_NODELAY on every SSH socket. tasks/steps.py `_connection` calls netmiko's
`is_alive()` before every step, which writes a NUL byte to the channel; the command written
right after it is then held by Nagle's algorithm until the server's delayed ACK (~40 ms on
Linux). The fix proposed for tasks/ (not edited here): check
`conn.remote_conn.transport.is_active()` instead of `conn.is_alive()`, or set TCP_NODELAY
once after connecting, as done below.

    python bench/_whatif_runner.py nodelay --config … --all --yes
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def nodelay() -> None:
    import tasks.steps as steps

    original = steps._connection

    def _connection(task, ctx):  # type: ignore[no-untyped-def]
        conn = original(task, ctx)
        transport = getattr(getattr(conn, "remote_conn", None), "transport", None)
        if transport is not None and not getattr(transport, "_bench_nodelay", False):
            transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport._bench_nodelay = True
        return conn

    steps._connection = _connection


def groupcommit() -> None:
    """fleet/run/journal.py `Journal.event` holds one lock across open/write/fsync, so the
    200 threads of a wide batch queue behind each other's fsync (2 per step). Group commit
    keeps the guarantee (an event is on disk before `event` returns) with one write+fsync
    for every line that queued up meanwhile."""
    import json
    import os
    import threading
    import time

    import fleet.run.journal as jmod

    def event(self, event: str, **fields):  # type: ignore[no-untyped-def]
        if not hasattr(self, "_gc"):
            with self._lock:
                if not hasattr(self, "_gc"):
                    self._gc = {"cond": threading.Condition(), "pending": [], "seq": 0, "done": 0,
                                "busy": False}
        g = self._gc
        record = {"event": event, "time": time.time(), "attempt": self.attempt, **fields}
        line = json.dumps(record, default=str) + "\n"
        with g["cond"]:
            g["pending"].append(line)
            g["seq"] += 1
            mine = g["seq"]
            while g["done"] < mine:
                if g["busy"]:
                    g["cond"].wait()
                    continue
                g["busy"] = True
                lines, g["pending"], upto = g["pending"], [], g["seq"]
                g["cond"].release()
                try:
                    with (self.folder / jmod.JOURNAL).open("a", encoding="utf-8") as fh:
                        fh.write("".join(lines))
                        fh.flush()
                        os.fsync(fh.fileno())
                finally:
                    g["cond"].acquire()
                    g["done"], g["busy"] = upto, False
                    g["cond"].notify_all()

    jmod.Journal.event = event


FIXES = {"nodelay": nodelay, "groupcommit": groupcommit}

if __name__ == "__main__":
    for name in sys.argv[1].split(","):
        FIXES[name]()
    from fleet.cli import main
    sys.exit(main(sys.argv[2:]))
