"""`getenforce`: the SELinux mode, one word (the update refuses to run while Enforcing)."""
from __future__ import annotations

from typing import Any

MODES = ("Enforcing", "Permissive", "Disabled")
COMMAND = "getenforce"


def parse(text: str) -> dict[str, Any]:
    """{"mode": "Enforcing"|"Permissive"|"Disabled"}; ValueError on anything else."""
    words = [w for line in (text or "").splitlines() for w in line.split()]
    modes = [w for w in words if w in MODES]
    if len(modes) != 1:
        raise ValueError(f"getenforce printed no single SELinux mode: {(text or '').strip()[:80]!r}")
    return {"mode": modes[0]}


def check(text: str) -> tuple[bool, str]:
    mode = parse(text)["mode"]
    return mode != "Enforcing", f"SELinux {mode}"
