"""Command line: ``python -m lab start|stop|verdict|fault|state|topologies|durations|inventory|demo``.

``start`` daemonizes the lab (``_serve`` is the daemon's own entry point) and returns
once every host accepts SSH. Everything outside ``lab/`` and ``tests/`` (the benchmarks,
an operator trying the tool) drives the lab through these commands, never by importing it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from lab import Lab, LabError


def _start_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topology", default="5-node")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--probe", action="store_true")
    p.add_argument("--nodes", type=int)
    p.add_argument("--dcs", type=int)
    p.add_argument("--mirror", type=Path, help="emulate this Nornir SimpleInventory directory")
    p.add_argument("--repo-mode", choices=("internet", "mirror", "tar"), default="internet")
    p.add_argument("--ssh-server", choices=("asyncssh", "openssh"), default="asyncssh",
                   help="openssh: real Debian sshd per host (root only; lab/openssh.py)")
    p.add_argument("--no-analytics", action="store_true",
                   help="message processors produce no analytics: Qpid queues stay empty, so a "
                   "drain is one poll (benchmarks use this for a fixed drain time)")
    p.add_argument("--sudo-password", action="store_true", help="sudo asks for a password "
                   "(every time; the secrets file gets become_password)")
    p.add_argument("--ssh-keys", action="store_true", help="key-only login: writes an encrypted "
                   "key (keys/id_ed25519) and an inventory that uses it; its passphrase is a secret")
    p.add_argument("--bastion", action="store_true", help="the hosts accept SSH only through a "
                   "jump host (the inventory's proxy_jump)")
    p.add_argument("--prompt", help="PS1 of the hosts' login shells, e.g. '\\t \\u@\\h \\w\\$ '")
    p.add_argument("--json", action="store_true", help="print the lab's description (paths, "
                   "hosts, port) as JSON instead of text")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    _start_args(sub.add_parser("start", help="start a lab installation in the background"))
    _start_args(sub.add_parser("_serve", help=argparse.SUPPRESS))
    p = sub.add_parser("stop", help="stop the lab in DIR")
    p.add_argument("--dir", required=True, type=Path)
    p = sub.add_parser("verdict", help="judge what was done so far (exit 1 on violations)")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--final", action="store_true", help="apply the end-of-run judgements")
    p.add_argument("--expect-version", choices=("4.16.09", "4.18.01"), default="4.18.01",
                   help="with --final: the release every component must end at (4.16.09 judges "
                   "a rolled-back installation)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("fault", help="inject a fault on a host")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--host", required=True)
    p.add_argument("--kind", required=True)
    p.add_argument("--match")
    p = sub.add_parser("clear-faults", help="remove injected faults")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--host")
    p = sub.add_parser("state", help="print the lab state as JSON")
    p.add_argument("--dir", required=True, type=Path)
    sub.add_parser("topologies", help="list the topologies")
    sub.add_parser("durations", help="print the emulated durations (seconds at speed 1) as JSON")
    p = sub.add_parser("inventory", help="write the inventory and config.yaml of a topology "
                       "without starting a lab (addresses are placeholders; for planning only)")
    p.add_argument("--topology", default="5-node")
    p.add_argument("--nodes", type=int)
    p.add_argument("--dcs", type=int)
    p.add_argument("--out", required=True, type=Path)
    sub.add_parser("demo", help="start a lab and run a full update against it")
    return ap


def serve(a: argparse.Namespace) -> int:
    from lab.server import LabServer
    from lab.access import Access
    server = LabServer(a.dir, a.topology, a.speed, a.probe, a.nodes, a.dcs, a.mirror, a.repo_mode,
                       a.ssh_server, Access(a.sudo_password, a.ssh_keys, a.bastion, a.prompt))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(server.run())
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: server.stopping.set() if server.stopping else None)
        await task

    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:                     # lab/demo.py parses its own options
        from lab import demo
        return demo.main(argv[1:])
    a = parser().parse_args(argv)
    try:
        if a.cmd == "_serve":
            return serve(a)
        if a.cmd == "start":
            lab = Lab.start(a.topology, a.dir, a.speed, a.probe, a.nodes, a.dcs, a.mirror,
                            a.repo_mode, daemon=True, ssh_server=a.ssh_server,
                            sudo_password=a.sudo_password, ssh_keys=a.ssh_keys, bastion=a.bastion,
                            prompt=a.prompt)
            if a.no_analytics:
                try:
                    lab.set_state(producing=False)
                except LabError:
                    lab.stop()                  # no daemon left behind a failed start
                    raise
            if a.json:
                print(json.dumps(lab.info, indent=2))
                return 0
            print(f"lab started: {len(lab.hosts)} hosts, ssh port {lab.port}, API {lab.management_url}")
            for k in ("inventory", "config", "secrets", "known_hosts"):
                print(f"  {k:12} {lab.info[k]}")
            print(f"  {'log':12} {lab.directory / 'lab.log'}")
            return 0
        if a.cmd == "stop":
            Lab.attach(a.dir).stop()
            print("lab stopped")
            return 0
        if a.cmd == "verdict":
            v = Lab.attach(a.dir).verdict(final=a.final, expect_version=a.expect_version)
            print(json.dumps(v.to_json(), indent=2) if a.json else v.text())
            return 0 if v.ok else 1
        if a.cmd == "fault":
            Lab.attach(a.dir).fault(a.host, a.kind, a.match)
            return 0
        if a.cmd == "clear-faults":
            Lab.attach(a.dir).clear_faults(a.host)
            return 0
        if a.cmd == "state":
            print(json.dumps(Lab.attach(a.dir).state(), indent=2))
            return 0
        if a.cmd == "topologies":
            from lab.topologies import describe
            print(describe())
            return 0
        if a.cmd == "durations":
            from lab.commands import DURATIONS, MIN_DURATION
            print(json.dumps({"durations": DURATIONS, "min_duration": MIN_DURATION}, indent=2))
            return 0
        if a.cmd == "inventory":
            from lab.topologies import build, write_inventory
            try:
                specs = build(a.topology, a.nodes, a.dcs)
            except ValueError as exc:
                raise LabError(str(exc)) from None
            print(write_inventory(a.out, specs))
            return 0
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2
    return 2
