"""`python -m lab demo`: a lab installation, a full update by the real runner over SSH,
the reports and the lab's verdict — the README's first command."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lab demo",
                                description="Start a lab installation, update it with "
                                            "runner.py --all, print the reports and the verdict.")
    p.add_argument("--topology", default="5-node", help="a lab topology (python -m lab topologies)")
    p.add_argument("--speed", type=float, default=0.05,
                   help="emulated duration factor (0 = instant; default 0.05)")
    p.add_argument("--zero-downtime", action="store_true",
                   help="rolling update with the traffic probe on")
    p.add_argument("--dir", help="lab folder (default: a fresh folder in the temp dir)")
    p.add_argument("--reports", default=str(ROOT / "reports"), help="where the run's reports go")
    return p


def main(argv: list[str]) -> int:
    from lab import Lab

    a = parser().parse_args(argv)
    folder = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="fleet-lab-demo-"))
    print(f"lab: starting a {a.topology} installation in {folder} ...", flush=True)
    t0 = time.monotonic()
    with Lab.start(topology=a.topology, directory=folder, speed=a.speed,
                   probe=a.zero_downtime) as lab:
        print(f"lab: {len(lab.hosts)} hosts listening over SSH after "
              f"{time.monotonic() - t0:.1f}s\n", flush=True)
        cmd = [sys.executable, str(ROOT / "runner.py"), "--config", str(lab.config_path),
               "--reports", a.reports, "--all", "--yes"]
        if a.zero_downtime:
            cmd.append("--zero-downtime")
        print("$ " + " ".join(cmd[1:]), flush=True)
        rc = subprocess.call(cmd, cwd=ROOT, env=dict(os.environ))
        verdict = lab.verdict(final=True)
        print()
        print(verdict.text())
        (folder / "verdict.txt").write_text(verdict.text() + "\n")
    runs = sorted(Path(a.reports).glob("*/journal.jsonl"), key=lambda p: p.stat().st_mtime)
    if runs:
        run = runs[-1].parent
        print(f"\nreports: {run}/report.html (and steps.csv, hosts.csv, timeline.png)")
    print(f"lab verdict: {folder / 'verdict.json'} and {folder / 'verdict.txt'}")
    print(f"done in {time.monotonic() - t0:.0f}s: runner exit status {rc}, "
          f"verdict {'clean' if verdict.ok else 'VIOLATIONS'}")
    return 0 if rc == 0 and verdict.ok else 1
