"""The whole output of every step, one file per host: ``reports/RUN_ID/hosts/HOST.log``.

The journal keeps only a bounded tail of each step's output (``tail``), so that it stays
small enough to be read whole by ``--resume`` and the reports; the host logs keep all of it,
appended across attempts, each step between a start line (time, wave, batch, the command as
in the plan) and an end line (time, exit status, outcome). Secrets are masked on the way in
(``Secrets.mask``). The logs are fed by the same events as the live progress.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from fleet.secrets import Secrets

HOSTS_DIR = "hosts"
TAIL_LINES = 20          # what the journal keeps of a step's output
TAIL_CHARS = 4000        # ... and at most this much of it (a line can be megabytes)
QUOTE_LINES = 10         # what the failure summary quotes


def tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last lines of an output, bounded in lines and in characters."""
    out = "\n".join(text.splitlines()[-lines:])
    return out if len(out) <= chars else "…" + out[-(chars - 1):]


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def log_path(folder: Path, host: str) -> Path:
    return Path(folder) / HOSTS_DIR / f"{host}.log"


class HostLogs:
    """An event sink (``on_event(kind, info)``) writing each host's log; called from the
    hosts' worker threads (one thread per host at a time, a lock per file all the same)."""

    def __init__(self, folder: Path, run_id: str, attempt: int, secrets: Secrets) -> None:
        self.folder = Path(folder)
        self.run_id, self.attempt, self.secrets = run_id, attempt, secrets
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.failures: dict[str, dict[str, Any]] = {}   # host -> its failed step (full output)

    def path(self, host: str) -> Path:
        return log_path(self.folder, host)

    def _write(self, host: str, text: str) -> None:
        with self._guard:
            lock = self._locks.get(host)
            fresh = lock is None
            if fresh:
                lock = self._locks[host] = threading.Lock()
        with lock:                                       # type: ignore[union-attr]
            path = self.path(host)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                if fresh:
                    fh.write(f"##### run {self.run_id} attempt {self.attempt}\n")
                fh.write(text)

    def _head(self, info: dict[str, Any], start: float) -> str:
        where = f"{info.get('wave', '')} batch {int(info.get('batch', 0)) + 1}"
        return (f"===== {_stamp(start)} START {info.get('action', '')} ({where}, step "
                f"{info.get('key', '')}, {info.get('kind', '')})\n"
                f"$ {self.secrets.mask(str(info.get('command', '')))}\n")

    def on_event(self, kind: str, info: dict[str, Any]) -> None:
        host = str(info.get("host", ""))
        if not host:
            return
        if kind == "step_start":
            self._write(host, self._head(info, float(info.get("start") or time.time())))
        elif kind == "step_end":
            output = self.secrets.mask(str(info.get("full_output", info.get("output")) or ""))
            undo = "/undo" in str(info.get("key", ""))
            text = self._head(info, float(info.get("start") or time.time())) if undo else ""
            if output:
                text += output if output.endswith("\n") else output + "\n"
            end = float(info.get("end") or time.time())
            took = end - float(info.get("start") or end)
            rc = info.get("rc")
            status = "ok" if info.get("status") == "ok" else \
                f"FAILED: {self.secrets.mask(str(info.get('error') or ''))}"
            text += (f"===== {_stamp(end)} END {info.get('action', '')}: exit status "
                     f"{'-' if rc is None else rc}, {status} ({took:.1f}s)\n")
            self._write(host, text)
            if info.get("status") != "ok" and not undo:
                self.failures[host] = {"action": info.get("action"), "output": output,
                                       "error": info.get("error"), "rc": info.get("rc")}

    def quote(self, host: str, lines: int = QUOTE_LINES) -> list[str]:
        """The failed step's last output lines (when its command failed: a check that ran
        well and judged the output says why itself) and where the whole of it is."""
        f = self.failures.get(host)
        if not f:
            return []
        # a check whose command succeeded failed on what it read: its message says what
        quoted = f["output"].splitlines()[-lines:] if f["rc"] != 0 else []
        out = [f"      | {ln}" for ln in quoted]
        if out:
            out.insert(0, f"    last {len(out)} line(s) of {f['action']}:")
        return out + [f"    whole output: {self.path(host)}"]
