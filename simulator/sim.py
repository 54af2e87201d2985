"""The simulator: platforms, fleet, tokens and the virtual clock, behind one synchronous facade.

The composition root: it builds the core's components, the world engine and push delivery once,
wires them together (tickers, bus listeners, reset hooks, snapshot parts), and keeps every one of
them for its whole lifetime. A reset clears and reseeds each component in place, so whoever holds
one (the pacer holds the clock, the dispatcher the outbox) always holds the current one.

The server, the control plane, tests and scenarios all drive the world through a `Simulator`.
It never awaits: time moves only through `advance`, which runs the registered tickers (physics,
riders, push cadence) in fixed steps and fires timers at their exact virtual times.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.core import models
from simulator.core.clock import Clock
from simulator.core.env import Env
from simulator.core.events import Bus
from simulator.core.faults import FaultRules
from simulator.core.fleet import Fleet, make_imeis
from simulator.core.journal import Journal
from simulator.core.latency import Latency, LatencyModel
from simulator.core.models import Mix
from simulator.core.operations import InFlight, Operations, bodies_for_unknown
from simulator.core.platforms import DEFAULT_TOKEN_LIFETIME_S, Platform, Tokens
from simulator.core.rng import Streams
from simulator.core.serial import SnapshotPart
from simulator.core.timers import Timers
from simulator.push.cadence import Cadence
from simulator.push.chaos import PushChaos
from simulator.push.outbox import DEFAULT_QUEUE, Outbox
from simulator.world import battery, places
from simulator.world.config import PhysicsConfig
from simulator.world.engine import World

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
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)  # chance rates (world/config.py)
    latency: LatencyModel | None = None  # serve --latency; None answers at once (core/latency.py)
    # serve --models: (model, share) pairs; the reference's example IMEIs take the first named.
    models: Mix = ((models.DEFAULT, 1.0),)
    token_clock: str = "virtual"  # serve --token-clock: tokens expire on the virtual or wall clock


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

        # The components: built once, cleared and refilled in place by reset and snapshot load.
        cfg = self.config
        self.streams = Streams(cfg.seed)
        self.clock = Clock(now=float(cfg.start), speed=cfg.speed, paused=cfg.paused)
        self.timers = Timers()
        self.platforms: dict[str, Platform] = {}
        self.platform_list: list[Platform] = []
        self.fleet = Fleet()
        models.check_mix(cfg.models)
        self.tokens = Tokens(self.streams.generator("tokens"), lifetime=cfg.token_lifetime,
                             clock=cfg.token_clock)
        self.inflight = InFlight()
        self.faults = FaultRules(self.streams.generator("faults"))
        self.vendor = Operations(tokens=self.tokens, platforms=self.platforms,
                                 platform_list=self.platform_list, fleet=self.fleet,
                                 faults=self.faults, inflight=self.inflight, clock=self.clock,
                                 bus=self.bus)
        self.vendor.unknown_bodies = bodies_for_unknown(cfg.models[0][0])
        if cfg.latency is not None:  # its own stream: waits never shift the world's draws
            self.vendor.latency = Latency(cfg.latency, self.streams.generator("latency"))
        self.requests = Journal(cfg.extra.get("journal_size", 10_000))
        self.pushes = Journal(cfg.extra.get("push_journal_size", 10_000))
        self.push_chaos = PushChaos(self.streams.generator("push-chaos"))
        self.env = Env(self.fleet, self.clock, self.bus, self.timers, self.streams,
                       self.platform_list)
        self.outbox = Outbox(self.env, self.push_chaos, self.pushes,
                             cfg.extra.get("push_queue", DEFAULT_QUEUE))
        self.step_count = 0
        # Which world this is: a reset or a snapshot load starts a new one, so what a reader
        # derived from the old one (the dashboard's frames) is known to be stale.
        self.generation = 0

        # Push cadence first, then the world: every step reports the state the previous steps
        # left, and an unlock is pushed before its rider gets on (the order is part of the
        # seeded behaviour, tests/test_determinism.py).
        self.cadence = Cadence(self.env, self.outbox)
        self.world = World(self.env, cfg)
        for ticker, horizon, listener, reset, name, dump, prepare in (
            (self.cadence.tick, self.cadence.horizon, self.cadence.on_event, self.cadence.reset,
             "pushes", self.cadence.dump, self.cadence.prepare),
            (self.world.tick, self.world.horizon, self.world.on_event, self.world.reset,
             "world", self.world.dump, self.world.prepare),
        ):
            self.tickers.append(ticker)
            self.horizons[ticker] = horizon
            self.bus.subscribe(listener)
            self.reset_hooks.append(reset)
            self.snapshot_parts[name] = SnapshotPart(dump, prepare)
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded start: every component cleared and reseeded in place (listeners,
        tickers and hooks stay)."""
        cfg = self.config
        self.streams.reseed(cfg.seed)
        self.clock.reset(float(cfg.start), cfg.speed, cfg.paused)
        self.timers.clear()
        self.platforms.clear()
        self.platform_list.clear()
        self.fleet.clear()
        self.tokens.reset(self.streams.generator("tokens"))
        self.inflight.clear()
        self.faults.reset(self.streams.generator("faults"))
        self.requests.clear()
        self.pushes.clear()
        self.push_chaos.reset(self.streams.generator("push-chaos"))
        if self.vendor.latency is not None:
            self.vendor.latency.rng = self.streams.generator("latency")
        self.outbox.clear()
        self.outbox.limit = cfg.extra.get("push_queue", DEFAULT_QUEUE)
        self.step_count = 0
        self.generation += 1

        demo = self.add_platform(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cfg.callback_url)
        self.tokens.grant(demo, self.tokens.now(self.clock.now), value=DEMO_TOKEN)
        first = min(len(DEMO_IMEIS), cfg.vehicles) or 1
        allotted = models.allot(cfg.models, max(cfg.vehicles, first), first,
                                self.streams.generator("models"))
        examples = self.add_vehicles(demo, first, imeis=list(DEMO_IMEIS), model=allotted[:first])
        self.make_healthy(examples)
        if cfg.vehicles > first:
            self.add_vehicles(demo, cfg.vehicles - first, model=allotted[first:])
        for hook in self.reset_hooks:
            hook()

    def make_healthy(self, rows: np.ndarray | int) -> None:
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
        rows = np.asarray(rows).reshape(-1)
        if rows.dtype == np.bool_:  # a mask over the fleet
            rows = np.flatnonzero(rows)
        models.prepare(f, rows)  # a scooter has no mech lock, whatever healthy means for an A200
        battery.sync_packs(f, rows)  # packs average the vehicle percent

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
        self, platform: Platform, n: int, imeis: list[str] | None = None, variety: bool = True,
        model: str | np.ndarray = models.DEFAULT,
    ) -> np.ndarray:
        """`n` new vehicles of `platform`: of `model` (a name, or a code per vehicle)."""
        f = self.fleet
        uids = np.arange(f.next_uid, f.next_uid + n)
        names = (imeis or [])[:n]
        names += make_imeis(self.config.seed, uids[len(names):], f.index)
        rows = f.grow(names)
        f.model[rows] = models.INDEX[model] if isinstance(model, str) else model
        f.populate(rows, self.config.seed, platform.index, platform.city, self.clock.now,
                   variety=variety)
        models.prepare(f, rows)
        places.park(f, rows, self.config.seed, platform.city)  # at kerbs and hubs, not scattered
        return rows

    def platform_of(self, row: int) -> Platform:
        return self.platform_list[int(self.fleet.platform[row])]

    # -- time -----------------------------------------------------------------------------------

    def call_at(self, t: float, fn: Callable[[], None]) -> None:
        """Run `fn` when the clock reaches virtual time `t` (now, if `t` has passed)."""
        self.timers.call_at(t, fn)

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
            stop = min(target, max(self.clock.now + step, self._horizon()), self.timers.next_due())
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

    def _fire_timers(self) -> None:
        while (fn := self.timers.pop_due(self.clock.now)) is not None:
            fn()
