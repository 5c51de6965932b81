"""known_hosts files parsed once per version of the file, not once per SSH connection.

netmiko builds a fresh paramiko client for every connection and has it read the known_hosts
files again, and paramiko's ``HostKeys.load`` compares each line with every entry read so
far: quadratic in the file's length. With a 200-host known_hosts that is about 100 ms of CPU
per connection, under the GIL, so opening 200 sessions took 8 s. ``install()`` makes
``SSHClient.load_host_keys`` and ``load_system_host_keys`` take their entries from a cache
keyed by the file's path, inode, size and change times. Checking is unchanged: the client
gets its own copy of the same entries, and a file that changes is read again.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

import paramiko
from paramiko.hostkeys import HostKeyEntry

_lock = threading.Lock()
_cache: dict[tuple[str, int, int, int, int], list[HostKeyEntry]] = {}
_installed = False


def entries(filename: str) -> list[HostKeyEntry]:
    """Fresh copies of the file's entries, parsed once per version of the file (a rewrite,
    even one that keeps size and mtime, changes the inode or ctime)."""
    st = os.stat(filename)
    key = (os.path.realpath(filename), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _lock:
        parsed = _cache.get(key)
        if parsed is None:
            keys = paramiko.HostKeys()
            keys.load(filename)
            parsed = _cache[key] = list(keys._entries)
    return [HostKeyEntry(list(e.hostnames), e.key) for e in parsed]


def _fill(keys: paramiko.HostKeys, filename: str, original: Callable[[], None]) -> None:
    if len(keys._entries):            # merging into keys already there: paramiko's own way
        original()
    else:
        keys._entries = entries(filename)


def install() -> None:
    """Patch paramiko's SSHClient once per process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _patch()
        _installed = True


def _patch() -> None:
    load_host_keys = paramiko.SSHClient.load_host_keys
    load_system = paramiko.SSHClient.load_system_host_keys

    def cached_load_host_keys(self: Any, filename: str) -> None:
        self._host_keys_filename = filename
        _fill(self._host_keys, filename, lambda: load_host_keys(self, filename))

    def cached_load_system_host_keys(self: Any, filename: str | None = None) -> None:
        if filename is None:
            path = os.path.expanduser("~/.ssh/known_hosts")
            try:
                _fill(self._system_host_keys, path, lambda: load_system(self, path))
            except OSError:
                pass
            return
        _fill(self._system_host_keys, filename, lambda: load_system(self, filename))

    paramiko.SSHClient.load_host_keys = cached_load_host_keys            # type: ignore[method-assign]
    paramiko.SSHClient.load_system_host_keys = cached_load_system_host_keys  # type: ignore[method-assign]
