"""A vehicle as the control plane shows it: its full state and its list summary.

Rendering only: what a PATCH or an event does to a vehicle is the world's
(simulator/world/overrides.py, happenings.py); the wire models are control_models.py.
"""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel

from simulator.core import alerts, models, readings, vehicle
from simulator.core.fleet import COLUMNS, Fleet, firmware_str
from simulator.core.operations import reading
from simulator.sim import Simulator
from simulator.snapshot import column_json
from simulator.world import overrides

# wire name -> boolean column, in the order the state shows them
FLAGS = {to_camel(column): column for column in overrides.FLAGS}
SUMMARY_FLAGS = ("activated", "online", "locked", "riding", "charging", "dormant", "upgrading",
                 "transport")


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
        # The scooter's (control/light, setting/scooter): km/h by speed mode, 0 for none.
        "lights": {"headLight": int(f.head_light[i]), "tailLight": int(f.tail_light[i])},
        "speedLimits": dict(zip(("low", "medium", "high"), map(int, f.mode_limit[i]),
                                strict=True)),
    }


def summary(sim: Simulator, i: int) -> dict[str, Any]:
    f = sim.fleet
    return {
        "iotCode": f.imeis[i],
        "platformCode": sim.platform_of(i).code,
        "model": models.model_name(f, i),
        **{name: bool(f.column(FLAGS[name])[i]) for name in SUMMARY_FLAGS},
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
        "model": models.model_name(f, i),
        "vehicleCode": readings.vehicle_code(f, i),  # the first generation's (v1) second name
        "firmware": firmware_str(int(f.firmware[i])),
        **{name: bool(f.column(col)[i]) for name, col in FLAGS.items()},
        "commandInFlight": i in sim.inflight,
        "alerts": alerts.active_alerts(f, i),
        "faults": alerts.active_faults(f, i),
        # What the vehicle's queries answer, as its model spells them.
        "status": reading(f, i, "status"),
        "location": reading(f, i, "location"),
        "battery": reading(f, i, "battery-info"),
        "settings": settings(f, i),
        "lastSound": f.extras.get(i, {}).get("lastSound"),
        "lastActive": float(f.last_active[i]),
        # Every column raw (bytes as text), so columns added later are visible without code here.
        "columns": {name: column_json(f.column(name)[i]) for name in COLUMNS},
        "extras": f.extras.get(i, {}),
    }
