"""Long commands run detached on the node, as data: the shell lines that start a job, ask
for its state and follow it, and the parsing of what they print (pure, tested without SSH).

Why: a dropped SSH session or a killed runner sends SIGHUP to what runs on the session's
terminal, and an ``update.sh`` cut that way leaves a node half updated (yum in the middle of
a transaction). A job runs in its own session (``setsid``, SIGHUP ignored), its output goes
to ``JOB.log`` under ``APIGEE_ROOT/var/log/fleet`` and its exit status to ``JOB.rc``; its
process id is in ``JOB.pid``. The runner follows the log until the job ends. The job's name
comes from the run and the step, so a resumed run finds the job its first attempt started:
it waits for one still running and takes its exit status, takes the status of one that
ended well, and starts it again only if it never started, failed or was killed.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from fleet.model import SHELL, Step

# Steps whose commands run for minutes and must survive a hang-up.
DETACHED_ACTIONS = frozenset({"update", "setup_ps", "db_upgrade", "replication_setup", "bootstrap"})
BECOME = "sudo "
FOLDER = "var/log/fleet"
STATE = re.compile(r"__JOB=(none|running|done|dead|started)(?: ([0-9]+))?__")
SAFE = re.compile(r"[^A-Za-z0-9._-]+")
START_WAIT = 10.0          # seconds the start line waits for the job's pid file


@dataclass(frozen=True)
class Job:
    name: str              # [A-Za-z0-9._-]: also how the job is recognised in /proc
    folder: str

    def path(self, ext: str) -> str:
        return f"{self.folder}/{self.name}.{ext}"

    def quoted(self) -> tuple[str, str, str]:
        """Its log, exit status and pid files, quoted for the shell."""
        log, rc, pid = (shlex.quote(self.path(e)) for e in ("log", "rc", "pid"))
        return log, rc, pid


@dataclass(frozen=True)
class JobState:
    state: str             # none | running | done | dead | started
    number: int | None = None   # exit status (done) or process id (running, started)


def detachable(step: Step) -> bool:
    """Long shell steps (their secrets, if any, go to the job through ``start_line``)."""
    return step.kind == SHELL and step.action in DETACHED_ACTIONS


def job_for(run_id: str, key: str, action: str, apigee_root: str) -> Job:
    """The job of one step of one run (the same name in every attempt of the run)."""
    name = SAFE.sub("_", f"fleet-{run_id}-{key.replace('/', '.')}-{action}")
    return Job(name, f"{apigee_root.rstrip('/')}/{FOLDER}")


def _marker(state: str, value: str = "") -> str:
    """printf line for a state marker, split so the echo of the typed line never matches."""
    return f"printf '__JOB''={state}{' %s' if value else ''}__\\n'{' ' + value if value else ''}"


def input_marker(n: int) -> str:
    """What the start line prints before it reads its ``n``-th secret from the terminal."""
    return f"__JOBIN_{n}__"


def start_line(job: Job, command: str, variables: tuple[str, ...] = (), answers: int = 0) -> str:
    """The line that starts the job and returns once it runs (``__JOB=started PID__``).
    A leading ``sudo`` moves outside the detacher, so sudo asks on the session's terminal
    (the runner answers at its prompt) and the job itself runs with the privilege.

    Secrets a detached job needs are read from the terminal with echo off, each after its
    ``input_marker`` (the runner types them there, never on a command line): first the
    shell ``variables`` the command uses (exported to the job only), then ``answers`` lines
    piped to the job's standard input for the prompts it will print (a bootstrap's
    repository password) — the job has no terminal to ask on."""
    become = ""
    if command.startswith(BECOME):
        become, command = BECOME, command[len(BECOME):]
    q = shlex.quote
    log, rc, pid = job.quoted()
    script = (f"echo $$ > {pid}; trap '' HUP; ( {command} ) > {log} 2>&1; "
              f"echo $? > {rc}.tmp; mv -f {rc}.tmp {rc}")
    names = list(variables) + [f"FLEET_ANSWER_{i}" for i in range(1, answers + 1)]
    reads = "".join(f"printf '__JOB''IN_%s__\\n' {i}; IFS= read -r {v}; "
                    for i, v in enumerate(names, 1))
    if names:
        reads = f"stty -echo 2>/dev/null; {reads}stty echo 2>/dev/null; "
    exports = f"export {' '.join(variables)}; " if variables else ""
    feed = ("printf '%s\\n' " + " ".join(f'"${v}"' for v in names[len(variables):]) + " | "
            if answers else "")
    stdin = "" if answers else " < /dev/null"
    tries = int(START_WAIT / 0.1)
    launcher = (f"umask 022; mkdir -p {q(job.folder)} && rm -f {rc} {pid} && {reads}{exports}"
                f"({feed}setsid bash -c {q(script)} {q(job.name)} > /dev/null 2>&1{stdin} &) && "
                f"for i in $(seq {tries}); do [ -s {pid} ] && break; sleep 0.1; done; "
                f"[ -s {pid} ] && {_marker('started', '$(cat ' + pid + ')')}")
    return f"{become}bash -c {q(launcher)}"


def state_line(job: Job) -> str:
    """Prints the job's state: done (with its exit status), running (its pid), dead (a pid
    file but no such process: killed, or the node rebooted) or none (never started)."""
    q = shlex.quote
    _, rc, pid = job.quoted()
    return (f"if [ -f {rc} ]; then {_marker('done', '$(cat ' + rc + ')')}; "
            f"elif [ -f {pid} ] && grep -qs {q(job.name)} /proc/\"$(cat {pid})\"/cmdline; "
            f"then {_marker('running', '$(cat ' + pid + ')')}; "
            f"elif [ -f {pid} ]; then {_marker('dead')}; else {_marker('none')}; fi")


def follow_line(job: Job) -> str:
    """Prints the job's log from its start as it grows, until the job ends, then its state.
    The end is the exit status file or a process that is gone or a zombie (its cmdline is
    empty): ``tail --pid`` would wait until the zombie is reaped, which some init processes
    do only every second or so."""
    q = shlex.quote
    log, rc, pid = job.quoted()
    return (f"p=$(cat {pid} 2>/dev/null); o=0; while :; do e=0; "
            f"if [ -f {rc} ] || ! grep -qs {q(job.name)} /proc/\"$p\"/cmdline; then e=1; fi; "
            f"s=$(wc -c < {log} 2>/dev/null || echo 0); "
            f"if [ \"$s\" -gt \"$o\" ]; then tail -c +$((o + 1)) {log} | head -c $((s - o)); o=$s; fi; "
            f"[ $e = 1 ] && break; sleep 0.2; done; " + state_line(job))


def parse_state(output: str) -> JobState:
    """The last state marker in the output (the log before it may contain anything)."""
    found = list(STATE.finditer(output))
    if not found:
        raise ValueError("no job state in the output")
    m = found[-1]
    return JobState(m.group(1), int(m.group(2)) if m.group(2) is not None else None)


def log_text(output: str) -> str:
    """The followed output without the state marker line."""
    return STATE.sub("", output).rstrip("\n")


def next_move(state: JobState) -> str:
    """What a (resumed) step does with the job it finds: ``follow`` a running one, ``take``
    the exit status of one that ended well, ``start`` it (again) otherwise."""
    if state.state == "running":
        return "follow"
    if state.state == "done" and state.number == 0:
        return "take"
    return "start"
