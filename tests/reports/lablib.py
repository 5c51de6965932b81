"""Helpers for the report tests that go through the lab: run the real runner, read files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fleet.components import expand

ROOT = Path(__file__).resolve().parents[2]


def runner(lab: Any, *args: str, reports: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python runner.py ARGS --config LAB --reports DIR` as an operator would run it."""
    if args[:1] == ("audit",):
        cmd = [sys.executable, str(ROOT / "runner.py"), *args, "--config", str(lab.config_path),
               "--reports", str(reports)]
    else:
        cmd = [sys.executable, str(ROOT / "runner.py"), *args, "--yes", "--config",
               str(lab.config_path), "--reports", str(reports)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1"))


def explain(res: subprocess.CompletedProcess) -> str:
    return f"rc={res.returncode}\nSTDOUT:\n{res.stdout[-3000:]}\nSTDERR:\n{res.stderr[-3000:]}"


def events(folder: Path) -> list[dict[str, Any]]:
    out = []
    for line in (folder / "journal.jsonl").read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def components(lab: Any, host: str) -> frozenset[str]:
    data = lab.host_data(host)
    return expand(list(data.get("profiles") or []), list(data.get("components") or []))


def secret_values(lab: Any) -> list[str]:
    """Every secret the lab gave the runner (the secrets file and the SSH password)."""
    values = [str(v) for v in lab.secrets.values()] + [lab.ssh_password]
    return [v for v in values if len(v) >= 6]
