"""Architecture rules: nothing outside lab/ and tests/ knows the lab exists, and the lab
knows nothing of the runner.

The runner must reach lab hosts exactly as it reaches real ones (inventory values only),
and the benchmarks drive the lab through ``python -m lab``, as an operator would. The lab
keeps its own tables: a judge that imports the runner's shares its blind spots.
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


LAB = sorted(p for p in (ROOT / "lab").glob("**/*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path, package: str) -> list[str]:
    """Every import of ``package`` (or its modules) in a file, wherever it appears."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == package]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == package:
                found.append(node.module)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              in ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and node.args[0].value.split(".")[0] == package):
            found.append(node.args[0].value)
    return found


def lab_imports(path: Path) -> list[str]:
    return imports_of(path, "lab")


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


def test_the_lab_files_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in LAB}
    assert {"lab/tables.py", "lab/judge.py", "lab/commands/apigee.py", "lab/gcp/server.py"} <= names


@pytest.mark.parametrize("path", LAB, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_lab_imports_nothing_from_fleet(path: Path) -> None:
    assert imports_of(path, "fleet") == []


def test_the_check_catches_a_fleet_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import importlib\nfrom fleet.components import SERVICES\n"
                   "def f():\n    import fleet.facts as f\n"
                   "    return importlib.import_module('fleet.plan')\n")
    assert imports_of(bad, "fleet") == ["fleet.components", "fleet.facts", "fleet.plan"]
