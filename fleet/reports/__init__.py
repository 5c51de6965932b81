"""Run reports written with pandas from a run folder: steps.csv, hosts.csv, waves.csv,
timeline.png and a self-contained report.html (see docs/reports.md).

Names are imported on first use, so that ``python -m fleet.reports`` can lower its priority
before pandas and matplotlib load."""
from typing import Any

__all__ = ["load_run", "write_hosts_json", "write_run_reports"]


def __getattr__(name: str) -> Any:
    if name == "load_run":
        from fleet.reports.frames import load_run
        return load_run
    if name == "write_hosts_json":
        from fleet.run.journal import write_hosts_json
        return write_hosts_json
    if name == "write_run_reports":
        from fleet.reports.run import write_run_reports
        return write_run_reports
    raise AttributeError(f"module 'fleet.reports' has no attribute {name!r}")
