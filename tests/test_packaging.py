"""requirements.txt (what the README installs) and pyproject.toml (what `pip install .`
installs) name the same packages with the same lower bounds; constraints.txt pins each.
`python3 -m tests.test_packaging > constraints.txt` rewrites the pins from this machine."""
from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQ = re.compile(r"^([A-Za-z0-9_.\-]+)(>=[^\s;#]+)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = REQ.match(line.strip())
        if m:
            out[_norm(m[1])] = m[2]
    return out


def declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = {}
    for spec in project["dependencies"] + sum(project["optional-dependencies"].values(), []):
        m = REQ.match(spec)
        assert m, f"pyproject.toml: {spec!r} needs a lower bound (name>=version)"
        out[_norm(m[1])] = m[2]
    return out


def test_requirements_and_pyproject_agree() -> None:
    assert requirements() == declared()


def test_every_requirement_is_pinned_and_the_pins_meet_the_bounds() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version
    assert set(pins) == set(requirements())
    for name, bound in requirements().items():
        low = tuple(int(x) for x in re.findall(r"\d+", bound[2:])[:3])
        have = tuple(int(x) for x in re.findall(r"\d+", pins[name])[:3])
        assert have >= low, f"{name}: pin {pins[name]} below {bound}"


def test_the_fleet_command_is_the_runner() -> None:
    scripts = {e.name: e.value for e in md.entry_points(group="console_scripts")}
    assert scripts.get("fleet") == "fleet.cli:main"
    exe = shutil.which("fleet")
    assert exe, "pip install -r requirements.txt installs the `fleet` command"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "waves, in order:" in out.stdout


if __name__ == "__main__":
    print("# Versions the suite last passed with (pip install -r requirements.txt applies them).")
    print("# Refresh after a passing run with newer versions: "
          "python3 -m tests.test_packaging > constraints.txt")
    for name in sorted(requirements()):
        print(f"{name}=={md.version(name)}")
