"""`qpid-stat -q` of the qpidd C++ broker (the Python tool of qpid-cpp).

The tool prints a table with autosized, left-aligned columns (``qpidtoollibs/disp.py``):
every cell starts where its header starts, flag columns are blank when unset, and numbers
of 1,000 and more carry a suffix with three significant digits (``1.23k``, `` 250k``,
``21.7g``). So a row is cut at the header's start positions, never split on whitespace.
Apigee brokers keep dead-letter queues (``…-dl``) with no consumer: nothing ever empties
them, so they are listed but do not hold up a drain.
"""
from __future__ import annotations

import re
from typing import Any


# On Apigee nodes the tool is not on PATH (the vendor's own automation calls it by path).
def command(apigee_root: str = "/opt/apigee") -> str:
    return f"{apigee_root}/apigee-qpidd/bin/qpid-stat -q"


SUFFIX = {"": 1, "k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9, "t": 10 ** 12}
NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([kmgt]?)$", re.I)


def number(cell: str) -> int:
    """A count as qpid-stat prints it: ``1.23k`` -> 1230, ``21.7g`` -> 21700000000 (the
    value is rounded by the tool to three digits; this is the best reading of it)."""
    m = NUMBER.match(cell.strip().replace(",", ""))
    if not m:
        raise ValueError(f"not a qpid-stat number: {cell!r}")
    return round(float(m.group(1)) * SUFFIX[m.group(2).lower()])


def _header(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        words = line.split()
        if "queue" in words and "msg" in words and "cons" in words:
            return i
    raise ValueError("qpid-stat output has no queue table (no header with queue, msg and cons)")


def rows(text: str) -> list[dict[str, str]]:
    """The table's rows as header -> cell text (cells cut at the headers' start columns)."""
    lines = text.expandtabs().splitlines()
    i = _header(lines)
    heads = [(m.group(), m.start()) for m in re.finditer(r"\S+", lines[i])]
    out = []
    for row in lines[i + 1:]:
        if not row.strip() or set(row.strip()) <= {"="}:
            continue
        if row.strip().startswith(("Queues", "COMMAND>")):
            continue
        cells = {}
        for k, (name, start) in enumerate(heads):
            end = heads[k + 1][1] if k + 1 < len(heads) else None
            cells[name] = row[start:end].strip()
        if not cells.get("queue"):
            raise ValueError(f"qpid-stat row without a queue name: {row.strip()!r}")
        out.append(cells)
    return out


def is_dead_letter(name: str, consumers: int) -> bool:
    return name.endswith("-dl") and consumers == 0


def parse(text: str) -> dict[str, Any]:
    """{"queues": [{name, msg, consumers}], "drained", "dead_letter": [{name, msg}],
    "waiting": [{name, msg}]}: drained when every queue but consumer-less dead-letter
    queues is empty."""
    queues, dead, waiting = [], [], []
    for r in rows(text):
        try:
            q: dict[str, Any] = {"name": r["queue"], "msg": number(r["msg"]), "consumers": number(r["cons"])}
        except (KeyError, ValueError) as exc:
            raise ValueError(f"cannot read the row of {r.get('queue')!r}: {exc}") from None
        queues.append(q)
        if is_dead_letter(q["name"], q["consumers"]):
            dead.append({"name": q["name"], "msg": q["msg"]})
        elif q["msg"]:
            waiting.append({"name": q["name"], "msg": q["msg"]})
    return {"queues": queues, "drained": not waiting, "dead_letter": dead, "waiting": waiting}


def drained(text: str) -> tuple[bool, str]:
    """The drain predicate of the qpid wave: (done, what to tell the operator)."""
    fact = parse(text)
    dl = [f"{d['name']}: {d['msg']} msg" for d in fact["dead_letter"] if d["msg"]]
    note = f"; dead-letter queue(s) left as they are: {', '.join(dl)}" if dl else ""
    if not fact["drained"]:
        return False, ", ".join(f"{q['name']}: {q['msg']} msg" for q in fact["waiting"]) + note
    return True, f"{len(fact['queues'])} queue(s) drained{note}"
