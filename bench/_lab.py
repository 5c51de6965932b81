"""Labs for the benchmarks, driven through the lab's command line only (``python -m lab``),
as an operator would: nothing in bench/ imports the lab."""
from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import DETACHED_CPU, ROOT, process_cpu


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
        try:
            return cls(directory, json.loads(lab_cli(*args, timeout=600)))
        except Exception:
            lab_cli("stop", "--dir", str(directory), ok=(0, 1, 2))   # nothing left running
            raise

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
        DETACHED_CPU[0] += process_cpu(int(self.info.get("pid", 0)))   # it is not our child
        lab_cli("stop", "--dir", str(self.directory))


def lab_cli(*args: str, timeout: float = 120, ok: tuple[int, ...] = (0,)) -> str:
    """Run ``python -m lab ARGS``; its standard output."""
    p = subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode not in ok:
        raise RuntimeError(f"python -m lab {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


@functools.lru_cache(maxsize=None)
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


