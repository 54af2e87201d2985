"""Push cadence on the virtual clock: locked, unlocked, riding, the interval setting, offline,
and exact due times however the clock is advanced."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core import vehicle
from simulator.sim import Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.push import Rig
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

OTHER_IMEI = "862785041281554"


@pytest.fixture
def config() -> Config:
    # The reference's 3 vehicles; no chance events (offline spells would break the cadence).
    return Config(seed=7, vehicles=3, paused=True, riders=False, physics=PhysicsConfig.quiet())


def dues(rig: Rig, kind: str, imei: str = EXAMPLE_IMEI) -> list[float]:
    """Virtual due times (s) of the delivered pushes of one kind and vehicle, oldest first."""
    return [r["due"] / 1000 for r in rig.delivered(kind, imei)]


def gaps(times: list[float]) -> set[float]:
    return {round(b - a, 6) for a, b in zip(times, times[1:], strict=False)}


async def test_locked_vehicles_report_location_every_900_s_and_no_status(rig: Rig) -> None:
    t0 = rig.sim.clock.now
    await rig.advance(3 * 3600)
    times = dues(rig, "location")
    assert len(times) == 12 and gaps(times) == {900.0}
    assert t0 < times[0] <= t0 + 900
    assert dues(rig, "status") == []
    assert len(rig.receiver.of("location", EXAMPLE_IMEI)) == 12
    assert all(g.signed_by() for g in rig.receiver.got)


async def test_unlocked_vehicles_report_location_every_10_s(rig: Rig) -> None:
    t0 = rig.sim.clock.now
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.advance(120)
    times = dues(rig, "location")
    assert gaps(times) == {10.0}
    assert t0 < times[0] <= t0 + 10 and len(times) == 12
    # Idle (not riding): no periodic status (statusInterval.nonRiding unset), only the unlock's.
    assert dues(rig, "status") == [t0]
    assert len(dues(rig, "location", OTHER_IMEI)) <= 1  # still locked: 900 s


async def test_riding_vehicles_report_status_and_location_every_10_s(rig: Rig) -> None:
    row = rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    t0 = rig.sim.clock.now
    rig.sim.world.start_ride(row, seconds=100)
    await rig.advance(200)
    # The unlock's, one every 10 s of the ride, then the lock's; locked: no periodic status.
    assert dues(rig, "status") == [t0] + [t0 + 10 * k for k in range(1, 11)] + [t0 + 100]
    forms = [r["fields"] for r in rig.delivered("status", EXAMPLE_IMEI)]
    assert [f["locked"] for f in forms] == ["false"] * 11 + ["true"]
    assert len(rig.receiver.of("status", EXAMPLE_IMEI)) == 12
    assert len(rig.receiver.of("components", EXAMPLE_IMEI)) == 1
    location = dues(rig, "location")
    assert gaps([t for t in location if t <= t0 + 100]) == {10.0}
    assert [t for t in location if t > t0 + 110] == []  # locked again: next one 900 s apart


async def test_offline_vehicles_push_nothing_until_they_reconnect(rig: Rig) -> None:
    sim, row = rig.sim, rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await vendor_call(rig.client, "whole-shutdown", {"iotCode": EXAMPLE_IMEI})
    t_off = sim.clock.now
    await rig.advance(1000)
    statuses = rig.delivered("status", EXAMPLE_IMEI)
    assert [r["fields"]["online"] for r in statuses] == ["true", "false"]  # disconnection, once
    assert dues(rig, "location") == []
    vehicle.power_on(sim.fleet, row, sim.clock.now, sim.bus)
    t_on = sim.clock.now
    await rig.advance(30)
    statuses = rig.delivered("status", EXAMPLE_IMEI)
    assert [r["fields"]["online"] for r in statuses] == ["true", "false", "true"]
    assert len(rig.receiver.of("status", EXAMPLE_IMEI)) == 3
    assert dues(rig, "location") == [t_on + 10, t_on + 20, t_on + 30]
    assert t_off < t_on


async def test_inactive_vehicles_push_nothing(rig: Rig) -> None:
    sim, row = rig.sim, rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    sim.fleet.activated[row] = False
    vehicle.rider_lock(sim.fleet, row, sim.clock.now, sim.bus)  # even a change says nothing
    sim.fleet.locked[row] = False
    vehicle.rider_lock(sim.fleet, row, sim.clock.now, sim.bus)
    await rig.advance(2000)
    assert rig.receiver.of(imei=EXAMPLE_IMEI) == []
    assert len(rig.receiver.of("location", OTHER_IMEI)) == 2


INTERVAL_CASES: list[tuple[dict[str, Any], str, str, float]] = [
    # body, state to put the vehicle in, push kind, expected period
    ({"locationInterval": {"unlockStatus": 30}}, "unlocked", "location", 30),
    ({"locationInterval": {"lockStatus": 60}}, "locked", "location", 60),
    ({"statusInterval": {"ridingStatus": 20}}, "riding", "status", 20),
    ({"statusInterval": {"nonRiding": 15}}, "unlocked", "status", 15),
    ({"statusInterval": {"lockStatus": 120}}, "locked", "status", 120),
]


@pytest.mark.parametrize(("body", "state", "kind", "period"), INTERVAL_CASES)
async def test_the_interval_setting_sets_the_cadence(
    rig: Rig, body: dict[str, Any], state: str, kind: str, period: float
) -> None:
    sim, row = rig.sim, rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    answer = await vendor_call(rig.client, "setting/interval", {"iotCode": EXAMPLE_IMEI, **body})
    assert answer["code"] == 0
    if state != "locked":
        await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    if state == "riding":
        sim.world.start_ride(row, seconds=10_000)
    t0 = sim.clock.now
    await rig.advance(10 * period)
    times = [t for t in dues(rig, kind) if t > t0]  # periodic ones (not the unlock's status)
    assert gaps(times) == {period}
    assert len(times) in (9, 10)  # the first comes within one period
    assert times[-1] <= t0 + 10 * period


async def test_a_new_interval_takes_over_from_the_running_schedule(rig: Rig) -> None:
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.advance(35)
    before = dues(rig, "location")
    await vendor_call(rig.client, "setting/interval",
                      {"iotCode": EXAMPLE_IMEI, "locationInterval": {"unlockStatus": 60}})
    await rig.advance(200)
    after = [t for t in dues(rig, "location") if t > before[-1]]
    # The report already scheduled stays; from it on, one every 60 s.
    assert after[0] == before[-1] + 10
    assert gaps(after) == {60.0}


# -- exact times, however the clock is advanced (core, no delivery) ------------------------------


def queued(sim: Simulator) -> list[tuple[str, str, float]]:
    return [(p.kind, p.iot_code, p.due) for q in sim.outbox.queues.values() for p in q]


def world(tick_s: float, quiet: bool = True) -> Simulator:
    sim = Simulator(Config(seed=11, vehicles=12, paused=True, riders=not quiet, tick_s=tick_s,
                           callback_url="http://127.0.0.1:9/none",
                           physics=PhysicsConfig.quiet() if quiet else PhysicsConfig(),
                           extra={"push_queue": 1_000_000}))
    for row in range(0, 12, 3):
        vehicle.unlock(sim.fleet, row, {}, sim.clock.now, sim.bus)
    if quiet:
        sim.world.start_ride(0, seconds=300)
    return sim


def test_a_24_hour_jump_gives_the_same_pushes_as_living_through_it() -> None:
    chunked, jump = world(1.0), world(86_400.0)
    for _ in range(1440):
        chunked.advance(60)
    jump.advance(86_400)  # tick_s 86400: one step, but for the ride's end timer
    assert jump.step_count <= 3
    assert queued(chunked) == queued(jump)
    times = [t for _, _, t in queued(jump)]
    assert times == sorted(times)
    assert len(times) > 8 * 96 + 3 * 8640  # 96 a day locked, 8640 a day unlocked


def test_any_slicing_of_time_gives_the_same_pushes_with_a_living_fleet() -> None:
    """Riders, offline spells, alerts and faults on: pushes do not depend on how time moves."""
    whole, sliced = world(1.0, quiet=False), world(1.0, quiet=False)
    start = whole.clock.now
    whole.advance(6 * 3600)
    for t in np.sort(np.random.default_rng(3).uniform(0, 6 * 3600, size=150)):
        sliced.advance_to(start + float(t))
    sliced.advance_to(whole.clock.now)
    assert queued(whole) == queued(sliced)
    assert {kind for kind, _, _ in queued(whole)} >= {"status", "location", "components"}


@settings(max_examples=60)
@given(
    unlock=st.integers(10, 65535),
    lock=st.integers(10, 65535),
    steps=st.lists(st.floats(0.01, 600), min_size=1, max_size=8),
    locked=st.booleans(),
)
def test_reports_are_exactly_one_period_apart_and_in_order(
    unlock: int, lock: int, steps: list[float], locked: bool
) -> None:
    sim = Simulator(Config(seed=5, vehicles=3, paused=True, riders=False,
                           callback_url="http://127.0.0.1:9/none", physics=PhysicsConfig.quiet()))
    row = 0
    vehicle.set_interval(sim.fleet, row, {"locationInterval": {"unlockStatus": unlock,
                                                               "lockStatus": lock}},
                         sim.clock.now, sim.bus)
    if not locked:
        vehicle.unlock(sim.fleet, row, {}, sim.clock.now, sim.bus)
    t0 = sim.clock.now
    for step in steps:
        sim.advance(step)
    period = lock if locked else unlock
    imei = sim.fleet.imeis[row]
    mine = [t for kind, who, t in queued(sim) if kind == "location" and who == imei]
    assert all(round(b - a, 6) == period for a, b in zip(mine, mine[1:], strict=False))
    assert all(t0 < t <= sim.clock.now for t in mine)
    span = sim.clock.now - t0
    assert len(mine) in (int(span // period), int(span // period) + 1)
    everything = [t for _, _, t in queued(sim)]
    assert everything == sorted(everything)
