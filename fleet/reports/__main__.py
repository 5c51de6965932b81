"""`python -m fleet.reports RUN_FOLDER`: (re)write a run's reports from its journal.

The runner starts this in a child process with ``--after-run`` when a run begins: the child
imports pandas and matplotlib at low priority while the update runs (they never weigh on the
runner's own memory), keeps report.html as a live page while the run goes on, and writes
every report when the runner says ``write`` (fleet/reports/livepage.py). The journal is
complete on disk, so this command also rewrites the reports at any time."""
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    after_run = argv[:1] == ["--after-run"]
    args = argv[1:] if after_run else argv
    if len(args) != 1 or not (Path(args[0]) / "journal.jsonl").exists():
        print("usage: python -m fleet.reports [--after-run] reports/RUN_ID", file=sys.stderr)
        return 2
    if after_run:
        os.nice(10)                        # the update comes first
    from fleet.reports import write_run_reports   # pandas, matplotlib: the slow part
    if after_run:
        from fleet.reports.livepage import follow
        follow(Path(args[0]), sys.stdin.fileno())
        return 0
    write_run_reports(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
