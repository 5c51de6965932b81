"""The real URLs of the four Google APIs the region workflow calls.

Plans carry these production URLs; the executor maps each one back to its discovery
method, so the same plan runs against Google or against the lab emulator.
"""
from __future__ import annotations

APIGEE = "https://apigee.googleapis.com/v1"
KMS = "https://cloudkms.googleapis.com/v1"
COMPUTE = "https://compute.googleapis.com/compute/v1"
SERVICENETWORKING = "https://servicenetworking.googleapis.com/v1"
SELF_LINK = "https://www.googleapis.com/compute/v1"   # how Compute names resources it returns
PEERING_SERVICE = "servicenetworking.googleapis.com"
APIGEE_AGENT = "serviceAccount:service-{number}@gcp-sa-apigee.iam.gserviceaccount.com"
KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

HOSTS = {
    "apigee.googleapis.com": "apigee",
    "cloudkms.googleapis.com": "cloudkms",
    "compute.googleapis.com": "compute",
    "servicenetworking.googleapis.com": "servicenetworking",
}


def org(o: str) -> str:
    return f"{APIGEE}/organizations/{o}"


def instance(o: str, name: str) -> str:
    return f"{org(o)}/instances/{name}"


def keyring(project: str, loc: str, ring: str = "") -> str:
    base = f"{KMS}/projects/{project}/locations/{loc}/keyRings"
    return f"{base}/{ring}" if ring else base


def key_path(project: str, loc: str, ring: str, key: str) -> str:
    """The resource name Apigee expects in diskEncryptionKeyName."""
    return f"projects/{project}/locations/{loc}/keyRings/{ring}/cryptoKeys/{key}"


def compute(project: str, rest: str) -> str:
    return f"{COMPUTE}/projects/{project}/{rest}"


def self_link(project: str, rest: str) -> str:
    return f"{SELF_LINK}/projects/{project}/{rest}"


def network(project: str, net: str) -> str:
    return f"projects/{project}/global/networks/{net}"


def connection(network_path: str = "") -> str:
    base = f"{SERVICENETWORKING}/services/{PEERING_SERVICE}/connections"
    return base if not network_path else f"{base}?network={network_path}"


def same_resource(a: str, b: str) -> bool:
    """Compute accepts full URLs or partial paths for the same resource."""
    def tail(u: str) -> str:
        i = u.find("projects/")
        return u[i:] if i >= 0 else u
    return tail(a) == tail(b)
