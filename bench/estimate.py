"""Estimate accuracy: the window the runner estimates before a run vs the window it took.

The lab's durations are seconds, a real node's minutes, so our default guesses (made for
real nodes) say nothing about a lab run. The estimate must learn the lab's times from lab
runs, as it learns an installation's from its own earlier runs. Per topology:

1. a fresh lab, ``runner.py --all`` once: the calibration run (its journal is history);
2. a second fresh lab of the same topology and speed, ``runner.py --all`` with the same
   reports folder: the measured run. Its estimate is the one the runner itself computed
   before the first step and recorded in run_start (``estimate_s``), with the history of
   run 1 (``estimate.history: all`` in the bench's config: each lab start has new ports, so
   it is a new "installation" to the runner, which on its own would ignore run 1).

The actual window is run_start to run_end in the journal (what the estimate covers: every
step, batch after batch); the runner process's wall time (Python start-up, plan, leases,
reports: a few seconds that are not part of the window) is shown too. A second figure,
"cross", estimates the measured run from the *other* topologies' calibration runs only
(medians per action, no per-host times): how well lab times carry over to an installation
never run before.

    python bench/estimate.py                   # 5-node, 13-node, 12-node-2dc at update.sh 2 s (~7 min)
    python bench/estimate.py --quick           # 5-node and 13-node at update.sh 1 s (~3 min)
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_args, append_results, command_line, Foreign, journal_events,  # noqa: E402
                     plan_of, run_runner, table, UPDATE_SECONDS, use_run_args, wait_for_quiet)
from _lab import bench_config, Install, lab_durations, LabRun, verdict_text  # noqa: E402

DEFAULT = ["5-node", "13-node", "12-node-2dc"]
TARGET = 0.15


def one_run(inst: Install, speed: float, work: Path, reports: Path, tag: str) -> dict:
    """A fresh lab of ``inst``, ``runner.py --all`` into ``reports``; the run's figures."""
    d = work / f"{inst.name}-{tag}"
    wait_for_quiet()
    foreign = Foreign().__enter__()
    lab = LabRun.start(inst, d / "lab", speed)
    try:
        cfg = bench_config(lab, d, estimate={"history": "all"})
        plan = plan_of(cfg, d / "plan.json")
        res = run_runner(cfg, reports, timeout=900)
        verdict = lab.verdict(final=True)
    finally:
        lab.stop()
        foreign.__exit__()
        shutil.rmtree(d / "lab", ignore_errors=True)
    if res.folder is None or res.rc != 0:
        raise RuntimeError(f"{inst.name} {tag}: runner exit {res.rc}; see {reports}")
    ev = journal_events(res.folder)
    start = next(e for e in ev if e["event"] == "run_start")
    end = next(e for e in ev if e["event"] == "run_end")
    return {"plan": plan, "folder": res.folder, "estimate": float(start["estimate_s"]),
            "window": end["time"] - start["time"], "wall": res.wall, "foreign": foreign.cores,
            "verdict": verdict_text(verdict)}


def cross_estimate(plan: dict, calibrations: list[Path]) -> float:
    """The plan's window from other topologies' runs: per-action medians only."""
    from fleet.model import Plan
    from fleet.plan.estimate import History, estimate
    from fleet.run.history import observations
    from fleet.run.journal import read_events

    samples: dict[str, list[float]] = {}
    for folder in calibrations:
        for key, xs in observations(read_events(folder)).items():
            samples.setdefault(key, []).extend(xs)
    history = History({k: tuple(v) for k, v in samples.items()}, tuple(f.name for f in calibrations))
    return estimate(Plan.from_json(plan), history).total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--installs", nargs="+", help=f"default {' '.join(DEFAULT)}")
    p.add_argument("--update-seconds", type=float, help=f"emulated update.sh (default {UPDATE_SECONDS:g})")
    p.add_argument("--quick", action="store_true", help="5-node and 13-node at update.sh 1 s")
    p.add_argument("--work", help="working folder (default: a temp folder)")
    add_run_args(p)
    a = p.parse_args(argv)
    use_run_args(a)
    names = a.installs or (["5-node", "13-node"] if a.quick else DEFAULT)
    seconds = a.update_seconds or (1.0 if a.quick else UPDATE_SECONDS)
    speed = seconds / lab_durations()[0]["update"]
    work = Path(a.work or tempfile.mkdtemp(prefix="bench-est-"))
    rows, calib = [], {}
    for name in names:
        inst = Install.parse(name)
        reports = work / f"reports-{name}"
        print(f"{name}: calibration run ...", flush=True)
        first = one_run(inst, speed, work, reports, "calibrate")
        calib[name] = first["folder"]
        print(f"  -> window {first['window']:.1f}s; measured run ...", flush=True)
        second = one_run(inst, speed, work, reports, "measure")
        second.update(name=name, calib_window=first["window"])
        rows.append(second)
        print(f"  -> estimate {second['estimate']:.1f}s, window {second['window']:.1f}s, "
              f"error {second['estimate'] / second['window'] - 1:+.1%}", flush=True)
    for r in rows:
        others = [f for n, f in calib.items() if n != r["name"]]
        r["cross"] = cross_estimate(r["plan"], others) if others else float("nan")
    head = ["topology", "update.sh s", "calibration window s", "estimate s", "actual window s",
            "**error**", "runner wall s", "error vs wall", "cross estimate s", "cross error",
            "other load (cores)", "lab verdict"]
    body = table(head, [[r["name"], f"{seconds:g}", f"{r['calib_window']:.1f}", f"{r['estimate']:.1f}",
                         f"{r['window']:.1f}", f"**{r['estimate'] / r['window'] - 1:+.1%}**",
                         f"{r['wall']:.1f}", f"{r['estimate'] / r['wall'] - 1:+.1%}",
                         f"{r['cross']:.1f}", f"{r['cross'] / r['window'] - 1:+.1%}",
                         f"{r['foreign']:.2f}", r["verdict"]] for r in rows])
    ok = all(abs(r["estimate"] / r["window"] - 1) <= TARGET for r in rows)
    notes = ("estimate = what the runner computed before the measured run's first step (run_start "
             "estimate_s), from the calibration run of the same topology in the same reports "
             "folder (estimate.history: all); actual window = run_start to run_end of the "
             "measured run; error = estimate / actual - 1. runner wall = the process from exec to "
             "exit (start-up and reports outside the window). cross = the measured plan estimated "
             "from the other topologies' calibration runs only. Two fresh labs per topology, "
             f"analytics off (a drain is one poll). Target: error within ±{TARGET:.0%}: "
             f"{'met' if ok else 'NOT met'}.")
    print()
    print(body)
    print(notes)
    if not a.no_results:
        append_results("Estimate accuracy (bench/estimate.py)", body + "\n\n" + notes, command_line())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
