"""runner.py with one proposed fix applied in memory, for bench/efficiency.py --what-if.

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


FIXES = {"nodelay": nodelay}

if __name__ == "__main__":
    for name in sys.argv[1].split(","):
        FIXES[name]()
    from fleet.cli import main
    sys.exit(main(sys.argv[2:]))
