"""Initial state of the emulated organization: N live regions, behind one load balancer.

Every key is optional; the defaults give a subscription org with one ACTIVE instance in
us-central1 serving `prod` and `test`, its PSC NEG in the production backend service
(draining off, as many real setups start), and the peering with a non-Apigee range too,
so that a patch which forgets an original range is caught.
"""
from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from lab.gcp.world import World

SELF = "https://www.googleapis.com/compute/v1"
LOCATIONS = ("us-central1", "europe-west1", "asia-east1", "us-east1", "europe-west4",
             "asia-southeast1", "us-east4", "europe-west2", "australia-southeast1",
             "southamerica-east1", "northamerica-northeast1")
EXTRA_SUBNET_LOCATIONS = ("us-west1", "us-west2", "europe-west3", "asia-northeast1")
DEFAULTS: dict[str, Any] = {
    "project": "demo-org", "project_number": "123456789012", "network": "apigee-vpc",
    "billing_type": "SUBSCRIPTION", "environments": ["prod", "test"], "instances": 1,
    "backend_service": "apigee-xlb-backend", "draining_timeout_sec": 0,
    "subnet": "apigee-subnet", "private_google_access_off": [],
    "extra_ranges": {"google-managed-services-apigee-vpc": "10.100.0.0/16"},
    # a second backend service for MIG routing: instance groups need a health check and a
    # named port, PSC NEGs allow no health check, and one service cannot mix the two
    "mig_backend_service": "apigee-mig-backend",
    "runtime_type": "CLOUD", "disable_vpc_peering": False,
    "page_size": 2, "drain_scale": 1.0,
}


def seed_world(w: World, cfg: dict[str, Any]) -> None:
    """Replace the world's resources by the seeded ones (operations and calls are kept)."""
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown seed keys: {', '.join(sorted(unknown))}")
    c = {**DEFAULTS, **cfg}
    w.project, w.number, w.network = c["project"], str(c["project_number"]), c["network"]
    w.billing_type, w.environments = c["billing_type"], list(c["environments"])
    w.runtime_type, w.disable_vpc_peering = c["runtime_type"], bool(c["disable_vpc_peering"])
    w.page_size, w.drain_scale = max(1, int(c["page_size"])), float(c["drain_scale"])
    peered = not w.disable_vpc_peering
    for store in (w.instances, w.attachments, w.keyrings, w.keys, w.addresses, w.subnets,
                  w.negs, w.backend_services, w.templates, w.igms, w.autoscalers):
        store.clear()
    w.violations.clear()
    w.drained.clear()
    locs = c["instances"]
    if isinstance(locs, int):
        locs = list(LOCATIONS[:locs])
    ranges = []
    for name, cidr in (c["extra_ranges"] if peered else {}).items():
        _address(w, name, cidr)
        ranges.append(name)
    backends = []
    agent = f"serviceAccount:service-{w.number}@gcp-sa-apigee.iam.gserviceaccount.com"
    for i, loc in enumerate(locs):
        r22 = ipaddress.ip_network(f"10.8.{4 * i}.0/22")
        r28 = ipaddress.ip_network(f"10.9.0.{16 * i}/28")
        for suffix, net in (("22", r22), ("28", r28)) if peered else ():
            _address(w, f"apigee-range-{loc}-{suffix}", str(net))
            ranges.append(f"apigee-range-{loc}-{suffix}")
        name = f"apigee-{loc}"
        ring, key = f"apigee-keyring-{loc}", f"apigee-key-{loc}"
        w.keyrings[(loc, ring)] = {"name": f"projects/{w.project}/locations/{loc}/keyRings/{ring}"}
        w.keys[(loc, ring, key)] = {
            "name": f"projects/{w.project}/locations/{loc}/keyRings/{ring}/cryptoKeys/{key}",
            "purpose": "ENCRYPT_DECRYPT",
            "policy": {"version": 1, "etag": "BwAAAA==", "bindings": [
                {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": [agent]}]}}
        tenant = hashlib.sha1(w.project.encode()).hexdigest()[:8]
        w.instances[name] = {
            "name": name, "location": loc, "state": "ACTIVE", "port": "443",
            "runtimeVersion": "1-14-0-apigee-4",
            "diskEncryptionKeyName": w.keys[(loc, ring, key)]["name"],
            "serviceAttachment": f"projects/{tenant}-tp/regions/{loc}/serviceAttachments/"
                                 f"apigee-{loc}-seed"}
        if peered:
            w.instances[name].update(host=str(r22.network_address + 2), ipRange=f"{r22},{r28}",
                                     peeringCidrRange="SLASH_22")
        w.attachments[name] = {
            f"seed-{loc}-{env}": {"name": f"seed-{loc}-{env}", "environment": env,
                                  "createdAt": "0"} for env in w.environments}
        neg = f"apigee-neg-{loc}"
        link = f"{SELF}/projects/{w.project}/regions/{loc}/networkEndpointGroups/{neg}"
        w.negs[(loc, neg)] = {"name": neg, "kind": "compute#networkEndpointGroup",
                              "selfLink": link, "networkEndpointType": "PRIVATE_SERVICE_CONNECT",
                              "pscTargetService": w.instances[name]["serviceAttachment"]}
        backends.append({"group": link, "balancingMode": "UTILIZATION", "capacityScaler": 1.0})
    w.connection = {"network": f"projects/{w.number}/global/networks/{w.network}",
                    "service": "services/servicenetworking.googleapis.com",
                    "peering": "servicenetworking-googleapis-com",
                    "reservedPeeringRanges": ranges} if peered else None
    bs = c["backend_service"]
    w.backend_services[bs] = {
        "kind": "compute#backendService", "name": bs, "protocol": "HTTPS",
        "loadBalancingScheme": "EXTERNAL_MANAGED", "backends": backends,
        "selfLink": f"{SELF}/projects/{w.project}/global/backendServices/{bs}",
        "connectionDraining": {"drainingTimeoutSec": int(c["draining_timeout_sec"])},
        "fingerprint": "seed0000"}
    mig_bs = c["mig_backend_service"]
    if mig_bs:
        hc = f"{SELF}/projects/{w.project}/global/healthChecks/apigee-mig-hc"
        w.backend_services[mig_bs] = {
            "kind": "compute#backendService", "name": mig_bs, "protocol": "HTTPS",
            "portName": "https", "loadBalancingScheme": "EXTERNAL_MANAGED", "backends": [],
            "healthChecks": [hc],
            "selfLink": f"{SELF}/projects/{w.project}/global/backendServices/{mig_bs}",
            "connectionDraining": {"drainingTimeoutSec": int(c["draining_timeout_sec"])},
            "fingerprint": "seed0001"}
    for loc in list(LOCATIONS) + list(EXTRA_SUBNET_LOCATIONS):
        w.subnets[(loc, c["subnet"])] = {
            "kind": "compute#subnetwork", "name": c["subnet"],
            "selfLink": f"{SELF}/projects/{w.project}/regions/{loc}/subnetworks/{c['subnet']}",
            "network": f"{SELF}/projects/{w.project}/global/networks/{w.network}",
            "privateIpGoogleAccess": loc not in c["private_google_access_off"],
            "region": f"{SELF}/projects/{w.project}/regions/{loc}"}


def _address(w: World, name: str, cidr: str) -> None:
    net = ipaddress.ip_network(cidr)
    w.addresses[name] = {
        "kind": "compute#address", "name": name, "address": str(net.network_address),
        "prefixLength": net.prefixlen, "purpose": "VPC_PEERING", "addressType": "INTERNAL",
        "status": "RESERVED",
        "network": f"{SELF}/projects/{w.project}/global/networks/{w.network}",
        "selfLink": f"{SELF}/projects/{w.project}/global/addresses/{name}"}
