"""Chance incidents: network spells, falls, illegal moving, A200 faults, dormancy; their rates and
PhysicsConfig (quiet for tests, parsed from the command line)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli.main import main
from simulator.core.alerts import RESERVED_FAULTS, active_alerts, active_faults
from simulator.core.errors import SimError, VendorError
from simulator.core.events import ALERT, FAULT, STATUS, Event
from simulator.core.fleet import COLUMNS
from simulator.sim import Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, vendor_call

QUIET = PhysicsConfig.quiet()


def make(vehicles: int = 50, seed: int = 5, **physics: float) -> Simulator:
    sim = Simulator(Config(seed=seed, vehicles=vehicles, paused=True, riders=False,
                           physics=QUIET.checked(**physics)))
    sim.make_healthy(np.arange(len(sim.fleet)))
    return sim


def record(sim: Simulator) -> list[Event]:
    seen: list[Event] = []
    sim.bus.subscribe(seen.append)
    return seen


def test_a_quiet_fleet_has_no_chance_events() -> None:
    sim = Simulator(Config(seed=2, vehicles=200, paused=True, riders=False, physics=QUIET))
    seen = record(sim)
    online, dormant = sim.fleet.online.copy(), sim.fleet.dormant.copy()
    sim.advance(96 * 3600)  # past the default dormancy idle time too
    assert seen == []
    assert np.array_equal(sim.fleet.online, online)
    assert np.array_equal(sim.fleet.dormant, dormant)


async def test_a_paused_world_that_does_not_advance_does_not_change(
    client: TestClient, sim: Simulator
) -> None:
    before = {name: sim.fleet.column(name).copy() for name in COLUMNS}
    for op in ("status", "location", "battery-info", "bluetooth-key"):
        assert (await vendor_call(client, op, iotCode=EXAMPLE_IMEI))["code"] == 0
    await client.get("/_sim/vehicles")
    await client.get(f"/_sim/vehicles/{EXAMPLE_IMEI}")
    for name, column in before.items():
        assert np.array_equal(sim.fleet.column(name), column, equal_nan=column.dtype.kind == "f")


def test_offline_spells_come_and_go_in_order() -> None:
    sim = make(vehicles=100, offline_per_hour=1.0, offline_median_s=300.0)
    seen = record(sim)
    sim.advance(6 * 3600)
    by_row: dict[int, list[Event]] = defaultdict(list)
    for e in seen:
        assert e.kind == STATUS
        by_row[e.row].append(e)
    spells = []
    for events in by_row.values():
        reasons = [e.data["reason"] for e in events]
        assert reasons[::2] == ["offline"] * len(reasons[::2])
        assert reasons[1::2] == ["online"] * len(reasons[1::2])
        times = [e.t for e in events]
        assert times == sorted(times)
        spells += [b - a for a, b in zip(times[::2], times[1::2], strict=False)]
    assert 300 <= len(spells) <= 900  # 1 per vehicle-hour, minus the time spent offline
    assert 200 <= np.median(spells) <= 600  # median 300 s, ended on the minute


def test_a_vehicle_in_a_spell_answers_offline() -> None:
    sim = make(vehicles=10, offline_per_hour=2.0, offline_median_s=1800.0)
    f = sim.fleet
    while f.online.all():
        sim.advance(60)
    row = int(np.flatnonzero(~f.online)[0])
    with pytest.raises(VendorError) as err:
        sim.vendor.execute(row, "unlock", {})
    assert err.value.code == 15301
    sim.config.physics = QUIET
    while not f.online[row]:
        sim.advance(60)
    sim.vendor.execute(row, "unlock", {})
    assert not f.locked[row]


def test_falls_and_alarms_are_raised_and_cleared() -> None:
    sim = make(vehicles=100, falls_per_hour=0.5, illegal_moving_per_hour=0.5)
    f = sim.fleet
    f.locked[50:] = False  # parked unlocked (riders off)
    f.anti_theft[75:] = False  # ... of which these have the alarm turned off
    seen = record(sim)
    sim.advance(6 * 3600)
    sim.config.physics = QUIET  # nothing new: everything that happened ends
    sim.advance(13 * 3600)
    raised = [(e.row, e.data["code"]) for e in seen if e.data.get("alertStatus") == 0]
    cleared = [(e.row, e.data["code"]) for e in seen if e.data.get("alertStatus") == 1]
    assert all(e.kind == ALERT for e in seen)
    falls_locked = {r for r, c in raised if c == 2}
    falls_unlocked = {r for r, c in raised if c == 4}
    moved = {r for r, c in raised if c == 1}
    assert falls_locked and falls_unlocked and moved
    assert all(r < 50 for r in falls_locked) and all(r >= 50 for r in falls_unlocked)
    assert all(r < 75 for r in moved)  # alarm armed: locked, or unlocked with anti-theft on
    # Every fall clears as "2 vehicle fell down", every alarm as 1.
    assert sorted(cleared) == sorted((r, 2 if c in (2, 4) else c) for r, c in raised)
    assert not f.alerts.any()


def test_alert_sensitivity_scales_the_alarm() -> None:
    sim = make(vehicles=400, illegal_moving_per_hour=0.2)
    f = sim.fleet
    f.alert_sensitivity[:200] = 1
    f.alert_sensitivity[200:] = 3
    seen = record(sim)
    sim.advance(24 * 3600)
    rows = np.array([e.row for e in seen if e.data == {"code": 1, "alertStatus": 0}])
    low, high = (rows < 200).sum(), (rows >= 200).sum()
    assert high > 2.5 * low > 0


def test_faults_appear_and_clear_and_are_never_reserved() -> None:
    sim = make(vehicles=100, faults_per_hour=0.2, fault_clear_per_hour=1.0)
    seen = record(sim)
    sim.advance(12 * 3600)
    sim.config.physics = QUIET.checked(fault_clear_per_hour=2.0)
    sim.advance(24 * 3600)
    raised = [(e.row, e.data["code"]) for e in seen if e.data["faultStatus"] == 0]
    cleared = [(e.row, e.data["code"]) for e in seen if e.data["faultStatus"] == 1]
    assert all(e.kind == FAULT for e in seen)
    assert len(raised) > 50 and len({c for _, c in raised}) > 20
    assert not {c for _, c in raised} & set(RESERVED_FAULTS)
    assert sorted(raised) == sorted(cleared)
    assert not sim.fleet.faults.any()


def test_default_rates_are_low_and_as_documented() -> None:
    sim = Simulator(Config(seed=9, vehicles=1000, paused=True, riders=False))
    seen = record(sim)
    sim.advance(24 * 3600)
    cfg, vehicle_hours = PhysicsConfig(), 1000 * 24
    spells = sum(e.data.get("reason") == "offline" for e in seen)
    falls = sum(e.data == {"code": 2, "alertStatus": 0} for e in seen)
    faults = sum(e.kind == FAULT and e.data["faultStatus"] == 0 for e in seen)
    assert 0.6 < spells / (cfg.offline_per_hour * vehicle_hours) < 1.4
    assert 0.5 < falls / (cfg.falls_per_hour * vehicle_hours) < 1.5
    assert 0.3 < faults / (cfg.faults_per_hour * vehicle_hours) < 2.0


class TestInTheControlPlane:
    @pytest.fixture
    def config(self) -> Config:
        return Config(seed=7, vehicles=20, paused=True, riders=False,
                      physics=QUIET.checked(faults_per_hour=0.5, falls_per_hour=0.5,
                                            dormancy_idle_s=3600.0))

    async def test_incidents_are_visible_in_the_vehicle_state(
        self, client: TestClient, sim: Simulator
    ) -> None:
        f = sim.fleet
        await client.post("/_sim/clock", json={"advance": 3 * 3600})
        rows = np.flatnonzero((f.faults != 0) | (f.alerts != 0))
        assert rows.size
        for row in rows.tolist():
            resp = await client.get(f"/_sim/vehicles/{f.imeis[row]}")
            state = await resp.json()
            assert state["faults"] == active_faults(f, row)
            assert state["alerts"] == active_alerts(f, row)
            assert state["faults"] or state["alerts"]

    async def test_dormancy_after_a_long_idle_and_a_charger_wakes_it(
        self, client: TestClient, sim: Simulator
    ) -> None:
        await client.post("/_sim/clock", json={"advance": 2 * 3600})
        asleep = await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI})
        assert asleep["code"] == 15704
        resp = await client.post(f"/_sim/vehicles/{EXAMPLE_IMEI}/events",
                                 json={"type": "charger", "plugged": True}, headers=AUTH)
        assert resp.status == 200, await resp.text()
        awake = await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI})
        assert awake["code"] == 0


class TestConfig:
    def test_quiet_turns_every_chance_off(self) -> None:
        q = PhysicsConfig.quiet()
        assert q.offline_per_hour == q.falls_per_hour == q.ride_falls_per_hour == 0
        assert q.illegal_moving_per_hour == q.faults_per_hour == q.fault_clear_per_hour == 0
        assert q.invalid_fix_chance == 0 and q.dormancy_idle_s == 0
        assert q.ride_median_s == PhysicsConfig().ride_median_s

    def test_parse(self) -> None:
        assert PhysicsConfig.parse("") == PhysicsConfig()
        assert PhysicsConfig.parse("quiet") == PhysicsConfig.quiet()
        assert PhysicsConfig.parse("quiet, faults_per_hour=0.5") == \
            PhysicsConfig.quiet().checked(faults_per_hour=0.5)
        assert PhysicsConfig.parse("offline_per_hour=1,ride_median_s=300").offline_per_hour == 1

    @settings(max_examples=50)
    @given(text=st.sampled_from(["nope=1", "faults_per_hour", "faults_per_hour=x",
                                 "faults_per_hour=-1", "invalid_fix_chance=2",
                                 "ride_median_s=0", "offline_per_hour=inf",
                                 "falls_per_hour=nan"]),
           prefix=st.sampled_from(["", "quiet,", "offline_per_hour=0.1,"]))
    def test_bad_values_name_their_field(self, text: str, prefix: str) -> None:
        with pytest.raises(SimError) as err:
            PhysicsConfig.parse(prefix + text)
        assert err.value.field in {"physics", text.split("=")[0]}

    def test_serve_refuses_bad_rates_before_starting(self) -> None:
        result = CliRunner().invoke(main, ["serve", "--physics", "faults_per_hour=-1"])
        assert result.exit_code == 2
        assert "--physics" in result.output and "faults_per_hour" in result.output


@settings(max_examples=50)
@given(seed=st.integers(0, 10_000))
def test_network_signal_wanders_within_2_to_32(seed: int) -> None:
    sim = make(vehicles=20, seed=seed)
    f = sim.fleet
    levels = []
    for _ in range(18):
        sim.advance(600)
        assert np.all((f.network_signal >= 2) & (f.network_signal <= 32))
        levels.append(f.network_signal.copy())
    history = np.array(levels)
    distinct = [len(set(history[:, row])) for row in range(len(f))]
    assert min(distinct) >= 3  # it fluctuates, for every vehicle
    spread = history.mean(axis=0)
    assert spread.max() - spread.min() > 3  # around each vehicle's own level
