"""Validation of every inventory/config value that ends up in a remote command line.

Values are checked when the files are loaded (refused with exit 2, naming the host or key),
and quoted again where a command is built (fleet.plan.quote): validation gives a clear
message up front, quoting keeps a value that slipped through from ever being shell code.
The character sets are those that ``shlex.quote`` leaves alone, so valid values print in
plans exactly as written.
"""
from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, Iterable

from fleet.errors import InputError

HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
PATH = re.compile(r"/[A-Za-z0-9._/+@%=:,-]*")
INTERFACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]{0,14}")     # IFNAMSIZ - 1
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")             # host names, DC names
REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")
VERSION = re.compile(r"\d+\.\d+\.\d+")


def suggest(word: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for a near miss, '' otherwise."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def address(value: Any, where: str) -> str:
    """An IPv4/IPv6 address or a DNS host name."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is not None:
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            if HOSTNAME.fullmatch(text) and not text.replace(".", "").isdigit():
                return text
    raise InputError(f"{where}: {value!r} is not an IP address or host name")


def path(value: Any, where: str) -> str:
    """An absolute path of safe characters, without '..' (trailing '/' dropped)."""
    if not isinstance(value, str):
        raise InputError(f"{where}: must be an absolute path, not {value!r}")
    if not PATH.fullmatch(value):
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9._/+@%=:,-]", c)})
        why = ("must start with '/'" if not value.startswith("/") else
               "contains " + " ".join(repr(c) for c in bad) + " (allowed: letters, digits, "
               "'/', '.', '_', '-', '+', '@', '%', '=', ':', ',')")
        raise InputError(f"{where}: {value!r} is not a safe absolute path: {why}")
    if ".." in value.split("/"):
        raise InputError(f"{where}: {value!r} must not contain '..'")
    return value.rstrip("/") or "/"


def interface(value: Any, where: str) -> str:
    if not isinstance(value, str) or not INTERFACE.fullmatch(value):
        raise InputError(f"{where}: {value!r} is not a network interface name "
                         "(letters, digits, '_', '.', '-', '@', ':', at most 15)")
    return value


def name(value: Any, where: str, what: str = "name") -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise InputError(f"{where}: {value!r} is not a valid {what} "
                         "(letters, digits, '_', '.', '-')")
    return value


def host_port(value: Any, where: str) -> str:
    """HOST or HOST:PORT (the repository mirror)."""
    text = str(value) if isinstance(value, str) else ""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise InputError(f"{where}: {value!r}: port must be a number 1-65535")
    address(host or text, where)
    return text


def pattern(value: Any, rx: re.Pattern[str], where: str, what: str) -> str:
    if not isinstance(value, str) or not rx.fullmatch(value):
        raise InputError(f"{where}: {value!r} is not a valid {what}")
    return value
