"""The simulator: platforms, fleet, tokens and the virtual clock, behind one synchronous facade.

The server, the control plane, tests and scenarios all drive the world through a `Simulator`.
It never awaits: time moves only through `advance`, which runs the registered tickers (physics,
riders, push cadence) in fixed steps and fires timers at their exact virtual times.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.core import vehicle
from simulator.core.clock import Clock
from simulator.core.errors import VendorError
from simulator.core.events import Bus
from simulator.core.faults import FaultRules
from simulator.core.fleet import Fleet, make_imeis
from simulator.core.journal import Journal
from simulator.core.platforms import DEFAULT_TOKEN_LIFETIME_S, Platform, Tokens
from simulator.core.rng import Streams
from simulator.push.cadence import Cadence
from simulator.push.chaos import PushChaos
from simulator.push.outbox import DEFAULT_QUEUE, Outbox
from simulator.world import battery
from simulator.world.engine import World
from simulator.world.physics import PhysicsConfig

if TYPE_CHECKING:
    from simulator.snapshot import SnapshotPart

DEMO_CLIENT_ID = "A20081"
DEMO_CLIENT_SECRET = "e2651be5-12d3-48f3-ba6c-bc2b04a447b6"
DEMO_TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"
DEMO_IMEIS = ("861477038719116", "862785041281554", "8612345678901")
DEFAULT_START = 1_780_000_000.0  # 2026-05-28T20:26:40Z: a fixed start keeps runs reproducible

Ticker = Callable[[float, float], None]  # (now after the step, step length), virtual seconds


@dataclass
class Config:
    seed: int = 1
    vehicles: int = 20
    callback_url: str | None = None
    speed: float = 1.0
    paused: bool = False
    start: float = DEFAULT_START
    riders: bool = True
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME_S
    tick_s: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)  # component-specific knobs
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)  # chance rates (physics.py)


class Simulator:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.bus = Bus()
        self.tickers: list[Ticker] = []
        # A ticker that can say when it next has work (`horizon(now) -> virtual time`) lets
        # advance_to take longer steps; while any ticker has none, steps stay tick_s long.
        self.horizons: dict[Ticker, Callable[[float], float]] = {}
        # Components that hold state of their own register a reset hook here.
        self.reset_hooks: list[Callable[[], None]] = []
        # Components with state beyond the fleet columns add it to snapshots here (snapshot.py).
        self.snapshot_parts: dict[str, SnapshotPart] = {}
        self.cadence = Cadence(self)  # push cadence: ticker, bus listener, reset hook, snapshot
        self.world = World(self)  # riders and physics: a ticker, a bus listener, a reset hook
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded start: platforms, fleet, tokens, clock (listeners stay)."""
        cfg = self.config
        self.streams = Streams(cfg.seed)
        self.clock = Clock(now=float(cfg.start), speed=cfg.speed, paused=cfg.paused)
        self.platforms: dict[str, Platform] = {}
        self.platform_list: list[Platform] = []
        self.fleet = Fleet()
        self.tokens = Tokens(self.streams.generator("tokens"), lifetime=cfg.token_lifetime)
        self.inflight: set[int] = set()
        self.faults = FaultRules(self.streams.generator("faults"))
        self.requests = Journal(cfg.extra.get("journal_size", 10_000))
        self.pushes = Journal(cfg.extra.get("push_journal_size", 10_000))
        self.push_chaos = PushChaos(self.streams.generator("push-chaos"))
        self.outbox = Outbox(self, cfg.extra.get("push_queue", DEFAULT_QUEUE))
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = itertools.count()
        self.step_count = 0

        demo = self.add_platform(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cfg.callback_url)
        self.tokens.grant(demo, self.clock.now, value=DEMO_TOKEN)
        examples = self.add_vehicles(demo, min(len(DEMO_IMEIS), cfg.vehicles) or 1,
                                     imeis=list(DEMO_IMEIS))
        self.make_healthy(examples)
        if cfg.vehicles > len(DEMO_IMEIS):
            self.add_vehicles(demo, cfg.vehicles - len(DEMO_IMEIS))
        for hook in self.reset_hooks:
            hook()

    def make_healthy(self, rows: np.ndarray) -> None:
        """Activated, online, locked, idle, well charged, fixed, mech lock, latest firmware."""
        f = self.fleet
        for name, value in (
            ("activated", True), ("online", True), ("locked", True), ("riding", False),
            ("upgrading", False), ("dormant", False), ("transport", False), ("has_fix", True),
            ("location_valid", True), ("has_mech_lock", True), ("firmware", 10500),
            ("alerts", 0), ("faults", 0), ("charging", False),
        ):
            f.column(name)[rows] = value
        f.power[rows] = np.maximum(f.power[rows], 85.0)
        f.pack_percent[rows] = np.where(f.pack_percent[rows] > 0,
                                        np.maximum(f.pack_percent[rows], 85.0), 0)
        battery.sync_packs(f, np.asarray(rows).reshape(-1))  # packs average the vehicle percent

    # -- platforms and vehicles -----------------------------------------------------------------

    def add_platform(self, code: str, secret: str, callback_url: str | None = None) -> Platform:
        if code in self.platforms:
            raise ValueError(f"platform {code} exists")
        platform = Platform(code, secret, callback_url, index=len(self.platform_list))
        platform.city  # noqa: B018 - validates the region letter before anything is stored
        self.platforms[code] = platform
        self.platform_list.append(platform)
        return platform

    def add_vehicles(
        self, platform: Platform, n: int, imeis: list[str] | None = None, variety: bool = True
    ) -> np.ndarray:
        f = self.fleet
        uids = np.arange(f.next_uid, f.next_uid + n)
        names = (imeis or [])[:n]
        names += make_imeis(self.config.seed, uids[len(names):], f.index)
        rows = f.grow(names)
        f.populate(rows, self.config.seed, platform.index, platform.city, self.clock.now,
                   variety=variety)
        return rows

    def platform_of(self, row: int) -> Platform:
        return self.platform_list[int(self.fleet.platform[row])]

    def lookup(self, platform: Platform, imei: str) -> int:
        """The fleet row of `imei` as `platform` may see it (15102 unknown, 15103 not yours)."""
        row = self.fleet.find(imei)
        if row is None:
            raise VendorError(15102, f"no vehicle {imei}")
        if self.fleet.platform[row] != platform.index:
            raise VendorError(15103, f"{imei} belongs to {self.platform_of(row).code}")
        return row

    # -- commands -------------------------------------------------------------------------------

    def begin_command(self, row: int) -> None:
        """Mark a command in flight to the vehicle; a second one meanwhile gets 15104."""
        if row in self.inflight:
            raise VendorError(15104, "previous command not answered yet")
        self.inflight.add(row)

    def end_command(self, row: int) -> None:
        self.inflight.discard(row)

    def query(self, row: int, op: str) -> None:
        vehicle.admit(self.fleet, row, op)

    def command(self, row: int, op: str, params: dict[str, Any]) -> None:
        """Admit and apply a validated command (the caller handles in-flight marking)."""
        vehicle.admit(self.fleet, row, op)
        vehicle.apply(self.fleet, row, op, params, self.clock.now, self.bus)

    # -- time -----------------------------------------------------------------------------------

    def call_at(self, t: float, fn: Callable[[], None]) -> None:
        """Run `fn` when the clock reaches virtual time `t` (now, if `t` has passed)."""
        heapq.heappush(self._timers, (t, next(self._timer_seq), fn))

    def advance(self, seconds: float) -> None:
        """Live through `seconds` of virtual time: ticks in steps, timers at their exact times."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.advance_to(self.clock.now + seconds)

    def advance_to(self, target: float) -> None:
        step = self.config.tick_s
        while True:
            self._fire_timers()
            if self.clock.now >= target:
                break
            stop = min(target, max(self.clock.now + step, self._horizon()))
            if self._timers and self._timers[0][0] < stop:
                stop = self._timers[0][0]
            dt = stop - self.clock.now
            self.clock.now = stop
            self.step_count += 1
            for ticker in self.tickers:
                ticker(stop, dt)

    def _horizon(self) -> float:
        """The earliest time any ticker has work, or -inf while some ticker cannot tell."""
        if not self.tickers or any(t not in self.horizons for t in self.tickers):
            return -math.inf
        return min(self.horizons[t](self.clock.now) for t in self.tickers)

    def clear_timers(self) -> None:
        """Drop every pending timer (a snapshot load: they belong to the world it replaces)."""
        self._timers.clear()

    def _fire_timers(self) -> None:
        while self._timers and self._timers[0][0] <= self.clock.now:
            _, _, fn = heapq.heappop(self._timers)
            fn()
