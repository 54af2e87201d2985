"""The vehicle battery, its packs, the IoT backup battery, charging and the low-power alert.

Energy: a full battery is CAPACITY_WH, spent at the rate that gives its model's full range per
speed mode at a nominal 18 km/h on the flat (so remainingRange and the drain agree), more at
higher speed (air drag), plus the motor's share of climbing and accelerating (larger in the
higher assist modes and with the climbInput setting on). An empty battery gives no assist: the
rider pedals on, slower (movement.py). Parked vehicles drain a little (the IoT and the BMS), less
when dormant or in transport mode; a plugged charger fills the battery in about 4.5 hours
(fast to 80 %, slower above), warming the packs, and counts a cycle per 100 % charged.

Packs: `power` (the vehicle percent) is the master value. Each present pack keeps its offset
from the vehicle percent, shrunk as needed to stay within 0-100 (packs balance as they fill or
empty), so the packs' mean is always the vehicle percent, whoever set it. Voltages follow the
charge (fleet.pack_voltage) and sag a little under load.

Low power (alert 12) is raised when the reported percent falls under the switch setting's
lowPowerValue (0 disables it) and cleared when it is back at or above it.
"""

from __future__ import annotations

import numpy as np

from simulator.core import models, vehicle
from simulator.core.alerts import clear_alert, raise_alert
from simulator.core.events import Bus
from simulator.core.fleet import ALERT_BITS, PACKS, Fleet, pack_voltage
from simulator.world.movement import Moved
from simulator.world.places import Geo

CAPACITY_WH = 720.0  # 48 V x 15 Ah
NOMINAL_V = 48.0
MASS_KG = 100.0  # rider and bike
GRAVITY = 9.81
DRIVE_EFFICIENCY = 0.8
NOMINAL_MS = 5.0  # 18 km/h: the speed the full ranges are quoted for
# Share of climbing and accelerating work the motor does, by speed mode (0: as Eco).
ASSIST_SHARE = np.array([0.7, 0.5, 0.7, 0.9])
CLIMB_BOOST = 1.3  # climbInput on (2): more output when climbing
_WH_PER_M = CAPACITY_WH / models.FULL_RANGE_M  # [model, speed mode]

CHARGE_FAST_PCT_H, CHARGE_SLOW_PCT_H, CHARGE_TAPER_PCT = 25.0, 10.0, 80.0
CHARGER_EFFICIENCY = 0.85
RESUME_BELOW_PCT = 95.0  # a plugged, full battery tops up again under this
IDLE_PCT_DAY = {"awake": 0.5, "dormant": 0.1, "transport": 0.03}
IOT_CHARGE_PCT_H, IOT_BACKUP_PCT_H, IOT_SELF_PCT_H = 10.0, 2.0, 0.05
TEMP_TAU_S = 1200.0
RIDE_HEAT_C_PER_W = 6.0 / 300.0
CHARGE_HEAT_C = 8.0
PACK_TEMP_OFFSET_C = np.array([0.0, 0.4, 0.8])
SAG_OHM = 0.08
_LOW_POWER = np.uint32(ALERT_BITS[12])


def _present(f: Fleet, rows: np.ndarray) -> np.ndarray:
    """(n, PACKS) mask of the packs each vehicle has (batteryCount 1-3)."""
    count = np.clip(f.battery_count[rows], 1, PACKS)
    return np.arange(PACKS)[None, :] < count[:, None]


def sync_packs(f: Fleet, rows: np.ndarray, amps: np.ndarray | None = None) -> None:
    """Packs follow the vehicle percent; `amps` (per vehicle) make their voltage sag."""
    if not rows.size:
        return
    # Pack by pack on 1-d arrays: numpy reduces a short last axis very slowly.
    count = np.clip(f.battery_count[rows], 1, PACKS)
    power = f.power[rows].astype(np.float64)
    old = f.pack_percent[rows]
    present = [count > k for k in range(PACKS)]
    mean = sum(old[:, k] * present[k] for k in range(PACKS)) / count
    spread = [(old[:, k] - mean) * present[k] for k in range(PACKS)]
    high = np.maximum(np.maximum(spread[0], spread[1]), spread[2])
    low = -np.minimum(np.minimum(spread[0], spread[1]), spread[2])
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.minimum(np.where(high > 0, (100.0 - power) / high, 1.0),
                       np.where(low > 0, power / low, 1.0))
    k = np.clip(k, 0.0, 1.0)
    sag = 0.0 if amps is None else SAG_OHM * amps / count
    packs = np.empty_like(old)
    volts = np.empty_like(old)
    for n in range(PACKS):
        # Clipped: power + k * spread lands on 0 or 100 exactly only up to rounding (-4e-16).
        pct = np.clip(power + k * spread[n], 0.0, 100.0) * present[n]
        packs[:, n] = pct
        volts[:, n] = pack_voltage(pct) - sag * present[n]
    f.pack_percent[rows] = packs
    f.pack_voltage[rows] = np.round(volts, 1)


def ride_drain(f: Fleet, rows: np.ndarray, moved: Moved) -> None:
    """The energy of one riding second: power, packs and the motor's current power."""
    mode = np.clip(f.speed_mode[rows], 0, 3)
    v_mean = (moved.v0 + moved.v1) / 2.0
    drag = 0.7 + 0.3 * (v_mean / NOMINAL_MS) ** 2
    cruise = _WH_PER_M[f.model[rows], mode] * moved.distance * drag
    share = ASSIST_SHARE[mode] * np.where(f.climb_input[rows] == 2, CLIMB_BOOST, 1.0)
    work = MASS_KG * (GRAVITY * np.maximum(moved.climb, 0.0)
                      + 0.5 * np.maximum(moved.v1**2 - moved.v0**2, 0.0))
    wh = cruise + share * work / 3600.0 / DRIVE_EFFICIENCY
    wh = np.where(f.power[rows] > 0, wh, 0.0)
    f.power[rows] = np.maximum(f.power[rows] - 100.0 * wh / CAPACITY_WH, 0.0)
    watts = wh * 3600.0  # over one second
    f.current_power[rows] = np.round(watts)
    sync_packs(f, rows, watts / NOMINAL_V)


def sync_low_power(f: Fleet, bus: Bus, t: float, rows: np.ndarray | None = None) -> None:
    """Raise or clear alert 12 where it disagrees with the charge (`rows`, or every vehicle)."""
    sel = slice(None) if rows is None else rows
    threshold = f.low_power_value[sel]
    want = (threshold > 0) & (np.round(f.power[sel]) < threshold) & f.activated[sel]
    have = (f.alerts[sel] & _LOW_POWER) != 0
    changed = np.flatnonzero(want != have)
    targets = changed if rows is None else rows[changed]
    for i, low in zip(targets, want[changed], strict=True):
        (raise_alert if low else clear_alert)(f, int(i), 12, t, bus)


def set_plugged(f: Fleet, bus: Bus, row: int, plugged: bool, t: float) -> None:
    """A charger is plugged into (or pulled from) vehicle `row` at `t`; it charges while plugged
    and not full, and reports the change of charge state."""
    f.plugged[row] = plugged
    if plugged:  # someone handled the vehicle: it wakes
        f.dormant[row] = False
        f.last_active[row] = t
    _set_charging(f, bus, np.array([row]), plugged and f.power[row] < 100, t)


def _set_charging(f: Fleet, bus: Bus, rows: np.ndarray, charging: bool, t: float) -> None:
    for i in rows[f.charging[rows] != charging]:
        f.charging[i] = charging
        if not charging:
            f.current_power[i] = 0.0
        vehicle.status_changed(f, int(i), t, bus, "charging" if charging else "charge-end")


def charge(f: Fleet, bus: Bus, t: float, dt: float) -> None:
    """`dt` seconds of every plugged charger: fill, count cycles, stop when full."""
    _set_charging(f, bus, np.flatnonzero(f.plugged & ~f.charging & f.activated
                                      & (f.power < RESUME_BELOW_PCT)), True, t)
    rows = np.flatnonzero(f.charging & f.activated)
    if not rows.size:
        return
    power = f.power[rows].astype(np.float64)
    rate = np.where(power < CHARGE_TAPER_PCT, CHARGE_FAST_PCT_H, CHARGE_SLOW_PCT_H)
    gain = np.minimum(rate * dt / 3600.0, 100.0 - power)
    f.power[rows] = power + gain
    acc = f.charge_acc[rows] + gain
    cycled = acc >= 100.0
    f.charge_acc[rows] = np.where(cycled, acc - 100.0, acc)
    f.pack_cycles[rows[cycled]] += _present(f, rows[cycled])
    f.current_power[rows] = np.round(rate / 100.0 * CAPACITY_WH / CHARGER_EFFICIENCY)
    sync_packs(f, rows)
    _set_charging(f, bus, rows[f.power[rows] >= 100.0], False, t)


def idle(f: Fleet, bus: Bus, geo: Geo, rows: np.ndarray, t: float, dt: float) -> None:
    """`dt` seconds of `rows` standing: self-drain, the IoT battery, pack temperatures."""
    rows = rows[f.activated[rows]]
    standing = rows[~f.riding[rows] & ~f.charging[rows] & ~f.plugged[rows] & (f.power[rows] > 0)]
    if standing.size:
        per_day = np.where(f.transport[standing], IDLE_PCT_DAY["transport"],
                           np.where(f.dormant[standing], IDLE_PCT_DAY["dormant"],
                                    IDLE_PCT_DAY["awake"]))
        f.power[standing] = np.maximum(f.power[standing] - per_day * dt / 86400.0, 0.0)
        sync_packs(f, standing)

    # The IoT box lives on the main battery and falls back on its own when that is empty.
    awake = ~f.transport[rows]
    mains = (f.power[rows] > 0) | f.charging[rows]
    rate = np.where(awake & mains, IOT_CHARGE_PCT_H,
                    np.where(awake, -IOT_BACKUP_PCT_H, -IOT_SELF_PCT_H))
    iot = np.clip(f.iot_percent[rows] + rate * dt / 3600.0, 0.0, 100.0)
    f.iot_percent[rows] = iot
    f.iot_voltage[rows] = np.round(370.0 + 0.42 * iot)
    for i in rows[awake & ~mains & (iot <= 0) & f.online[rows]]:
        f.online[i] = False
        f.offline_until[i] = np.inf  # back when there is power again
        vehicle.status_changed(f, int(i), t, bus, "offline")

    heat = (np.where(f.riding[rows], RIDE_HEAT_C_PER_W * f.current_power[rows], 0.0)
            + np.where(f.charging[rows], CHARGE_HEAT_C, 0.0))
    target = geo.at(f.platform[rows]).ambient(t, f.lon[rows]) + heat
    k = -np.expm1(-dt / TEMP_TAU_S)
    temps = f.pack_temp[rows]
    f.pack_temp[rows] = np.where(
        _present(f, rows), temps + (target[:, None] + PACK_TEMP_OFFSET_C[None, :] - temps) * k,
        0.0)


def revive(f: Fleet, bus: Bus, t: float) -> None:
    """Vehicles that went offline with a flat IoT battery come back once there is power."""
    for i in np.flatnonzero(np.isinf(f.offline_until) & ((f.power > 0) | f.charging)
                            & ~f.transport):
        f.offline_until[i] = 0.0
        if not f.online[i]:
            f.online[i] = True
            vehicle.status_changed(f, int(i), t, bus, "online")
