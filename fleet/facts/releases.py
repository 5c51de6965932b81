"""Which package build belongs to which Edge release: the rule behind every "at target".

Apigee-built packages carry the Edge version, so they are at the target exactly when their
version is the target. Third-party packages (``upstream`` in releases.yaml) carry their own
version; for them the release manifest (releases.yaml, overridable per installation with
``user_defined.releases``) gives a glob of the target release's build. Where it gives none,
the answer is None: this output alone cannot decide.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

DATA = Path(__file__).with_name("releases.yaml")
EDGE_VERSION = re.compile(r"^4\.\d\d\.\d\d(?:\.\d\d)?$")


def version_of(build: str) -> str:
    """"4.18.01-0.0.1607" -> "4.18.01" (the part before the release)."""
    return build.rsplit("-", 1)[0]


@dataclass(frozen=True)
class Manifest:
    upstream: frozenset[str]
    builds: dict[str, dict[str, str]] = field(default_factory=dict)   # release -> pkg -> glob

    def at(self, package: str, build: str, target: str) -> bool | None:
        version = version_of(build)
        glob = self.builds.get(target, {}).get(package)
        if glob is not None:
            return fnmatch.fnmatchcase(build, glob)
        if package in self.upstream or not EDGE_VERSION.match(version):
            return None
        return version == target

    def merged(self, override: Mapping[str, Any] | None) -> "Manifest":
        """This manifest with an installation's own builds (``user_defined.releases``)."""
        if not override:
            return self
        builds = {r: dict(p) for r, p in self.builds.items()}
        for release, pkgs in override.items():
            builds.setdefault(str(release), {}).update({str(k): str(v) for k, v in (pkgs or {}).items()})
        return Manifest(self.upstream, builds)


@lru_cache(maxsize=1)
def _builtin() -> Manifest:
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8")) or {}
    return Manifest(frozenset(raw.get("upstream") or ()),
                    {str(r): {str(k): str(v) for k, v in (p or {}).items()}
                     for r, p in (raw.get("releases") or {}).items()})


def load(override: Mapping[str, Any] | None = None) -> Manifest:
    return _builtin().merged(override)


def validate(value: Any) -> str | None:
    """Why a ``user_defined.releases`` value is malformed, or None."""
    if not isinstance(value, dict):
        return "releases must be a mapping: RELEASE: {PACKAGE: BUILD-GLOB}"
    for release, pkgs in value.items():
        if not isinstance(pkgs, dict) or not all(isinstance(v, str) and v for v in pkgs.values()):
            return f"releases.{release} must map package names to build globs (strings)"
    return None
