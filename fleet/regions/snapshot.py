"""The organization's state as read before a run: what the guards and the planner see.

Kept as plain data (JSON round-trip) so that the planner stays pure and planner tests can
give a state from a file instead of a live organization.
"""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class OrgState:
    org: str
    billing_type: str = "SUBSCRIPTION"          # EVALUATION | SUBSCRIPTION | PAYG
    runtime_type: str = "CLOUD"                 # CLOUD (Apigee X) | HYBRID
    disable_vpc_peering: bool = False           # True: PSC only, no ranges, no peering
    authorized_network: str = ""                # the peered network (with VPC peering)
    # instance name -> {"location", "ipRange", "state", "host", "serviceAttachment"}
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    environments: list[str] = field(default_factory=list)
    # instance name -> {environment: attachment id}
    attachments: dict[str, dict[str, str]] = field(default_factory=dict)
    peering: dict[str, Any] | None = None        # {"network", "reservedPeeringRanges"}
    # global address name -> {"address", "prefixLength", "purpose", "network"}
    addresses: dict[str, dict[str, Any]] = field(default_factory=dict)
    # backend service name -> {"backends", "connectionDraining", "healthChecks", "portName"}
    backend_services: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "region/subnet" -> {"privateIpGoogleAccess": bool}
    subnets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "OrgState":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    def peering_ranges(self) -> list[str]:
        return list((self.peering or {}).get("reservedPeeringRanges") or [])

    def address_net(self, name: str) -> ipaddress.IPv4Network | None:
        a = self.addresses.get(name)
        if not a or not a.get("address"):
            return None
        return ipaddress.IPv4Network(f"{a['address']}/{a.get('prefixLength', 32)}", strict=False)

    def instance_nets(self, name: str) -> list[ipaddress.IPv4Network]:
        raw = (self.instances.get(name) or {}).get("ipRange") or ""
        return [ipaddress.IPv4Network(c.strip(), strict=False) for c in raw.split(",") if c.strip()]

    def instance_in(self, location: str) -> str | None:
        for name, inst in self.instances.items():
            if inst.get("location") == location:
                return name
        return None

    def envs_of(self, instance: str) -> list[str]:
        return sorted(self.attachments.get(instance, {}))
