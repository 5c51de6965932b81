"""Apigee Edge components, install profiles and the names the node commands use.

Tables from procedure.md section 1; everything else derives from them.
"""
from __future__ import annotations

COMPONENTS = ("cs", "zk", "ldap", "ms", "ui", "r", "mp", "qpid", "qs", "ps", "pg", "e", "b", "p")

PROFILES: dict[str, tuple[str, ...]] = {
    "aio": ("cs", "zk", "ldap", "ms", "ui", "r", "mp", "qpid", "qs", "ps", "pg"),
    "sa": ("cs", "zk", "ldap", "ms", "ui", "r", "mp"),
    "sax": ("qpid", "qs", "ps", "pg"),
    "ds": ("cs", "zk"),
    "ms": ("ms", "ldap", "ui"),
    "mo": ("ms",),
    "ld": ("ldap",),
    "ui": ("ui",),
    "rmp": ("r", "mp"),
    "r": ("r",),
    "mp": ("mp",),
    "qs": ("qpid", "qs"),
    "ps": ("ps", "pg"),
    "pdb": ("ps",),
    # API BaaS
    "c": ("cs",),
    "e": ("e",),
    "b": ("b",),
    "p": ("p",),
}

# Service name used with apigee-service, per component.
SERVICES: dict[str, str] = {
    "cs": "apigee-cassandra",
    "zk": "apigee-zookeeper",
    "ldap": "apigee-openldap",
    "qpid": "apigee-qpidd",
    "ps": "apigee-postgresql",
    "ms": "edge-management-server",
    "r": "edge-router",
    "mp": "edge-message-processor",
    "qs": "edge-qpid-server",
    "pg": "edge-postgres-server",
    "ui": "edge-ui",
    "e": "baas-elasticsearch",
    "b": "baas-usergrid",
    "p": "baas-portal",
}
# ... and back: the component a service (package) name belongs to.
COMPONENT_OF: dict[str, str] = {service: code for code, service in SERVICES.items()}

# The Edge Java components: one `update.sh -c edge` updates all of them on a node.
EDGE_JAVA = frozenset({"ms", "r", "mp", "qs", "pg"})

# The update code that updates a component.
UPDATE_CODE: dict[str, str] = {c: c for c in ("cs", "zk", "ldap", "qpid", "ps", "ui", "e", "b", "p")}
UPDATE_CODE.update({c: "edge" for c in EDGE_JAVA})

# Management-API pod and server type of the servers whose UUID the runner needs.
SERVER_TYPES: dict[str, tuple[str, str]] = {
    "r": ("gateway", "router"),
    "mp": ("gateway", "message-processor"),
    "qs": ("central", "qpid-server"),
    "pg": ("analytics", "postgres-server"),
}


def expand(profiles: list[str], components: list[str]) -> frozenset[str]:
    """The union of the profiles' components and the explicit ones (callers validate names)."""
    out = set(components)
    for p in profiles:
        out.update(PROFILES[p])
    return frozenset(out)
