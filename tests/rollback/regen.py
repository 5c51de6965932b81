"""Rewrite the `expect` section of every rollback case and its exact commands
(tests/rollback/golden/NAME.txt) from the current planner; review the diff against
../shared/docs/rollback.md before committing it:
`python -m tests.rollback.regen && git diff tests/rollback`."""
from pathlib import Path

from tests.plans.regen import golden_writer, rewrite_cases
from tests.rollback.summary import plan_of, summarize

CASES = Path(__file__).parent / "cases"
GOLDEN = Path(__file__).parent / "golden"

if __name__ == "__main__":
    rewrite_cases(CASES, plan_of, summarize, 200, golden_writer(GOLDEN))
