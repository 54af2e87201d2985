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
from typing import Any, Protocol

import numpy as np

from simulator.core.env import Env
from simulator.core.errors import SimError
from simulator.core.events import Event
from simulator.world import battery, physics, riders
from simulator.world.config import PhysicsConfig
from simulator.world.places import Context


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
        return {"cursor": self.cursor}

    def prepare(self, data: Any) -> Callable[[], None]:
        cursor = data.get("cursor") if isinstance(data, dict) else None
        if not isinstance(cursor, int) or isinstance(cursor, bool):
            raise SimError("parts.world.cursor", "must be an integer (epoch seconds)")

        def install() -> None:
            self.cursor = cursor
            self.invalidate()

        return install
