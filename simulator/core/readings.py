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
    full = FULL_RANGE_M.get(int(fleet.speed_mode[i]), FULL_RANGE_M[2])
    return round(float(fleet.power[i]) / 100.0 * full / 10.0)


def status(fleet: Fleet, i: int) -> dict[str, Any]:
    return {
        "iotCode": fleet.imeis[i],
        "online": bool(fleet.online[i]),
        "locked": bool(fleet.locked[i]),
        "lockVoltage": int(fleet.lock_voltage[i]),
        "networkSignal": int(fleet.network_signal[i]),
        "charging": bool(fleet.charging[i]),
        "powerPercent": round(float(fleet.power[i])),
        "speedMode": int(fleet.speed_mode[i]),
        "speed": round(float(fleet.speed[i])),
        "odometer": round(float(fleet.odometer[i])),
        "remainingRange": remaining_range(fleet, i),
        "totalRidingSecs": round(float(fleet.riding_secs[i])),
        "statusUtcTime": int(fleet.status_time[i]),
    }


def location(fleet: Fleet, i: int) -> dict[str, Any]:
    return {
        "iotCode": fleet.imeis[i],
        "latitude": round(float(fleet.lat[i]), 6),
        "longitude": round(float(fleet.lon[i]), 6),
        "satelliteNumber": int(fleet.satellites[i]),
        "hdop": round(float(fleet.hdop[i]), 2),
        "altitude": round(float(fleet.altitude[i]), 1),
        "gpsUtcTime": int(fleet.gps_time[i]),
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
