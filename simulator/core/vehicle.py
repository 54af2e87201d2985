"""The vehicle state machine: which operation is allowed in which state, and what it changes.

Operations are named after the vendor's endpoints. `admit` says whether a vehicle in its current
state accepts an operation (raising the vendor error it would get otherwise, in one fixed order);
`apply` performs a validated operation on one fleet row and publishes what a real vehicle would
report. Nothing here parses wire input or knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.core import models
from simulator.core.errors import VendorError
from simulator.core.events import COMPONENTS, STATUS, Bus, Event
from simulator.core.fleet import INTERVAL_MIN_FIRMWARE, Fleet

# Vendor operations, by the last path segments of their endpoints; the first generation's
# (paths under /api/vehicle/, server/vendor_v1.py) prefixed "v1/". Which of them a vehicle
# answers is its model's (core/models).
QUERIES = ("status", "location", "battery-info", "bluetooth-key", "v1/get", "v1/version")
CONTROLS = (
    "unlock",
    "lock",
    "light",
    "battery-cover",
    "sound",
    "mech-lock",
    "anti-theft",
    "ambient",
    "wireless-charging",
    "whole-shutdown",
    "v1/unlock",
    "v1/lock",
    "v1/toot",
    "v1/headlight",
    "v1/speed-mode",
    "v1/battery/cover",
)
SETTINGS = (
    "setting/switch",
    "setting/ambient",
    "setting/sound",
    "setting/speed-mode",
    "setting/scooter",
    "setting/bluetooth-key",
    "setting/interval",
    "v1/setting/speed-limit",
    "v1/setting/location",
    "v1/iot/bind",
)
COMMANDS = CONTROLS + SETTINGS
OPERATIONS = QUERIES + COMMANDS

Guard = tuple[Callable[[Fleet, int], bool], int, str]

# Every operation: an inactive vehicle has nothing to report or obey.
_INACTIVE: Guard = (lambda f, i: not f.activated.item(i), 15300, "not activated")
# What must hold to reach the device at all (commands, and a real-time location query).
_REACHABLE: tuple[Guard, ...] = (
    _INACTIVE,
    (lambda f, i: f.transport.item(i), 15301, "transport mode (whole-shutdown)"),
    (lambda f, i: not f.online.item(i), 15301, "offline"),
)
# Every command, in this order (see docs/errors.md).
_COMMAND_GUARDS: tuple[Guard, ...] = (
    *_REACHABLE,
    (lambda f, i: f.upgrading.item(i), 15500, "upgrading"),
    (lambda f, i: f.dormant.item(i), 15704, "dormant"),
)
_SPECIFIC: dict[str, tuple[Guard, ...]] = {
    "location": ((lambda f, i: not f.has_fix.item(i), 15400, "no GPS fix since power-on"),),
    "battery-cover": ((lambda f, i: f.locked.item(i), 15635, "vehicle is locked"),),
    "v1/battery/cover": ((lambda f, i: f.locked.item(i), 15635, "vehicle is locked"),),
    "mech-lock": ((lambda f, i: not f.has_mech_lock.item(i), 15705, "vehicle has no mech lock"),),
    "setting/interval": (
        (
            lambda f, i: f.firmware.item(i) < INTERVAL_MIN_FIRMWARE,
            15707,
            "firmware lacks interval setting",
        ),
    ),
}
# Binding an IoT to a vehicle code is the cloud's record: the device need not answer.
_CLOUD_ONLY = {"v1/iot/bind": (_INACTIVE,)}
GUARDS: dict[str, tuple[Guard, ...]] = {
    op: _CLOUD_ONLY.get(op) or
    ((_INACTIVE,) if op in QUERIES else _COMMAND_GUARDS) + _SPECIFIC.get(op, ())
    for op in OPERATIONS
}


def _check(fleet: Fleet, i: int, guards: tuple[Guard, ...]) -> None:
    for blocked, code, why in guards:
        if blocked(fleet, i):
            raise VendorError(code, why)


def admit(fleet: Fleet, i: int, op: str) -> None:
    """Raise the vendor error the vehicle in row `i` gives to `op`, if any."""
    _check(fleet, i, GUARDS[op])


def admit_realtime(fleet: Fleet, i: int) -> None:
    """A location query with realTimeLocation=true asks the device: it must be reachable.

    Other queries answer the cloud's last known state, so they work offline.
    """
    _check(fleet, i, _REACHABLE)


# -- effects ------------------------------------------------------------------------------------


def status_changed(fleet: Fleet, i: int, now: float, bus: Bus, reason: str) -> None:
    fleet.status_time[i] = int(now)
    bus.publish(Event(now, i, STATUS, {"reason": reason}))


def _switched(fleet: Fleet, i: int) -> None:
    """Locked <-> unlocked or powered off: the ambient control's effect lasts "until the next
    time the vehicle's status is switched"."""
    extra = fleet.extras.get(i)
    if extra:
        extra.pop("ambientEffect", None)


def unlock(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    if not fleet.locked[i]:
        return  # already unlocked: the same unlocking period goes on, its settings stay
    fleet.locked[i] = False
    fleet.mech_lock_open[i] = bool(fleet.has_mech_lock[i])
    # Both are "enabled when the vehicle is unlocked by default", for each unlocking period.
    fleet.anti_theft[i] = True
    fleet.wireless_charging[i] = bool(fleet.wireless_charge[i] != 1)
    _switched(fleet, i)
    status_changed(fleet, i, now, bus, "unlock")


def lock(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    """The scooter's remote lock: a ride in progress ends where the vehicle is (the rider's
    timer finds no ride to end), and the lock is reported as a rider's lock is."""
    if fleet.riding[i]:
        fleet.riding[i] = False
        fleet.ride_end[i] = 0.0
        fleet.stop_until[i] = 0.0
        fleet.heading[i] = -1
        fleet.current_power[i] = 0.0
    rider_lock(fleet, i, now, bus)


def rider_lock(fleet: Fleet, i: int, now: float, bus: Bus) -> None:
    """The rider locks by hand (the A200 has no lock endpoint), or the scooter's remote lock."""
    if fleet.locked[i]:
        return
    fleet.locked[i] = True
    fleet.riding[i] = False
    fleet.speed[i] = 0.0
    fleet.mech_lock_open[i] = False
    fleet.wireless_charging[i] = False
    # Locking latches the battery cover too, so an open cover always means an unlocked vehicle.
    fleet.cover_open[i] = False
    _switched(fleet, i)
    status_changed(fleet, i, now, bus, "lock")
    bus.publish(Event(now, i, COMPONENTS, {"type": 5, "status": 2}))


def battery_cover(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.cover_open[i] = True


def sound(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.extra(i)["lastSound"] = {"controlType": p["controlType"], "time": now}


def light(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    for name, column in (("headLight", fleet.head_light), ("tailLight", fleet.tail_light)):
        if p.get(name) is not None:
            column[i] = p[name]


def v1_headlight(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.head_light[i] = p["controlType"]


def v1_toot(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.extra(i)["lastSound"] = {"contentType": p["contentType"], "time": now}


def mech_lock(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.mech_lock_open[i] = True


def anti_theft(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.anti_theft[i] = p["controlType"] == 2


def ambient(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.extra(i)["ambientEffect"] = {k: p[k] for k in ("bright", "mode", "color")}


def wireless_charging(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.wireless_charging[i] = p["controlType"] == 1


def whole_shutdown(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.transport[i] = True
    fleet.online[i] = False
    fleet.riding[i] = False
    fleet.speed[i] = 0.0
    _switched(fleet, i)
    status_changed(fleet, i, now, bus, "offline")


def power_on(fleet: Fleet, i: int, now: float, bus: Bus) -> None:
    """Leave transport mode (or wake from dormancy): the vehicle comes back online."""
    changed = bool(fleet.transport[i] or not fleet.online[i])
    fleet.transport[i] = False
    fleet.dormant[i] = False
    fleet.online[i] = True
    fleet.last_active[i] = now
    if changed:
        status_changed(fleet, i, now, bus, "online")


# The A200's top speed of each speed mode (index: 0 "unification status" rides as Eco,
# 1 Exercise, 2 Eco, 3 Turbo), km/h; the reference's status example shows 20 km/h in Exercise.
# Every model's are in core/models.
MODE_CAP_KMH = models.MODE_CAPS_KMH[models.INDEX["a200"]]
UNASSISTED_KMH = float(models.UNPOWERED_KMH[models.INDEX["a200"]])  # pedalling, battery empty


def speed_cap_kmh(f: Fleet, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """The most each vehicle may go: its model's top speed in its speed mode (or the scooter
    setting's limit for that mode), its switch setting's speedLimit, and what a rider makes of
    an empty battery."""
    model = f.model[rows]
    mode = np.clip(f.speed_mode[rows], 0, 3)
    cap = models.MODE_CAPS_KMH[model, mode]
    # Per-mode limits (setting/scooter; mode 0 rides as the middle mode): 0 means none.
    mode_limit = f.mode_limit[rows, np.where(mode > 0, mode - 1, 1)].astype(np.float64)
    cap = np.where(mode_limit > 0, np.minimum(mode_limit, models.TOP_KMH[model]), cap)
    limit = f.speed_limit[rows].astype(np.float64)
    cap = np.minimum(cap, np.where(limit > 0, limit, np.inf))
    return np.asarray(np.where(f.power[rows] > 0, cap,
                               np.minimum(cap, models.UNPOWERED_KMH[model])))


def _within_cap(fleet: Fleet, i: int) -> None:
    """A lower cap holds from the moment it is set: the controller cuts the motor at once, so the
    speed a status reports never exceeds the setting that was just accepted."""
    fleet.speed[i] = min(float(fleet.speed[i]), float(speed_cap_kmh(fleet, np.array([i]))[0]))


SWITCH_FIELDS = {
    "bssDisplay": "bss_display",
    "alertSensitivity": "alert_sensitivity",
    "unlockHeadLight": "unlock_head_light",
    "unlockTailLight": "unlock_tail_light",
    "brakeTailLight": "brake_tail_light",
    "wirelessCharge": "wireless_charge",
    "climbInput": "climb_input",
    "speedLimit": "speed_limit",
    "lowPowerValue": "low_power_value",
}
# Fields where 0 means "no setting" (keep the current value).
_SWITCH_ZERO_KEEPS = {"bssDisplay", "unlockHeadLight", "unlockTailLight", "brakeTailLight",
                      "wirelessCharge", "climbInput"}


def set_switch(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    for name, column in SWITCH_FIELDS.items():
        value = p.get(name)
        if value is None or (value == 0 and name in _SWITCH_ZERO_KEEPS):
            continue
        fleet.column(column)[i] = value
    _within_cap(fleet, i)


def set_ambient(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    current = fleet.extra(i).setdefault("ambientSetting", {})
    current["bright"] = p["bright"]
    for mode in ("lockedMode", "faultMode", "exerciseMode", "ecoMode", "turboMode"):
        if p.get(mode) is not None:
            current[mode] = dict(p[mode])


def set_sound(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    if p["workMode"] != 0:
        fleet.sound_work_mode[i] = p["workMode"]
    if p.get("volume") is not None:  # the scooter's may set the work mode alone
        fleet.sound_volume[i] = p["volume"]
    mask = p.get("ebaqMask")
    if mask:
        current = fleet.extra(i).setdefault("ebaqMask", {})
        for name, value in mask.items():
            if value is not None and value != 2:  # 2: keep original
                current[name] = value


def set_speed_mode(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    if fleet.speed_mode[i] == p["speedMode"]:
        return
    fleet.speed_mode[i] = p["speedMode"]
    _within_cap(fleet, i)
    # speedMode and remainingRange are status fields: the vehicle reports the change.
    status_changed(fleet, i, now, bus, "speedMode")


LIMIT_FIELDS = ("lowSpeedLimit", "mediumSpeedLimit", "highSpeedLimit")  # speed modes 1, 2, 3


def set_scooter(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    """Speed limits by speed mode (setting/scooter, v1 setting/speed-limit): each one given
    becomes that mode's top speed; one left out keeps its value."""
    for n, name in enumerate(LIMIT_FIELDS):
        if p.get(name) is not None:
            fleet.mode_limit[i, n] = p[name]
    if p.get("buttonSwitchSpeedMode") is not None:
        fleet.extra(i)["scooterSetting"] = {"buttonSwitchSpeedMode": p["buttonSwitchSpeedMode"]}
    _within_cap(fleet, i)


def set_upload_interval(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    """v1 setting/location: the location report's period while unlocked."""
    fleet.loc_unlock_interval[i] = p["uploadInterval"]


def iot_bind(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.extra(i)["binding"] = {"vehicleCode": p["vehicleCode"], "qrCode": p["qrCode"]}


def set_bluetooth_key(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    fleet.bt_key[i] = p["key"].encode()


INTERVAL_FIELDS = {
    ("locationInterval", "unlockStatus"): "loc_unlock_interval",
    ("locationInterval", "lockStatus"): "loc_lock_interval",
    ("statusInterval", "ridingStatus"): "status_riding_interval",
    ("statusInterval", "nonRiding"): "status_nonriding_interval",
    ("statusInterval", "lockStatus"): "status_lock_interval",
}


def set_interval(fleet: Fleet, i: int, p: dict[str, Any], now: float, bus: Bus) -> None:
    for (group, name), column in INTERVAL_FIELDS.items():
        value = (p.get(group) or {}).get(name)
        if value is not None:
            fleet.column(column)[i] = value


Effect = Callable[[Fleet, int, dict[str, Any], float, Bus], None]
EFFECTS: dict[str, Effect] = {
    "unlock": unlock,
    "lock": lock,
    "light": light,
    "setting/scooter": set_scooter,
    "v1/unlock": unlock,
    "v1/lock": lock,
    "v1/toot": v1_toot,
    "v1/headlight": v1_headlight,
    "v1/speed-mode": set_speed_mode,
    "v1/battery/cover": battery_cover,
    "v1/setting/speed-limit": set_scooter,
    "v1/setting/location": set_upload_interval,
    "v1/iot/bind": iot_bind,
    "battery-cover": battery_cover,
    "sound": sound,
    "mech-lock": mech_lock,
    "anti-theft": anti_theft,
    "ambient": ambient,
    "wireless-charging": wireless_charging,
    "whole-shutdown": whole_shutdown,
    "setting/switch": set_switch,
    "setting/ambient": set_ambient,
    "setting/sound": set_sound,
    "setting/speed-mode": set_speed_mode,
    "setting/bluetooth-key": set_bluetooth_key,
    "setting/interval": set_interval,
}


def apply(fleet: Fleet, i: int, op: str, params: dict[str, Any], now: float, bus: Bus) -> None:
    """Perform an admitted, validated command on row `i`."""
    EFFECTS[op](fleet, i, params, now, bus)
    fleet.last_active[i] = now
