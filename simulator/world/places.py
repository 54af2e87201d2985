"""Where the fleet lives: each platform's city as numbers the vectorised tick can index.

`geo.py` names the cities and their service discs; this module adds what riding needs (a street
grid with its block length and bearing, hills for altitude and climbing, a climate for battery
temperatures) and the conversions between WGS84 degrees and metres around the city centre. It
uses the same flat (equirectangular) projection as `Fleet.populate`, which is exact enough for
discs of a few kilometres.

It also says where riders park (`park`, `park_at_end`): at the kerb of a street of the grid, or
in one of the city's parking hubs (crossings of the grid, more of them near the centre), never
scattered between the streets.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from simulator.core.draws import uniform2
from simulator.core.fleet import Fleet
from simulator.core.geo import City
from simulator.core.platforms import Platform
from simulator.core.rng import stream_id


@dataclass(frozen=True)
class Streets:
    block_m: float  # distance between intersections of the street grid
    bearing_deg: float  # rotation of the grid from east-north
    hills_m: float  # terrain amplitude around the city's typical height
    hill_wavelength_m: float
    mean_temp_c: float  # for battery temperatures (daily swing added on top)


# Rough character of each city: Amsterdam is flat with short blocks, San Francisco is hilly.
STREETS: dict[str, Streets] = {
    "Singapore": Streets(150.0, 12.0, 12.0, 1500.0, 28.0),
    "Amsterdam": Streets(90.0, 30.0, 1.5, 800.0, 11.0),
    "San Francisco": Streets(110.0, 0.0, 35.0, 1200.0, 15.0),
    "Shenzhen": Streets(200.0, 8.0, 20.0, 2000.0, 23.0),
}
DEFAULT_STREETS = Streets(150.0, 0.0, 10.0, 1500.0, 20.0)
DAILY_SWING_C = 4.0


Value = float | np.ndarray  # one city's number, or one per row


@dataclass(frozen=True)
class Place:
    """The city numbers of a set of rows: scalars when they share one city, else arrays."""

    lat0: Value
    lon0: Value
    m_lat: Value  # metres per degree
    m_lon: Value
    radius: Value  # of the service disc, m
    alt0: Value
    block: Value
    cos: Value  # of the street grid's bearing
    sin: Value
    hills: Value
    wave: Value
    temp: Value

    def take(self, index: np.ndarray) -> Place:
        """The numbers of a subset of the rows (positions or a mask into them)."""
        if isinstance(self.lat0, float):
            return self
        return Place(**{k: getattr(self, k)[index] for k in self.__dataclass_fields__})

    def local(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metres east and north of the city centre."""
        return (lon - self.lon0) * self.m_lon, (lat - self.lat0) * self.m_lat

    def degrees(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of local metres."""
        return self.lat0 + y / self.m_lat, self.lon0 + x / self.m_lon

    def to_grid(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x * self.cos + y * self.sin, y * self.cos - x * self.sin

    def from_grid(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return u * self.cos - v * self.sin, u * self.sin + v * self.cos

    def terrain(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ground height (m above sea level): smooth hills around the city's typical height."""
        # float32 trig is vectorised (20x faster) and exact enough for metres of height.
        w = self.wave
        a, b, c = ((v / (k * w)).astype(np.float32)
                   for v, k in ((x, 1.0), (y, 1.3), (x + y, 0.6)))
        shape = 0.7 * np.sin(a + np.float32(1.3)) * np.cos(b) + 0.3 * np.sin(c)
        return self.alt0 + self.hills * shape

    def ambient(self, t: float, lon: np.ndarray) -> np.ndarray:
        """Air temperature (deg C): the city's mean with a daily swing peaking at 15:00 solar."""
        hour = ((t / 3600.0 + lon / 15.0) % 24.0).astype(np.float32)
        return self.temp + DAILY_SWING_C * np.cos(np.float32(2 * np.pi / 24) * (hour - 15))

    def inside(self, x: np.ndarray, y: np.ndarray, margin: float = 0.0) -> np.ndarray:
        limit = self.radius - margin
        return x * x + y * y <= limit * limit

    def clamp_inside(
        self, x: np.ndarray, y: np.ndarray, margin: Value = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points pulled radially onto the disc of radius `radius - margin` where outside."""
        limit = self.radius - margin
        r = np.sqrt(x * x + y * y)
        scale = np.where(r > limit, limit / np.maximum(r, 1e-9), 1.0)
        return x * scale, y * scale


class Geo:
    """City numbers per platform index."""

    def __init__(self, cities: list[City]) -> None:
        streets = [STREETS.get(c.name, DEFAULT_STREETS) for c in cities]
        self.table = {
            "lat0": [c.lat for c in cities],
            "lon0": [c.lon for c in cities],
            "m_lat": [c.meters_per_deg_lat() for c in cities],
            "m_lon": [c.meters_per_deg_lon() for c in cities],
            "radius": [c.radius_m for c in cities],
            "alt0": [c.altitude_m for c in cities],
            "block": [s.block_m for s in streets],
            "cos": [math.cos(math.radians(s.bearing_deg)) for s in streets],
            "sin": [math.sin(math.radians(s.bearing_deg)) for s in streets],
            "hills": [s.hills_m for s in streets],
            "wave": [s.hill_wavelength_m for s in streets],
            "temp": [s.mean_temp_c for s in streets],
        }
        self.arrays = {k: np.asarray(v, dtype=np.float64) for k, v in self.table.items()}
        self.cities = len(set(cities))

    def at(self, platform: np.ndarray) -> Place:
        """The numbers for rows of these platforms (gathered once for a whole step)."""
        if self.cities == 1:  # one city: scalars broadcast for free
            return Place(**{k: v[0] for k, v in self.table.items()})
        return Place(**{k: v[platform] for k, v in self.arrays.items()})


_ROW_CONSTANTS = stream_id("row-constants")


class Context:
    """What the tick derives from the world and caches: the city numbers of its platforms and
    per-vehicle constants (how open the sky is where it parks, how good its network is, which
    minute of the slow round is its turn).

    Both are pure functions of the seed, the platforms and each vehicle's uid, so they are
    recomputed rather than stored: a snapshot or a reset only has to `invalidate` them. Vehicles
    and platforms are only ever appended between two invalidations, so `sync` extends.
    """

    def __init__(self, groups: int) -> None:
        self.groups = groups
        self.invalidate()

    def invalidate(self) -> None:
        self._n_platforms = 0
        self.geo = Geo([])
        self.sky = np.zeros(0)  # mean visible satellites, 6-13
        self.signal_base = np.zeros(0)  # mean network signal, 12-28
        self.group = np.zeros(0, dtype=np.int8)  # the minute of its turn in the slow round

    def sync(self, f: Fleet, seed: int, platforms: list[Platform]) -> None:
        if len(self.sky) < len(f):
            uid = f.uid[len(self.sky):]
            u1, u2 = uniform2(seed, uid, 0, _ROW_CONSTANTS)
            self.sky = np.concatenate([self.sky, 6.0 + 7.0 * u1])
            self.signal_base = np.concatenate([self.signal_base, 12.0 + 16.0 * u2])
            self.group = np.concatenate([self.group, (uid % self.groups).astype(np.int8)])
        if len(platforms) != self._n_platforms:
            self._n_platforms = len(platforms)
            self.geo = Geo([pl.city for pl in platforms])


# -- where riders park: kerbs of the street grid and parking hubs on it ------------------------

KERB_M = 4.0  # a parked vehicle stands this far from its street's centre line
CROSSING_CLEAR_M = 6.0  # and at least this far along it from a crossing street's centre line
SPREAD = 0.4  # parked vehicles spread around the centre with this share of the radius as sigma
HUB_SHARE = 0.35  # share of the parked fleet that stands in a hub at the start
HUB_SPACING_M = 1600.0  # about one hub per square of this side
HUB_PATCH_M = 9.0  # radius of a hub's rack area, at a corner of its crossing
HUB_WALK_M = 120.0  # a rider this close to a hub at the end of a ride parks in it
_HUB_SITES = stream_id("hub-sites")
_PARK = stream_id("park-place")
_PARK_HUB = stream_id("park-hub")


def city_place(city: City) -> Place:
    """The numbers of one city (scalars)."""
    return Geo([city]).at(np.zeros(1, dtype=np.intp))


def grid_lines(city: City) -> int:
    """How many street lines run each way from the centre line to the service area's edge."""
    return math.ceil(city.radius_m / STREETS.get(city.name, DEFAULT_STREETS).block_m)


@functools.lru_cache(maxsize=64)
def hubs(seed: int, city: City) -> tuple[tuple[int, int], ...]:
    """The city's parking hubs for this seed: street crossings (i, j) of its grid, more of
    them near the centre, where more people ride."""
    block, radius = STREETS.get(city.name, DEFAULT_STREETS).block_m, city.radius_m
    n = grid_lines(city)
    mesh = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1))
    i, j = mesh[0].ravel(), mesh[1].ravel()
    r = np.hypot(i, j) * block
    usable = r <= radius - 2 * block
    weight = np.exp(-0.5 * (r / (SPREAD * radius)) ** 2) * usable
    count = min(int(usable.sum()), max(3, round(math.pi * radius**2 / HUB_SPACING_M**2)))
    rng = np.random.default_rng([seed & 0xFFFFFFFF, _HUB_SITES, stream_id(city.name)])
    chosen = rng.choice(len(i), size=count, replace=False, p=weight / weight.sum())
    return tuple(sorted((int(i[k]), int(j[k])) for k in chosen))


def _hub_spot(place: Place, hub_ij: np.ndarray, u1: np.ndarray, u2: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Grid (u, v) of a place in a hub's rack: a small disc at the hub's north-east corner."""
    corner = KERB_M + HUB_PATCH_M  # names.where finds hubs by the same corner
    r, a = HUB_PATCH_M * np.sqrt(u1), 2 * np.pi * u2
    return (hub_ij[:, 0] * place.block + corner + r * np.cos(a),
            hub_ij[:, 1] * place.block + corner + r * np.sin(a))


def _kerb(place: Place, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid (u, v) moved to the kerb of the nearest street, on the side it already is."""
    b = place.block
    du, dv = u - np.round(u / b) * b, v - np.round(v / b) * b
    along_v = np.abs(du) <= np.abs(dv)  # nearest street runs along v (a line of constant u)
    side_u = np.where(du >= 0, 1.0, -1.0)
    side_v = np.where(dv >= 0, 1.0, -1.0)
    ku = np.where(along_v, u - du + side_u * KERB_M, u)
    kv = np.where(along_v, v, v - dv + side_v * KERB_M)
    # Not in the middle of a crossing: at least CROSSING_CLEAR_M along the kerb from it.
    clear_v = np.where(np.abs(dv) < CROSSING_CLEAR_M, v - dv + side_v * CROSSING_CLEAR_M, kv)
    clear_u = np.where(np.abs(du) < CROSSING_CLEAR_M, u - du + side_u * CROSSING_CLEAR_M, ku)
    return np.where(along_v, ku, clear_u), np.where(along_v, clear_v, kv)


def park(fleet: Fleet, rows: np.ndarray, seed: int, city: City) -> None:
    """Where new vehicles of `city` stand: at kerbs of its streets, a share in its hubs, more
    of them near the centre. Keyed by (seed, uid): nobody else's place depends on a vehicle."""
    if not len(rows):
        return
    place = city_place(city)
    uid = fleet.uid[rows]
    # A normal spread around the centre, cut at the edge (the inverse of its radial law, so
    # nobody piles up on the edge): r = sigma * sqrt(-2 ln(1 - u (1 - exp(-L^2 / 2 sigma^2)))).
    u_r, u_a = uniform2(seed, uid, 0, _PARK)
    sigma, limit = SPREAD * place.radius, place.radius - place.block
    tail = 1.0 - np.exp(-0.5 * (limit / sigma) ** 2)
    r = sigma * np.sqrt(-2.0 * np.log1p(-u_r * tail))
    x, y = r * np.cos(2 * np.pi * u_a), r * np.sin(2 * np.pi * u_a)
    u, v = _kerb(place, *place.to_grid(x, y))
    sites = np.asarray(hubs(seed, city), dtype=np.float64).reshape(-1, 2)
    in_hub, pick = uniform2(seed, uid, 0, _PARK_HUB)
    to_hub = in_hub < HUB_SHARE
    if sites.size and to_hub.any():
        hub = sites[(pick[to_hub] * len(sites)).astype(np.intp)]
        s1, s2 = uniform2(seed, uid[to_hub], 1, _PARK_HUB)
        u[to_hub], v[to_hub] = _hub_spot(place, hub, s1, s2)
    x, y = place.clamp_inside(*place.from_grid(u, v), margin=KERB_M)
    fleet.lat[rows], fleet.lon[rows] = place.degrees(x, y)


def park_at_end(place: Place, seed: int, city: City, uid: int, t: int, x: float, y: float
                ) -> tuple[float, float]:
    """Where a rider who stopped at (x, y) metres parks: in a hub a short walk away, else at
    the kerb where they stand."""
    u, v = place.to_grid(np.array([x]), np.array([y]))
    sites = np.asarray(hubs(seed, city), dtype=np.float64).reshape(-1, 2) * place.block
    if sites.size:
        d = np.hypot(sites[:, 0] - u[0], sites[:, 1] - v[0])
        near = int(np.argmin(d))
        if d[near] <= HUB_WALK_M:
            s1, s2 = uniform2(seed, np.array([uid]), t, _PARK_HUB)
            u, v = _hub_spot(place, sites[near:near + 1] / place.block, s1, s2)
            px, py = place.clamp_inside(*place.from_grid(u, v), margin=KERB_M)
            return float(px[0]), float(py[0])
    u, v = _kerb(place, u, v)
    px, py = place.clamp_inside(*place.from_grid(u, v), margin=KERB_M)
    return float(px[0]), float(py[0])
