"""Which run this is, and the command that continues it.

Every hint to resume (the start banner, Ctrl-C, the failure summary, a hold, the report) is
one complete command that works when pasted, from any directory: the interpreter, the
runner, ``--resume RUN_ID`` and the files the run was given (config, inventory, reports,
secrets: paths, never values) as absolute paths, quoted for a POSIX shell. The selection
(waves, data centres, hosts, mode, hold points) comes back from the run's journal.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).resolve().parents[2] / "runner.py"
FILE_OPTIONS = (("--config", "config"), ("--inventory", "inventory"), ("--secrets", "secrets"))


def _interpreter() -> str:
    """``python3`` when that is the interpreter running now, else its full path."""
    found = shutil.which("python3")
    if found and os.path.realpath(found) == os.path.realpath(sys.executable):
        return "python3"
    return sys.executable


def resume_argv(args: argparse.Namespace, run_id: str, reports: Path,
                secrets_file: str | None = None) -> list[str]:
    """The argument vector of ``--resume RUN_ID`` with the options this run was given.
    ``secrets_file``: the config's; read from the current directory when relative, so such
    a one is given as ``--secrets`` (absolute) when the run had no ``--secrets``."""
    argv = [_interpreter(), str(RUNNER)]
    argv += [args.subcommand] if getattr(args, "subcommand", None) else []   # e.g. rollback
    argv += ["--resume", run_id]
    for flag, attr in FILE_OPTIONS:
        value = getattr(args, attr, None)
        if attr == "secrets" and not value and secrets_file \
                and not Path(secrets_file).expanduser().is_absolute():
            value = secrets_file
        if value:
            argv += [flag, str(Path(value).expanduser().absolute())]
    argv += ["--reports", str(Path(reports).expanduser().absolute())]
    if getattr(args, "yes", False):
        argv.append("--yes")
    if getattr(args, "accept_inferred", False):
        argv.append("--accept-inferred")
    return argv


def resume_command(args: argparse.Namespace, run_id: str, reports: Path,
                   secrets_file: str | None = None) -> str:
    return shlex.join(resume_argv(args, run_id, reports, secrets_file))


def env_note() -> str:
    """The secrets this run took from the environment, by variable name: a pasted resume
    command needs them set again (their values are never printed)."""
    from fleet.secrets import ENV
    names = [var for var in ENV.values() if os.environ.get(var)]
    return f"    (with {', '.join(names)} set in the environment, as for this run)" if names else ""


def banner(run_id: str, folder: Path, command: str, attempt: int,
           holds: list[dict[str, Any]] | None = None) -> str:
    """What the operator sees first: the id, where its journal, reports and logs go, how
    to continue it if it stops, and where it will hold."""
    folder = Path(folder).absolute()
    again = f" (attempt {attempt})" if attempt > 1 else ""
    where = "; ".join(f"{h['wave']} batch {h['batch'] + 1} ({h['reason']})" for h in holds or [])
    return (f"run {run_id}{again}\n"
            f"  reports: {folder}/ (per-host logs in {folder / 'hosts'}/)\n"
            f"  to resume if it stops: {command}"
            + (f"\n{env_note()}" if env_note() else "")
            + (f"\n  hold points (the run asks there): {where}" if where else ""))


def resume_hint(events: Iterable[dict[str, Any]]) -> str | None:
    """The resume command the latest attempt printed (for the reports)."""
    starts = [e for e in events if e.get("event") == "run_start" and e.get("resume_command")]
    return str(starts[-1]["resume_command"]) if starts else None


def held_at(events: Iterable[dict[str, Any]]) -> str | None:
    """Where the run stopped at a hold point, if its latest attempt ended there."""
    ends = [e for e in events if e.get("event") == "run_end"]
    return str(ends[-1].get("held") or "a hold point") if ends and ends[-1].get("status") == "held" else None
