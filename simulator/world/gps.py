"""GPS fixes: what the vehicle reports of where it is, with the error its hdop implies.

A fix's satellites, hdop and altitude hang together: fewer visible satellites (a vehicle's sky
view is a per-vehicle constant, places.Context.sky) give a larger hdop, and the position error
is drawn with a standard deviation of UERE_M * hdop per axis, never beyond 3 sigma. The error is
a first-order Gauss-Markov process (correlation time TAU_S), so the fixes of a parked vehicle
wander a little around where it stands instead of jumping, and never farther than its hdop
allows. Altitude is the ground height plus the bike's height plus a vertical error 1.5x larger.

The fleet stores the reported fix (lat, lon) and its error in metres (gps_de, gps_dn): the true
position is the fix minus its error. A control-plane PATCH of latitude/longitude therefore moves
the vehicle itself. An invalid fix (a chance per fix, or the E5 "GNSS communication error"
fault) keeps the previous position and time and reports few satellites and hdop 99.99; while it
lasts, the stored error is how far the stale fix lies from the truth.
"""

from __future__ import annotations

import numpy as np

from simulator.core.alerts import FAULT_BITS
from simulator.core.draws import normal2, uniform2
from simulator.core.fleet import Fleet
from simulator.core.rng import stream_id
from simulator.world.places import Place

UERE_M = 2.5  # user equivalent range error: sigma per axis is UERE_M * hdop
TAU_S = 60.0
MAX_SIGMAS = 3.0
ANTENNA_M = 1.2  # the IoT box sits this high above the ground
NO_FIX_HDOP = 99.99
MAX_HDOP = 5.0

_ERR = stream_id("gps-error")
_QUALITY = stream_id("gps-quality")
_SKY = stream_id("gps-sky")
_GNSS_FAULT = FAULT_BITS["E5"]


def max_drift_m(hdop: np.ndarray) -> np.ndarray:
    """How far a valid fix may lie from the true position (radially), for a given hdop."""
    return np.sqrt(2.0) * MAX_SIGMAS * UERE_M * np.asarray(hdop, dtype=np.float64)


def true_position(f: Fleet, place: Place, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return f.lat[rows] - f.gps_dn[rows] / place.m_lat, f.lon[rows] - f.gps_de[rows] / place.m_lon


def fix(f: Fleet, place: Place, sky: np.ndarray, rows: np.ndarray, seed: int, t: int,
        dt: float, invalid_chance: float, true_lat: np.ndarray, true_lon: np.ndarray) -> None:
    """A new fix for `rows` (vehicles whose true position is given), `dt` after the last."""
    if not rows.size:
        return
    uid = f.uid[rows]
    z_sat, z_alt = normal2(seed, uid, t, _SKY)
    u_hdop, u_valid = uniform2(seed, uid, t, _QUALITY)
    sats = np.clip(np.round(sky[rows] + 1.5 * z_sat), 4, 20)
    hdop = np.round(np.clip(12.0 / sats + 0.3 * u_hdop, 0.6, MAX_HDOP), 2)
    invalid = (u_valid < invalid_chance) | ((f.faults[rows] & _GNSS_FAULT) != 0)

    sigma = UERE_M * hdop
    rho = np.exp(-dt / TAU_S)
    z_e, z_n = normal2(seed, uid, t, _ERR)
    spread = np.sqrt(1.0 - rho * rho) * sigma
    bound = MAX_SIGMAS * sigma
    de = np.clip(rho * f.gps_de[rows] + spread * z_e, -bound, bound)
    dn = np.clip(rho * f.gps_dn[rows] + spread * z_n, -bound, bound)
    # Inside the service area stays inside: pull the fix onto the disc (never farther from
    # the truth, as the disc is convex and the truth is in it).
    tx, ty = place.local(true_lat, true_lon)
    fx, fy = place.clamp_inside(tx + de, ty + dn)
    within = place.inside(tx, ty)
    de = np.where(within, fx - tx, de).astype(np.float32)
    dn = np.where(within, fy - ty, dn).astype(np.float32)

    ok, bad = rows[~invalid], rows[invalid]
    v = ~invalid
    f.gps_de[ok], f.gps_dn[ok] = de[v], dn[v]
    # The fix is the truth plus the stored (float32) error, so fix - error is the truth again.
    good = place.take(v)
    f.lat[ok] = true_lat[v] + dn[v] / good.m_lat
    f.lon[ok] = true_lon[v] + de[v] / good.m_lon
    ground = good.terrain(tx[v], ty[v])
    f.altitude[ok] = np.round(ground + ANTENNA_M + np.clip(1.5 * sigma[v] * z_alt[v],
                                                           -1.5 * bound[v], 1.5 * bound[v]), 1)
    f.satellites[ok] = sats[v]
    f.hdop[ok] = hdop[v]
    f.gps_time[ok] = t
    f.location_valid[ok] = True
    f.has_fix[ok] = True
    if bad.size:
        f.satellites[bad] = np.floor(4.0 * u_hdop[invalid])  # 0-3: too few for a fix
        f.hdop[bad] = NO_FIX_HDOP
        f.location_valid[bad] = False
        # The stale fix stays where it was; its error is now its distance from the truth.
        stale = place.take(invalid)
        f.gps_dn[bad] = (f.lat[bad] - true_lat[invalid]) * stale.m_lat
        f.gps_de[bad] = (f.lon[bad] - true_lon[invalid]) * stale.m_lon
