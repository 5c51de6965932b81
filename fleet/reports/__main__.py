"""`python -m fleet.reports RUN_FOLDER`: (re)write a run's reports from its journal.

The runner calls this in a child process after a run, so that pandas and matplotlib never
weigh on the runner itself (its peak memory stays that of the update)."""
import sys
from pathlib import Path

from fleet.reports import write_run_reports

if __name__ == "__main__":
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / "journal.jsonl").exists():
        print("usage: python -m fleet.reports reports/RUN_ID", file=sys.stderr)
        sys.exit(2)
    write_run_reports(Path(sys.argv[1]))
