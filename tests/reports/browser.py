"""Headless Chromium driven over the DevTools protocol on a pipe (no extra package, no
port): load a local page, list every request the page itself tried to send, ask the DOM
whether an element is on screen, and take a screenshot.

The browser's own background traffic (time sync, sign-in probes) is not the page's doing
and is not counted: only the page session's Network events are.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
         "--no-default-browser-check", "--remote-debugging-pipe"]


class Browser:
    """One Chromium process; ``call`` sends a command and returns its result."""

    def __init__(self, timeout: float = 60) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def fds() -> None:                 # the protocol pipe is fd 3 (in) and 4 (out)
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)   # out of the way of 3, 4
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(a, 3)                  # inheritable; every other fd of ours is not (PEP 446)
            os.dup2(b, 4)
        # not pass_fds=(3, 4): that needs fds 3 and 4 open in this process (EBADF otherwise,
        # e.g. after pandas and matplotlib were imported), and close_fds would shut the dup2s
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=fds, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self.timeout, self._id, self._buf = timeout, 0, b""
        self.events: list[dict[str, Any]] = []

    def _send(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def _next(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the protocol pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        want = self._send(method, params or {}, session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._next(deadline)
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for e in self.events:
            if e["method"] == method:
                return e
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg

    def close(self) -> None:
        try:
            self._send("Browser.close", {}, None)
            self.proc.wait(10)
        except Exception:          # already gone, or stuck: make sure it ends
            self.proc.kill()
            self.proc.wait(10)
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


VISIBLE = """(() => {
  const e = document.getElementById(%s);
  if (!e) return null;
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return {complete: !!e.complete, naturalWidth: e.naturalWidth || 0, top: r.top, left: r.left,
          width: r.width, height: r.height, display: s.display, visibility: s.visibility,
          viewportHeight: innerHeight, viewportWidth: innerWidth};
})()"""


def render(page: Path, shot: Path, element: str = "", size: tuple[int, int] = (1400, 2400),
           probe: str = "") -> tuple[list[str], Any]:
    """Load ``page``; (URLs the page requested other than itself, geometry of ``element``
    or the value of the JavaScript expression ``probe``), and the screenshot written to
    ``shot``."""
    b = Browser()
    try:
        targets = b.call("Target.getTargets")["targetInfos"]
        page_target = next(t for t in targets if t["type"] == "page")
        sid = b.call("Target.attachToTarget", {"targetId": page_target["targetId"],
                                               "flatten": True})["sessionId"]
        b.call("Network.enable", session=sid)
        b.call("Page.enable", session=sid)
        b.call("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                      "deviceScaleFactor": 1, "mobile": False},
               session=sid)
        url = page.resolve().as_uri()
        b.call("Page.navigate", {"url": url}, session=sid)
        b.wait_for("Page.loadEventFired")
        time.sleep(0.5)                     # anything the page fetches late
        b.call("Runtime.evaluate", {"expression": "1"}, session=sid)     # drain events
        requested = [e["params"]["request"]["url"] for e in b.events
                     if e["method"] == "Network.requestWillBeSent" and e.get("sessionId") == sid]
        found = None
        if element or probe:
            expression = probe or VISIBLE % json.dumps(element)
            res = b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                         session=sid)
            found = res.get("result", {}).get("value")
        data = b.call("Page.captureScreenshot", {"format": "png"}, session=sid)["data"]
        shot.write_bytes(base64.b64decode(data))
        return [u for u in requested if u != url], found
    finally:
        b.close()


# The page's layout as the checks need it: does anything stick out to the right of the
# window (the page scrolls sideways), and which colours the wave swatches have.
LAYOUT = """(() => {
  const wide = [...document.querySelectorAll('body *')].filter(
      e => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest('.wide'))
    .map(e => e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));
  const swatches = {};
  for (const row of document.querySelectorAll('#waves-table tbody tr')) {
    const s = row.querySelector('.swatch');
    if (s) swatches[row.cells[0].textContent.trim()] = getComputedStyle(s).backgroundColor;
  }
  const img = document.getElementById('timeline');
  return {scrollWidth: document.documentElement.scrollWidth, viewportWidth: innerWidth,
          sticking_out: wide.slice(0, 10), swatches: swatches,
          refresh: !!document.querySelector('meta[http-equiv="refresh"]'),
          timeline: img ? {complete: img.complete, naturalWidth: img.naturalWidth,
                           width: img.getBoundingClientRect().width} : null,
          tables: document.querySelectorAll('table').length};
})()"""


def colour_pixels(png: Path, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    """How many pixels of the image are (about) this colour."""
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(str(png))[:, :, :3]
    if img.dtype != np.uint8:
        img = (img * 255).round().astype(int)
    diff = np.abs(img.astype(int) - np.array(rgb)).max(axis=2)
    return int((diff <= tolerance).sum())
