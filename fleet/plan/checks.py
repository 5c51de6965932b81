"""Poll predicates (``Step.until``); the hints printed when a check fails are in the wave
registry (fleet/plan/waves.py)."""
from __future__ import annotations

import re

# Poll predicates live with the facts they read (fleet.facts); re-exported for the executor.
from fleet.facts import PREDICATES

__all__ = ["PREDICATES", "readable"]


def readable(regex: str) -> str:
    """An ``expect`` regex as the text it looks for, for failure messages."""
    text = regex.removeprefix("(?m)^")
    return re.sub(r"\\(.)", r"\1", text).replace("[.]", ".")
