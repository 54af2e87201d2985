"""Riding: vehicles move along a city's street grid, with realistic acceleration and stops.

A ride wanders the street grid of its city (places.py) from intersection to intersection, drawn
towards a destination a plausible distance away, never leaving the service disc: at each
intersection the rider goes on, turns, or (rarely) turns back, and sometimes waits at a red
light. Speed follows the rider's preferred cruising speed, capped by the speed mode and by the
switch setting's speedLimit (and by pedalling alone once the battery is empty); riders
accelerate gently, slow down before crossings and brake to a stop before lights and parking.

All of it is one vectorised step of one virtual second over the riding rows. Positions here are
the vehicle's true positions; gps.py turns them into the fixes it reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.core.draws import normal2, uniform2
from simulator.core.fleet import Fleet
from simulator.core.rng import stream_id
from simulator.core.vehicle import speed_cap_kmh
from simulator.world.places import Place

ACCEL = 0.8  # m/s^2, a relaxed start on an e-bike
BRAKE = 1.5  # m/s^2, planned braking (crossings, lights, parking)
HARD_BRAKE = 3.0  # m/s^2, the most a step may shed
CROSSING_KMH = 14.0  # speed through an intersection the rider does not stop at
LIGHT_CHANCE = 0.2  # share of intersections with a wait
LIGHT_S = (8.0, 40.0)
EDGE_MARGIN_M = 25.0  # intersections this close to the service area's edge are not used
DETOUR = 0.75  # straight-line share of the distance ridden

_DI = np.array([1, 0, -1, 0])  # heading 0: +u (along the grid), 1: +v, 2: -u, 3: -v
_DJ = np.array([0, 1, 0, -1])
_TURN = stream_id("ride-turn")
_LIGHT = stream_id("ride-light")
_DEST = stream_id("ride-destination")


@dataclass
class Moved:
    """What one riding step did, for the GPS and the battery."""

    lat: np.ndarray  # true position after the step
    lon: np.ndarray
    distance: np.ndarray  # m travelled
    climb: np.ndarray  # m of height gained (negative: descent)
    v0: np.ndarray  # m/s before and after
    v1: np.ndarray


def _inside(place: Place, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return place.inside(i * place.block, j * place.block, EDGE_MARGIN_M)


def start_routes(f: Fleet, place: Place, rows: np.ndarray, seed: int, t: int,
                 true_lat: np.ndarray, true_lon: np.ndarray) -> None:
    """First intersection (the nearest usable one) and a destination for new rides."""
    block = place.block
    u, v = place.to_grid(*place.local(true_lat, true_lon))
    i, j = np.round(u / block), np.round(v / block)
    for _ in range(3):  # parked at the very edge: the first crossing is a block further in
        out = ~_inside(place, i, j)
        along_i = np.abs(i) >= np.abs(j)
        i = np.where(out & along_i, i - np.sign(i), i)
        j = np.where(out & ~along_i, j - np.sign(j), j)
    f.target_i[rows], f.target_j[rows] = i, j
    du, dv = i * block - u, j * block - v
    f.heading[rows] = np.where(np.abs(du) >= np.abs(dv), np.where(du >= 0, 0, 2),
                               np.where(dv >= 0, 1, 3))
    f.stop_next[rows] = False
    # Somewhere the rider can reach in the time the ride lasts, inside the area.
    remaining = np.maximum(f.ride_end[rows] - t, 60.0)
    reach = np.clip(remaining * f.cruise[rows] / 3.6 * DETOUR, 200.0, 1.6 * place.radius)
    z1, z2 = normal2(seed, f.uid[rows], t, _DEST)  # a direction uniform around the circle
    norm = np.maximum(np.sqrt(z1 * z1 + z2 * z2), 1e-9)
    du, dv = place.clamp_inside(u + reach * z1 / norm, v + reach * z2 / norm,
                                margin=0.15 * place.radius)
    f.dest_i[rows], f.dest_j[rows] = np.round(du / block), np.round(dv / block)


def _next_crossing(f: Fleet, place: Place, rows: np.ndarray, seed: int, t: int) -> None:
    """At an intersection: where next (towards the destination, mostly) and whether to wait."""
    column = place if isinstance(place.block, float) else Place(
        **{k: getattr(place, k)[:, None] for k in place.__dataclass_fields__})
    i, j = f.target_i[rows].astype(np.int64), f.target_j[rows].astype(np.int64)
    heading = f.heading[rows].astype(np.int64)
    ni, nj = i[:, None] + _DI, j[:, None] + _DJ
    inside = _inside(column, ni, nj)
    di, dj = f.dest_i[rows].astype(np.int64)[:, None], f.dest_j[rows].astype(np.int64)[:, None]
    toward = np.abs(di - ni) + np.abs(dj - nj) < np.abs(di - i[:, None]) + np.abs(dj - j[:, None])
    direction = np.arange(4)[None, :]
    straight = direction == heading[:, None]
    back = direction == (heading[:, None] + 2) % 4
    weight = inside * ~back * (1.0 + 5.0 * toward + 1.0 * straight)
    # Cornered (or outside the area, when a vehicle was put there): back in, towards the centre.
    stuck = weight.sum(axis=1) == 0
    closer = np.hypot(ni, nj) < np.hypot(i, j)[:, None]
    weight[stuck] = (inside | closer)[stuck] + 1e-9
    u_pick, u_light = uniform2(seed, f.uid[rows], t, _TURN)
    cum = np.cumsum(weight, axis=1)
    pick = np.argmax(cum > (u_pick * cum[:, -1])[:, None], axis=1)
    n = np.arange(len(rows))
    f.heading[rows] = pick
    f.target_i[rows], f.target_j[rows] = ni[n, pick], nj[n, pick]
    f.stop_next[rows] = u_light < LIGHT_CHANCE


def ride(f: Fleet, place: Place, rows: np.ndarray, seed: int, t: int,
         true_lat: np.ndarray, true_lon: np.ndarray) -> Moved:
    """One second of riding for `rows` (all riding), from their true positions."""
    block = place.block
    x, y = place.local(true_lat, true_lon)
    u, v = place.to_grid(x, y)
    du = f.target_i[rows] * block - u
    dv = f.target_j[rows] * block - v
    d = np.sqrt(du * du + dv * dv)

    cap = speed_cap_kmh(f, rows)
    cap_ms = cap / 3.6
    v0 = np.minimum(f.speed[rows] / 3.6, cap_ms)  # a lowered cap cuts the assist at once
    halted = f.stop_until[rows] > t
    goal = np.where(halted, np.maximum(v0 - BRAKE, 0.0),
                    np.minimum(f.cruise[rows] / 3.6, cap_ms))
    # In time for the next intersection: the fastest v1 from which braking at BRAKE, after this
    # step's travel, still ends at v_end on the line (a stop at a red light).
    v_end = np.where(f.stop_next[rows], 0.0, CROSSING_KMH / 3.6)
    room = BRAKE * BRAKE + 4.0 * (v_end * v_end + 2.0 * BRAKE * d - BRAKE * v0)
    goal = np.minimum(goal, (np.sqrt(np.maximum(room, 0.0)) - BRAKE) / 2.0)
    v1 = np.clip(goal, np.maximum(v0 - HARD_BRAKE, 0.0), v0 + ACCEL)
    travel = (v0 + v1) / 2.0
    arrive = travel >= d
    step = np.minimum(travel, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(d > 0, step / d, 0.0)
    u, v = u + du * frac, v + dv * frac

    if arrive.any():
        a = np.flatnonzero(arrive)
        # A red light: stop on the line and wait (too fast to stop in time: through on amber).
        wait = a[f.stop_next[rows[a]] & (v0[a] <= HARD_BRAKE)]
        if wait.size:
            v1[wait] = 0.0
            u_wait, _ = uniform2(seed, f.uid[rows[wait]], t, _LIGHT)
            f.stop_until[rows[wait]] = t + LIGHT_S[0] + (LIGHT_S[1] - LIGHT_S[0]) * u_wait
        _next_crossing(f, place.take(a), rows[a], seed, t)

    nx, ny = place.from_grid(u, v)
    climb = place.terrain(nx, ny) - place.terrain(x, y)
    lat, lon = place.degrees(nx, ny)
    f.speed[rows] = np.minimum(v1 * 3.6, cap)
    f.odometer[rows] += step
    f.riding_secs[rows] += 1.0
    return Moved(lat, lon, step, climb, v0, v1)
