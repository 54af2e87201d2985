"""Fall and fault: fell-down alerts, A200 fault codes appearing and clearing.

A parked vehicle is knocked over (alert 2) and picked up half an hour later. A rider falls
(alert 4 while unlocked) and is back up twenty seconds later: the reference lists no
disappearing 4, so the fall clears as 2. The same vehicle's motor overheats during the ride
(fault 34) and cools down after it. Another vehicle loses its GNSS module (E5) for half an hour,
a third reports a lithium battery communication error (21) that stays. The living fleet's
chance incidents are off, so everything that falls or fails is the story's.
"""

from __future__ import annotations

from simulator.scenarios.model import HEALTHY, MIN, FleetSpec, Happen, Patch, Rent, Scenario, Story
from simulator.scenarios.outcomes import Count, Pushes, State, contains, excludes
from simulator.world.names import person

KNOCKED, PICKED_UP = 10 * MIN, 40 * MIN
RIDE, FALL, GET_UP = 5 * MIN, 12 * MIN, 12 * MIN + 20
OVERHEAT, COOLED = 15 * MIN, 35 * MIN
GNSS_LOST, GNSS_BACK = 20 * MIN, 50 * MIN
BATTERY_FAULT = 30 * MIN


def story(s: Story) -> None:
    cast = s.pick(4)
    knocked, rider, gnss, battery = ((v,) for v in s.rng.permutation(cast).tolist())
    s.at(0, Patch(cast, HEALTHY))
    s.at(KNOCKED, Happen(knocked, "alert", {"code": 2}),
         f"vehicle #{knocked[0]} is knocked over where it stands")
    s.at(PICKED_UP, Happen(knocked, "alert-cleared", {"code": 2}), "... and picked up")
    s.at(RIDE, Rent(rider[0], 12 * MIN),
         f"{person(s.seed, s.scenario.fleet.platform, rider[0])} sets off on vehicle #{rider[0]}")
    s.at(FALL, Happen(rider, "alert", {"code": 4}), "the rider falls")
    s.at(GET_UP, Happen(rider, "alert-cleared", {"code": 4}), "... and gets back up")
    s.at(OVERHEAT, Happen(rider, "fault", {"code": "34"}), "its motor overheats (fault 34)")
    s.at(COOLED, Happen(rider, "fault-cleared", {"code": "34"}), "the motor has cooled down")
    s.at(GNSS_LOST, Happen(gnss, "fault", {"code": "E5"}),
         f"vehicle #{gnss[0]} loses its GNSS module (E5)")
    s.at(GNSS_BACK, Happen(gnss, "fault-cleared", {"code": "E5"}), "GNSS is back")
    s.at(BATTERY_FAULT, Happen(battery, "fault", {"code": "21"}),
         f"vehicle #{battery[0]} cannot talk to its battery (fault 21)")

    def alert(code: int, status: int) -> dict[str, int]:
        return {"code": code, "alertStatus": status}

    def fault(code: str, status: int) -> dict[str, str | int]:
        return {"code": code, "faultStatus": status}

    s.expect(
        Pushes("a parked vehicle falls (alert 2)", "alert", alert(2, 0), knocked,
               (KNOCKED, KNOCKED)),
        Pushes("... and is picked up (alert 2 disappears)", "alert", alert(2, 1), knocked,
               (PICKED_UP, PICKED_UP)),
        Pushes("a rider falls (alert 4)", "alert", alert(4, 0), rider, (FALL, FALL)),
        Pushes("the rider's fall clears as code 2", "alert", alert(2, 1), rider,
               (GET_UP, GET_UP)),
        Pushes("fault 34 appears during the ride", "fault", fault("34", 0), rider,
               (OVERHEAT, OVERHEAT)),
        Pushes("... and clears", "fault", fault("34", 1), rider, (COOLED, COOLED)),
        Pushes("E5 appears and clears", "fault", {"code": "E5"}, gnss, at_least=2),
        Pushes("fault 21 appears", "fault", fault("21", 0), battery),
        State("E5 and 34 are gone", gnss + rider, {"faults": excludes("E5", "34")}),
        State("the battery fault stays", battery, {"faults": contains("21")}),
        State("no one is lying on the ground", knocked + rider,
              {"alerts": excludes(2), "locked": True}),
        Count("every fault that appeared was pushed, nothing else", "faults", 3, 3),
        Count("both falls were pushed, nothing else", "alerts", 2, 2),
    )


SCENARIO = Scenario(
    name="fall-and-fault",
    description="fell-down alerts, A200 fault codes appearing and clearing",
    seed=17,
    fleet=FleetSpec(size=30, platform="E30002", minimum=4),
    duration=60 * MIN,
    story=story,
)
