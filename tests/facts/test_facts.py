"""Every case under tests/facts/<kind>/<case>.yaml: a command's output, where it comes from
(``source``: a public capture or the lab), and the fact the runner must make of it, checked
through the same function as `python runner.py facts KIND`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet.facts import PARSERS
from fleet.facts.cli import fact_of

HERE = Path(__file__).parent
CASES = sorted(HERE.glob("*/*.yaml"))


def load(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert case.get("source"), f"{path}: every case names its source"
    return case


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case(path: Path) -> None:
    case = load(path)
    kind = path.parent.name
    args = case.get("args") or {}
    if "error" in case:
        with pytest.raises(ValueError, match=case["error"]):
            fact_of(kind, case["output"], **args)
        return
    fact = fact_of(kind, case["output"], **args)
    for key, want in case["expected"].items():
        assert fact[key] == want, f"{key}: {fact[key]!r} != {want!r}"


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_every_kind_has_a_real_capture_and_a_lab_case(kind: str) -> None:
    sources = [str(load(p)["source"]) for p in CASES if p.parent.name == kind]
    assert any(s.startswith("lab") for s in sources), f"{kind}: no case from the lab"
    if kind != "postgres-check":       # no public capture exists (see its case files)
        assert any(not s.startswith(("lab", "synthetic")) for s in sources), \
            f"{kind}: no real capture"
