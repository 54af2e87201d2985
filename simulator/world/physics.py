"""The physics of the fleet, vectorised over all vehicles (structure of arrays, DESIGN.md 1).

The world (engine.py) runs it as a discrete-time system on a grid of whole virtual seconds:
- every second, `ride_step` moves the riding vehicles (movement.py), takes their GPS fixes
  (gps.py), drains their batteries (battery.py) and keeps their low-power alert right;
- every SLOW_S seconds (on the minute), `slow_step` charges, ends what is over (spells, falls,
  alarms) and keeps low-power alerts right for everyone; and it gives one tenth of the fleet
  (a group, by uid) its turn of the slow round: chance incidents (incidents.py), self-drain,
  the IoT battery, pack temperatures, dormancy, a parked GPS fix and a new network signal, each
  for the ROUND_S (10 min) since its last turn. The staggering keeps every minute's work small.
Nothing else changes between those instants, which is what lets the world skip idle stretches
without changing a single result (see engine.py).

The rates of chance events are a PhysicsConfig (config.py), read at every step.
"""

from __future__ import annotations

import numpy as np

from simulator.core.draws import normal2
from simulator.core.env import Env
from simulator.core.fleet import Fleet
from simulator.core.rng import stream_id
from simulator.world import battery, gps, incidents, movement
from simulator.world.config import PhysicsConfig
from simulator.world.places import Context

__all__ = ["GROUPS", "ROUND_S", "SLOW_S", "PhysicsConfig", "network_signal", "ride_step",
           "slow_step"]

SLOW_S = 60
ROUND_S = 600  # each vehicle's turn in the slow round comes every ROUND_S seconds
GROUPS = ROUND_S // SLOW_S  # a vehicle's group (places.Context.group) says which minute
RIDING_SIGNAL_S = 10  # a riding vehicle's network signal changes faster (it moves through cells)
SIGNAL_TAU_S = 600.0
SIGNAL_SPREAD = 4.0
_SIGNAL = stream_id("network-signal")


def network_signal(f: Fleet, seed: int, ctx: Context, rows: np.ndarray, t: int,
                   dt: float) -> None:
    """Signal 2-32 wanders around each vehicle's usual level (mean-reverting, ~10 min)."""
    if not rows.size:
        return
    z, _ = normal2(seed, f.uid[rows], t, _SIGNAL)
    rho = np.exp(-dt / SIGNAL_TAU_S)
    base = ctx.signal_base[rows]
    level = base + rho * (f.network_signal[rows] - base) + np.sqrt(1 - rho**2) * SIGNAL_SPREAD * z
    f.network_signal[rows] = np.clip(np.round(level), 2, 32)


def ride_step(env: Env, cfg: PhysicsConfig, ctx: Context, rows: np.ndarray, t: int) -> None:
    """One second of the riding vehicles `rows`."""
    f, seed, bus = env.fleet, env.seed, env.bus
    for i in rows[f.plugged[rows]]:  # the rider pulls the charger out first
        battery.set_plugged(f, bus, int(i), False, t)
    place = ctx.geo.at(f.platform[rows])
    true_lat, true_lon = gps.true_position(f, place, rows)
    new = f.heading[rows] < 0
    if new.any():
        movement.start_routes(f, place.take(new), rows[new], seed, t, true_lat[new],
                              true_lon[new])
    moved = movement.ride(f, place, rows, seed, t, true_lat, true_lon)
    gps.fix(f, place, ctx.sky, rows, seed, t, 1.0, cfg.invalid_fix_chance, moved.lat, moved.lon)
    battery.ride_drain(f, rows, moved)
    battery.sync_low_power(f, bus, t, rows)
    f.status_time[rows] = t
    f.last_active[rows] = t
    if t % RIDING_SIGNAL_S == 0:
        network_signal(f, seed, ctx, rows[f.online[rows]], t, RIDING_SIGNAL_S)


def slow_step(env: Env, cfg: PhysicsConfig, ctx: Context, t: int) -> None:
    """The slow processes, on the minute: what is due for everyone, and the turn of one group."""
    f, seed, bus = env.fleet, env.seed, env.bus
    incidents.endings(f, bus, t)
    battery.charge(f, bus, t, SLOW_S)
    battery.revive(f, bus, t)
    turn = np.flatnonzero(ctx.group == (t // SLOW_S) % GROUPS)
    incidents.begin(f, bus, seed, cfg, turn, t, ROUND_S)
    incidents.dormancy(f, cfg, turn, t)
    battery.idle(f, bus, ctx.geo, turn, t, ROUND_S)
    # A parked vehicle's GPS takes a fix unless it sleeps, is off, or has never had one.
    parked = turn[f.activated[turn] & ~f.transport[turn] & ~f.dormant[turn] & ~f.riding[turn]
                  & f.has_fix[turn]]
    place = ctx.geo.at(f.platform[parked])
    lat, lon = gps.true_position(f, place, parked)
    gps.fix(f, place, ctx.sky, parked, seed, t, ROUND_S, cfg.invalid_fix_chance, lat, lon)
    network_signal(f, seed, ctx, turn[f.activated[turn] & f.online[turn] & ~f.riding[turn]], t,
                   ROUND_S)
    battery.sync_low_power(f, bus, t)
