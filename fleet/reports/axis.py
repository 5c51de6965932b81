"""The timeline's time axis: working time to scale, pauses between attempts squeezed.

A run that failed at 02:10 and was resumed at 09:30 would otherwise be a chart of seven
hours of nothing with two slivers of work at its ends. Each attempt keeps its real scale;
a pause longer than ``BREAK`` of the working time is drawn ``BREAK`` wide, with a break
marker that says how long it really was. Ticks are whole seconds (minutes on longer runs)
on the clock, placed per attempt, and no two ticks carry the same label.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

BREAK = 0.04             # width of a squeezed pause, as a fraction of the working time
TICKS = 8                # about this many labelled ticks across the chart
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
         43200, 86400)


@dataclass(frozen=True)
class Segment:
    attempt: int
    start: float         # real time (epoch seconds)
    end: float


@dataclass(frozen=True)
class Pause:
    """A gap between two attempts as drawn: from axis position ``at``, ``width`` wide."""
    at: float
    width: float
    seconds: float       # how long the pause really was
    squeezed: bool
    attempt: int         # the attempt that begins after it


@dataclass(frozen=True)
class Axis:
    t0: float
    segments: tuple[Segment, ...]
    pauses: tuple[Pause, ...]
    cuts: tuple[tuple[float, float, float], ...]      # (gap start, gap end, drawn width)

    def x(self, t: np.ndarray | float) -> np.ndarray:
        """Axis positions (seconds of the squeezed axis) of real times."""
        t = np.asarray(t, dtype=float)
        out = t - self.t0
        for s, e, w in self.cuts:
            inside = np.clip(t - s, 0.0, e - s)            # how much of the gap lies before t
            out = out - inside + inside / (e - s) * w
        return out

    @property
    def width(self) -> float:
        return float(self.x(self.segments[-1].end)) if self.segments else 1.0

    def ticks(self) -> tuple[list[float], list[str]]:
        """Tick positions and labels: clock times, a nice step apart, distinct."""
        if not self.segments:
            return [], []
        step = next((s for s in STEPS if s >= self.width / TICKS), STEPS[-1])
        fmt = "%H:%M:%S" if step < 60 else "%H:%M"
        pos: list[float] = []
        labels: list[str] = []
        for seg in self.segments:
            first = np.ceil(seg.start / step) * step
            for t in np.arange(first, seg.end + 1e-9, step):
                x = float(self.x(t))
                label = time.strftime(fmt, time.gmtime(t))
                if pos and (x - pos[-1] < 0.6 * step or label in labels):
                    continue                              # next to a break, or same label
                pos.append(x)
                labels.append(label)
        return pos, labels


def build(segments: list[Segment]) -> Axis:
    """The axis for these attempts' working spans (in order of time)."""
    segs = tuple(sorted(segments, key=lambda s: s.start))
    if not segs:
        return Axis(0.0, (), (), ())
    working = sum(max(s.end - s.start, 0.0) for s in segs) or 1.0
    width = BREAK * working
    cuts: list[tuple[float, float, float]] = []
    pauses: list[Pause] = []
    axis = Axis(segs[0].start, segs, (), ())
    for before, after in zip(segs, segs[1:], strict=False):
        gap = after.start - before.end
        if gap <= 0:
            pauses.append(Pause(float(axis.x(after.start)), 0.0, 0.0, False, after.attempt))
            continue
        squeezed = gap > width
        if squeezed:
            cuts.append((before.end, after.start, width))
            axis = Axis(segs[0].start, segs, (), tuple(cuts))
        pauses.append(Pause(float(axis.x(before.end)), width if squeezed else gap, gap,
                            squeezed, after.attempt))
    return Axis(segs[0].start, segs, tuple(pauses), tuple(cuts))


def duration(seconds: float) -> str:
    """'2 h 13 min', '4 min 5 s', '12 s'."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min {s % 60} s"
    return f"{max(s, 0)} s" if seconds >= 1 or seconds <= 0 else f"{seconds:.1f} s"
