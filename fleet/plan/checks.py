"""Predicates over command output, named by poll steps (``Step.until``)."""
from __future__ import annotations

import re
from typing import Callable


def queue_depths(output: str) -> dict[str, int]:
    """Messages per queue from `qpid-stat -q`: the `msg` column, read by position under its
    right-aligned header, because the autoDel/excl columns may be blank. The cell runs from
    the end of the previous header to the end of `msg`, so wide counts are read whole."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        heads = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", line)]
        names = [h[0] for h in heads]
        if "queue" not in names or "msg" not in names:
            continue
        k = names.index("msg")
        left, right = heads[k - 1][2], heads[k][2]
        depths: dict[str, int] = {}
        for row in lines[i + 1:]:
            if not row.strip() or set(row.strip()) <= {"="}:
                continue
            cell = row[left:right + 1].split()
            numbers = [c for c in cell if c.isdigit()]
            if len(numbers) != 1:
                raise ValueError(f"cannot read the msg count of: {row.strip()!r}")
            depths[row.split()[0]] = int(numbers[0])
        return depths
    raise ValueError("qpid-stat output has no header with a msg column")


def qpid_queues_empty(output: str) -> tuple[bool, str]:
    depths = queue_depths(output)
    waiting = {q: d for q, d in depths.items() if d}
    if waiting:
        return False, ", ".join(f"{q}: {d} msg" for q, d in waiting.items())
    return True, f"{len(depths)} queue(s) empty"


PREDICATES: dict[str, Callable[[str], tuple[bool, str]]] = {
    "qpid_queues_empty": qpid_queues_empty,
}


# What to do when a check fails: printed with the run's summary.
HINTS: dict[str, str] = {
    "check_status": "a component is not running: start it (apigee-all start) and check "
                    "apigee-all status before the update",
    "check_config": "the silent config file is missing or unreadable: fix data.config_file",
    "check_smtp": "SKIP_SMTP=n needs SMTPMAILFROM in the config file, e.g. "
                  "SMTPMAILFROM=\"My Company <myco@company.com>\" (required since 4.17.05)",
    "check_external_auth": "external LDAP/AD: set IS_EXTERNAL_AUTH=true in the config file",
    "check_selinux": "SELinux is enforcing: setenforce 0 and SELINUX=permissive in "
                     "/etc/selinux/config",
    "gate_versions": "an earlier wave has not reached these hosts (or failed there): run it "
                     "first, on every data centre",
    "gate_prepared": "run the prepare wave on these hosts first",
    "qpid_drain": "the broker did not drain: check its Qpid Server and PostgreSQL are up, "
                  "then resume (the block was removed)",
}


def readable(regex: str) -> str:
    """A version regex as the text it looks for, for failure messages."""
    text = regex.removeprefix("(?m)^")
    return re.sub(r"\\(.)", r"\1", text).replace("[.]", ".")
