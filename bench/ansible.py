"""Against Ansible: the runner's update order as an Ansible playbook, on the same lab.

The playbook is generated from the runner's own plan (`runner.py --plan-out`), so the
commands, their order and the hosts are identical: every plan batch is a play over its hosts
(consecutive one-host batches of a wave with the same steps are folded into one play with
`serial: 1`, which is the same order), every step a `raw` task (check steps fail on their
`expect` regexes or facts, the Qpid drain retries `qpid-stat -q` with the runner's own predicate
through a filter plugin, management-API calls are `uri` tasks on the controller, `on_failure`
clean-ups are `rescue` blocks). Two variants:

- serial: `serial: 1` on every play, the vendor's community accelerator's way;
- parallel: each play as wide as the procedure allows (`strategy: free`, forks = the widest
  batch), one-host batches folded into `serial: 1` plays.

Connection: the lab's password, the lab's known_hosts, strict host keys (see below for the
plugin). Secrets the runner types at prompts are
piped (`printf … | bash bootstrap…`) and the repository user exported: Ansible's raw has no
prompt answering, so the lab will flag rule 10 (secret on a remote command line) for the
Ansible runs; only their wall times are compared here.

ansible-core comes with the README set-up (requirements.txt). With `sshpass` on the machine
(`apt-get install sshpass`) Ansible uses OpenSSH with ControlPersist; without it, its paramiko
plugin (given a HOME of its own whose known_hosts holds the lab's host keys). The table says
which.

    python bench/ansible.py                    # 13-node at update.sh 2 s, gen200 at speed 0 (~11 min)
    python bench/ansible.py --quick            # 13-node at speed 0
    python bench/ansible.py --emit DIR         # only write the playbooks for the repo's inventory
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_run_args, append_results, command_line, Foreign, plan_of, ROOT,
                     run_runner, table, use_run_args, wait_for_quiet)  # noqa: E402
from _lab import (Install, lab_durations, LabRun, verdict_text)  # noqa: E402

import yaml  # noqa: E402

HERE = Path(__file__).resolve().parent / "ansible"


class Unsafe(str):
    """A string Ansible must not template (commands contain `$`, `{`, `#`)."""


class Dumper(yaml.SafeDumper):
    pass


Dumper.add_representer(Unsafe, lambda d, v: d.represent_scalar("!unsafe", str(v)))
Dumper.ignore_aliases = lambda self, data: True  # type: ignore[assignment]


# --- the playbook ----------------------------------------------------------------------
def _shell_text(step: dict[str, Any], secrets: dict[str, str]) -> str:
    """The runner's command, with what it types silently made explicit for raw."""
    cmd = step["command"]
    if step.get("prompts"):
        answers = " ".join(shlex.quote(secrets[p["secret"]]) for p in step["prompts"])
        cmd = f"printf '%s\\n' {answers} | {cmd}"
    for i in reversed(step.get("inputs") or []):
        cmd = f"export {i['variable']}={shlex.quote(secrets[i['secret']])}; {cmd}"
    return cmd


def _signature(step: dict[str, Any]) -> str:
    keep = {k: v for k, v in step.items() if k not in ("host", "command", "on_failure")}
    keep["undo"] = len(step.get("on_failure") or [])
    if step["kind"] != "http":
        keep.pop("request", None)
    return json.dumps(keep, sort_keys=True)


def _tasks(chain_sig: list[dict[str, Any]], group: list[str], all_hosts: list[str],
           key: str) -> list[dict[str, Any]]:
    """Tasks for the hosts of one group (same step kinds): commands come from play vars."""
    out = []
    when = None if set(group) == set(all_hosts) else f"inventory_hostname in {group!r}"
    for j, s in enumerate(chain_sig):
        name = f"{s['action']}"
        kind = s["kind"]
        if kind == "http":
            req = s["request"]
            url = re.sub(r"\$\{(\w+)\}", r"{{ \1 }}", req["url"])
            uri: dict[str, Any] = {
                "url": url, "method": req["method"], "url_username": "{{ fleet_admin_email }}",
                "url_password": "{{ fleet_admin_password }}", "force_basic_auth": True,
                "headers": {"Accept": "application/json"}, "return_content": True,
                "status_code": [200, 201, 202, 204], "timeout": int(s.get("timeout", 60))}
            if req.get("body"):
                uri["body_format"] = "form-urlencoded"
                uri["body"] = dict(req["body"])
            t = {"name": name, "ansible.builtin.uri": uri, "delegate_to": "localhost",
                 "connection": "local", "register": "r",
                 "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}}
            tasks = [t]
            if req.get("store"):
                tasks.append({"name": f"{name} (store {req['store']})", "ansible.builtin.set_fact": {
                    req["store"]: "{{ (r.json | fleet_pick_server(sel)).uUID }}"},
                    "vars": {"sel": {k: Unsafe(v) for k, v in req.get("select", {}).items()}}})
        elif kind == "pause":
            tasks = [{"name": name, "ansible.builtin.pause": {"seconds": int(math.ceil(s["timeout"]))}}]
        else:
            t = {"name": name, "ansible.builtin.raw": f"{{{{ {key}[inventory_hostname][{j}] }}}}",
                 "register": "r"}
            if kind == "check" and s.get("expect"):
                t["vars"] = {"rx": [Unsafe(x) for x in s["expect"]]}
                t["failed_when"] = "r.rc != 0 or " + " or ".join(
                    f"(r.stdout is not search(rx[{i}]))" for i in range(len(s["expect"])))
            elif kind == "check" and s.get("fact"):
                t["vars"] = {"fact_args": s.get("fact_args") or {}}
                t["failed_when"] = (f"r.rc != 0 or not (r.stdout | fleet_fact("
                                    f"{s['fact']!r}, fact_args))")
            elif kind == "poll":
                interval = float(s.get("interval") or 1)
                t["until"] = f"r.rc == 0 and (r.stdout | fleet_until({s['until']!r}))"
                t["delay"] = max(1, int(math.ceil(interval)))           # Ansible's delay is whole seconds
                t["retries"] = max(1, int(s["timeout"] // t["delay"]))
            tasks = [t]
            if s.get("on_failure"):
                rescue = [{"name": f"{u['action']} (on failure)",
                           "ansible.builtin.raw": f"{{{{ {key}_undo[inventory_hostname][{j}][{k}] }}}}"}
                          for k, u in enumerate(s["on_failure"])]
                rescue.append({"name": "fail after clean-up",
                               "ansible.builtin.fail": {"msg": f"{s['action']} failed"}})
                tasks = [{"name": f"{name} (with clean-up)", "block": tasks, "rescue": rescue}]
        out.extend(tasks)
    if when:
        out = [dict(t, when=when) for t in out]
    return out


def playbook(plan: dict[str, Any], serial: bool, secrets: dict[str, str]) -> list[dict[str, Any]]:
    """Plays in plan order; see the module doc for how batches become plays."""
    # 1. batches -> (wave, label, hosts, chains)
    units = []
    for w in plan["waves"]:
        for bi, b in enumerate(w["batches"]):
            chains: dict[str, list[dict[str, Any]]] = {}
            for s in b["steps"]:
                chains.setdefault(s["host"], []).append(s)
            units.append({"wave": w["name"], "label": b.get("label") or f"batch {bi + 1}",
                          "chains": chains})
    # 2. fold runs of one-host batches with the same steps into one serial play
    plays_src: list[dict[str, Any]] = []
    for u in units:
        hosts = list(u["chains"])
        sig = [_signature(s) for s in u["chains"][hosts[0]]]
        prev = plays_src[-1] if plays_src else None
        if (len(hosts) == 1 and prev and prev["fold"] and prev["wave"] == u["wave"]
                and prev["sig"] == sig and hosts[0] not in prev["chains"]):
            prev["chains"].update(u["chains"])
            prev["labels"].append(u["label"])
            continue
        plays_src.append({"wave": u["wave"], "labels": [u["label"]], "chains": dict(u["chains"]),
                          "fold": len(hosts) == 1, "sig": sig})
    # 3. plays
    plays = []
    for n, p in enumerate(plays_src, start=1):
        hosts = list(p["chains"])
        groups: dict[tuple[str, ...], list[str]] = {}
        for h, chain in p["chains"].items():
            groups.setdefault(tuple(_signature(s) for s in chain), []).append(h)
        cmds = {h: [Unsafe(_shell_text(s, secrets)) for s in chain] for h, chain in p["chains"].items()}
        undo = {h: [[Unsafe(u["command"]) for u in (s.get("on_failure") or [])] for s in chain]
                for h, chain in p["chains"].items()}
        tasks = []
        for members in groups.values():
            tasks += _tasks(p["chains"][members[0]], members, hosts, "c")
        labels = p["labels"][0] + (f" … ({len(p['labels'])} batches)" if len(p["labels"]) > 1 else "")
        play: dict[str, Any] = {"name": f"{n}. {p['wave']}: {labels}", "hosts": ",".join(hosts),
                                "gather_facts": False, "order": "inventory", "any_errors_fatal": False,
                                "max_fail_percentage": 0, "vars": {"c": cmds}}
        if any(any(s.get("on_failure") for s in ch) for ch in p["chains"].values()):
            play["vars"]["c_undo"] = undo
        if serial or p["fold"]:
            play["serial"] = 1
        elif len(hosts) > 1:
            play["strategy"] = "free"
        play["tasks"] = tasks
        plays.append(play)
    return plays


def write_files(work: Path, plan: dict[str, Any], inventory: dict[str, Any], known_hosts: Path | None,
                ssh_password: str, secrets: dict[str, str], forks: int,
                portable: bool = False) -> dict[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    use_ssh = shutil.which("sshpass") is not None
    hosts = {}
    for name, h in inventory.items():
        hv = {"ansible_host": h["hostname"]}
        if h.get("port"):
            hv["ansible_port"] = h["port"]
        hosts[name] = hv
    common = "-o PubkeyAuthentication=no -o PreferredAuthentications=password -o GlobalKnownHostsFile=/dev/null"
    if known_hosts:
        common += f" -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes"
    inv = {"all": {"vars": {
        "ansible_user": "apigee", "ansible_password": Unsafe(ssh_password),
        "ansible_connection": "ssh" if use_ssh else "paramiko",
        "ansible_ssh_common_args": common,
        "fleet_admin_email": Unsafe(secrets.get("admin_email", "")),
        "fleet_admin_password": Unsafe(secrets.get("admin_password", ""))}, "hosts": hosts}}
    (work / "inventory.yml").write_text(yaml.dump(inv, Dumper=Dumper, sort_keys=False))
    if known_hosts and not use_ssh:
        # the paramiko plugin reads only ~/.ssh/known_hosts: give Ansible a HOME of its own
        # holding the lab's host keys (strict checking stays on)
        (work / "home" / ".ssh").mkdir(parents=True, exist_ok=True)
        shutil.copy(known_hosts, work / "home" / ".ssh" / "known_hosts")
    # ControlPath sockets need a short directory (108-byte limit of a Unix socket path)
    cp = "~/.ansible/cp" if portable else Path(tempfile.mkdtemp(prefix="acp", dir="/tmp"))
    plugins = "../filter_plugins" if portable else HERE / "filter_plugins"
    (work / "ansible.cfg").write_text(f"""[defaults]
inventory = inventory.yml
forks = {forks}
gathering = explicit
host_key_checking = True
retry_files_enabled = False
filter_plugins = {plugins}
interpreter_python = auto_silent
display_skipped_hosts = False
deprecation_warnings = False
timeout = 60

[ssh_connection]
ssh_args = -o ControlMaster=auto -o ControlPersist=900s
control_path_dir = {cp}
control_path = %(directory)s/%%C
pipelining = True

[paramiko_connection]
host_key_checking = True
""")
    out = {}
    for variant in ("serial", "parallel"):
        path = work / f"playbook-{variant}.yml"
        path.write_text(f"# generated by bench/ansible.py from the runner's plan ({variant})\n"
                        + yaml.dump(playbook(plan, variant == "serial", secrets), Dumper=Dumper,
                                    sort_keys=False, width=4096))
        out[variant] = path
    return out


def run_playbook(work: Path, book: Path, timeout: float) -> dict[str, Any]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PYTHONPATH=str(ROOT))
    if (work / "home").is_dir():
        env["HOME"] = str(work / "home")
    log = work / (book.stem + ".log")
    t0 = time.monotonic()
    with open(log, "w") as f:
        p = subprocess.Popen(["ansible-playbook", str(book)], cwd=work, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            rc = p.wait(timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            rc = p.wait()
            timed_out = True
    wall = time.monotonic() - t0
    text = log.read_text(errors="replace")
    plays = len(set(re.findall(r"^PLAY \[(.*)\]", text, re.M)))
    return {"rc": rc, "wall": wall, "timed_out": timed_out, "plays_started": plays, "log": log}


# --- the comparison --------------------------------------------------------------------
def compare(inst: Install, speed: float, work: Path, timeout: float, forks_cap: int,
            variants: list[str]) -> dict[str, Any]:
    d = work / inst.name
    if d.exists():
        shutil.rmtree(d)
    row: dict[str, Any] = {"install": inst.name, "update_s": lab_durations()[0]["update"] * speed}
    # the runner
    wait_for_quiet()
    foreign = Foreign().__enter__()
    lab = LabRun.start(inst, d / "lab-runner", speed)
    try:
        plan = plan_of(lab.config_path, d / "plan.json")
        inventory = yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text())
        print(f"{inst.name}: runner.py --all ...", flush=True)
        res = run_runner(lab.config_path, d / "reports", timeout=timeout)
        row.update(hosts=len(inventory), runner=res.wall, runner_rc=res.rc,
                   runner_timeout=res.timed_out)
    finally:
        lab.stop()
        foreign.__exit__()
    row["runner_foreign"] = foreign.cores
    widest = max(len({s["host"] for s in b["steps"]}) for w in plan["waves"] for b in w["batches"])
    row["forks"] = min(widest, forks_cap)
    for variant in variants:
        wait_for_quiet()
        foreign = Foreign().__enter__()
        lab = LabRun.start(inst, d / f"lab-{variant}", speed)
        try:
            plan_v = plan_of(lab.config_path, d / f"plan-{variant}.json")
            books = write_files(d / f"ansible-{variant}", plan_v,
                                yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text()),
                                lab.known_hosts, lab.ssh_password, lab.secrets, row["forks"])
            print(f"{inst.name}: ansible-playbook ({variant}, forks {row['forks']}) ...", flush=True)
            r = run_playbook(d / f"ansible-{variant}", books[variant], timeout)
            r["verdict"] = verdict_text(lab.verdict(final=True), frozenset({8, 10}))
            r["plays"] = len(re.findall(r"^- name: ", books[variant].read_text(), re.M))
            row[variant] = r
            print(f"  -> {r['wall']:.1f}s rc {r['rc']}{' (timeout)' if r['timed_out'] else ''}", flush=True)
        finally:
            lab.stop()
            foreign.__exit__()
        r["foreign"] = foreign.cores
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--installs", nargs="+", help="e.g. 13-node gen200 (default: 13-node at update.sh "
                   "2 s, gen200 at speed 0)")
    p.add_argument("--update-seconds", type=float, help="emulated update.sh duration for every install")
    p.add_argument("--timeout", type=float, default=150, help="cap per Ansible or runner run, s "
                   "(default 150: a capped run is reported as a lower bound)")
    p.add_argument("--forks-cap", type=int, default=200)
    p.add_argument("--variants", nargs="+", default=["parallel", "serial"])
    p.add_argument("--quick", action="store_true", help="13-node at speed 0")
    p.add_argument("--emit", metavar="DIR", help="only write the playbooks for the repository's "
                   "own inventory (config.yaml) into DIR")
    p.add_argument("--work")
    add_run_args(p)
    a = p.parse_args(argv)
    use_run_args(a)
    if a.emit:
        out = Path(a.emit)
        out.mkdir(parents=True, exist_ok=True)
        plan = plan_of(ROOT / "config.yaml", out / "plan.json")
        inv = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text())
        fake = {k: "SECRET" for k in ("repo_user", "repo_password", "admin_email", "admin_password")}
        write_files(out, plan, inv, None, "SECRET", fake, 10, portable=True)
        (out / "plan.json").unlink()
        print(f"written: {', '.join(sorted(x.name for x in out.iterdir()))}")
        return 0
    update_at_1 = lab_durations()[0]["update"]
    if not shutil.which("ansible-playbook"):
        print("ansible-playbook not found: python3 -m pip install -r requirements.txt", file=sys.stderr)
        return 2
    if not shutil.which("sshpass"):
        print("note: sshpass not found (apt-get install sshpass); using Ansible's paramiko plugin",
              file=sys.stderr)
    if a.installs:
        secs = a.update_seconds if a.update_seconds is not None else 2.0
        jobs = [(Install.parse(n), secs / update_at_1) for n in a.installs]
    elif a.quick:
        jobs = [(Install.parse("13-node"), 0.0)]
    else:
        jobs = [(Install.parse("13-node"), 2.0 / update_at_1), (Install.parse("gen200"), 0.0)]
    work = Path(a.work or tempfile.mkdtemp(prefix="bench-ansible-"))
    rows = [compare(inst, speed, work, a.timeout, a.forks_cap, a.variants) for inst, speed in jobs]

    def cell(r: dict[str, Any], v: str) -> str:
        x = r.get(v)
        if not x:
            return "–"
        return (f"≥ {x['wall']:.0f} (cap; {x['plays_started']}/{x['plays']} plays)" if x["timed_out"]
                else f"{x['wall']:.1f}" + ("" if x["rc"] == 0 else f" (exit {x['rc']})"))

    def ratio(r: dict[str, Any], v: str) -> str:
        x = r.get(v)
        if not x:
            return "–"
        q = x["wall"] / r["runner"]
        return f"{'≥ ' if x['timed_out'] else ''}{q:.2f}×"

    body = table(["install", "hosts", "update.sh s", "runner s", "Ansible parallel s", "Ansible serial: 1 s",
                  "parallel / runner", "serial / runner", "forks", "Ansible lab verdict (rules 8, 10 aside)",
                  "other load (cores): runner / parallel / serial"],
                 [[r["install"], r["hosts"], f"{r['update_s']:g}",
                   f"{r['runner']:.1f}" + ("" if r["runner_rc"] == 0 else f" (exit {r['runner_rc']})"),
                   cell(r, "parallel"), cell(r, "serial"), f"**{ratio(r, 'parallel')}**",
                   f"**{ratio(r, 'serial')}**", r["forks"],
                   " / ".join(f"{v}: {r[v]['verdict']}" for v in a.variants if r.get(v)),
                   " / ".join([f"{r['runner_foreign']:.2f}"] + [f"{r[v]['foreign']:.2f}" for v in a.variants
                                                                 if r.get(v)])] for r in rows])
    connection = ("OpenSSH with ControlPersist (sshpass for the password)" if shutil.which("sshpass")
                  else "paramiko (no sshpass on this machine)")
    notes = ("Same lab, same plan, same commands; wall times of the whole process (ansible-playbook "
             "or runner.py). A capped run was killed at --timeout: its ratio is a lower bound. "
             f"Ansible's connection here: {connection}. Its raw tasks put the secrets on "
             "the remote command line (lab rule 10), which the runner never does. Target: the runner "
             "faster than both.")
    print("\n" + body + "\n" + notes)
    if not a.no_results:
        append_results("Against Ansible (bench/ansible.py)", body + "\n\n" + notes, command_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
