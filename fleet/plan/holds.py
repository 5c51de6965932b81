"""Hold points in the plan: where a run stops and asks before going on.

`--pause-after WAVE` holds after the wave's last batch, `--pause-each-wave` after every wave
but the last. `--canary HOST` splits each role wave that HOST takes part in: HOST's steps of
the wave's first batch run alone, the run holds, then the rest of the wave as planned.

Holds are plan data (``Batch.hold``: why the run holds after that batch), so a dry run or a
runbook shows them and the plan digest covers them: a ``--resume`` rebuilds the same plan
from the options the run was started with. Pure: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fleet.errors import InputError
from fleet.model import Batch, Plan, Wave
from fleet.plan.waves import CANARY_WAVES, WAVE_NAMES


@dataclass(frozen=True)
class HoldOptions:
    pause_after: tuple[str, ...] = ()
    pause_each_wave: bool = False
    canary: str | None = None

    def __bool__(self) -> bool:
        return bool(self.pause_after or self.pause_each_wave or self.canary)

    def to_json(self) -> dict[str, Any]:
        return {"pause_after": list(self.pause_after), "pause_each_wave": self.pause_each_wave,
                "canary": self.canary}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> HoldOptions:
        d = d or {}
        return cls(tuple(d.get("pause_after") or ()), bool(d.get("pause_each_wave")),
                   d.get("canary") or None)

    def argv(self) -> list[str]:
        """The command-line options that give these holds."""
        out = ["--pause-after", ",".join(self.pause_after)] if self.pause_after else []
        out += ["--pause-each-wave"] if self.pause_each_wave else []
        return out + (["--canary", self.canary] if self.canary else [])


def _work(wave: Wave) -> list[int]:
    return [i for i, b in enumerate(wave.batches) if not b.is_gate]


def _add_hold(batch: Batch, reason: str) -> Batch:
    return replace(batch, hold=f"{batch.hold}; {reason}" if batch.hold else reason)


def _canary_wave(wave: Wave, host: str) -> Wave | None:
    """The wave with HOST's first-batch steps alone and a hold after them; None when HOST
    is the wave's only host (nothing to hold before). Refused when HOST does not go first."""
    work = _work(wave)
    first = wave.batches[work[0]]
    if host not in first.hosts():
        later = next(i + 1 for i in work if host in wave.batches[i].hosts())
        raise InputError(
            f"--canary {host}: in wave {wave.name} it goes in batch {later}, after "
            f"{', '.join(first.hosts())} (the order the procedure sets); a canary must be a "
            f"host the wave starts with ({', '.join(first.hosts())}), or leave wave "
            f"{wave.name} out of this run (--wave)")
    alone = Batch(tuple(s for s in first.steps if s.host == host), f"canary {host}")
    rest = Batch(tuple(s for s in first.steps if s.host != host), first.label, first.hold)
    following = [wave.batches[i] for i in work[1:]]
    if not rest.steps and not following:
        return None
    alone = _add_hold(alone, f"canary {host}: wave {wave.name} done on {host} only")
    gates = [b for b in wave.batches if b.is_gate]
    return Wave(wave.name, tuple(gates + [alone] + ([rest] if rest.steps else []) + following))


def _canary(plan: Plan, host: str) -> Plan:
    runs = {s.host for w in plan.waves if w.name != "preflight"
            for b in w.batches if not b.is_gate for s in b.steps}
    if host not in runs:
        raise InputError(f"--canary {host}: not a host of this run (its hosts: "
                         f"{', '.join(sorted(runs)) or 'none'})")
    waves, split = [], []
    for w in plan.waves:
        hosts = {h for i in _work(w) for h in w.batches[i].hosts()}
        new = _canary_wave(w, host) if w.name in CANARY_WAVES and host in hosts else None
        if new is not None:
            split.append(w.name)
        waves.append(new or w)
    if not split:
        mine = [w.name for w in plan.waves if w.name != "preflight" and host in w.hosts()]
        raise InputError(
            f"--canary {host}: no wave of this run updates {host} together with other hosts "
            f"(its waves here: {', '.join(mine)}; a canary goes first in one of "
            f"{', '.join(CANARY_WAVES)}), so there is nothing to hold the others back for")
    return replace(plan, waves=tuple(waves))


def _pause_after(plan: Plan, names: list[str]) -> Plan:
    waves = list(plan.waves)
    present = plan.wave_names()
    for name in names:
        if name not in WAVE_NAMES:
            raise InputError(f"--pause-after {name}: unknown wave; waves are: {', '.join(WAVE_NAMES)}")
        if name not in present:
            raise InputError(f"--pause-after {name}: not a wave of this run; its waves are: "
                             f"{', '.join(present)}")
        i = present.index(name)
        if i == len(present) - 1:
            raise InputError(f"--pause-after {name}: it is the last wave of this run, nothing "
                             "follows it to hold back")
        w = waves[i]
        last = len(w.batches) - 1
        batches = list(w.batches)
        batches[last] = _add_hold(batches[last], f"pause after wave {name}")
        waves[i] = Wave(w.name, tuple(batches))
    return replace(plan, waves=tuple(waves))


def apply_holds(plan: Plan, options: HoldOptions) -> Plan:
    """The plan with its hold points; InputError (exit 2) for a wave or host that makes no
    sense here, before any host is touched."""
    if options.canary:
        plan = _canary(plan, options.canary)
    names = list(dict.fromkeys(options.pause_after))
    if options.pause_each_wave:
        names += [n for n in plan.wave_names()[:-1] if n not in names]
    return _pause_after(plan, names) if names else plan
