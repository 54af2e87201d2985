"""Each push type over loopback: path, content type, exactly the reference's fields, every value a
string, signed with the platform's secret (checked by the receiver's own implementation)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from simulator.core import alerts, vehicle
from simulator.push.signing import verify_signature
from simulator.sim import DEMO_CLIENT_SECRET, Config
from simulator.world.physics import PhysicsConfig
from tests.helpers.push import Got, Receiver, Rig
from tests.helpers.vendor import EXAMPLE_IMEI, add_tenant, vendor_call

STATUS_FIELDS = ["iotCode", "platformCode", "online", "locked", "lockVoltage", "networkSignal",
                 "charging", "powerPercent", "speedMode", "speed", "odometer", "remainingRange",
                 "totalRidingSecs", "statusUtcTime", "signature"]
LOCATION_FIELDS = ["iotCode", "platformCode", "locationStatus", "latitude", "longitude",
                   "satelliteNumber", "hdop", "altitude", "gpsUtcTime", "signature"]
ALERT_FIELDS = ["iotCode", "platformCode", "statusUtcTime", "alertStatus", "code", "signature"]
FAULT_FIELDS = ["iotCode", "platformCode", "statusUtcTime", "faultStatus", "code", "signature"]
COMPONENT_FIELDS = ["iotCode", "platformCode", "type", "status", "statusUtcTime", "signature"]


@pytest.fixture
def config() -> Config:
    # One delivery at a time, so pushes arrive in the order they were made.
    return Config(seed=7, vehicles=20, paused=True, riders=False,
                  physics=PhysicsConfig.quiet(), extra={"push_concurrency": 1})


def check_wire(got: Got, kind: str, fields: list[str]) -> None:
    assert got.path == f"/hook/v2/vehicle/{kind}"
    assert got.content_type == "application/x-www-form-urlencoded"
    assert list(got.form) == fields
    assert got.form["platformCode"] == "A20081"
    assert got.signed_by(DEMO_CLIENT_SECRET)
    assert not got.signed_by(DEMO_CLIENT_SECRET + "x")
    assert re.fullmatch(r"[0-9a-f]{32}", got.form["signature"])
    assert verify_signature(got.raw, DEMO_CLIENT_SECRET)  # what partners import agrees


def as_text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


async def test_status_push_on_unlock_carries_the_status_fields(rig: Rig) -> None:
    t0 = rig.sim.clock.now
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.settle()
    [got] = rig.receiver.of("status", EXAMPLE_IMEI)
    check_wire(got, "status", STATUS_FIELDS)
    assert got.form["locked"] == "false"
    assert got.form["statusUtcTime"] == str(int(t0))
    query = (await vendor_call(rig.client, "status", iotCode=EXAMPLE_IMEI))["data"]
    # The same readings as the status query, as strings (remainingRange: the push table's name).
    for name in STATUS_FIELDS[2:-1]:
        assert got.form[name] == as_text(query[name]), name


async def test_location_push_carries_the_location_fields(rig: Rig) -> None:
    await rig.advance(900)  # every vehicle is locked: one report each per 900 s
    [got] = rig.receiver.of("location", EXAMPLE_IMEI)
    check_wire(got, "location", LOCATION_FIELDS)
    assert got.form["locationStatus"] == "valid"
    query = (await vendor_call(rig.client, "location", iotCode=EXAMPLE_IMEI))["data"]
    for name in ("latitude", "longitude", "satelliteNumber", "hdop", "altitude"):
        assert float(got.form[name]) == float(query[name]), name
    assert int(got.form["gpsUtcTime"]) <= got.t


async def test_location_push_says_invalid_without_a_valid_fix(rig: Rig) -> None:
    # Every fix from now on is invalid (the GPS model's own chance, turned up).
    rig.sim.config.physics = dataclasses.replace(rig.sim.config.physics, invalid_fix_chance=1.0)
    await rig.advance(900)
    [got] = rig.receiver.of("location", EXAMPLE_IMEI)
    assert got.form["locationStatus"] == "invalid"


async def test_alert_pushes_when_it_appears_and_disappears(rig: Rig) -> None:
    sim, row = rig.sim, rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    alerts.raise_alert(sim.fleet, row, 4, sim.clock.now, sim.bus)
    sim.advance(3)
    alerts.clear_alert(sim.fleet, row, 4, sim.clock.now, sim.bus)
    await rig.settle()
    appear, gone = rig.receiver.of("alert")
    for got in (appear, gone):
        check_wire(got, "alert", ALERT_FIELDS)
        assert got.form["iotCode"] == EXAMPLE_IMEI
    assert (appear.form["alertStatus"], appear.form["code"]) == ("0", "4")
    # "available disappeared alert code: 2->vehicle fell down" (4 has no disappearing code).
    assert (gone.form["alertStatus"], gone.form["code"]) == ("1", "2")
    assert int(gone.form["statusUtcTime"]) == int(appear.form["statusUtcTime"]) + 3


async def test_fault_pushes_when_it_appears_and_disappears(rig: Rig) -> None:
    sim, row = rig.sim, rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    alerts.raise_fault(sim.fleet, row, "E5", sim.clock.now, sim.bus)
    alerts.raise_fault(sim.fleet, row, "33", sim.clock.now, sim.bus)
    alerts.clear_fault(sim.fleet, row, "E5", sim.clock.now, sim.bus)
    await rig.settle()
    got = rig.receiver.of("fault")
    for g in got:
        check_wire(g, "fault", FAULT_FIELDS)
    assert [(g.form["code"], g.form["faultStatus"]) for g in got] == [
        ("E5", "0"), ("33", "0"), ("E5", "1")]


async def test_rider_lock_pushes_status_then_components(rig: Rig) -> None:
    sim, row = rig.sim, rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    sim.advance(5)
    vehicle.rider_lock(sim.fleet, row, sim.clock.now, sim.bus)
    await rig.settle()
    kinds = [g.kind for g in rig.receiver.got if g.form["iotCode"] == EXAMPLE_IMEI]
    assert kinds[-2:] == ["status", "components"]
    status, components = rig.receiver.of("status")[-1], rig.receiver.of("components")[0]
    check_wire(components, "components", COMPONENT_FIELDS)
    assert status.form["locked"] == "true"
    assert (components.form["type"], components.form["status"]) == ("5", "2")
    assert components.form["statusUtcTime"] == status.form["statusUtcTime"]


async def test_each_platform_pushes_to_its_own_callback_with_its_own_secret(rig: Rig) -> None:
    other = Receiver(rig.sim)
    await other.start()
    try:
        headers, imeis = add_tenant(rig.sim, "E30001", "other-secret", vehicles=1)
        rig.sim.platforms["E30001"].callback_url = other.url
        await vendor_call(rig.client, "unlock", {"iotCode": imeis[0]}, headers=headers)
        await rig.settle()
        [got] = other.got
        assert got.form["platformCode"] == "E30001"
        assert got.signed_by("other-secret") and not got.signed_by(DEMO_CLIENT_SECRET)
        assert rig.receiver.of(imei=imeis[0]) == []
    finally:
        assert other.server is not None
        await other.server.close()


async def test_a_platform_without_callback_gets_no_push(rig: Rig) -> None:
    rig.sim.platforms["A20081"].callback_url = None
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.advance(1800)
    assert rig.receiver.got == []
    assert len(rig.sim.pushes.records) == 0
    assert rig.sim.outbox.counters["queued"] == 0
