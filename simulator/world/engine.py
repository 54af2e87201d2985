"""The living fleet on the one virtual clock: riders and physics, wired into a Simulator.

The world is a discrete-time system on a grid of whole virtual seconds. However the clock is
advanced (1 s steps, server mode's 50 ms slices, a 24 h jump), the world lives through every
grid second in order: riders (riders.tick) then riding physics when anything rides, and the
slow processes on the minute (physics.py). Draws are keyed by the grid second, so the results
are the same bit for bit whatever the slicing.

Idle stretches are cheap: when nothing rides, the seconds between two minutes change nothing,
so the world jumps from minute to minute, and tells the simulator so (`horizon`): a clock
advance over an idle fleet then takes one step per minute instead of one per second, with the
same results as stepping every second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.core.errors import SimError
from simulator.core.events import Event
from simulator.world import battery, physics, riders
from simulator.world.places import Context

if TYPE_CHECKING:
    from simulator.sim import Simulator


class World:
    """Registers itself on a Simulator: a ticker with a horizon, a reset hook, a bus listener
    and a snapshot part (the grid second lived through last)."""

    def __init__(self, sim: Simulator) -> None:
        from simulator.snapshot import (
            SnapshotPart,  # snapshot imports the simulator: import when built
        )

        self.sim = sim
        self.ctx = Context(physics.GROUPS)
        self.cursor = 0  # the last grid second lived through
        sim.tickers.append(self.tick)
        sim.horizons[self.tick] = self.horizon
        sim.reset_hooks.append(self.reset)
        sim.bus.subscribe(self.on_event)
        sim.snapshot_parts["world"] = SnapshotPart(self._dump, self._prepare)

    def reset(self) -> None:
        self.cursor = math.floor(self.sim.clock.now)
        # The seeded packs average the vehicle percent from the start, as the physics keeps them.
        battery.sync_packs(self.sim.fleet, np.arange(len(self.sim.fleet)))

    def on_event(self, event: Event) -> None:
        riders.on_event(self.sim, event)

    # -- time -------------------------------------------------------------------------------

    def tick(self, now: float, dt: float) -> None:
        last = math.floor(now)
        if self.cursor > last:  # the clock was set back (a snapshot without our part)
            self.cursor = last
        riding = self.sim.fleet.riding
        while self.cursor < last:
            if riding.any():
                t = self.cursor + 1
            else:
                t = self._next_minute(self.cursor)
                if t > last:
                    self.cursor = last
                    break
            self.step(t)
            self.cursor = t
            riding = self.sim.fleet.riding

    def horizon(self, now: float) -> float:
        """The next virtual time at which the world has anything to do."""
        if self.sim.fleet.riding.any():
            return float(math.floor(now) + 1)
        return float(self._next_minute(math.floor(now)))

    @staticmethod
    def _next_minute(t: int) -> int:
        return (t // physics.SLOW_S + 1) * physics.SLOW_S

    def step(self, t: int) -> None:
        """Grid second `t` of the whole world."""
        sim = self.sim
        self.ctx.sync(sim)
        riders.tick(sim, t)
        f = sim.fleet
        rows = np.flatnonzero(f.riding & f.activated)
        if rows.size:
            physics.ride_step(sim, self.ctx, rows, t)
        if t % physics.SLOW_S == 0:
            physics.slow_step(sim, self.ctx, t)

    # -- snapshots --------------------------------------------------------------------------

    def _dump(self) -> dict[str, Any]:
        return {"cursor": self.cursor}

    def _prepare(self, data: Any) -> Callable[[], None]:
        cursor = data.get("cursor") if isinstance(data, dict) else None
        if not isinstance(cursor, int) or isinstance(cursor, bool):
            raise SimError("parts.world.cursor", "must be an integer (epoch seconds)")

        def install() -> None:
            self.cursor = cursor
            self.ctx = Context(physics.GROUPS)

        return install
