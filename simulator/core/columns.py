"""The fleet's columns: name, dtype, default and width of every per-vehicle array.

`COLUMNS` is the one table of them: `Fleet` allocates and grows its arrays from it, snapshots
and the control plane read and write columns by its names, and `Fleet`'s typed attributes are
checked against it by tests/test_fleet_columns.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

PACKS = 3  # batteryCount is 1-3 (battery-info field table)


@dataclass(frozen=True)
class Column:
    dtype: npt.DTypeLike
    default: Any
    width: int = 0  # 0: one value per vehicle; k: k values per vehicle (battery packs)


COLUMNS: dict[str, Column] = {
    # identity
    "uid": Column(np.int64, 0),  # creation ordinal: keys per-vehicle randomness
    "platform": Column(np.int16, 0),  # index into the simulator's platform list
    "model": Column(np.uint8, 0),  # index into core/models PROFILES (0: the A200)
    "firmware": Column(np.int32, 10500),  # major*10000 + minor*100 + patch
    "has_mech_lock": Column(np.bool_, True),
    # discrete state
    "activated": Column(np.bool_, True),
    "online": Column(np.bool_, True),
    "locked": Column(np.bool_, True),
    "riding": Column(np.bool_, False),  # a rider is on it (unlocked and in use)
    "upgrading": Column(np.bool_, False),
    "dormant": Column(np.bool_, False),
    "transport": Column(np.bool_, False),  # transport mode after whole-shutdown: powered off
    "charging": Column(np.bool_, False),
    "mech_lock_open": Column(np.bool_, False),
    "cover_open": Column(np.bool_, False),
    "anti_theft": Column(np.bool_, True),
    "wireless_charging": Column(np.bool_, False),
    "has_fix": Column(np.bool_, True),  # any fix since power-on (else 15400)
    "location_valid": Column(np.bool_, True),  # the latest fix is valid
    "alerts": Column(np.uint32, 0),  # bit per active alert code (see ALERT_BITS)
    "faults": Column(np.uint64, 0),  # bit per active A200 fault code (see faults.FAULT_CODES)
    # status
    "speed_mode": Column(np.int8, 2),
    "speed": Column(np.float32, 0.0),  # km/h
    "power": Column(np.float32, 80.0),  # vehicle battery percent, 0-100
    "odometer": Column(np.float64, 0.0),  # m
    "riding_secs": Column(np.float64, 0.0),
    "network_signal": Column(np.int8, 22),  # 2-32
    "lock_voltage": Column(np.int16, 400),  # 10 mV units, as the examples (342, 412)
    "status_time": Column(np.int64, 0),  # epoch s of the latest status report
    "last_active": Column(np.float64, 0.0),  # virtual time of the latest ride or command
    # location
    "lat": Column(np.float64, 0.0),
    "lon": Column(np.float64, 0.0),
    "altitude": Column(np.float32, 0.0),
    "hdop": Column(np.float32, 1.0),
    "satellites": Column(np.int8, 9),
    "gps_time": Column(np.int64, 0),
    # batteries
    "battery_count": Column(np.int8, 1),
    "pack_percent": Column(np.float32, 80.0, PACKS),
    "pack_voltage": Column(np.float32, 50.0, PACKS),
    "pack_cycles": Column(np.int32, 0, PACKS),
    "pack_temp": Column(np.float32, 25.0, PACKS),
    "iot_percent": Column(np.float32, 100.0),
    "iot_voltage": Column(np.int16, 412),  # 10 mV units: 412 -> 4.12 V
    "current_power": Column(np.float32, 0.0),  # W
    # settings: /ebike/setting/switch (0 = no setting is never stored: it keeps the value)
    "bss_display": Column(np.int8, 1),
    "alert_sensitivity": Column(np.int8, 2),
    "unlock_head_light": Column(np.int8, 2),
    "unlock_tail_light": Column(np.int8, 2),
    "brake_tail_light": Column(np.int8, 2),
    "wireless_charge": Column(np.int8, 2),
    "climb_input": Column(np.int8, 1),
    "speed_limit": Column(np.int8, 25),  # km/h, 6-32
    "low_power_value": Column(np.int8, 5),  # percent, 0-30, 0 disables
    # scooter: /vehicle/control/light (0 off, 1 on, 2 flicker), /vehicle/setting/scooter (km/h
    # by speed mode low, medium, high; 0: the mode's own top speed)
    "head_light": Column(np.int8, 0),
    "tail_light": Column(np.int8, 0),
    "mode_limit": Column(np.int8, 0, 3),
    # settings: /vehicle/setting/sound, /bluetooth-key
    "sound_work_mode": Column(np.int8, 2),
    "sound_volume": Column(np.int8, 2),
    "bt_key": Column("S8", b"abcd1234"),
    # settings: /vehicle/setting/interval, seconds; 0 = no periodic push of that kind
    "loc_unlock_interval": Column(np.int32, 10),
    "loc_lock_interval": Column(np.int32, 900),
    "status_riding_interval": Column(np.int32, 10),
    "status_nonriding_interval": Column(np.int32, 0),
    "status_lock_interval": Column(np.int32, 0),
    # the living fleet (physics.py, riders.py): rides, GPS error, chance incidents
    "plugged": Column(np.bool_, False),  # a charger is connected (charging: and not yet full)
    "charge_acc": Column(np.float32, 0.0),  # percent charged since the last cycle was counted
    "ride_end": Column(np.float64, 0.0),  # virtual time the rider parks and locks; 0: no ride
    "stop_until": Column(np.float64, 0.0),  # the rider stands still until (mount, light, fall)
    "cruise": Column(np.float32, 18.0),  # the rider's preferred speed, km/h
    "heading": Column(np.int8, -1),  # street-grid direction 0-3 of the ride; -1: no route yet
    "stop_next": Column(np.bool_, False),  # a red light at the next intersection
    "target_i": Column(np.int16, 0),  # the next intersection, in blocks of the city grid
    "target_j": Column(np.int16, 0),
    "dest_i": Column(np.int16, 0),  # where the ride heads, in blocks of the city grid
    "dest_j": Column(np.int16, 0),
    "gps_de": Column(np.float32, 0.0),  # error of the latest fix, m east / north of the truth
    "gps_dn": Column(np.float32, 0.0),
    "offline_until": Column(np.float64, 0.0),  # end of a network spell; inf: until powered
    "fall_until": Column(np.float64, 0.0),  # a fallen vehicle is picked up then; 0: not fallen
    "moving_until": Column(np.float64, 0.0),  # the illegal-moving alarm stops then
}
