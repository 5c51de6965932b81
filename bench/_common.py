"""Shared by the bench scripts: machine facts, RESULTS.md, labs, runner runs, journals and
the lower bound of a run's wall time computed from the plan and the lab's duration table.

Every script is run as ``python bench/NAME.py`` from the repository root (or anywhere: the
root is put on ``sys.path`` here).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
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


# --- labs and runs -----------------------------------------------------------------------
@dataclass
class Install:
    """One lab installation to measure: a documented topology or a generated one."""

    name: str
    topology: str
    nodes: int | None = None
    dcs: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Install":
        """``13-node``, ``12-node-2dc``, ``gen52``, ``gen200`` or ``gen200x2`` (2 DCs)."""
        m = re.fullmatch(r"gen(\d+)(?:x(\d+))?", text)
        if m:
            return cls(text, "generated", int(m.group(1)), int(m.group(2)) if m.group(2) else None)
        return cls(text, text)


class LabRun:
    """A lab started and driven through its command line (``python -m lab ...``): the
    benchmarks reach the lab exactly as an operator would, never by importing it."""

    def __init__(self, directory: Path, info: dict[str, Any]) -> None:
        self.directory, self.info = directory, info

    @classmethod
    def start(cls, inst: Install, directory: Path, speed: float, traffic: bool = False) -> "LabRun":
        """Analytics production is switched off unless ``traffic``: the lab has no fixed drain
        time, a drain lasts as long as the backlog its MPs produced (see RESULTS.md)."""
        args = ["start", "--topology", inst.topology, "--dir", str(directory), "--speed", repr(speed),
                "--json"] + (["--nodes", str(inst.nodes)] if inst.nodes else []) \
            + (["--dcs", str(inst.dcs)] if inst.dcs else []) + ([] if traffic else ["--no-analytics"])
        return cls(directory, json.loads(lab_cli(*args, timeout=600)))

    @property
    def config_path(self) -> Path:
        return Path(self.info["config"])

    @property
    def inventory_dir(self) -> Path:
        return Path(self.info["inventory"])

    @property
    def known_hosts(self) -> Path:
        return Path(self.info["known_hosts"])

    @property
    def ssh_password(self) -> str:
        import yaml
        return yaml.safe_load((self.inventory_dir / "defaults.yaml").read_text())["password"]

    @property
    def secrets(self) -> dict[str, str]:
        import yaml
        return yaml.safe_load(Path(self.info["secrets"]).read_text())

    def verdict(self, final: bool = True) -> dict[str, Any]:
        """``{"ok": bool, "violations": [{"rule", "host", "message"}], ...}``"""
        return json.loads(lab_cli("verdict", "--dir", str(self.directory), "--json",
                                  *(["--final"] if final else []), ok=(0, 1)))

    def stop(self) -> None:
        lab_cli("stop", "--dir", str(self.directory))


def lab_cli(*args: str, timeout: float = 120, ok: tuple[int, ...] = (0,)) -> str:
    """Run ``python -m lab ARGS``; its standard output."""
    p = subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode not in ok:
        raise RuntimeError(f"python -m lab {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def start_lab(inst: Install, directory: Path, speed: float, traffic: bool = False) -> LabRun:
    return LabRun.start(inst, directory, speed, traffic)


def lab_durations() -> tuple[dict[str, float], float]:
    """The lab's emulated durations at speed 1 and its floor per sleep."""
    d = json.loads(lab_cli("durations"))
    return d["durations"], float(d["min_duration"])


def verdict_text(v: dict[str, Any], ignore: frozenset[int] = frozenset()) -> str:
    rules = sorted({int(x["rule"]) for x in v["violations"]} - ignore)
    return "clean" if not rules else "VIOLATIONS rules " + ",".join(map(str, rules))


def bench_config(lab: LabRun, directory: Path, **user: Any) -> Path:
    """The lab's config.yaml with extra ``user_defined`` values (e.g. concurrency)."""
    import yaml

    cfg = yaml.safe_load(Path(lab.config_path).read_text())
    for k, v in user.items():
        if isinstance(v, dict):
            cfg["user_defined"].setdefault(k, {}).update(v)
        else:
            cfg["user_defined"][k] = v
    path = directory / "config-bench.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


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


# --- the lower bound -------------------------------------------------------------------
def _tables() -> tuple[dict[str, float], float, dict[str, str], frozenset[str]]:
    from fleet.components import EDGE_JAVA, SERVICES
    durations, floor = lab_durations()
    return durations, floor, {v: k for k, v in SERVICES.items()}, EDGE_JAVA


@dataclass
class Estimator:
    """Emulated duration of every plan step in the lab, from the lab's duration table
    (``python -m lab durations`` × speed, at least its floor per sleep), replaying
    the component states a run goes through (a stop of a stopped service costs nothing).

    Commands that the lab answers without sleeping (checks, iptables, crontab, curl, sed,
    find, version/status reads, management-API calls) count 0; a Qpid drain counts 0 (with
    analytics production off the queue is already empty at the first poll); a pause counts
    its timeout."""

    components: dict[str, frozenset[str]]          # host -> installed components (inventory)
    installed: dict[str, bool]                     # host -> has Apigee installed at start
    speed: float
    running: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.d, self.floor, self.service_code, self.edge = _tables()
        for h, comps in self.components.items():
            self.running[h] = set(comps) if self.installed.get(h, True) else set()

    def sleep(self, what: str, factor: float = 1.0) -> float:
        return max(self.d[what] * factor * self.speed, self.floor)

    def _start(self, host: str, codes: Iterable[str]) -> float:
        t = 0.0
        for c in codes:
            if c not in self.running[host]:
                t += self.sleep("start")
                self.running[host].add(c)
        return t

    def _stop(self, host: str, codes: Iterable[str]) -> float:
        t = 0.0
        for c in codes:
            if c in self.running[host]:
                t += self.sleep("stop")
                self.running[host].discard(c)
        return t

    def one(self, host: str, cmd: str) -> float:
        """Seconds of emulated work of one shell command line (sequences with && ; ||)."""
        total = 0.0
        for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", cmd):
            total += self._simple(host, part.strip())
            if "||" in cmd and "apigee-all status" in part and self._all_up(host):
                break                                  # `status || start`: start not run
        return total

    def _all_up(self, host: str) -> bool:
        return self.running[host] >= set(self.components[host])

    def _simple(self, host: str, part: str) -> float:
        words = part.split()
        if not words:
            return 0.0
        prog = words[0].rsplit("/", 1)[-1]
        args = words[1:]
        comps = self.components[host]
        if prog == "update.sh":
            codes = args[args.index("-c") + 1].split(",")
            targets = set()
            for code in codes:
                targets |= (self.edge & comps) if code == "edge" else ({code} & comps)
            self.running[host] |= targets
            return self.sleep("update", 1 + (len(targets) - 1) * 0.15)
        if prog == "bash" and args and "bootstrap_" in args[0]:
            return self.sleep("bootstrap")
        if prog == "yum":
            return self.sleep("yum")
        if prog == "setup.sh":
            self.running[host] |= set(comps)
            return self.sleep("setup")
        if prog == "apigee-all" and args:
            if args[0] == "start":
                return self._start(host, comps)
            if args[0] == "stop":
                return self._stop(host, comps)
            return 0.0
        if prog == "apigee-service" and len(args) >= 2:
            svc, verb = args[0], args[1]
            if svc in ("apigee-setup", "apigee-validate", "apigee-provision"):
                if verb in ("update", "install"):
                    return self.sleep("setup_update")
                if verb in ("setup", "clean"):
                    return self.sleep("validate")
                return 0.0
            code = self.service_code.get(svc)
            if code is None:
                return 0.0
            if verb == "start":
                return self._start(host, [code])
            if verb == "stop":
                return self._stop(host, [code])
            if verb == "restart":
                return self._stop(host, [code]) + self._start(host, [code])
            if verb == "db_upgrade":
                return self.sleep("db_upgrade")
            if verb == "setup-replication-on-standby":
                self.running[host].add(code)
                return self.sleep("replication")
            if verb == "update":
                return self.sleep("update")
        return 0.0

    def step(self, s: dict[str, Any]) -> float:
        if s["kind"] == "pause":
            return float(s["timeout"])
        if s["kind"] in ("http", "poll"):
            return 0.0
        return self.one(s["host"], s["command"])


def estimate(plan: dict[str, Any], nodes: list[Any], speed: float) -> dict[str, Any]:
    """Shortest possible wall time: sum over batches of the longest host chain.

    Returns {"ideal": seconds, "batches": n, "steps": n, "per_step": {key: seconds}} with
    keys as in the journal (``wave_index/batch/host/index``)."""
    comps = {n.name: n.components for n in nodes}
    installed = {n.name: n.postgres != "rollback_standby" for n in nodes}
    est = Estimator(comps, installed, speed)
    ideal, batches, steps = 0.0, 0, 0
    per_step: dict[str, float] = {}
    for wi, w in enumerate(plan["waves"]):
        for bi, b in enumerate(w["batches"]):
            chains: dict[str, float] = {}
            index: dict[str, int] = {}
            for s in b["steps"]:
                i = index.get(s["host"], 0)
                index[s["host"]] = i + 1
                t = est.step(s)
                per_step[f"{wi}/{bi}/{s['host']}/{i}"] = t
                chains[s["host"]] = chains.get(s["host"], 0.0) + t
                steps += 1
            ideal += max(chains.values(), default=0.0)
            batches += 1
    return {"ideal": ideal, "batches": batches, "steps": steps, "per_step": per_step}


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


def _our_seconds() -> float:
    import resource
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class Foreign:
    """CPU used by processes that are not ours (nor our reaped children: runner, lab, their
    shells) while a measurement runs, in cores: other sessions' work skews every figure.
    Use around lab start .. lab stop (the lab's children are counted once it is reaped)."""

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
