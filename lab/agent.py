"""Tiny client that every emulated command execs: relays argv and I/O to the lab process.

Usage (from a stub script): ``python3 -S agent.py SOCKET HOST COMMAND [ARGS...]``.
Stdlib only and no site import, so it starts in a few milliseconds. The lab answers with
newline-delimited JSON frames: ``o``/``e`` output, ``readline``/``readall`` input requests,
``x`` the exit status. If the lab goes away the command exits 255.
"""
import json
import os
import socket
import sys


def _readline(echo: bool) -> str | None:
    fd = sys.stdin.fileno()
    if not echo and os.isatty(fd):
        import termios
        old = termios.tcgetattr(fd)
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
        try:
            line = sys.stdin.readline()
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
            sys.stdout.write("\n")
            sys.stdout.flush()
    else:
        line = sys.stdin.readline()
    return line.rstrip("\n") if line else None


def main(argv: list) -> int:
    sock_name, host, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    address = "\0" + sock_name[1:] if sock_name.startswith("@") else sock_name
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(address)
    except OSError as exc:
        sys.stderr.write(f"{cmd}: cannot reach the node's services ({exc})\n")
        return 255
    f = s.makefile("rwb", buffering=0)
    hello = {"host": host, "cmd": cmd, "argv": args, "cwd": os.getcwd(),
             "tty": os.isatty(0), "pid": os.getpid()}
    f.write(json.dumps(hello).encode() + b"\n")
    out, err = sys.stdout, sys.stderr
    for raw in f:
        msg = json.loads(raw)
        if "o" in msg:
            out.write(msg["o"])
            out.flush()
        elif "e" in msg:
            err.write(msg["e"])
            err.flush()
        elif "readline" in msg:
            line = _readline(bool(msg["readline"].get("echo", True)))
            f.write(json.dumps({"line": line}).encode() + b"\n")
        elif "readall" in msg:
            data = sys.stdin.read()
            f.write(json.dumps({"data": data}).encode() + b"\n")
        elif "x" in msg:
            return int(msg["x"])
    err.write(f"{cmd}: connection to the node's services lost\n")
    return 255


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(141)
