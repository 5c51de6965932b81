"""Helpers for the report tests that go through the lab: run the real runner, read files."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from fleet.components import expand
from fleet.run.journal import read_events
from tests.e2e import helpers as e2e
from tests.e2e.helpers import ROOT, explain  # noqa: F401  (the report tests use them)


def runner(lab: Any, *args: str, reports: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """The e2e helper, with --yes for update runs (audits take no confirmation)."""
    extra = () if args[:1] == ("audit",) else ("--yes",)
    return e2e.runner(lab, *args, *extra, reports=reports, timeout=timeout)


def events(folder: Path) -> list[dict[str, Any]]:
    return list(read_events(folder))


def components(lab: Any, host: str) -> frozenset[str]:
    data = lab.host_data(host)
    return expand(list(data.get("profiles") or []), list(data.get("components") or []))


def secret_values(lab: Any) -> list[str]:
    """Every secret the lab gave the runner (the secrets file and the SSH password)."""
    values = [str(v) for v in lab.secrets.values()] + [lab.ssh_password]
    return [v for v in values if len(v) >= 6]
