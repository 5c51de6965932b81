"""Hold points and canaries as plan data: where they go, what they refuse, and that a canary
never changes what runs or breaks an order the plan had (fleet/plan/holds.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet.errors import InputError
from fleet.model import Plan
from fleet.plan import Selection, select
from fleet.plan.holds import HoldOptions, apply_holds
from tests.plans.summary import nodes_of, plan_of, summarize

HERE = Path(__file__).parent
HOLDS = HERE / "holds.yaml"
CASES = sorted((HERE / "cases").glob("*.yaml"))


def load_cases() -> list[dict[str, Any]]:
    return yaml.safe_load(HOLDS.read_text())


def held_plan(case: dict[str, Any]) -> Plan:
    base = yaml.safe_load((HERE / "cases" / f"{case['base']}.yaml").read_text())
    s = case.get("select") or {}
    sel = Selection(tuple(s.get("waves", ())), s.get("from_wave"), tuple(s.get("dcs", ())),
                    tuple(s.get("hosts", ())))
    o = case.get("options") or {}
    options = HoldOptions(tuple(o.get("pause_after", ())), bool(o.get("pause_each_wave")),
                          o.get("canary"))
    return apply_holds(select(plan_of(base), nodes_of(base), sel), options)


def describe(plan: Plan) -> dict[str, Any]:
    """The waves that hold, summarized as the golden cases are, with 'HOLD: why' after the
    batch that holds; and every hold as 'WAVE batch N: why' (gates counted)."""
    summary, out = summarize(plan), {}
    for w in plan.waves:
        work = [b for b in w.batches if b.label != "gate"]
        if any(b.hold for b in work):
            out[w.name] = [rows + ([f"HOLD: {b.hold}"] if b.hold else [])
                           for rows, b in zip(summary[w.name], work, strict=True)]
    return {"expect": out,
            "holds": [f"{h['wave']} batch {h['batch'] + 1}: {h['reason']}" for h in plan.holds()]}


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c["name"])
def test_hold_case(case):
    if "error" in case:
        with pytest.raises(InputError) as err:
            held_plan(case)
        assert case["error"] in str(err.value)
        return
    got = describe(held_plan(case))
    assert got["expect"] == case["expect"]
    assert got["holds"] == case["holds"]


def _positions(plan: Plan) -> dict[tuple[str, int], tuple[int, int]]:
    """Each step (its JSON, and which occurrence of it) -> (wave index, batch index)."""
    seen: dict[str, int] = {}
    out = {}
    for wi, bi, s in plan.iter_steps():
        text = json.dumps(s.to_json(), sort_keys=True)
        seen[text] = seen.get(text, 0) + 1
        out[(text, seen[text])] = (wi, bi)
    return out


def _canaries(case_path: Path):
    case = yaml.safe_load(case_path.read_text())
    plan = plan_of(case)
    for host in sorted({s.host for _, _, s in plan.iter_steps()}):
        try:
            yield host, plan, apply_holds(plan, HoldOptions(canary=host))
        except InputError:
            continue


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_a_canary_runs_the_same_steps_in_no_order_the_plan_forbids(path):
    """Every canary the planner accepts, on every golden case: the same steps; whatever ran
    in an earlier batch still does; each host's steps keep their order; the canary goes
    alone, right after the gate, and holds before anything else of its wave."""
    accepted = 0
    for host, plan, held in _canaries(path):
        accepted += 1
        before, after = _positions(plan), _positions(held)
        assert sorted(before) == sorted(after), host
        order = sorted(before, key=lambda k: before[k])
        groups: dict[tuple[int, int], list] = {}
        for k in order:
            groups.setdefault(before[k], []).append(after[k])
        latest = (-1, -1)
        for pos in sorted(groups):
            assert min(groups[pos]) > latest, f"canary {host}: batch {pos} moved before an earlier one"
            latest = max(latest, max(groups[pos]))
        for hw, w in zip(plan.waves, held.waves, strict=True):
            assert [s.host for b in hw.batches for s in b.steps if s.host == host] == \
                [s.host for b in w.batches for s in b.steps if s.host == host]
            holds = [i for i, b in enumerate(w.batches) if b.hold]
            for i in holds:
                canary = w.batches[i]
                assert canary.hosts() == [host] and i < len(w.batches) - 1
                assert all(b.label == "gate" for b in w.batches[:i])
        assert held.holds() and Plan.from_json(held.to_json()) == held
        assert held.digest() != plan.digest()
        assert apply_holds(plan, HoldOptions(canary=host)).digest() == held.digest()
    # on 1 and 2 nodes no role wave has two hosts: nothing to go first
    assert accepted or path.stem in ("1-node", "2-node"), f"no host of {path.stem} can be a canary"


def test_pause_each_wave_holds_after_every_wave_but_the_last():
    case = yaml.safe_load((HERE / "cases" / "13-node.yaml").read_text())
    plan = apply_holds(plan_of(case), HoldOptions(pause_each_wave=True))
    names = plan.wave_names()
    assert [h["wave"] for h in plan.holds()] == names[:-1]
    assert all(h["batch"] == len(plan.wave(h["wave"]).batches) - 1 for h in plan.holds())
    again = Plan.from_json(json.loads(plan.dumps()))
    assert again == plan and again.holds() == plan.holds()


def test_a_plan_without_holds_is_unchanged_and_its_json_has_no_hold_key():
    case = yaml.safe_load((HERE / "cases" / "5-node.yaml").read_text())
    plan = plan_of(case)
    assert apply_holds(plan, HoldOptions()) is plan
    assert '"hold"' not in plan.dumps() and not plan.holds()
