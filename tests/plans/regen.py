"""Rewrite the golden plans from the current planner: the `expect` section of every case
(tests/plans/cases/NAME.yaml, the order of steps) and its exact commands
(tests/plans/golden/NAME.txt).

Golden files only prove something if a person reviews the diff against procedure.md
section 8 before committing it:
`python -m tests.plans.regen && git diff tests/plans/cases tests/plans/golden`.
"""
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.plans.summary import commands, plan_of, summarize

CASES = Path(__file__).parent / "cases"
GOLDEN = Path(__file__).parent / "golden"


def rewrite_cases(cases: Path, plan_of: Callable[[dict], Any], summarize: Callable[[Any], Any],
                  width: int, also: Callable[[Path, Any], None] | None = None) -> None:
    """Rewrite the `expect` of every case in `cases` (error cases kept as they are)."""
    for path in sorted(cases.glob("*.yaml")):
        case = yaml.safe_load(path.read_text())
        if "error" in case:
            continue
        plan = plan_of(case)
        case["expect"] = summarize(plan)
        path.write_text(yaml.safe_dump(case, sort_keys=False, width=width))
        if also:
            also(path, plan)
        print("rewrote", path.name)


def golden_writer(folder: Path) -> Callable[[Path, Any], None]:
    """Writes a case's exact commands to folder/NAME.txt (the `also` of rewrite_cases)."""
    def write(path: Path, plan: Any) -> None:
        folder.mkdir(exist_ok=True)
        (folder / f"{path.stem}.txt").write_text(commands(plan))
    return write


if __name__ == "__main__":
    rewrite_cases(CASES, plan_of, summarize, 120, golden_writer(GOLDEN))
    from tests.plans.test_holds import HOLDS, describe, held_plan, load_cases
    cases = load_cases()
    for case in cases:
        if "error" not in case:
            case.update(describe(held_plan(case)))
    comments = "".join(ln + "\n" for ln in HOLDS.read_text().splitlines() if ln.startswith("#"))
    HOLDS.write_text(comments + yaml.safe_dump(cases, sort_keys=False, width=120))
    print("rewrote", HOLDS.name)
