"""Reports and audit against what really happened in the lab: a run that fails, is resumed
and completes; the audit of the finished lab and of a half-updated one."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from fleet.run.journal import step_key
from tests.reports.lablib import components, events, explain, runner, secret_values

pytestmark = pytest.mark.lab       # starts a lab or a browser (tests/conftest.py)

lab_module = pytest.importorskip("lab")


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """5-node lab: `--all` fails on m2's Cassandra/ZooKeeper update; the report of that
    attempt is kept aside; the fault cleared, `--resume` completes; then an audit."""
    base = tmp_path_factory.mktemp("resumed")
    reports = base / "reports"
    with lab_module.Lab.start(topology="5-node", directory=base / "lab", speed=0.0) as lab:
        lab.fault("m2", "fail-always", match="update.sh -c cs,zk")
        first = runner(lab, "--all", reports=reports)
        assert first.returncode == 1, explain(first)
        (folder,) = [p for p in reports.iterdir() if (p / "journal.jsonl").exists()]
        kept = base / "attempt1"
        shutil.copytree(folder, kept)
        lab.clear_faults()
        second = runner(lab, "--resume", folder.name, reports=reports)
        assert second.returncode == 0, explain(second)
        audit = runner(lab, "audit", reports=reports)
        return SimpleNamespace(reports=reports, folder=folder, first=kept, audit=audit,
                               secrets=secret_values(lab))


def _rows(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "steps.csv", keep_default_na=False, dtype=str)


def _plan_keys(folder: Path) -> set[str]:
    import json
    plan = json.loads((folder / "plan.json").read_text())
    keys = set()
    for wi, wave in enumerate(plan["waves"]):
        for bi, batch in enumerate(wave["batches"]):
            seen: dict[str, int] = {}
            for s in batch["steps"]:
                keys.add(step_key(wi, bi, s["host"], seen.get(s["host"], 0)))
                seen[s["host"]] = seen.get(s["host"], 0) + 1
    return keys


@pytest.mark.parametrize("which", ["first", "folder"])
def test_every_journal_step_is_a_row_with_the_right_status(resumed, which):
    folder = getattr(resumed, which)
    df = _rows(folder)
    rows = {(r.attempt, r.key): r for r in df.itertuples()}
    evts = events(folder)
    ends = [e for e in evts if e["event"] == "step_end"]
    assert ends
    for e in ends:
        r = rows[(str(e["attempt"]), e["key"])]
        assert (r.status, r.host, r.action, r.wave) == (e["status"], e["host"], e["action"], e["wave"])
        assert r.exit_status == ("" if e["rc"] is None else str(e["rc"]))
    started = {(e["attempt"], e["key"]) for e in evts if e["event"] == "step_start"}
    ended = {(e["attempt"], e["key"]) for e in ends}
    for a, k in started - ended:
        assert rows[(str(a), k)].status == "interrupted"
    assert len(df) == len(ends) + len(started - ended) + (df["status"].isin(["not run", "skipped"])).sum()
    assert _plan_keys(folder) <= set(df["key"])                  # every plan step is a row
    if which == "first":
        assert set(df[df["status"] == "failed"]["host"]) == {"m2"}
        assert (df["status"] == "not run").sum() > 0             # waves after cs_zk never ran
        assert set(df[df["status"] == "not run"]["wave"]) >= {"qpid", "ldap", "edge", "validate"}
    else:
        latest = df[df["latest"] == "True"]
        assert set(latest["status"]) == {"ok"}
        assert set(df["attempt"]) == {"1", "2"}
        assert set(df[df["attempt"] == "1"]["attempt_outcome"]) == {"failed"}


def test_a_failed_run_shows_the_failure_at_the_top(resumed):
    page = (resumed.first / "report.html").read_text()
    banner = re.search(r"<div class='banner (\w+)' id='outcome'>([^<]*)", page)
    assert banner and banner.group(1) == "failed" and banner.group(2).startswith("FAILED")
    failure = page.index("FAILED: m2 — update (wave cs_zk")
    assert failure < page.index("id='timeline-section'")
    assert "injected fault" in page[failure:page.index("id='timeline-section'")]
    final = (resumed.folder / "report.html").read_text()
    assert "Completed after 2 attempts" in final
    assert "an earlier attempt; the run was resumed since" in final
    hosts = pd.read_csv(resumed.folder / "hosts.csv", keep_default_na=False).set_index("host")
    assert set(hosts["outcome"]) == {"ok"}
    # as the packages carry them: Cassandra its upstream build, Edge-built ones the release
    assert "cs=2.1.16-0.0.2046" in hosts.loc["m1", "final_versions"]
    assert "ms=4.18.01" in hosts.loc["m1", "final_versions"]
    if (resumed.folder / "hosts.json").exists():             # written by the runner at run start
        assert hosts.loc["m1", "dc"] == "dc-1"


def test_a_secret_appears_in_no_file(resumed):
    assert resumed.secrets
    files = [p for p in resumed.reports.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in files) and any("audit-" in str(p) for p in files)
    for p in files:
        data = p.read_bytes()
        for s in resumed.secrets:
            assert s.encode() not in data, f"a secret is in {p}"


def test_the_audit_of_the_updated_lab_passes_and_lists_the_run(resumed):
    assert resumed.audit.returncode == 0, explain(resumed.audit)
    (audit,) = [p for p in resumed.reports.iterdir() if p.name.startswith("audit-")]
    history = pd.read_csv(audit / "history.csv", keep_default_na=False)
    run = history[history["id"] == resumed.folder.name].iloc[0]
    assert run["outcome"] == "ok" and run["attempts"] == 2 and "cs_zk" in run["waves"]
    assert pd.read_csv(audit / "findings.csv").empty


def test_the_audit_of_a_half_updated_lab_flags_exactly_what_is_behind(tmp_path):
    reports = tmp_path / "reports"
    with lab_module.Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        res = runner(lab, "--wave", "prepare,cs_zk,qpid", reports=reports)
        assert res.returncode == 0, explain(res)
        lab.set_state("m3", version="4.16.09", components=["cs"])       # m3's Cassandra rolled back
        lab.set_state("m2", component_state="stopped", components=["r"])
        lab.fault("m5", "refuse")
        audit = runner(lab, "audit", reports=reports)
        hosts = [h for h in lab.hosts if lab.host_data(h).get("postgres") != "rollback_standby"]
        comps = {h: components(lab, h) for h in hosts}
    assert audit.returncode == 1, explain(audit)
    (folder,) = [p for p in reports.iterdir() if p.name.startswith("audit-")]
    f = pd.read_csv(folder / "findings.csv", keep_default_na=False)
    got = {(r.finding, r.host, r.component) for r in f.itertuples()}
    behind = {("not at target", h, c) for h in hosts if h != "m5"
              for c in comps[h] - {"cs", "zk", "qpid"}} | {("not at target", "m3", "cs")}
    assert got == behind | {("not running", "m2", "r"), ("unreachable", "m5", ""),
                            ("mixed versions", "", "cs")}
    m = pd.read_csv(folder / "matrix.csv", keep_default_na=False).set_index("component")
    assert m.loc["cs", "m1"] == "2.1.16-0.0.2046" and m.loc["cs", "m3"] == "2.1.13-0.0.1017"
    assert m.loc["qpid", "m5"] == "?"
    page = (folder / "report.html").read_text()
    assert "unreachable: m5" in page and "Rollback standby" in page
    assert "pgr" in page[page.index("id='standby'"):page.index("id='hosts'")]
    # each host once per table: findings one row per host and kind, no section repeating
    # another (the audit used to list the hosts behind three times)
    assert "Hosts not at target" not in page and "Components not running" not in page
    findings = page[page.index("id='findings'"):page.index("id='versions'")]
    assert findings.count("<td>not at target</td>") == 4               # m1, m2, m3, m4
    pairs = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", findings)
    assert len(pairs) == len(set(pairs)) == 7, pairs
    for part, end in (("versions", "id='standby'"), ("hosts", "id='history'")):
        table = page[page.index(f"id='{part}'"):page.index(end)]
        for h in ("m1", "m2", "m3", "m4"):
            assert len(re.findall(rf"<t[dh]>{h}(<|</t[dh]>)", table)) == 1, (part, h)


def test_a_killed_attempt_stays_in_the_report_of_the_resumed_run(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.reports.lablib import ROOT

    reports = tmp_path / "reports"
    with lab_module.Lab.start(topology="2-node", directory=tmp_path / "lab", speed=0.0) as lab:
        lab.fault("m1", "hang", match="update.sh -c ldap")
        proc = subprocess.Popen([sys.executable, str(ROOT / "runner.py"), "--all", "--yes",
                                 "--config", str(lab.config_path), "--reports", str(reports)],
                                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1"))
        try:
            deadline = time.monotonic() + 120
            key = None
            while key is None and time.monotonic() < deadline:
                time.sleep(0.2)
                for folder in reports.glob("*/journal.jsonl"):
                    key = next((e["key"] for e in events(folder.parent)
                                if e["event"] == "step_start" and e["wave"] == "ldap"
                                and e["action"] == "update"), None)
            assert key, "the ldap update never started"
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        (folder,) = [p.parent for p in reports.glob("*/journal.jsonl")]
        lab.clear_faults()
        res = runner(lab, "--resume", folder.name, reports=reports)
        assert res.returncode == 0, explain(res)
    df = _rows(folder)
    killed = df[(df["key"] == key) & (df["attempt"] == "1")].iloc[0]
    assert (killed["status"], killed["attempt_outcome"], killed["latest"]) == (
        "interrupted", "interrupted", "False")
    again = df[(df["key"] == key) & (df["attempt"] == "2")].iloc[0]
    assert (again["status"], again["latest"]) == ("ok", "True")
    page = (folder / "report.html").read_text()
    assert "INTERRUPTED: m1 — update (wave ldap" in page and "Completed after 2 attempts" in page


def test_each_attempt_keeps_its_own_report_and_the_combined_one_shows_both(resumed):
    first, folder = resumed.first, resumed.folder
    # the resume did not overwrite the failed attempt's page
    assert (folder / "attempt-1.html").read_bytes() == (first / "attempt-1.html").read_bytes()
    one = (folder / "attempt-1.html").read_text()
    two = (folder / "attempt-2.html").read_text()
    whole = (folder / "report.html").read_text()
    assert "FAILED (attempt 1)" in one and "FAILED: m2 — update (wave cs_zk" in one
    assert "Completed (attempt 2, a resume)" in two and "done by earlier attempts" in two
    assert "FAILED: m2" not in two                     # attempt 2 had no failure of its own
    assert "Completed after 2 attempts" in whole
    attempts = whole[whole.index(">Attempts<"):whole.index("id='waves'")]
    assert attempts.count("<tr>") == 3 and ">failed<" in attempts and ">ok<" in attempts
    # the pages link each other (the failed attempt's page, kept as written, links the whole run)
    for page in (whole, two, (folder / "attempt-1.html").read_text()):
        links = {x for x in re.findall(r"href='([^']+)'", page) if not x.startswith("hosts/")}
        assert links and links <= {"report.html", "attempt-1.html", "attempt-2.html"}
    assert "attempt-2.html" in whole and "report.html" in two
    steps = _rows(folder)
    # attempt 2's page lists attempt 2's steps only: cs_zk on m2 again, none of prepare
    assert "prepare: " not in two and "prepare: " in one
    assert set(steps[steps["attempt"] == "2"]["wave"]) >= {"cs_zk", "validate"}
