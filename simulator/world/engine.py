"""The living fleet on the one virtual clock: riders and physics, as one engine.

The world is a discrete-time system on a grid of whole virtual seconds. However the clock is
advanced (1 s steps, server mode's 50 ms slices, a 24 h jump), the world lives through every
grid second in order: riders (riders.tick) then riding physics when anything rides, and the
slow processes on the minute (physics.py). Draws are keyed by the grid second, so the results
are the same bit for bit whatever the slicing.

Idle stretches are cheap: when nothing rides, the seconds between two minutes change nothing,
so the world jumps from minute to minute, and tells the simulator so (`horizon`): a clock
advance over an idle fleet then takes one step per minute instead of one per second, with the
same results as stepping every second.

The simulator (simulator/sim.py) wires the engine in: `tick` and `horizon` as a ticker,
`on_event` on the bus, `reset` and `invalidate` on a reset and a snapshot load, `dump` and
`prepare` as the snapshot part "world".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, fields
from functools import partial
from typing import Any, Protocol

import numpy as np

from simulator.core.env import Env
from simulator.core.errors import SimError
from simulator.core.events import Event
from simulator.core.serial import Loading
from simulator.world import battery, physics, riders
from simulator.world.config import PhysicsConfig
from simulator.world.places import Context

MAX_BEHIND_S = 24 * 3600  # how far a snapshot's world cursor may trail its clock


class WorldConfig(Protocol):
    """The knobs the world reads at every step (the simulator's Config has them)."""

    riders: bool  # an unlock brings a virtual rider
    physics: PhysicsConfig


class World:
    def __init__(self, env: Env, config: WorldConfig) -> None:
        self.env = env
        self.config = config
        self.ctx = Context(physics.GROUPS)
        self.cursor = 0  # the last grid second lived through
        env.timers.register(riders.RIDE_END, partial(riders.end_if_due, env), arity=1)

    def reset(self) -> None:
        """The seeded start: live on from now; packs average the vehicle percent from the start,
        as the physics keeps them."""
        self.invalidate()
        self.cursor = math.floor(self.env.clock.now)
        battery.sync_packs(self.env.fleet, np.arange(len(self.env.fleet)))

    def invalidate(self) -> None:
        """The fleet or its platforms were replaced: what is derived from them is recomputed."""
        self.ctx.invalidate()

    def on_event(self, event: Event) -> None:
        if self.config.riders:
            riders.on_event(self.env, self.config.physics, event)

    # -- what the control plane and scenarios do to vehicles -----------------------------------

    def start_ride(self, row: int, seconds: float | None = None) -> None:
        riders.start_ride(self.env, self.config.physics, row, seconds)

    def end_ride(self, row: int) -> None:
        riders.end_ride(self.env, row)

    def charger(self, row: int, plugged: bool) -> None:
        """A charger is plugged into (or pulled from) vehicle `row` now."""
        battery.set_plugged(self.env.fleet, self.env.bus, row, plugged, self.env.clock.now)

    # -- time -------------------------------------------------------------------------------

    def tick(self, now: float, dt: float) -> None:
        last = math.floor(now)
        if self.cursor > last:  # the clock was set back (a snapshot without our part)
            self.cursor = last
        fleet = self.env.fleet
        while self.cursor < last:
            if fleet.riding.any():
                t = self.cursor + 1
            else:
                t = self._next_minute(self.cursor)
                if t > last:
                    self.cursor = last
                    break
            self.step(t)
            self.cursor = t

    def horizon(self, now: float) -> float:
        """The next virtual time at which the world has anything to do."""
        if self.env.fleet.riding.any():
            return float(math.floor(now) + 1)
        return float(self._next_minute(math.floor(now)))

    @staticmethod
    def _next_minute(t: int) -> int:
        return (t // physics.SLOW_S + 1) * physics.SLOW_S

    def step(self, t: int) -> None:
        """Grid second `t` of the whole world."""
        env, cfg = self.env, self.config.physics
        f = env.fleet
        self.ctx.sync(f, env.seed, env.platforms)
        riders.tick(env, cfg, t)
        rows = np.flatnonzero(f.riding & f.activated)
        if rows.size:
            physics.ride_step(env, cfg, self.ctx, rows, t)
        if t % physics.SLOW_S == 0:
            physics.slow_step(env, cfg, self.ctx, t)

    # -- snapshots --------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """The cursor and the knobs that decide the future (riders on or off, chance rates): a
        loaded world lives as the saved one did, whatever the loading server was started with."""
        return {"cursor": self.cursor, "riders": self.config.riders,
                "physics": asdict(self.config.physics)}

    def prepare(self, data: Any, loading: Loading) -> Callable[[], None]:
        """Check this part of a snapshot (None: a snapshot without it); the install it returns."""
        now = math.floor(loading.now)
        if data is None:  # live on from the snapshot's clock, as the server was started
            data = {"cursor": now}
        if not isinstance(data, dict) or set(data) - {"cursor", "riders", "physics"}:
            raise SimError("parts.world", "must be {cursor, riders, physics}")
        cursor = data.get("cursor")
        # Behind the clock only by what no step has lived yet: the world would live through
        # every second in between at the next advance.
        if (not isinstance(cursor, int) or isinstance(cursor, bool)
                or not now - MAX_BEHIND_S <= cursor <= now):
            raise SimError("parts.world.cursor", "must be an integer (epoch seconds) within "
                                                 f"{MAX_BEHIND_S} s before the clock")
        riders_on = data.get("riders", self.config.riders)
        if not isinstance(riders_on, bool):
            raise SimError("parts.world.riders", "must be true or false")
        physics_data = data.get("physics", asdict(self.config.physics))
        if not isinstance(physics_data, dict):
            raise SimError("parts.world.physics", "must be an object of chance rates")
        known = {f.name for f in fields(PhysicsConfig)}
        for name, value in physics_data.items():
            if name not in known:
                raise SimError(f"parts.world.physics.{name}",
                               f"not a chance rate: one of {', '.join(sorted(known))}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SimError(f"parts.world.physics.{name}", "must be a number")
        try:
            physics_config = PhysicsConfig().checked(**physics_data)
        except SimError as exc:
            raise SimError(f"parts.world.physics.{exc.field}", exc.message) from None

        def install() -> None:
            self.cursor = cursor
            self.config.riders = riders_on
            self.config.physics = physics_config
            self.invalidate()

        return install
