"""Architecture rule: nothing outside lab/ and tests/ knows the lab exists.

The runner must reach lab hosts exactly as it reaches real ones (inventory values only),
and the benchmarks drive the lab through ``python -m lab``, as an operator would.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = sorted(p for p in ROOT.glob("**/*.py")
                 if p.relative_to(ROOT).parts[0] not in {"lab", "tests", "venv"}
                 and not any(part.startswith(".") or part == "site-packages"
                             for part in p.relative_to(ROOT).parts))


def lab_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "lab"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "lab":
                found.append(node.module)
    return found


def test_the_outside_files_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in OUTSIDE}
    assert {"runner.py", "fleet/cli.py", "tasks/shell.py", "bench/_common.py"} <= names


@pytest.mark.parametrize("path", OUTSIDE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_lab_import_outside_lab_and_tests(path: Path) -> None:
    assert lab_imports(path) == []


def test_the_check_catches_a_lab_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\ndef f():\n    from lab.commands import DURATIONS\n    import lab\n")
    assert lab_imports(bad) == ["lab.commands", "lab"]
