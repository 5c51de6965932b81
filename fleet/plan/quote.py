"""Shell quoting for command lines the plan builds: the command text is trusted text
written in fleet.plan; every inventory/config value put into it goes through ``q``.

Values are validated at load time (fleet.values) to characters ``shlex.quote`` leaves as
they are, so plans read as written; a value that was not validated still cannot become
shell code.
"""
from __future__ import annotations

import shlex
from typing import Any


def q(value: Any) -> str:
    """One shell word."""
    return shlex.quote(str(value))
