"""Where the fleet lives: each platform's city as numbers the vectorised tick can index.

`geo.py` names the cities and their service discs; this module adds what riding needs (a street
grid with its block length and bearing, hills for altitude and climbing, a climate for battery
temperatures) and the conversions between WGS84 degrees and metres around the city centre. It
uses the same flat (equirectangular) projection as `Fleet.populate`, which is exact enough for
discs of a few kilometres.
"""

from __future__ import annotations

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
