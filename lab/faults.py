"""Faults on demand, per host, for the runner's failure tests.

``refuse``      the host's SSH port refuses connections (listener closed) until cleared;
``drop``        the SSH connections of the host are closed while a matching command runs
                (the command does not take effect); fires once;
``fail-once``   the next matching command exits 1 with a message; ``fail-always`` every one;
``fail-verbose`` every matching command prints 40 lines (one of them, as yum does, the
                repository URL with its user and password) and exits 1;
``hang``        a matching command does not go on until the fault is cleared (or its caller
                goes away): a detached job stuck until the operator fixes the cause;
``undrainable`` the host's Qpid broker keeps messages: its queue never drains.
``match`` is a substring of the emulated command line (``NAME ARG...``, e.g. ``update.sh -c qpid``);
without it every emulated command on the host matches.
"""
from __future__ import annotations

from dataclasses import dataclass

KINDS = ("refuse", "drop", "fail-once", "fail-always", "fail-verbose", "hang", "undrainable")
COMMAND_KINDS = ("drop", "fail-once", "fail-always", "fail-verbose", "hang")


@dataclass
class Fault:
    host: str
    kind: str
    match: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"host": self.host, "kind": self.kind, "match": self.match}


class Faults:
    """The active faults; consulted by the SSH servers, the agent relay and the ticker."""

    def __init__(self) -> None:
        self.items: list[Fault] = []

    def add(self, host: str, kind: str, match: str | None = None) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        f = Fault(host, kind, match)
        self.items.append(f)
        return f

    def clear(self, host: str | None = None) -> list[Fault]:
        gone = [f for f in self.items if host is None or f.host == host]
        self.items = [f for f in self.items if f not in gone]
        return gone

    def has(self, host: str, kind: str) -> bool:
        return any(f.host == host and f.kind == kind for f in self.items)

    def for_command(self, host: str, line: str) -> Fault | None:
        """The fault that applies to this command line; one-shot faults are consumed."""
        for f in self.items:
            if f.host == host and f.kind in COMMAND_KINDS and (not f.match or f.match in line):
                if f.kind in ("drop", "fail-once"):
                    self.items.remove(f)
                return f
        return None
