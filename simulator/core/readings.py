"""What a vehicle reports: the `data` of the queries and the fields of the pushes, native types.

Field names and units follow the reference's field tables (see FIDELITY.md for where the tables
and the examples disagree). The server serialises these dicts; push.py turns them into strings.
"""

from __future__ import annotations

from typing import Any

from simulator.core.fleet import Fleet

# Full-charge range by speed mode (1 Exercise, 2 Eco, 3 Turbo), metres: Turbo assists harder.
FULL_RANGE_M = {1: 70_000, 2: 60_000, 3: 45_000}


def remaining_range(fleet: Fleet, i: int) -> int:
    """In the vendor's unit of 10 m (1230 means 12.3 km)."""
    # Mode 0 ("unification status", status push table) has no range of its own: Eco's.
    full = FULL_RANGE_M.get(fleet.speed_mode.item(i), FULL_RANGE_M[2])
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
