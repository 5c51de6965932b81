"""The C build of the emulated commands' client (agent.c), compiled once per source version.

Where no C compiler is found, or the build fails, the lab uses agent.py: same protocol,
about 12 ms of Python start-up per command instead of under 1 ms.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("agent.c")
PY_AGENT = Path(__file__).with_name("agent.py").resolve()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fleet-lab"


def build_agent() -> Path | None:
    """Path of the compiled agent, building it if needed; None if it cannot be built."""
    if os.environ.get("LAB_PY_AGENT"):          # force the Python agent (its own tests)
        return None
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    for folder in (_cache_dir(), Path(tempfile.gettempdir()) / f"fleet-lab-{os.getuid()}"):
        target = folder / f"agent-{digest}"
        if os.access(target, os.X_OK):
            return target
        cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if cc is None:
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".agent-")
            os.close(fd)
            res = subprocess.run([cc, "-O2", "-o", tmp, str(SOURCE)], capture_output=True,
                                 text=True, timeout=120)
            if res.returncode != 0:
                os.unlink(tmp)
                print(f"lab: agent.c did not build, using agent.py: {res.stderr.strip()[-300:]}",
                      file=sys.stderr)
                return None
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)               # atomic: concurrent labs may build it too
            return target
        except OSError:
            continue
    return None


def agent_command() -> str:
    """What a command stub execs, before its own arguments."""
    native = build_agent()
    return str(native) if native else f"{sys.executable} -S {PY_AGENT}"
