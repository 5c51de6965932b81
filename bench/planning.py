"""Planning: time to build and write the plan of a large installation (pure: no lab, no SSH).

Inventories are generated like the lab's `generated` topology (per data centre: 3 datastore
nodes, the first with a Management Server, 2 Qpid, the PostgreSQL pair, the rest
router+MP; plus a rollback standby), written as a Nornir SimpleInventory. Measured stages,
best of --repeat runs each:

- load: read and validate the YAML inventory (fleet.inventory.load_inventory);
- build: fleet.plan.build_plan (+ select of the whole plan, as `--all` does);
- write: Plan.dumps() and the file write (what `--plan-out` does);
- CLI: `python runner.py --config … --plan-out FILE` end to end, a fresh process (imports
  included).

Target: build + write under 1 s at 1,000 nodes.

    python bench/planning.py             # 100, 1,000, 5,000 nodes, 1 and 4 DCs, both modes
    python bench/planning.py --quick     # 100 and 1,000 nodes
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (append_results, command_line, Foreign, ROOT, table,  # noqa: E402
                     wait_for_quiet)
from _lab import lab_cli  # noqa: E402


def write_inventory(folder: Path, nodes: int, dcs: int) -> Path:
    """A generated installation's inventory and config.yaml, written by the lab's command
    line (placeholder addresses: nothing is started)."""
    out = lab_cli("inventory", "--topology", "generated", "--nodes", str(nodes), "--dcs", str(dcs),
                  "--out", str(folder))
    return Path(out.strip())


SLOW = 5.0   # seconds: a stage this slow is measured once, and its CLI run is skipped


def best(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        if times[-1] > SLOW:          # one sample of a slow stage is enough
            break
    return min(times), out


def measure(nodes: int, dcs: int, zero: bool, work: Path, repeat: int) -> dict:
    from fleet.inventory import load_inventory
    from fleet.plan import Selection, build_plan, select
    from fleet.settings import load_settings

    folder = work / f"n{nodes}-dc{dcs}"
    cfg = folder / "config.yaml"
    if not cfg.exists():
        write_inventory(folder, nodes, dcs)
    settings = load_settings(cfg)
    t_load, loaded = best(lambda: load_inventory(settings.inventory_files), repeat)
    inv_nodes = loaded
    t_build, plan = best(lambda: select(build_plan(inv_nodes, settings, zero), inv_nodes, Selection()),
                         repeat)
    out = folder / f"plan-{'zd' if zero else 'm'}.json"

    def write() -> int:
        text = plan.dumps() + "\n"
        out.write_text(text, encoding="utf-8")
        return len(text)

    t_write, size = best(write, repeat)
    cli = [sys.executable, str(ROOT / "runner.py"), "--config", str(cfg), "--plan-out", str(out)]
    if zero:
        cli.append("--zero-downtime")

    def run_cli() -> int:
        return subprocess.run(cli, cwd=ROOT, capture_output=True, text=True).returncode

    t_cli, rc = (float("nan"), 0) if t_build > SLOW else best(run_cli, max(1, min(repeat, 3)))
    steps = sum(len(b.steps) for w in plan.waves for b in w.batches)
    batches = sum(len(w.batches) for w in plan.waves)
    return {"nodes": len(inv_nodes), "dcs": dcs, "mode": "zero-downtime" if zero else "maintenance",
            "batches": batches, "steps": steps, "load": t_load, "build": t_build, "write": t_write,
            "size": size, "cli": t_cli, "rc": rc}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", type=int, help="node counts (default 100 1000 5000)")
    p.add_argument("--dcs", nargs="+", type=int, help="data centres (default 1 4)")
    p.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    p.add_argument("--quick", action="store_true", help="100 and 1,000 nodes, 1 DC, maintenance")
    p.add_argument("--work", help="working folder (default: a temp folder)")
    p.add_argument("--no-results", action="store_true")
    p.add_argument("--quiet-wait", type=float, default=20.0, help="wait up to this long for other "
                   "work on the machine to stop before each size (default 20 s)")
    a = p.parse_args(argv)
    sizes = a.sizes or ([100, 1000] if a.quick else [100, 1000, 5000])
    dcs_list = a.dcs or ([1] if a.quick else [1, 4])
    modes = [False] if a.quick else [False, True]
    work = Path(a.work or tempfile.mkdtemp(prefix="bench-plan-"))
    rows = []
    for n in sizes:
        for dcs in dcs_list:
            for zero in modes:
                wait_for_quiet(a.quiet_wait)
                with Foreign() as f:
                    r = measure(n, dcs, zero, work, a.repeat)
                r["foreign"] = f.cores
                rows.append(r)
                print(f"{n:>5} nodes, {dcs} DC(s), {r['mode']:<13}: build {r['build']:.3f}s, write "
                      f"{r['write']:.3f}s, CLI {r['cli']:.2f}s", flush=True)
    body = table(["nodes", "DCs", "mode", "batches", "steps", "load inventory s", "build plan s",
                  "write JSON s", "**build + write s**", "plan MB", "CLI --plan-out s", "other load (cores)", "exit"],
                 [[r["nodes"], r["dcs"], r["mode"], r["batches"], r["steps"], f"{r['load']:.3f}",
                   f"{r['build']:.3f}", f"{r['write']:.3f}", f"**{r['build'] + r['write']:.3f}**",
                   f"{r['size'] / 1e6:.1f}", "skipped (slow build)" if r["cli"] != r["cli"] else f"{r['cli']:.2f}",
                   f"{r['foreign']:.2f}", r["rc"]] for r in rows])
    notes = (f"Best of {a.repeat}. nodes include the rollback standby. CLI = a fresh `runner.py "
             "--plan-out` process (Python start-up, imports, YAML, build, write). "
             "A stage slower than 5 s is measured once and its CLI run skipped. "
             "Target: build + write < 1 s at 1,000 nodes.")
    print("\n" + body + "\n" + notes)
    if not a.no_results:
        append_results("Planning (bench/planning.py)", body + "\n\n" + notes, command_line())
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
