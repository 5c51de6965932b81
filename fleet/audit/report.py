"""The files of ``reports/audit-TIMESTAMP/``: CSV tables for tools, summary.json for the
next audit's history, and report.html for people (verdict and findings first)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from fleet.audit.analyse import MIXED, NOT_AT_TARGET, NOT_RUNNING, STANDBY, UNREACHABLE, Audit
from fleet.reports import html


def write_audit(folder: Path, audit: Audit, history: pd.DataFrame, stamp: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    hosts = [n.name for n in audit.nodes]
    from fleet.audit.analyse import matrix
    m = matrix(audit.components, hosts)
    audit.components.to_csv(folder / "versions.csv", index=False)
    m.to_csv(folder / "matrix.csv", index=False)
    audit.hosts.to_csv(folder / "hosts.csv", index=False)
    audit.findings.to_csv(folder / "findings.csv", index=False)
    history.to_csv(folder / "history.csv", index=False)
    summary = {"time": stamp, "target": audit.target, "ok": audit.ok,
               "findings": len(audit.findings), "hosts": hosts,
               "by_kind": audit.findings["finding"].value_counts().to_dict()
               if not audit.findings.empty else {}}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (folder / "report.html").write_text(render_html(audit, m, history, stamp), encoding="utf-8")


def headline(audit: Audit) -> str:
    live = [n for n in audit.nodes if n.postgres != STANDBY]
    if audit.ok:
        return f"All {len(live)} host(s) at {audit.target}, every component running."
    f = audit.findings
    parts = []
    for kind in (UNREACHABLE, NOT_AT_TARGET, NOT_RUNNING, MIXED):
        sel = f[f["finding"] == kind]
        if sel.empty:
            continue
        if kind == MIXED:
            parts.append(f"mixed versions of {', '.join(sel['component'])}")
        else:
            hosts = ", ".join(dict.fromkeys(sel["host"]))
            parts.append(f"{kind}: {hosts}")
    rest = f[~f["finding"].isin([UNREACHABLE, NOT_AT_TARGET, NOT_RUNNING, MIXED])]
    if not rest.empty:
        parts.append(f"{len(rest)} other finding(s)")
    return f"NOT at {audit.target} or inconsistent — " + "; ".join(parts) + "."


def _matrix_html(m: pd.DataFrame, target: str, standby: set[str]) -> str:
    if m.empty:
        return html.fragment("<p class='meta'>no version could be read</p>")
    hosts = [c for c in m.columns if c != "component"]

    def cls(host: str, v: str) -> str:
        if host in standby or v in (target, "-"):
            return ""
        return "failed" if v in ("?", "absent") else "behind"
    return html.fragment(
        "<table id='matrix'><thead><tr><th>component</th>{% for h in hosts %}<th>{{ h }}"
        "{% if h in standby %}<br><small>rollback standby</small>{% endif %}</th>"
        "{% endfor %}</tr></thead><tbody>{% for row in rows %}<tr><th>{{ row.component }}</th>"
        "{% for h in hosts %}{% set v = row[h] %}<td class='{{ cls(h, v) }}'>{{ v }}</td>"
        "{% endfor %}</tr>{% endfor %}</tbody></table>",
        hosts=hosts, rows=m.to_dict("records"), standby=standby, cls=cls)


def render_html(audit: Audit, m: pd.DataFrame, history: pd.DataFrame, stamp: str) -> str:
    f, comps, hosts = audit.findings, audit.components, audit.hosts
    standby = hosts[hosts["postgres"] == STANDBY] if not hosts.empty else hosts
    main_hosts = hosts[hosts["postgres"] != STANDBY] if not hosts.empty else hosts
    live = comps[~comps["rollback_standby"]] if not comps.empty else comps
    parts: list[str] = [
        html.fragment("<p class='meta'>{{ s }} · target {{ t }} · {{ n }} host(s)</p>",
                      s=stamp, t=audit.target, n=len(audit.nodes)),
        html.banner("ok" if audit.ok else "failed", headline(audit)),
        html.heading("Findings", "findings"),
        html.table(f, empty="none: the installation is at target and consistent"),
        html.heading("Versions: component × host", "versions"),
        html.fragment("<p class='meta'>cells not at {{ t }} are highlighted; '-' the host has "
                      "no such component; '?' the host could not be read; 'absent' the "
                      "inventory lists it but the host does not</p>", t=audit.target),
        _matrix_html(m, audit.target, {n.name for n in audit.nodes if n.postgres == STANDBY}),
        html.heading("Hosts not at target", "behind"),
        html.table(main_hosts[main_hosts["state"] != "at target"] if not main_hosts.empty
                   else main_hosts, empty="none"),
        html.heading("Components not running", "down"),
        html.table(live[live["running"] == False][["host", "component", "service", "version"]]  # noqa: E712
                   if not live.empty else live, empty="none"),
        html.heading("Mixed versions", "mixed"),
        html.table(f[f["finding"] == MIXED][["component", "detail"]] if not f.empty else f,
                   empty="none: each component runs one version everywhere"),
        html.heading("Rollback standby (kept on the old version; not judged)", "standby"),
        html.table(_standby(standby, comps), empty="no rollback standby in the inventory"),
        html.heading("Every host", "hosts"), html.table(hosts),
        html.heading("Run history", "history"),
        html.table(history.drop(columns=["folder"]) if not history.empty else history,
                   empty="no earlier run or audit in the reports folder"),
    ]
    return html.page(f"Edge installation audit {stamp}", parts)


def _standby(standby: pd.DataFrame, comps: pd.DataFrame) -> pd.DataFrame:
    if standby.empty:
        return standby
    rows: list[dict[str, Any]] = []
    for _, h in standby.iterrows():
        mine = comps[comps["host"] == h["host"]]
        for _, c in mine.iterrows():
            rows.append({"host": h["host"], "state": h["state"], "component": c["component"],
                         "version": c["version"],
                         "running": "" if c["running"] is None else
                         ("running" if c["running"] else "not running"), "error": h["error"]})
        if mine.empty:
            rows.append({"host": h["host"], "state": h["state"], "error": h["error"]})
    return pd.DataFrame(rows)
