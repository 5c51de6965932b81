"""Overhead: the runner's own cost when the emulated work is (almost) nothing.

The lab runs at speed 0: every emulated sleep lasts the lab's floor (MIN_DURATION, 0.02 s),
so what a step takes beyond that floor is the runner's, SSH's and the lab's cost of carrying
a command. Reported per install:

- wall time of `runner.py --all`, the number of serial batches, hosts and steps;
- per step (journal step_start..step_end minus the emulated floor): median over all steps,
  median over steps of single-host batches (no contention), and amortized
  (steps' span − ideal) / steps;
- connection set-up per host: the first step of each host (which opens its SSH session)
  minus the median of that host's other preflight steps; and, measured directly, netmiko
  connects with the runner's options to 1 host and to every host at once;
- the runner process's peak resident memory (os.wait4 rusage of that child).

Then two controlled series: the same hosts with fewer serial batches (concurrency.edge 1 vs 0),
and more hosts at a constant number of batches (generated installs with concurrency.edge 0).
Targets: median ≤ 0.1 s per step, < 300 MB at 200 nodes, wall time growing with serial
batches, not hosts.

    python bench/overhead.py            # ~7 min
    python bench/overhead.py --quick    # 13-node, gen52, series on 26/52 hosts (~2 min)
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_args, append_results, command_line, Foreign, journal_span,
                     journal_steps, median, pct, plan_of, run_runner, table, use_run_args,
                     wait_for_quiet)  # noqa: E402
from _ideal import estimate  # noqa: E402
from _lab import (bench_config, Install, LabRun)  # noqa: E402

DEFAULT = ["13-node", "12-node-2dc", "gen52", "gen200"]
SERIES = [26, 52, 104, 200]


def connect_times(lab, hosts: int) -> tuple[float, float, float]:
    """(one connect, wall for `hosts` connects at once, mean per host at once) the way the
    runner connects (tasks/plugin.py, tasks/hostkeys.py): password, strict host keys
    against the lab's known_hosts, session opened up to the shell prompt."""
    import yaml
    from netmiko import ConnectHandler

    from tasks.plugin import open_session
    from tasks.hostkeys import install
    install()

    inv = yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text())
    names = [n for n in inv if n != "pgr"][:hosts]

    def one(name: str) -> float:
        h = inv[name]
        t = time.perf_counter()
        c = ConnectHandler(device_type="linux", host=h["hostname"], port=h["port"], username="apigee",
                           password=lab.ssh_password, ssh_strict=True, system_host_keys=False,
                           alt_host_keys=True, alt_key_file=str(lab.known_hosts), use_keys=False,
                           allow_agent=False, conn_timeout=60, auth_timeout=60, banner_timeout=60,
                           auto_connect=False)
        open_session(c)
        dt = time.perf_counter() - t
        c.disconnect()
        return dt

    single = statistics.median([one(names[0]) for _ in range(3)])
    t = time.perf_counter()
    with ThreadPoolExecutor(len(names)) as ex:
        each = list(ex.map(one, names))
    return single, time.perf_counter() - t, statistics.mean(each)


def measure(inst: Install, work: Path, label: str | None = None, connect: bool = True,
            **user) -> dict:
    from fleet.inventory import load_inventory
    from fleet.settings import load_settings

    name = label or inst.name
    d = work / name.replace(" ", "_").replace("=", "")
    if d.exists():
        shutil.rmtree(d)
    wait_for_quiet()
    foreign = Foreign().__enter__()
    lab = LabRun.start(inst, d / "lab", 0.0)
    try:
        config = bench_config(lab, d, **user) if user else lab.config_path
        plan = plan_of(config, d / "plan.json")
        nodes = load_inventory(load_settings(config).inventory_files)
        est = estimate(plan, nodes, 0.0)
        print(f"{name}: {len(nodes)} hosts, {est['batches']} batches, {est['steps']} steps; running ...",
              flush=True)
        res = run_runner(config, d / "reports", timeout=1800)
        conn = connect_times(lab, len(nodes)) if connect else (float("nan"),) * 3
    finally:
        lab.stop()
        foreign.__exit__()
    row = {"foreign": foreign.cores, "install": name, "hosts": len(nodes), "batches": est["batches"], "steps": est["steps"],
           "wall": res.wall, "rss": res.max_rss_mb, "cpu": res.cpu_s, "rc": res.rc, "conn1": conn[0],
           "conn_all": conn[1], "conn_each": conn[2]}
    if res.folder is None:
        return row
    steps = journal_steps(res.folder)
    per = est["per_step"]
    first, last = journal_span(res.folder)
    over = [s.seconds - per.get(s.key, 0.0) for s in steps]
    hosts_in = {}
    for s in steps:
        hosts_in.setdefault((s.key.split("/")[0], s.batch), set()).add(s.host)
    serial = [s.seconds - per.get(s.key, 0.0) for s in steps
              if len(hosts_in[(s.key.split("/")[0], s.batch)]) == 1]
    # connection set-up: the first step of each host vs its other preflight steps
    setup = []
    pre = [s for s in steps if s.wave == "preflight"]
    for h in {s.host for s in pre}:
        mine = sorted((s for s in pre if s.host == h), key=lambda s: s.index)
        if len(mine) > 1:
            setup.append(mine[0].seconds - median([s.seconds for s in mine[1:]]))
    row.update(span=last - first, ideal=est["ideal"], over=median(over), over95=pct(over, 0.95),
               serial=median(serial), amortized=((last - first) - est["ideal"]) / max(1, len(steps)),
               setup=median(setup), startup=first - res.t_exec, finish=res.t_exit - last)
    return row


def fmt(x: float, n: int = 3) -> str:
    return "–" if x != x else f"{x:.{n}f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--installs", nargs="+", help=f"default {' '.join(DEFAULT)}")
    p.add_argument("--series", nargs="*", type=int, help=f"generated sizes at concurrency.edge 0 "
                   f"(default {' '.join(map(str, SERIES))})")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--work", help="working folder (default: a temp folder)")
    add_run_args(p)
    a = p.parse_args(argv)
    use_run_args(a)
    names = a.installs or (["13-node", "gen52"] if a.quick else DEFAULT)
    series = a.series if a.series is not None else ([26, 52] if a.quick else SERIES)
    work = Path(a.work or tempfile.mkdtemp(prefix="bench-ovh-"))

    rows = [measure(Install.parse(n), work) for n in names]
    head = ["install", "hosts", "batches", "steps", "runner wall s", "steps' span s",
            "median step overhead s", "p95 s", "median, 1-host batches s", "amortized s/step",
            "SSH set-up per host (journal) s", "connect 1 host s", "connect all at once s",
            "start-up s", "after last step s", "runner CPU s", "peak RSS MB", "other load (cores)", "exit"]
    body1 = table(head, [[r["install"], r["hosts"], r["batches"], r["steps"], fmt(r["wall"], 1),
                          fmt(r.get("span", float("nan")), 1), f"**{fmt(r.get('over', float('nan')))}**",
                          fmt(r.get("over95", float("nan"))), fmt(r.get("serial", float("nan"))),
                          fmt(r.get("amortized", float("nan"))), fmt(r.get("setup", float("nan"))),
                          fmt(r["conn1"]), fmt(r["conn_all"], 1), fmt(r.get("startup", float("nan")), 1),
                          fmt(r.get("finish", float("nan")), 1), fmt(r["cpu"], 1), f"**{r['rss']:.0f}**", f"{r['foreign']:.2f}", r["rc"]]
                         for r in rows])
    print("\n" + body1)

    # controlled series
    srows = []
    if series:
        base = series[min(1, len(series) - 1)]
        inst = Install.parse(f"gen{base}")
        srows.append(measure(inst, work, f"gen{base} edge=1", connect=False))
        srows.append(measure(inst, work, f"gen{base} edge=0", connect=False, concurrency={"edge": 0}))
        for n in series:
            if n == base:
                continue
            srows.append(measure(Install.parse(f"gen{n}"), work, f"gen{n} edge=0", connect=False,
                                 concurrency={"edge": 0}))
    body2 = ""
    if srows:
        srows.sort(key=lambda r: (r["install"].endswith("edge=1"), r["hosts"]))
        body2 = table(["run", "hosts", "serial batches", "steps", "runner wall s", "steps' span s",
                       "span / batch s", "span / step s", "runner CPU s", "peak RSS MB", "other load (cores)", "exit"],
                      [[r["install"], r["hosts"], r["batches"], r["steps"], fmt(r["wall"], 1),
                        fmt(r.get("span", float("nan")), 1),
                        fmt(r.get("span", float("nan")) / r["batches"]),
                        fmt(r.get("span", float("nan")) / r["steps"]), fmt(r["cpu"], 1), f"{r['rss']:.0f}", f"{r['foreign']:.2f}",
                        r["rc"]]
                       for r in srows])
        print("\n" + body2)
    notes = ("Speed 0: every emulated sleep is the lab's floor of 0.02 s; step overhead = journal "
             "step duration − that floor (× sleeps in the command). 1-host batches: steps with no "
             "other host running beside them. Amortized = (steps' span − ideal) / steps. "
             "SSH set-up (journal) = first step of a host − median of its other preflight steps. "
             "Series: concurrency.edge 0 updates every edge node at once, so batches stay ~constant "
             "while hosts grow. Other load = CPU of processes not ours during the run, in cores. Targets: median ≤ 0.1 s/step, peak RSS < 300 MB at 200 nodes.")
    print(notes)
    if not a.no_results:
        append_results("Overhead (bench/overhead.py)", body1 + ("\n\n" + body2 if body2 else "")
                       + "\n\n" + notes, command_line())
    return 0 if all(r["rc"] == 0 for r in rows + srows) else 1


if __name__ == "__main__":
    sys.exit(main())
