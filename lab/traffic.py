"""The installation behaving over time: analytics flow and the traffic probe.

Ticks every 20 ms of real time (not scaled by speed): MPs produce analytics into a broker of
their data centre whose port 5672 is open to them (or buffer them), Qpid Servers consume into
the PostgreSQL master, and the probe sends requests through the load balancer.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from typing import TYPE_CHECKING

from lab import analytics
from lab.commands.postgres import check_master_data
from lab.commands.system import OUTSIDE, blocked
from lab.state import HostState, LabState

if TYPE_CHECKING:
    from lab.server import LabServer

TICK = 0.02
PRODUCE = 2          # analytics messages per running MP per tick
CONSUME = 40         # messages a Qpid Server moves into PostgreSQL per tick
LB_CHECK = 0.2       # seconds between load-balancer health checks (< lb_wait in config.yaml)
# An all-in-one node's own MP also holds back while its broker is blocked for everyone else:
# the vendor's 1-node procedure has no other way to drain (documented simplification).
STUCK = 17           # messages an undrainable broker never lets go of
# A Qpid Server lags behind its broker while MPs send to it: the queue holds this backlog
# (printed by qpid-stat as 1.48k) until the broker stops receiving, then drains to 0.
BACKLOG = 1480
DEAD_LETTERS = 323   # held by the first broker of each data centre (as in Apigee's docs sample)


def seed(st: LabState) -> None:
    """Brokers start with a backlog, and some with a dead-letter queue that holds messages."""
    first: set[str] = set()
    for b in sorted(st.with_comp("qpid"), key=lambda h: h.machine):
        b.queue = b.queue_in = BACKLOG
        st.produced += BACKLOG
        if b.dc not in first:
            first.add(b.dc)
            b.dead_letter = DEAD_LETTERS


class Traffic:
    def __init__(self, lab: "LabServer") -> None:
        self.lab = lab
        self.rr = itertools.count()
        self.lb_out: set[str] = set()
        self.lb_checked = 0.0
        self.ticks = 0
        self._mp_count: dict[str, int] = {}

    @property
    def st(self) -> LabState:
        return self.lab.state

    def _mps(self, dc: str) -> int:
        if dc not in self._mp_count:
            self._mp_count[dc] = sum(1 for h in self.st.hosts.values()
                                     if h.has("mp") and h.dc == dc)
        return self._mp_count[dc]

    def consume(self) -> None:
        st = self.st
        for b in st.hosts.values():
            if not b.has("qpid"):
                continue
            if self.lab.faults.has(b.name, "undrainable"):
                if b.queue < STUCK and st.producing:
                    st.produced += STUCK - b.queue
                    b.queue_in += STUCK - b.queue
                    b.queue = STUCK
                continue
            receiving = st.producing and not blocked(st, b, 5672, OUTSIDE)
            floor = BACKLOG if receiving else 0
            target = analytics.write_target(st, b) if b.up("qs") else None
            if target is not None and b.up("qpid") and b.queue > floor:
                # Past its backlog a Qpid Server keeps up with its data centre's MPs (real
                # ones do), so a drain ends however large the installation is.
                n = min(b.queue - floor, max(CONSUME, 4 * PRODUCE * self._mps(b.dc)))
                b.queue -= n
                b.queue_out += n
                analytics.store(st, b, target, n)
        analytics.follow(st)

    def produce(self) -> None:
        st = self.st
        for mp in st.hosts.values():
            if not mp.has("mp"):
                continue
            if st.producing and mp.up("mp"):
                st.produced += PRODUCE
                mp.buffer += PRODUCE
            if not mp.buffer:
                continue
            brokers = [b for b in st.with_comp("qpid", mp.dc)
                       if b.up("qpid") and not blocked(st, b, 5672, mp.address)
                       and not (b is mp and blocked(st, b, 5672, OUTSIDE))]
            if brokers:                          # spread over every open broker of the dc
                share, extra = divmod(mp.buffer, len(brokers))
                for i, b in enumerate(brokers):
                    n = share + (1 if i < extra else 0)
                    b.queue += n
                    b.queue_in += n
                mp.buffer = 0

    def probe(self) -> None:
        st = self.st
        now = time.monotonic()
        routers = [h for h in st.hosts.values() if h.has("r")]
        if now - self.lb_checked >= LB_CHECK:
            self.lb_checked = now
            self.lb_out = {r.name for r in routers if blocked(st, r, 15999, self.lab.lb_address)}
        if not st.probe or not routers:
            return                               # API BaaS installs carry no Edge traffic
        pool = [r for r in routers if r.name not in self.lb_out]
        st.probe_sent += 1
        n = next(self.rr)
        if not pool:
            return self.fail("no router in the load balancer's rotation")
        r = pool[n % len(pool)]
        if not r.up("r"):
            return self.fail(f"router {r.name} is {r.components['r'].state}")
        mps: list[HostState] = []
        for h in st.hosts.values():
            s = st.server_of(h.name, "mp")
            if h.dc == r.dc and s is not None and s.registered and s.reachable:
                mps.append(h)
        if not mps:
            return self.fail(f"router {r.name}: no reachable message processor")
        mp = mps[n % len(mps)]
        if not mp.up("mp"):
            return self.fail(f"router {r.name} -> message processor {mp.name} is {mp.components['mp'].state}")

    def fail(self, why: str) -> None:
        st = self.st
        st.probe_failed += 1
        if len(st.probe_failures) < 20:
            st.probe_failures.append(f"{time.strftime('%H:%M:%S')} {why}")

    def step(self) -> None:
        self.consume()
        self.produce()
        self.probe()
        self.ticks += 1
        if self.ticks % 25 == 0:
            check_master_data(self.st)

    async def run(self) -> None:
        while True:
            try:
                self.step()
            except Exception as exc:  # keep ticking; report once in the log
                self.lab.log(f"traffic tick failed: {exc!r}")
            await asyncio.sleep(TICK)

    async def settle(self, timeout: float = 5.0) -> None:
        """Pause production and let brokers and MP buffers drain (for the final verdict).

        The caller sets ``producing`` back once it has counted."""
        st = self.st
        st.producing = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(h.queue or h.buffer for h in st.hosts.values()):
                break
            await asyncio.sleep(TICK)
