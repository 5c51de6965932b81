"""Live progress counts what earlier attempts completed, and estimates the time left."""
from __future__ import annotations

import io

from rich.console import Console

from fleet.plan.estimate import estimate
from fleet.run.live import RichProgress
from fleet.run.progress import PlainProgress, Tally
from tests.reports.synthetic import small_plan


def keys(plan):
    out = []
    for wi, w in enumerate(plan.waves):
        for bi, b in enumerate(w.batches):
            for h in b.hosts():
                out += [(wi, bi, h, i, f"{wi}/{bi}/{h}/{i}") for i in range(len(b.chain(h)))]
    return out


def finish(p, plan, done):
    """Events of a resumed attempt that runs every step not in ``done``, as the executor
    sends them (a batch with nothing left is not started)."""
    for wi, wave in enumerate(plan.waves):
        p.on_event("wave_start", {"wave": wave.name, "index": wi, "of": len(plan.waves),
                                  "batches": len(wave.batches)})
        for bi in range(len(wave.batches)):
            todo = [(h, i, k) for w, b, h, i, k in keys(plan) if (w, b) == (wi, bi) and k not in done]
            if not todo:
                continue
            p.on_event("batch_start", {"wave": wave.name, "batch": bi, "label": "", "of": 1,
                                       "hosts": sorted({h for h, _, _ in todo})})
            for h, i, k in todo:
                p.on_event("step_start", {"host": h, "action": "x", "index": i, "key": k})
                p.on_event("step_end", {"host": h, "action": "x", "status": "ok", "index": i,
                                        "key": k, "start": 0.0, "end": 1.0})


def test_a_completed_resume_ends_at_every_step_done():
    plan = small_plan()
    all_keys = [k for *_, k in keys(plan)]
    done = set(all_keys[:9])                        # the first attempt did 9 of 13
    p = RichProgress(plan, console=Console(file=io.StringIO(), width=160, color_system=None),
                     done=done)
    assert p.tally.steps_done == 9 and p.tally.total == 13
    finish(p, plan, done)
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(p.render())
    assert "13/13 steps (100%)" in out.getvalue()
    assert "about 0s left" in out.getvalue()
    assert "3 host(s) done · 0 failed · 0 to go" in out.getvalue()


def test_plain_lines_count_earlier_steps_and_time_left():
    plan = small_plan()
    done = {k for *_, k in keys(plan)[:3]}          # preflight done before
    stream = io.StringIO()
    p = PlainProgress(plan, stream, done=done)
    finish(p, plan, done)
    waves = [line for line in stream.getvalue().splitlines() if "] wave " in line]
    assert "wave 1/3 preflight" in waves[0] and "3/13 steps (23%)" in waves[0]
    assert "wave 3/3 edge" in waves[2] and "9/13 steps (69%)" in waves[2]
    assert p.tally.steps_done == 13 and p.tally.percent() == 100


def test_time_left_follows_the_batches():
    plan = small_plan()
    seconds = {"update:cs,zk": 100, "update:edge": 50, "final_versions": 10, "status": 5}
    est = estimate(plan, overrides=seconds)
    t = Tally(plan, (), est)
    assert t.seconds_left(0.0) == est.total == 5 + 110 + 110 + 60
    t.on_event("batch_start", {"wave": "cs_zk", "batch": 1, "hosts": ["m2", "m3"]}, 0.0)
    assert t.seconds_left(0.0) == 110 + 60
    t.on_event("step_start", {"host": "m2", "key": "1/1/m2/0"}, 0.0)
    t.on_event("step_start", {"host": "m3", "key": "1/1/m3/0"}, 0.0)
    assert t.seconds_left(40.0) == 70 + 60          # 40 s into their update.sh
    assert t.seconds_left(500.0) == 60              # late: the batch counts 0, not less
    t.on_event("step_end", {"host": "m2", "key": "1/1/m2/0", "status": "ok"}, 90.0)
    t.on_event("step_end", {"host": "m3", "key": "1/1/m3/0", "status": "ok"}, 90.0)
    assert t.seconds_left(90.0) == 10 + 60
    # a resumed run: what is done counts zero from the start
    resumed = Tally(plan, {"0/0/m1/0", "0/0/m2/0", "0/0/m3/0"}, None)
    assert resumed.seconds_left(0.0) == estimate(plan).total - estimate(plan).batches[0][0]


def test_time_left_follows_the_pace_of_the_installation():
    """Steps that take a tenth of their estimate make the rest a tenth too (a lab, or a fast
    machine); before five steps have finished the model's figure stands."""
    plan = small_plan()
    est = estimate(plan)
    fast, model = Tally(plan, est=est), Tally(plan, est=est)
    sent = 0
    for wi, wave in enumerate(plan.waves):
        for bi, batch in enumerate(wave.batches):
            if sent >= 6:
                break
            for t in (fast, model):
                t.on_event("batch_start", {"wave": wave.name, "batch": bi,
                                           "hosts": batch.hosts()}, now=0.0)
            for w, b, h, _i, k in keys(plan):
                if (w, b) != (wi, bi) or sent >= 6:
                    continue
                for t, scale in ((fast, 0.1), (model, 1.0)):
                    t.on_event("step_end", {"host": h, "status": "ok", "key": k, "start": 0.0,
                                            "end": est.step[k] * scale}, now=0.0)
                sent += 1
                if sent == 4:
                    assert fast.pace() == 1.0            # too few steps to judge the pace
    assert abs(fast.pace() - 0.1) < 1e-9 and model.pace() == 1.0
    assert model.seconds_left(0.0) > 0
    assert abs(fast.seconds_left(0.0) - model.seconds_left(0.0) * 0.1) < 1e-6


def test_quick_checks_at_the_start_do_not_set_the_pace():
    """Five fast checks are a sliver of a long window: the model's figure stands."""
    plan = small_plan()
    est = estimate(plan)
    t = Tally(plan, est=est)
    small = sorted(keys(plan), key=lambda x: est.step[x[4]])[:5]
    assert sum(est.step[k] for *_, k in small) < 0.05 * t.before_start
    for _, _, h, _, k in small:
        t.on_event("step_end", {"host": h, "status": "ok", "key": k, "start": 0.0,
                                "end": est.step[k] * 0.1}, now=0.0)
    assert t.finished == 5 and t.pace() == 1.0
