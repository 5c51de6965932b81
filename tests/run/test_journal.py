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


def test_a_torn_last_line_is_ignored(tmp_path):
    j = Journal.create(tmp_path, "run", "{}")
    j.event("step_end", key="0/0/h/0", status="ok", host="h")
    j.close()
    with (tmp_path / "run" / "journal.jsonl").open("a") as fh:
        fh.write('{"event": "step_end", "key": "0/0/h/1", "sta')      # killed mid-write
    again = Journal.open(tmp_path, "run")
    assert set(again.completed()) == {"0/0/h/0"}


def test_only_successful_steps_count_as_done(tmp_path):
    j = Journal.create(tmp_path, "run", "{}")
    j.event("step_end", key="a", status="failed", host="h")
    j.event("step_end", key="b", status="ok", host="h", vars={"mp_uuid": "u1"})
    assert set(j.completed()) == {"b"}
    assert j.completed()["b"]["vars"] == {"mp_uuid": "u1"}
