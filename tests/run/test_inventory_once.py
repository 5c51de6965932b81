"""The inventory files are read once: the plan's nodes and Nornir's hosts come from the same
documents (the strict loader), so they cannot disagree."""
from __future__ import annotations

from pathlib import Path

import yaml

from fleet import yamlfile
from fleet.inventory import load_inventory
from fleet.run.executor import open_nornir
from fleet.secrets import Secrets
from fleet.settings import load_settings

HOSTS = {
    "m1": {"hostname": "10.9.0.1", "groups": ["dc1"], "data": {"machine": 1, "profiles": ["aio"],
                                                               "postgres": "master"}},
}
GROUPS = {"dc1": {"data": {"dc": "dc-1"}, "port": 2222}}
DEFAULTS = {"username": "apigee", "connection_options": {"fleet_ssh": {"extras": {"ssh_strict": True}}}}


def test_nornir_gets_the_documents_the_validator_read(tmp_path: Path, monkeypatch) -> None:
    inv = tmp_path / "inventory"
    inv.mkdir()
    for name, doc in (("hosts", HOSTS), ("groups", GROUPS), ("defaults", DEFAULTS)):
        (inv / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"user_defined": {}}))
    reads: list[str] = []
    real = yamlfile.read_mapping

    def counting(path, *a, **k):
        reads.append(Path(path).name)
        return real(path, *a, **k)
    monkeypatch.setattr("fleet.inventory.read_mapping", counting)
    settings = load_settings(tmp_path / "config.yaml", inv)
    nodes = load_inventory(settings.inventory_files)
    nr = open_nornir(settings, Secrets({}))
    assert sorted(reads) == ["defaults.yaml", "groups.yaml", "hosts.yaml"]    # once each
    host = nr.inventory.hosts["m1"]
    assert [n.name for n in nodes] == list(nr.inventory.hosts) == ["m1"]
    assert host.hostname == nodes[0].address == "10.9.0.1"
    assert host.port == nodes[0].port == 2222                  # through the group
    assert host.username == "apigee"                           # through the defaults
    assert host["dc"] == nodes[0].dc == "dc-1"
    # a file changed since is read again (the documents are kept by file size and time)
    (inv / "hosts.yaml").write_text(yaml.safe_dump({"m2": HOSTS["m1"]}))
    assert [n.name for n in load_inventory(settings.inventory_files)] == ["m2"]
