"""Names of the people and streets of each city, locale-true and seeded, for the people watching.

Faker makes them: the same seed gives the same names in every run, another seed other names.
Only the dashboard, the live channel and scenario stories (`person`) use them; the vendor API
never does (its fields are the reference's). Faker has no Singapore locale, so Singapore mixes
the closest ones by its population: Chinese names in romanised pinyin (zh_CN), Malay names
(id_ID, the nearest Malay locale) and Indian names (en_IN), and Malaysian street names (en_MS:
"Jalan ...", "Lorong ...", as Singapore has many) without the numbered ones.

Names come from pools drawn once per (seed, city): a rider of a vehicle picks from the pool by a
hash of the seed, the vehicle's uid and a key (the ride), so naming a rider costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from simulator.core.geo import City, city_for
from simulator.core.rng import Streams, hash_bits, stream_id
from simulator.world import places

if TYPE_CHECKING:
    from faker import Faker

PEOPLE = 997  # riders in a city's pool (prime: the hash spreads evenly over it)
_RIDER = stream_id("rider-name")
_PERSON = stream_id("story-person")


@dataclass(frozen=True)
class Locales:
    people: tuple[tuple[str, float], ...]  # (locale, share of the population)
    streets: str


LOCALES: dict[str, Locales] = {
    "Singapore": Locales((("zh_CN", 0.74), ("id_ID", 0.15), ("en_IN", 0.11)), "en_MS"),
    "Amsterdam": Locales((("nl_NL", 1.0),), "nl_NL"),
    "San Francisco": Locales((("en_US", 1.0),), "en_US"),
    "Shenzhen": Locales((("zh_CN", 1.0),), "zh_CN"),
}
DEFAULT_LOCALES = Locales((("en_US", 1.0),), "en_US")


def _person(fake: Faker, locale: str, city: str) -> str:
    if locale == "zh_CN" and city != "Shenzhen":  # a Singaporean Chinese name, family name first
        return f"{fake.last_romanized_name()} {fake.first_romanized_name()}"
    if locale == "zh_CN":
        return fake.name()
    return f"{fake.first_name()} {fake.last_name()}"


@lru_cache(maxsize=16)
def people(seed: int, city: City) -> tuple[str, ...]:
    """The city's pool of PEOPLE rider names for this seed, in a fixed order."""
    locales = LOCALES.get(city.name, DEFAULT_LOCALES).people
    streams = Streams(seed)
    counts = np.round(np.array([share for _, share in locales]) * PEOPLE).astype(int)
    counts[0] += PEOPLE - counts.sum()
    names: list[str] = []
    for (locale, _), count in zip(locales, counts, strict=True):
        fake = streams.faker(locale, "people", city.name)
        names += [_person(fake, locale, city.name) for _ in range(count)]
    order = streams.generator("people-order", city.name).permutation(len(names))
    return tuple(names[i] for i in order)


def rider(seed: int, city: City, uid: int, key: int) -> str:
    """Who rides vehicle `uid` on the ride `key` (any number that tells its rides apart)."""
    pool = people(seed, city)
    bits = hash_bits(seed, np.array([uid]), key, _RIDER)
    return pool[int(bits[0] % np.uint64(len(pool)))]


def person(seed: int, platform_code: str, key: int) -> str:
    """Someone of the platform's city, for a scenario story (`key` tells people apart)."""
    pool = people(seed, city_for(platform_code))
    bits = hash_bits(seed, np.array([key]), 0, _PERSON)
    return pool[int(bits[0] % np.uint64(len(pool)))]


def _street_fits(locale: str, name: str) -> bool:
    return locale != "en_MS" or not re.search(r"\d", name)  # "Jalan 9/3x" is not Singapore


@lru_cache(maxsize=16)
def streets(seed: int, city: City, count: int) -> tuple[str, ...]:
    """`count` distinct street names of the city for this seed (one per line of its grid)."""
    locale = LOCALES.get(city.name, DEFAULT_LOCALES).streets
    fake = Streams(seed).faker(locale, "streets", city.name)
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < count and tries < 20 * count:
        tries += 1
        name = re.sub(r"^Jln ", "Jalan ", str(fake.street_name()))
        if _street_fits(locale, name):
            seen.setdefault(name, None)
    names = list(seen)
    # A locale with fewer names than the grid has lines: numbered like Singapore's "Lorong 1".
    for n in range(count - len(names)):
        names.append(f"{names[n % len(names)]} {n // len(names) + 2}")
    return tuple(names)


def grid_streets(seed: int, city: City) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the grid's lines of constant u (index i + n) and of constant v (j + n)."""
    n = places.grid_lines(city)
    names = streets(seed, city, 2 * (2 * n + 1))
    return names[:2 * n + 1], names[2 * n + 1:]


@lru_cache(maxsize=16)
def _hub_sites(seed: int, city: City) -> np.ndarray:
    return np.asarray(places.hubs(seed, city), dtype=np.float64).reshape(-1, 2)


@dataclass(frozen=True)
class Spot:
    street: str  # the street it stands on (or rides along)
    cross: str  # the nearest crossing street
    hub: bool  # in a parking hub


def where(seed: int, city: City, lat: float, lon: float) -> Spot:
    """Which street a position is on, its nearest crossing, and whether that is a hub's."""
    place = places.city_place(city)
    n = places.grid_lines(city)
    u, v = place.to_grid(*place.local(np.array([lat]), np.array([lon])))
    b = float(place.block)
    fi, fj = float(u[0]) / b, float(v[0]) / b
    i, j = int(np.clip(round(fi), -n, n)), int(np.clip(round(fj), -n, n))
    along_u, along_v = grid_streets(seed, city)
    corner = places.KERB_M + places.HUB_PATCH_M  # a hub's rack stands at a corner
    sites = _hub_sites(seed, city) * b + corner
    hub = bool(sites.size) and float(np.min(np.hypot(sites[:, 0] - fi * b, sites[:, 1] - fj * b))
                                     ) <= places.HUB_PATCH_M + 1.0
    if abs(fi - i) <= abs(fj - j):  # nearest street is the line of constant u
        return Spot(along_u[i + n], along_v[j + n], hub)
    return Spot(along_v[j + n], along_u[i + n], hub)
