"""Emulated node commands: the context every handler gets, and the registry by name.

A handler is ``async def handler(ctx) -> int``; it writes output through ``ctx`` and returns
the exit status. Handlers run on the lab's event loop, so they may change state freely.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from lab.state import HostState, LabState

if TYPE_CHECKING:
    from lab.server import LabServer

# Durations in seconds at speed 1 (multiplied by the lab's speed).
DURATIONS = {"update": 12.0, "update_extra": 2.0, "bootstrap": 6.0, "setup_update": 3.0,
             "start": 2.0, "stop": 1.5, "db_upgrade": 8.0, "replication": 6.0, "setup": 15.0,
             "validate": 5.0, "yum": 1.0}
MIN_DURATION = 0.02   # even at speed 0 a stop/start is visible to concurrent commands


def frame(kind: bytes, payload: bytes) -> bytes:
    """The agent's wire format (see lab/agent.py)."""
    return kind + len(payload).to_bytes(4, "big") + payload


async def read_frame(reader: asyncio.StreamReader, first: bytes | None = None) -> tuple[bytes, bytes]:
    try:
        head = (first or b"") + await reader.readexactly(5 - len(first or b""))
        return head[:1], await reader.readexactly(int.from_bytes(head[1:5], "big"))
    except asyncio.IncompleteReadError:
        return b"", b""


class CommandError(Exception):
    """Ends a command with a message on stderr and a status."""

    def __init__(self, message: str, rc: int = 1) -> None:
        super().__init__(message)
        self.rc = rc


@dataclass
class Ctx:
    lab: "LabServer"
    host: HostState
    cmd: str
    argv: list[str]
    cwd: str
    tty: bool
    inbox: asyncio.Queue                 # input frames from the agent (see LabServer.handle_agent)
    writer: asyncio.StreamWriter

    @property
    def st(self) -> LabState:
        return self.lab.state

    def _send(self, kind: bytes, payload: bytes) -> None:
        self.writer.write(frame(kind, payload))

    def out(self, text: str = "", end: str = "\n") -> None:
        self._send(b"o", (text + end).encode())

    def err(self, text: str, end: str = "\n") -> None:
        self._send(b"e", (text + end).encode())

    async def readline(self, echo: bool = True) -> str | None:
        self._send(b"r", b"1" if echo else b"0")
        await self.writer.drain()
        kind, payload = await self.inbox.get()
        return payload.decode(errors="replace") if kind == b"l" else None

    async def readall(self) -> str:
        self._send(b"a", b"")
        await self.writer.drain()
        kind, payload = await self.inbox.get()
        return payload.decode(errors="replace") if kind == b"d" else ""

    async def sleep(self, what: str, factor: float = 1.0) -> None:
        await asyncio.sleep(max(DURATIONS[what] * factor * self.lab.speed, MIN_DURATION))

    def path(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else Path(self.cwd) / q

    def log(self, name: str, text: str) -> None:
        """Append to a log file under the host's Apigee root (as the real scripts do)."""
        d = self.host.root / "var" / "log" / "apigee-setup"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / name, "a") as f:
            f.write(text + "\n")


Handler = Callable[[Ctx], Awaitable[int]]
REGISTRY: dict[str, Handler] = {}


def command(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            REGISTRY[n] = fn
        return fn
    return deco


def load_all() -> dict[str, Handler]:
    from lab.commands import apigee, bootstrap, postgres, sudo, system, update  # noqa: F401
    return REGISTRY
