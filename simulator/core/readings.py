"""What a vehicle reports: the `data` of the queries and the fields of the pushes, native types.

Field names and units follow the reference's field tables (see FIDELITY.md for where the tables
and the examples disagree). The server serialises these dicts; push.py turns them into strings.
"""

from __future__ import annotations

from typing import Any

from simulator.core import models
from simulator.core.fleet import Fleet, firmware_str

# The A200's full-charge range by speed mode (1 Exercise, 2 Eco, 3 Turbo), metres: Turbo assists
# harder. Every model's, mode 0 included, are in core/models.
FULL_RANGE_M = {m: int(models.FULL_RANGE_M[models.INDEX["a200"], m]) for m in (1, 2, 3)}


def remaining_range(fleet: Fleet, i: int) -> int:
    """In the vendor's unit of 10 m (1230 means 12.3 km)."""
    # Mode 0 ("unification status", status push table) has no range of its own: the middle's.
    full: float = models.FULL_RANGE_M.item(fleet.model.item(i), fleet.speed_mode.item(i) & 3)
    power: float = fleet.power.item(i)
    return round(power / 100.0 * full / 10.0)


# `column.item(i)` is the Python value of one cell without a numpy scalar in between: the same
# value as bool()/int()/float() of `column[i]`, about 2 µs less per status answer (docs/speed.md).
def status(fleet: Fleet, i: int) -> dict[str, Any]:
    return {
        "iotCode": fleet.imeis[i],
        "online": fleet.online.item(i),
        "locked": fleet.locked.item(i),
        "lockVoltage": fleet.lock_voltage.item(i),
        "networkSignal": fleet.network_signal.item(i),
        "charging": fleet.charging.item(i),
        "powerPercent": round(fleet.power.item(i)),
        "speedMode": fleet.speed_mode.item(i),
        "speed": round(fleet.speed.item(i)),
        "odometer": round(fleet.odometer.item(i)),
        "remainingRange": remaining_range(fleet, i),
        "totalRidingSecs": round(fleet.riding_secs.item(i)),
        "statusUtcTime": fleet.status_time.item(i),
    }


def location(fleet: Fleet, i: int) -> dict[str, Any]:
    return {
        "iotCode": fleet.imeis[i],
        "latitude": round(fleet.lat.item(i), 6),
        "longitude": round(fleet.lon.item(i), 6),
        "satelliteNumber": fleet.satellites.item(i),
        "hdop": round(fleet.hdop.item(i), 2),
        "altitude": round(fleet.altitude.item(i), 1),
        "gpsUtcTime": fleet.gps_time.item(i),
    }


def battery_info(fleet: Fleet, i: int) -> dict[str, Any]:
    count = int(fleet.battery_count[i])
    packs = [
        {
            "batteryPort": p + 1,
            "batteryPercent": round(float(fleet.pack_percent[i, p])),
            "batteryVoltage": round(float(fleet.pack_voltage[i, p])),
            "cycleTimes": int(fleet.pack_cycles[i, p]),
            "temperatrue": round(float(fleet.pack_temp[i, p])),  # sic: the reference's name
        }
        for p in range(count)
    ]
    return {
        "iotCode": fleet.imeis[i],
        "charging": bool(fleet.charging[i]),
        "vehiclePercent": round(float(fleet.power[i])),
        "batteryCount": count,
        "drivingVoltage": round(float(fleet.pack_voltage[i, :count].mean())),
        "currentPower": round(float(fleet.current_power[i])),
        "iotPercent": round(float(fleet.iot_percent[i])),
        "iotVoltage": int(fleet.iot_voltage[i]),
        "batteryData": packs,
    }


def bluetooth_key(fleet: Fleet, i: int) -> dict[str, Any]:
    return {"iotCode": fleet.imeis[i], "key": fleet.bt_key[i].decode()}


# -- the first generation (v1): flat answers, odometer and range in units of 10 m --------------

def v1_get(fleet: Fleet, i: int) -> dict[str, Any]:
    """`query/get`: status and location at the top level of the answer (the fact sheet)."""
    s, loc = status(fleet, i), location(fleet, i)
    return {
        "iotCode": fleet.imeis[i],
        "vehicleCode": vehicle_code(fleet, i),
        **{k: s[k] for k in ("online", "locked", "networkSignal", "charging", "powerPercent",
                             "speedMode", "speed")},
        "odometer": round(fleet.odometer.item(i) / 10.0),
        "remainingRange": s["remainingRange"],  # already in 10 m in v2
        "totalRidingSecs": s["totalRidingSecs"],
        **{k: loc[k] for k in ("latitude", "longitude", "altitude")},
        "statusUtcTime": s["statusUtcTime"],
        "gpsUtcTime": loc["gpsUtcTime"],
    }


def v1_version(fleet: Fleet, i: int) -> dict[str, Any]:
    """`query/version`: the IoT's firmware, top-level `iotVersion`."""
    return {"iotCode": fleet.imeis[i], "vehicleCode": vehicle_code(fleet, i),
            "iotVersion": firmware_str(fleet.firmware.item(i))}


def vehicle_code(fleet: Fleet, i: int) -> str:
    """The first generation's vehicle code of row `i`: its IMEI until an iot/bind names one."""
    binding = fleet.extras.get(i, {}).get("binding")
    return str(binding["vehicleCode"]) if binding else fleet.imeis[i]
