"""Rewrite the `expect` section of every rollback case from the current planner; review
the diff against ../shared/docs/rollback.md before committing it:
`python -m tests.rollback.regen && git diff tests/rollback/cases`."""
from pathlib import Path

import yaml

from tests.rollback.summary import plan_of, summarize

CASES = Path(__file__).parent / "cases"

if __name__ == "__main__":
    for path in sorted(CASES.glob("*.yaml")):
        case = yaml.safe_load(path.read_text())
        if "error" in case:
            continue
        case["expect"] = summarize(plan_of(case))
        path.write_text(yaml.safe_dump(case, sort_keys=False, width=200))
        print("rewrote", path.name)
