"""The confirmation prompt names the estimated window before the operator says yes."""
from __future__ import annotations

import argparse

import pytest
import yaml

from fleet.cli import _confirm
from fleet.errors import InputError
from fleet.plan.estimate import estimate
from tests.plans.summary import plan_of
from tests.plans.test_estimate import CASES_DIR


def test_the_prompt_shows_the_window(monkeypatch, capsys):
    plan = plan_of(yaml.safe_load((CASES_DIR / "5-node.yaml").read_text()))
    est = estimate(plan)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter(["yes", "no"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    args = argparse.Namespace(yes=False, resume=None)
    _confirm(args, plan, est)
    out = capsys.readouterr().out
    assert "About to run waves preflight, " in out
    assert "Estimated window: 3h 21m (" in out
    with pytest.raises(InputError, match="not confirmed"):
        _confirm(argparse.Namespace(yes=False, resume="R1"), plan, est)
    assert "steps done by the earlier attempts count 0" in capsys.readouterr().out
