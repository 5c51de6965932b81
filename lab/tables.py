"""The lab's own tables of Apigee Edge: components, profiles, service and package names,
and the package builds each release installs.

Kept apart from the runner's tables on purpose (the lab imports nothing from ``fleet``):
a judge that shares the runner's tables shares its blind spots. Builds follow what real
nodes print (docs/real-nodes.md): Apigee-built packages carry the Edge version
(``edge-router-4.18.01-0.0.1607``), third-party ones their upstream version
(``apigee-cassandra-2.1.16-0.0.2046``, ``apigee-zookeeper-3.4.5-0.0.94x``,
``apigee-openldap-2.4-…``). Where the real build of a release is not public, the number
here is the lab's own choice.
"""
from __future__ import annotations

import zlib

SOURCE = "4.16.09"
TARGET = "4.18.01"

PROFILES: dict[str, tuple[str, ...]] = {
    "aio": ("cs", "zk", "ldap", "ms", "ui", "r", "mp", "qpid", "qs", "ps", "pg"),
    "sa": ("cs", "zk", "ldap", "ms", "ui", "r", "mp"),
    "sax": ("qpid", "qs", "ps", "pg"),
    "ds": ("cs", "zk"), "ms": ("ms", "ldap", "ui"), "mo": ("ms",), "ld": ("ldap",),
    "ui": ("ui",), "rmp": ("r", "mp"), "r": ("r",), "mp": ("mp",), "qs": ("qpid", "qs"),
    "ps": ("ps", "pg"), "pdb": ("ps",),
    "c": ("cs",), "e": ("e",), "b": ("b",), "p": ("p",),          # API BaaS
}
SERVICES: dict[str, str] = {
    "cs": "apigee-cassandra", "zk": "apigee-zookeeper", "ldap": "apigee-openldap",
    "qpid": "apigee-qpidd", "ps": "apigee-postgresql", "ms": "edge-management-server",
    "r": "edge-router", "mp": "edge-message-processor", "qs": "edge-qpid-server",
    "pg": "edge-postgres-server", "ui": "edge-ui", "e": "baas-elasticsearch",
    "b": "baas-usergrid", "p": "baas-portal",
}
SERVICE_COMPONENT = {v: k for k, v in SERVICES.items()}
# One `update.sh -c edge` updates every Edge Java component of a node.
EDGE_JAVA = frozenset({"ms", "r", "mp", "qs", "pg"})
# Management-API pod and type of the servers a node registers.
SERVER_TYPES: dict[str, tuple[str, str]] = {
    "r": ("gateway", "router"), "mp": ("gateway", "message-processor"),
    "qs": ("central", "qpid-server"), "pg": ("analytics", "postgres-server"),
    "ms": ("central", "management-server"),
}
# Listed by `apigee-all version` on every node with Apigee software; not components.
TOOLS = ("apigee-attribution", "apigee-service", "apigee-setup")

# Third-party packages: their upstream version per release (version-release).
UPSTREAM: dict[str, dict[str, str]] = {
    SOURCE: {"apigee-cassandra": "2.1.13-0.0.1017", "apigee-zookeeper": "3.4.5-0.0.911",
             "apigee-openldap": "2.4-0.0.1004", "apigee-postgresql": "9.4.5-0.0.1019"},
    TARGET: {"apigee-cassandra": "2.1.16-0.0.2046", "apigee-zookeeper": "3.4.5-0.0.944",
             "apigee-openldap": "2.4-0.0.1067", "apigee-postgresql": "9.6.8-0.0.1120"},
}
# Builds of 4.18.01 Apigee-built packages that real nodes show (real-nodes.md).
KNOWN_BUILDS = {("edge-router", TARGET): "0.0.1607", ("edge-ui", TARGET): "0.0.20043",
                ("apigee-qpidd", TARGET): "0.0.855"}
# 4.18.01 builds of upstream packages that no public source gives: the lab's config states
# them in user_defined.releases, as an operator's must.
UNPUBLISHED = ("apigee-cassandra", "apigee-openldap")


def expand(profiles: list[str], components: list[str]) -> frozenset[str]:
    out = set(components)
    for p in profiles:
        out.update(PROFILES[p])
    return frozenset(out)


def build_number(service: str, version: str) -> str:
    """A stable, realistic build suffix per package and release."""
    known = KNOWN_BUILDS.get((service, version))
    return known or f"0.0.{1000 + zlib.crc32((service + version).encode()) % 9000}"


def package(service: str, release: str) -> str:
    """The name-version-release line `apigee-service SERVICE version` prints."""
    upstream = UPSTREAM.get(release, {}).get(service)
    if upstream:
        return f"{service}-{upstream}"
    return f"{service}-{release}-{build_number(service, release)}"


def releases_setting() -> dict[str, dict[str, str]]:
    """``user_defined.releases`` for the lab's config: the unpublished target builds."""
    return {TARGET: {s: UPSTREAM[TARGET][s] for s in UNPUBLISHED}}
