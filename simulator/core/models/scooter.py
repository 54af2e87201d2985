"""Segway-Ninebot sharing kick scooters, as public partner code calls the cloud.

Inferred from public clients (reference/real-clients.md, the fact sheet); every rule here has its
row in FIDELITY.md ("Vehicle models"). What the A200 reference marks "common for all models"
(token, status, location, bluetooth key, unlock, sound, the pushes) the scooter shares; what the
reference gives only the A200 (switch setting, ambient lamp, wireless charging, mech lock,
anti-theft, upload interval) it lacks. Transport mode is shared: the reference's own text speaks
of "your scooters" in the warehouse.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.core.models import Profile
from simulator.core.params import (
    BODIES,
    INTERVAL,
    IOT_CODE,
    ON_OFF,
    VEHICLE_CODE,
    Int,
    Obj,
)

LIGHT = Int(range(0, 3), required=False)  # 0 off, 1 on, 2 flicker
SPEED_LIMIT = Int(range(6, 26), required=False)  # km/h: the operator UI's range, 6-25
LIMITS = {"lowSpeedLimit": SPEED_LIMIT, "mediumSpeedLimit": SPEED_LIMIT,
          "highSpeedLimit": SPEED_LIMIT}
# 1 out of geofence, 2 toot, 3 low battery (the fact sheet); 10-13 the custom sounds the
# reference gives every model.
SOUND_TYPES = (1, 2, 3, 10, 11, 12, 13)
V1 = {"iotCode": IOT_CODE, "vehicleCode": VEHICLE_CODE}  # every v1 call carries both


def _v1(**fields: Any) -> Obj:
    return Obj({**V1, **fields})


SCOOTER_BODIES: dict[str, Obj] = {
    "unlock": BODIES["unlock"],
    "lock": Obj({"iotCode": IOT_CODE}),
    "light": Obj({"iotCode": IOT_CODE, "headLight": LIGHT, "tailLight": LIGHT}),
    "sound": Obj({"iotCode": IOT_CODE, "controlType": Int(SOUND_TYPES)}),
    "battery-cover": BODIES["battery-cover"],
    "whole-shutdown": BODIES["whole-shutdown"],
    "setting/sound": Obj({"iotCode": IOT_CODE, "workMode": ON_OFF,
                          "volume": Int(range(1, 4), required=False)}),
    "setting/speed-mode": BODIES["setting/speed-mode"],
    "setting/scooter": Obj({"iotCode": IOT_CODE, **LIMITS,
                            "buttonSwitchSpeedMode": Int((0, 1), required=False)}),
    "setting/bluetooth-key": BODIES["setting/bluetooth-key"],
    # The first generation (paths under /api/vehicle/, server/vendor_v1.py).
    "v1/unlock": _v1(),
    "v1/lock": _v1(),
    "v1/toot": _v1(contentType=Int((6, 7))),  # 7 alarm on, 6 alarm off: the values seen
    "v1/headlight": _v1(controlType=Int((0, 1))),
    "v1/speed-mode": _v1(speedMode=Int(range(1, 4))),
    "v1/battery/cover": _v1(),
    "v1/setting/speed-limit": _v1(**LIMITS),
    "v1/setting/location": _v1(uploadInterval=INTERVAL),
    "v1/iot/bind": _v1(qrCode=VEHICLE_CODE),
}


def _prepare(fleet: Any, rows: npt.NDArray[np.intp]) -> None:
    """One battery pack, no mech lock, no A200 switch speedLimit (its own limits instead)."""
    fleet.battery_count[rows] = 1
    fleet.pack_percent[rows, 1:] = 0
    fleet.has_mech_lock[rows] = False
    fleet.speed_limit[rows] = 0


PROFILE = Profile(
    name="scooter",
    title="Segway-Ninebot sharing kick scooter",
    queries=frozenset({"status", "location", "battery-info", "bluetooth-key",
                       "v1/get", "v1/version"}),
    bodies=SCOOTER_BODIES,
    # Three clients of one operator read the location time as `gpsUTCTime`.
    renames={"location": {"gpsUtcTime": "gpsUTCTime"}},
    # Low, medium, high (0 rides as medium); 25 km/h, the sharing scooters' legal top speed, is
    # also the top of the operator UI's limits. A kick keeps an empty scooter rolling slowly.
    mode_caps_kmh=(20.0, 15.0, 20.0, 25.0),
    top_kmh=25.0,
    unpowered_kmh=8.0,
    full_range_m=(50_000, 60_000, 50_000, 40_000),
    prepare=_prepare,
    evidence="public partner clients (reference/real-clients.md); FIDELITY.md, Vehicle models",
)
