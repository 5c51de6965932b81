"""Fixtures for the lab's tests: labs in tmp_path (always stopped) and plain SSH clients."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from lab import Lab
from tests.lab.sshclient import Node


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    labs: list[Lab] = []
    nodes: list[Node] = []

    def start(topology: str = "5-node", **kw: object) -> Lab:
        kw.setdefault("speed", 0.0)
        lab = Lab.start(topology=topology, directory=tmp_path / f"lab{len(labs)}", **kw)
        labs.append(lab)
        lab.node = lambda name: nodes.append(Node(lab, name)) or nodes[-1]  # type: ignore[attr-defined]
        return lab

    yield start
    for n in nodes:
        n.close()
    for lab in labs:
        lab.stop()


@pytest.fixture
def lab5(make_lab: Callable[..., Lab]) -> Lab:
    return make_lab("5-node")
