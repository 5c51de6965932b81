"""A run folder (plan.json, journal.jsonl, hosts.json) as pandas tables.

The journal is the truth about what happened and the plan about what should have: a row per
step the journal saw (per attempt, so a resumed run keeps the rows of the attempt that was
interrupted), plus a row for every plan step that never started. Everything read here was
masked when the runner wrote it; nothing here knows a secret.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from fleet.components import COMPONENT_OF
from fleet.facts import apigee_version
from fleet.run.journal import HOSTS, PLAN, read_events, step_key

OK, FAILED, SKIPPED, NOT_RUN, INTERRUPTED = "ok", "failed", "skipped", "not run", "interrupted"
RUNNING = "running"          # only on a live page: the attempt (or step) still going on
HELD = "held"                # an attempt that stopped at a hold point (--pause-after)
STEP_COLUMNS = ["run_id", "attempt", "attempt_outcome", "wave_index", "wave", "batch",
                "batch_label", "host", "dc", "machine", "key", "index", "action", "kind",
                "command", "start", "end", "duration_s", "status", "latest", "exit_status",
                "error", "output"]


@dataclass
class RunData:
    """What a report needs about one run, read once."""

    folder: Path
    run_id: str
    plan: dict[str, Any]
    hosts: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    steps: pd.DataFrame
    attempts: list[dict[str, Any]] = field(default_factory=list)
    attempt: int | None = None     # the one attempt this view shows; None: the whole run
    done_before: int = 0           # attempt view: steps completed by earlier attempts
    live: bool = False             # written while the run goes on

    @property
    def outcome(self) -> str:
        """ok | failed | interrupted | running: the outcome of the last attempt."""
        return self.attempts[-1]["outcome"] if self.attempts else "not started"


def read_hosts(folder: Path) -> dict[str, dict[str, Any]]:
    path = Path(folder) / HOSTS
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}
    return {str(r["name"]): r for r in rows if isinstance(r, dict) and "name" in r}


def plan_steps(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of plan.json with its journal key, in plan order (as the executor keys them:
    the index counts within one host's chain of one batch)."""
    out = []
    for wi, wave in enumerate(plan.get("waves", [])):
        for bi, batch in enumerate(wave.get("batches", [])):
            seen: dict[str, int] = {}
            for s in batch.get("steps", []):
                i = seen.get(s["host"], 0)
                seen[s["host"]] = i + 1
                out.append({"key": step_key(wi, bi, s["host"], i), "wave_index": wi,
                            "wave": wave["name"], "batch": bi, "batch_label": batch.get("label", ""),
                            "host": s["host"], "index": i, "action": s["action"],
                            "kind": s.get("kind", "shell"), "command": s.get("command", ""),
                            "basis": s.get("basis")})
    return out


def attempts_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per attempt: when it started and ended, and how (an attempt without a
    run_end was killed: interrupted)."""
    out: dict[int, dict[str, Any]] = {}
    for e in events:
        a = int(e.get("attempt", 1))
        cur = out.setdefault(a, {"attempt": a, "start": e.get("time"), "end": None,
                                 "outcome": INTERRUPTED, "waves": []})
        if e.get("event") == "run_start" and isinstance(e.get("estimate_s"), (int, float)):
            cur["estimate"] = float(e["estimate_s"])     # the runner's estimate (plan/estimate)
        if e.get("event") == "wave_start" and e.get("wave") not in cur["waves"]:
            cur["waves"].append(e.get("wave"))
        if e.get("event") == "run_end":
            cur["end"] = e.get("time")
            cur["outcome"] = {"ok": OK, "failed": FAILED, "held": HELD}.get(
                str(e.get("status")), INTERRUPTED)
        elif e.get("time") is not None:
            cur["last"] = e.get("time")
    for cur in out.values():
        if cur["end"] is None:
            cur["end"] = cur.get("last", cur["start"])
    return [out[a] for a in sorted(out)]


def _ts(value: Any) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return pd.Timestamp(round(float(value) * 1000), unit="ms", tz="UTC")


def _row(run_id: str, attempt: int, outcome: str, info: dict[str, Any],
         hosts: dict[str, dict[str, Any]], labels: dict[Any, str]) -> dict[str, Any]:
    host = info.get("host", "")
    wi, bi = info.get("wave_index"), info.get("batch")
    start, end = info.get("start"), info.get("end")
    return {
        "run_id": run_id, "attempt": attempt, "attempt_outcome": outcome,
        "wave_index": wi, "wave": info.get("wave", ""),
        "batch": None if bi is None else int(bi) + 1,
        "batch_label": labels.get((wi, bi), ""), "host": host,
        "dc": hosts.get(host, {}).get("dc"), "machine": hosts.get(host, {}).get("machine"),
        "key": info.get("key", ""), "index": info.get("index"), "action": info.get("action", ""),
        "kind": info.get("kind", ""), "command": info.get("command", ""),
        "start": start, "end": end,
        "duration_s": round(end - start, 3) if start is not None and end is not None else None,
        "status": info.get("status", ""), "exit_status": info.get("rc"),
        "error": info.get("error", ""), "output": info.get("output", ""),
    }


def step_rows(run_id: str, plan: dict[str, Any], events: list[dict[str, Any]],
              hosts: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The steps table (times as epoch seconds; see ``for_csv`` for the written form)."""
    planned = plan_steps(plan)
    labels = {(p["wave_index"], p["batch"]): p["batch_label"] for p in planned}
    outcome = {a["attempt"]: a["outcome"] for a in attempts_of(events)}
    rows: list[dict[str, Any]] = []
    open_: dict[tuple[int, str], dict[str, Any]] = {}
    seen: set[str] = set()
    failed_at: dict[tuple[Any, Any, str], int] = {}      # (wave, batch, host) -> failed index
    for e in events:
        kind, a = e.get("event"), int(e.get("attempt", 1))
        if kind == "step_start":
            open_[(a, e["key"])] = e
        elif kind == "step_end":
            start = open_.pop((a, e["key"]), None)
            info = dict(e)
            if start and info.get("command") is None:
                info["command"] = start.get("command")
            rows.append(_row(run_id, a, outcome.get(a, INTERRUPTED), info, hosts, labels))
            seen.add(e["key"])
            if e.get("status") == FAILED and "/undo" not in e["key"]:
                failed_at[(e.get("wave_index"), e.get("batch"), e["host"])] = e.get("index", 0)
    for (a, key), e in open_.items():                    # started, never ended: killed
        info = dict(e, status=INTERRUPTED, end=None, rc=None, output="",
                    error="the run stopped while this step ran")
        rows.append(_row(run_id, a, outcome.get(a, INTERRUPTED), info, hosts, labels))
        seen.add(key)
    last = max(outcome) if outcome else 1
    for p in planned:
        if p["key"] in seen:
            continue
        stop = failed_at.get((p["wave_index"], p["batch"], p["host"]))
        status = SKIPPED if stop is not None and p["index"] > stop else NOT_RUN
        rows.append(_row(run_id, last, outcome.get(last, NOT_RUN),
                         dict(p, status=status, start=None, end=None, rc=None, output="",
                              error="an earlier step of this host failed" if status == SKIPPED
                              else ""), hosts, labels))
    df = pd.DataFrame(rows, columns=[c for c in STEP_COLUMNS if c != "latest"])
    for c in ("attempt", "wave_index", "batch", "machine", "index", "exit_status"):
        df[c] = pd.array([None if pd.isna(v) else int(v) for v in df[c]], dtype="Int64")
    if df.empty:
        return df.assign(latest=pd.Series(dtype=bool))[STEP_COLUMNS]
    order = {p["key"]: i for i, p in enumerate(planned)}
    df["_plan"] = df["key"].map(lambda k: order.get(str(k).split("/undo")[0], len(order)))
    df["_t"] = df["start"].fillna(float("inf"))
    df = df.sort_values(["attempt", "_t", "_plan", "key"], kind="stable")
    # The last row of each step is its current state; earlier rows are history (a failure
    # that a resumed attempt then repaired, a step a kill interrupted).
    df["latest"] = ~df.duplicated("key", keep="last")
    return df[STEP_COLUMNS].reset_index(drop=True)


def load_run(folder: Path, attempt: int | None = None, live: bool = False) -> RunData:
    """The run as its journal tells it; with ``attempt``, that attempt alone as it stood at
    its end (steps earlier attempts completed are counted in ``done_before``, not rows);
    with ``live``, the last attempt is still running (no run_end yet is not a kill)."""
    folder = Path(folder)
    plan_path = folder / PLAN
    plan = json.loads(plan_path.read_text(encoding="utf-8")) if plan_path.exists() else {}
    events = list(read_events(folder))
    if attempt is not None:
        events = [e for e in events if int(e.get("attempt", 1)) <= attempt]
    hosts = read_hosts(folder)
    steps = step_rows(folder.name, plan, events, hosts)
    attempts = attempts_of(events)
    if live and attempts and not any(e.get("event") == "run_end"
                                     and int(e.get("attempt", 1)) == attempts[-1]["attempt"]
                                     for e in events):
        last = attempts[-1]["attempt"]
        attempts[-1]["outcome"] = RUNNING
        mine = steps["attempt"] == last
        steps.loc[mine, "attempt_outcome"] = RUNNING
        open_ = mine & (steps["status"] == INTERRUPTED)
        steps.loc[open_, "status"] = RUNNING
        steps.loc[open_, "error"] = ""
    done_before = 0
    if attempt is not None and not steps.empty:
        earlier = steps["attempt"] < attempt
        done_before = int((earlier & steps["latest"] & (steps["status"] == OK)).sum())
        steps = steps[~earlier].reset_index(drop=True)
    return RunData(folder, folder.name, plan, hosts, events, steps, attempts, attempt,
                   done_before, live)


def final_versions(outputs: Iterable[str]) -> dict[str, str]:
    """component -> version, from any `apigee-all version` output seen (later wins); the
    version as the package carries it (upstream packages their own: cs=2.1.16-0.0.2046)."""
    found: dict[str, str] = {}
    for text in outputs:
        for name, build in apigee_version.parse(text or "")["packages"].items():
            code = COMPONENT_OF.get(name)
            if code:
                found[code] = apigee_version.display(build)
    return found


def host_rows(data: RunData) -> pd.DataFrame:
    """One row per host of the plan (and of hosts.json): what ran there and how it ended."""
    df = data.steps
    names = list(dict.fromkeys(list(df["host"]) if not df.empty else []))
    names += [h for h in data.hosts if h not in names]
    rows = []
    by_host = dict(tuple(df.groupby("host", sort=False))) if not df.empty else {}
    for name in names:
        meta = data.hosts.get(name, {})
        mine = by_host.get(name, df.iloc[0:0])
        ran = mine[mine["start"].notna()] if not mine.empty else mine
        counts = mine["status"].value_counts().to_dict() if not mine.empty else {}
        now: dict[Any, int] = (mine[mine["latest"]]["status"].value_counts().to_dict()
                               if not mine.empty else {})
        ok_outputs = ran[ran["status"] == OK]["output"] if not ran.empty else []
        versions = final_versions(ok_outputs)
        outcome = _state(now, not ran.empty)
        first = ran["start"].min() if not ran.empty else None
        last = ran["end"].max() if not ran.empty else None
        rows.append({
            "host": name, "dc": meta.get("dc"), "machine": meta.get("machine"),
            "components": " ".join(meta.get("components") or []),
            "postgres": meta.get("postgres") or "", "outcome": outcome,
            "waves_run": " ".join(dict.fromkeys(ran["wave"])) if not ran.empty else "",
            "steps_ok": int(counts.get(OK, 0)), "steps_failed": int(counts.get(FAILED, 0)),
            "steps_interrupted": int(counts.get(INTERRUPTED, 0)),
            "steps_skipped": int(counts.get(SKIPPED, 0)),
            "steps_not_run": int(counts.get(NOT_RUN, 0)),
            "first_start": first, "last_end": last,
            "busy_s": round(float(ran["duration_s"].sum()), 3) if not ran.empty else 0.0,
            "final_versions": " ".join(f"{c}={v}" for c, v in sorted(versions.items())),
        })
    out = pd.DataFrame(rows)
    if not out.empty:
        out["machine"] = pd.array([None if pd.isna(v) else int(v) for v in out["machine"]],
                                  dtype="Int64")
    return out


def _state(latest: dict[Any, int], ran: bool) -> str:
    """The current state of a host or wave from the latest row of each of its steps."""
    if latest.get(FAILED):
        return FAILED
    if latest.get(RUNNING):
        return RUNNING
    if latest.get(INTERRUPTED):
        return INTERRUPTED
    if not ran:
        return NOT_RUN
    if latest.get(NOT_RUN) or latest.get(SKIPPED):
        return "incomplete"
    return OK


def wave_rows(data: RunData) -> pd.DataFrame:
    """One row per wave of the plan: hosts, step counts, when, how it ended."""
    df = data.steps
    rows = []
    for wi, wave in enumerate(data.plan.get("waves", [])):
        mine = df[df["wave_index"] == wi] if not df.empty else df
        if data.attempt is not None and mine.empty:
            continue                   # an attempt's page: a wave earlier attempts completed
        counts = mine["status"].value_counts().to_dict() if not mine.empty else {}
        now: dict[Any, int] = (mine[mine["latest"]]["status"].value_counts().to_dict()
                               if not mine.empty else {})
        ran = mine[mine["start"].notna()] if not mine.empty else mine
        rows.append({"wave": wave["name"], "status": _state(now, not ran.empty),
                     "hosts": " ".join(dict.fromkeys(mine["host"])) if not mine.empty else "",
                     "batches": len(wave.get("batches", [])),
                     **{f"steps_{k.replace(' ', '_')}": int(counts.get(k, 0))
                        for k in (OK, FAILED, INTERRUPTED, SKIPPED, NOT_RUN)},
                     "start": ran["start"].min() if not ran.empty else None,
                     "end": ran["end"].max() if not ran.empty else None})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["duration_s"] = (out["end"] - out["start"]).round(1)
    return out


def iso(value: Any) -> str:
    ts = _ts(value)
    return "" if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def for_csv(df: pd.DataFrame, time_columns: Iterable[str]) -> pd.DataFrame:
    """Epoch seconds as ISO 8601 UTC text, for people and spreadsheets."""
    out = df.copy()
    for c in time_columns:
        if c in out:
            out[c] = out[c].map(iso)
    return out
