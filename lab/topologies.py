"""Which machines a lab installation has: the documented topologies, a generator, a mirror.

Machine lists follow procedure.md section 8 (vendor machine order, hosts ``m1``..``mN``).
Every install with a PostgreSQL master/standby pair also gets ``pgr``, the rollback standby
that the runner itself installs (so it starts with no Apigee software at all).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.tables import PROFILES, expand, releases_setting


@dataclass
class HostSpec:
    """One emulated machine as the topology describes it."""

    name: str
    machine: int
    dc: str
    profiles: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)   # explicit, besides profiles
    postgres: str | None = None
    observer: bool = False
    installed: bool = True
    inferred: bool = False          # postgres role taken the runner's way, not written back

    @property
    def comps(self) -> frozenset[str]:
        return expand(self.profiles, self.components)

    def inventory_data(self) -> dict[str, Any]:
        """The host's ``data`` in a Nornir SimpleInventory (paths aside)."""
        data: dict[str, Any] = {"dc": self.dc, "machine": self.machine}
        if self.profiles:
            data["profiles"] = list(self.profiles)
        if self.components:
            data["components"] = list(self.components)
        if self.postgres and not self.inferred:
            data["postgres"] = self.postgres
        if self.observer:
            data["zookeeper_observer"] = True
        return data


# name -> list of (profiles, postgres role, dc) per machine, in vendor order.
_DOC: dict[str, list[tuple[list[str], Any, str]]] = {     # Any: str | None
    "1-node": [(["aio"], "master", "dc-1")],
    "2-node": [(["sa"], None, "dc-1"), (["sax"], "master", "dc-1")],
    "5-node": [(["ds", "ms"], None, "dc-1"), (["ds", "rmp"], None, "dc-1"),
               (["ds", "rmp"], None, "dc-1"), (["sax"], "master", "dc-1"),
               (["sax"], "standby", "dc-1")],
    "9-node": [(["ds", "ms"], None, "dc-1")] + [(["ds"], None, "dc-1")] * 2
              + [(["rmp"], None, "dc-1")] * 2 + [(["qs"], None, "dc-1")] * 2
              + [(["ps"], "master", "dc-1"), (["ps"], "standby", "dc-1")],
    "13-node": [(["ds"], None, "dc-1")] * 3 + [(["ld"], None, "dc-1")] * 2
               + [(["mo", "ui"], None, "dc-1")] * 2
               + [(["ps"], "master", "dc-1"), (["ps"], "standby", "dc-1")]
               + [(["rmp"], None, "dc-1")] * 2 + [(["qs"], None, "dc-1")] * 2,
    "12-node-2dc": [(["ds", "ms"], None, "dc-1")] + [(["ds", "rmp"], None, "dc-1")] * 2
                   + [(["qs"], None, "dc-1")] * 2 + [(["ps"], "master", "dc-1")]
                   + [(["ds", "ms"], None, "dc-2")] + [(["ds", "rmp"], None, "dc-2")] * 2
                   + [(["qs"], None, "dc-2")] * 2 + [(["ps"], "standby", "dc-2")],
    "baas-7": [(["e", "b"], None, "dc-1")] * 3 + [(["p"], None, "dc-1")]
              + [(["c"], None, "dc-1")] * 3,
    "baas-10": [(["e"], None, "dc-1")] * 3 + [(["b"], None, "dc-1")] * 3
               + [(["p"], None, "dc-1")] + [(["c"], None, "dc-1")] * 3,
}
_OBSERVER = {"12-node-2dc": 9}

TOPOLOGIES = tuple(_DOC) + ("generated",)


def _with_rollback(hosts: list[HostSpec]) -> list[HostSpec]:
    """Add the (uninstalled) rollback standby where a master/standby pair exists."""
    roles = {h.postgres for h in hosts}
    if {"master", "standby"} <= roles and "rollback_standby" not in roles:
        master = next(h for h in hosts if h.postgres == "master")
        hosts.append(HostSpec("pgr", len(hosts) + 1, master.dc, ["ps"], [],
                              "rollback_standby", installed=False))
    for h in hosts:
        if h.postgres == "rollback_standby":
            h.installed = False
    return hosts


def documented(name: str) -> list[HostSpec]:
    rows = _DOC[name]
    hosts = [HostSpec(f"m{i}", i, dc, list(profiles), [], role if "ps" in expand(profiles, []) else None,
                      observer=_OBSERVER.get(name) == i)
             for i, (profiles, role, dc) in enumerate(rows, start=1)]
    return _with_rollback(hosts)


def generated(nodes: int, dcs: int) -> list[HostSpec]:
    """A scalable mix per data centre: 3 ds (first also ms), 2 qs, the ps pair, rest rmp."""
    if dcs < 1 or nodes < 8 * dcs:
        raise ValueError(f"generated needs at least 8 nodes per data centre (got {nodes} for {dcs})")
    hosts: list[HostSpec] = []
    per = [nodes // dcs + (1 if d < nodes % dcs else 0) for d in range(dcs)]
    for d, n in enumerate(per, start=1):
        dc = f"dc-{d}"
        rows: list[tuple[list[str], str | None]] = [(["ds", "ms"], None), (["ds"], None), (["ds"], None),
                                                    (["qs"], None), (["qs"], None)]
        if d == 1:
            rows.append((["ps"], "master"))
            if dcs == 1:
                rows.append((["ps"], "standby"))
        elif d == 2:
            rows.append((["ps"], "standby"))
        rows += [(["rmp"], None)] * (n - len(rows))
        for profiles, role in rows:
            hosts.append(HostSpec(f"m{len(hosts) + 1}", len(hosts) + 1, dc, profiles, [], role))
    voters = [h for h in hosts if "zk" in h.comps]
    if len(voters) % 2 == 0:
        voters[-1].observer = True
    return _with_rollback(hosts)


def mirrored(inventory_dir: Path) -> list[HostSpec]:
    """Hosts of an existing Nornir SimpleInventory, kept by name, dc, role and components."""
    raw: dict[str, Any] = yaml.safe_load((Path(inventory_dir) / "hosts.yaml").read_text()) or {}
    hosts: list[HostSpec] = []
    machines: list[Any] = []
    for i, (name, h) in enumerate(raw.items(), start=1):
        h = h or {}
        data = h.get("data") or {}
        groups = h.get("groups") or []
        dc = data.get("dc") or next((g for g in groups if str(g).startswith("dc")), "dc-1")
        profiles = list(data.get("profiles") or [])
        unknown = [p for p in profiles if p not in PROFILES]
        if unknown:
            raise ValueError(f"{name}: unknown profiles {unknown}")
        hosts.append(HostSpec(str(name), int(data.get("machine") or i), str(dc), profiles,
                              list(data.get("components") or []), data.get("postgres"),
                              bool(data.get("zookeeper_observer"))))
        machines.append(data.get("machine"))
    _infer_master(hosts, machines)
    return _with_rollback(hosts)


def _infer_master(hosts: list[HostSpec], machines: list[Any]) -> None:
    """Without a ``postgres: master`` the runner takes the first PostgreSQL host in vendor
    order (machine number, then inventory order) as the master: so does the mirror, or a
    single-node install mirrored without the key would never drain its analytics."""
    if any(h.postgres == "master" for h in hosts):
        return
    order = sorted(range(len(hosts)), key=lambda i: (machines[i] is None, machines[i] or 0, i))
    ps = [hosts[i] for i in order if "ps" in hosts[i].comps and hosts[i].postgres is None]
    if ps:
        ps[0].postgres, ps[0].inferred = "master", True


def build(topology: str, nodes: int | None = None, dcs: int | None = None,
          mirror: Path | None = None) -> list[HostSpec]:
    if mirror is not None:
        return mirrored(mirror)
    if topology == "generated":
        return generated(nodes or 16, dcs or 1)
    if topology not in _DOC:
        raise ValueError(f"unknown topology {topology!r}; known: {', '.join(TOPOLOGIES)}")
    return documented(topology)


def write_inventory(folder: Path, specs: list[HostSpec]) -> Path:
    """hosts/groups/defaults.yaml and a config.yaml for planning only: placeholder addresses,
    no lab behind them. Returns the config path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hosts = {}
    for i, spec in enumerate(specs, start=1):         # 10.0.0.1 on: no network address
        hosts[spec.name] = {"hostname": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
                            "groups": [spec.dc], "data": spec.inventory_data()}
    dcs = sorted({s.dc for s in specs})
    (folder / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    (folder / "groups.yaml").write_text(yaml.safe_dump({dc: {"data": {"dc": dc}} for dc in dcs}))
    (folder / "defaults.yaml").write_text(yaml.safe_dump({"username": "apigee", "platform": "linux"}))
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"inventory": {"plugin": "SimpleInventory", "options": {
        "host_file": "hosts.yaml", "group_file": "groups.yaml", "defaults_file": "defaults.yaml"}},
        "user_defined": {"releases": releases_setting()}}))
    return config


def describe() -> str:
    lines = []
    for name in _DOC:
        hs = documented(name)
        lines.append(f"{name:12} " + ", ".join(
            f"{h.name}[{'+'.join(h.profiles)}{'/' + h.postgres if h.postgres else ''}]" for h in hs))
    lines.append("generated    --nodes N --dcs K: per dc 3 ds (first +ms), 2 qs, ps master (dc-1) / "
                 "standby (dc-2 or dc-1), rest rmp; plus pgr")
    return "\n".join(lines)
