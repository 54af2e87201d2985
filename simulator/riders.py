"""Virtual riders: after an unlock, someone rides, parks and locks by hand.

Interface used by the control plane and scenarios (the living-fleet work fills in the physics):
- start_ride(sim, row, seconds=None): a rider gets on the unlocked vehicle `row` and rides for
  `seconds` of virtual time (None: a duration drawn from the rider model), then parks and locks.
- end_ride(sim, row): the rider parks and locks now.
"""

from __future__ import annotations

from . import vehicle
from .errors import SimError
from .sim import Simulator

DEFAULT_RIDE_S = 600.0


def start_ride(sim: Simulator, row: int, seconds: float | None = None) -> None:
    f = sim.fleet
    if f.locked[row]:
        raise SimError("type", "a rider can only ride an unlocked vehicle")
    f.riding[row] = True
    duration = DEFAULT_RIDE_S if seconds is None else float(seconds)
    sim.call_at(sim.clock.now + duration, lambda: end_ride(sim, row))


def end_ride(sim: Simulator, row: int) -> None:
    vehicle.rider_lock(sim.fleet, row, sim.clock.now, sim.bus)
