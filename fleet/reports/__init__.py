"""Run reports written with pandas from a run folder: steps.csv, hosts.csv, waves.csv,
timeline.png and a self-contained report.html (see docs/reports.md)."""
from fleet.reports.frames import load_run
from fleet.run.journal import write_hosts_json
from fleet.reports.run import write_run_reports

__all__ = ["load_run", "write_hosts_json", "write_run_reports"]
