"""The run journal: one JSON line per event, written and fsynced as it happens.

A run's folder ``reports/RUN_ID/`` holds ``plan.json`` (the plan, secrets masked) and
``journal.jsonl``. Because every line is flushed and fsynced before the step it describes
goes on, a runner killed with SIGKILL leaves a journal from which ``--resume`` knows exactly
which steps completed. Each line goes to the file in one ``write`` on an O_APPEND
descriptor; a line torn by a kill (no newline at its end) is ended before the next attempt
appends, so it is ignored on its own and never merged with the next attempt's first line.

A clean-up step that undoes an earlier step (``UNDOES``: a drain that times out removes the
5672 block) makes that step count as not done again, so ``--resume`` re-does the sequence
block, drain, update, unblock instead of draining a broker that takes traffic.

Events (``event`` key): ``run_start`` (run_id, plan_digest, argv, resumed), ``wave_start``,
``step_start`` / ``step_end`` (key, wave, batch, host, index, action, command, kind,
status ok|failed|skipped, rc, output, vars, start, end), ``hold`` / ``hold_end`` (a hold
point reached and answered: fleet/run/holds.py), ``run_end`` (status ok|failed|held|
interrupted|error, ...). ``output`` is the step's last lines, bounded (fleet/run/hostlog.py
``tail``); the whole output is in ``hosts/HOST.log``. ``run_start`` carries the options that
rebuild the plan (selection, mode, holds) and the printed ``resume_command``.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from fleet.model import step_key  # noqa: F401  (re-exported: the journal's keys)

JOURNAL = "journal.jsonl"
PLAN = "plan.json"
HOSTS = "hosts.json"
# clean-up action -> the action it reverses (the latest earlier one in the host's chain)
UNDOES = {"qpid_unblock": "qpid_block", "router_unblock": "router_block",
          "mp_reachable": "mp_unreachable"}




def new_run_id(prefix: str = "") -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}{stamp}-{os.getpid() % 10000:04d}"


def read_events(folder: Path) -> Iterator[dict[str, Any]]:
    path = folder / JOURNAL
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:     # a torn line may end mid-character
        for line in fh:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue       # a line torn by a kill: the step it began did not complete


@dataclass
class Journal:
    folder: Path
    attempt: int = 1        # 2, 3, ... for the --resume attempts of the same run

    def __post_init__(self) -> None:
        self._lock = threading.Lock()          # order of lines in the file
        self._sync_lock = threading.Lock()     # one fsync at a time covers every line before it
        self._fh: int | None = None            # O_APPEND descriptor
        self._written = 0
        self._synced = 0

    @property
    def run_id(self) -> str:
        return self.folder.name

    @classmethod
    def create(cls, reports_dir: Path, run_id: str, plan_json: str) -> "Journal":
        folder = Path(reports_dir) / run_id
        folder.mkdir(parents=True, exist_ok=False)
        (folder / PLAN).write_text(plan_json, encoding="utf-8")
        return cls(folder)

    @classmethod
    def open(cls, reports_dir: Path, run_id: str) -> "Journal":
        folder = Path(reports_dir) / run_id
        if not (folder / JOURNAL).exists():
            raise FileNotFoundError(folder / JOURNAL)
        return cls(folder)

    def stored_plan(self) -> dict[str, Any]:
        return json.loads((self.folder / PLAN).read_text(encoding="utf-8"))

    def event(self, event: str, **fields: Any) -> None:
        """Append one line and return once it is on disk. Hosts' threads write at once;
        their fsyncs are grouped, so 200 hosts do not queue behind 400 single fsyncs."""
        record = {"event": event, "time": time.time(), "attempt": self.attempt, **fields}
        line = (json.dumps(record, default=str) + "\n").encode("utf-8")
        with self._lock:
            if self._fh is None:
                self._fh = _open_append(self.folder / JOURNAL)
            view = memoryview(line)
            while view:                        # one write for a line of any usual size
                view = view[os.write(self._fh, view):]
            self._written += 1
            mine, fh = self._written, self._fh
        with self._sync_lock:
            if self._synced >= mine:
                return                         # another thread's fsync already covered it
            upto = self._written
            os.fsync(fh)
            self._synced = upto

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                os.close(self._fh)
                self._fh = None

    def events(self) -> list[dict[str, Any]]:
        return list(read_events(self.folder))

    def completed(self, plan: Any = None) -> dict[str, dict[str, Any]]:
        """step key -> its successful step_end event (carries any stored host variables).
        With the plan, a step reversed by a later successful clean-up is not done."""
        done: dict[str, dict[str, Any]] = {}
        for e in read_events(self.folder):
            if e.get("event") == "step_end" and e.get("status") == "ok":
                done[e["key"]] = e
                if plan is not None and "/undo" in e["key"]:
                    reversed_key = undone_by(plan, e["key"])
                    if reversed_key:
                        done.pop(reversed_key, None)
        return done


def undone_by(plan: Any, undo_key: str) -> str | None:
    """The key of the step that the clean-up ``W/B/HOST/I/undoN`` reversed, if any."""
    try:
        key, n = undo_key.rsplit("/undo", 1)
        wi, bi, host, i = key.split("/")
        chain = plan.waves[int(wi)].batches[int(bi)].chain(host)
        undo = chain[int(i)].on_failure[int(n)]
    except (ValueError, IndexError):
        return None
    target = UNDOES.get(undo.action)
    for j in range(int(i) - 1, -1, -1):
        if chain[j].action == target:
            return step_key(int(wi), int(bi), host, j)
    return None


def _open_append(path: Path) -> int:
    """An O_APPEND descriptor; a torn last line (a kill mid-write) is ended first."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    size = os.fstat(fd).st_size
    if size:
        with path.open("rb") as fh:
            fh.seek(size - 1)
            if fh.read(1) != b"\n":
                os.write(fd, b"\n")
    return fd


def write_hosts_json(folder: Path, nodes: Iterable[Any]) -> None:
    """Record the data centre, machine and components of each host at run start, because
    plan.json names hosts only and the inventory may change before the report is read."""
    rows = [{"name": n.name, "dc": n.dc, "machine": n.machine,
             "components": sorted(n.components), "postgres": n.postgres} for n in nodes]
    (Path(folder) / HOSTS).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
