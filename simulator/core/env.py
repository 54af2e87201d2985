"""What the world and push delivery work on: the simulator's stable components, as one value.

A `Simulator` (simulator/sim.py) builds one `Env` and keeps every component in it for its whole
lifetime: a reset or a snapshot load clears and refills each one in place, so any holder of an
Env (the world engine, the push cadence, the outbox) always sees the current world and never has
to ask whether the object it holds is still the current one.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.core.clock import Clock
from simulator.core.events import Bus
from simulator.core.fleet import Fleet
from simulator.core.platforms import Platform
from simulator.core.rng import Streams
from simulator.core.timers import Timers


@dataclass(frozen=True, eq=False)
class Env:
    fleet: Fleet
    clock: Clock
    bus: Bus
    timers: Timers
    streams: Streams  # its seed keys every per-vehicle draw
    platforms: list[Platform]  # by index (fleet.platform); cleared and refilled in place

    @property
    def seed(self) -> int:
        return self.streams.seed

    def platform_of(self, row: int) -> Platform:
        return self.platforms[int(self.fleet.platform[row])]
