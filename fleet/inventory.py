"""Read a Nornir SimpleInventory into Nodes and refuse anything the plan cannot trust.

Validation happens here, before Nornir or netmiko are involved, so that a bad inventory is
refused with a message naming the host and the problem and no host is ever contacted.
Host data is resolved the way Nornir resolves it: host, then its groups in order (and
their groups), then defaults.
"""
from __future__ import annotations

import ipaddress

from collections import Counter
from pathlib import Path
from typing import Any

from fleet.components import COMPONENTS, PROFILES, expand
from fleet.errors import InputError
from fleet.model import Node
from fleet.values import address, name as valid_name, path, suggest
from fleet.yamlfile import read_mapping

ROLES = ("master", "standby", "rollback_standby")
KNOWN_DATA = {"dc", "profiles", "components", "postgres", "machine", "zookeeper_observer",
              "apigee_root", "config_file", "download_dir", "internal_ip"}
# Nornir's SimpleInventory attributes of a host or group (defaults: all but groups)
KNOWN_ATTRS = ("hostname", "port", "username", "password", "platform", "groups", "data",
               "connection_options")


def _check_keys(where: str, entry: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """A misspelled attribute (``hostnme``) would silently fall back to a default."""
    for key in entry:
        if key not in allowed:
            raise InputError(f"inventory: {where}: unknown attribute {key!r}"
                             f"{suggest(str(key), allowed)}; known: {', '.join(allowed)}")
    if "groups" in entry and not isinstance(entry["groups"], (list, type(None))):
        raise InputError(f"inventory: {where}: groups must be a list of group names")
    if not isinstance(entry.get("data") or {}, dict):
        raise InputError(f"inventory: {where}: data must be a mapping")
    options = entry.get("connection_options") or {}
    if not isinstance(options, dict):
        raise InputError(f"inventory: {where}: connection_options must be a mapping")
    for conn in ("netmiko", "fleet_ssh"):             # both reach the fleet_ssh plugin
        _check_extras(f"inventory: {where}: connection_options.{conn}", options.get(conn))


def _check_extras(where: str, conn: Any) -> None:
    """SSH options that would otherwise fail only at the first connection, or weaken it."""
    if not isinstance(conn or {}, dict):
        raise InputError(f"{where} must be a mapping")
    extras = (conn or {}).get("extras") or {}
    if not isinstance(extras, dict):
        raise InputError(f"{where}.extras must be a mapping")
    if extras.get("ssh_strict", True) is not True:
        raise InputError(f"{where}.extras.ssh_strict must stay true: host keys are checked "
                         "for every host")
    if extras.get("proxy_jump") is not None:
        from tasks.plugin import parse_jump
        spec = extras["proxy_jump"]
        try:
            _, host, port = parse_jump(str(spec), None)
        except ValueError:
            host, port = "", 0
        if not isinstance(spec, str) or not 0 < port < 65536:
            raise InputError(f"{where}.extras.proxy_jump: {spec!r} is not [user@]host[:port]")
        address(host, f"{where}.extras.proxy_jump")


def _load_yaml(path: Path, required: bool) -> dict[str, Any]:
    return read_mapping(path, "inventory", required)


def _resolve(name: str, entry: dict[str, Any], groups: dict[str, Any],
             defaults: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(attributes, data) of a host after group and default inheritance."""
    attrs: dict[str, Any] = {}
    data: dict[str, Any] = {}
    order: list[dict[str, Any]] = [entry]
    seen: set[str] = set()

    def walk(group_names: list[str]) -> None:
        for g in group_names:
            if g in seen:
                continue
            if not isinstance(g, str) or g not in groups:
                raise InputError(f"inventory: host {name}: unknown group {g!r}"
                                 f"{suggest(str(g), groups)}")
            seen.add(g)
            group = groups[g] or {}
            if not isinstance(group, dict):
                raise InputError(f"inventory: group {g}: entry must be a mapping")
            _check_keys(f"group {g}", group, KNOWN_ATTRS)
            order.append(group)
            walk(list(group.get("groups") or []))

    walk(list(entry.get("groups") or []))
    order.append(defaults)
    for layer in order:
        for k, v in layer.items():
            if k == "data":
                for dk, dv in (v or {}).items():
                    data.setdefault(dk, dv)
            elif k != "groups":
                attrs.setdefault(k, v)
    return attrs, data


def _as_list(name: str, key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"inventory: host {name}: {key} must be a list of names")
    return value


def _node(name: str, attrs: dict[str, Any], data: dict[str, Any]) -> Node:
    unknown = sorted(set(data) - KNOWN_DATA)
    if unknown:
        raise InputError(f"inventory: host {name}: unknown data key(s) {', '.join(unknown)}"
                         f"{suggest(unknown[0], KNOWN_DATA)}")
    profiles = _as_list(name, "profiles", data.get("profiles"))
    components = _as_list(name, "components", data.get("components"))
    for p in profiles:
        if p not in PROFILES:
            raise InputError(f"inventory: host {name}: unknown profile {p!r} "
                             f"(known: {' '.join(PROFILES)})")
    for c in components:
        if c not in COMPONENTS:
            raise InputError(f"inventory: host {name}: unknown component {c!r} "
                             f"(known: {' '.join(COMPONENTS)})")
    comps = expand(profiles, components)
    if not comps:
        raise InputError(f"inventory: host {name}: no component (set data.profiles or data.components)")
    where = f"inventory: host {name}"
    addr = address(attrs.get("hostname") or name, f"{where}: hostname")
    dc = data.get("dc")
    if not dc or not isinstance(dc, str):
        raise InputError(f"inventory: host {name}: data.dc (the data centre, e.g. dc-1) is missing")
    valid_name(dc, f"{where}: data.dc", "data centre name")
    role = data.get("postgres")
    if role is not None and role not in ROLES:
        raise InputError(f"inventory: host {name}: postgres must be one of {', '.join(ROLES)}, not {role!r}")
    if role and "ps" not in comps:
        raise InputError(f"inventory: host {name}: postgres: {role} but the host runs no PostgreSQL (ps)")
    machine = data.get("machine")
    if machine is not None and (not isinstance(machine, int) or isinstance(machine, bool)):
        raise InputError(f"inventory: host {name}: machine must be a whole number")
    port = attrs.get("port") or 22
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise InputError(f"{where}: port must be a number 1-65535, not {port!r}")
    observer = data.get("zookeeper_observer", False)
    if not isinstance(observer, bool):
        raise InputError(f"{where}: data.zookeeper_observer must be true or false")
    internal_ip = data.get("internal_ip")
    if internal_ip is not None:
        try:
            internal_ip = str(ipaddress.ip_address(str(internal_ip)))
        except ValueError:
            raise InputError(f"{where}: data.internal_ip must be an IP address (the one the "
                             f"node registered with the management API), not {internal_ip!r}") from None
    return Node(
        name=name, address=addr, dc=dc, components=comps, port=port, postgres=role,
        machine=machine, observer=observer, internal_ip=internal_ip,
        apigee_root=path(data.get("apigee_root") or "/opt/apigee", f"{where}: data.apigee_root"),
        config_file=path(data.get("config_file") or "/opt/silent.conf", f"{where}: data.config_file"),
        download_dir=path(data.get("download_dir") or "/tmp", f"{where}: data.download_dir"),
    )


def check_nodes(nodes: list[Node]) -> None:
    """Rules that span hosts."""
    dcs: dict[str, Node] = {}
    for n in nodes:
        other = dcs.setdefault(n.dc.lower(), n)
        if other.dc != n.dc:
            raise InputError(f"inventory: hosts {other.name} (dc {other.dc!r}) and {n.name} "
                             f"(dc {n.dc!r}): data centre names differ only by case; "
                             "write them the same way")
    seen = Counter((n.address, n.port) for n in nodes)
    for n in nodes:
        if seen[(n.address, n.port)] > 1:
            dups = [m.name for m in nodes if (m.address, m.port) == (n.address, n.port)]
            raise InputError(f"inventory: hosts {', '.join(dups)} share the address "
                             f"{n.address}:{n.port}")
    masters = [n for n in nodes if n.postgres == "master"]
    standbys = [n for n in nodes if n.postgres == "standby"]
    rollbacks = [n for n in nodes if n.postgres == "rollback_standby"]
    if len(masters) > 1:
        raise InputError("inventory: more than one PostgreSQL master: "
                         + ", ".join(n.name for n in masters))
    if standbys and not masters:
        raise InputError(f"inventory: host {standbys[0].name}: PostgreSQL standby without a master")
    if len(standbys) > 1:
        raise InputError("inventory: more than one PostgreSQL standby: "
                         + ", ".join(n.name for n in standbys))
    if rollbacks and not (masters and standbys):
        raise InputError(f"inventory: host {rollbacks[0].name}: rollback standby without a "
                         "PostgreSQL master/standby pair")
    if len(rollbacks) > 1:
        raise InputError("inventory: more than one rollback standby: "
                         + ", ".join(n.name for n in rollbacks))
    unmarked = [n for n in nodes if "ps" in n.components and n.postgres is None]
    if unmarked and (masters or len(unmarked) > 1):
        raise InputError(f"inventory: host {unmarked[0].name}: runs PostgreSQL but has no "
                         "data.postgres role (master, standby or rollback_standby)")


Documents = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]   # hosts, groups, defaults
_READ: dict[tuple[tuple[str, int, int], ...], Documents] = {}


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
        return str(path), st.st_mtime_ns, st.st_size
    except OSError:
        return str(path), -1, -1


def read_documents(files: dict[str, Path]) -> Documents:
    """hosts.yaml, groups.yaml and defaults.yaml, read once per process by the strict loader:
    the plan's nodes and Nornir's inventory (tasks/inventory.py) come from the same
    documents, so they cannot disagree (duplicate keys, a file changed in between)."""
    key = tuple(_stamp(Path(files[k])) for k in ("hosts", "groups", "defaults"))
    if key not in _READ:
        hosts = _load_yaml(files["hosts"], required=True)
        if not hosts:
            raise InputError(f"inventory: {files['hosts']} lists no host")
        _READ[key] = (hosts, _load_yaml(files["groups"], required=False),
                      _load_yaml(files["defaults"], required=False))
    return _READ[key]


def load_inventory(files: dict[str, Path]) -> list[Node]:
    """Nodes in inventory order (the plan orders them by machine number where given)."""
    return parse_inventory(*read_documents(files))


def parse_inventory(hosts: dict[str, Any], groups: dict[str, Any] | None = None,
                    defaults: dict[str, Any] | None = None) -> list[Node]:
    """The same, from the YAML documents already read (plan tests use this)."""
    groups, defaults = groups or {}, defaults or {}
    _check_keys("defaults", defaults, tuple(k for k in KNOWN_ATTRS if k != "groups"))
    nodes = []
    for name, entry in hosts.items():
        valid_name(name, "inventory: hosts.yaml", "host name")
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            raise InputError(f"inventory: host {name}: entry must be a mapping")
        _check_keys(f"host {name}", entry, KNOWN_ATTRS)
        attrs, data = _resolve(str(name), entry, groups, defaults)
        nodes.append(_node(str(name), attrs, data))
    check_nodes(nodes)
    return nodes
