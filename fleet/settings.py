"""config.yaml: Nornir's own sections plus our settings under ``user_defined``.

Our settings are checked against the defaults below, key by key, so that a typo in a
change window is refused up front instead of silently falling back to a default.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet import TARGET_VERSION
from fleet import values as v
from fleet.errors import InputError
from fleet.yamlfile import read_mapping

DEFAULTS: dict[str, Any] = {
    "target_version": TARGET_VERSION,
    "management_url": None,          # default: http://<first Management Server>:8080
    "become": "none",                # none | sudo: prefix for commands that need root
    "firewall_interface": "eth0",
    "external_auth": False,          # the install uses an external LDAP / Active Directory
    "secrets_file": None,
    "reports_dir": "reports",
    "repository": {"mode": "internet", "mirror_host": None, "archive": None, "java_fix": None},
    "platform": {"os": "rhel7", "epel": True, "aws_region": None},
    "timeouts": {"default": 120, "update": 3600, "bootstrap": 1800, "long": 1800,
                 "connect": 30},
    "retries": {"connect_attempts": 3, "backoff": 1.0},
    "qpid": {"drain_interval": 5, "drain_timeout": 900},
    "zero_downtime": {"lb_wait": 120},
    # 0 = every host of the wave at once; otherwise at most N per data centre at once.
    "concurrency": {"prepare": 0, "cs_zk": 0, "ldap": 1, "edge": 1, "ui": 1, "edge_pg": 1,
                    "baas": 1},
    "dcs_in_parallel": True,
    # Package builds of upstream packages per release, over fleet/facts/releases.yaml:
    # {"4.18.01": {"apigee-cassandra": "2.1.16-0.0.*"}} (see the README, "At target").
    "releases": None,
    # Optional regexes a PostgreSQL check's output must match besides its exit status.
    "postgres": {"master_pattern": None, "standby_pattern": None},
    # The window's estimate (fleet/plan/estimate.py, fleet/run/history.py): which earlier
    # runs refine it, how many, and the operator's own seconds per action.
    "estimate": {"history": "installation", "runs": 10, "seconds": None},
}

CHOICES: dict[str, tuple[str, ...]] = {
    "become": ("none", "sudo"),
    "repository.mode": ("internet", "tar", "mirror"),
    "repository.java_fix": ("I", "C", "Q"),
    "platform.os": ("rhel6", "rhel7", "oracle7", "aws7"),
    "estimate.history": ("installation", "all", "off"),
}


@dataclass(frozen=True)
class Settings:
    values: dict[str, Any]
    inventory_files: dict[str, Path]
    num_workers: int
    source: Path | None

    def __getitem__(self, key: str) -> Any:
        """Dotted lookup: settings['qpid.drain_timeout']."""
        node: Any = self.values
        for part in key.split("."):
            node = node[part]
        return node

    def timeout(self, kind: str) -> float:
        """Seconds for a class of step (``timeouts.<kind>``): which steps are long is the
        plan's knowledge (fleet/plan/waves.py), not the settings'."""
        return float(self.values["timeouts"][kind])


def _merge(base: dict[str, Any], over: dict[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        path = f"{where}.{key}" if where else key
        if key not in base:
            raise InputError(f"config: unknown setting user_defined.{path}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise InputError(f"config: user_defined.{path} must be a mapping")
            out[key] = _merge(base[key], value, path)
        else:
            out[key] = value
    return out


def _check(values: dict[str, Any]) -> None:
    for dotted, allowed in CHOICES.items():
        node: Any = values
        for part in dotted.split("."):
            node = node[part]
        if node is not None and node not in allowed:
            raise InputError(f"config: user_defined.{dotted} is {node!r}; "
                             f"expected one of {', '.join(allowed)}")
    for group in ("timeouts", "qpid", "zero_downtime", "concurrency", "retries"):
        for key, num in values[group].items():
            if not isinstance(num, (int, float)) or isinstance(num, bool) or num < 0:
                raise InputError(f"config: user_defined.{group}.{key} must be a number >= 0")
    _check_values(values)
    _check_estimate(values["estimate"])
    if values["releases"] is not None:
        from fleet.facts.releases import validate
        problem = validate(values["releases"])
        if problem:
            raise InputError(f"config: user_defined.{problem}")
    for key, pattern in values["postgres"].items():
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                raise InputError(f"config: user_defined.postgres.{key} is not a regex: {exc}") from None
    repo = values["repository"]
    if repo["mode"] == "mirror" and not repo["mirror_host"]:
        raise InputError("config: repository.mode mirror needs repository.mirror_host (HOST:3939)")
    if repo["mode"] == "tar" and not repo["archive"]:
        raise InputError("config: repository.mode tar needs repository.archive "
                         "(path of apigee-4.18.01.tar.gz on the nodes)")


def _check_estimate(est: dict[str, Any]) -> None:
    from fleet.plan.estimate import check_overrides
    runs = est["runs"]
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 0:
        raise InputError("config: user_defined.estimate.runs must be a whole number >= 0")
    problem = check_overrides(est["seconds"])
    if problem:
        raise InputError(f"config: user_defined.{problem}")


def _check_values(values: dict[str, Any]) -> None:
    """Types, and every value that reaches a remote command (fleet.values)."""
    u = "config: user_defined."
    for key in ("external_auth", "dcs_in_parallel"):
        if not isinstance(values[key], bool):
            raise InputError(f"{u}{key} must be true or false")
    if not isinstance(values["platform"]["epel"], bool):
        raise InputError(f"{u}platform.epel must be true or false")
    for key in ("secrets_file", "reports_dir", "management_url"):
        if values[key] is not None and not isinstance(values[key], str):
            raise InputError(f"{u}{key} must be a string")
    url = values["management_url"]
    if url is not None and not re.fullmatch(r"https?://[A-Za-z0-9.:\[\]-]+(:\d+)?/?", url):
        raise InputError(f"{u}management_url {url!r} must be http(s)://HOST[:PORT]")
    v.pattern(values["target_version"], v.VERSION, f"{u}target_version", "version (N.N.N)")
    v.interface(values["firewall_interface"], f"{u}firewall_interface")
    repo, plat = values["repository"], values["platform"]
    if repo["archive"] is not None:
        v.path(repo["archive"], f"{u}repository.archive")
    if repo["mirror_host"] is not None:
        v.host_port(repo["mirror_host"], f"{u}repository.mirror_host")
    if plat["aws_region"] is not None:
        v.pattern(plat["aws_region"], v.REGION, f"{u}platform.aws_region", "AWS region")


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """raw[name]['options'], each a mapping if present (Nornir's config layout)."""
    section = raw.get(name) or {}
    if not isinstance(section, dict):
        raise InputError(f"config: {name} must be a mapping (with options: ...)")
    opts = section.get("options") or {}
    if not isinstance(opts, dict):
        raise InputError(f"config: {name}.options must be a mapping")
    return opts


def load_settings(config_path: Path, inventory_dir: Path | None = None) -> Settings:
    """Read config.yaml; relative inventory paths are taken from the config's folder."""
    config_path = Path(config_path)
    raw = read_mapping(config_path, "config")
    user = raw.get("user_defined") or {}
    if not isinstance(user, dict):
        raise InputError("config: user_defined must be a mapping")
    values = _merge(DEFAULTS, user, "")
    _check(values)

    base = config_path.parent
    opts = _section(raw, "inventory")
    for key, value in opts.items():
        if key.endswith("_file") and not isinstance(value, str):
            raise InputError(f"config: inventory.options.{key} must be a file name")
    if inventory_dir is not None:
        files = {k: Path(inventory_dir) / f"{k}.yaml" for k in ("hosts", "groups", "defaults")}
    else:
        files = {k: base / str(opts.get(f"{k[:-1] if k != 'defaults' else k}_file",
                                        f"inventory/{k}.yaml"))
                 for k in ("hosts", "groups", "defaults")}
    workers = _section(raw, "runner").get("num_workers", 50)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InputError(f"config: runner.options.num_workers must be a whole number >= 1, "
                         f"not {workers!r}")
    return Settings(values, files, workers, config_path)


def default_settings() -> Settings:
    """Settings with every default (for --dry-run without a config file, and tests)."""
    files = {k: Path("inventory") / f"{k}.yaml" for k in ("hosts", "groups", "defaults")}
    return Settings(copy.deepcopy(DEFAULTS), files, 50, None)


def with_values(settings: Settings, **over: Any) -> Settings:
    """A copy with some user_defined values replaced (validated like the file)."""
    values = _merge(settings.values, over, "")
    _check(values)
    return Settings(values, settings.inventory_files, settings.num_workers, settings.source)
