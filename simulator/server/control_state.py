"""A vehicle as the control plane shows and changes it: full state, PATCH fields, events.

No HTTP here: the tables say which fields exist and how each is read, and the functions change
the fleet the way the vehicle itself would (through vehicle.py and alerts.py), so pushes follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.core import alerts, readings, vehicle
from simulator.core.errors import SimError
from simulator.core.events import STATUS, Bus, Event
from simulator.core.fleet import ALERT_CODES, COLUMNS, Fleet, firmware_code, firmware_str
from simulator.server.control_params import Bool, Choice, Int, Num, Spec, Text, read_fields, require
from simulator.sim import Simulator
from simulator.snapshot import column_json
from simulator.world import battery, riders

# -- the full state --------------------------------------------------------------------------

FLAGS = {  # wire name -> boolean column, in the order the state shows them
    "activated": "activated",
    "online": "online",
    "locked": "locked",
    "riding": "riding",
    "upgrading": "upgrading",
    "dormant": "dormant",
    "transport": "transport",
    "charging": "charging",
    "plugged": "plugged",
    "hasMechLock": "has_mech_lock",
    "mechLockOpen": "mech_lock_open",
    "coverOpen": "cover_open",
    "antiTheft": "anti_theft",
    "wirelessCharging": "wireless_charging",
    "hasFix": "has_fix",
    "locationValid": "location_valid",
}


def settings(f: Fleet, i: int) -> dict[str, Any]:
    extra = f.extras.get(i, {})
    interval: dict[str, dict[str, int]] = {}
    for (group, name), column in vehicle.INTERVAL_FIELDS.items():
        interval.setdefault(group, {})[name] = int(f.column(column)[i])
    return {
        "speedMode": int(f.speed_mode[i]),
        "switch": {name: int(f.column(col)[i]) for name, col in vehicle.SWITCH_FIELDS.items()},
        "sound": {"workMode": int(f.sound_work_mode[i]), "volume": int(f.sound_volume[i]),
                  "ebaqMask": extra.get("ebaqMask", {})},
        "ambient": extra.get("ambientSetting"),  # /vehicle/setting/ambient
        "ambientEffect": extra.get("ambientEffect"),  # /vehicle/control/ambient
        "interval": interval,
        "bluetoothKey": f.bt_key[i].decode(),
    }


def summary(sim: Simulator, i: int) -> dict[str, Any]:
    f = sim.fleet
    return {
        "iotCode": f.imeis[i],
        "platformCode": sim.platform_of(i).code,
        **{name: bool(f.column(FLAGS[name])[i]) for name in
           ("activated", "online", "locked", "riding", "charging", "dormant", "upgrading",
            "transport")},
        "powerPercent": round(float(f.power[i])),
        "latitude": round(float(f.lat[i]), 6),
        "longitude": round(float(f.lon[i]), 6),
        "alerts": alerts.active_alerts(f, i),
        "faults": alerts.active_faults(f, i),
    }


def full_state(sim: Simulator, i: int) -> dict[str, Any]:
    f = sim.fleet
    return {
        "iotCode": f.imeis[i],
        "platformCode": sim.platform_of(i).code,
        "firmware": firmware_str(int(f.firmware[i])),
        **{name: bool(f.column(col)[i]) for name, col in FLAGS.items()},
        "commandInFlight": i in sim.inflight,
        "alerts": alerts.active_alerts(f, i),
        "faults": alerts.active_faults(f, i),
        "status": readings.status(f, i),
        "location": readings.location(f, i),
        "battery": readings.battery_info(f, i),
        "settings": settings(f, i),
        "lastSound": f.extras.get(i, {}).get("lastSound"),
        "lastActive": float(f.last_active[i]),
        # Every column raw (bytes as text), so columns added later are visible without code here.
        "columns": {name: column_json(f.column(name)[i]) for name in COLUMNS},
        "extras": f.extras.get(i, {}),
    }


# -- PATCH -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Firmware(Spec):
    def read(self, field: str, value: Any) -> int:
        try:
            if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{1,2}", value):
                raise ValueError(value)
            return firmware_code(value)
        except ValueError as exc:
            raise SimError(field, 'must be a version "major.minor.patch", each 0-99') from exc


BT_KEY = Text(re.compile(r"[A-Za-z0-9]{8}"), "8 letters and digits")
Setter = Callable[[Fleet, int, Any, float], None]


def _column(name: str) -> Setter:
    def put(f: Fleet, i: int, value: Any, now: float) -> None:
        f.column(name)[i] = value

    return put


def _set_power(f: Fleet, i: int, value: Any, now: float) -> None:
    f.power[i] = value
    battery.sync_packs(f, np.array([i]))  # the packs (and their voltages) follow


def _set_online(f: Fleet, i: int, value: Any, now: float) -> None:
    f.online[i] = value
    f.offline_until[i] = 0.0  # the control plane's word holds: no network spell undoes it


def _set_dormant(f: Fleet, i: int, value: Any, now: float) -> None:
    f.dormant[i] = value
    if not value:
        f.last_active[i] = now  # woken: idle from now on, not dormant again at the next minute


def _set_charging(f: Fleet, i: int, value: Any, now: float) -> None:
    # Charging means a plugged charger: the physics stop it when the battery is full.
    f.charging[i] = f.plugged[i] = value


def _position(name: str) -> Setter:
    def put(f: Fleet, i: int, value: Any, now: float) -> None:
        f.column(name)[i] = value
        f.gps_time[i] = int(now)  # a new position is a new fix

    return put


def _set_bt_key(f: Fleet, i: int, value: Any, now: float) -> None:
    f.bt_key[i] = value.encode()


def _set_has_mech_lock(f: Fleet, i: int, value: Any, now: float) -> None:
    f.has_mech_lock[i] = value
    if not value:
        f.mech_lock_open[i] = False  # no lock, nothing open


_FLAG_SETTERS: dict[str, Setter] = {
    "online": _set_online,
    "dormant": _set_dormant,
    "charging": _set_charging,
    "hasMechLock": _set_has_mech_lock,
}
# Wire name -> (how it is read, how it is set). "locked" and "transport": true go through the
# vehicle's own transitions (see apply_patch), the rest column by column.
PATCH_FIELDS: dict[str, tuple[Spec, Setter]] = {
    **{name: (Bool(), _FLAG_SETTERS.get(name) or _column(col))
       for name, col in FLAGS.items() if name != "riding"},
    "powerPercent": (Num(0, 100), _set_power),
    "latitude": (Num(-90, 90), _position("lat")),
    "longitude": (Num(-180, 180), _position("lon")),
    "altitude": (Num(-500, 9000), _column("altitude")),
    "satelliteNumber": (Int(0, 99), _column("satellites")),
    "hdop": (Num(0, 99), _column("hdop")),
    "speedMode": (Int(1, 3), _column("speed_mode")),
    "networkSignal": (Int(2, 32), _column("network_signal")),
    "lockVoltage": (Int(0, 9999), _column("lock_voltage")),
    "iotPercent": (Num(0, 100), _column("iot_percent")),
    "odometer": (Num(0, 1e12), _column("odometer")),
    "totalRidingSecs": (Num(0, 1e12), _column("riding_secs")),
    "firmware": (Firmware(), _column("firmware")),
    "bluetoothKey": (BT_KEY, _set_bt_key),
}

# (field, holds over the final flags, why): checked for fields the request names.
INVARIANTS: tuple[tuple[str, Callable[[dict[str, bool]], bool], str], ...] = (
    ("online", lambda v: not (v["online"] and v["transport"]),
     "a vehicle in transport mode is offline (send a power-on event)"),
    ("coverOpen", lambda v: not (v["coverOpen"] and v["locked"]),
     "an open battery cover means an unlocked vehicle"),
    ("mechLockOpen", lambda v: not (v["mechLockOpen"] and (v["locked"] or not v["hasMechLock"])),
     "an open mech lock means an unlocked vehicle with a mech lock"),
)
# A new vehicle's flags, as Simulator.make_healthy leaves it (checked before it exists).
NEW_VEHICLE_FLAGS = {name: name in ("activated", "online", "locked", "hasMechLock", "hasFix",
                                    "locationValid", "antiTheft") for name in FLAGS}


def current_flags(f: Fleet, i: int) -> dict[str, bool]:
    return {name: bool(f.column(col)[i]) for name, col in FLAGS.items()}


def read_patch(body: dict[str, Any], flags: dict[str, bool]) -> dict[str, Any]:
    """Validate a PATCH against a vehicle's current `flags`; nothing is changed here."""
    params = read_fields(body, {name: spec for name, (spec, _) in PATCH_FIELDS.items()})
    final = dict(flags)
    if "locked" in params and params["locked"] != flags["locked"]:
        final.update(locked=params["locked"], coverOpen=False,
                     mechLockOpen=not params["locked"] and flags["hasMechLock"])
    if params.get("transport") and not flags["transport"]:
        final.update(online=False, riding=False)
    final.update({k: v for k, v in params.items() if k in final})
    for name, holds, why in INVARIANTS:
        if name in params and not holds(final):
            raise SimError(name, why)
    return params


def apply_patch(sim: Simulator, i: int, params: dict[str, Any], publish: bool = True) -> None:
    """Set validated fields; lock, transport, online and charging changes publish a STATUS event
    (a lock also its COMPONENTS event), after every field is set so pushes see the final state."""
    f, now = sim.fleet, sim.clock.now
    before = current_flags(f, i)
    held: list[Event] = []
    quiet = Bus()
    quiet.subscribe(held.append)
    if "locked" in params and params["locked"] != before["locked"]:
        if params["locked"]:
            vehicle.rider_lock(f, i, now, quiet)
        else:
            vehicle.unlock(f, i, {}, now, quiet)
    if params.get("transport") and not before["transport"]:
        vehicle.whole_shutdown(f, i, {}, now, quiet)
    for name, value in params.items():
        if name != "locked":  # done by its transition (transport on too, off is just a column)
            PATCH_FIELDS[name][1](f, i, value, now)
    after = current_flags(f, i)
    changed = [k for k in ("online", "charging") if after[k] != before[k]]
    if changed and not any(e.kind == STATUS for e in held):
        reason = {"online": "online" if after["online"] else "offline",
                  "charging": "charging" if after["charging"] else "charge-end"}[changed[0]]
        vehicle.status_changed(f, i, now, quiet, reason)
    if publish:
        for event in held:
            sim.bus.publish(event)
        if "powerPercent" in params:  # the low-power alert follows the charge at once
            battery.sync_low_power(sim, now, np.array([i]))


# -- events ----------------------------------------------------------------------------------


class Conflict(SimError):
    """The event cannot happen to the vehicle in its current state (HTTP 409)."""

    def __init__(self, message: str) -> None:
        super().__init__("type", message, status=409)


@dataclass(frozen=True)
class FaultCode(Spec):
    """An Appendix-2 code; the numeric ones may come as JSON numbers."""

    def read(self, field: str, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value not in alerts.FAULT_CODES:
            raise SimError(field, "must be an Appendix-2 fault code (E0-E9, 10-44, 60, 61)")
        return str(value)


EventFn = Callable[[Simulator, int, dict[str, Any]], None]


def _ride(sim: Simulator, i: int, p: dict[str, Any]) -> None:
    if sim.fleet.locked[i]:
        raise Conflict("a rider can only ride an unlocked vehicle (unlock it first)")
    if sim.fleet.riding[i]:
        raise Conflict("the vehicle is already being ridden")
    riders.start_ride(sim, i, p.get("seconds"))


def _charger(sim: Simulator, i: int, p: dict[str, Any]) -> None:
    battery.charger(sim, i, require(p, "plugged"))


def _come_online(sim: Simulator, i: int, p: dict[str, Any]) -> None:
    if sim.fleet.transport[i]:
        raise Conflict("a vehicle in transport mode stays offline until a power-on event")
    apply_patch(sim, i, {"online": True})


def _upgrade_end(sim: Simulator, i: int, p: dict[str, Any]) -> None:
    sim.fleet.upgrading[i] = False
    if "firmware" in p:
        sim.fleet.firmware[i] = p["firmware"]


def _alert(raise_: bool) -> EventFn:
    fn = alerts.raise_alert if raise_ else alerts.clear_alert

    def run(sim: Simulator, i: int, p: dict[str, Any]) -> None:
        fn(sim.fleet, i, require(p, "code"), sim.clock.now, sim.bus)

    return run


def _fault(raise_: bool) -> EventFn:
    fn = alerts.raise_fault if raise_ else alerts.clear_fault

    def run(sim: Simulator, i: int, p: dict[str, Any]) -> None:
        fn(sim.fleet, i, require(p, "code"), sim.clock.now, sim.bus)

    return run


def _set(column: str, value: bool) -> EventFn:
    def run(sim: Simulator, i: int, p: dict[str, Any]) -> None:
        sim.fleet.column(column)[i] = value

    return run


ALERT_CODE = Choice(ALERT_CODES)
# type -> (its fields, what happens). Events that change nothing (an alert already active, a
# lock while locked) publish nothing and still answer the state.
EVENTS: dict[str, tuple[dict[str, Spec], EventFn]] = {
    "rider-lock": ({}, lambda s, i, p: vehicle.rider_lock(s.fleet, i, s.clock.now, s.bus)),
    "ride": ({"seconds": Num(0, 86_400, lo_open=True)}, _ride),
    "alert": ({"code": ALERT_CODE}, _alert(True)),
    "alert-cleared": ({"code": ALERT_CODE}, _alert(False)),
    "fault": ({"code": FaultCode()}, _fault(True)),
    "fault-cleared": ({"code": FaultCode()}, _fault(False)),
    "charger": ({"plugged": Bool()}, _charger),
    "power-on": ({}, lambda s, i, p: vehicle.power_on(s.fleet, i, s.clock.now, s.bus)),
    "offline": ({}, lambda s, i, p: apply_patch(s, i, {"online": False})),
    "online": ({}, _come_online),
    "battery-cover-closed": ({}, _set("cover_open", False)),
    "upgrade-start": ({}, _set("upgrading", True)),
    "upgrade-end": ({"firmware": Firmware()}, _upgrade_end),
}


def happen(sim: Simulator, i: int, body: dict[str, Any]) -> None:
    """Validate and perform one event (`{"type": ..., fields}`) on row `i`."""
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in EVENTS:
        raise SimError("type", f"must be one of {', '.join(EVENTS)}")
    table, fn = EVENTS[kind]
    params = read_fields({k: v for k, v in body.items() if k != "type"}, table)
    fn(sim, i, params)
