"""Google API calls by URL, through google-api-python-client's static discovery documents.

Plans hold production URLs (method, URL, body). Here each URL is mapped back to its
discovery method (``flatPath`` picks the method, ``path`` gives the real parameters), so
every call goes through the generated client with its credentials, and the same plan runs
against Google (``google.auth.default()``) or the emulator (``endpoint`` set).
"""
from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

from fleet.regions import urls

APIS = ("apigee", "cloudkms", "compute", "servicenetworking")
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


class ApiCallError(Exception):
    """An HTTP error answered by an API, with its status and Google error message."""

    def __init__(self, status: int, message: str, method: str = "", url: str = "") -> None:
        super().__init__(f"HTTP {status}: {message}" + (f" ({method} {url})" if method else ""))
        self.status, self.message = status, message


class OperationFailed(Exception):
    """A long-running operation finished with an error, or did not finish in time."""


# Apigee runs one long-running operation per organization and answers any other mutation
# with HTTP 400 "the resource is locked by another operation" (terraform-provider-google
# issues 10979, 10525, 10084): retried like 429 and 5xx, but for as long as the step may run.
LOCKED = "locked by another operation"
Notify = Callable[[str], None]


def retry_kind(exc: BaseException) -> str | None:
    """'lock', 'transient' or None (not retried): what a failed call is worth retrying for."""
    if isinstance(exc, ApiCallError):
        if exc.status == 400 and LOCKED in exc.message.lower():
            return "lock"
        if exc.status == 429 or exc.status >= 500:
            return "transient"
        return None
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "transient"
    return None


class RetryPolicy:
    """Bounded exponential back-off: `attempts` tries on 429/5xx, the org lock until
    `lock_seconds` have passed; each wait doubles from `delay` up to `cap`."""

    def __init__(self, attempts: int = 6, delay: float = 1.0, cap: float = 60.0,
                 lock_seconds: float = 3600.0) -> None:
        self.attempts, self.delay, self.cap, self.lock_seconds = attempts, delay, cap, lock_seconds

    def run(self, fn: Callable[[], Any], what: str, notify: Notify | None = None,
            lock_seconds: float | None = None) -> Any:
        from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential

        limit = self.lock_seconds if lock_seconds is None else lock_seconds

        def stop(rs: RetryCallState) -> bool:
            exc = rs.outcome.exception() if rs.outcome else None
            if exc is not None and retry_kind(exc) == "lock":
                return (rs.seconds_since_start or 0.0) >= limit
            return rs.attempt_number >= self.attempts

        def before_sleep(rs: RetryCallState) -> None:
            exc = rs.outcome.exception() if rs.outcome else None
            wait = rs.next_action.sleep if rs.next_action else 0.0
            if notify is not None:
                notify(f"retry {rs.attempt_number}: {what}: {_short(exc)}; again in {wait:.1f}s")

        return Retrying(retry=retry_if_exception(lambda e: retry_kind(e) is not None),
                        stop=stop, sleep=pause, before_sleep=before_sleep, reraise=True,
                        wait=wait_exponential(multiplier=self.delay, min=self.delay,
                                              max=self.cap))(fn)


def _short(exc: BaseException | None) -> str:
    text = str(exc)
    return text.split(" (", 1)[0] if isinstance(exc, ApiCallError) else text


CANCEL = threading.Event()      # set on Ctrl-C: every wait ends at its next tick


def pause(seconds: float) -> None:
    """Sleep that ends early, with OperationFailed, once the run is interrupted."""
    if CANCEL.wait(seconds):
        raise OperationFailed("interrupted by the operator")


def _template_rx(template: str, plus_greedy: bool) -> re.Pattern[str]:
    out, pos = [], 0
    for m in re.finditer(r"\{(\+?)([^}]+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        group = re.sub(r"\W", "_", m[2])
        out.append(f"(?P<{group}>.+)" if (m[1] and plus_greedy) else f"(?P<{group}>[^/:]+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$")


class _Method:
    def __init__(self, api: str, mid: str, md: dict[str, Any]) -> None:
        self.api, self.id, self.http_method = api, mid, md["httpMethod"]
        self.flat = _template_rx(md.get("flatPath") or md["path"], plus_greedy=False)
        self.path = _template_rx(md["path"], plus_greedy=True)
        self.literal = len(re.sub(r"\{[^}]+\}", "", md.get("flatPath") or md["path"]))
        self.has_body = "request" in md
        self.params = md.get("parameters", {})


def _index(api: str, doc: dict[str, Any]) -> list[_Method]:
    out: list[_Method] = []

    def walk(res: dict[str, Any]) -> None:
        for md in res.get("methods", {}).values():
            out.append(_Method(api, md["id"], md))
        for sub in res.get("resources", {}).values():
            walk(sub)
    walk(doc)
    return out


class Apis:
    """The four discovery clients, and `call(method, url, body)` on top of them."""

    _docs: dict[str, dict[str, Any]] = {}
    _index: dict[str, list[_Method]] = {}        # parsed once per process: ~1 s of regexes
    _lock = threading.Lock()

    def __init__(self, endpoint: str | None = None, credentials: Any = None,
                 http_timeout: float = 60.0, retry: RetryPolicy | None = None) -> None:
        try:
            from googleapiclient.discovery import build_from_document
            from googleapiclient.discovery_cache import get_static_doc
        except ImportError:
            from fleet.errors import InputError
            raise InputError("Apigee X regions need Google's API client, an extra of the "
                             "package: pip install 'apigee-fleet-runner[regions]' (or "
                             "pip install -r requirements.txt in a checkout)") from None

        if credentials is None:
            if endpoint:
                from google.auth.credentials import AnonymousCredentials
                credentials = AnonymousCredentials()
            else:
                import google.auth
                credentials, _ = google.auth.default(scopes=SCOPES)
        self.credentials, self.endpoint, self.http_timeout = credentials, endpoint, http_timeout
        self.services: dict[str, Any] = {}
        self.methods: dict[str, list[_Method]] = {}
        for api in APIS:
            with self._lock:
                if api not in self._docs:
                    self._docs[api] = json.loads(get_static_doc(api, "v1"))
                    self._index[api] = _index(api, self._docs[api])
            doc = self._docs[api]
            opts = {}
            if endpoint:
                base = endpoint.rstrip("/")
                opts["api_endpoint"] = f"{base}/compute/v1/" if api == "compute" else f"{base}/"
            self.services[api] = build_from_document(doc, credentials=credentials,
                                                     client_options=opts or None)
            self.methods[api] = self._index[api]
        self._local = threading.local()
        self.calls = 0
        self.retry = retry or RetryPolicy()
        self.notify: Notify | None = None       # retries outside a step (reading the org)
        self._org_locks: dict[str, threading.Lock] = {}

    @contextlib.contextmanager
    def serial(self, method: str, url: str, notify: Notify | None = None) -> Iterator[None]:
        """Apigee mutations of one organization one at a time (their call and operation):
        Apigee locks the org while an operation runs. Other APIs stay parallel."""
        m = re.match(re.escape(urls.APIGEE) + r"/organizations/([^/?]+)", url)
        if method == "GET" or m is None:
            yield
            return
        with self._lock:
            lock = self._org_locks.setdefault(m[1], threading.Lock())
        if not lock.acquire(blocking=False):
            if notify is not None:
                notify(f"waiting for organization {m[1]}'s other Apigee operation")
            while not lock.acquire(timeout=0.2):
                if CANCEL.is_set():
                    raise OperationFailed("interrupted by the operator")
        try:
            yield
        finally:
            lock.release()

    def _http(self) -> Any:
        """httplib2 is not thread-safe: one authorized Http per thread."""
        h = getattr(self._local, "http", None)
        if h is None:
            import google_auth_httplib2
            import httplib2
            h = google_auth_httplib2.AuthorizedHttp(
                self.credentials, http=httplib2.Http(timeout=self.http_timeout))
            self._local.http = h
        return h

    def resolve(self, method: str, url: str) -> tuple[_Method, dict[str, Any]]:
        parts = urlsplit(url)
        api = urls.HOSTS.get(parts.netloc)
        if api is None:
            raise ValueError(f"not a URL of a supported Google API: {url}")
        path = parts.path.lstrip("/")
        if api == "compute":
            path = path[len("compute/v1/"):]
        best: _Method | None = None
        for m in self.methods[api]:
            if m.http_method == method and m.flat.match(path):
                if best is None or m.literal > best.literal:
                    best = m
        if best is None:
            raise ValueError(f"no {api} API method for {method} {url}")
        params: dict[str, Any] = dict(best.path.match(path).groupdict())  # type: ignore
        for key, value in parse_qsl(parts.query):
            params[key] = _typed(best.params.get(key, {}).get("type"), value)
        return best, params

    def call(self, method: str, url: str, body: dict[str, Any] | None = None,
             notify: Notify | None = None, lock_seconds: float | None = None
             ) -> dict[str, Any]:
        """One API call, retried with back-off on 429, 5xx and the Apigee org lock."""
        return self.retry.run(lambda: self._call_once(method, url, body),
                              f"{method} {url.split('?', 1)[0].rsplit('/', 1)[-1]}",
                              notify or self.notify, lock_seconds)

    def list(self, url: str, key: str, notify: Notify | None = None) -> list[Any]:
        """Every page of a list call (Apigee and Compute both page with nextPageToken)."""
        out: list[Any] = []
        page = None
        while True:
            sep = "&" if "?" in url else "?"
            got = self.call("GET", url + (f"{sep}pageToken={page}" if page else ""),
                            notify=notify)
            out += got.get(key) or []
            page = got.get("nextPageToken")
            if not page:
                return out

    def _call_once(self, method: str, url: str, body: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        from googleapiclient.errors import HttpError

        m, params = self.resolve(method, url)
        target = self.services[m.api]
        for part in m.id.split(".")[1:-1]:
            target = getattr(target, part)()
        kwargs = {re.sub(r"\W", "_", k): v for k, v in params.items()}
        if m.has_body:
            kwargs["body"] = body or {}
        request = getattr(target, m.id.split(".")[-1])(**kwargs)
        self.calls += 1
        try:
            out = request.execute(http=self._http())
        except HttpError as exc:
            raise ApiCallError(exc.resp.status, _message(exc), method, url) from None
        return out if isinstance(out, dict) else {"items": out}

    def get(self, url: str, notify: Notify | None = None) -> dict[str, Any] | None:
        """GET, with 404 as None: the existence check of every step."""
        try:
            return self.call("GET", url, notify=notify)
        except ApiCallError as exc:
            if exc.status == 404:
                return None
            raise

    def wait(self, op: dict[str, Any], timeout: float, interval: float,
             progress: Callable[[str], None] | None = None,
             notify: Notify | None = None) -> dict[str, Any]:
        """Poll a long-running operation of any of the four APIs until done or timeout."""
        url = operation_url(op)
        if url is None:
            return op                                   # a synchronous answer
        deadline = time.monotonic() + timeout
        start = time.monotonic()
        while not operation_done(op):
            if time.monotonic() > deadline:
                raise OperationFailed(f"operation {op.get('name')} not done after {timeout:g}s")
            if progress:
                progress(f"{operation_state(op)} {time.monotonic() - start:.0f}s")
            pause(interval)
            op = self.call("GET", url, notify=notify)
        err = operation_error(op)
        if err:
            raise OperationFailed(f"operation {op.get('name')} failed: {err}")
        return op


def _typed(kind: str | None, value: str) -> Any:
    """Query strings are text; the client serializes by type (bool("false") is True)."""
    if kind == "boolean":
        return value.lower() == "true"
    if kind == "integer":
        return int(value)
    return value


def _message(exc: Any) -> str:
    try:
        return json.loads(exc.content.decode())["error"]["message"]
    except Exception:                                   # not Google's JSON: keep the raw reason
        return str(exc.reason if hasattr(exc, "reason") else exc)


def operation_url(op: dict[str, Any]) -> str | None:
    name = op.get("name") or ""
    if op.get("kind") == "compute#operation":
        link = op.get("selfLink", "")
        return urls.COMPUTE + link[link.index("/projects/"):]
    if name.startswith("organizations/") and "/operations/" in name:
        return f"{urls.APIGEE}/{name}"
    if name.startswith("operations/"):
        return f"{urls.SERVICENETWORKING}/{name}"
    return None


def operation_done(op: dict[str, Any]) -> bool:
    if op.get("kind") == "compute#operation":
        return op.get("status") == "DONE"
    return bool(op.get("done"))


def operation_state(op: dict[str, Any]) -> str:
    if op.get("kind") == "compute#operation":
        return str(op.get("status", "RUNNING"))
    return str((op.get("metadata") or {}).get("state") or "IN_PROGRESS")


def operation_error(op: dict[str, Any]) -> str | None:
    err = op.get("error")
    if not err:
        return None
    if "errors" in err:
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in err["errors"])
    return str(err.get("message") or err)
