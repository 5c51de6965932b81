"""Shared by the bench scripts: machine facts, RESULTS.md, runner runs, journals, other
load on the machine. Labs are in _lab.py, the lower bound of a run's wall time in _ideal.py.

Every script is run as ``python bench/NAME.py`` from the repository root (or anywhere: the
root is put on ``sys.path`` here).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "RESULTS.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LOAD_AT_START = os.getloadavg()   # other work on the machine skews every figure: recorded

# update.sh at speed 1 lasts DURATIONS["update"] seconds in the lab; this speed gives 2 s.
UPDATE_SECONDS = 2.0


# --- machine and results ---------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPU(s) ({cpu}), {mem} RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def table(headers: list[str], rows: Iterable[Iterable[Any]]) -> str:
    rows = [[str(c) for c in r] for r in rows]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def tree_state() -> str:
    """HEAD and whether runner files differ from it (others edit the same work tree)."""
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "fleet", "tasks", "runner.py", "lab"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return git_rev() + (" + uncommitted changes in fleet/tasks/lab" if dirty else "")


def append_results(title: str, body: str, command: str) -> None:
    """Append one measured section (title, machine, date, command, body) to RESULTS.md."""
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = " / ".join(f"{x:.2f}" for x in LOAD_AT_START)
    text = (f"\n## {title}\n\n{stamp} · code at start: {TREE_AT_START}, at end: {tree_state()} · `{command}`  \n"
            f"Machine: {machine()}; load average at start {load}\n\n{body.rstrip()}\n")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in `bench/` "
                           "(see bench/README.md); newest last.\n")
    with open(RESULTS, "a") as f:
        f.write(text)
    print(f"\nappended to {RESULTS.relative_to(ROOT)}")


def command_line() -> str:
    return "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])


# --- runs ------------------------------------------------------------------------------
@dataclass
class RunResult:
    rc: int
    wall: float                 # seconds, process start to exit
    max_rss_mb: float           # the runner process's peak resident memory
    folder: Path | None         # reports/RUN_ID
    output: str
    timed_out: bool = False
    t_exec: float = 0.0         # epoch seconds: process started
    t_exit: float = 0.0         # epoch seconds: process reaped
    cpu_s: float = 0.0          # the runner process's own CPU time (user + system)


def run_runner(config: Path, reports: Path, extra: list[str] | None = None,
               timeout: float = 3600, log: Path | None = None) -> RunResult:
    """``runner.py --config CONFIG --all --yes --reports DIR``; wall time and peak RSS of
    exactly that child (os.wait4)."""
    reports.mkdir(parents=True, exist_ok=True)
    before = set(reports.iterdir())
    cmd = [sys.executable, str(ROOT / "runner.py"), "--config", str(config), "--all", "--yes",
           "--reports", str(reports)] + (extra or [])
    log = log or reports / "runner-output.txt"
    env = dict(os.environ, COLUMNS="160")
    t0 = time.monotonic()
    t_exec = time.time()
    with open(log, "w") as out:
        p = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, env=env)
        timed_out = False
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                timed_out = True
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
    wall = time.monotonic() - t0
    t_exit = time.time()
    p.returncode = os.waitstatus_to_exitcode(status)
    new = sorted(set(reports.iterdir()) - before)
    folder = next((d for d in new if (d / "journal.jsonl").exists()), None)
    return RunResult(p.returncode, wall, ru.ru_maxrss / 1024, folder, log.read_text(errors="replace"),
                     timed_out, t_exec, t_exit, ru.ru_utime + ru.ru_stime)


def plan_of(config: Path, out: Path, extra: list[str] | None = None) -> dict[str, Any]:
    """The plan exactly as the runner would run it (``--plan-out``), as JSON."""
    subprocess.run([sys.executable, str(ROOT / "runner.py"), "--config", str(config),
                    "--plan-out", str(out)] + (extra or []), cwd=ROOT, check=True,
                   capture_output=True, text=True)
    return json.loads(out.read_text())


# --- journal ---------------------------------------------------------------------------
@dataclass
class StepTime:
    key: str
    wave: str
    batch: int
    host: str
    index: int
    action: str
    kind: str
    start: float
    end: float
    status: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


def journal_steps(folder: Path) -> list[StepTime]:
    out = []
    for line in (folder / "journal.jsonl").read_text().splitlines():
        e = json.loads(line)
        if e.get("event") == "step_end" and "/undo" not in e["key"]:
            out.append(StepTime(e["key"], e["wave"], int(e["batch"]), e["host"], int(e["index"]),
                                e["action"], e["kind"], float(e["start"]), float(e["end"]),
                                e["status"]))
    return out


def journal_span(folder: Path) -> tuple[float, float]:
    """Time of the first step's start and the last step's end."""
    steps = journal_steps(folder)
    return min(s.start for s in steps), max(s.end for s in steps)


def journal_events(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (folder / "journal.jsonl").read_text().splitlines()]


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


# --- other work on the machine ---------------------------------------------------------
def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    v = [int(x) for x in f]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# CPU of our processes that we do not reap ourselves: a lab daemon started by `python -m lab
# start` is not our child (LabRun.stop adds its CPU here before stopping it).
DETACHED_CPU = [0.0]


def process_cpu(pid: int) -> float:
    """CPU seconds of a live process and of the children it has reaped, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _our_seconds() -> float:
    import resource
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime + DETACHED_CPU[0]


class Foreign:
    """CPU used by processes that are not ours (nor our reaped children: runner, report
    writer; nor the lab daemon and its shells, see DETACHED_CPU) while a measurement runs, in
    cores: other sessions' work skews every figure. Use around lab start .. lab stop."""

    def __enter__(self) -> "Foreign":
        self.t, self.busy, self.ours = time.monotonic(), _busy_seconds(), _our_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(1e-6, time.monotonic() - self.t)
        other = (_busy_seconds() - self.busy) - (_our_seconds() - self.ours)
        self.cores = max(0.0, other / wall)


QUIET_WAIT = {"limit": 180.0}


def add_run_args(p: Any) -> None:
    """Options every benchmark script takes."""
    p.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--quiet-wait", type=float, default=30.0, help="wait up to this long for "
                   "other work on the machine to stop before each run (default 30 s)")


def use_run_args(a: Any) -> None:
    QUIET_WAIT["limit"] = a.quiet_wait


def wait_for_quiet(limit: float | None = None, idle: float = 0.8) -> float:
    """Wait (up to ``limit`` s, default --quiet-wait) until the machine is at least ``idle``
    idle over a 2 s sample; returns the busy fraction seen last (0..1)."""
    limit = QUIET_WAIT["limit"] if limit is None else limit
    deadline = time.monotonic() + limit
    said = False
    while True:
        b0, t0 = _busy_seconds(), time.monotonic()
        time.sleep(2)
        busy = (_busy_seconds() - b0) / ((time.monotonic() - t0) * (os.cpu_count() or 1))
        if busy <= 1 - idle or time.monotonic() > deadline:
            if busy > 1 - idle:
                print(f"  (machine still {busy:.0%} busy with other work; measuring anyway)", flush=True)
            return busy
        if not said:
            print(f"  (machine {busy:.0%} busy with other work; waiting up to {limit:.0f}s)", flush=True)
            said = True


TREE_AT_START = tree_state()
