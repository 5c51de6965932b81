"""`apigee-service apigee-postgresql postgres-check-master|-standby`.

No public capture of either output exists, so nothing here depends on their wording: a
check passes on its exit status, both checks of a pair must pass (procedure.md section 6:
they must agree), and the one optional pattern (``user_defined.postgres.standby_pattern``,
e.g. public automation's line ending in ``slave/standby``) is kept in settings.
"""
from __future__ import annotations

import re
from typing import Any


def command(apigee_root: str, role: str) -> str:
    return f"{apigee_root}/apigee-service/bin/apigee-service apigee-postgresql postgres-check-{role}"


def parse(text: str, pattern: str = "") -> dict[str, Any]:
    """{"lines": [...], "matched": bool|None}: None when no pattern is configured."""
    lines = [ln.rstrip() for ln in (text or "").splitlines() if ln.strip()]
    matched = None if not pattern else any(re.search(pattern, ln) for ln in lines)
    return {"lines": lines, "matched": matched}


def check(text: str, pattern: str = "") -> tuple[bool, str]:
    """Called once the exit status was 0: the configured pattern, if any, must match."""
    fact = parse(text, pattern)
    if fact["matched"] is False:
        return False, f"no line matches the configured pattern {pattern!r}"
    return True, "check passed" + (f" ({pattern!r} found)" if pattern else " (exit status 0)")
