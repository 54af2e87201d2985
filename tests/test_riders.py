"""Virtual riders: an unlock brings a rider who rides the streets, parks and locks by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.errors import SimError
from simulator.core.events import COMPONENTS, STATUS, Event
from simulator.core.vehicle import UNASSISTED_KMH
from simulator.sim import Config, Simulator
from simulator.world import battery
from simulator.world.movement import ACCEL, HARD_BRAKE
from simulator.world.physics import PhysicsConfig
from simulator.world.places import STREETS
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

QUIET = PhysicsConfig.quiet()


def healthy(seed: int = 7, vehicles: int = 20, riders_on: bool = True,
            **physics: float) -> Simulator:
    sim = Simulator(Config(seed=seed, vehicles=vehicles, paused=True, riders=riders_on,
                           physics=QUIET.checked(**physics)))
    sim.make_healthy(np.arange(len(sim.fleet)))
    return sim


def events_of(sim: Simulator) -> list[Event]:
    seen: list[Event] = []
    sim.bus.subscribe(seen.append)
    return seen


async def advance(client: TestClient, seconds: float) -> None:
    resp = await client.post("/_sim/clock", json={"advance": seconds})
    assert resp.status == 200, await resp.text()


async def vehicle(client: TestClient, imei: str) -> dict[str, Any]:
    resp = await client.get(f"/_sim/vehicles/{imei}")
    assert resp.status == 200
    state: dict[str, Any] = await resp.json()
    return state


class TestRidersOn:
    @pytest.fixture
    def config(self) -> Config:
        return Config(seed=7, vehicles=20, paused=True, riders=True, physics=QUIET)

    async def test_an_unlock_brings_a_rider_who_rides_parks_and_locks(
        self, client: TestClient, sim: Simulator
    ) -> None:
        seen = events_of(sim)
        before = (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["data"]
        assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
        row = sim.fleet.find(EXAMPLE_IMEI)
        assert row is not None
        end = float(sim.fleet.ride_end[row])
        assert sim.clock.now + 60 <= end <= sim.clock.now + 3 * 3600

        speeds = []
        for _ in range(60):  # a red light may stop it at any given second, not for a minute
            await advance(client, 1)
            speeds.append((await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["data"])
        riding = speeds[-1]
        assert riding["locked"] is False
        assert max(s["speed"] for s in speeds) > 0
        assert riding["odometer"] > before["odometer"]
        assert riding["totalRidingSecs"] == before["totalRidingSecs"] + 60
        assert (await vehicle(client, EXAMPLE_IMEI))["riding"] is True

        await advance(client, end - sim.clock.now)
        after = (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["data"]
        assert after["locked"] is True
        assert after["speed"] == 0
        assert after["odometer"] > riding["odometer"]
        assert after["powerPercent"] <= before["powerPercent"]
        assert (await vehicle(client, EXAMPLE_IMEI))["riding"] is False
        # The lock came from the vehicle, at the end of the ride: a status and a components push.
        mine = [(e.t, e.kind, e.data) for e in seen if e.row == row]
        assert (end, STATUS, {"reason": "lock"}) in mine
        assert (end, COMPONENTS, {"type": 5, "status": 2}) in mine

    def test_a_rider_pulls_the_charger_out_first(self, sim: Simulator) -> None:
        seen = events_of(sim)
        sim.world.charger(0, True)
        sim.fleet.power[0] = 50.0
        sim.advance(60)
        assert sim.fleet.charging[0]
        sim.vendor.execute(0, "unlock", {})
        sim.advance(1)
        assert not sim.fleet.plugged[0] and not sim.fleet.charging[0]
        reasons = [e.data.get("reason") for e in seen if e.row == 0 and e.kind == STATUS]
        assert reasons == ["charging", "unlock", "charge-end"]


async def test_with_riders_off_an_unlocked_vehicle_stays_parked(
    client: TestClient, sim: Simulator
) -> None:
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
    before = await vehicle(client, EXAMPLE_IMEI)
    await advance(client, 2 * 3600)
    after = await vehicle(client, EXAMPLE_IMEI)
    assert after["locked"] is False and after["riding"] is False
    assert after["status"]["speed"] == 0
    assert after["status"]["odometer"] == before["status"]["odometer"]
    assert after["status"]["totalRidingSecs"] == before["status"]["totalRidingSecs"]
    assert abs(after["location"]["latitude"] - before["location"]["latitude"]) < 5e-4


@settings(max_examples=50)
@given(offset=st.floats(0, 5), seconds=st.floats(0.5, 900))
def test_a_ride_locks_at_exactly_its_end(offset: float, seconds: float) -> None:
    sim = healthy(vehicles=4, riders_on=False)  # no drawn ride: only the one started here
    sim.advance(offset)
    sim.vendor.execute(0, "unlock", {})
    seen = events_of(sim)
    sim.world.start_ride(0, seconds)
    end = sim.clock.now + seconds
    sim.advance_to(end - 1e-3)
    assert sim.fleet.riding[0] and not sim.fleet.locked[0]
    sim.advance_to(end)
    assert sim.fleet.locked[0] and not sim.fleet.riding[0] and sim.fleet.speed[0] == 0
    assert [(e.t, e.data) for e in seen if e.kind == STATUS] == [(end, {"reason": "lock"})]


def test_end_ride_parks_and_locks_now() -> None:
    sim = healthy(vehicles=4)
    sim.vendor.execute(1, "unlock", {})
    sim.advance(45)
    assert sim.fleet.riding[1]
    sim.world.end_ride(1)
    f = sim.fleet
    assert f.locked[1] and not f.riding[1] and f.speed[1] == 0 and f.current_power[1] == 0
    odometer = f.odometer[1]
    sim.advance(600)
    assert f.odometer[1] == odometer


def test_start_ride_refuses_a_locked_vehicle_and_bad_durations() -> None:
    sim = healthy(vehicles=4)
    with pytest.raises(SimError) as locked:
        sim.world.start_ride(2)
    assert locked.value.field == "type"
    sim.fleet.locked[2] = False
    sim.fleet.transport[2] = True
    with pytest.raises(SimError) as powered_off:
        sim.world.start_ride(2)
    assert powered_off.value.field == "type"
    sim.fleet.transport[2] = False
    for bad in (0.0, -5.0, float("nan"), float("inf")):
        with pytest.raises(SimError) as err:
            sim.world.start_ride(2, bad)
        assert err.value.field == "seconds"
    assert not sim.fleet.riding[2]


def test_ride_durations_follow_the_rider_model() -> None:
    sim = healthy(vehicles=400, ride_median_s=600.0)
    f = sim.fleet
    start = sim.clock.now
    for row in range(len(f)):
        sim.vendor.execute(row, "unlock", {})
    lengths = f.ride_end - start
    assert np.all(f.riding)
    assert np.all((lengths >= 60) & (lengths <= 3 * 3600))
    assert np.all(lengths == np.round(lengths))  # begun on the second, ended on one
    assert 480 <= np.median(lengths) <= 750
    assert lengths.std() > 200  # riders differ


def true_grid(sim: Simulator, row: int) -> tuple[float, float]:
    """The vehicle's true position in its city's street-grid frame (metres)."""
    f, city = sim.fleet, sim.platform_list[0].city
    streets = STREETS[city.name]
    x = (f.lon[row] - f.gps_de[row] / city.meters_per_deg_lon() - city.lon) \
        * city.meters_per_deg_lon()
    y = (f.lat[row] - f.gps_dn[row] / city.meters_per_deg_lat() - city.lat) \
        * city.meters_per_deg_lat()
    c, s = np.cos(np.radians(streets.bearing_deg)), np.sin(np.radians(streets.bearing_deg))
    return x * c + y * s, y * c - x * s


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000))
def test_riders_follow_the_streets_with_realistic_speeds(seed: int) -> None:
    sim = healthy(seed=seed, vehicles=4, riders_on=False)
    f = sim.fleet
    block = STREETS[sim.platform_list[0].city.name].block_m
    rows = range(4)
    for row in rows:
        sim.vendor.execute(row, "unlock", {})
        sim.world.start_ride(row, 400.0)
    path, speeds, odometer, riding = [], [], [], []
    while f.riding.any():
        sim.advance(1)
        riding.append(f.riding[:4].copy())
        path.append([true_grid(sim, row) for row in rows])
        speeds.append(f.speed[:4].astype(np.float64))
        odometer.append(f.odometer[:4].copy())
    uv, v, odo = np.array(path), np.array(speeds), np.array(odometer)
    for row in rows:
        # The rider walks the bike out to the nearest intersection; from there on, every
        # position lies on a street of the grid until the rider parks it off the street.
        off = np.abs(uv[:, row] / block - np.round(uv[:, row] / block)) * block < 1e-6
        first_crossing = np.flatnonzero(off.all(axis=1))[0]
        parked = np.flatnonzero(~np.array(riding)[:, row])[0]
        assert first_crossing < 60
        assert np.all(off[first_crossing:parked].any(axis=1))
        assert not off[parked].any()
        # The odometer counts exactly the path travelled.
        hops = np.hypot(*np.diff(uv[:, row], axis=0).T)
        np.testing.assert_allclose(np.diff(odo[:, row]), hops, atol=1e-6)
    # Gentle acceleration, bounded braking, stops at lights, a sensible cruising speed.
    dv = np.diff(v, axis=0)
    assert dv.max() <= ACCEL * 3.6 + 1e-4
    assert dv.min() >= -HARD_BRAKE * 3.6 - 1e-4
    assert v.max() > 8 and v.mean() > 5
    moving = (v[30:-15] > 0).any(axis=0)  # after mounting, before parking
    assert moving.all() and (v[30:-15] == 0).any()
    assert np.all(v[-1] == 0)


def test_an_empty_battery_is_pedalled_without_assist() -> None:
    sim = healthy(vehicles=3)
    f = sim.fleet
    f.power[0] = 0.0
    battery.sync_packs(f, np.array([0]))
    sim.vendor.execute(0, "unlock", {})
    top = 0.0
    for _ in range(300):  # the top speed of the ride so far (a red light may stop it at the end)
        sim.advance(1)
        top = max(top, float(f.speed.max()))
    assert f.riding[0] and f.odometer[0] > 0
    assert 0 < top <= UNASSISTED_KMH
    assert f.power[0] == 0 and f.current_power[0] == 0
