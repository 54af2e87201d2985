"""Rush hour: hundreds of rentals in an hour through the vendor API, rides, parking, low power.

Commuters rent vehicles through the partner app from the first minute of the hour, most of them
around its middle (a bell curve), each ride a few minutes long (log-normal). A vehicle is rented
again once its last rider has parked. A handful of vehicles start the morning nearly flat: their
riders get the low-power alert on the way. At the peak the cellular network drops a few unlock
commands (15612, an injected fault). The living fleet's chance incidents stay on. The story ends
when the last rider has parked and locked.
"""

from __future__ import annotations

import numpy as np

from simulator.scenarios.model import (
    HEALTHY,
    HOUR,
    MIN,
    FaultRule,
    FleetSpec,
    Patch,
    Rent,
    Scenario,
    Story,
)
from simulator.scenarios.outcomes import Answers, Count, Pushes, share

RENTALS_PER_VEHICLE = 1.2  # rental attempts in the hour, per vehicle of the fleet
PEAK, SPREAD = 30 * MIN, 12 * MIN
RIDE_MEDIAN_S, RIDE_SIGMA, RIDE_S = 4 * MIN, 0.5, (90.0, 15 * MIN)
LOW_RIDE_S = (6 * MIN, 10 * MIN)  # the nearly flat vehicles' riders go a little farther
TURNAROUND_S = 60.0  # from a rider locking to the next one unlocking the same vehicle
DROPPED_UNLOCKS = 3


def story(s: Story) -> None:
    attempts = round(RENTALS_PER_VEHICLE * s.size)
    times = np.sort(np.clip(s.rng.normal(PEAK, SPREAD, attempts), MIN, HOUR - MIN).round())
    rides = np.exp(np.log(RIDE_MEDIAN_S) + RIDE_SIGMA * s.rng.standard_normal(attempts))
    rides = np.clip(rides, *RIDE_S).round()
    low = s.pick(max(2, s.size // 12))
    for v in low:
        power = round(float(s.rng.uniform(5.6, 6.2)), 1)
        s.at(0, Patch((v,), {**HEALTHY, "powerPercent": power}))
    s.tell(0, f"{len(low)} vehicles start the morning nearly flat (about 6 %)")

    free = np.zeros(s.size)  # when each vehicle is back, parked and locked, for the next rider
    first = list(low)  # the nearly flat ones are where the first riders stand
    for t, ride in zip(times.tolist(), rides.tolist(), strict=True):
        if first:
            v = first.pop(0)
            ride = round(float(s.rng.uniform(*LOW_RIDE_S)))
        else:
            ready = np.flatnonzero(free <= t)
            if not ready.size:
                continue  # every vehicle is out: the commuter walks
            v = int(s.rng.choice(ready))
        free[v] = t + ride + TURNAROUND_S
        s.at(t, Rent(v, float(ride)))
    s.tell(MIN, f"the morning rush begins: {attempts} commuters will open the app")
    s.at(PEAK, FaultRule({"endpoint": "unlock", "code": 15612, "times": DROPPED_UNLOCKS}),
         f"peak hour: the cell is congested, the next {DROPPED_UNLOCKS} unlock commands fail")
    s.tell(HOUR, "the last commuters are on their way")

    s.expect(
        Count("hundreds of rentals go through the vendor API", "rentals",
              at_least=max(1, round(0.6 * attempts) - DROPPED_UNLOCKS)),
        Answers("the congested cell fails some unlocks (15612)", "unlock", 15612,
                during=(PEAK, HOUR), at_least=1, at_most=DROPPED_UNLOCKS),
        Pushes("unlocks are reported (status locked=false)", "status", {"locked": False},
               at_least=share("rentals", 0.9)),
        # A few riders park while their vehicle is in a network spell (the living fleet's):
        # the lock is reported on reconnection, in the status push, without a components push.
        Pushes("rides end parked and locked (components push)", "components",
               {"type": 5, "status": 2}, at_least=share("rentals", 0.9)),
        Pushes("riders are tracked (location pushes while unlocked)", "location",
               at_least=share("rentals", 5)),
        Pushes("nearly flat vehicles raise the low-power alert", "alert",
               {"code": 12, "alertStatus": 0}, low, at_least=1),
    )


SCENARIO = Scenario(
    name="rush-hour",
    description="hundreds of rentals in an hour through the API: rides, parking, low power",
    seed=7,
    fleet=FleetSpec(size=200, platform="A30001", minimum=4),
    duration=HOUR + 16 * MIN,
    story=story,
    physics="",  # the living fleet's own chances: offline spells, falls, faults
)
