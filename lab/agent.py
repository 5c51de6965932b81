"""Tiny client that every emulated command execs: relays argv and I/O to the lab process.

Usage (from a stub script): ``python -S agent.py SOCKET HOST COMMAND [ARGS...]``.
Only builtin modules (``_socket``, no json/enum/re), so it starts in ~20 ms. Frames are
``TYPE(1 byte) LENGTH(4 bytes, big endian) PAYLOAD``. From the lab: ``o``/``e`` output,
``r`` read a line (payload ``1`` echo, ``0`` silent, then the prompt to show), ``a`` read all of stdin, ``x`` exit
status. To the lab: ``h`` hello (NUL-separated host, command, cwd, tty flag, args), ``l``
a line, ``n`` end of input, ``d`` all of stdin. If the lab goes away the command exits 255.
"""
import os
import sys

import _socket


def frame(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


class Conn:
    def __init__(self, s) -> None:
        self.s, self.buf = s, b""

    def read(self):
        while len(self.buf) < 5 or len(self.buf) < 5 + int.from_bytes(self.buf[1:5], "big"):
            chunk = self.s.recv(65536)
            if not chunk:
                return None, b""
            self.buf += chunk
        n = int.from_bytes(self.buf[1:5], "big")
        kind, payload, self.buf = self.buf[:1], self.buf[5:5 + n], self.buf[5 + n:]
        return kind, payload


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _readline(echo: bool, prompt: bytes = b""):
    """A prompt is written once echo is off (as sudo does): a fast answer is never echoed."""
    fd = 0
    if not echo and os.isatty(fd):
        import termios
        old = termios.tcgetattr(fd)
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
        write_all(1, prompt)
        try:
            line = sys.stdin.buffer.readline()
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
            os.write(1, b"\n")
    else:
        write_all(1, prompt)
        line = sys.stdin.buffer.readline()
    return line.rstrip(b"\n") if line else None


def main(argv) -> int:
    sock_name, host, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    address = "\0" + sock_name[1:] if sock_name.startswith("@") else sock_name
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(address)
    except OSError as exc:
        os.write(2, f"{cmd}: cannot reach the node's services ({exc})\n".encode())
        return 255
    fields = [host, cmd, os.getcwd(), "1" if os.isatty(0) else "0"] + list(args)
    s.sendall(frame(b"h", "\0".join(fields).encode("utf-8", "surrogateescape")))
    conn = Conn(s)
    while True:
        kind, payload = conn.read()
        if kind is None:
            os.write(2, f"{cmd}: connection to the node's services lost\n".encode())
            return 255
        if kind == b"o":
            write_all(1, payload)
        elif kind == b"e":
            write_all(2, payload)
        elif kind == b"r":
            line = _readline(payload[:1] == b"1", payload[1:])
            s.sendall(frame(b"n", b"") if line is None else frame(b"l", line))
        elif kind == b"a":
            s.sendall(frame(b"d", sys.stdin.buffer.read()))
        elif kind == b"x":
            return int(payload)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(141)
