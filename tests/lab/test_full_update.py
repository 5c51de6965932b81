"""A correct update of every documented topology gets a clean final verdict."""
from __future__ import annotations

import pytest

from tests.lab.driver import Driver

TOPOLOGIES = ["1-node", "2-node", "5-node", "9-node", "13-node", "12-node-2dc", "baas-7", "baas-10"]


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_correct_update_is_clean(make_lab, topology):
    lab = make_lab(topology)
    Driver(lab).run()
    v = lab.verdict(final=True)
    assert v.ok, v.text()
    st = lab.state()
    for name, h in st["hosts"].items():
        if h["postgres"] != "rollback_standby":
            assert {c["version"] for c in h["components"].values()} == {"4.18.01"}, name
    assert (lab.directory / "verdict.json").exists()


def test_zero_downtime_update_with_probe_is_clean(make_lab):
    lab = make_lab("5-node", probe=True)
    Driver(lab).run(zero_downtime=True)
    v = lab.verdict(final=True)
    assert v.ok, v.text()
    assert v.stats["probe"]["sent"] > 50
