"""Which API endpoint a region run talks to, and saying so where nobody can miss it.

A leftover ``FLEET_GCP_ENDPOINT`` (exported for the lab emulator) must not quietly send a
run meant for Google elsewhere: the endpoint and where it came from head every plan and run,
go into plan.json, the journal and the report, and a run confirmed only by ``--yes`` whose
endpoint comes from the environment alone is refused.
"""
from __future__ import annotations

import os
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
        return Endpoint(flag, "--endpoint")
    if spec_value:
        return Endpoint(spec_value, "the inputs file's endpoint")
    if os.environ.get(ENV):
        return Endpoint(os.environ[ENV], ENV)
    return Endpoint(None, "default")


def check_unattended(ep: Endpoint, yes: bool) -> None:
    """`--yes` skips the prompt that would show the endpoint: then the environment alone
    may not pick it."""
    if yes and ep.source == ENV:
        raise InputError(f"{ENV}={ep.url} is set in the environment: this run would call it "
                         f"instead of Google. Pass --endpoint {ep.url} to confirm, or unset "
                         f"{ENV} to call Google")
