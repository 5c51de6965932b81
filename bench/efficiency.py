"""Efficiency: how close `runner.py --all` comes to the fastest the procedure allows.

For each lab installation with fixed emulated durations (update.sh 2 s by default, every
other lab duration scaled alike: bootstrap 1 s, start 0.33 s, ...), the shortest possible
wall time is the sum over the plan's batches of their longest host chain of emulated
durations (bench/_common.py: Estimator). The real wall time is that of the runner process,
from exec to exit. ratio = ideal / real; target >= 0.95.

    python bench/efficiency.py                 # 13-node, 12-node-2dc, gen52, gen200 (~9 min)
    python bench/efficiency.py --quick         # 13-node and gen52 at update.sh 1 s (~2 min)
    python bench/efficiency.py --installs gen200 --update-seconds 2
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_args, append_results, command_line, Foreign, journal_events,
                     journal_span, journal_steps, median, pct, plan_of, run_runner, table,
                     UPDATE_SECONDS, use_run_args, wait_for_quiet)  # noqa: E402
from _ideal import estimate  # noqa: E402
from _lab import (Install, lab_durations, LabRun, verdict_text)  # noqa: E402


DEFAULT = ["13-node", "12-node-2dc", "gen52", "gen200"]
# gen200's plan has 197 serial edge batches: at update.sh 2 s its ideal alone is 8 minutes,
# so by default it runs at 1 s to keep the script under ~10 minutes (--update-seconds 2 for all).
DEFAULT_SECONDS = {"gen200": 1.0}


def measure(inst: Install, seconds: float, work: Path, keep: bool) -> dict:
    from fleet.inventory import load_inventory
    from fleet.settings import load_settings

    speed = seconds / lab_durations()[0]["update"]
    d = work / inst.name
    if d.exists():
        shutil.rmtree(d)
    wait_for_quiet()
    foreign = Foreign().__enter__()
    lab = LabRun.start(inst, d / "lab", speed)
    try:
        plan = plan_of(lab.config_path, d / "plan.json")
        nodes = load_inventory(load_settings(lab.config_path).inventory_files)
        est = estimate(plan, nodes, speed)
        print(f"{inst.name}: {len(nodes)} hosts, {est['batches']} batches, {est['steps']} steps, "
              f"ideal {est['ideal']:.1f}s; running ...", flush=True)
        res = run_runner(lab.config_path, d / "reports", timeout=max(600, 4 * est["ideal"]))
        verdict = lab.verdict(final=True)
    finally:
        lab.stop()
        foreign.__exit__()
    row = {"foreign": foreign.cores, "install": inst.name, "hosts": len(nodes), "batches": est["batches"],
           "steps": est["steps"], "seconds": seconds, "ideal": est["ideal"], "wall": res.wall,
           "rc": res.rc, "verdict": verdict_text(verdict)}
    if res.folder is None:
        row.update(span=float("nan"), over=float("nan"), low=0, batch_over=float("nan"))
        return row
    first, last = journal_span(res.folder)
    ev = journal_events(res.folder)
    t_start = next(e["time"] for e in ev if e["event"] == "run_start")
    t_end = next((e["time"] for e in ev if e["event"] == "run_end"), last)
    steps = journal_steps(res.folder)
    per = est["per_step"]
    over = [s.seconds - per[s.key] for s in steps if s.key in per]
    low = sum(1 for s in steps if s.key in per and s.seconds < per[s.key] - 0.02)
    # batch overhead: measured batch span minus its longest chain
    spans: dict[tuple[int, int], list[float]] = {}
    for s in steps:
        wi = int(s.key.split("/")[0])
        spans.setdefault((wi, s.batch), []).extend([s.start, s.end])
    measured_batches = sum(max(v) - min(v) for v in spans.values())
    row.update(span=last - first, run=t_end - t_start, over=median(over), over95=pct(over, 0.95),
               low=low, in_batches=measured_batches, between=(last - first) - measured_batches,
               startup=first - res.t_exec, finish=res.t_exit - last, folder=str(res.folder))
    if not keep:
        shutil.rmtree(d / "lab", ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--installs", nargs="+", help=f"default {' '.join(DEFAULT)} (genN[xDCS] = generated)")
    p.add_argument("--update-seconds", type=float, help="emulated update.sh duration for every install "
                   f"(default {UPDATE_SECONDS:g}, gen200 1)")
    p.add_argument("--quick", action="store_true", help="13-node and gen52 at update.sh 1 s")
    p.add_argument("--work", help="working folder (default: a temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the lab folders")
    add_run_args(p)
    a = p.parse_args(argv)
    use_run_args(a)
    names = a.installs or (["13-node", "gen52"] if a.quick else DEFAULT)
    work = Path(a.work or tempfile.mkdtemp(prefix="bench-eff-"))
    rows = []
    for name in names:
        inst = Install.parse(name)
        secs = a.update_seconds or (1.0 if a.quick else DEFAULT_SECONDS.get(name, UPDATE_SECONDS))
        rows.append(measure(inst, secs, work, a.keep))
        r = rows[-1]
        print(f"  -> wall {r['wall']:.1f}s, ratio {r['ideal'] / r['wall']:.3f}, rc {r['rc']}, "
              f"lab verdict {r['verdict']}", flush=True)
    head = ["install", "hosts", "batches", "steps", "update.sh s", "ideal s", "runner wall s",
            "ratio", "steps' span s", "ratio (span)", "median step overhead s",
            "p95 step overhead s", "between batches s", "start-up s", "after last step s", "other load (cores)", "exit",
            "lab verdict"]
    body = table(head, [[r["install"], r["hosts"], r["batches"], r["steps"], f"{r['seconds']:g}",
                         f"{r['ideal']:.1f}", f"{r['wall']:.1f}", f"**{r['ideal'] / r['wall']:.3f}**",
                         f"{r['span']:.1f}", f"{r['ideal'] / r['span']:.3f}", f"{r['over']:.3f}",
                         f"{r.get('over95', float('nan')):.3f}", f"{r.get('between', float('nan')):.1f}",
                         f"{r.get('startup', float('nan')):.1f}", f"{r.get('finish', float('nan')):.1f}",
                         f"{r['foreign']:.2f}", r["rc"], r["verdict"]] for r in rows])
    notes = ("ideal = sum over batches of the longest host chain of emulated durations "
             "(lab duration table × speed; drains, checks and API calls count 0). "
             "runner wall = the runner process from exec to exit (Python start-up, plan, SSH, "
             "reports included); steps' span = first step start to last step end in the journal. "
             "Step overhead = journal step duration − its emulated duration; between batches = "
             "steps' span − sum of batch spans; start-up = exec to first step (imports, plan, "
             "Nornir, first connections are inside the first steps); after last step = "
             "summary and reports (CSV, HTML, timeline PNG). Other load = CPU used by processes "
             "not ours during the run, in cores (other sessions' work on a 2-core machine). "
             "Target: ratio ≥ 0.95.")
    bad = [r for r in rows if r.get("low")]
    if bad:
        notes += (" Estimator check: " + ", ".join(f"{r['install']}: {r['low']} step(s) shorter than "
                  "their estimate" for r in bad) + ".")
    print()
    print(body)
    print(notes)
    if not a.no_results:
        append_results("Efficiency (bench/efficiency.py)", body + "\n\n" + notes, command_line())
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
