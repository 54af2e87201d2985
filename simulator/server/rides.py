"""Who rides and where vehicles stand, as the dashboard tells it: riders' names, streets, stories.

Names come from the world's seeded name pools (world/names.py): a ride's rider is a function of
the seed, the vehicle and the ride's end time, so the same seed and the same calls give the same
names. None of it reaches the vendor API; the live channel carries it in its feed events
(`rider`, `street`, `hub`) and the vehicle panel in `story`.

The live channel remembers the last ride it saw of each vehicle (`Rides`), for the panel's
"who rode it last"; a vehicle ridden while no page was open has no such memory, and its story
says only where it stands.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from simulator.sim import Simulator
from simulator.world import names

REMEMBERED = 100_000  # vehicles whose last ride is kept (a few hundred bytes each)


@dataclass
class Ride:
    rider: str
    start: float | None  # virtual epoch seconds (None: the page did not see it begin)
    start_at: str | None  # the street it was unlocked on
    end: float | None = None
    end_at: str | None = None
    hub: bool = False


def rider_of(sim: Simulator, row: int) -> str | None:
    """The rider of the vehicle's ride now, or None if nobody rides it."""
    end = float(sim.fleet.ride_end[row])
    if end <= 0:
        return None
    return names.rider(sim.streams.seed, sim.platform_of(row).city, int(sim.fleet.uid[row]),
                       round(end))


def spot(sim: Simulator, row: int, lat: float, lon: float) -> names.Spot:
    return names.where(sim.streams.seed, sim.platform_of(row).city, lat, lon)


def place_words(at: names.Spot) -> str:
    if at.hub:
        return f"the hub at {at.street} / {at.cross}"
    return f"the kerb of {at.street}, near {at.cross}"


class Rides:
    """The last ride of each vehicle that the live channel saw begin or end (bounded)."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        self.limit = limit
        self.last: OrderedDict[str, Ride] = OrderedDict()

    def clear(self) -> None:
        self.last.clear()

    def note(self, sim: Simulator, t: float, row: int, imei: str, reason: str, lat: float,
             lon: float, ride_end: float) -> dict[str, Any]:
        """An unlock or a lock at (lat, lon): remember it; the feed event's extra fields."""
        if row >= len(sim.fleet) or sim.fleet.imeis[row] != imei:
            return {}  # the fleet changed since (a reset): nothing to tell
        at = spot(sim, row, lat, lon)
        extra: dict[str, Any] = {"street": at.street, "hub": at.hub}
        if ride_end <= 0:  # no rider: unlocked by hand, or locked without a ride
            return extra
        rider = names.rider(sim.streams.seed, sim.platform_of(row).city,
                            int(sim.fleet.uid[row]), round(ride_end))
        extra["rider"] = rider
        ride = self.last.get(imei)
        if reason == "lock" and ride is not None and ride.rider == rider and ride.end is None:
            ride.end, ride.end_at, ride.hub = t, at.street, at.hub
            return extra
        # A ride begins (or ends unseen: begun while nobody watched, or by the control plane).
        self.last[imei] = Ride(rider, t, at.street) if reason == "unlock" else Ride(
            rider, None, None, t, at.street, at.hub)
        self.last.move_to_end(imei)
        while len(self.last) > self.limit:
            self.last.popitem(last=False)
        return extra


def _hhmm(t: float) -> str:
    return time.strftime("%H:%M", time.gmtime(t))


def story(sim: Simulator, row: int, ride: Ride | None) -> str:
    """A few sentences on the vehicle: who rides it or where it stands, and its last ride."""
    f = sim.fleet
    at = spot(sim, row, float(f.lat[row]), float(f.lon[row]))
    rider = rider_of(sim, row)
    if f.riding[row] and rider is not None:
        since = f" since {_hhmm(ride.start)}" if ride and ride.start and ride.end is None else ""
        speed = float(f.speed[row])
        pace = f"at {speed:.0f} km/h" if speed >= 0.5 else "stopped at a crossing"
        return (f"{rider} is riding it on {at.street}, {pace}{since}, "
                f"and will park it around {_hhmm(float(f.ride_end[row]))}.")
    if not f.locked[row]:
        now = f"Unlocked at {place_words(at)}, waiting for its rider."
    elif f.transport[row] or not f.activated[row]:
        now = f"Powered off at {place_words(at)}."
    else:
        now = f"Parked at {place_words(at)}."
    if ride is not None and ride.end is not None:
        if ride.start is not None:
            minutes = max(1, round((ride.end - ride.start) / 60))
            now += f" {ride.rider} rode it last, {minutes} min from {ride.start_at},"
        else:
            now += f" {ride.rider} rode it last"
        now += f" and parked it at {_hhmm(ride.end)}."
    return now
