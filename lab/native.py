"""The C build of the emulated commands' client (agent.c), compiled once per source version
and machine type.

Where no C compiler is found, the build fails, or the binary does not run here (a cache
shared with another architecture, a noexec temp folder), the lab uses agent.py: same
protocol, about 12 ms of Python start-up per command instead of under 1 ms.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("agent.c")
PY_AGENT = Path(__file__).with_name("agent.py").resolve()


def _folders() -> list[Path]:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [Path(base) / "fleet-lab", Path(tempfile.gettempdir()) / f"fleet-lab-{os.getuid()}"]


def _private(folder: Path) -> bool:
    """Ours alone: a binary another user could replace must not run as us."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.stat()
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _runs(binary: Path) -> bool:
    try:
        return subprocess.run([str(binary)], capture_output=True, timeout=10).returncode == 2
    except (OSError, subprocess.SubprocessError):
        return False


def _compile(cc: str, target: Path) -> bool:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".agent-")
    os.close(fd)
    try:
        res = subprocess.run([cc, "-O2", "-o", tmp, str(SOURCE)], capture_output=True, text=True,
                             timeout=120)
        if res.returncode != 0:
            print(f"lab: agent.c did not build, using agent.py: {res.stderr.strip()[-300:]}",
                  file=sys.stderr)
            return False
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)               # atomic: concurrent labs may build it too
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build_agent() -> Path | None:
    """Path of the compiled agent, building it if needed; None if it cannot be used."""
    if os.environ.get("LAB_PY_AGENT"):          # force the Python agent (its own tests)
        return None
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    name = f"agent-{platform.system()}-{platform.machine()}-{digest}"
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    for folder in _folders():
        try:
            if not _private(folder):
                continue
        except OSError:
            continue
        target = folder / name
        if not os.access(target, os.X_OK) and (cc is None or not _compile(cc, target)):
            continue
        if _runs(target):
            return target
    return None


def agent_command() -> str:
    """What a command stub execs, before its own arguments (shell-quoted)."""
    native = build_agent()
    if native:
        return shlex.quote(str(native))
    return f"{shlex.quote(sys.executable)} -S {shlex.quote(str(PY_AGENT))}"
