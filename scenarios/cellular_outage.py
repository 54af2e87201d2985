"""Cellular outage: a share of the fleet drops off the network, then reconnects in a burst.

A cell tower fails: within half a minute 40 % of the fleet goes offline, each reporting the
disconnection once (status online=false), a few of them in the middle of a ride. While the
cell is down nothing is heard from them and the partner app's unlocks get 15301 (offline
device). When the tower comes back they reconnect within twenty seconds: a burst of status
pushes (online=true, carrying whatever happened meanwhile: the rides ended and locked), then
their location reports resume. The rest of the fleet carries on throughout.
"""

from __future__ import annotations

from simulator.scenarios.model import HEALTHY, MIN, FleetSpec, Happen, Patch, Rent, Scenario, Story
from simulator.scenarios.outcomes import Answers, Pushes, State
from simulator.world.names import person

SHARE = 0.4
DOWN, UP = 15 * MIN, 40 * MIN
DROP_S, BURST_S = 30, 20  # the outage spreads over DROP_S seconds, the reconnection over BURST_S


def story(s: Story) -> None:
    out = s.pick(max(1, round(SHARE * s.size)))
    s.at(0, Patch(out, HEALTHY))
    riders = out[: max(1, len(out) // 10)]
    for v in riders:  # out riding when the cell fails; back after it returns
        s.at(10 * MIN, Rent(v, 20 * MIN))
    s.tell(10 * MIN, f"{len(riders)} riders set off for 20 minutes")
    s.tell(DOWN, f"the cell tower fails: {len(out)} of {s.size} vehicles lose the network")
    for v in out:
        s.at(DOWN + int(s.rng.integers(0, DROP_S)), Happen((v,), "offline"))
    s.at(20 * MIN, Rent(out[-1], 10 * MIN),
         f"{person(s.seed, s.scenario.fleet.platform, out[-1])}, a customer, tries to unlock one"
         " of them")
    s.tell(UP, "the tower is back: they reconnect")
    for v in out:
        s.at(UP + int(s.rng.integers(0, BURST_S)), Happen((v,), "online"))

    quiet = (DOWN + DROP_S, UP - 1)
    s.expect(
        Pushes("each reports the disconnection once", "status", {"online": False}, out,
               (DOWN, DOWN + DROP_S), each=True, at_most=1),
        Pushes("nothing is heard from them while the cell is down", None, {}, out, quiet,
               at_least=0, at_most=0),
        Answers("unlocks meanwhile get 15301 (offline device)", "unlock", 15301, out, quiet),
        Pushes("they reconnect in a burst (status online=true)", "status", {"online": True},
               out, (UP, UP + BURST_S), each=True, at_most=1),
        Pushes("the rides that ended offline show locked on reconnection", "status",
               {"online": True, "locked": True}, riders, (UP, UP + BURST_S), each=True),
        Pushes("their location reports resume", "location", {}, out, (UP, s.duration),
               each=True),
        State("all back online", out, {"online": True}),
    )
    if s.size > len(out):
        s.expect(Pushes("the rest of the fleet carries on", "location", {}, s.rest(out),
                        quiet, at_least=1))


SCENARIO = Scenario(
    name="cellular-outage",
    description="a share of the fleet offline for a while, then reconnecting in a burst",
    seed=3,
    fleet=FleetSpec(size=120, platform="C30001"),
    duration=UP + 16 * MIN,
    story=story,
)
