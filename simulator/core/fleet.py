"""The fleet as numpy arrays, one row per vehicle (structure of arrays).

Continuous and discrete state live in columns so that physics ticks over the whole fleet in a few
vectorised operations; a command touches one row. Columns are declared once in `COLUMNS`, which
also drives growth, snapshots and the control plane's field list. Rarely used nested settings
(ambient lamp effects, the sound mask) live in a sparse per-row dict, `extras`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.core.geo import City
from simulator.core.rng import hash_bits, hash_normal, hash_uniform, stream_id

PACKS = 3  # batteryCount is 1-3 (battery-info field table)


@dataclass(frozen=True)
class Column:
    dtype: Any
    default: Any
    width: int = 0  # 0: one value per vehicle; k: k values per vehicle (battery packs)


COLUMNS: dict[str, Column] = {
    # identity
    "uid": Column(np.int64, 0),  # creation ordinal: keys per-vehicle randomness
    "platform": Column(np.int16, 0),  # index into the simulator's platform list
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

# Alert codes of the alert push and the bit each occupies in the `alerts` column.
ALERT_CODES = (1, 2, 3, 4, 12)
ALERT_BITS = {code: 1 << n for n, code in enumerate(ALERT_CODES)}

# Firmware from which the vehicle supports /setting/interval (see FIDELITY.md).
INTERVAL_MIN_FIRMWARE = 10400
FIRMWARES = (10208, 10305, 10402, 10500)
FIRMWARE_WEIGHTS = (0.1, 0.2, 0.3, 0.4)


def firmware_str(code: int) -> str:
    return f"{code // 10000}.{code // 100 % 100}.{code % 100}"


def firmware_code(text: str) -> int:
    major, minor, patch = (int(p) for p in text.split("."))
    if not (0 <= minor < 100 and 0 <= patch < 100 and 0 <= major < 100):
        raise ValueError(text)
    return major * 10000 + minor * 100 + patch


def luhn_digit(body: str) -> str:
    total = 0
    for n, ch in enumerate(reversed(body)):
        d = int(ch)
        if n % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return str((10 - total % 10) % 10)


def _empty(col: Column, n: int) -> np.ndarray:
    shape = (n, col.width) if col.width else (n,)
    return np.full(shape, col.default, dtype=col.dtype)


class Fleet:
    """All vehicles of all platforms. Arrays are exactly `len(self)` long."""

    # Declared for readers and type checkers; created from COLUMNS in __init__.
    uid: np.ndarray
    platform: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    if TYPE_CHECKING:
        # Every name in COLUMNS is an array attribute; typos still raise AttributeError at run time.
        def __getattr__(self, name: str) -> np.ndarray: ...

    def __init__(self) -> None:
        for name, col in COLUMNS.items():
            setattr(self, name, _empty(col, 0))
        self.imeis: list[str] = []
        self.index: dict[str, int] = {}
        self.extras: dict[int, dict[str, Any]] = {}
        self.next_uid = 0

    def __len__(self) -> int:
        return len(self.imeis)

    def column(self, name: str) -> np.ndarray:
        arr: np.ndarray = getattr(self, name)
        return arr

    def find(self, imei: str) -> int | None:
        return self.index.get(imei)

    def extra(self, i: int) -> dict[str, Any]:
        return self.extras.setdefault(i, {})

    def grow(self, imeis: list[str]) -> np.ndarray:
        """Append rows with column defaults; returns their indices."""
        dup = [m for m in imeis if m in self.index]
        if dup or len(set(imeis)) != len(imeis):
            raise ValueError(f"duplicate IMEI {dup[:1] or imeis}")
        start, k = len(self), len(imeis)
        for name, col in COLUMNS.items():
            setattr(self, name, np.concatenate([self.column(name), _empty(col, k)]))
        rows = np.arange(start, start + k)
        self.uid[rows] = np.arange(self.next_uid, self.next_uid + k)
        self.next_uid += k
        for n, imei in enumerate(imeis):
            self.index[imei] = start + n
        self.imeis.extend(imeis)
        return rows

    # -- generation ---------------------------------------------------------------------------

    def populate(
        self,
        rows: np.ndarray,
        seed: int,
        platform: int,
        city: City,
        now: float,
        variety: bool = True,
    ) -> None:
        """Give fresh rows seeded, varied, plausible state around `city`.

        Every draw is keyed by (seed, uid), so a vehicle's start state does not depend on how
        many vehicles were created before it in the same call.
        """
        uid = self.uid[rows]

        def u(name: str) -> np.ndarray:
            return hash_uniform(seed, uid, 0, stream_id(name))

        k = len(rows)
        self.platform[rows] = platform
        # Parked uniformly over the service disc.
        r = city.radius_m * np.sqrt(u("pos-r"))
        theta = 2 * np.pi * u("pos-t")
        self.lat[rows] = city.lat + r * np.sin(theta) / city.meters_per_deg_lat()
        self.lon[rows] = city.lon + r * np.cos(theta) / city.meters_per_deg_lon()
        self.altitude[rows] = city.altitude_m + 3.0 * hash_normal(seed, uid, 0, stream_id("alt"))
        sats = np.clip(np.round(9 + 3 * hash_normal(seed, uid, 0, stream_id("sats"))), 4, 20)
        self.satellites[rows] = sats
        # Fewer satellites, worse dilution of precision.
        self.hdop[rows] = np.round(np.clip(12.0 / sats + 0.3 * u("hdop"), 0.6, 5.0), 2)
        self.gps_time[rows] = int(now)
        self.status_time[rows] = int(now)
        self.last_active[rows] = now

        power = np.round(np.clip(20 + 80 * np.sqrt(u("power")), 0, 100))
        self.power[rows] = power
        count = 1 + (u("packs") > 0.7).astype(np.int8) + (u("packs") > 0.9).astype(np.int8)
        self.battery_count[rows] = count
        spread = 4.0 * hash_normal(seed, uid, 0, stream_id("pack-spread"))
        for p in range(PACKS):
            self.pack_percent[rows, p] = np.where(
                p < count, np.clip(np.round(power + spread * (p - (count - 1) / 2)), 0, 100), 0
            )
            self.pack_cycles[rows, p] = np.where(
                p < count, (u(f"cycles{p}") * 400).astype(np.int32), 0
            )
            self.pack_temp[rows, p] = np.where(p < count, np.round(22 + 6 * u(f"temp{p}")), 0)
        self.pack_voltage[rows] = pack_voltage(self.pack_percent[rows])
        self.iot_percent[rows] = np.round(np.clip(85 + 15 * u("iot"), 0, 100))
        self.iot_voltage[rows] = np.round(370 + 0.42 * self.iot_percent[rows]).astype(np.int16)
        self.lock_voltage[rows] = np.round(340 + 75 * u("lockv")).astype(np.int16)
        self.network_signal[rows] = np.clip(np.round(20 + 5 * hash_normal(seed, uid, 0, 7)), 2, 32)
        self.odometer[rows] = np.round(u("odo") * 3_000_000)
        self.riding_secs[rows] = np.round(self.odometer[rows] / 4.2)  # ~15 km/h on average
        self.speed_mode[rows] = 1 + np.minimum((u("mode") * 3).astype(np.int8), 2)
        self.has_mech_lock[rows] = u("mech") < 0.6
        choice = np.searchsorted(np.cumsum(FIRMWARE_WEIGHTS), u("fw") * 0.999999)
        self.firmware[rows] = np.asarray(FIRMWARES)[choice]
        keys = hash_bits(seed, uid, 0, stream_id("btkey"))
        self.bt_key[rows] = [_bt_key(int(b)) for b in keys] if k else []
        self.speed_limit[rows] = 25 if city.name != "San Francisco" else 32
        if variety:
            # A real fleet is never all healthy: a few of each awkward state, by seed.
            state = u("state")
            self.activated[rows] = state >= 0.01
            self.online[rows] = ~((state >= 0.01) & (state < 0.04))
            self.dormant[rows] = (state >= 0.04) & (state < 0.06)
            self.upgrading[rows] = (state >= 0.06) & (state < 0.07)
            self.has_fix[rows] = ~((state >= 0.07) & (state < 0.08))


_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _bt_key(bits: int) -> bytes:
    chars = []
    for _ in range(8):
        bits, r = divmod(bits, len(_KEY_ALPHABET))
        chars.append(_KEY_ALPHABET[r])
    return "".join(chars).encode()


def pack_voltage(percent: np.ndarray) -> np.ndarray:
    """Volts of a 13s lithium pack at the given charge (39 V empty, 54.6 V full)."""
    return np.round(39.0 + 15.6 * np.asarray(percent, dtype=np.float32) / 100.0, 1)


def make_imeis(seed: int, uids: np.ndarray, taken: set[str] | dict[str, int]) -> list[str]:
    """15-digit IMEIs with a Chinese-style "86" TAC prefix and a valid Luhn check digit."""
    out: list[str] = []
    seen: set[str] = set()
    salt = 0
    for uid, bits in zip(uids, hash_bits(seed, uids, 0, stream_id("imei")), strict=True):
        value = int(bits)
        while True:
            body = "86" + f"{value % 10**12:012d}"
            imei = body + luhn_digit(body)
            if imei not in taken and imei not in seen:
                break
            salt += 1
            value = int(hash_bits(seed, np.array([uid]), salt, stream_id("imei"))[0])
        seen.add(imei)
        out.append(imei)
    return out
