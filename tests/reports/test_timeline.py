"""The timeline's axis and colours: pauses between attempts squeezed, ticks that never
repeat a label, one colour per wave whichever waves a run had."""
from __future__ import annotations

import io

import matplotlib.image as mpimg
import numpy as np
import pytest

from fleet.reports import load_run
from fleet.reports.axis import Segment, build, duration
from fleet.reports.colours import WAVES, wave_colour
from fleet.reports.timeline import render_png
from tests.reports.synthetic import Writer, small_plan

T0 = 1_700_000_000.0


def test_a_long_pause_between_attempts_is_squeezed_and_labelled():
    axis = build([Segment(1, T0, T0 + 600), Segment(2, T0 + 600 + 7 * 3600, T0 + 7 * 3600 + 900)])
    (pause,) = axis.pauses
    assert pause.squeezed and pause.seconds == 7 * 3600 and pause.attempt == 2
    # 15 minutes of work stay to scale; the 7 hours take 4 % of that
    assert axis.width == pytest.approx(900 + 0.04 * 900)
    assert float(axis.x(T0 + 600 + 7 * 3600 + 60)) == pytest.approx(600 + 36 + 60)
    assert float(axis.x(T0 + 300)) == 300
    assert duration(pause.seconds) == "7 h 0 min"


def test_a_short_pause_is_drawn_to_scale():
    axis = build([Segment(1, T0, T0 + 600), Segment(2, T0 + 610, T0 + 1200)])
    (pause,) = axis.pauses
    assert not pause.squeezed and pause.width == 10 and not axis.cuts
    assert axis.width == 1200


@pytest.mark.parametrize("span", [0.4, 3, 7, 65, 600, 3 * 3600, 30 * 3600])
def test_tick_labels_are_distinct_and_in_order(span):
    for segs in ([Segment(1, T0 + 0.3, T0 + 0.3 + span)],
                 [Segment(1, T0, T0 + span), Segment(2, T0 + span + 5000, T0 + 2 * span + 5000)]):
        axis = build(segs)
        pos, labels = axis.ticks()
        assert len(labels) == len(set(labels)), labels
        assert pos == sorted(pos) and all(0 <= p <= axis.width + 1e-6 for p in pos)
        assert len(labels) <= 12
        if span >= 3:
            assert len(labels) >= 2, labels


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))   # type: ignore[return-value]


def _pixels(png: bytes, colour: str) -> int:
    img = (mpimg.imread(io.BytesIO(png))[:, :, :3] * 255).round().astype(int)
    return int((np.abs(img - np.array(_rgb(colour))).max(axis=2) <= 3).sum())


def test_a_wave_has_the_same_colour_whichever_waves_ran(tmp_path):
    all_waves = Writer(tmp_path / "a", small_plan())
    all_waves.start()
    for wi, bi, h in ((0, 0, "m1"), (1, 0, "m1"), (2, 0, "m2")):
        all_waves.wave(wi)
        all_waves.step(wi, bi, h, 0)
    all_waves.end("ok")
    edge_only = Writer(tmp_path / "b", small_plan())
    edge_only.start()
    edge_only.wave(2)
    edge_only.step(2, 0, "m2", 0)
    edge_only.end("ok")
    pngs = []
    for w in (all_waves, edge_only):
        data = load_run(w.folder)
        pngs.append(render_png(data.steps, data.hosts, "t"))
    edge = wave_colour("edge")
    # edge is the third wave of one run and the only one of the other: one colour in both
    assert _pixels(pngs[0], edge) > 200 and _pixels(pngs[1], edge) > 200
    assert _pixels(pngs[0], wave_colour("cs_zk")) > 200 and _pixels(pngs[1], wave_colour("cs_zk")) == 0
    assert len(set(WAVES[w] for w in ("preflight", "prepare", "cs_zk", "qpid", "ldap", "edge",
                                      "ui", "postgres", "edge_pg", "validate"))) == 10
    assert wave_colour("a_new_wave") == wave_colour("a_new_wave")


def test_every_wave_of_a_kind_of_run_has_a_colour_of_its_own():
    """A rollback run's waves are drawn in one chart too: none may share a colour (rb_ui
    once fell back to preflight's grey)."""
    from fleet.plan import WAVE_NAMES
    from fleet.rollback.planner import WAVE_HELP as ROLLBACK_WAVES
    region = ("ranges", "keys", "instances", "routing", "drain", "detach", "delete")
    for names in (WAVE_NAMES, tuple(ROLLBACK_WAVES), region):
        assert all(n in WAVES for n in names), [n for n in names if n not in WAVES]
        assert len({wave_colour(n) for n in names}) == len(names), names
