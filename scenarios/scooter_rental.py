"""Scooter rental: a kick-scooter operator's morning, told with the calls its app really makes.

A fleet of Segway-Ninebot sharing scooters (`--models scooter`) in Amsterdam. The operator turns
their sounds on (`setting/sound` with `workMode` alone) and gives the scooters parked in the old
town its slow zone's limits (`setting/scooter`, 6/8/10 km/h). Riders rent through the app: each
rental unlocks the scooter and turns its lights on (`control/light`); the app ends it with the
remote lock (`control/lock`) and turns the lights off. One rider leaves the service area: the
app sounds the out-of-geofence warning (`control/sound` controlType 1), flickers the lights and
locks it where it stands. The nearly flat scooters get the low-battery warning (controlType 3)
and a battery swap: the swapper's app opens the battery cover of a locked scooter (15635), then
unlocks each one, opens the cover, swaps the battery and locks it again. An old A200 dashboard
asks a scooter for its mechanical lock: 15705, a feature it does not have.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.scenarios.model import (
    HEALTHY,
    MIN,
    Carry,
    Command,
    FleetSpec,
    Happen,
    Patch,
    Rent,
    Scenario,
    Story,
)
from simulator.scenarios.outcomes import Answers, Count, Pushes, State, Travelled, at_least, share

SLOW_ZONE = {"buttonSwitchSpeedMode": 0, "lowSpeedLimit": 6, "mediumSpeedLimit": 8,
             "highSpeedLimit": 10}  # km/h, as the operator UI of the evidence sends them
SLOW_ZONE_KMH = SLOW_ZONE["highSpeedLimit"]
LIGHTS_ON = {"headLight": 1, "tailLight": 1}
LIGHTS_OFF = {"headLight": 0, "tailLight": 0}
FLICKER = {"headLight": 2, "tailLight": 2}
OUT_OF_GEOFENCE, LOW_BATTERY = 1, 3  # control/sound controlType, as scooter clients send them

RENTALS_PER_SCOOTER = 1.5
OPEN, LAST_RENTAL = 5 * MIN, 80 * MIN
RIDE_MEDIAN_S, RIDE_SIGMA, RIDE_S = 8 * MIN, 0.4, (3 * MIN, 15 * MIN)
# The rider would ride on this much longer: the app's remote lock is what ends every rental.
RIDE_ON_S = 10 * MIN
TURNAROUND_S = 60.0
GEOFENCE_AT, GEOFENCE_RIDE_S = 30 * MIN, 6 * MIN
OUT_M = 2500.0  # how far out of the service area the rider goes
SWAP, SWAP_EVERY, SWAP_WITHIN = 45 * MIN, 2 * MIN, 40 * MIN


def story(s: Story) -> None:
    swap = s.pick(max(1, s.size // 10))
    zone = s.pick(max(1, s.size // 6), among=s.rest(swap))
    geofence = s.pick(1, among=s.rest(swap, zone))[0]
    s.at(0, Patch(s.fleet, HEALTHY), f"{s.size} scooters stand ready on the streets")
    for v in swap:
        s.at(0, Patch((v,), {"powerPercent": round(float(s.rng.uniform(7.0, 9.0)), 1)}))
    s.at(MIN, Command(s.fleet, "setting/sound", {"workMode": 2}),
         "the operator turns the scooters' sounds on (workMode alone, no volume)")
    s.at(2 * MIN, Command(zone, "setting/speed-mode", {"speedMode": 3}))
    s.at(2 * MIN, Command(zone, "setting/scooter", SLOW_ZONE),
         f"{len(zone)} scooters parked in the old town get its slow zone's limits "
         f"(at most {SLOW_ZONE_KMH} km/h)")
    s.at(3 * MIN, Command(swap, "sound", {"controlType": LOW_BATTERY}),
         f"{len(swap)} nearly flat scooters sound the low-battery warning")
    s.at(4 * MIN, Command(swap[:1], "mech-lock"),
         "an old A200 dashboard asks a scooter for its mechanical lock")

    attempts = _rentals(s, s.rest(swap, (geofence,)), zone)
    _leaves_the_area(s, geofence, GEOFENCE_AT)
    _battery_swap(s, swap)

    s.expect(
        Answers("the sound setting takes workMode alone", "setting/sound", 0, s.fleet,
                each=True),
        Answers("the slow zone's limits are accepted", "setting/scooter", 0, zone, each=True),
        State("the slow zone's limits stay set", zone,
              {"settings.speedLimits": {"low": SLOW_ZONE["lowSpeedLimit"],
                                        "medium": SLOW_ZONE["mediumSpeedLimit"],
                                        "high": SLOW_ZONE_KMH}}),
        Answers("the mechanical lock is not a scooter's (15705)", "mech-lock", 15705,
                swap[:1], at_most=1),
        Count("riders rent through the app", "rentals", at_least=attempts // 2),
        Count("no rental is refused", "refused", at_most=0),
        Pushes("unlocks are reported (status locked=false)", "status", {"locked": False},
               at_least=share("rentals")),
        Answers("the lights go on and off with each rental", "light", 0,
                at_least=share("rentals", 2)),
        Answers("the app's remote lock ends each rental", "lock", 0,
                at_least=share("rentals")),
        Pushes("each remote lock is pushed as a lock: status locked=true ...", "status",
               {"locked": True}, at_least=share("rentals")),
        Pushes("... and a components push", "components", {"type": 5, "status": 2},
               at_least=share("rentals")),
        Answers("the out-of-geofence warning sounds", "sound", 0, (geofence,)),
        Travelled("the rider leaves the service area", geofence, OUT_M * 0.8),
        State("it is locked out there, its lights flickering", (geofence,),
              {"locked": True, "riding": False, "settings.lights": FLICKER}),
        Answers("the low-battery warning sounds", "sound", 0, swap, each=True),
        Answers("a locked scooter's battery cover stays shut (15635)", "battery-cover", 15635,
                swap[:1], at_least=1, at_most=1),
        Answers("unlocked, each battery cover opens", "battery-cover", 0, swap, each=True),
        State("fresh batteries, covers shut, locked", swap,
              {"status.powerPercent": at_least(95), "coverOpen": False, "locked": True}),
        State("every scooter ends the morning parked and locked", s.fleet,
              {"locked": True, "riding": False, "status.speed": 0}),
    )


def _rentals(s: Story, rentable: tuple[int, ...], zone: tuple[int, ...]) -> int:
    """Rentals from opening time on, the slow zone's scooters first (so that each of them is
    ridden); returns how many riders open the app."""
    attempts = round(RENTALS_PER_SCOOTER * len(rentable))
    times = np.sort(s.rng.uniform(OPEN, LAST_RENTAL, attempts).round())
    rides = np.exp(np.log(RIDE_MEDIAN_S) + RIDE_SIGMA * s.rng.standard_normal(attempts))
    rides = np.clip(rides, *RIDE_S).round()
    free = dict.fromkeys(rentable, 0.0)  # when each is back for the next rider
    first = list(zone)
    for t, ride in zip(times.tolist(), rides.tolist(), strict=True):
        ready = [v for v, back in free.items() if back <= t]
        if first:
            v = first.pop(0)
        elif not ready:
            continue  # every scooter is out: the rider walks
        else:
            v = int(s.rng.choice(ready))
        free[v] = t + ride + TURNAROUND_S
        s.at(t, Rent(v, ride + RIDE_ON_S))
        s.at(t, Command((v,), "light", LIGHTS_ON))
        s.at(t + ride, Command((v,), "lock"))
        s.at(t + ride, Command((v,), "light", LIGHTS_OFF))
    s.tell(OPEN, "riders rent through the app: unlock and lights on; the app's lock ends it")
    return attempts


def _leaves_the_area(s: Story, v: int, t: float) -> None:
    s.at(t, Rent(v, GEOFENCE_RIDE_S + RIDE_ON_S), f"a rider takes scooter #{v}")
    s.at(t, Command((v,), "light", LIGHTS_ON))
    bearing = s.rng.uniform(0, 2 * math.pi)
    s.at(t + 2 * MIN, Carry(v, OUT_M * math.sin(bearing), OUT_M * math.cos(bearing)),
         "... and rides it out of the service area")
    s.at(t + 2 * MIN + 10, Command((v,), "sound", {"controlType": OUT_OF_GEOFENCE}),
         "the app sounds the out-of-geofence warning and flickers its lights")
    s.at(t + 2 * MIN + 10, Command((v,), "light", FLICKER))
    s.at(t + GEOFENCE_RIDE_S, Command((v,), "lock"),
         "the rider does not come back: the app locks it where it stands")


def _battery_swap(s: Story, swap: tuple[int, ...]) -> None:
    s.at(SWAP, Command(swap[:1], "battery-cover"),
         "the swapper's app opens a battery cover before unlocking the scooter")
    s.tell(SWAP + 30, f"the swapper unlocks {len(swap)} nearly flat scooters one by one, "
                      "swaps their batteries and locks them")
    every = min(SWAP_EVERY, SWAP_WITHIN / len(swap))
    for n, v in enumerate(swap):
        t = SWAP + 30 + round(n * every)
        s.at(t, Command((v,), "unlock"))
        s.at(t + 5, Command((v,), "battery-cover"))
        s.at(t + 60, Patch((v,), {"powerPercent": 100}))
        s.at(t + 80, Happen((v,), "battery-cover-closed"))
        s.at(t + 90, Command((v,), "lock"))


SCENARIO = Scenario(
    name="scooter-rental",
    description="a kick-scooter fleet: lights, remote lock, a slow zone, geofence, swaps",
    seed=23,
    fleet=FleetSpec(size=30, platform="E30003", minimum=6, model="scooter"),
    duration=100 * MIN,
    story=story,
)
