"""What a tester sets on a vehicle (the control plane's PATCH), and how the vehicle reacts.

Values come by fleet column name, already typed and in range (the server's models check the
wire); this module owns what no single field can say: the invariants between flags, and the
transitions a change goes through (a lock is the rider's lock, transport on is the whole
shutdown, a charge level moves the packs and the low-power alert). docs/control-plane.md,
"PATCH /_sim/vehicles/{iotCode}", is the behaviour written out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from simulator.core import vehicle
from simulator.core.errors import SimError
from simulator.core.events import STATUS, Bus, Event
from simulator.core.fleet import Fleet
from simulator.world import battery

# The boolean state of a vehicle, in the order the control plane shows it.
FLAGS = ("activated", "online", "locked", "riding", "upgrading", "dormant", "transport",
         "charging", "plugged", "has_mech_lock", "mech_lock_open", "cover_open", "anti_theft",
         "wireless_charging", "has_fix", "location_valid")
# A new vehicle's flags, as the simulator's make_healthy leaves it (checked before it exists).
NEW_VEHICLE_FLAGS = {name: name in ("activated", "online", "locked", "has_mech_lock", "has_fix",
                                    "location_valid", "anti_theft") for name in FLAGS}

# (field, holds over the final flags, why): checked for the fields a change names.
INVARIANTS: tuple[tuple[str, Callable[[Mapping[str, bool]], bool], str], ...] = (
    ("online", lambda v: not (v["online"] and v["transport"]),
     "a vehicle in transport mode is offline (send a power-on event)"),
    ("cover_open", lambda v: not (v["cover_open"] and v["locked"]),
     "an open battery cover means an unlocked vehicle"),
    ("mech_lock_open", lambda v: not (v["mech_lock_open"]
                                      and (v["locked"] or not v["has_mech_lock"])),
     "an open mech lock means an unlocked vehicle with a mech lock"),
)


def flags(fleet: Fleet, row: int) -> dict[str, bool]:
    return {name: bool(fleet.column(name)[row]) for name in FLAGS}


def check(current: Mapping[str, bool], values: Mapping[str, Any]) -> None:
    """Refuse `values` (SimError naming the field) if the flags they leave are impossible."""
    final = dict(current)
    if "locked" in values and values["locked"] != current["locked"]:
        final.update(locked=values["locked"], cover_open=False,
                     mech_lock_open=not values["locked"] and current["has_mech_lock"])
    if values.get("transport") and not current["transport"]:
        final.update(online=False, riding=False)
    final.update({k: v for k, v in values.items() if k in final})
    for name, holds, why in INVARIANTS:
        if name in values and not holds(final):
            raise SimError(name, why)


# -- setters: column name -> how a value goes in (the rest: straight into the column) ----------

Setter = Callable[[Fleet, int, Any, float], None]


def _set_power(f: Fleet, i: int, value: Any, now: float) -> None:
    f.power[i] = value
    battery.sync_packs(f, np.array([i]))  # the packs (and their voltages) follow


def _set_online(f: Fleet, i: int, value: Any, now: float) -> None:
    f.online[i] = value
    f.offline_until[i] = 0.0  # the tester's word holds: no network spell undoes it


def _set_dormant(f: Fleet, i: int, value: Any, now: float) -> None:
    f.dormant[i] = value
    if not value:
        f.last_active[i] = now  # woken: idle from now on, not dormant again at the next minute


def _set_charging(f: Fleet, i: int, value: Any, now: float) -> None:
    # Charging means a plugged charger: the physics stop it when the battery is full.
    f.charging[i] = f.plugged[i] = value


def _set_position(f: Fleet, i: int, value: Any, now: float, column: str) -> None:
    f.column(column)[i] = value
    f.gps_time[i] = int(now)  # a new position is a new fix


def _set_bt_key(f: Fleet, i: int, value: Any, now: float) -> None:
    f.bt_key[i] = value.encode()


def _set_has_mech_lock(f: Fleet, i: int, value: Any, now: float) -> None:
    f.has_mech_lock[i] = value
    if not value:
        f.mech_lock_open[i] = False  # no lock, nothing open


SETTERS: dict[str, Setter] = {
    "online": _set_online,
    "dormant": _set_dormant,
    "charging": _set_charging,
    "has_mech_lock": _set_has_mech_lock,
    "power": _set_power,
    "lat": lambda f, i, v, now: _set_position(f, i, v, now, "lat"),
    "lon": lambda f, i, v, now: _set_position(f, i, v, now, "lon"),
    "bt_key": _set_bt_key,
}


def _apply(f: Fleet, i: int, values: Mapping[str, Any], now: float) -> list[Event]:
    """Set checked values; returns the events the vehicle would report, in order."""
    before = flags(f, i)
    held: list[Event] = []
    quiet = Bus()
    quiet.subscribe(held.append)
    if "locked" in values and values["locked"] != before["locked"]:
        if values["locked"]:
            vehicle.rider_lock(f, i, now, quiet)
        else:
            vehicle.unlock(f, i, {}, now, quiet)
    if values.get("transport") and not before["transport"]:
        vehicle.whole_shutdown(f, i, {}, now, quiet)
    for name, value in values.items():
        if name == "locked":  # done by its transition (transport on too; off is the column)
            continue
        setter = SETTERS.get(name)
        if setter is None:
            f.column(name)[i] = value
        else:
            setter(f, i, value, now)
    after = flags(f, i)
    changed = [k for k in ("online", "charging") if after[k] != before[k]]
    if changed and not any(e.kind == STATUS for e in held):
        reason = {"online": "online" if after["online"] else "offline",
                  "charging": "charging" if after["charging"] else "charge-end"}[changed[0]]
        vehicle.status_changed(f, i, now, quiet, reason)
    return held


def apply_patch(f: Fleet, i: int, values: Mapping[str, Any], now: float, bus: Bus) -> None:
    """Set checked values on row `i`. A change of lock, transport, online or charging publishes
    one STATUS event (a lock also its COMPONENTS event) after every field is set, so a push
    carries the final state; a charge level raises or clears the low-power alert at once."""
    for event in _apply(f, i, values, now):
        bus.publish(event)
    if "power" in values:
        battery.sync_low_power(f, bus, now, np.array([i]))


def set_up(f: Fleet, i: int, values: Mapping[str, Any], now: float) -> None:
    """Set checked values on a vehicle being created: it reports nothing of its making."""
    _apply(f, i, values, now)
