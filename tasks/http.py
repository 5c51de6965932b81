"""Management-API calls, made by the runner itself so that the system administrator's
credentials never reach a host's command line."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from fleet.facts import servers
from fleet.model import Request


class ApiError(Exception):
    """The call failed or its answer did not hold what the step needs."""


@dataclass
class ApiResult:
    status: int
    output: str
    stored: dict[str, str] = field(default_factory=dict)


def call(req: Request, url: str, user: str, password: str, timeout: float) -> ApiResult:
    """One request; ``url`` has the host variables already substituted."""
    data = urllib.parse.urlencode(req.body).encode() if req.body else None
    r = urllib.request.Request(url, data=data, method=req.method)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    r.add_header("Authorization", f"Basic {token}")
    r.add_header("Accept", "application/json")
    if data is not None:
        r.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            status, text = resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")[:300]
        raise ApiError(f"{req.method} {url}: HTTP {exc.code} {body}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ApiError(f"{req.method} {url}: {getattr(exc, 'reason', exc)}") from None
    stored: dict[str, str] = {}
    if req.store:
        try:            # the server the step is about (NoServer's message says what to set)
            server = servers.find(text, req.select["type"], req.select["internalIP"])
        except ValueError as exc:
            raise ApiError(f"{req.method} {url}: {exc}") from None
        stored[req.store] = str(server["uuid"])
        text = json.dumps(server)
    return ApiResult(status, text[:2000], stored)
