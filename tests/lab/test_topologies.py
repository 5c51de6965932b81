"""Topology tables (no SSH): procedure.md section 8, the generator and the mirror."""
from __future__ import annotations

import pytest

from lab.topologies import build, documented, generated


def shape(name):
    return [(h.name, "+".join(h.profiles), h.postgres, h.dc) for h in documented(name)]


def test_documented_machine_lists():
    assert shape("5-node") == [("m1", "ds+ms", None, "dc-1"), ("m2", "ds+rmp", None, "dc-1"),
                               ("m3", "ds+rmp", None, "dc-1"), ("m4", "sax", "master", "dc-1"),
                               ("m5", "sax", "standby", "dc-1"), ("pgr", "ps", "rollback_standby", "dc-1")]
    assert [h.postgres for h in documented("1-node")] == ["master"]
    assert [h.name for h in documented("2-node")] == ["m1", "m2"]            # no pair: no pgr
    t13 = shape("13-node")
    assert t13[5] == ("m6", "mo+ui", None, "dc-1") and t13[7][2] == "master" and t13[8][2] == "standby"
    t12 = documented("12-node-2dc")
    assert [h.dc for h in t12[:12]] == ["dc-1"] * 6 + ["dc-2"] * 6
    assert [h.name for h in t12 if h.observer] == ["m9"]
    assert t12[5].postgres == "master" and t12[11].postgres == "standby" and t12[12].dc == "dc-1"
    assert [h.comps for h in documented("baas-7")][4] == frozenset({"cs"})
    assert len(documented("baas-10")) == 10 and len(documented("9-node")) == 10


def test_generated_mix():
    hs = generated(16, 1)
    assert [h.postgres for h in hs if h.postgres] == ["master", "standby", "rollback_standby"]
    assert sum("zk" in h.comps for h in hs) == 3 and not any(h.observer for h in hs)
    hs = generated(27, 3)
    assert {h.dc for h in hs} == {"dc-1", "dc-2", "dc-3"}
    voters = [h for h in hs if "zk" in h.comps and not h.observer]
    assert len(voters) % 2 == 1
    assert sum("ms" in h.comps for h in hs) == 3
    with pytest.raises(ValueError):
        generated(10, 2)
    with pytest.raises(ValueError):
        build("7-node")


def test_planning_inventory_has_host_addresses_and_the_release_table(tmp_path):
    """`python -m lab inventory`: hosts get host addresses (10.0.0.1 on, never a network
    address) and the config states the unpublished builds, so a rollback dry run plans."""
    import yaml

    from lab.topologies import build, write_inventory
    config = write_inventory(tmp_path, build("9-node", None, None, None))
    hosts = yaml.safe_load((tmp_path / "hosts.yaml").read_text())
    assert [h["hostname"] for h in hosts.values()][:2] == ["10.0.0.1", "10.0.0.2"]
    assert yaml.safe_load(config.read_text())["user_defined"]["releases"]
