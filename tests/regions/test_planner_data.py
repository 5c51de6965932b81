"""Planner cases as data: inputs + org snapshot (YAML) -> the exact API calls, or a refusal.

Each file in data/ gives `command`, `inputs`, `state`, and either `calls` ("HOST ACTION
METHOD URL" in plan order), optional `waves` and `bodies` (index -> exact JSON body), or
`refuse` (substrings of the GuardRefused message).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fleet.regions.guards import GuardRefused
from fleet.regions.inputs import parse
from fleet.regions.planner import plan_add, plan_remove
from fleet.regions.snapshot import OrgState

CASES = sorted((Path(__file__).parent / "data").glob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_planner_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    inp = parse(case["inputs"])
    state = OrgState.from_json(case["state"])
    build = plan_add if case["command"] == "add" else plan_remove
    if "refuse" in case:
        with pytest.raises(GuardRefused) as exc:
            build(inp, state)
        for needle in case["refuse"]:
            assert needle in str(exc.value)
        return
    plan = build(inp, state)
    steps = [s for _, _, s in plan.iter_steps()]
    got = [f"{s.host} {s.action} "
           + (f"{s.request.method} {s.request.url}" if s.request else f"{s.kind} {s.command}")
           for s in steps]
    assert got == case["calls"]
    if "waves" in case:
        assert plan.wave_names() == case["waves"]
    for index, body in (case.get("bodies") or {}).items():
        assert steps[int(index)].request.body == body, index


def test_plan_is_pure_and_stable() -> None:
    case = yaml.safe_load(CASES[0].read_text())
    a = plan_add(parse(case["inputs"]), OrgState.from_json(case["state"]))
    b = plan_add(parse(case["inputs"]), OrgState.from_json(case["state"]))
    assert a.digest() == b.digest()
