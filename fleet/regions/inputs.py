"""Inputs of a region run: a YAML file and/or flags, validated before anything is read.

Every problem found here is an ``InputError`` naming the field, so that a typo never
reaches an API call. Names that the operator leaves out are derived from the location so
that a minimal file stays short, and the derived names are the same on every re-run.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fleet.errors import InputError
from fleet.yamlfile import read_mapping

INSTANCE_RE = re.compile(r"^[a-z][a-z\-\d]{0,30}[a-z\d]$")
PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
LOCATION_RE = re.compile(r"^[a-z]+-[a-z]+\d+$")
GCE_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
KMS_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
ROUTING_MODES = ("psc", "mig")

TOP_KEYS = {"project", "project_number", "network", "backend_service", "draining_timeout_sec",
            "drain_wait_sec", "endpoint", "regions"}
REGION_KEYS = {"location", "instance", "key_ring", "key", "range22", "range28", "cidr22",
               "cidr28", "consumer_accept_list", "routing"}
PSC_KEYS = {"mode", "subnet", "neg", "backend_service"}
MIG_KEYS = {"mode", "subnet", "template", "mig", "backend_service", "machine_type", "image",
            "disk_gb", "target_size", "max_replicas", "target_cpu", "cool_down_sec",
            "max_utilization", "startup_script_url"}
DEFAULT_STARTUP_SCRIPT = ("gs://apigee-5g-saas/apigee-envoy-proxy-release/latest/conf/"
                          "startup-script.sh")


@dataclass(frozen=True)
class Routing:
    """How the global load balancer reaches the region: a PSC NEG or a proxy MIG."""

    mode: str
    subnet: str
    neg: str = ""
    template: str = ""
    mig: str = ""
    backend_service: str = ""
    machine_type: str = "e2-medium"
    image: str = "projects/debian-cloud/global/images/family/debian-12"
    disk_gb: int = 20
    target_size: int = 2
    max_replicas: int = 3
    target_cpu: float = 0.75
    cool_down_sec: int = 90
    max_utilization: float = 0.8
    startup_script_url: str = DEFAULT_STARTUP_SCRIPT


@dataclass(frozen=True)
class RegionInput:
    location: str
    instance: str
    key_ring: str
    key: str
    range22: str
    range28: str
    routing: Routing
    cidr22: str | None = None
    cidr28: str | None = None
    consumer_accept_list: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegionInputs:
    project: str                  # the project id, which is also the organization name
    project_number: str
    network: str
    backend_service: str
    regions: tuple[RegionInput, ...]
    draining_timeout_sec: int = 300
    drain_wait_sec: float | None = None   # how long to wait after detaching; default = timeout
    endpoint: str | None = None

    @property
    def org(self) -> str:
        return self.project

    def drain_wait(self) -> float:
        return float(self.draining_timeout_sec if self.drain_wait_sec is None
                     else self.drain_wait_sec)

    def backend_for(self, region: RegionInput) -> str:
        return region.routing.backend_service or self.backend_service


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    value = d.get(key)
    if value in (None, ""):
        raise InputError(f"{where}: '{key}' is required")
    return value


def _unknown(d: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise InputError(f"{where}: unknown key(s) {', '.join(extra)} "
                         f"(allowed: {', '.join(sorted(allowed))})")


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise InputError(f"{what} {value!r} is invalid (must match {pattern.pattern})")
    return value


def _cidr(value: Any, prefix: int, what: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise InputError(f"{what} {value!r} is not a valid CIDR range: {exc}") from None
    if net.version != 4 or net.prefixlen != prefix:
        raise InputError(f"{what} {value!r} must be an IPv4 /{prefix} range")
    if not net.is_private:
        raise InputError(f"{what} {value!r} must be a private (RFC 1918) range")
    return str(net)


def _routing(d: Any, location: str, where: str) -> Routing:
    if isinstance(d, str):
        d = {"mode": d}
    if not isinstance(d, dict):
        raise InputError(f"{where}.routing must be a mapping with 'mode: psc|mig'")
    mode = d.get("mode")
    if mode not in ROUTING_MODES:
        raise InputError(f"{where}.routing.mode must be one of {', '.join(ROUTING_MODES)}, "
                         f"got {mode!r}")
    _unknown(d, PSC_KEYS if mode == "psc" else MIG_KEYS, f"{where}.routing")
    subnet = _check(GCE_NAME_RE, _need(d, "subnet", f"{where}.routing"), f"{where}.routing.subnet")
    if mode == "psc":
        neg = _check(GCE_NAME_RE, d.get("neg") or f"apigee-neg-{location}", f"{where}.routing.neg")
        return Routing("psc", subnet, neg=neg, backend_service=d.get("backend_service") or "")
    base = d.get("mig") or f"apigee-mig-{location}"
    r = Routing("mig", subnet, mig=_check(GCE_NAME_RE, base, f"{where}.routing.mig"),
                template=_check(GCE_NAME_RE, d.get("template") or f"{base}-template",
                                f"{where}.routing.template"),
                backend_service=d.get("backend_service") or "")
    overrides = {k: d[k] for k in MIG_KEYS - {"mode", "subnet", "template", "mig",
                                              "backend_service"} if k in d}
    try:
        for k in ("disk_gb", "target_size", "max_replicas", "cool_down_sec"):
            if k in overrides:
                overrides[k] = int(overrides[k])
        for k in ("target_cpu", "max_utilization"):
            if k in overrides:
                overrides[k] = float(overrides[k])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}.routing: {exc}") from None
    r = replace(r, **overrides)
    if not 1 <= r.target_size <= r.max_replicas:
        raise InputError(f"{where}.routing: need 1 <= target_size <= max_replicas")
    if not 0 < r.target_cpu <= 1 or not 0 < r.max_utilization <= 1:
        raise InputError(f"{where}.routing: target_cpu and max_utilization must be in (0, 1]")
    return r


def parse_region(d: Any, index: int) -> RegionInput:
    where = f"regions[{index}]"
    if not isinstance(d, dict):
        raise InputError(f"{where} must be a mapping")
    _unknown(d, REGION_KEYS, where)
    loc = _check(LOCATION_RE, _need(d, "location", where), f"{where}.location")
    inst = _check(INSTANCE_RE, d.get("instance") or f"apigee-{loc}", f"{where}.instance")
    accept = d.get("consumer_accept_list") or ()
    if isinstance(accept, str):
        accept = [a for a in accept.split(",") if a]
    for p in accept:
        _check(PROJECT_RE, p, f"{where}.consumer_accept_list entry")
    return RegionInput(
        location=loc, instance=inst,
        key_ring=_check(KMS_NAME_RE, d.get("key_ring") or f"apigee-keyring-{loc}",
                        f"{where}.key_ring"),
        key=_check(KMS_NAME_RE, d.get("key") or f"apigee-key-{loc}", f"{where}.key"),
        range22=_check(GCE_NAME_RE, d.get("range22") or f"apigee-range-{loc}-22",
                       f"{where}.range22"),
        range28=_check(GCE_NAME_RE, d.get("range28") or f"apigee-range-{loc}-28",
                       f"{where}.range28"),
        cidr22=_cidr(d.get("cidr22"), 22, f"{where}.cidr22"),
        cidr28=_cidr(d.get("cidr28"), 28, f"{where}.cidr28"),
        consumer_accept_list=tuple(accept),
        routing=_routing(_need(d, "routing", where), loc, where),
    )


def parse(d: Any) -> RegionInputs:
    """Validate a mapping (the YAML document, with flags merged in) into RegionInputs."""
    if not isinstance(d, dict):
        raise InputError("the region inputs must be a mapping")
    _unknown(d, TOP_KEYS, "inputs")
    project = _check(PROJECT_RE, _need(d, "project", "inputs"), "project")
    number = str(_need(d, "project_number", "inputs"))
    if not number.isdigit():
        raise InputError(f"project_number {number!r} must be digits only")
    regions_raw = d.get("regions") or []
    if not isinstance(regions_raw, list) or not regions_raw:
        raise InputError("inputs: at least one region is required (regions: [...] or --location)")
    regions = tuple(parse_region(r, i) for i, r in enumerate(regions_raw))
    try:
        timeout = int(d.get("draining_timeout_sec", 300))
        wait = d.get("drain_wait_sec")
        wait = None if wait is None else float(wait)
    except (TypeError, ValueError) as exc:
        raise InputError(f"draining settings: {exc}") from None
    if not 1 <= timeout <= 3600:
        raise InputError("draining_timeout_sec must be between 1 and 3600")
    out = RegionInputs(
        project=project, project_number=number,
        network=_check(GCE_NAME_RE, _need(d, "network", "inputs"), "network"),
        backend_service=_check(GCE_NAME_RE, _need(d, "backend_service", "inputs"),
                               "backend_service"),
        regions=regions, draining_timeout_sec=timeout, drain_wait_sec=wait,
        endpoint=d.get("endpoint") or None)
    _distinct(out)
    return out


def _distinct(inp: RegionInputs) -> None:
    """Refuse inputs that contradict themselves: two regions sharing a name or a range."""
    seen: dict[str, str] = {}
    for i, r in enumerate(inp.regions):
        for kind, value in (("location", r.location), ("instance", r.instance),
                            ("range name", r.range22), ("range name", r.range28)):
            key = f"{kind}:{value}"
            if key in seen:
                raise InputError(f"regions[{i}]: {kind} {value!r} is also used by {seen[key]}")
            seen[key] = f"regions[{i}]"
    nets = [(f"regions[{i}].{k}", ipaddress.ip_network(c))
            for i, r in enumerate(inp.regions) for k, c in (("cidr22", r.cidr22),
                                                             ("cidr28", r.cidr28)) if c]
    for a in range(len(nets)):
        for b in range(a + 1, len(nets)):
            if nets[a][1].overlaps(nets[b][1]):
                raise InputError(f"{nets[a][0]} {nets[a][1]} overlaps {nets[b][0]} {nets[b][1]}")


def load(path: str | Path | None, flags: dict[str, Any] | None = None,
         only: list[str] | None = None) -> RegionInputs:
    """Read the YAML file (if any), lay flags over it, keep only the named locations."""
    data: dict[str, Any] = read_mapping(path, "inputs file") if path else {}
    flags = dict(flags or {})
    region_flags = flags.pop("region", None)
    for k, v in flags.items():
        if v not in (None, ""):
            data[k] = v
    if region_flags:
        regions = list(data.get("regions") or [])
        for i, r in enumerate(regions):
            if isinstance(r, dict) and r.get("location") == region_flags.get("location"):
                regions[i] = {**r, **{k: v for k, v in region_flags.items() if v}}
                break
        else:
            regions.append(region_flags)
        data["regions"] = regions
    inputs = parse(data)
    if only:
        known = {r.location for r in inputs.regions}
        missing = [o for o in only if o not in known]
        if missing:
            raise InputError(f"--region {', '.join(missing)}: not in the inputs "
                             f"(known: {', '.join(sorted(known))})")
        inputs = replace(inputs, regions=tuple(r for r in inputs.regions if r.location in only))
    return inputs
