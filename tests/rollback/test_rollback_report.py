"""The report of a rollback run names it and lists its inferred steps with how they ended."""
from __future__ import annotations

from fleet.model import Batch, Plan, Step, Wave
from fleet.reports import write_run_reports
from tests.reports.synthetic import Writer


def test_report_lists_inferred_steps(tmp_path):
    plan = Plan("4.16.09", "rollback", (Wave("rb_postgres", (Batch((
        Step("m1", "promote", "apigee-service apigee-postgresql promote-standby-to-master 10.0.0.4",
             basis="I"),
        Step("m1", "check_master", "apigee-service apigee-postgresql postgres-check-master",
             "check", basis="S"),
    ), "promote spare"),)),))
    w = Writer(tmp_path, plan)
    w.start()
    w.wave(0)
    w.step(0, 0, "m1", 0)
    w.step(0, 0, "m1", 1, status="failed", rc=1)
    w.end("failed")
    write_run_reports(w.folder)
    page = (w.folder / "report.html").read_text()
    assert "Edge rollback run" in page
    section = page[page.index("Inferred steps — verify with vendor support"):]
    assert "promote" in section.split("</table>")[0]
    assert "check_master" not in section.split("</table>")[0]
