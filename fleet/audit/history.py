"""What earlier runs and audits did, from the folders they left in reports/: the context an
auditor needs next to today's versions (when, which waves, which hosts, how it ended)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from fleet.reports.frames import attempts_of, iso
from fleet.run.journal import JOURNAL, read_events

COLUMNS = ["kind", "id", "started", "ended", "attempts", "outcome", "waves", "hosts",
           "steps_ok", "steps_failed", "folder"]


def _run(folder: Path) -> dict[str, Any]:
    events = list(read_events(folder))
    attempts = attempts_of(events)
    hosts = list(dict.fromkeys(e["host"] for e in events
                               if e.get("event") in ("step_start", "step_end") and e.get("host")))
    ends = [e for e in events if e.get("event") == "step_end" and "/undo" not in str(e.get("key"))]
    waves: list[str] = []
    for a in attempts:
        waves += [w for w in a["waves"] if w and w not in waves]
    return {"kind": "run", "id": folder.name,
            "started": iso(attempts[0]["start"]) if attempts else "",
            "ended": iso(attempts[-1]["end"]) if attempts else "",
            "attempts": len(attempts), "outcome": attempts[-1]["outcome"] if attempts else "empty",
            "waves": " ".join(waves), "hosts": " ".join(hosts),
            "steps_ok": sum(e.get("status") == "ok" for e in ends),
            "steps_failed": sum(e.get("status") == "failed" for e in ends), "folder": str(folder)}


def _audit(folder: Path) -> dict[str, Any] | None:
    try:
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return {"kind": "audit", "id": folder.name, "started": s.get("time", ""),
            "ended": s.get("time", ""), "attempts": 1,
            "outcome": "at target" if s.get("ok") else f"{s.get('findings', '?')} finding(s)",
            "waves": "", "hosts": " ".join(s.get("hosts", [])), "steps_ok": None,
            "steps_failed": None, "folder": str(folder)}


def history(reports: Path, exclude: Path | None = None) -> pd.DataFrame:
    """One row per earlier run or audit folder, oldest first."""
    rows: list[dict[str, Any]] = []
    if Path(reports).is_dir():
        for folder in sorted(Path(reports).iterdir()):
            if not folder.is_dir() or (exclude and folder.resolve() == exclude.resolve()):
                continue
            if (folder / JOURNAL).exists():
                rows.append(_run(folder))
            elif folder.name.startswith("audit-"):
                row = _audit(folder)
                if row:
                    rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.sort_values("started", kind="stable").reset_index(drop=True) if not df.empty else df
