"""`FleetInventory`: a Nornir inventory plugin over the documents fleet/inventory.py has
already read and validated. It builds hosts, groups and defaults exactly as Nornir's
SimpleInventory does, without reading the files a second time with another YAML loader."""
from __future__ import annotations

import copy
from pathlib import Path

from nornir.core.inventory import (Defaults, Group, Groups, Host, Hosts, Inventory,
                                   ParentGroups)
from nornir.plugins.inventory.simple import _get_defaults, _get_inventory_element

from fleet.inventory import read_documents

PLUGIN = "FleetInventory"


class FleetInventory:
    def __init__(self, host_file: str, group_file: str, defaults_file: str) -> None:
        self.files = {"hosts": Path(host_file), "groups": Path(group_file),
                      "defaults": Path(defaults_file)}

    def load(self) -> Inventory:
        hosts_doc, groups_doc, defaults_doc = copy.deepcopy(read_documents(self.files))
        defaults = _get_defaults(defaults_doc) if defaults_doc else Defaults()
        hosts = Hosts({n: _get_inventory_element(Host, h or {}, n, defaults)
                       for n, h in hosts_doc.items()})
        groups = Groups({n: _get_inventory_element(Group, g or {}, n, defaults)
                         for n, g in groups_doc.items()})
        for g in groups.values():
            g.groups = ParentGroups([groups[str(x)] for x in g.groups])   # names until here
        for h in hosts.values():
            h.groups = ParentGroups([groups[str(x)] for x in h.groups])
        return Inventory(hosts=hosts, groups=groups, defaults=defaults)


def register() -> None:
    from nornir.core.plugins.inventory import InventoryPluginRegister
    if PLUGIN not in InventoryPluginRegister.available:
        InventoryPluginRegister.register(PLUGIN, FleetInventory)
