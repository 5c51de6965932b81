"""Rewrite the `expect` section of every case from the current planner.

Golden files only prove something if a person reviews the diff against procedure.md
section 8 before committing it: `python -m tests.plans.regen && git diff tests/plans/cases`.
"""
from pathlib import Path

import yaml

from tests.plans.summary import plan_of, summarize

CASES = Path(__file__).parent / "cases"

if __name__ == "__main__":
    for path in sorted(CASES.glob("*.yaml")):
        case = yaml.safe_load(path.read_text())
        if "error" in case:
            continue
        case["expect"] = summarize(plan_of(case))
        path.write_text(yaml.safe_dump(case, sort_keys=False, width=120))
        print("rewrote", path.name)
    from tests.plans.test_holds import HOLDS, describe, held_plan, load_cases
    cases = load_cases()
    for case in cases:
        if "error" not in case:
            case.update(describe(held_plan(case)))
    comments = "".join(ln + "\n" for ln in HOLDS.read_text().splitlines() if ln.startswith("#"))
    HOLDS.write_text(comments + yaml.safe_dump(cases, sort_keys=False, width=120))
    print("rewrote", HOLDS.name)
