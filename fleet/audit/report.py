"""The files of ``reports/audit-TIMESTAMP/``: CSV tables for tools, summary.json for the
next audit's history, and report.html for people (verdict and findings first)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from fleet.audit.analyse import MIXED, NOT_AT_TARGET, NOT_RUNNING, STANDBY, UNREACHABLE, Audit
from fleet.reports import html
from fleet.reports.files import write_atomic


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
    write_atomic(folder / "report.html", render_html(audit, m, history, stamp))


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


def grouped_findings(f: pd.DataFrame) -> pd.DataFrame:
    """One row per finding and host (the components of that host in one cell), so that a
    host eight components behind is one row, not eight."""
    if f.empty:
        return f
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for _, r in f.iterrows():
        key = (r["finding"], r["host"] or r["component"])
        row = rows.setdefault(key, {"finding": r["finding"], "host": r["host"],
                                    "components": [], "detail": []})
        row["components"].append(r["component"])
        if r["finding"] == NOT_AT_TARGET:           # "4.16.09 (target 4.18.01)" per component
            row["detail"].append(f"{r['component']} {str(r['detail']).split(' (')[0]}")
        elif r["detail"] and r["detail"] not in row["detail"]:
            row["detail"].append(str(r["detail"]))
    return pd.DataFrame([{**r, "components": " ".join(c for c in r["components"] if c),
                          "detail": "; ".join(r["detail"])} for r in rows.values()])


def _matrix_html(m: pd.DataFrame, comps_df: pd.DataFrame, standby: set[str]) -> str:
    """host × component (a row per host: an installation has far more hosts than
    components, and rows grow down the page, not off its side). A cell is highlighted by
    the release rule (a third-party build at target is not 'behind')."""
    if m.empty:
        return html.fragment("<p class='meta'>no version could be read</p>")
    hosts = [c for c in m.columns if c != "component"]
    comps = list(m["component"])
    by_host = {h: dict(zip(comps, m[h], strict=True)) for h in hosts}
    ok = {(r.host, r.component) for r in comps_df.itertuples() if r.at_target is True}

    def cls(host: str, v: str, comp: str = "") -> str:
        if host in standby or v == "-" or (host, comp) in ok:
            return ""
        return "failed" if v in ("?", "absent") else "behind"
    return html.fragment(
        "<div class='wide'><table id='matrix'><thead><tr><th>Host</th>"
        "{% for c in comps %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>"
        "{% for h in hosts %}<tr><th>{{ h }}{% if h in standby %}<br><small>rollback "
        "standby</small>{% endif %}</th>{% for c in comps %}{% set v = by_host[h][c] %}"
        "<td class='{{ cls(h, v, c) }}'>{{ v }}</td>{% endfor %}</tr>{% endfor %}"
        "</tbody></table></div>", hosts=hosts, comps=comps, by_host=by_host, standby=standby,
        cls=cls)


def _host_class(df: pd.DataFrame) -> list[str]:
    return ["" if s in ("at target", "") else "failed" if s == UNREACHABLE else "behind"
            for s in df["state"]]


def render_html(audit: Audit, m: pd.DataFrame, history: pd.DataFrame, stamp: str) -> str:
    """Verdict, findings (each host once per kind of finding), the version matrix, the
    hosts, the rollback standby, the history: every host appears once per table."""
    f, comps, hosts = audit.findings, audit.components, audit.hosts
    standby = hosts[hosts["postgres"] == STANDBY] if not hosts.empty else hosts
    main_hosts = hosts[hosts["postgres"] != STANDBY] if not hosts.empty else hosts
    parts: list[str] = [
        html.fragment("<p class='meta'>{{ s }} · target {{ t }} · {{ n }} host(s)</p>",
                      s=stamp, t=audit.target, n=len(audit.nodes)),
        html.banner("ok" if audit.ok else "failed", headline(audit)),
        html.heading("Findings", "findings"),
        html.table(grouped_findings(f), empty="none: the installation is at target and "
                   "consistent"),
        html.heading("Versions: host × component", "versions"),
        html.fragment("<p class='meta'>cells not at {{ t }} are highlighted; '-' the host has "
                      "no such component; '?' the host could not be read; 'absent' the "
                      "inventory lists it but the host does not</p>", t=audit.target),
        _matrix_html(m, comps, {n.name for n in audit.nodes if n.postgres == STANDBY}),
        html.heading("Rollback standby (kept on the old version; not judged)", "standby"),
        html.table(_standby(standby, comps), empty="no rollback standby in the inventory"),
        html.heading("Hosts", "hosts"),
        html.table(main_hosts.drop(columns=["versions"]) if not main_hosts.empty
                   else main_hosts, row_class=_host_class, empty="no host"),
        html.heading("Run history", "history"),
        html.table(history.drop(columns=["folder"]) if not history.empty else history,
                   empty="no earlier run or audit in the reports folder"),
    ]
    return html.page(f"Edge installation audit {stamp}", parts)


def _standby(standby: pd.DataFrame, comps: pd.DataFrame) -> pd.DataFrame:
    """One row per rollback standby: its components and what they run."""
    if standby.empty:
        return standby
    rows: list[dict[str, Any]] = []
    for _, h in standby.iterrows():
        mine = comps[comps["host"] == h["host"]]
        rows.append({"host": h["host"], "state": h["state"],
                     "components": " ".join(mine["component"]),
                     "versions": " ".join(f"{c}={v}" for c, v in
                                          zip(mine["component"], mine["version"], strict=True) if v),
                     "not_running": " ".join(mine[mine["running"] == False]["component"]),  # noqa: E712
                     "error": h["error"]})
    return pd.DataFrame(rows)
