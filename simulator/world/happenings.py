"""Things that happen to a vehicle from outside the vendor API: a rider locks by hand, rides,
an alarm or a fault appears, a charger is plugged in, the network drops (the control plane's
events, docs/control-plane.md "POST /_sim/vehicles/{iotCode}/events").

Fields come by python name, already typed (the server's models check the wire). An event the
vehicle's state does not allow is a Conflict (HTTP 409 naming `type`); an event that changes
nothing (an alert already active, a lock while locked) publishes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from simulator.core import alerts, vehicle
from simulator.core.errors import SimError
from simulator.core.events import Bus
from simulator.core.fleet import Fleet
from simulator.world.overrides import apply_patch


class Living(Protocol):
    """What an event needs of the living world beyond the fleet row (world/engine.py's World
    is one)."""

    def start_ride(self, row: int, seconds: float | None = None) -> None: ...

    def charger(self, row: int, plugged: bool) -> None: ...


class Conflict(SimError):
    """The event cannot happen to the vehicle in its current state (HTTP 409)."""

    def __init__(self, message: str) -> None:
        super().__init__("type", message, status=409)


Happening = Callable[[Fleet, int, Mapping[str, Any], float, Bus, Living], None]


def _rider_lock(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
                living: Living) -> None:
    vehicle.rider_lock(f, i, now, bus)


def _ride(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus, living: Living) -> None:
    if f.locked[i]:
        raise Conflict("a rider can only ride an unlocked vehicle (unlock it first)")
    if f.riding[i]:
        raise Conflict("the vehicle is already being ridden")
    living.start_ride(i, p.get("seconds"))


def _alert(raise_: bool) -> Happening:
    fn = alerts.raise_alert if raise_ else alerts.clear_alert

    def run(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
            living: Living) -> None:
        fn(f, i, p["code"], now, bus)

    return run


def _fault(raise_: bool) -> Happening:
    fn = alerts.raise_fault if raise_ else alerts.clear_fault

    def run(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
            living: Living) -> None:
        fn(f, i, p["code"], now, bus)

    return run


def _charger(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
             living: Living) -> None:
    living.charger(i, p["plugged"])


def _power_on(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
              living: Living) -> None:
    vehicle.power_on(f, i, now, bus)


def _offline(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
             living: Living) -> None:
    apply_patch(f, i, {"online": False}, now, bus)


def _online(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
            living: Living) -> None:
    if f.transport[i]:
        raise Conflict("a vehicle in transport mode stays offline until a power-on event")
    apply_patch(f, i, {"online": True}, now, bus)


def _set(column: str, value: bool) -> Happening:
    def run(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
            living: Living) -> None:
        f.column(column)[i] = value

    return run


def _upgrade_end(f: Fleet, i: int, p: Mapping[str, Any], now: float, bus: Bus,
                 living: Living) -> None:
    f.upgrading[i] = False
    if "firmware" in p:
        f.firmware[i] = p["firmware"]


# type -> what happens.
HAPPENINGS: dict[str, Happening] = {
    "rider-lock": _rider_lock,
    "ride": _ride,  # seconds: None draws the ride from the rider model
    "alert": _alert(True),  # code: an alert code
    "alert-cleared": _alert(False),
    "fault": _fault(True),  # code: an Appendix-2 fault code (text)
    "fault-cleared": _fault(False),
    "charger": _charger,  # plugged
    "power-on": _power_on,
    "offline": _offline,
    "online": _online,
    "battery-cover-closed": _set("cover_open", False),
    "upgrade-start": _set("upgrading", True),
    "upgrade-end": _upgrade_end,  # firmware: a fleet firmware code, or absent
}


def happen(f: Fleet, i: int, kind: str, fields: Mapping[str, Any], now: float, bus: Bus,
           living: Living) -> None:
    """Event `kind` with its checked `fields` happens to row `i` now."""
    fn = HAPPENINGS.get(kind)
    if fn is None:
        raise SimError("type", f"must be one of {', '.join(HAPPENINGS)}")
    fn(f, i, fields, now, bus, living)
