"""Cities and service areas, chosen by the first letter of a platform code (the vendor's region)."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lon: float
    radius_m: float  # service area: a disc around the centre
    altitude_m: float  # typical ground height above sea level

    def meters_per_deg_lon(self) -> float:
        return math.pi / 180 * EARTH_RADIUS_M * math.cos(math.radians(self.lat))

    @staticmethod
    def meters_per_deg_lat() -> float:
        return math.pi / 180 * EARTH_RADIUS_M


# Region letters from the reference's "Note1"; C is Shenzhen, where the reference's sample
# coordinates (22.634228, 114.125962) lie.
CITIES: dict[str, City] = {
    "A": City("Singapore", 1.2966, 103.8520, 6_000.0, 15.0),
    "E": City("Amsterdam", 52.3702, 4.8952, 5_000.0, 2.0),
    "U": City("San Francisco", 37.7749, -122.4194, 5_000.0, 30.0),
    "C": City("Shenzhen", 22.5431, 114.0579, 15_000.0, 10.0),
}

REGIONS = {"A": "apac", "E": "europe", "U": "americas", "C": "china"}


def city_for(platform_code: str) -> City:
    letter = platform_code[:1].upper()
    if letter not in CITIES:
        raise ValueError(
            f"platform code must start with one of {''.join(CITIES)}: {platform_code!r}"
        )
    return CITIES[letter]
