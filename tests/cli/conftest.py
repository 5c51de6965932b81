"""The `listener` fixture shared by the bad-input tests (see tests/cli/listener.py)."""
from __future__ import annotations

import pytest

from tests.cli.listener import Listener


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.sock.close()
