"""Run reports from synthetic journals: every journal step is a row with its status, plan
steps that never started are rows too, a resumed run keeps the interrupted attempt."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from fleet.reports import load_run, write_run_reports
from tests.reports.synthetic import SECRET, Writer, into_cs_zk, small_plan

FILES = ("steps.csv", "hosts.csv", "waves.csv", "timeline.png", "report.html")


def failed_run(tmp_path: Path) -> Writer:
    """preflight ok; cs_zk batch 1 ok on m1; batch 2: m2 fails its update, m3 completes."""
    w = into_cs_zk(tmp_path)
    w.step(1, 0, "m1", 0)
    w.step(1, 0, "m1", 1, output="apigee-cassandra-4.18.01-0.0.20042\n"
                                 "apigee-zookeeper-4.18.01-0.0.20042")
    w.step(1, 1, "m2", 0, status="failed", rc=3, output="update.sh: ERROR: disk full")
    w.step(1, 1, "m3", 0)
    w.step(1, 1, "m3", 1)
    w.end("failed")
    return w


def steps_csv(w: Writer) -> pd.DataFrame:
    return pd.read_csv(w.folder / "steps.csv", keep_default_na=False)


def test_every_journal_step_is_a_row_with_its_status(tmp_path):
    w = failed_run(tmp_path)
    write_run_reports(w.folder)
    for name in FILES:
        assert (w.folder / name).stat().st_size > 0, name
    df = steps_csv(w)
    got = {(r.key, r.status) for r in df.itertuples()}
    ends = {(e["key"], e["status"]) for e in w.journal.events() if e["event"] == "step_end"}
    assert ends <= got
    # the plan's other steps: skipped after m2's failure in its chain, not run after it
    assert ("1/1/m2/1", "skipped") in got
    assert {k for k, s in got if s == "not run"} == {"2/0/m2/0", "2/0/m2/1", "2/0/m3/0", "2/0/m3/1"}
    assert len(df) == sum(1 for _ in small_plan().iter_steps())
    failed = df[df["status"] == "failed"].iloc[0]
    assert (failed["host"], failed["wave"], failed["batch"]) == ("m2", "cs_zk", 2)
    assert str(failed["exit_status"]) == "3"
    assert failed["dc"] == "dc-1" and str(failed["machine"]) == "2"
    assert "disk full" in failed["output"]
    assert float(failed["duration_s"]) == 5.0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", failed["start"])
    assert set(df.columns) >= {"run_id", "attempt", "wave", "batch", "host", "dc", "machine",
                               "action", "command", "start", "end", "duration_s", "status",
                               "exit_status", "output"}


def test_hosts_and_waves(tmp_path):
    w = failed_run(tmp_path)
    write_run_reports(w.folder)
    hosts = pd.read_csv(w.folder / "hosts.csv", keep_default_na=False).set_index("host")
    assert hosts.loc["m2", "outcome"] == "failed"
    assert hosts.loc["m1", "outcome"] == "ok"
    assert hosts.loc["m3", "outcome"] == "incomplete"          # its edge wave never ran
    assert hosts.loc["m1", "final_versions"] == "cs=4.18.01 zk=4.18.01"
    assert hosts.loc["m3", "dc"] == "dc-2"
    assert hosts.loc["m1", "waves_run"] == "preflight cs_zk"
    assert int(hosts.loc["m2", "steps_failed"]) == 1 and int(hosts.loc["m2", "steps_not_run"]) == 2
    waves = pd.read_csv(w.folder / "waves.csv", keep_default_na=False).set_index("wave")
    assert list(waves["status"]) == ["ok", "failed", "not run"]


def test_resumed_run_keeps_the_interrupted_attempt(tmp_path):
    w = Writer(tmp_path, small_plan())
    w.start(1)
    w.wave(0)
    for h in ("m1", "m2", "m3"):
        w.step(0, 0, h, 0)
    w.wave(1)
    w.step(1, 0, "m1", 0, end=False)          # killed here: no step_end, no run_end
    w.start(2)
    w.wave(0)
    w.wave(1)
    w.step(1, 0, "m1", 0)
    w.step(1, 0, "m1", 1)
    w.step(1, 1, "m2", 0)
    w.step(1, 1, "m2", 1)
    w.step(1, 1, "m3", 0)
    w.step(1, 1, "m3", 1)
    w.wave(2)
    for h in ("m2", "m3"):
        w.step(2, 0, h, 0)
        w.step(2, 0, h, 1)
    w.end("ok")
    write_run_reports(w.folder)
    df = steps_csv(w)
    first = df[df["attempt"] == 1]
    assert set(first["attempt_outcome"]) == {"interrupted"}
    killed = first[first["key"] == "1/0/m1/0"].iloc[0]
    assert killed["status"] == "interrupted" and killed["end"] == ""
    assert set(df[df["attempt"] == 2]["status"]) == {"ok"}
    assert "not run" not in set(df["status"])
    # the interrupted row is history; the re-run is the current state
    again = df[df["key"] == "1/0/m1/0"]
    assert list(again["attempt"]) == [1, 2] and list(again["latest"]) == [False, True]
    data = load_run(w.folder)
    assert [a["outcome"] for a in data.attempts] == ["interrupted", "ok"]
    page = (w.folder / "report.html").read_text()
    assert "Completed after 2 attempts" in page and "earlier attempt" in page
    waves = pd.read_csv(w.folder / "waves.csv").set_index("wave")
    assert waves.loc["cs_zk", "status"] == "ok" and waves.loc["cs_zk", "steps_interrupted"] == 1


def test_undo_steps_are_rows(tmp_path):
    w = failed_run(tmp_path)
    lines = (w.folder / "journal.jsonl").read_text().splitlines()
    w.event("step_end", key="1/1/m2/0/undo0", wave="cs_zk", wave_index=1, batch=1, host="m2",
            index=0, action="unblock", kind="shell", command="iptables -D INPUT x",
            status="ok", rc=0, output="", error="", start=w.clock.tick(), end=w.clock.tick(), vars={})
    assert len((w.folder / "journal.jsonl").read_text().splitlines()) == len(lines) + 1
    write_run_reports(w.folder)
    df = steps_csv(w)
    undo = df[df["key"] == "1/1/m2/0/undo0"]
    assert list(undo["status"]) == ["ok"] and list(undo["action"]) == ["unblock"]


def test_report_html_puts_the_failure_first_and_stands_alone(tmp_path):
    w = failed_run(tmp_path)
    write_run_reports(w.folder)
    page = (w.folder / "report.html").read_text()
    def at(anchor: str) -> int:
        return re.search(rf"id=[\"']{anchor}[\"']", page).start()
    assert at("outcome") < page.index("FAILED: m2") < at("timeline-section") < at("waves")
    assert "update.sh: ERROR: disk full" in page
    assert "--resume 20240101T000000-0001" in page
    # self-contained: the only source is the embedded PNG, the only links the run's other
    # pages beside it (same folder); no script anywhere
    sources = re.findall(r"""src\s*=\s*["']([^"']*)""", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    links = re.findall(r"""href\s*=\s*["']([^"']*)""", page)
    assert links and all(re.fullmatch(r"attempt-\d+\.html|report\.html", h) for h in links)
    assert all((w.folder / h).exists() for h in links)
    assert "<script" not in page and "url(" not in page and "@import" not in page
    png = (w.folder / "timeline.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_output_is_escaped(tmp_path):
    w = Writer(tmp_path, small_plan())
    w.start()
    w.wave(0)
    w.step(0, 0, "m1", 0, status="failed", rc=1, output="<script>alert(1)</script><img src=x>")
    w.end("failed")
    write_run_reports(w.folder)
    page = (w.folder / "report.html").read_text()
    assert "<script>alert" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;" in page


def test_a_run_that_ran_nothing_still_has_a_report(tmp_path):
    w = Writer(tmp_path, small_plan())
    w.start()
    w.end("failed")
    write_run_reports(w.folder)
    df = steps_csv(w)
    assert set(df["status"]) == {"not run"}
    assert (w.folder / "timeline.png").read_bytes().startswith(b"\x89PNG")


def test_without_hosts_json_the_columns_are_empty(tmp_path):
    w = failed_run(tmp_path)
    (w.folder / "hosts.json").unlink()
    write_run_reports(w.folder)
    df = steps_csv(w)
    assert set(df["dc"]) == {""}
    assert SECRET not in (w.folder / "steps.csv").read_text()


def test_the_attempts_table_shows_the_estimate_beside_what_it_took(tmp_path):
    w = Writer(tmp_path, small_plan())
    w.event("run_start", run_id=w.journal.run_id, attempt=1, resumed=False, estimate_s=40.0)
    w.wave(0)
    for h in ("m1", "m2", "m3"):
        w.step(0, 0, h, 0, took=9.0)                  # 3 x (1 + 9) s: the attempt took 30 s
    w.end("ok")
    write_run_reports(w.folder)
    page = (w.folder / "report.html").read_text()
    table = page[page.index(">Attempts<"):page.index("id='waves'")]
    assert "<th>Estimated</th>" in table and "<td>40 s</td>" in table
    assert "<td>30 s</td>" in table and "<td>-25 %</td>" in table
    # a journal from before the runner journaled estimates: no such columns
    old = failed_run(tmp_path / "old")
    write_run_reports(old.folder)
    assert "<th>Estimated</th>" not in (old.folder / "report.html").read_text()


def test_an_attempt_stopped_at_a_hold_point_is_held_not_interrupted(tmp_path):
    w = into_cs_zk(tmp_path)
    w.end("held")
    write_run_reports(w.folder)
    assert [a["outcome"] for a in load_run(w.folder).attempts] == ["held"]
    assert "attempt 1: held" in (w.folder / "report.html").read_text()
    assert set(steps_csv(w)["attempt_outcome"]) == {"held"}


def test_a_resume_of_a_held_run_that_is_killed_is_interrupted_not_held(tmp_path):
    w = into_cs_zk(tmp_path)
    w.end("held")
    w.clock.tick(60)
    w.start(attempt=2)                    # the operator resumes; the runner is then killed
    w.step(1, 0, "m1", 0, end=False)
    write_run_reports(w.folder)
    banner = (w.folder / "report.html").read_text()
    banner = banner[banner.index("id='outcome'"):].split("</div>")[0]
    assert "INTERRUPTED" in banner and "HELD" not in banner
    assert "HELD" in (w.folder / "attempt-1.html").read_text()


def test_tables_have_human_headers_chips_and_short_values_that_do_not_break():
    from fleet.reports import html
    df = pd.DataFrame([{"dc": "dc-1", "waves_run": "preflight cs_zk", "steps_ok": 3,
                        "error": "exit status 1: update.sh -c edge failed"}])
    out = html.table(df)
    assert "<th>DC</th>" in out and "<th>Waves run</th>" in out and "<th>OK</th>" in out
    assert out.count('<span class="item">') == 2                 # one chip per wave
    assert '<span class="nw">dc-1</span>' in out                 # not "dc-" over "1"
    assert '<td>exit status 1: update.sh -c edge failed</td>' in out   # long text wraps
