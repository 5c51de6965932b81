"""Live progress on a terminal with rich: the current wave and batch, hosts done / running /
failed, elapsed time, and what each running host is busy with or waiting on.

Events arrive from Nornir's worker threads; they only update state under a lock, and rich's
refresh thread draws that state four times a second. Wave starts and failures are also
printed as lines above the panel, so the scrollback keeps the story after the run.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from fleet.model import Plan, step_key
from fleet.plan.estimate import Estimate
from fleet.run.progress import Tally


@dataclass
class HostNow:
    action: str = ""
    command: str = ""
    kind: str = ""
    since: float = 0.0
    waiting: str = ""
    state: str = "queued"          # queued | running | done | failed


@dataclass
class State:
    wave: str = ""
    wave_no: int = 0
    waves: int = 0
    batch: int = 0
    batches: int = 0
    label: str = ""
    hosts: dict[str, HostNow] = field(default_factory=dict)
    last_index: dict[str, int] = field(default_factory=dict)
    failed_hosts: set[str] = field(default_factory=set)
    hosts_done: set[str] = field(default_factory=set)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def short(command: str, width: int = 60) -> str:
    """The part of a command line that says what a host waits on: program and arguments,
    without the Apigee root or sudo."""
    words = command.split()
    if words[:1] == ["sudo"]:
        words = words[1:]
    if words:
        words[0] = words[0].rsplit("/", 1)[-1]
    text = " ".join(words)
    return text if len(text) <= width else text[: width - 1] + "…"


def last_keys(plan: Plan) -> dict[str, str]:
    """host -> journal key of its last step in the plan: when that ends ok, the host is done."""
    out: dict[str, str] = {}
    for wi, wave in enumerate(plan.waves):
        for bi, batch in enumerate(wave.batches):
            for host in batch.hosts():
                out[host] = step_key(wi, bi, host, len(batch.chain(host)) - 1)
    return out


class RichProgress:
    """Context manager with ``on_event(kind, info)``, as fleet.run.progress expects."""

    def __init__(self, plan: Plan, console: Console | None = None, done: Iterable[str] = (),
                 est: Estimate | None = None) -> None:
        self.plan = plan
        self.console = console or Console()
        self.tally = Tally(plan, done, est)
        self.last_key = last_keys(plan)
        self.state = State(waves=len(plan.waves))
        # hosts whose last step an earlier attempt completed are done already
        self.state.hosts_done = {h for h, k in self.last_key.items() if k in self.tally.done}
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.live = Live(console=self.console, refresh_per_second=4, transient=False,
                         get_renderable=self.render)

    def __enter__(self) -> "RichProgress":
        self.t0 = time.monotonic()
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)          # type: ignore[arg-type]

    def _log(self, text: str, style: str = "") -> None:
        # A styled Text, not print(style=...): that style would also paint the live panel
        # that rich redraws in the same call.
        self.console.print(Text(f"[{_clock(time.monotonic() - self.t0)}] {text}", style=style),
                           highlight=False)

    def on_event(self, kind: str, info: dict[str, Any]) -> None:
        with self.lock:
            line = self._apply(kind, info)
        if line:
            self._log(*line)

    def _apply(self, kind: str, info: dict[str, Any]) -> tuple[str, str] | None:
        st, now = self.state, time.monotonic()
        self.tally.on_event(kind, info, now)
        if kind == "wave_start":
            st.wave, st.wave_no, st.batches = info["wave"], info["index"] + 1, info["batches"]
            st.waves = info.get("of", st.waves)
            st.batch, st.label, st.hosts = 0, "", {}
            return (f"wave {st.wave_no}/{st.waves} {st.wave} ({st.batches} batch(es))", "bold")
        if kind == "batch_start":
            st.batch, st.batches, st.label = info["batch"] + 1, info["of"], info.get("label", "")
            st.hosts = {h: HostNow() for h in info["hosts"]}
            batch = self.plan.wave(info["wave"]).batches[info["batch"]]
            st.last_index = {h: len(batch.chain(h)) - 1 for h in info["hosts"]}
            return None
        host = info.get("host", "")
        h = st.hosts.setdefault(host, HostNow())
        if kind == "step_start":
            h.action, h.command, h.kind = info["action"], info.get("command", ""), info.get("kind", "")
            h.since, h.waiting, h.state = now, "", "running"
        elif kind == "step_end":
            if "/undo" in str(info.get("key", "")):
                return None
            if info["status"] != "ok":
                h.state = "failed"
                st.failed_hosts.add(host)
                return (f"FAILED {host} {info['action']} ({st.wave} batch {st.batch}): "
                        f"{info.get('error', '')}", "bold red")
            if info.get("index") == st.last_index.get(host):
                h.state = "done"
            if info.get("key") == self.last_key.get(host):
                st.hosts_done.add(host)
        elif kind == "waiting":
            h.waiting = str(info.get("detail", ""))
        return None

    def render(self) -> Group:
        with self.lock:
            st = self.state
            elapsed = time.monotonic() - self.t0
            head = Text()
            head.append(f"{self.plan.target} update ", style="bold")
            head.append(f"· elapsed {_clock(elapsed)} · ")
            head.append(f"wave {st.wave_no}/{st.waves} {st.wave or '-'}", style="bold cyan")
            if st.batch:
                head.append(f" · batch {st.batch}/{st.batches} {st.label}")
            states = [h.state for h in st.hosts.values()]
            counts = Text(f"batch hosts: {states.count('done')} done · "
                          f"{states.count('running')} running · ")
            counts.append(f"{states.count('failed')} failed",
                          style="red" if "failed" in states else "")
            done, failed = len(st.hosts_done - st.failed_hosts), len(st.failed_hosts)
            counts.append(f"   run: {done} host(s) done · ")
            counts.append(f"{failed} failed", style="red" if failed else "")
            counts.append(f" · {len(self.last_key) - done - failed} to go")
            tally = self.tally
            bar = Table.grid(padding=(0, 1))
            bar.add_row(ProgressBar(total=max(tally.total, 1), completed=tally.steps_done, width=60),
                        Text(tally.text(time.monotonic())))
            table = Table(box=None, pad_edge=False, show_edge=False, expand=False)
            for col in ("host", "state", "step", "for", "busy with / waiting on"):
                table.add_column(col, no_wrap=True, overflow="ellipsis",
                                 max_width=70 if col.startswith("busy") else None)
            for name, h in sorted(st.hosts.items()):
                took = _clock(time.monotonic() - h.since) if h.state == "running" else ""
                what = h.waiting or (short(h.command) if h.state == "running" else "")
                style = {"failed": "red", "done": "green", "running": "yellow"}.get(h.state, "")
                table.add_row(name, Text(h.state, style=style), h.action, took, what)
        return Group(head, counts, bar, table)
