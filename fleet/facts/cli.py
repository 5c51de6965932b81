"""`python runner.py facts KIND [FILE]`: what the runner makes of a command's output.

For operators debugging a gate or a drain, and for tests: the output is read from FILE or
stdin and the fact printed as JSON. Unreadable input exits 2 with a message.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fleet.errors import InputError
from fleet.facts import PARSERS, apigee_version, postgres_check, releases


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"facts: {message} (see facts --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="runner.py facts",
                description="Print, as JSON, what the runner reads from a command's output.",
                epilog="kinds: " + ", ".join(PARSERS) + ". Example: ssh NODE "
                       "/opt/apigee/apigee-service/bin/apigee-all version | "
                       "python runner.py facts apigee-version --target 4.18.01")
    p.add_argument("kind", choices=list(PARSERS), metavar="KIND", help=" | ".join(PARSERS))
    p.add_argument("file", nargs="?", metavar="FILE", help="the output (default: stdin)")
    p.add_argument("--target", metavar="VERSION",
                   help="apigee-version: also say which packages are at this release")
    p.add_argument("--config", metavar="FILE",
                   help="take user_defined.releases (and postgres patterns) from this config")
    return p


def _read(file: str | None) -> str:
    try:
        if file is None or file == "-":
            return sys.stdin.read()
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"facts: cannot read {file or 'stdin'}: {exc}") from None


def fact_of(kind: str, text: str, target: str | None = None,
            override: dict[str, Any] | None = None, pattern: str = "") -> dict[str, Any]:
    """The fact as the command prints it; ValueError when the output cannot be read."""
    if kind == "postgres-check":
        return postgres_check.parse(text, pattern)
    fact = PARSERS[kind](text)
    if kind == "apigee-version" and target:
        fact["at_target"] = apigee_version.at_target(fact["packages"], target,
                                                     releases.load(override))
    return fact


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    override, pattern = None, ""
    if args.config:
        from fleet.settings import load_settings
        settings = load_settings(Path(args.config))
        override = settings["releases"]
        pattern = settings["postgres.standby_pattern"] or settings["postgres.master_pattern"] or ""
    text = _read(args.file)
    try:
        fact = fact_of(args.kind, text, args.target, override, pattern)
    except ValueError as exc:
        raise InputError(f"facts: {args.kind}: {exc}") from None
    print(json.dumps(fact, indent=2))
    return 0
