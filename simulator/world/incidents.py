"""What happens to vehicles by chance: network spells, falls, illegal moving, A200 faults, and
dormancy after a long idle.

Every chance is a Poisson rate per vehicle from PhysicsConfig (config.py), drawn at the
vehicle's turn in the slow round (physics.py) and keyed by vehicle and virtual second (draws.py),
so the same seed gives the same incidents however the clock is advanced. Each incident that
appears also disappears: a spell ends with a reconnect, a fallen vehicle is picked up, an alarm
stops, a fault clears (at its own rate, whoever raised it). Alerts and faults go through
alerts.py (one event per change); online changes publish STATUS.
"""

from __future__ import annotations

import numpy as np

from simulator.core import vehicle
from simulator.core.alerts import (
    FAULT_BITS,
    FAULT_CODES,
    RESERVED_FAULTS,
    clear_alert,
    clear_fault,
    raise_alert,
    raise_fault,
)
from simulator.core.draws import chance, lognormal, normal2, uniform2
from simulator.core.events import Bus
from simulator.core.fleet import ALERT_BITS, Fleet
from simulator.core.rng import stream_id
from simulator.world.config import PhysicsConfig

SPELL_SIGMA, SPELL_S = 1.0, (30.0, 6 * 3600.0)
PICKUP_MEDIAN_S, RIDER_PICKUP_MEDIAN_S, PICKUP_S = 1800.0, 20.0, (5.0, 12 * 3600.0)
ALARM_MEDIAN_S, ALARM_S = 90.0, (10.0, 1800.0)
# alertSensitivity 1-3 (switch setting): how readily the alarm reacts to being moved.
SENSITIVITY = np.array([1.0, 0.5, 1.0, 2.0])
RAISED_FAULTS = tuple(c for c in FAULT_CODES if c not in RESERVED_FAULTS)
_RAISED_INDEX = np.array([FAULT_CODES.index(c) for c in RAISED_FAULTS])

_SPELL = stream_id("incident-spell")
_FALL = stream_id("incident-fall")
_MOVING = stream_id("incident-moving")
_SPELL_LENGTH = stream_id("incident-spell-length")
_FALL_LENGTH = stream_id("incident-fall-length")
_MOVING_LENGTH = stream_id("incident-moving-length")
_FAULT = stream_id("incident-fault")
_FAULT_CLEAR = stream_id("incident-fault-clear")
_FELL = np.uint32(ALERT_BITS[2] | ALERT_BITS[4])
_MOVED = np.uint32(ALERT_BITS[1])


def endings(f: Fleet, bus: Bus, t: int) -> None:
    """Spells, falls and alarms that are over by `t`: reconnect, pick up, fall silent."""
    for i in np.flatnonzero((f.offline_until > 0) & (f.offline_until <= t)):
        f.offline_until[i] = 0.0
        if not f.online[i] and not f.transport[i]:
            f.online[i] = True
            vehicle.status_changed(f, int(i), t, bus, "online")
    for i in np.flatnonzero((f.fall_until > 0) & (f.fall_until <= t)):
        f.fall_until[i] = 0.0
        for code in (2, 4):
            clear_alert(f, int(i), code, t, bus)
    for i in np.flatnonzero((f.moving_until > 0) & (f.moving_until <= t)):
        f.moving_until[i] = 0.0
        clear_alert(f, int(i), 1, t, bus)


def begin(f: Fleet, bus: Bus, seed: int, cfg: PhysicsConfig, rows: np.ndarray, t: int,
          dt: float) -> None:
    """What may have started for `rows` in the `dt` seconds up to `t`."""
    rows = rows[f.activated[rows] & ~f.transport[rows] & f.online[rows]]  # reachable
    _faults(f, bus, seed, cfg, rows, t, dt)
    _falls(f, bus, seed, cfg, rows, t, dt)
    _illegal_moving(f, bus, seed, cfg, rows, t, dt)
    _spells(f, bus, seed, cfg, rows, t, dt)  # last: a spell takes the vehicle offline


def _spells(f: Fleet, bus: Bus, seed: int, cfg: PhysicsConfig, rows: np.ndarray, t: int,
            dt: float) -> None:
    p = chance(cfg.offline_per_hour, dt)
    if p <= 0:
        return
    u, _ = uniform2(seed, f.uid[rows], t, _SPELL)
    rows = rows[u < p]
    z, _ = normal2(seed, f.uid[rows], t, _SPELL_LENGTH)
    f.offline_until[rows] = t + np.ceil(lognormal(cfg.offline_median_s, SPELL_SIGMA, z, *SPELL_S))
    for i in rows:
        f.online[i] = False
        vehicle.status_changed(f, int(i), t, bus, "offline")


def _falls(f: Fleet, bus: Bus, seed: int, cfg: PhysicsConfig, rows: np.ndarray, t: int,
           dt: float) -> None:
    """Standing vehicles fall over (riders fall too, more rarely) and lie until picked up."""
    p_parked, p_riding = chance(cfg.falls_per_hour, dt), chance(cfg.ride_falls_per_hour, dt)
    if p_parked <= 0 and p_riding <= 0:
        return
    rows = rows[(f.alerts[rows] & _FELL) == 0]
    riding = f.riding[rows]
    u, _ = uniform2(seed, f.uid[rows], t, _FALL)
    hit = u < np.where(riding, p_riding, p_parked)
    rows, riding = rows[hit], riding[hit]
    if not rows.size:
        return
    z, _ = normal2(seed, f.uid[rows], t, _FALL_LENGTH)
    median = np.where(riding, RIDER_PICKUP_MEDIAN_S, PICKUP_MEDIAN_S)
    until = t + np.ceil(lognormal(median, 1.0, z, *PICKUP_S))
    f.fall_until[rows] = until  # picked up at the first slow step from then on
    f.speed[rows[riding]] = 0.0
    f.stop_until[rows[riding]] = np.maximum(f.stop_until[rows[riding]], until[riding])
    for i in rows:
        _wake(f, int(i), t)
        raise_alert(f, int(i), 2 if f.locked[i] else 4, t, bus)


def _illegal_moving(
    f: Fleet, bus: Bus, seed: int, cfg: PhysicsConfig, rows: np.ndarray, t: int, dt: float
) -> None:
    """A parked vehicle with its alarm armed (locked, or anti-theft on) is moved by someone.

    The alarm goes off and stops after a while; the vehicle is jostled, not carried off, so its
    position stays within GPS drift (carrying it off would be a scenario's story).
    """
    p = chance(cfg.illegal_moving_per_hour, dt)
    if p <= 0:
        return
    armed = f.locked[rows] | f.anti_theft[rows]
    rows = rows[armed & ~f.riding[rows] & ((f.alerts[rows] & _MOVED) == 0)]
    u, _ = uniform2(seed, f.uid[rows], t, _MOVING)
    sensitivity = SENSITIVITY[np.clip(f.alert_sensitivity[rows], 0, 3)]
    rows = rows[u < -np.expm1(np.log1p(-p) * sensitivity)]
    z, _ = normal2(seed, f.uid[rows], t, _MOVING_LENGTH)
    f.moving_until[rows] = t + np.ceil(lognormal(ALARM_MEDIAN_S, 1.0, z, *ALARM_S))
    for i in rows:
        _wake(f, int(i), t)
        raise_alert(f, int(i), 1, t, bus)


def _faults(f: Fleet, bus: Bus, seed: int, cfg: PhysicsConfig, rows: np.ndarray, t: int,
            dt: float) -> None:
    """A200 fault codes (Appendix 2, reserved ones excepted) clear and appear at their rates."""
    p_clear = chance(cfg.fault_clear_per_hour, dt)
    with_faults = rows[f.faults[rows] != 0]
    if p_clear > 0 and with_faults.size:
        active = int(np.bitwise_or.reduce(f.faults[with_faults]))
        for n, code in enumerate(FAULT_CODES):
            if not active >> n & 1:
                continue
            have = with_faults[(f.faults[with_faults] & FAULT_BITS[code]) != 0]
            u, _ = uniform2(seed, f.uid[have], t, _FAULT_CLEAR ^ n)
            for i in have[u < p_clear]:
                clear_fault(f, int(i), code, t, bus)
    p = chance(cfg.faults_per_hour, dt)
    if p <= 0:
        return
    u, which = uniform2(seed, f.uid[rows], t, _FAULT)
    hit = u < p
    codes = _RAISED_INDEX[(which[hit] * len(RAISED_FAULTS)).astype(np.int64)]
    for i, n in zip(rows[hit], codes, strict=True):
        raise_fault(f, int(i), FAULT_CODES[n], t, bus)


def dormancy(f: Fleet, cfg: PhysicsConfig, rows: np.ndarray, t: int) -> None:
    """Locked vehicles left alone for `dormancy_idle_s` fall asleep (commands get 15704)."""
    if cfg.dormancy_idle_s <= 0:
        return
    idle = (f.activated[rows] & f.online[rows] & ~f.transport[rows] & ~f.dormant[rows]
            & f.locked[rows] & ~f.riding[rows] & ~f.charging[rows] & ~f.plugged[rows]
            & (t - f.last_active[rows] >= cfg.dormancy_idle_s))
    f.dormant[rows[idle]] = True


def _wake(f: Fleet, row: int, t: float) -> None:
    """Motion wakes a dormant IoT and counts as activity."""
    f.dormant[row] = False
    f.last_active[row] = t
