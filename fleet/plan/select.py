"""Cut a whole plan down to the waves and hosts of one run (--wave, --from-wave, --dc,
--hosts), refusing cuts that would split a step spanning hosts."""
from __future__ import annotations

from dataclasses import dataclass

from fleet.errors import InputError
from fleet.model import Batch, Node, Plan, Wave
from fleet.plan.waves import ATOMIC_WAVES, WAVE_NAMES
# Gate checks read the whole installation, whatever the filter.
GLOBAL_ACTIONS = ("gate_versions",)


@dataclass(frozen=True)
class Selection:
    waves: tuple[str, ...] = ()      # empty: every wave
    from_wave: str | None = None
    dcs: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"waves": list(self.waves), "from_wave": self.from_wave,
                "dcs": list(self.dcs), "hosts": list(self.hosts)}


def filter_nodes(nodes: list[Node], dcs: tuple[str, ...] | list[str],
                 hosts: tuple[str, ...] | list[str]) -> list[Node]:
    """The nodes that --dc and --hosts pick, refusing names the inventory does not have."""
    known_dcs = sorted({n.dc for n in nodes})
    for dc in dcs:
        if dc not in known_dcs:
            raise InputError(f"unknown data centre {dc!r} for --dc; the inventory has: "
                             f"{', '.join(known_dcs)}")
    names = [n.name for n in nodes]
    for h in hosts:
        if h not in names:
            raise InputError(f"unknown host {h!r} for --hosts; the inventory has: {', '.join(names)}")
    return [n for n in nodes if (not dcs or n.dc in dcs) and (not hosts or n.name in hosts)]


def _check_waves(sel: Selection, plan: Plan) -> None:
    for w in list(sel.waves) + ([sel.from_wave] if sel.from_wave else []):
        if w not in WAVE_NAMES:
            raise InputError(f"unknown wave {w!r}; waves are: {', '.join(WAVE_NAMES)}")
        if w not in plan.wave_names():
            raise InputError(f"wave {w!r} has nothing to do in this installation; its waves "
                             f"are: {', '.join(plan.wave_names())}")


def _spare_checked_only_if_touched(waves: list[Wave], nodes: list[Node]) -> list[Wave]:
    """Preflight checks the rollback standby only for runs that touch it: an unreachable
    spare must not block, say, --wave edge."""
    spares = {n.name for n in nodes if n.postgres == "rollback_standby"}
    touched = {s.host for w in waves if w.name != "preflight" for b in w.batches for s in b.steps}
    drop = spares - touched
    if not drop:
        return waves
    out = []
    for w in waves:
        if w.name == "preflight":
            batches = tuple(Batch(steps, b.label) for b in w.batches
                            if (steps := tuple(s for s in b.steps if s.host not in drop)))
            w = Wave(w.name, batches)
        out.append(w)
    return out


def select(plan: Plan, nodes: list[Node], sel: Selection) -> Plan:
    _check_waves(sel, plan)
    names = plan.wave_names()
    if sel.waves:
        wanted = {"preflight", *sel.waves}
    elif sel.from_wave:
        wanted = {"preflight", *names[names.index(sel.from_wave):]}
    else:
        wanted = set(names)
    chosen = {n.name for n in filter_nodes(nodes, sel.dcs, sel.hosts)}
    waves: list[Wave] = []
    for w in plan.waves:
        if w.name not in wanted:
            continue
        real = {s.host for b in w.batches if not b.is_gate for s in b.steps}
        if w.name in ATOMIC_WAVES and real & chosen and real - chosen:
            raise InputError(
                f"wave {w.name} spans {', '.join(sorted(real))}, which this filter splits "
                f"(it keeps only {', '.join(sorted(real & chosen))}); the PostgreSQL pair is "
                "updated as one step: run this wave without --dc/--hosts or with all of them")
        batches = []
        for b in w.batches:
            steps = tuple(s for s in b.steps if s.host in chosen or s.action in GLOBAL_ACTIONS)
            if steps:
                batches.append(Batch(steps, b.label))
        if any(not b.is_gate for b in batches):
            waves.append(Wave(w.name, tuple(batches)))
    waves = _spare_checked_only_if_touched(waves, nodes)
    if wanted - {"preflight"} and all(w.name == "preflight" for w in waves):
        raise InputError("nothing to do: the --dc/--hosts filter leaves no host in wave(s) "
                         + ", ".join(n for n in names if n in wanted and n != "preflight"))
    return Plan(target=plan.target, mode=plan.mode, waves=tuple(waves), version=plan.version)
