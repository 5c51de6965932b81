"""Run the real runner as a user would (a subprocess, over real SSH) against a lab."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fleet.run.journal import read_events

ROOT = Path(__file__).resolve().parents[2]


def runner(lab: Any, *args: str, reports: Path, env: dict | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    """`python runner.py [SUBCOMMAND] --config LAB --reports DIR ARGS` as an operator runs it."""
    sub = list(args[:1]) if args[:1] in (("audit",), ("region",), ("rollback",)) else []
    cmd = [sys.executable, str(ROOT / "runner.py"), *sub, "--config", str(lab.config_path),
           "--reports", str(reports), *args[len(sub):]]
    full_env = dict(os.environ, NO_COLOR="1", **(env or {}))
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=full_env)


def run_ids(reports: Path) -> list[str]:
    return sorted(p.name for p in reports.iterdir() if (p / "journal.jsonl").exists()) \
        if reports.exists() else []


def events(reports: Path, run_id: str) -> list[dict[str, Any]]:
    return list(read_events(reports / run_id))


def plan_waves(lab: Any, reports: Path, *extra: str) -> list[str]:
    out = reports / "plan.json"
    reports.mkdir(parents=True, exist_ok=True)
    res = runner(lab, "--plan-out", str(out), *extra, reports=reports)
    assert res.returncode == 0, res.stderr
    return [w["name"] for w in json.loads(out.read_text())["waves"]]


def explain(res: subprocess.CompletedProcess, lab: Any = None) -> str:
    text = f"rc={res.returncode}\nSTDOUT:\n{res.stdout[-4000:]}\nSTDERR:\n{res.stderr[-3000:]}"
    if lab is not None:
        text += f"\nVERDICT: {lab.verdict(final=True).violations}"
    return text
