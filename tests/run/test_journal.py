"""The journal is what --resume trusts: every line whole, in order, on disk."""
from __future__ import annotations

import json
import threading

from fleet.run.journal import Journal, step_key


def test_concurrent_hosts_write_whole_lines(tmp_path):
    j = Journal.create(tmp_path, "run", "{}")

    def host(i: int) -> None:
        for k in range(20):
            j.event("step_start", key=step_key(0, 0, f"h{i}", k))
            j.event("step_end", key=step_key(0, 0, f"h{i}", k), status="ok", host=f"h{i}")

    threads = [threading.Thread(target=host, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "run" / "journal.jsonl").read_text().splitlines()
    assert len(lines) == 2000
    assert all(json.loads(line)["event"] in ("step_start", "step_end") for line in lines)
    assert len(j.completed()) == 1000


def test_only_successful_steps_count_as_done(tmp_path):
    j = Journal.create(tmp_path, "run", "{}")
    j.event("step_end", key="a", status="failed", host="h")
    j.event("step_end", key="b", status="ok", host="h", vars={"mp_uuid": "u1"})
    assert set(j.completed()) == {"b"}
    assert j.completed()["b"]["vars"] == {"mp_uuid": "u1"}


def test_a_torn_last_line_is_ignored_and_never_swallows_the_next_line(tmp_path):
    j = Journal.create(tmp_path, "run", "{}")
    j.event("step_end", key="0/0/h/0", status="ok", host="h")
    j.close()
    with (tmp_path / "run" / "journal.jsonl").open("a") as fh:
        fh.write('{"event": "step_end", "key": "0/0/h/1", "sta')      # killed mid-write
    again = Journal.open(tmp_path, "run")
    assert set(again.completed()) == {"0/0/h/0"}
    again.attempt = 2
    again.event("run_start", run_id="run", attempt=2)
    again.close()
    assert [(e["event"], e["attempt"]) for e in again.events()] == [("step_end", 1),
                                                                    ("run_start", 2)]


def test_a_clean_up_that_undoes_a_step_makes_it_not_done(tmp_path):
    """qpid_block ok, drain failed, its clean-up qpid_unblock ok: the block is undone."""
    from fleet.model import Batch, Plan, Step, Wave
    unblock = Step("m4", "qpid_unblock", "iptables -D ...")
    chain = (Step("m4", "qpid_block", "iptables -A ..."),
             Step("m4", "qpid_drain", "qpid-stat -q", kind="poll", until="qpid_queues_empty",
                  on_failure=(unblock,)),
             Step("m4", "update", "update.sh -c qpid"), unblock)
    plan = Plan("4.18.01", "maintenance", (Wave("qpid", (Batch(chain),)),))
    j = Journal.create(tmp_path, "run", plan.dumps())
    j.event("step_end", key="0/0/m4/0", status="ok", host="m4")
    j.event("step_end", key="0/0/m4/1", status="failed", host="m4")
    assert set(j.completed(plan)) == {"0/0/m4/0"}
    j.event("step_end", key="0/0/m4/1/undo0", status="ok", host="m4")
    assert "0/0/m4/0" not in j.completed(plan)
    assert "0/0/m4/0" in j.completed()            # without the plan: as before
    j.event("step_end", key="0/0/m4/0", status="ok", host="m4", attempt=2)   # re-done
    assert "0/0/m4/0" in j.completed(plan)
