"""fleet_ssh options without SSH: the jump host spec, and netmiko extras merged key by key
from defaults, groups and host (a group's key_file keeps the defaults' host key file)."""
from __future__ import annotations

from pathlib import Path

import pytest
from nornir import InitNornir

from fleet.run.executor import ssh_options
from fleet.secrets import Secrets
from fleet.settings import default_settings
from tasks.plugin import CONNECTION, parse_jump


def test_jump_host_specs():
    assert parse_jump("ops@bastion.example.com:2222", "apigee") == ("ops", "bastion.example.com", 2222)
    assert parse_jump("bastion", "apigee") == ("apigee", "bastion", 22)
    assert parse_jump("ops@[2001:db8::1]:22", None) == ("ops", "2001:db8::1", 22)
    with pytest.raises(ValueError):
        parse_jump("ops@", "apigee")


def test_group_key_file_merges_with_the_defaults_host_keys(tmp_path: Path):
    (tmp_path / "hosts.yaml").write_text(
        "m1: {hostname: 10.0.0.1, groups: [dc-1]}\n"
        "m2: {hostname: 10.0.0.2, groups: [dc-2], connection_options: {netmiko: {extras: "
        "{use_keys: false, allow_agent: true}}}}\n")
    (tmp_path / "groups.yaml").write_text(
        "dc-1: {connection_options: {netmiko: {extras: {key_file: /keys/dc1, "
        "proxy_jump: 'ops@jump:22'}}}}\n"
        "dc-2: {}\n")
    (tmp_path / "defaults.yaml").write_text(
        "username: apigee\nconnection_options: {netmiko: {extras: {alt_host_keys: true, "
        "alt_key_file: /etc/fleet/known_hosts}}}\n")
    nr = InitNornir(inventory={"plugin": "SimpleInventory", "options": {
        "host_file": str(tmp_path / "hosts.yaml"), "group_file": str(tmp_path / "groups.yaml"),
        "defaults_file": str(tmp_path / "defaults.yaml")}}, logging={"enabled": False})
    ssh_options(nr, default_settings(), Secrets({"ssh_key_passphrase": "pp"}))
    m1 = nr.inventory.hosts["m1"].connection_options[CONNECTION].extras
    assert m1["key_file"] == "/keys/dc1" and m1["use_keys"] is True
    assert m1["alt_key_file"] == "/etc/fleet/known_hosts" and m1["ssh_strict"] is True
    assert m1["proxy_jump"] == "ops@jump:22" and m1["passphrase"] == "pp"
    m2 = nr.inventory.hosts["m2"].connection_options[CONNECTION].extras
    assert m2["use_keys"] is False and m2["allow_agent"] is True and "key_file" not in m2
    assert m2["alt_key_file"] == "/etc/fleet/known_hosts"


def test_inventory_written_passwords_and_passphrases_are_masked(tmp_path: Path):
    (tmp_path / "hosts.yaml").write_text(
        "m1: {hostname: 10.0.0.1, connection_options: {netmiko: {password: S3cretOpt!, "
        "extras: {key_file: /keys/k, passphrase: Phr4se-Long-Enough}}}}\n")
    nr = InitNornir(inventory={"plugin": "SimpleInventory", "options": {
        "host_file": str(tmp_path / "hosts.yaml")}}, logging={"enabled": False})
    secrets = Secrets({})
    ssh_options(nr, default_settings(), secrets)
    text = secrets.mask("login S3cretOpt! key Phr4se-Long-Enough")
    assert "S3cretOpt!" not in text and "Phr4se-Long-Enough" not in text
