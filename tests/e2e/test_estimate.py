"""The estimate through a real run over SSH: a first run of an installation is estimated
from our defaults (hours, made for real nodes); its journal then refines the estimate of the
same installation (the resume's, and any later plan's), and a resumed run's progress starts
from the steps the first attempt completed."""
from __future__ import annotations

import re

from lab import Lab
from tests.e2e.helpers import events, explain, run_ids, runner


def window(text: str) -> str:
    m = re.search(r"^Estimated window: (.*)$", text, re.M)
    assert m, text[-2000:]
    return m.group(1)


def test_history_of_the_installation_refines_the_estimate_and_resume_counts_done_steps(tmp_path):
    reports = tmp_path / "reports"
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        res = runner(lab, "--dry-run", reports=reports)
        assert res.returncode == 0, explain(res)
        assert window(res.stdout).endswith("from our default guesses)")
        assert "h " in window(res.stdout)                        # hours: real-node defaults

        lab.fault("m2", "fail-always", match="update.sh -c edge")
        res = runner(lab, "--all", "--yes", reports=reports)
        assert res.returncode == 1, explain(res)
        (run_id,) = run_ids(reports)
        first = [e for e in events(reports, run_id) if e["event"] == "run_start"]
        done = {e["key"] for e in events(reports, run_id)
                if e["event"] == "step_end" and e["status"] == "ok" and "/undo" not in e["key"]}

        lab.clear_faults()
        res = runner(lab, "--resume", run_id, "--yes", reports=reports)
        assert res.returncode == 0, explain(res, lab)
        starts = [e for e in events(reports, run_id) if e["event"] == "run_start"]
        assert starts[0] == first[0] and len(starts) == 2
        # the resume: done steps count zero, and the steps seen in attempt 1 take their
        # lab-measured seconds, not our minutes
        assert starts[1]["estimate_s"] < starts[0]["estimate_s"] / 2
        assert starts[1]["installation"] == starts[0]["installation"]
        # the resume's progress starts where attempt 1 ended, not at zero
        total = re.search(r"^Plan: .* (\d+) step\(s\)", runner(lab, "--dry-run", reports=reports).stdout, re.M)
        assert total
        first_wave = next(line for line in res.stdout.splitlines() if "] wave 1/" in line)
        assert f"{len(done)}/{total.group(1)} steps" in first_wave, first_wave
        # the report gives the first attempt's estimate beside the outcome
        page = (reports / run_id / "report.html").read_text()
        assert "estimated window " in page

        # now every action has lab history for this installation: the whole plan in seconds
        res = runner(lab, "--dry-run", reports=reports)
        line = window(res.stdout)
        assert re.fullmatch(r"\d+s \(\d+ action\(s\) from 1 earlier run\(s\)(, .*)?\)", line), line
        # another installation (a second lab: other ports) does not take this one's history
    with Lab.start(topology="5-node", directory=tmp_path / "lab2", speed=0.0) as other:
        res = runner(other, "--dry-run", reports=reports)
        assert window(res.stdout).endswith("from our default guesses)"), res.stdout[-500:]
