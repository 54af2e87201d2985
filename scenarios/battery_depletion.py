"""Battery depletion: vehicles ridden flat, low-power alerts, empty batteries, then chargers.

A third of the fleet starts the afternoon with little charge. The partner app raises their
low-power threshold to 10 % (/ebike/setting/switch) and their speed mode to Turbo, and keeps
renting them: the riders drain them below the threshold (alert 12) and on to empty
(powerPercent 0; the riders pedal home without assist). Then the ops crew plugs in chargers:
charging is reported, and each alert clears once the charge is back above the threshold.
"""

from __future__ import annotations

from simulator.scenarios.model import (
    HEALTHY,
    MIN,
    Command,
    FleetSpec,
    Happen,
    Patch,
    Rent,
    Scenario,
    Story,
)
from simulator.scenarios.outcomes import Answers, Pushes, State, at_least, excludes

THRESHOLD = 10
SWITCH = {"bssDisplay": 0, "alertSensitivity": 2, "unlockHeadLight": 0, "unlockTailLight": 0,
          "brakeTailLight": 0, "wirelessCharge": 0, "climbInput": 0,
          "lowPowerValue": THRESHOLD}  # 0: keep the current value (the reference's "no setting")
RIDE_S = (12 * MIN, 18 * MIN)
PLUG_IN = 45 * MIN  # every ride is over by then (a rider pulls a charger out)


def story(s: Story) -> None:
    low = s.pick(max(1, s.size // 3))
    for v in low:
        power = round(float(s.rng.uniform(11.0, 12.0)), 1)
        s.at(0, Patch((v,), {**HEALTHY, "powerPercent": power}))
    s.tell(0, f"{len(low)} vehicles start the afternoon at about 11 %")
    s.at(30, Command(low, "setting/switch", SWITCH),
         f"the partner app sets their low-power threshold to {THRESHOLD} %")
    s.at(40, Command(low, "setting/speed-mode", {"speedMode": 3}), "... and Turbo mode")
    for v in low:  # back-to-back rentals, a minute apart
        t = MIN + float(s.rng.uniform(0, 60))
        while True:
            ride = round(float(s.rng.uniform(*RIDE_S)))
            if t + ride > PLUG_IN - MIN:
                break
            s.at(round(t), Rent(v, float(ride)))
            t += ride + MIN
    s.tell(MIN, "riders take them out, again and again")
    s.at(PLUG_IN, Happen(low, "charger", {"plugged": True}),
         "the ops crew plugs chargers into the drained vehicles")

    s.expect(
        Answers("the new threshold is accepted", "setting/switch", 0, low, each=True),
        Pushes("each raises the low-power alert on the road", "alert",
               {"code": 12, "alertStatus": 0}, low, (MIN, PLUG_IN), each=True),
        Pushes("batteries run empty (powerPercent 0)", "status", {"powerPercent": 0}, low,
               (MIN, PLUG_IN), each=True),
        Pushes("charging is reported", "status", {"charging": True}, low, (PLUG_IN, PLUG_IN),
               each=True),
        Pushes("each alert clears as the charge passes the threshold", "alert",
               {"code": 12, "alertStatus": 1}, low, (PLUG_IN, s.duration), each=True),
        State("charging, above the threshold, no alert", low,
              {"charging": True, "alerts": excludes(12),
               "status.powerPercent": at_least(THRESHOLD)}),
    )


SCENARIO = Scenario(
    name="battery-depletion",
    description="low-power alerts, batteries ridden to empty, chargers plugged in",
    seed=5,
    fleet=FleetSpec(size=30, platform="U30001"),
    duration=PLUG_IN + 45 * MIN,
    story=story,
)
