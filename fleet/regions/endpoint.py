"""Which API endpoint a region run talks to, and saying so where nobody can miss it.

A leftover ``FLEET_GCP_ENDPOINT`` (exported for the lab emulator) must not quietly send a
run meant for Google elsewhere: the endpoint and where it came from head every plan and run,
go into plan.json, the journal and the report, and a run confirmed only by ``--yes`` whose
endpoint comes from the environment alone is refused.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit
from dataclasses import dataclass

from fleet.errors import InputError

ENV = "FLEET_GCP_ENDPOINT"
GOOGLE = "https://*.googleapis.com"


@dataclass(frozen=True)
class Endpoint:
    url: str | None            # None: Google itself
    source: str                # --endpoint | the inputs file | FLEET_GCP_ENDPOINT | default

    @property
    def google(self) -> bool:
        return self.url is None

    def banner(self) -> str:
        if self.google:
            return (f"API endpoint: Google ({GOOGLE}), credentials from "
                    f"google.auth.default()")
        return (f"API endpoint: {self.url} (from {self.source}): NOT Google, every call below "
                f"goes there instead of {GOOGLE}")

    def record(self) -> str:
        """As written in plan.json, the journal and the report."""
        return "google" if self.google else f"{self.url} (from {self.source})"


def resolve(flag: str | None, spec_value: str | None) -> Endpoint:
    if flag:
        return _checked(Endpoint(flag, "--endpoint"))
    if spec_value:
        return _checked(Endpoint(spec_value, "the inputs file's endpoint"))
    if os.environ.get(ENV):
        return _checked(Endpoint(os.environ[ENV], ENV))
    return Endpoint(None, "default")


def _checked(ep: Endpoint) -> Endpoint:
    """http(s)://host[:port][/path] and nothing else: the URL is printed, and written in
    plan.json, the journal and the report, so a user:password in it is refused (unshown)."""
    url = ep.url or ""
    u = urlsplit(url)
    if "@" in u.netloc or u.query or u.fragment:
        raise InputError(f"endpoint from {ep.source} carries credentials (user:password@) or "
                         f"a query: give the bare http(s)://host[:port] URL")
    try:
        ok = u.scheme in ("http", "https") and bool(u.hostname) and u.port != 0
    except ValueError:                              # a port that is no number or too big
        ok = False
    if not ok or any(c.isspace() or not c.isprintable() for c in url):
        raise InputError(f"endpoint {url!r} (from {ep.source}) is not an http(s)://host[:port] "
                         f"URL")
    return ep


def check_unattended(ep: Endpoint, yes: bool) -> None:
    """`--yes` skips the prompt that would show the endpoint: then the environment alone
    may not pick it."""
    if yes and ep.source == ENV:
        raise InputError(f"{ENV}={ep.url} is set in the environment: this run would call it "
                         f"instead of Google. Pass --endpoint {ep.url} to confirm, or unset "
                         f"{ENV} to call Google")
