"""The files of a run folder that a person reads: steps.csv, hosts.csv, waves.csv,
timeline.png and report.html (outcome and failures first, the timeline, then per wave and
per host). Rewritten from the journal after every attempt, so a resumed run's report covers
every attempt."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fleet.plan.estimate import clock
from fleet.reports import html
from fleet.reports.frames import (FAILED, INTERRUPTED, NOT_RUN, OK, SKIPPED, RunData, for_csv,
                                  host_rows, iso, load_run, plan_steps, wave_rows)
from fleet.reports.timeline import render_png
from fleet.run.hostlog import HOSTS_DIR
from fleet.run.identity import held_at, resume_hint

STEP_VIEW = ["attempt", "batch", "host", "action", "status", "start", "duration_s",
             "exit_status", "error"]
HOST_VIEW = ["host", "dc", "machine", "components", "postgres", "outcome", "waves_run",
             "steps_ok", "steps_failed", "steps_interrupted", "steps_skipped", "steps_not_run",
             "first_start", "last_end", "busy_s", "final_versions"]


def write_run_reports(folder: Path) -> None:
    """Write every report file of the run folder ``reports/RUN_ID/`` from its journal."""
    folder = Path(folder)
    data = load_run(folder)
    hosts = host_rows(data)
    waves = wave_rows(data)
    for_csv(data.steps, ["start", "end"]).to_csv(folder / "steps.csv", index=False)
    for_csv(hosts, ["first_start", "last_end"]).to_csv(folder / "hosts.csv", index=False)
    for_csv(waves, ["start", "end"]).to_csv(folder / "waves.csv", index=False)
    png = render_png(data.steps, data.hosts, f"run {data.run_id}")
    (folder / "timeline.png").write_bytes(png)
    (folder / "report.html").write_text(render_html(data, hosts, waves, png), encoding="utf-8")


def _headline(data: RunData) -> tuple[str, str]:
    s = data.steps
    now = s[s["latest"]] if not s.empty else s
    n = {k: int((now["status"] == k).sum()) if not now.empty else 0
         for k in (OK, FAILED, INTERRUPTED, SKIPPED, NOT_RUN)}
    earlier = int((~s["latest"] & s["status"].isin([FAILED, INTERRUPTED])).sum()) \
        if not s.empty else 0
    att = data.attempts[-1] if data.attempts else None
    took = f" in {att['end'] - data.attempts[0]['start']:.0f}s" if att and att["end"] else ""
    counts = ", ".join(f"{v} {k}" for k, v in n.items() if v) or "no step"
    if earlier:
        counts += f" (and {earlier} failed or interrupted in an earlier attempt, run again since)"
    tries = f" after {len(data.attempts)} attempts" if len(data.attempts) > 1 else ""
    outcome = data.outcome
    # Region runs continue by running the same command again: every step checks first.
    again = ("run the same `python runner.py region ...` command again"
             if _is_region(data) else resume_hint(data.events) or f"python runner.py --resume {data.run_id}")
    held = held_at(data.events)
    if held:
        return "warn", f"HELD after {held}{tries}{took}: {counts}. To go on: {again}"
    if outcome == OK and not n[NOT_RUN]:
        return "ok", f"Completed{tries}{took}: {counts}."
    if outcome == OK:
        return "ok", f"Completed the selected waves{tries}{took}: {counts}."
    if outcome == FAILED:
        return "failed", f"FAILED{tries}{took}: {counts}. Fix the cause, then {again}"
    return "warn", f"INTERRUPTED{tries}{took}: {counts}. Resume: {again}"


def _estimated(data: RunData) -> str:
    """The first attempt's estimate of the window (run_start ``estimate_s``), if recorded."""
    for e in data.events:
        if e.get("event") == "run_start" and e.get("estimate_s") is not None:
            return clock(float(e["estimate_s"]))
    return ""


def _is_region(data: RunData) -> bool:
    return str(data.plan.get("mode", "")).startswith("region")


def _failures(data: RunData) -> list[str]:
    s = data.steps
    bad = s[s["status"].isin([FAILED, INTERRUPTED])] if not s.empty else s
    if bad.empty:
        return [html.heading("Failures", "failures"), html.fragment("<p>No step failed.</p>")]
    last = data.attempts[-1]["attempt"] if data.attempts else 1
    parts = [html.heading("Failures", "failures")]
    for _, r in bad.iterrows():
        later = " (an earlier attempt; the run was resumed since)" if r["attempt"] != last else ""
        head = (f"{r['status'].upper()}: {r['host']} — {r['action']} "
                f"(wave {r['wave']}, batch {r['batch']}, attempt {r['attempt']}){later}")
        rc = "" if pd.isna(r["exit_status"]) or "exit status" in str(r["error"]) \
            else f"exit status {int(r['exit_status'])}; "
        parts.append(html.fragment(
            "<div class='failure'><p><b>{{ h }}</b><br>{{ rc }}{{ err }}</p>"
            "<p class='meta'>command: <code>{{ cmd }}</code></p>"
            "{% if out %}<pre>{{ out }}</pre>{% endif %}"
            "{% if log %}<p class='meta'>whole output: <a href='{{ log }}'>{{ log }}</a></p>{% endif %}"
            "</div>",
            h=head, rc=rc, err=r["error"] or "", cmd=r["command"] or "", out=r["output"] or "",
            log=_host_log(data, r["host"])))
    return parts


def _inferred(data: RunData) -> list[str]:
    """Rollback plans: the steps rollback.md marks inferred, with how each ended."""
    keys = {p["key"] for p in plan_steps(data.plan) if p.get("basis") == "I"}
    if not keys:
        return []
    s = data.steps
    mine = s[s["key"].isin(keys)] if not s.empty else s
    return [html.heading("Inferred steps — verify with vendor support", "inferred"),
            html.fragment("<p>{{ n }} step(s) of this plan rest on an inference of "
                          "rollback.md [I], not on vendor text (docs/rollback-commands.md).</p>",
                          n=len(keys)),
            html.table(_steps_view(mine))]


def _host_log(data: RunData, host: str) -> str:
    """The host's whole-output log, relative to the report, if the run wrote one."""
    rel = f"{HOSTS_DIR}/{host}.log"
    return rel if (Path(data.folder) / rel).exists() else ""


def _attempts(data: RunData) -> str:
    rows = [{"attempt": a["attempt"], "outcome": a["outcome"], "start": iso(a["start"]),
             "end": iso(a["end"]), "waves": " ".join(w for w in a["waves"] if w)}
            for a in data.attempts]
    return html.table(pd.DataFrame(rows), empty="the run has not started")


def _steps_view(df: pd.DataFrame) -> pd.DataFrame:
    return for_csv(df, ["start"])[STEP_VIEW]


def render_html(data: RunData, hosts: pd.DataFrame, waves: pd.DataFrame, png: bytes) -> str:
    kind, text = _headline(data)
    plan: dict[str, Any] = data.plan
    parts = [html.fragment("<p class='meta'>target {{ t }} · mode {{ m }} · {{ n }} host(s) · "
                           "{{ w }} wave(s){% if e %} · API endpoint {{ e }}{% endif %}"
                           "{% if est %} · estimated window {{ est }}{% endif %}</p>",
                           t=plan.get("target", "?"), m=plan.get("mode", "?"), n=len(hosts),
                           w=len(waves), e=plan.get("endpoint"), est=_estimated(data)),
             html.banner(kind, text)]
    parts += _failures(data)
    parts += _inferred(data)
    parts += [html.heading("Timeline", "timeline-section"),
              html.png_img(png, f"timeline of run {data.run_id}: one row per host")]
    parts += [html.heading("Attempts"), _attempts(data)]
    parts += [html.heading("Waves", "waves"),
              html.table(for_csv(waves, ["start", "end"]), empty="the plan has no wave")]
    s = data.steps
    for _, w in waves.iterrows():
        mine = s[s["wave"] == w["wave"]]
        parts.append(html.details(f"{w['wave']}: {w['status']} ({len(mine)} step(s))",
                                  html.table(_steps_view(mine)), open_=w["status"] == FAILED))
    parts += [html.heading("Hosts", "hosts"),
              html.table(for_csv(hosts, ["first_start", "last_end"])[HOST_VIEW]
                         if not hosts.empty else hosts)]
    for _, h in hosts.iterrows():
        mine = s[s["host"] == h["host"]]
        parts.append(html.details(f"{h['host']}: {h['outcome']} ({len(mine)} step(s))",
                                  html.table(_steps_view(mine)), open_=h["outcome"] == FAILED))
    parts.append(html.fragment("<p class='meta'>Every row of steps.csv, with commands and the "
                               "last lines of output, is in the run folder {{ f }}.</p>",
                               f=str(data.folder)))
    kind_name = ("Apigee X region run" if _is_region(data) else
                 "Edge rollback run" if plan.get("mode") == "rollback" else "Edge update run")
    return html.page(f"{kind_name} {data.run_id}", parts)
