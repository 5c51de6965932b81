"""config.yaml's runner.options.num_workers is honoured: at most that many hosts of a batch
work at once (the cs_zk batch of a 5-node install has three hosts)."""
from __future__ import annotations

import yaml

from lab import Lab
from tests.e2e.helpers import events, explain, run_ids, runner


def _overlap(steps: list[dict]) -> int:
    """The most steps running at the same moment."""
    edges = sorted([(s["start"], 1) for s in steps] + [(s["end"], -1) for s in steps],
                   key=lambda e: (e[0], e[1]))
    now = most = 0
    for _, d in edges:
        now += d
        most = max(most, now)
    return most


def test_num_workers_caps_the_hosts_of_a_batch(tmp_path):
    with Lab.start(topology="5-node", directory=tmp_path / "lab", speed=0.05) as lab:
        for host in ("m1", "m2", "m3"):
            lab.set_state(host, prepared=True)      # the prepare wave's effect, without its time
        cfg = yaml.safe_load(lab.config_path.read_text())
        for workers, reports in ((1, tmp_path / "r1"), (3, tmp_path / "r3")):
            cfg["runner"] = {"plugin": "threaded", "options": {"num_workers": workers}}
            lab.config_path.write_text(yaml.safe_dump(cfg))
            res = runner(lab, "--wave", "cs_zk", "--yes", reports=reports)
            assert res.returncode == 0, explain(res, lab)
            ends = [e for e in events(reports, run_ids(reports)[0])
                    if e.get("event") == "step_end" and e.get("wave") == "cs_zk"
                    and e.get("action") == "update"]
            assert len(ends) == 3
            assert _overlap(ends) == workers, (workers, ends)
