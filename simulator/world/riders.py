"""Virtual riders: after an unlock, someone rides, parks and locks by hand.

The A200 has no lock endpoint: the lock comes from the vehicle, when its rider is done. With
riders on (Config.riders, `--riders on`), every unlock (a STATUS event with reason "unlock")
brings a rider, who gets on after a few seconds, rides for a log-normal duration (median
PhysicsConfig.ride_median_s, 1 min - 3 h), brakes to a stop PARK_LEAD_S before the end, and
locks. With riders off, unlocked vehicles stay parked unless a ride is started explicitly.

Interface used by the control plane and scenarios (through the world engine, engine.World):
- start_ride(env, cfg, row, seconds=None): a rider gets on the unlocked vehicle `row` and rides
  for `seconds` of virtual time (None: drawn), then parks and locks at exactly that time.
- end_ride(env, row): the rider parks and locks now.

A ride lives in fleet columns (riding, ride_end, stop_until, cruise, heading...) and its
exact-time lock is a data timer (RIDE_END, core/timers.py), so both travel in a snapshot; the
world's 1 s step locks any ride past its end whose timer is gone (a snapshot made before timers
travelled, a ride set from outside).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.core import vehicle
from simulator.core.draws import lognormal, normal2, uniform2
from simulator.core.env import Env
from simulator.core.errors import SimError
from simulator.core.events import STATUS, Event
from simulator.core.fleet import Fleet
from simulator.core.rng import stream_id
from simulator.world import places
from simulator.world.config import PhysicsConfig

RIDE_SIGMA, RIDE_S = 0.65, (60.0, 3 * 3600.0)
MOUNT_S = (4.0, 15.0)  # from the unlock to the first pedal stroke
PARK_LEAD_S = 8.0  # the rider starts braking to park this long before the ride ends
CRUISE_KMH, CRUISE_SPREAD_KMH, CRUISE_RANGE = 18.0, 2.5, (10.0, 30.0)

RIDE_END = "ride-end"  # the timer kind: (row, end), registered by the world engine
_RIDE = stream_id("rider-ride")
_MOUNT = stream_id("rider-mount")


def start_ride(env: Env, cfg: PhysicsConfig, row: int, seconds: float | None = None) -> None:
    f = env.fleet
    if f.locked[row]:
        raise SimError("type", "a rider can only ride an unlocked vehicle")
    if f.transport[row] or not f.activated[row]:
        raise SimError("type", "a rider cannot ride a vehicle that is powered off or inactive")
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise SimError("seconds", "must be a number of seconds > 0")
    now = env.clock.now
    _get_on(f, env.seed, cfg, row, now, seconds)
    end = float(f.ride_end[row])
    env.timers.at(end, RIDE_END, row, end)


def end_ride(env: Env, row: int) -> None:
    _park_and_lock(env, row, env.clock.now)


def on_event(env: Env, cfg: PhysicsConfig, event: Event) -> None:
    """Bus listener (while riders are on): an unlock brings a rider."""
    if (event.kind == STATUS and event.data.get("reason") == "unlock"
            and not env.fleet.locked[event.row] and not env.fleet.riding[event.row]):
        start_ride(env, cfg, event.row)


def tick(env: Env, cfg: PhysicsConfig, t: int) -> None:
    """Second `t` of every ride: brake to park near the end, lock at the end."""
    f = env.fleet
    rows = np.flatnonzero(f.riding)
    if not rows.size:
        return
    end = f.ride_end[rows]
    for i in rows[end <= 0]:  # riding without a ride (set from outside): a rider takes it on
        _get_on(f, env.seed, cfg, int(i), float(t), None)
    end = f.ride_end[rows]
    parking = rows[end - PARK_LEAD_S <= t]
    f.stop_until[parking] = np.maximum(f.stop_until[parking], f.ride_end[parking])
    for i in rows[end <= t]:
        _park_and_lock(env, int(i), t)


def _get_on(f: Fleet, seed: int, cfg: PhysicsConfig, row: int, now: float,
            seconds: float | None) -> None:
    uid, key = f.uid[row:row + 1], round(now * 1000)
    z_length, z_cruise = normal2(seed, uid, key, _RIDE)
    u_mount, _ = uniform2(seed, uid, key, _MOUNT)
    if seconds is None:  # whole seconds: a ride begun on the second ends on one
        seconds = float(np.ceil(lognormal(cfg.ride_median_s, RIDE_SIGMA,
                                          z_length, *RIDE_S)[0]))
    f.riding[row] = True
    f.ride_end[row] = now + seconds
    f.stop_until[row] = now + MOUNT_S[0] + (MOUNT_S[1] - MOUNT_S[0]) * float(u_mount[0])
    f.cruise[row] = float(np.clip(CRUISE_KMH + CRUISE_SPREAD_KMH * z_cruise[0], *CRUISE_RANGE))
    f.heading[row] = -1  # the route starts at the next step
    f.speed[row] = 0.0
    f.last_active[row] = now


def end_if_due(env: Env, row: int, end: float) -> None:
    """The RIDE_END timer: the ride that was to end at `end` ends now, if it still rides."""
    f = env.fleet
    if row < len(f) and f.riding[row] and f.ride_end[row] == end:
        _park_and_lock(env, row, env.clock.now)


def _step_to_the_kerb(env: Env, row: int, t: float) -> None:
    """The rider wheels the vehicle off the street: to the kerb, or into a hub close by. The
    fix moves with it (its error stays)."""
    f = env.fleet
    city = env.platform_of(row).city
    place = places.city_place(city)
    lat, lon = np.array([f.lat[row]]), np.array([f.lon[row]])
    true_lat, true_lon = lat - f.gps_dn[row] / place.m_lat, lon - f.gps_de[row] / place.m_lon
    x, y = place.local(true_lat, true_lon)
    px, py = places.park_at_end(place, env.seed, city, int(f.uid[row]), math.floor(t),
                                float(x[0]), float(y[0]))
    f.lat[row] += (py - float(y[0])) / place.m_lat
    f.lon[row] += (px - float(x[0])) / place.m_lon
    f.odometer[row] += math.hypot(px - float(x[0]), py - float(y[0]))  # the wheels turn


def _park_and_lock(env: Env, row: int, t: float) -> None:
    f = env.fleet
    if f.riding[row]:
        _step_to_the_kerb(env, row, t)
    f.riding[row] = False
    f.speed[row] = 0.0
    f.current_power[row] = 0.0
    f.heading[row] = -1
    # The lock is heard while the ride's end is still set: listeners can tell whose ride ended.
    vehicle.rider_lock(f, row, t, env.bus)
    f.ride_end[row] = 0.0
