"""Warehouse: vehicles put into transport mode, trucked to a depot, then powered on there.

The ops crew takes part of the fleet off the street through the vendor API (whole-shutdown:
transport mode). Each vehicle reports going offline once and then says nothing; a customer's
unlock gets 15301. A truck carries them to a depot a few kilometres away. Two hours later they
are powered on at the depot: each reports coming online, and its location reports resume from
its new place. The rest of the fleet is not touched.
"""

from __future__ import annotations

import math

from simulator.scenarios.model import (
    HEALTHY,
    HOUR,
    MIN,
    Carry,
    Command,
    FleetSpec,
    Happen,
    Patch,
    Query,
    Rent,
    Scenario,
    Story,
)
from simulator.scenarios.outcomes import Answers, Pushes, State, Travelled
from simulator.world.names import person

SHUTDOWN, TRUCK, POWER_ON = 10 * MIN, 40 * MIN, 2 * HOUR
DEPOT_M = 3000.0


def story(s: Story) -> None:
    batch = s.pick(max(1, s.size * 2 // 5))
    s.at(0, Patch(batch, HEALTHY))
    s.at(5 * MIN, Query(batch, "location"), "the partner app notes where they stand")
    s.at(SHUTDOWN, Command(batch, "whole-shutdown"),
         f"the ops crew puts {len(batch)} vehicles into transport mode")
    s.at(30 * MIN, Rent(batch[0], 10 * MIN),
         f"{person(s.seed, s.scenario.fleet.platform, batch[0])}, a customer, tries to rent one"
         " of them")
    bearing = s.rng.uniform(0, 2 * math.pi)
    s.tell(TRUCK, "a truck carries them to the depot")
    for v in batch:
        east, north = (DEPOT_M * math.sin(bearing) + s.rng.normal(0, 20),
                       DEPOT_M * math.cos(bearing) + s.rng.normal(0, 20))
        s.at(TRUCK, Carry(v, east, north))
    s.tell(POWER_ON, "at the depot they are powered on, one every 10 s")
    for n, v in enumerate(batch):
        s.at(POWER_ON + 10 * n, Happen((v,), "power-on"))
    last = POWER_ON + 10 * (len(batch) - 1)

    s.expect(
        Answers("the vendor API takes them into transport mode", "whole-shutdown", 0, batch,
                each=True),
        Pushes("each reports going offline once", "status", {"online": False}, batch,
               (SHUTDOWN, SHUTDOWN), each=True, at_most=1),
        Pushes("nothing is heard from them in transport", None, {}, batch,
               (SHUTDOWN + 1, POWER_ON - 1), at_least=0, at_most=0),
        Answers("a rental meanwhile gets 15301 (offline device)", "unlock", 15301, batch),
        Pushes("powered on: each reports coming online", "status", {"online": True}, batch,
               (POWER_ON, last), each=True, at_most=1),
        Pushes("their location reports resume", "location", {}, batch, (POWER_ON, s.duration),
               each=True),
        Travelled("they show up at the depot", batch[0], DEPOT_M * 0.8),
        State("out of transport mode, online, locked", batch,
              {"transport": False, "online": True, "locked": True}),
    )


SCENARIO = Scenario(
    name="warehouse",
    description="transport mode (whole-shutdown), a truck to the depot, then power-on",
    seed=19,
    fleet=FleetSpec(size=25, platform="U30002"),
    duration=POWER_ON + 20 * MIN,
    story=story,
)
