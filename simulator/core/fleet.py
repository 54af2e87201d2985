"""The fleet as numpy arrays, one row per vehicle (structure of arrays).

Continuous and discrete state live in columns so that physics ticks over the whole fleet in a few
vectorised operations; a command touches one row. Columns are declared once in `COLUMNS`
(core/columns.py, re-exported here), which drives growth, snapshots and the control plane's field
list. Rarely used nested settings (ambient lamp effects, the sound mask) live in a sparse per-row
dict, `extras`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.core.columns import COLUMNS as COLUMNS
from simulator.core.columns import PACKS as PACKS
from simulator.core.columns import Column as Column
from simulator.core.geo import City
from simulator.core.rng import hash_bits, hash_normal, hash_uniform, stream_id

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


def _empty(col: Column, n: int) -> npt.NDArray[Any]:
    shape = (n, col.width) if col.width else (n,)
    return np.full(shape, col.default, dtype=col.dtype)


class Fleet:
    """All vehicles of all platforms. Arrays are exactly `len(self)` long.

    Every column of COLUMNS is a plain instance attribute, bound by `__init__` and rebound by
    `grow`, so the tick's hot loops read it as cheaply as any attribute (no property, no
    `__getattr__`). The annotations are for type checkers; COLUMNS stays the one table of names,
    dtypes and defaults, and tests/test_fleet_columns.py fails if the two disagree.
    """

    uid: npt.NDArray[np.int64]
    platform: npt.NDArray[np.int16]
    model: npt.NDArray[np.uint8]
    firmware: npt.NDArray[np.int32]
    has_mech_lock: npt.NDArray[np.bool_]
    activated: npt.NDArray[np.bool_]
    online: npt.NDArray[np.bool_]
    locked: npt.NDArray[np.bool_]
    riding: npt.NDArray[np.bool_]
    upgrading: npt.NDArray[np.bool_]
    dormant: npt.NDArray[np.bool_]
    transport: npt.NDArray[np.bool_]
    charging: npt.NDArray[np.bool_]
    mech_lock_open: npt.NDArray[np.bool_]
    cover_open: npt.NDArray[np.bool_]
    anti_theft: npt.NDArray[np.bool_]
    wireless_charging: npt.NDArray[np.bool_]
    has_fix: npt.NDArray[np.bool_]
    location_valid: npt.NDArray[np.bool_]
    alerts: npt.NDArray[np.uint32]
    faults: npt.NDArray[np.uint64]
    speed_mode: npt.NDArray[np.int8]
    speed: npt.NDArray[np.float32]
    power: npt.NDArray[np.float32]
    odometer: npt.NDArray[np.float64]
    riding_secs: npt.NDArray[np.float64]
    network_signal: npt.NDArray[np.int8]
    lock_voltage: npt.NDArray[np.int16]
    status_time: npt.NDArray[np.int64]
    last_active: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    altitude: npt.NDArray[np.float32]
    hdop: npt.NDArray[np.float32]
    satellites: npt.NDArray[np.int8]
    gps_time: npt.NDArray[np.int64]
    battery_count: npt.NDArray[np.int8]
    pack_percent: npt.NDArray[np.float32]
    pack_voltage: npt.NDArray[np.float32]
    pack_cycles: npt.NDArray[np.int32]
    pack_temp: npt.NDArray[np.float32]
    iot_percent: npt.NDArray[np.float32]
    iot_voltage: npt.NDArray[np.int16]
    current_power: npt.NDArray[np.float32]
    bss_display: npt.NDArray[np.int8]
    alert_sensitivity: npt.NDArray[np.int8]
    unlock_head_light: npt.NDArray[np.int8]
    unlock_tail_light: npt.NDArray[np.int8]
    brake_tail_light: npt.NDArray[np.int8]
    wireless_charge: npt.NDArray[np.int8]
    climb_input: npt.NDArray[np.int8]
    speed_limit: npt.NDArray[np.int8]
    low_power_value: npt.NDArray[np.int8]
    head_light: npt.NDArray[np.int8]
    tail_light: npt.NDArray[np.int8]
    mode_limit: npt.NDArray[np.int8]
    sound_work_mode: npt.NDArray[np.int8]
    sound_volume: npt.NDArray[np.int8]
    bt_key: npt.NDArray[np.bytes_]
    loc_unlock_interval: npt.NDArray[np.int32]
    loc_lock_interval: npt.NDArray[np.int32]
    status_riding_interval: npt.NDArray[np.int32]
    status_nonriding_interval: npt.NDArray[np.int32]
    status_lock_interval: npt.NDArray[np.int32]
    plugged: npt.NDArray[np.bool_]
    charge_acc: npt.NDArray[np.float32]
    ride_end: npt.NDArray[np.float64]
    stop_until: npt.NDArray[np.float64]
    cruise: npt.NDArray[np.float32]
    heading: npt.NDArray[np.int8]
    stop_next: npt.NDArray[np.bool_]
    target_i: npt.NDArray[np.int16]
    target_j: npt.NDArray[np.int16]
    dest_i: npt.NDArray[np.int16]
    dest_j: npt.NDArray[np.int16]
    gps_de: npt.NDArray[np.float32]
    gps_dn: npt.NDArray[np.float32]
    offline_until: npt.NDArray[np.float64]
    fall_until: npt.NDArray[np.float64]
    moving_until: npt.NDArray[np.float64]

    def __init__(self) -> None:
        for name, col in COLUMNS.items():
            setattr(self, name, _empty(col, 0))
        self.imeis: list[str] = []
        self.index: dict[str, int] = {}
        self.extras: dict[int, dict[str, Any]] = {}
        self.next_uid = 0

    def clear(self) -> None:
        """No vehicles, uids from 0 again (a reset: the fleet keeps its identity)."""
        self.copy_from(Fleet())

    def copy_from(self, other: Fleet) -> None:
        """Take every column and index of `other` (a snapshot load, read into `other` first)."""
        for name in COLUMNS:
            setattr(self, name, getattr(other, name))
        self.imeis, self.index, self.extras = other.imeis, other.index, other.extras
        self.next_uid = other.next_uid

    def __len__(self) -> int:
        return len(self.imeis)

    def column(self, name: str) -> npt.NDArray[Any]:
        """Column `name` of COLUMNS, for code that picks columns by name (snapshots, filters)."""
        if name not in COLUMNS:
            raise KeyError(f"no column {name!r}")
        arr: npt.NDArray[Any] = getattr(self, name)
        return arr

    def find(self, imei: str) -> int | None:
        return self.index.get(imei)

    def extra(self, i: int) -> dict[str, Any]:
        return self.extras.setdefault(i, {})

    def grow(self, imeis: list[str]) -> npt.NDArray[np.intp]:
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
        rows: npt.NDArray[np.intp],
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

        def u(name: str) -> npt.NDArray[np.float64]:
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


def pack_voltage(percent: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Volts of a 13s lithium pack at the given charge (39 V empty, 54.6 V full)."""
    return np.round(39.0 + 15.6 * np.asarray(percent, dtype=np.float32) / 100.0, 1)


def make_imeis(
    seed: int, uids: npt.NDArray[np.int64], taken: set[str] | dict[str, int]
) -> list[str]:
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
