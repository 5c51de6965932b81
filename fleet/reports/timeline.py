"""The run as a Gantt chart: one row per host, time across, a bar per step coloured by wave.

Wave colours are fixed (fleet/reports/colours.py) and pauses between attempts squeezed
(fleet/reports/axis.py). Drawn with matplotlib's Agg backend (no display needed) so that it works on a headless
runner; the same PNG bytes go to timeline.png and, base64-encoded, into report.html.
"""
from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from fleet.reports.axis import Axis, Segment, build, duration  # noqa: E402
from fleet.reports.colours import wave_colour  # noqa: E402
from fleet.reports.frames import FAILED, INTERRUPTED  # noqa: E402

MIN_BAR_FRACTION = 0.004      # a 0.1 s step is still a visible sliver on a 2 h chart


def host_order(steps: pd.DataFrame, hosts: dict[str, dict[str, Any]]) -> list[str]:
    """Hosts by data centre and machine number, then in order of first appearance."""
    names = list(dict.fromkeys(steps["host"]))
    first = {h: i for i, h in enumerate(names)}

    def key(h: str) -> tuple[str, int, int]:
        meta = hosts.get(h, {})
        machine = meta.get("machine")
        return (str(meta.get("dc") or ""), machine if isinstance(machine, int) else 10**6,
                first.get(h, 0))
    return sorted(names, key=key)


def render_png(steps: pd.DataFrame, hosts: dict[str, dict[str, Any]], title: str,
               attempt_ends: dict[int, float] | None = None) -> bytes:
    """PNG bytes of the chart; a chart saying 'no step ran' when nothing ran. A step still
    open (interrupted, or running on a live page) is drawn up to its attempt's end."""
    ran = steps[steps["start"].notna()].copy() if not steps.empty else steps
    if ran.empty:
        fig, ax = plt.subplots(figsize=(8, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}: no step ran", ha="center", va="center")
        return _png(fig)
    ran["end"] = _filled_ends(ran, attempt_ends or {})
    axis = build([Segment(int(a), float(g["start"].min()), float(g["end"].max()))
                  for a, g in ran.groupby("attempt")])
    min_width = max(axis.width, 1.0) * MIN_BAR_FRACTION
    order = host_order(ran, hosts)
    row = {h: i for i, h in enumerate(order)}
    waves = list(dict.fromkeys(ran.sort_values("wave_index", kind="stable")["wave"]))
    height = max(2.5, 0.45 * len(order) + 1.6)
    fig, ax = plt.subplots(figsize=(12, height))
    x0 = axis.x(ran["start"].to_numpy(dtype=float))
    bars = ran.assign(x=x0, w=(axis.x(ran["end"].to_numpy(dtype=float)) - x0).clip(min_width),
                      y=ran["host"].map(row))
    # One collection per wave and look, holding every host's bars (not an artist per step or
    # per host): 3,000 steps on 200 hosts draw in well under a second.
    for (wave, status), group in bars.groupby(["wave", "status"], sort=False):
        failed, interrupted = status == FAILED, status == INTERRUPTED
        x, w, y = group["x"].to_numpy(), group["w"].to_numpy(), group["y"].to_numpy()
        verts = [[(a, b - 0.35), (a, b + 0.35), (a + c, b + 0.35), (a + c, b - 0.35)]
                 for a, c, b in zip(x, w, y, strict=True)]
        ax.add_collection(PolyCollection(
            verts, facecolors=wave_colour(wave),
            edgecolors="#b00020" if failed or interrupted else "none",
            linewidths=1.5 if failed else 0.8, hatch="//" if interrupted else None),
            autolim=False)
        if failed:
            ax.plot(list(x + w / 2), list(y), linestyle="none", marker="X", color="#b00020",
                    markersize=11, markeredgecolor="white", zorder=5)
    right = float((bars["x"] + bars["w"]).max())
    pad = right * 0.01
    ax.set_xlim(-pad, right + pad)
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([_label(h, hosts) for h in order])
    ax.invert_yaxis()
    _pauses(ax, axis)
    pos, labels = axis.ticks()
    ax.set_xticks(pos, labels, rotation=30, ha="right")
    ax.set_xlabel("time (UTC)" + ("; pauses between attempts shortened" if axis.cuts else ""))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    legend: list[Artist] = [Patch(facecolor=wave_colour(w), label=w) for w in waves]
    if (ran["status"] == FAILED).any():
        legend.append(plt.Line2D([], [], marker="X", color="#b00020", linestyle="none",
                                 markersize=9, label="failed"))
    if (ran["status"] == INTERRUPTED).any():
        legend.append(Patch(facecolor="white", edgecolor="#b00020", hatch="//",
                            label="interrupted"))
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              title="wave", frameon=False)
    fig.tight_layout()
    return _png(fig)


def _filled_ends(ran: pd.DataFrame, attempt_ends: dict[int, float]) -> pd.Series:
    """Open steps end where their own attempt ended (not in a later attempt)."""
    last = ran.groupby("attempt")["end"].max().combine_first(ran.groupby("attempt")["start"].max())
    fill = ran["attempt"].map(lambda a: max(float(attempt_ends.get(int(a)) or 0.0),
                                            float(last[a])))
    return ran["end"].fillna(fill).astype(float)


def _pauses(ax: Any, axis: Axis) -> None:
    """A marker where each later attempt begins: a hatched band for a squeezed pause,
    labelled with its real length, a dashed line otherwise."""
    top = ax.get_xaxis_transform()             # x in data, y in axes fraction
    for p in axis.pauses:
        if p.squeezed:
            ax.axvspan(p.at, p.at + p.width, facecolor="#f1f3f4", edgecolor="#9aa0a6",
                       hatch="xx", linewidth=0.8, zorder=0)
            text = f"attempt {p.attempt}\n(after {duration(p.seconds)})"
        else:
            ax.axvline(p.at + p.width, color="#5f6368", linestyle="--", linewidth=1, zorder=0)
            text = f"attempt {p.attempt}"
        ax.text(p.at + p.width, 0.995, " " + text.replace("\n", "\n "), transform=top,
                ha="left", va="top", fontsize=7, color="#3c4043",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})


def _label(host: str, hosts: dict[str, dict[str, Any]]) -> str:
    meta = hosts.get(host, {})
    return f"{host} ({meta['dc']})" if meta.get("dc") else host


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
