"""The guards of the spec's last section, checked on the state read before any change.

A guard that trips raises ``GuardRefused`` (an InputError, so the CLI exits 2) listing
every problem at once: the operator fixes the inputs once instead of once per run. A
region that is already (partly) in place under the same names is a re-run, not a conflict.
"""
from __future__ import annotations

import ipaddress

from fleet.errors import InputError
from fleet.regions import urls
from fleet.regions.inputs import RegionInputs
from fleet.regions.snapshot import OrgState

MAX_REGIONS = 10
MIG_PORT = "https"          # the named port the MIG serves (https:443) and the service uses


class GuardRefused(InputError):
    """A guard refused the run; nothing was changed."""


def _refuse(problems: list[str], verb: str) -> None:
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise GuardRefused(f"refusing to {verb}; nothing was changed:\n{lines}")


def _org_problems(inp: RegionInputs, st: OrgState) -> list[str]:
    """Apigee X only; with VPC peering, on the network the organization is peered with."""
    out = []
    if st.runtime_type != "CLOUD":
        out.append(f"organization {st.org} has runtime type {st.runtime_type}: this workflow "
                   f"is for Apigee X (CLOUD) runtime instances only")
    have = st.authorized_network.rstrip("/").rsplit("/", 1)[-1]
    if not st.disable_vpc_peering and have and have != inp.network:
        out.append(f"network {inp.network} is not organization {st.org}'s authorized network "
                   f"({st.authorized_network})")
    return out


def _kind(group: str) -> str:
    return "MIG" if "/instanceGroups/" in group else "NEG"


def _backend_problems(inp: RegionInputs, st: OrgState) -> list[str]:
    """What Compute would refuse last, after the billing resources exist: one kind of
    backend per service; instance groups need a health check and the named port, PSC
    NEGs allow no health check."""
    out = []
    for bs, have in st.backend_services.items():
        regions = [r for r in inp.regions if inp.backend_for(r) == bs]
        if not regions:
            continue
        kinds: dict[str, list[str]] = {}
        for b in have.get("backends") or []:
            kinds.setdefault(_kind(b.get("group", "")), []).append(
                b.get("group", "").rsplit("/", 1)[-1])
        for r in regions:
            kinds.setdefault("MIG" if r.routing.mode == "mig" else "NEG", []).append(
                f"{r.location} ({r.routing.mode.upper()}, this run)")
        if len(kinds) > 1:
            out.append(f"backend service {bs} would mix MIG and PSC NEG backends (MIG: "
                       f"{', '.join(kinds['MIG'])}; NEG: {', '.join(kinds['NEG'])}): Compute "
                       f"allows one kind per backend service; give the region its own "
                       f"routing.backend_service or use the routing its backends use")
        checks = have.get("healthChecks") or []
        port = have.get("portName") or "http"
        for r in regions:
            if r.routing.mode == "mig" and not checks:
                out.append(f"backend service {bs} has no health check: the MIG of "
                           f"{r.location} needs one")
            if r.routing.mode == "mig" and port != MIG_PORT:
                out.append(f"backend service {bs} sends to named port {port!r}: the MIG of "
                           f"{r.location} serves {MIG_PORT}:443")
            if r.routing.mode == "psc" and checks:
                out.append(f"backend service {bs} has a health check: the PSC NEG of "
                           f"{r.location} allows none")
    return out


def check_add(inp: RegionInputs, st: OrgState) -> None:
    problems: list[str] = _org_problems(inp, st) + _backend_problems(inp, st)
    new = [r for r in inp.regions if r.instance not in st.instances]
    total = len(st.instances) + len(new)
    if total > MAX_REGIONS:
        problems.append(f"organization {st.org} has {len(st.instances)} instance(s); adding "
                        f"{len(new)} would make {total}, over the limit of {MAX_REGIONS} regions")
    if st.billing_type == "EVALUATION" and total > 1:
        problems.append(f"organization {st.org} is an evaluation organization: it has exactly "
                        f"one region and cannot get another")
    if st.peering is None and not st.disable_vpc_peering:
        problems.append(f"network {inp.network} has no service networking peering with "
                        f"{urls.PEERING_SERVICE}: set up Apigee's VPC peering first")
    for r in inp.regions:
        other = st.instance_in(r.location)
        if other and other != r.instance:
            problems.append(f"location {r.location} already has instance {other}: one instance "
                            f"per region (asked for {r.instance})")
        mine = st.instances.get(r.instance)
        if mine and mine.get("location") != r.location:
            problems.append(f"instance name {r.instance} is already used in "
                            f"{mine.get('location')}")
        if st.disable_vpc_peering:
            if r.cidr22 or r.cidr28:
                problems.append(f"organization {st.org} has VPC peering disabled: {r.location} "
                                f"takes no cidr22/cidr28 (Apigee reserves no ranges)")
            if r.routing.mode == "mig":
                problems.append(f"organization {st.org} has VPC peering disabled: the MIG of "
                                f"{r.location} could not reach the instance; use PSC routing")
        else:
            problems += _range_problems(inp, st, r.instance, r.range22, 22, r.cidr22)
            problems += _range_problems(inp, st, r.instance, r.range28, 28, r.cidr28)
        bs = inp.backend_for(r)
        if bs not in st.backend_services:
            problems.append(f"backend service {bs} (the production load balancer's) not found")
        subnet = st.subnets.get(f"{r.location}/{r.routing.subnet}")
        if subnet is None:
            problems.append(f"subnet {r.routing.subnet} not found in {r.location}")
        elif r.routing.mode == "mig" and not subnet.get("privateIpGoogleAccess"):
            problems.append(f"subnet {r.routing.subnet} in {r.location} has Private Google "
                            f"Access off: the MIG proxies need it on")
    _refuse(problems, "add " + ", ".join(r.location for r in inp.regions))


def _range_problems(inp: RegionInputs, st: OrgState, instance: str, name: str, prefix: int,
                    cidr: str | None) -> list[str]:
    """Overlapping or reused ranges: another instance's block, or one overlapping ours."""
    out: list[str] = []
    have = st.address_net(name)
    if have is not None:
        if have.prefixlen != prefix:
            out.append(f"address {name} exists as {have}, not a /{prefix}")
        if cidr and str(have) != cidr:
            out.append(f"address {name} exists as {have}, not {cidr}")
        for other in st.instances:
            if other != instance and any(have.overlaps(n) for n in st.instance_nets(other)):
                out.append(f"range {name} ({have}) is already used by instance {other}")
    want = ipaddress.ip_network(cidr) if cidr else None
    if want is not None:
        for other_name in st.addresses:
            net = st.address_net(other_name)
            if other_name != name and net is not None and net.overlaps(want):
                out.append(f"range {name} {want} overlaps reserved range {other_name} ({net})")
        for other in st.instances:
            if other != instance and any(want.overlaps(n) for n in st.instance_nets(other)):
                out.append(f"range {name} {want} overlaps the ipRange of instance {other}")
    return out


def check_remove(inp: RegionInputs, st: OrgState) -> None:
    problems: list[str] = _org_problems(inp, st)
    removing = set()
    for r in inp.regions:
        inst = st.instances.get(r.instance)
        if inst and inst.get("location") != r.location:
            problems.append(f"instance {r.instance} is in {inst.get('location')}, "
                            f"not {r.location}")
            continue
        if inst:
            removing.add(r.instance)
        if inp.backend_for(r) not in st.backend_services:
            problems.append(f"backend service {inp.backend_for(r)} not found")
    remaining = [n for n in st.instances if n not in removing]
    if removing and not remaining:
        problems.append(f"removing {', '.join(sorted(removing))} would leave organization "
                        f"{st.org} with no instance: every environment would be unserved")
    else:
        for env in st.environments:
            served_by = [n for n in st.instances if env in st.attachments.get(n, {})]
            if served_by and not [n for n in served_by if n not in removing]:
                problems.append(f"environment {env} is attached only to "
                                f"{', '.join(served_by)}: removing it would leave {env} "
                                f"attached to no instance (attach {env} to another "
                                f"instance first)")
    _refuse(problems, "remove " + ", ".join(r.location for r in inp.regions))


def peering_keeps_all(original: list[str], new: list[str]) -> list[str]:
    """The ranges a peering patch would drop (must be empty)."""
    return [r for r in original if r not in new]
