"""The wave registry is the one description of the waves: help, README, selection, gates and
the plans themselves agree with it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleet.model import CHECK, POLL, SHELL
from fleet.plan.holds import CANARY_WAVES
from fleet.plan.select import ATOMIC_WAVES
from fleet.plan.waves import BY_NAME, WAVE_NAMES, WAVES, hint, markdown_table
from fleet.settings import default_settings
from tests.plans.summary import plan_of
from tests.plans.test_plan_cases import CASES, load

ROOT = Path(__file__).resolve().parents[2]


def _plans():
    """(case name, plan) for every planning case."""
    for path in CASES:
        case = load(path)
        if "error" not in case:
            yield path.stem, plan_of(case)


def test_the_readme_table_is_the_registry() -> None:
    assert markdown_table() in (ROOT / "README.md").read_text(), \
        "README's wave table differs: paste the output of python -m fleet.plan.waves"


def test_help_lists_every_wave_in_order() -> None:
    out = subprocess.run([sys.executable, "runner.py", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60).stdout
    places = [out.index(f"  {w.name} ") for w in WAVES]
    assert places == sorted(places)
    assert all(w.help in out for w in WAVES)


def test_selection_refuses_splitting_exactly_the_atomic_waves() -> None:
    assert set(ATOMIC_WAVES) == {w.name for w in WAVES if w.atomic} == \
        {"postgres", "rollback_add", "rollback_retire"}


def test_plans_use_registry_waves_in_registry_order_except_the_late_ui() -> None:
    for name, plan in _plans():
        names = [w for w in plan.wave_names() if w != "ui"]
        assert all(n in BY_NAME for n in plan.wave_names())
        assert names == [w for w in WAVE_NAMES if w in names], name


def test_every_update_wave_is_gated_and_says_what_it_updates() -> None:
    for name, plan in _plans():
        for w in plan.waves:
            if BY_NAME[w.name].updates:
                assert w.batches[0].is_gate, f"{name}: {w.name} starts without a gate"


def test_every_check_of_every_plan_has_its_hint_from_the_registry() -> None:
    for name, plan in _plans():
        for w in plan.waves:
            for b in w.batches:
                for s in b.steps:
                    if s.kind in (CHECK, POLL):
                        assert hint(w.name, s.action), f"{name}: {w.name} {s.action} has no hint"
    assert hint("rb_postgres", "pg_hba_check") is None      # rollback's own meaning of the check


def test_timeouts_come_from_the_registry_class_of_the_wave() -> None:
    t = default_settings().values["timeouts"]
    seen = set()
    for name, plan in _plans():
        for w in plan.waves:
            classes = BY_NAME[w.name].timeouts
            for b in w.batches:
                for s in b.steps:
                    if s.kind == SHELL and s.action in classes:
                        assert s.timeout == t[classes[s.action]], f"{name}: {w.name} {s.action}"
                        seen.add((w.name, s.action))
                    elif s.kind in (SHELL, CHECK) and s.action not in ("update", "bootstrap",
                                                                         "fetch_bootstrap"):
                        assert s.timeout == t["default"], f"{name}: {w.name} {s.action}"
    assert seen == {(w.name, a) for w in WAVES for a in w.timeouts}   # no entry never used


def test_holds_offer_a_canary_exactly_on_the_registry_canary_waves() -> None:
    assert CANARY_WAVES == tuple(w.name for w in WAVES if w.canary)
    assert not set(CANARY_WAVES) & {"preflight", "prepare", "postgres", "validate"}
