"""The `lab` marker: every test that starts an emulated installation (SSH nodes, the Google
API emulator) or a browser. `pytest -m "not lab"` runs the pure tests (plans, parsers, input
checks) in seconds; plain `pytest` runs everything.

Tests are marked by folder (tests/lab, tests/e2e), by the fixtures that start labs, or by
`pytestmark = pytest.mark.lab` in the module. An unmarked test that starts a lab or a browser
fails, so the marker cannot drift from what the tests do."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

LAB_FOLDERS = {"lab", "e2e"}
LAB_FIXTURES = {"make_lab", "emulator", "make_emulator", "resumed"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.path)).parent.name
        if folder in LAB_FOLDERS or LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(autouse=True)
def _lab_only_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if request.node.get_closest_marker("lab") is None:
        from lab import Lab
        from lab.gcp import GcpEmulator
        from tests.reports import browser

        def refuse(*_a: Any, **_k: Any) -> Any:
            raise AssertionError("this test starts a lab or a browser: mark it `lab` "
                                 "(see tests/conftest.py)")
        monkeypatch.setattr(Lab, "start", refuse)
        monkeypatch.setattr(GcpEmulator, "start", refuse)
        monkeypatch.setattr(browser.Browser, "__init__", refuse)
    yield
