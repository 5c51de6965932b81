"""When connection draining started, across runs: a resumed `remove` waits out what is left.

Each `backend_remove` that takes a region's backend out of the load balancer journals
``drain_started`` (the time its patch finished). The wait before any deletion counts from
the latest such time, whether this run or an earlier, interrupted one removed the backend;
if no journal says when a backend left, the whole draining time is waited again.
"""
from __future__ import annotations

import time
from pathlib import Path

from fleet.run.journal import read_events


def drain_history(reports: Path, target: str) -> dict[str, float]:
    """Region -> latest journaled drain start, from earlier region runs of `target`.

    A region whose latest journaled event is not a finished removal (a `backend_remove`
    cut off before its end, or a `backend_add` since) has no entry: its drain start is
    unknown, and the whole draining time is waited."""
    latest: dict[str, tuple[float, float | None]] = {}    # region -> (when, drain start)

    def seen(host: str, when: float, started: float | None) -> None:
        if when >= latest.get(host, (0.0, None))[0]:
            latest[host] = (when, started)
    for journal in Path(reports).glob("region-*/journal.jsonl"):
        try:
            events = list(read_events(journal.parent))
        except (OSError, ValueError):
            continue
        if not events or events[0].get("target") != target:
            continue
        ended = {e.get("key") for e in events if e.get("event") == "step_end"}
        for e in events:
            action, when = e.get("action"), float(e.get("time") or 0)
            if e.get("event") == "step_end" and e.get("drain_started"):
                seen(e["host"], when, float(e["drain_started"]))
            elif action == "backend_remove" and e.get("event") == "step_start" \
                    and e.get("key") not in ended:
                seen(e["host"], when, None)
            elif action == "backend_add" and e.get("event") == "step_end" and e.get("changed"):
                seen(e["host"], when, None)
    return {h: started for h, (_, started) in latest.items() if started is not None}


def left_to_wait(wait: float, regions: list[str], started: dict[str, float],
                 now: float | None = None) -> tuple[float, str]:
    """Seconds still to wait before deleting, and why."""
    now = time.time() if now is None else now
    unknown = [r for r in regions if r not in started]
    if unknown or not regions:
        return wait, (f"drain start of {', '.join(unknown)} not journaled: waiting the full "
                      f"{wait:g}s")
    latest = max(started[r] for r in regions)
    left = max(0.0, wait - (now - latest))
    since = time.strftime("%H:%M:%S", time.localtime(latest))
    return left, f"draining since {since}: {left:.1f}s of {wait:g}s left"
