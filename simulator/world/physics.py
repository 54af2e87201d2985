"""The physics of the fleet, vectorised over all vehicles (structure of arrays, DESIGN.md 1).

The world (world.py) runs it as a discrete-time system on a grid of whole virtual seconds:
- every second, `ride_step` moves the riding vehicles (movement.py), takes their GPS fixes
  (gps.py), drains their batteries (battery.py) and keeps their low-power alert right;
- every SLOW_S seconds (on the minute), `slow_step` charges, ends what is over (spells, falls,
  alarms) and keeps low-power alerts right for everyone; and it gives one tenth of the fleet
  (a group, by uid) its turn of the slow round: chance incidents (incidents.py), self-drain,
  the IoT battery, pack temperatures, dormancy, a parked GPS fix and a new network signal, each
  for the ROUND_S (10 min) since its last turn. The staggering keeps every minute's work small.
Nothing else changes between those instants, which is what lets the world skip idle stretches
without changing a single result (see world.py).

PhysicsConfig holds the rates of chance events; its defaults are realistic but low, and
`PhysicsConfig.quiet()` turns every chance (and dormancy) off for deterministic tests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

import numpy as np

from simulator.core.draws import normal2
from simulator.core.errors import SimError
from simulator.core.rng import stream_id
from simulator.world import battery, gps, incidents, movement
from simulator.world.places import Context

if TYPE_CHECKING:
    from simulator.sim import Simulator

SLOW_S = 60
ROUND_S = 600  # each vehicle's turn in the slow round comes every ROUND_S seconds
GROUPS = ROUND_S // SLOW_S  # a vehicle's group (places.Context.group) says which minute
RIDING_SIGNAL_S = 10  # a riding vehicle's network signal changes faster (it moves through cells)
SIGNAL_TAU_S = 600.0
SIGNAL_SPREAD = 4.0
_SIGNAL = stream_id("network-signal")


@dataclass(frozen=True)
class PhysicsConfig:
    """Chances per vehicle (Poisson rates per hour unless named otherwise) and idle times."""

    offline_per_hour: float = 0.02  # network spells: about one every two days
    offline_median_s: float = 300.0  # how long a spell lasts (log-normal)
    falls_per_hour: float = 0.002  # a parked vehicle knocked over: about once in three weeks
    ride_falls_per_hour: float = 0.01  # per hour of riding
    illegal_moving_per_hour: float = 0.002  # at alertSensitivity 2 (1 halves it, 3 doubles it)
    faults_per_hour: float = 0.0005  # an A200 fault code appears
    fault_clear_per_hour: float = 0.5  # each active fault clears (about 2 h on average)
    invalid_fix_chance: float = 0.01  # per GPS fix
    dormancy_idle_s: float = 72 * 3600.0  # locked and untouched this long: dormant (0: never)
    ride_median_s: float = 660.0  # a virtual rider's ride (log-normal, 1 min - 3 h)

    @classmethod
    def quiet(cls) -> PhysicsConfig:
        """No chance events and no dormancy: only what follows from requests and time."""
        return cls(offline_per_hour=0.0, falls_per_hour=0.0, ride_falls_per_hour=0.0,
                   illegal_moving_per_hour=0.0, faults_per_hour=0.0, fault_clear_per_hour=0.0,
                   invalid_fix_chance=0.0, dormancy_idle_s=0.0)

    @classmethod
    def parse(cls, text: str) -> PhysicsConfig:
        """`quiet`, or `name=value` pairs separated by commas (after an optional `quiet`)."""
        config, changes = cls(), {}
        names = {f.name for f in fields(cls)}
        for part in filter(None, (p.strip() for p in text.split(","))):
            if part == "quiet":
                config = cls.quiet()
                continue
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name not in names:
                raise SimError("physics", f"{part!r}: expected quiet or name=value, the name "
                                          f"one of {', '.join(sorted(names))}")
            try:
                number = float(value)
            except ValueError:
                raise SimError("physics", f"{name} must be a number") from None
            changes[name] = number
        return config.checked(**changes)

    def checked(self, **changes: float) -> PhysicsConfig:
        """A copy with `changes`, refusing negative or non-finite values."""
        config = replace(self, **changes)
        for f in fields(config):
            value = getattr(config, f.name)
            if not (np.isfinite(value) and value >= 0):
                raise SimError(f.name, "must be a finite number >= 0")
        if config.invalid_fix_chance > 1:
            raise SimError("invalid_fix_chance", "must be a probability (0-1)")
        if config.ride_median_s <= 0 or config.offline_median_s <= 0:
            raise SimError("ride_median_s" if config.ride_median_s <= 0 else "offline_median_s",
                           "must be > 0")
        return config


def network_signal(sim: Simulator, ctx: Context, rows: np.ndarray, t: int, dt: float) -> None:
    """Signal 2-32 wanders around each vehicle's usual level (mean-reverting, ~10 min)."""
    if not rows.size:
        return
    f = sim.fleet
    z, _ = normal2(sim.config.seed, f.uid[rows], t, _SIGNAL)
    rho = np.exp(-dt / SIGNAL_TAU_S)
    base = ctx.signal_base[rows]
    level = base + rho * (f.network_signal[rows] - base) + np.sqrt(1 - rho**2) * SIGNAL_SPREAD * z
    f.network_signal[rows] = np.clip(np.round(level), 2, 32)


def ride_step(sim: Simulator, ctx: Context, rows: np.ndarray, t: int) -> None:
    """One second of the riding vehicles `rows`."""
    f, seed, cfg = sim.fleet, sim.config.seed, sim.config.physics
    for i in rows[f.plugged[rows]]:  # the rider pulls the charger out first
        battery.set_plugged(sim, int(i), False, t)
    place = ctx.geo.at(f.platform[rows])
    true_lat, true_lon = gps.true_position(f, place, rows)
    new = f.heading[rows] < 0
    if new.any():
        movement.start_routes(f, place.take(new), rows[new], seed, t, true_lat[new],
                              true_lon[new])
    moved = movement.ride(f, place, rows, seed, t, true_lat, true_lon)
    gps.fix(f, place, ctx.sky, rows, seed, t, 1.0, cfg.invalid_fix_chance, moved.lat, moved.lon)
    battery.ride_drain(f, rows, moved)
    battery.sync_low_power(sim, t, rows)
    f.status_time[rows] = t
    f.last_active[rows] = t
    if t % RIDING_SIGNAL_S == 0:
        network_signal(sim, ctx, rows[f.online[rows]], t, RIDING_SIGNAL_S)


def slow_step(sim: Simulator, ctx: Context, t: int) -> None:
    """The slow processes, on the minute: what is due for everyone, and the turn of one group."""
    f, cfg = sim.fleet, sim.config.physics
    incidents.endings(sim, t)
    battery.charge(sim, t, SLOW_S)
    battery.revive(sim, t)
    turn = np.flatnonzero(ctx.group == (t // SLOW_S) % GROUPS)
    incidents.begin(sim, cfg, turn, t, ROUND_S)
    incidents.dormancy(sim, cfg, turn, t)
    battery.idle(sim, ctx.geo, turn, t, ROUND_S)
    # A parked vehicle's GPS takes a fix unless it sleeps, is off, or has never had one.
    parked = turn[f.activated[turn] & ~f.transport[turn] & ~f.dormant[turn] & ~f.riding[turn]
                  & f.has_fix[turn]]
    place = ctx.geo.at(f.platform[parked])
    lat, lon = gps.true_position(f, place, parked)
    gps.fix(f, place, ctx.sky, parked, sim.config.seed, t, ROUND_S, cfg.invalid_fix_chance,
            lat, lon)
    network_signal(sim, ctx, turn[f.activated[turn] & f.online[turn] & ~f.riding[turn]], t,
                   ROUND_S)
    battery.sync_low_power(sim, t)
