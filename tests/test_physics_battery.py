"""The battery: drain from riding, idle drain, charging, packs, the IoT backup, low power."""

from __future__ import annotations

from typing import Any

import numpy as np
from aiohttp.test_utils import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulator.core.alerts import active_alerts
from simulator.core.events import ALERT, STATUS, Event
from simulator.core.fleet import pack_voltage
from simulator.core.readings import FULL_RANGE_M
from simulator.sim import Config, Simulator
from simulator.world import battery
from simulator.world.movement import Moved
from simulator.world.physics import PhysicsConfig
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

QUIET = PhysicsConfig.quiet()


def quiet_sim(vehicles: int = 6, seed: int = 3) -> Simulator:
    sim = Simulator(Config(seed=seed, vehicles=vehicles, paused=True, riders=False,
                           physics=QUIET))
    sim.make_healthy(np.arange(len(sim.fleet)))
    return sim


def set_power(sim: Simulator, row: int, power: float) -> None:
    sim.fleet.power[row] = power
    battery.sync_packs(sim.fleet, np.array([row]))


def ride(sim: Simulator, row: int, seconds: float) -> None:
    sim.fleet.locked[row] = False
    sim.world.start_ride(row, seconds)


def record(sim: Simulator) -> list[Event]:
    seen: list[Event] = []
    sim.bus.subscribe(seen.append)
    return seen


def test_riding_drains_about_what_the_remaining_range_promises() -> None:
    """A full battery lasts about readings.FULL_RANGE_M in each speed mode: Turbo goes less far
    per percent than Eco, and Eco less than Exercise."""
    sim = quiet_sim(vehicles=9, seed=11)
    f = sim.fleet
    for row in range(9):
        f.speed_mode[row] = 1 + row % 3
        set_power(sim, row, 100.0)
        ride(sim, row, 3600.0)
    start = f.odometer[:9].copy()
    sim.advance(3600)
    used = 100.0 - f.power[:9].astype(np.float64)
    per_pct = (f.odometer[:9] - start) / used
    by_mode = {mode: per_pct[f.speed_mode[:9] == mode].mean() for mode in (1, 2, 3)}
    assert by_mode[1] > by_mode[2] > by_mode[3]
    for mode, metres in by_mode.items():
        promised = FULL_RANGE_M[mode] / 100
        assert 0.5 * promised <= metres <= 1.3 * promised, (mode, metres, promised)


def test_climbing_assist_costs_more_energy() -> None:
    sim = quiet_sim(vehicles=2, seed=5)
    f = sim.fleet
    for row, climb in ((0, 1), (1, 2)):
        f.climb_input[row] = climb
        set_power(sim, row, 90.0)
    sim.advance(60)
    moved = Moved(lat=np.zeros(2), lon=np.zeros(2), distance=np.array([5.0, 5.0]),
                          climb=np.array([1.0, 1.0]), v0=np.array([5.0, 5.0]),
                          v1=np.array([5.0, 5.0]))
    battery.ride_drain(f, np.array([0, 1]), moved)
    assert 90.0 > f.power[0] > f.power[1]
    assert 0 < f.current_power[0] < f.current_power[1]


def test_standing_drains_a_little() -> None:
    sim = quiet_sim()
    f = sim.fleet
    before = f.power.copy()
    sim.advance(24 * 3600)
    drained = before - f.power
    assert np.all(drained > 0) and np.all(drained <= 1.0)


@settings(max_examples=50)
@given(start=st.floats(0, 99), hours=st.floats(0.1, 8))
def test_a_charger_fills_the_battery_and_stops_when_full(start: float, hours: float) -> None:
    sim = quiet_sim(vehicles=3)
    f = sim.fleet
    set_power(sim, 0, start)
    start = float(f.power[0])  # as stored (float32)
    cycles = f.pack_cycles[0].copy()
    seen = record(sim)
    sim.world.charger(0, True)
    assert f.charging[0] and f.plugged[0]
    sim.advance(hours * 3600)
    gained = float(f.power[0]) - start
    assert 0 < gained <= 25.0 * hours + 1.0  # at most the fast rate
    assert f.power[0] <= 100
    full = bool(f.power[0] >= 100)
    assert f.charging[0] == (not full)
    reasons = [e.data["reason"] for e in seen if e.kind == STATUS]
    assert reasons == (["charging", "charge-end"] if full else ["charging"])
    # Packs follow the vehicle percent; a cycle is counted per 100 % charged.
    count = int(f.battery_count[0])
    assert abs(float(f.pack_percent[0, :count].mean()) - float(f.power[0])) < 1e-3
    counted = f.pack_cycles[0, :count] - cycles[:count]
    if abs(gained - 100.0) > 1e-4:
        assert np.array_equal(counted, np.full(count, int(gained >= 100)))
    else:  # float32 sums may round a charge of just under or over 100 % either way
        assert len(set(counted.tolist())) == 1 and counted[0] in (0, 1)
    if not full:  # the charger draws power and warms the packs (vehicle 1 stands by)
        assert f.current_power[0] > 0
        if hours >= 1:
            assert f.pack_temp[0, 0] > f.pack_temp[1, 0] + 3


def test_a_cycle_is_counted_per_hundred_percent_charged() -> None:
    sim = quiet_sim(vehicles=3)
    f = sim.fleet
    count = int(f.battery_count[0])
    cycles = f.pack_cycles[0].copy()
    for _ in range(2):  # 2 x (5 % -> 100 %) = 190 %
        set_power(sim, 0, 5.0)
        sim.world.charger(0, True)
        sim.advance(8 * 3600)
        sim.world.charger(0, False)
    assert np.array_equal(f.pack_cycles[0, :count], cycles[:count] + 1)
    assert 85 < f.charge_acc[0] < 95


async def test_battery_info_packs_add_up(client: TestClient, sim: Simulator) -> None:
    f = sim.fleet
    row = sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    f.battery_count[row] = 3
    f.pack_percent[row] = [70.0, 80.0, 90.0]
    set_power(sim, row, 42.0)
    await client.post("/_sim/clock", json={"advance": 3600})
    data: dict[str, Any] = (await vendor_call(client, "battery-info", iotCode=EXAMPLE_IMEI))["data"]
    packs = data["batteryData"]
    assert data["batteryCount"] == 3 and len(packs) == 3
    assert abs(np.mean([p["batteryPercent"] for p in packs]) - data["vehiclePercent"]) <= 1
    assert packs[0]["batteryPercent"] < packs[1]["batteryPercent"] < packs[2]["batteryPercent"]
    for p, raw in zip(packs, f.pack_percent[row], strict=True):
        assert p["batteryVoltage"] == round(float(pack_voltage(np.array([raw]))[0]))
        assert 0 < p["temperatrue"] < 45


def test_packs_balance_instead_of_leaving_the_range() -> None:
    sim = quiet_sim(vehicles=2)
    f = sim.fleet
    f.battery_count[0] = 2
    f.pack_percent[0] = [40.0, 60.0, 0.0]
    set_power(sim, 0, 99.0)
    assert np.all(f.pack_percent[0, :2] <= 100) and f.pack_percent[0, 2] == 0
    assert abs(float(f.pack_percent[0, :2].mean()) - 99.0) < 1e-4
    set_power(sim, 0, 0.0)
    assert np.all(f.pack_percent[0] == 0)


def test_the_iot_runs_on_its_backup_battery_then_goes_offline() -> None:
    sim = quiet_sim(vehicles=2)
    f = sim.fleet
    set_power(sim, 0, 0.0)
    seen = record(sim)
    sim.advance(24 * 3600)
    assert f.online[0] and 40 < f.iot_percent[0] < 60  # about 2 %/h on its own
    sim.advance(40 * 3600)
    assert not f.online[0] and f.iot_percent[0] == 0
    sim.world.charger(0, True)
    sim.advance(60)
    assert f.online[0]
    assert [e.data["reason"] for e in seen if e.kind == STATUS and e.row == 0] == \
        ["offline", "charging", "online"]


class TestLowPower:
    def test_the_alert_appears_when_the_charge_falls_under_the_setting(self) -> None:
        sim = quiet_sim(vehicles=2)
        f = sim.fleet
        set_power(sim, 0, 5.6)  # reported 6: above the default lowPowerValue 5
        seen = record(sim)
        ride(sim, 0, 3 * 3600.0)
        while f.power[0] >= 4.5:
            sim.advance(1)
        crossed = sim.clock.now
        assert active_alerts(f, 0) == [12]
        alerts = [e for e in seen if e.kind == ALERT]
        assert [(e.t, e.data) for e in alerts] == [(crossed, {"code": 12, "alertStatus": 0})]

    def test_it_disappears_when_charged(self) -> None:
        sim = quiet_sim(vehicles=2)
        f = sim.fleet
        set_power(sim, 0, 2.0)
        sim.advance(60)
        assert active_alerts(f, 0) == [12]
        seen = record(sim)
        sim.world.charger(0, True)
        sim.advance(3600)
        assert active_alerts(f, 0) == []
        cleared = [e for e in seen if e.kind == ALERT]
        assert [e.data for e in cleared] == [{"code": 12, "alertStatus": 1}]
        # It cleared on the minute the reported percent reached the setting (2 % + 25 %/h).
        assert cleared[0].t - sim.config.start <= 60 + 3 / 25 * 3600 + 60

    @settings(max_examples=50)
    @given(power=st.floats(0, 40), low=st.integers(0, 30))
    def test_the_setting_decides(self, power: float, low: int) -> None:
        sim = quiet_sim(vehicles=2)
        set_power(sim, 0, power)
        sim.vendor.execute(0, "setting/switch", {"lowPowerValue": low})
        sim.advance(60)
        expected = [12] if low > 0 and round(power) < low else []
        assert active_alerts(sim.fleet, 0) == expected

    async def test_visible_in_the_control_plane(self, client: TestClient, sim: Simulator) -> None:
        row = sim.fleet.find(EXAMPLE_IMEI)
        assert row is not None
        set_power(sim, row, 3.0)
        await client.post("/_sim/clock", json={"advance": 60})
        state = await (await client.get(f"/_sim/vehicles/{EXAMPLE_IMEI}")).json()
        assert state["alerts"] == [12]


@settings(max_examples=200)
@given(packs=st.lists(st.floats(0, 100), min_size=3, max_size=3), count=st.integers(1, 3),
       power=st.floats(0, 100))
@example(packs=[16.99652862548828, 11.996527671813965, 6.996527671813965], count=3,
         power=3.153292903889046)  # found by tests/test_physics_invariants.py (seed 803)
def test_packs_stay_within_0_and_100_whatever_the_vehicle_percent(
        packs: list[float], count: int, power: float) -> None:
    """The packs follow a swapped battery's percent and never leave 0-100, not even by the
    rounding of a pack pressed to an end (-4e-16 once reached a snapshot's range check)."""
    sim = Simulator(Config(seed=3, vehicles=3, paused=True, riders=False))
    f, row = sim.fleet, np.array([0])
    f.battery_count[0] = count
    f.pack_percent[0] = [p if n < count else 0.0 for n, p in enumerate(packs)]
    f.power[0] = power
    battery.sync_packs(f, row)
    assert np.all((f.pack_percent[0] >= 0) & (f.pack_percent[0] <= 100))
    assert np.all(f.pack_percent[0, count:] == 0)
