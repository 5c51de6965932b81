"""The whole update through the lab, over real SSH: every documented topology gets a clean
verdict; wave-by-wave and DC-by-DC runs reach the same end state."""
from __future__ import annotations

import pytest
import yaml

from lab import Lab
from tests.e2e.helpers import explain, plan_waves, runner

TOPOLOGIES = ["1-node", "2-node", "5-node", "9-node", "13-node", "12-node-2dc", "baas-7",
              "baas-10"]
ATOMIC = ("preflight", "postgres", "rollback_add", "rollback_retire")


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_full_update_gets_a_clean_verdict(tmp_path, topology):
    with Lab.start(topology=topology, directory=tmp_path / "lab", speed=0.0) as lab:
        res = runner(lab, "--all", "--yes", reports=tmp_path / "reports")
        assert res.returncode == 0, explain(res, lab)
        verdict = lab.verdict(final=True)
        assert verdict.ok, verdict.violations


@pytest.mark.parametrize("topology", ["5-node", "9-node", "13-node", "12-node-2dc", "baas-7",
                                      "baas-10"])
def test_zero_downtime_drops_no_request(tmp_path, topology):
    with Lab.start(topology=topology, directory=tmp_path / "lab", speed=0.02,
                   probe=True) as lab:
        res = runner(lab, "--all", "--yes", "--zero-downtime", reports=tmp_path / "reports")
        assert res.returncode == 0, explain(res, lab)
        verdict = lab.verdict(final=True)
        assert verdict.ok, verdict.violations


def test_wave_by_wave_reaches_the_same_end_state(tmp_path):
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.0) as lab:
        waves = plan_waves(lab, tmp_path / "plans")
        for wave in waves:
            if wave == "preflight":
                continue
            res = runner(lab, "--wave", wave, "--yes", reports=tmp_path / "reports")
            assert res.returncode == 0, f"wave {wave}: " + explain(res, lab)
        verdict = lab.verdict(final=True)
        assert verdict.ok, verdict.violations


def test_dc_by_dc_reaches_the_same_end_state(tmp_path):
    with Lab.start(topology="12-node-2dc", directory=tmp_path / "lab", speed=0.0) as lab:
        waves = plan_waves(lab, tmp_path / "plans")
        for wave in waves:
            if wave in ATOMIC:
                if wave != "preflight":
                    res = runner(lab, "--wave", wave, "--yes", reports=tmp_path / "reports")
                    assert res.returncode == 0, f"wave {wave}: " + explain(res, lab)
                continue
            for dc in ("dc-1", "dc-2"):
                res = runner(lab, "--wave", wave, "--dc", dc, "--yes",
                             reports=tmp_path / "reports")
                assert res.returncode == 0, f"wave {wave} {dc}: " + explain(res, lab)
        verdict = lab.verdict(final=True)
        assert verdict.ok, verdict.violations


def test_a_dc_filter_never_splits_the_postgres_pair(tmp_path):
    with Lab.start(topology="12-node-2dc", directory=tmp_path / "lab", speed=0.0) as lab:
        res = runner(lab, "--wave", "postgres", "--dc", "dc-1", "--yes",
                     reports=tmp_path / "reports")
        assert res.returncode == 2
        assert "splits" in res.stderr


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_a_mirrored_copy_updates_with_a_clean_verdict(tmp_path, topology):
    """`lab start --mirror` of an operator's inventory rehearses as the real update goes. A
    lone PostgreSQL host is left without `postgres: master` (the runner allows it): the
    mirror must take it as the master the runner's way, or its brokers never drain."""
    from lab.topologies import documented, write_inventory
    ops = tmp_path / "ops"
    write_inventory(ops, documented(topology))
    hosts = yaml.safe_load((ops / "hosts.yaml").read_text())
    ps = [h for h in hosts.values() if h["data"].get("postgres")]
    if len(ps) == 1:
        del ps[0]["data"]["postgres"]
    (ops / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    with Lab.start(mirror=ops, directory=tmp_path / "lab", speed=0.0) as lab:
        mirrored = yaml.safe_load((lab.directory / "inventory" / "hosts.yaml").read_text())
        assert {n: h["data"].get("postgres") for n, h in mirrored.items()} == \
            {n: h["data"].get("postgres") for n, h in hosts.items()}
        res = runner(lab, "--all", "--yes", reports=tmp_path / "reports")
        assert res.returncode == 0, explain(res, lab)
        verdict = lab.verdict(final=True)
        assert verdict.ok, verdict.violations
