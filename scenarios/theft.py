"""Theft: a locked vehicle is moved, carried off across town and its IoT box pried open.

The alarm (illegal moving, alert 1) goes off on a locked vehicle. The partner app sounds the
horn and tracks the vehicle with real-time location queries every two minutes while the thief
carries it away at a brisk walk; the alarm falls silent, the IoT box is pried open (illegal
dismantling, alert 3), then cut off: the vehicle drops off the network and the tracking queries
get 15301.
"""

from __future__ import annotations

import math

from simulator.scenarios.model import (
    HEALTHY,
    MIN,
    Carry,
    Command,
    FleetSpec,
    Happen,
    Patch,
    Query,
    Scenario,
    Story,
)
from simulator.scenarios.outcomes import Answers, Pushes, State, Travelled

ALARM, DISMANTLED, CUT_OFF = 10 * MIN, 35 * MIN, 40 * MIN
CARRY_FROM, CARRY_TO = 12, 40  # minutes: the thief walks off with it, one step a minute
TRACK_EVERY = 2 * MIN


def story(s: Story) -> None:
    victim = s.pick(1)
    v = victim[0]
    s.at(0, Patch(victim, HEALTHY), f"vehicle #{v} stands parked and locked")
    s.at(ALARM, Happen(victim, "alert", {"code": 1}),
         f"the alarm goes off: someone is moving vehicle #{v} while it is locked")
    s.at(ALARM + 20, Command(victim, "sound", {"controlType": 2}),
         "the partner app sounds the horn and starts tracking it")
    t = ALARM + MIN
    while t < s.duration - TRACK_EVERY:
        s.at(t, Query(victim, "location", {"realTimeLocation": "true"}))
        t += TRACK_EVERY
    heading = s.rng.uniform(0, 2 * math.pi)
    for minute in range(CARRY_FROM, CARRY_TO):
        pace = s.rng.uniform(60, 100)  # metres a minute
        s.at(minute * MIN, Carry(v, pace * math.sin(heading), pace * math.cos(heading)))
        heading += s.rng.normal(0, 0.3)  # the streets bend
    s.at(15 * MIN, Happen(victim, "alert-cleared", {"code": 1}), "the alarm falls silent")
    s.at(DISMANTLED, Happen(victim, "alert", {"code": 3}),
         "the IoT box is pried open: illegal dismantling")
    s.at(CUT_OFF, Happen(victim, "offline"), "the IoT box is cut off: the vehicle goes dark")

    s.expect(
        Pushes("the alarm reaches the partner once", "alert", {"code": 1, "alertStatus": 0},
               victim, (ALARM, ALARM), at_least=1, at_most=1),
        Answers("the horn sounds", "sound", 0, victim),
        Travelled("the tracked vehicle travels away", v, 1500, (ALARM, CUT_OFF)),
        Pushes("the dismantling alert arrives", "alert", {"code": 3, "alertStatus": 0}, victim,
               (DISMANTLED, DISMANTLED)),
        Pushes("the vehicle is seen dropping off the network", "status", {"online": False},
               victim, (CUT_OFF, CUT_OFF)),
        Answers("tracking loses it (offline device)", "location", 15301, victim),
        Pushes("nothing more is heard from it", None, {}, victim, (CUT_OFF + 1, s.duration),
               at_least=0, at_most=0),
        State("it stays dark and locked", victim, {"online": False, "locked": True,
                                                   "alerts": [3]}),
    )


SCENARIO = Scenario(
    name="theft",
    description="illegal moving while locked, the vehicle carried off, a dismantling alert",
    seed=11,
    fleet=FleetSpec(size=20, platform="E30001"),
    duration=60 * MIN,
    story=story,
)
