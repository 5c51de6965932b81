"""The files of a run folder that a person reads: steps.csv, hosts.csv, waves.csv,
timeline.png, report.html (the whole run, every attempt) and attempt-N.html (one per
attempt, so a resume never overwrites the report of the attempt that failed). A page has
the outcome and failures first, the timeline, then per wave and per host. While the run
goes on, report.html is a live page (``live=True``) that reloads itself."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from fleet.reports import html
from fleet.reports.axis import duration
from fleet.reports.files import write_atomic
from fleet.reports.frames import (FAILED, HELD, INTERRUPTED, NOT_RUN, OK, RUNNING, SKIPPED,
                                  RunData, for_csv, host_rows, load_run, plan_steps, wave_rows)
from fleet.reports.timeline import render_png
from fleet.reports.views import (clock, clock_format, hosts_view, status_class, steps_view,
                                 waves_view)
from fleet.run.hostlog import HOSTS_DIR
from fleet.run.identity import held_at, resume_hint

COMBINED = "report.html"
REFRESH = 5                  # seconds between reloads of a live page


def attempt_page(n: int) -> str:
    return f"attempt-{n}.html"


def write_run_reports(folder: Path, live: bool = False) -> None:
    """Write every report file of the run folder ``reports/RUN_ID/`` from its journal.
    ``live``: only report.html, as the run stands now, reloading itself. Each file is
    replaced whole (temporary file and rename), never seen half written."""
    folder = Path(folder)
    data = load_run(folder, live=live)
    if live:
        write_atomic(folder / COMBINED, _page(data))
        return
    hosts = host_rows(data)
    waves = wave_rows(data)
    write_atomic(folder / "steps.csv", for_csv(data.steps, ["start", "end"]).to_csv(index=False))
    write_atomic(folder / "hosts.csv",
                 for_csv(hosts, ["first_start", "last_end"]).to_csv(index=False))
    write_atomic(folder / "waves.csv", for_csv(waves, ["start", "end"]).to_csv(index=False))
    png = _png(data)
    write_atomic(folder / "timeline.png", png)
    write_atomic(folder / COMBINED, render_html(data, hosts, waves, png))
    last = data.attempts[-1]["attempt"] if data.attempts else 0
    for a in data.attempts:
        # an earlier attempt's page is kept as written when that attempt ended; one that
        # was never written (the runner was killed) is written now from the journal
        path = folder / attempt_page(a["attempt"])
        if len(data.attempts) == 1:        # the whole run is that attempt: same tables
            one = replace(data, attempt=a["attempt"])
            write_atomic(path, render_html(one, hosts, waves, png))
        elif a["attempt"] == last or not path.exists():
            write_atomic(path, _page(load_run(folder, attempt=a["attempt"])))


def _page(data: RunData) -> str:
    return render_html(data, host_rows(data), wave_rows(data), _png(data))


def _png(data: RunData) -> bytes:
    what = f"run {data.run_id}" + (f", attempt {data.attempt}" if data.attempt else "")
    return render_png(data.steps, data.hosts, what,
                      {a["attempt"]: a["end"] for a in data.attempts if a["end"]})


def _headline(data: RunData) -> tuple[str, str]:
    s = data.steps
    now = s[s["latest"]] if not s.empty else s
    n = {k: int((now["status"] == k).sum()) if not now.empty else 0
         for k in (OK, FAILED, INTERRUPTED, SKIPPED, NOT_RUN)}
    earlier = int((~s["latest"] & s["status"].isin([FAILED, INTERRUPTED])).sum()) \
        if not s.empty else 0
    att = data.attempts[-1] if data.attempts else None
    began = att["start"] if att and data.attempt else \
        data.attempts[0]["start"] if data.attempts else None
    took = f" in {duration(att['end'] - began)}" if att and att["end"] and began else ""
    if took and len(data.attempts) > 1 and not data.attempt:
        took += f" ({duration(sum(a['end'] - a['start'] for a in data.attempts))} of it working)"
    counts = ", ".join(f"{v} {k}" for k, v in n.items() if v) or "no step"
    if earlier:
        counts += f" (and {earlier} failed or interrupted in an earlier attempt, run again since)"
    if data.done_before:
        counts += f"; {data.done_before} step(s) were done by earlier attempts"
    tries = f" after {len(data.attempts)} attempts" \
        if len(data.attempts) > 1 and not data.attempt else ""
    if data.attempt:
        tries = f" (attempt {data.attempt}{', a resume' if data.attempt > 1 else ''})"
    outcome = data.outcome
    if outcome == RUNNING:
        return "live", _progress(data, n)
    # Region runs continue by running the same command again: every step checks first.
    again = ("run the same `python runner.py region ...` command again"
             if _is_region(data) else resume_hint(data.events) or f"python runner.py --resume {data.run_id}")
    if outcome == HELD:                  # this attempt held (not an earlier one, resumed since)
        return "warn", f"HELD after {held_at(data.events)}{tries}{took}: {counts}. To go on: {again}"
    if outcome == OK and not n[NOT_RUN]:
        return "ok", f"Completed{tries}{took}: {counts}."
    if outcome == OK:
        return "ok", f"Completed the selected waves{tries}{took}: {counts}."
    if outcome == FAILED:
        return "failed", f"FAILED{tries}{took}: {counts}. Fix the cause, then {again}"
    return "warn", f"INTERRUPTED{tries}{took}: {counts}. Resume: {again}"


def _estimated(data: RunData) -> str:
    """The first attempt's estimate of the window (run_start ``estimate_s``), if recorded."""
    est = next((a["estimate"] for a in data.attempts if "estimate" in a), None)
    return duration(est) if est is not None else ""


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


def _inferred(data: RunData, fmt: str) -> list[str]:
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
            html.table(steps_view(mine, fmt))]


def _host_log(data: RunData, host: str) -> str:
    """The host's whole-output log, relative to the report, if the run wrote one."""
    rel = f"{HOSTS_DIR}/{host}.log"
    return rel if (Path(data.folder) / rel).exists() else ""


def _progress(data: RunData, n: dict[str, int]) -> str:
    """The banner of a live page: where the run is, how far, when this was written."""
    att = data.attempts[-1]
    wave = next((e.get("wave") for e in reversed(data.events)
                 if e.get("event") == "wave_start" and e.get("attempt") == att["attempt"]), None)
    running = int((data.steps["status"] == RUNNING).sum()) if not data.steps.empty else 0
    done = n[OK] + n[FAILED]
    total = sum(n.values()) + running
    where = f", wave {wave}" if wave else ""
    again = f" (attempt {att['attempt']})" if att["attempt"] > 1 else ""
    now = time.time()
    stamp = time.strftime("%H:%M:%S UTC", time.gmtime(now))
    est = att.get("estimate")
    window = (f" {duration(now - att['start'])} of an estimated {duration(est)} gone."
              if est else "")
    mine = [e for e in data.events if e.get("attempt") == att["attempt"]
            and e.get("event") in ("hold", "hold_end")]
    if mine and mine[-1]["event"] == "hold":             # asking the operator, at a terminal
        h = mine[-1]
        where = (f", HELD after wave {h.get('wave')} batch {int(h.get('batch', 0)) + 1} "
                 f"({h.get('reason', 'hold point')}): waiting for the operator to continue")
    return (f"IN PROGRESS{again}{where}: {done} of {total} step(s) done, {running} running"
            f"{f', {n[FAILED]} failed' if n[FAILED] else ''}.{window} Updated {stamp}; this "
            f"page reloads every {REFRESH} s until the run ends.")


def _nav(data: RunData) -> str:
    """Links between the combined report and the report of each attempt."""
    if not data.attempts:
        return ""
    here, last = data.attempt, data.attempts[-1]["attempt"]
    items = [("whole run", COMBINED, here is None)]
    # a live page links the attempts that ended (their pages exist), not the running one
    items += [(f"attempt {a['attempt']}: {a['outcome']}",
               "" if data.live and a["attempt"] == last else attempt_page(a["attempt"]),
               here == a["attempt"]) for a in data.attempts]
    return html.fragment(
        "<nav class='attempts'>Reports of this run: {% for t, href, cur in items %}"
        "{% if cur or not href %}<b>{{ t }}</b>{% else %}<a href='{{ href }}'>{{ t }}</a>"
        "{% endif %}{% endfor %}</nav>", items=items)


def _attempts(data: RunData, fmt: str) -> str:
    """One row per attempt; with the runner's estimate of its window (journaled at its
    start, fleet/plan/estimate.py) beside what it took, when the journal has one."""
    rows = []
    for a in data.attempts:
        if data.attempt and a["attempt"] != data.attempt:
            continue
        took = (a["end"] or a["start"]) - a["start"]
        row = {"attempt": a["attempt"], "outcome": a["outcome"],
               "start": clock(a["start"], fmt), "end": clock(a["end"], fmt),
               "took": duration(took), "estimated": "", "vs estimate": ""}
        est = a.get("estimate")
        if est is not None:
            row["estimated"] = duration(est)
            if est > 0 and a["outcome"] == OK:
                row["vs estimate"] = f"{(took - est) / est * 100:+.0f} %"
        rows.append(row | {"waves": " ".join(w for w in a["waves"] if w)})
    df = pd.DataFrame(rows)
    if not df.empty and not any(a.get("estimate") is not None for a in data.attempts):
        df = df.drop(columns=["estimated", "vs estimate"])
    return html.table(df, empty="the run has not started")


def render_html(data: RunData, hosts: pd.DataFrame, waves: pd.DataFrame, png: bytes) -> str:
    kind, text = _headline(data)
    plan: dict[str, Any] = data.plan
    s = data.steps.reset_index(drop=True)
    fmt = clock_format([a["start"] for a in data.attempts] + [a["end"] for a in data.attempts])
    began = data.attempts[0]["start"] if data.attempts else None
    parts = [html.fragment("<p class='meta'>{% if d %}{{ d }} (times UTC) · {% endif %}"
                           "target {{ t }} · mode {{ m }} · {{ n }} host(s) · "
                           "{{ w }} wave(s){% if e %} · API endpoint {{ e }}{% endif %}"
                           "{% if est %} · estimated window {{ est }}{% endif %}</p>",
                           d=clock(began, "%Y-%m-%d") if began else "",
                           t=plan.get("target", "?"), m=plan.get("mode", "?"), n=len(hosts),
                           w=len(waves), e=plan.get("endpoint"), est=_estimated(data)),
             _nav(data), html.banner(kind, text)]
    parts += _failures(data)
    parts += _inferred(data, fmt)
    parts += [html.heading("Timeline", "timeline-section"),
              html.png_img(png, f"timeline of run {data.run_id}: one row per host")]
    parts += [html.heading("Attempts"), _attempts(data, fmt)]
    parts += [html.heading("Waves", "waves"),
              html.table(waves_view(waves, fmt), empty="the plan has no wave",
                         row_class=status_class, id_="waves-table")]
    view = steps_view(s, fmt)                  # once; grouped below (200 hosts: 200 tables)
    by_wave = dict(tuple(view.groupby(s["wave"], sort=False))) if not s.empty else {}
    by_host = dict(tuple(view.groupby(s["host"], sort=False))) if not s.empty else {}
    for _, w in waves.iterrows():
        mine = by_wave.get(w["wave"], view.iloc[0:0])
        parts.append(html.details(f"{w['wave']}: {w['status']} ({len(mine)} step(s))",
                                  html.table(mine, row_class=status_class),
                                  open_=w["status"] in (FAILED, RUNNING)))
    parts += [html.heading("Hosts", "hosts"),
              html.table(hosts_view(hosts, fmt), row_class=status_class, id_="hosts-table")]
    for _, h in hosts.iterrows():
        mine = by_host.get(h["host"], view.iloc[0:0])
        parts.append(html.details(f"{h['host']}: {h['outcome']} ({len(mine)} step(s))",
                                  html.table(mine, row_class=status_class),
                                  open_=h["outcome"] == FAILED))
    parts.append(html.fragment("<p class='meta'>Every row of steps.csv, with commands and the "
                               "last lines of output, is in the run folder {{ f }}.</p>",
                               f=str(data.folder)))
    kind_name = ("Apigee X region run" if _is_region(data) else
                 "Edge rollback run" if plan.get("mode") == "rollback" else "Edge update run")
    title = f"{kind_name} {data.run_id}" + (f", attempt {data.attempt}" if data.attempt else "")
    return html.page(title, parts, refresh=REFRESH if data.outcome == RUNNING else 0)
