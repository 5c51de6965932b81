"""A TCP port standing in for every host's SSH: it counts connection attempts, so a test
can prove that bad input was refused before anything was contacted."""
from __future__ import annotations

import socket
import threading


class Listener:
    """A TCP port standing in for every host's SSH: it only counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            conn.close()
