"""SIGTERM (systemd, CI, `kill`) and SIGHUP (a dropped SSH session) stop a run the way
Ctrl-C does: no new step starts, the commands already running on nodes are let finish and
journaled, the reports are written. They arrive as a KeyboardInterrupt subclass, so every
Ctrl-C path handles them; the exit status is 128 + the signal number (129, 130, 143)."""
from __future__ import annotations

import os
import signal
import sys
from typing import Any

HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal other than Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _handler(signum: int, frame: Any) -> None:
    if signum == signal.SIGHUP and sys.stdout.isatty():
        _detach_terminal()
    raise Stopped(signum)


def _detach_terminal() -> None:
    """The terminal hung up: writing to it would fail (EIO) in the middle of the orderly
    stop, so the rest of the run's output goes nowhere (the journal and reports keep it)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def install() -> None:
    for sig in HANDLED:
        signal.signal(sig, _handler)


def name(exc: BaseException) -> str:
    return signal.Signals(getattr(exc, "signum", signal.SIGINT)).name


def exit_status(exc: BaseException) -> int:
    return 128 + int(getattr(exc, "signum", signal.SIGINT))
