"""Where the demo's vehicles stand and what people and streets are called: kerbs and hubs of the
street grid, seeded locale-true names, and names kept out of the vendor API."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from simulator.core.geo import CITIES, City
from simulator.server import rides
from simulator.server.dashboard import vehicle_view
from simulator.server.live import LiveHub
from simulator.sim import Config, Simulator
from simulator.world import gps, names, places
from simulator.world.config import PhysicsConfig
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

PLATFORMS = {"A": "A20081", "E": "E30001", "U": "U40001", "C": "C50001"}


def city_world(letter: str, vehicles: int = 1500, seed: int = 7) -> Simulator:
    sim = Simulator(Config(seed=seed, vehicles=3, paused=True, riders=False,
                           physics=PhysicsConfig.quiet()))
    if letter != "A":
        platform = sim.add_platform(PLATFORMS[letter], "secret")
        sim.add_vehicles(platform, vehicles)
    else:
        sim.add_vehicles(sim.platform_list[0], vehicles)
    return sim


def where_parked(sim: Simulator, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, City]:
    """Per row: at a kerb (KERB_M off a street's centre line), in a hub's rack."""
    city = sim.platform_of(int(rows[0])).city
    place = places.city_place(city)
    lat, lon = gps.true_position(sim.fleet, place, rows)
    u, v = place.to_grid(*place.local(lat, lon))
    b = place.block
    off_u, off_v = np.abs(u - np.round(u / b) * b), np.abs(v - np.round(v / b) * b)
    kerb = np.isclose(off_u, places.KERB_M) | np.isclose(off_v, places.KERB_M)
    corner = places.KERB_M + places.HUB_PATCH_M
    hub = np.zeros(len(rows), dtype=bool)
    for i, j in places.hubs(sim.streams.seed, city):
        hub |= np.hypot(u - i * b - corner, v - j * b - corner) <= places.HUB_PATCH_M + 1e-6
    return kerb, hub, city


@pytest.mark.parametrize("letter", sorted(PLATFORMS))
def test_parked_vehicles_stand_at_kerbs_and_in_hubs(letter: str) -> None:
    sim = city_world(letter)
    rows = np.flatnonzero(sim.fleet.platform == sim.fleet.platform[-1])
    kerb, hub, city = where_parked(sim, rows)
    assert np.all(kerb | hub)  # nobody between the streets
    assert 0.25 < hub.mean() < 0.45  # a third in hubs
    # Inside the service area, more of them near the centre than at its edge.
    f = sim.fleet
    r = np.hypot(*places.city_place(city).local(f.lat[rows], f.lon[rows]))
    assert r.max() < city.radius_m
    assert np.mean(r < city.radius_m / 2) > 0.4  # scattered uniformly: 0.25
    # Seeded: the same seed, the same places; another seed, others.
    again = city_world(letter)
    assert np.array_equal(again.fleet.lat, sim.fleet.lat)
    assert not np.array_equal(city_world(letter, seed=8).fleet.lat, sim.fleet.lat)


def test_a_rider_parks_at_the_kerb_or_in_a_hub() -> None:
    sim = city_world("E", vehicles=40)
    rows = np.flatnonzero(sim.fleet.platform == 1)[:12]
    sim.make_healthy(rows)
    for row in rows:
        sim.vendor.execute(int(row), "unlock", {})
        sim.world.start_ride(int(row), 300.0 + 30 * int(row % 5))
    sim.advance(900)
    assert not sim.fleet.riding[rows].any() and sim.fleet.locked[rows].all()
    kerb, hub, _ = where_parked(sim, rows)
    assert np.all(kerb | hub)


def test_names_are_seeded_and_of_their_city() -> None:
    singapore, amsterdam, shenzhen = CITIES["A"], CITIES["E"], CITIES["C"]
    assert names.streets(7, amsterdam, 50) == names.streets(7, amsterdam, 50)
    assert names.streets(7, amsterdam, 50) != names.streets(8, amsterdam, 50)
    assert names.people(7, singapore) == names.people(7, singapore)
    assert names.people(7, singapore) != names.people(8, singapore)
    along_u, along_v = names.grid_streets(7, singapore)
    grid = along_u + along_v
    assert len(set(grid)) == len(grid) == 2 * (2 * places.grid_lines(singapore) + 1)
    assert all(re.match(r"(Jalan|Lorong) ", name) for name in grid)
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in names.people(7, shenzhen)[:50])
    assert all(re.search(r"(straat|laan|weg|plein|gracht|kade|pad|singel|steeg|dijk|ring|baan|"
                         r"hof|park|markt|dreef|plantsoen|boulevard)$", name)
               for name in names.streets(7, amsterdam, 30))
    # A rider belongs to one ride: the same ride names the same person.
    assert names.rider(7, amsterdam, 5, 1000) == names.rider(7, amsterdam, 5, 1000)
    assert len({names.rider(7, amsterdam, 5, k) for k in range(20)}) > 10


def test_the_panel_and_the_live_feed_tell_who_rides_where() -> None:
    sim = Simulator(Config(seed=7, vehicles=20, paused=True, riders=True,
                           physics=PhysicsConfig.quiet()))
    hub = LiveHub(sim)
    hub.activate()
    row = sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    parked = vehicle_view(sim, row)
    spot = names.where(7, sim.platform_of(row).city, float(sim.fleet.lat[row]),
                       float(sim.fleet.lon[row]))
    # The panel names the model; the page shows its title (from /_sim/models).
    assert parked["rider"] is None and parked["model"] == "a200"
    assert parked["story"].startswith(f"Parked at {rides.place_words(spot)}")

    sim.vendor.execute(row, "unlock", {})
    rider = rides.rider_of(sim, row)
    assert rider is not None
    sim.advance(90)
    hub.build()
    riding = vehicle_view(sim, row, hub.rides.last.get(EXAMPLE_IMEI))
    assert riding["rider"] == rider and riding["story"].startswith(f"{rider} is riding it on")
    sim.advance(float(sim.fleet.ride_end[row]) - sim.clock.now)
    hub.build()
    told = [json.loads(record) for _, record in hub.ring]
    unlock, lock = (next(e for e in told if e.get("data", {}).get("reason") == reason)
                    for reason in ("unlock", "lock"))
    assert unlock["rider"] == lock["rider"] == rider
    assert lock["street"] == vehicle_view(sim, row)["street"]
    assert f"{rider} rode it last" in vehicle_view(sim, row, hub.rides.last[EXAMPLE_IMEI])["story"]


async def test_names_never_reach_the_vendor_api(client: TestClient, sim: Simulator) -> None:
    row = sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
    sim.world.start_ride(row, 600.0)
    sim.advance(60)
    rider = rides.rider_of(sim, row)
    street = vehicle_view(sim, row)["street"]
    answers = [await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
               for op in ("status", "location", "battery-info")]
    text = json.dumps(answers)
    assert rider and rider not in text and street not in text
