"""`python -m lab.gcp start|stop|serve|state|verdict|fail --dir DIR`.

`start` runs the emulator in the background and writes DIR/endpoint (the URL to pass as
--endpoint) and DIR/pid; the other commands talk to it through its /_emulator/ API.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from lab.gcp.server import CALL_NAMES, FAULT_CALLS, GcpEmulator


def _seed(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    import yaml
    return yaml.safe_load(Path(path).read_text()) or {}


def _endpoint(d: Path) -> str:
    f = d / "endpoint"
    if not f.exists():
        sys.exit(f"no emulator running for {d} (no {f}); start one with "
                 f"`python -m lab.gcp start --dir {d}`")
    return f.read_text().strip()


def _control(d: Path, what: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(f"{_endpoint(d)}/_emulator/{what}",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        sys.exit(f"emulator refused: {exc.read().decode()}")


def cmd_serve(a: argparse.Namespace) -> int:
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    seed = _seed(a.seed)
    if a.drain_scale is not None:
        seed["drain_scale"] = a.drain_scale
    emu = GcpEmulator.start(port=a.port, op_seconds=a.op_seconds, seed=seed)
    (d / "pid").write_text(str(os.getpid()))
    (d / "endpoint").write_text(emu.endpoint + "\n")
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"]:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    emu.stop()
    for name in ("endpoint", "pid"):
        (d / name).unlink(missing_ok=True)
    return 0


def cmd_start(a: argparse.Namespace) -> int:
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    if (d / "pid").exists():
        try:
            os.kill(int((d / "pid").read_text()), 0)
            print(f"already running: {(d / 'endpoint').read_text().strip()}")
            return 0
        except (OSError, ValueError):
            (d / "pid").unlink(missing_ok=True)
    (d / "endpoint").unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "lab.gcp", "serve", "--dir", str(d), "--port", str(a.port),
           "--op-seconds", str(a.op_seconds)] + (["--seed", a.seed] if a.seed else []) \
        + (["--drain-scale", str(a.drain_scale)] if a.drain_scale is not None else [])
    log = (d / "emulator.log").open("ab")
    subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                     start_new_session=True, cwd=os.getcwd())
    deadline = time.monotonic() + 15
    while not (d / "endpoint").exists():
        if time.monotonic() > deadline:
            sys.exit(f"emulator did not start; see {d / 'emulator.log'}")
        time.sleep(0.05)
    print((d / "endpoint").read_text().strip())
    return 0


def cmd_stop(a: argparse.Namespace) -> int:
    d = Path(a.dir)
    pid_file = d / "pid"
    if not pid_file.exists():
        print("not running")
        return 0
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return 0
    deadline = time.monotonic() + 10
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    print("stopped")
    return 0


def cmd_state(a: argparse.Namespace) -> int:
    print(json.dumps(_control(Path(a.dir), "state"), indent=2))
    return 0


def cmd_verdict(a: argparse.Namespace) -> int:
    v = _control(Path(a.dir), "verdict" + (f"?removed={','.join(a.removed)}" if a.removed else ""))
    print(json.dumps(v, indent=2))
    return 0 if v["ok"] else 1


def cmd_lock(a: argparse.Namespace) -> int:
    got = _control(Path(a.dir), "lock", {"seconds": a.seconds})
    print(f"organization locked by {got['operation']} for {a.seconds:g}s")
    return 0


def cmd_fail(a: argparse.Namespace) -> int:
    _control(Path(a.dir), "faults", {"call": a.call, "times": a.times, "code": a.code,
                                     "mode": a.mode, "message": a.message})
    print(f"next {a.times} {a.call} call(s) will fail ({a.mode}, {a.code})")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lab.gcp",
                                description="Local emulator of the Google APIs the Apigee X "
                                            "region workflow uses.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("start", "serve"):
        s = sub.add_parser(name, help="start in the background" if name == "start"
                           else "run in the foreground")
        s.add_argument("--dir", required=True, help="where endpoint, pid and the log go")
        s.add_argument("--port", type=int, default=0, help="default: a free port")
        s.add_argument("--op-seconds", type=float, default=2.0,
                       help="how long each long-running operation takes (default 2)")
        s.add_argument("--seed", help="YAML/JSON initial state (see lab/gcp/seed.py DEFAULTS)")
        s.add_argument("--drain-scale", type=float, metavar="F",
                       help="lab time: connection draining of T s lasts T*F s (default 1)")
    for name, text in (("stop", "stop the background emulator"), ("state", "print its state")):
        sub.add_parser(name, help=text).add_argument("--dir", required=True)
    v = sub.add_parser("verdict", help="violations and leftovers; exit 1 if any")
    v.add_argument("--dir", required=True)
    v.add_argument("--removed", action="append", metavar="LOCATION",
                   help="a region that was removed: anything left of it is a leftover")
    f = sub.add_parser("fail", help="inject a fault into the next call(s) of CALL")
    f.add_argument("--dir", required=True)
    f.add_argument("call", choices=FAULT_CALLS, metavar="CALL",
                   help="* (any call), " + ", ".join(CALL_NAMES))
    f.add_argument("--times", type=int, default=1)
    f.add_argument("--code", type=int, default=500)
    f.add_argument("--mode", choices=("http", "operation", "lost"), default="http",
                   help="http: the request fails; operation: its long-running operation "
                        "fails; lost: the request is done but answered with the error")
    f.add_argument("--message")
    k = sub.add_parser("lock", help="hold the org's Apigee operation lock (another client)")
    k.add_argument("--dir", required=True)
    k.add_argument("--seconds", type=float, default=10.0)
    a = p.parse_args(argv)
    return {"start": cmd_start, "serve": cmd_serve, "stop": cmd_stop, "state": cmd_state,
            "verdict": cmd_verdict, "fail": cmd_fail, "lock": cmd_lock}[a.cmd](a)


if __name__ == "__main__":
    raise SystemExit(main())
