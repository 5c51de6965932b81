"""The run's tables as a page shows them: fewer, narrower columns than the CSV files
(step counts in one cell, clock times instead of full ISO stamps), so that the Hosts table
of a 13-node run fits a laptop screen. The CSV files keep every raw column."""
from __future__ import annotations

import time
from typing import Any, Iterable

import pandas as pd

from fleet.reports.frames import FAILED, INTERRUPTED, NOT_RUN, OK, RUNNING, SKIPPED

COUNTS = (OK, FAILED, INTERRUPTED, SKIPPED, NOT_RUN)
STEP_VIEW = ["attempt", "batch", "host", "action", "status", "start", "duration_s",
             "exit_status", "error"]
HOST_VIEW = ["host", "dc", "machine", "components", "postgres", "outcome", "waves_run",
             "steps", "first_start", "last_end", "busy_s", "final_versions"]
WAVE_VIEW = ["wave", "status", "hosts", "batches", "steps", "start", "end", "duration_s"]


def clock_format(times: Iterable[Any]) -> str:
    """HH:MM:SS when every time is on one UTC day (the date is in the page's header),
    else with the day in front."""
    days = {time.strftime("%Y-%m-%d", time.gmtime(float(t))) for t in times
            if t is not None and not pd.isna(t)}
    return "%H:%M:%S" if len(days) <= 1 else "%m-%d %H:%M:%S"


def clock(value: Any, fmt: str) -> str:
    if value is None or pd.isna(value):
        return ""
    return time.strftime(fmt, time.gmtime(float(value)))


def _times(df: pd.DataFrame, columns: Iterable[str], fmt: str) -> pd.DataFrame:
    out = df.copy()
    for c in columns:
        if c in out:
            out[c] = out[c].map(lambda v: clock(v, fmt))
    return out


def counts(row: Any, prefix: str = "steps_") -> str:
    """'40 ok · 1 failed · 3 not run' from a row's steps_* columns."""
    n = {k: int(row[prefix + k.replace(" ", "_")]) for k in COUNTS}
    return " · ".join(f"{v} {k}" for k, v in n.items() if v) or "none"


def _with_counts(df: pd.DataFrame, times: list[str], view: list[str], fmt: str) -> pd.DataFrame:
    if df.empty:
        return df
    out = _times(df, times, fmt)
    out["steps"] = [counts(r) for _, r in df.iterrows()]
    return out[view]


def hosts_view(hosts: pd.DataFrame, fmt: str) -> pd.DataFrame:
    return _with_counts(hosts, ["first_start", "last_end"], HOST_VIEW, fmt)


def waves_view(waves: pd.DataFrame, fmt: str) -> pd.DataFrame:
    return _with_counts(waves, ["start", "end"], WAVE_VIEW, fmt)


def steps_view(steps: pd.DataFrame, fmt: str) -> pd.DataFrame:
    return _times(steps, ["start"], fmt)[STEP_VIEW]


def status_class(df: pd.DataFrame) -> list[str]:
    """Row classes: failed rows red, running rows blue, interrupted ones amber."""
    col = "status" if "status" in df else "outcome" if "outcome" in df else None
    if col is None:
        return [""] * len(df)
    cls = {FAILED: "failed", INTERRUPTED: "behind", RUNNING: "running"}
    return [cls.get(str(v), "") for v in df[col]]
