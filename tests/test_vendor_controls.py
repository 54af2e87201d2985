"""The eight controls over real HTTP, and the error codes every command (control or setting) gives.

Vehicle states are set directly on the fleet arrays; time moves only by sim.advance.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from simulator.core import vehicle
from simulator.core.events import COMPONENTS, STATUS, Event
from simulator.sim import Simulator
from tests.helpers.vendor import (
    COARSE,
    COMMANDS,
    EXAMPLE_IMEI,
    STATE_CODES,
    VALID,
    add_tenant,
    assert_envelope,
    assert_error,
    example_row,
    row_state,
    set_state,
    status_of,
    vendor_call,
    while_in_flight,
)


def body_for(op: str, imei: str = EXAMPLE_IMEI) -> dict[str, Any]:
    return {**VALID[op], "iotCode": imei}


def unlocked(sim: Simulator) -> int:
    """The example vehicle, unlocked (so that the battery cover may open)."""
    row = example_row(sim)
    sim.fleet.locked[row] = False
    return row


# -- success ---------------------------------------------------------------------------------


@pytest.mark.parametrize("op", COMMANDS)
async def test_command_success_envelope(client: TestClient, sim: Simulator, op: str) -> None:
    unlocked(sim)
    sim.advance(3.25)
    body = await vendor_call(client, op, VALID[op])
    assert_envelope(sim, body)
    assert (body["code"], body["msg"], body["data"]) == (0, "Success", None)
    record = sim.requests.select({"endpoint": op})[-1]
    assert (record["code"], record["opId"], record["iotCode"]) == (0, body["opId"], EXAMPLE_IMEI)


async def test_unlock_shows_in_status(client: TestClient, sim: Simulator) -> None:
    events: list[Event] = []
    sim.bus.subscribe(events.append)
    assert (await status_of(client))["locked"] is True
    sim.advance(60)
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    status = await status_of(client)
    assert status["locked"] is False
    assert status["statusUtcTime"] == int(sim.clock.now)
    assert [e.kind for e in events] == [STATUS]
    # Unlocking an unlocked vehicle succeeds and reports nothing new.
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    assert [e.kind for e in events] == [STATUS]


async def test_unlock_starts_an_unlocking_period(client: TestClient, sim: Simulator) -> None:
    f, row = sim.fleet, example_row(sim)
    f.wireless_charge[row] = 2
    f.anti_theft[row], f.wireless_charging[row] = False, False
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    # "enabled when the vehicle is unlocked by default"
    assert (bool(f.anti_theft[row]), bool(f.wireless_charging[row])) == (True, True)
    assert bool(f.mech_lock_open[row])
    # turned off during this unlocking period, they stay off if unlock is sent again
    for op in ("anti-theft", "wireless-charging"):
        body = {**VALID[op], "controlType": 1 if op == "anti-theft" else 0}
        assert (await vendor_call(client, op, body))["code"] == 0
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    assert (bool(f.anti_theft[row]), bool(f.wireless_charging[row])) == (False, False)
    # a new unlocking period after a lock restores the defaults
    vehicle.rider_lock(f, row, sim.clock.now, sim.bus)
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    assert (bool(f.anti_theft[row]), bool(f.wireless_charging[row])) == (True, True)


async def test_unlock_wireless_charging_follows_the_switch(client: TestClient,
                                                           sim: Simulator) -> None:
    f, row = sim.fleet, example_row(sim)
    f.wireless_charge[row] = 1  # switch setting: wirelessCharge off
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    assert not f.wireless_charging[row]


async def test_battery_cover_opens_only_unlocked(client: TestClient, sim: Simulator) -> None:
    f, row = sim.fleet, example_row(sim)
    before = row_state(sim, row)
    body = await vendor_call(client, "battery-cover", VALID["battery-cover"])
    assert_error(sim, body, 15635)
    assert body["msg"] == "open failed, please operate when mopeds is unlocking"  # Appendix 1
    assert row_state(sim, row) == before
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    assert (await vendor_call(client, "battery-cover", VALID["battery-cover"]))["code"] == 0
    assert f.cover_open[row]


async def test_mech_lock(client: TestClient, sim: Simulator) -> None:
    f, row = sim.fleet, example_row(sim)
    assert (await vendor_call(client, "mech-lock", VALID["mech-lock"]))["code"] == 0
    assert f.mech_lock_open[row]
    f.has_mech_lock[row], f.mech_lock_open[row] = False, False
    before = row_state(sim, row)
    body = await vendor_call(client, "mech-lock", VALID["mech-lock"])
    assert_error(sim, body, 15705)
    assert row_state(sim, row) == before


@pytest.mark.parametrize(("control_type", "on"), [(1, False), (2, True)])
async def test_anti_theft(client: TestClient, sim: Simulator, control_type: int, on: bool) -> None:
    f, row = sim.fleet, unlocked(sim)
    f.anti_theft[row] = not on
    body = {**VALID["anti-theft"], "controlType": control_type}
    assert (await vendor_call(client, "anti-theft", body))["code"] == 0
    assert bool(f.anti_theft[row]) is on


@pytest.mark.parametrize(("control_type", "on"), [(0, False), (1, True)])
async def test_wireless_charging(client: TestClient, sim: Simulator, control_type: int,
                                 on: bool) -> None:
    f, row = sim.fleet, unlocked(sim)
    f.wireless_charging[row] = not on
    body = {**VALID["wireless-charging"], "controlType": control_type}
    assert (await vendor_call(client, "wireless-charging", body))["code"] == 0
    assert bool(f.wireless_charging[row]) is on


async def test_ambient_effect(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    body = {**VALID["ambient"], "controlType": 1}  # the curl's field: ignored, not required
    assert (await vendor_call(client, "ambient", body))["code"] == 0
    assert sim.fleet.extras[row]["ambientEffect"] == {"bright": 2, "mode": 3, "color": 5}
    body = {"iotCode": EXAMPLE_IMEI, "controlType": 1}  # the curl's body lacks the table's fields
    assert_error(sim, await vendor_call(client, "ambient", body), 15004)


@pytest.mark.parametrize("switch", ["unlock", "rider lock", "whole-shutdown"])
async def test_ambient_effect_lasts_until_status_switches(client: TestClient, sim: Simulator,
                                                          switch: str) -> None:
    f, row = sim.fleet, example_row(sim)
    if switch == "rider lock":
        f.locked[row] = False
    assert (await vendor_call(client, "ambient", VALID["ambient"]))["code"] == 0
    assert (await vendor_call(client, "sound", VALID["sound"]))["code"] == 0  # not a switch
    assert "ambientEffect" in f.extras[row]
    if switch == "rider lock":
        vehicle.rider_lock(f, row, sim.clock.now, sim.bus)
    else:
        assert (await vendor_call(client, switch, VALID[switch]))["code"] == 0
    assert "ambientEffect" not in f.extras[row]


@pytest.mark.parametrize("control_type", [2, 3, 10, 11, 12, 13])
async def test_sound(client: TestClient, sim: Simulator, control_type: int) -> None:
    sim.advance(7)
    body = {**VALID["sound"], "controlType": control_type}
    assert (await vendor_call(client, "sound", body))["code"] == 0
    assert sim.fleet.extras[example_row(sim)]["lastSound"] == {
        "controlType": control_type, "time": sim.clock.now}


async def test_whole_shutdown_takes_the_vehicle_offline(client: TestClient,
                                                        sim: Simulator) -> None:
    events: list[Event] = []
    sim.bus.subscribe(events.append)
    assert (await vendor_call(client, "whole-shutdown", VALID["whole-shutdown"]))["code"] == 0
    assert (await status_of(client))["online"] is False
    assert [e.kind for e in events] == [STATUS]
    # transport mode: powered off, so every command is "offline device"
    for op in COMMANDS:
        assert_error(sim, await vendor_call(client, op, VALID[op]), 15301)
    # the last known location still answers; a real-time one cannot
    assert (await vendor_call(client, "location", iotCode=EXAMPLE_IMEI))["code"] == 0
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation="true")
    assert_error(sim, body, 15301)


async def test_rider_lock_after_unlock(client: TestClient, sim: Simulator) -> None:
    events: list[Event] = []
    sim.bus.subscribe(events.append)
    f, row = sim.fleet, example_row(sim)
    assert (await vendor_call(client, "unlock", VALID["unlock"]))["code"] == 0
    assert (await vendor_call(client, "battery-cover", VALID["battery-cover"]))["code"] == 0
    sim.advance(30)
    vehicle.rider_lock(f, row, sim.clock.now, sim.bus)
    status = await status_of(client)
    assert (status["locked"], status["statusUtcTime"]) == (True, int(sim.clock.now))
    assert not f.cover_open[row] and not f.mech_lock_open[row]
    assert [e.kind for e in events] == [STATUS, STATUS, COMPONENTS]
    assert events[-1].data == {"type": 5, "status": 2}


# -- errors every command gives ----------------------------------------------------------------


@pytest.mark.parametrize("op", COMMANDS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "bearer nope"},
                                     {"Authorization": "Basic QTIwMDgxOng="}])
async def test_command_token_failure(client: TestClient, sim: Simulator, op: str,
                                     headers: dict[str, str]) -> None:
    before = row_state(sim, example_row(sim))
    assert_error(sim, await vendor_call(client, op, VALID[op], headers=headers), 15101)
    assert row_state(sim, example_row(sim)) == before


@pytest.mark.parametrize("config", [COARSE])
@pytest.mark.parametrize("op", COMMANDS)
async def test_command_expired_token(client: TestClient, sim: Simulator, op: str) -> None:
    sim.advance(sim.config.token_lifetime + 1)
    assert_error(sim, await vendor_call(client, op, VALID[op]), 15101)


@pytest.mark.parametrize("op", COMMANDS)
async def test_command_unknown_vehicle(client: TestClient, sim: Simulator, op: str) -> None:
    assert_error(sim, await vendor_call(client, op, body_for(op, "869999999999999")), 15102)


@pytest.mark.parametrize("op", COMMANDS)
async def test_command_vehicle_of_another_platform(client: TestClient, sim: Simulator,
                                                   op: str) -> None:
    other_auth, other_imeis = add_tenant(sim)
    row = sim.fleet.index[other_imeis[0]]
    before = row_state(sim, row)
    assert_error(sim, await vendor_call(client, op, body_for(op, other_imeis[0])), 15103)
    assert row_state(sim, row) == before
    mine = await vendor_call(client, op, body_for(op, EXAMPLE_IMEI), headers=other_auth)
    assert_error(sim, mine, 15103)
    sim.fleet.locked[sim.fleet.find(other_imeis[1])] = False  # for the battery cover
    theirs = await vendor_call(client, op, body_for(op, other_imeis[1]), headers=other_auth)
    assert theirs["code"] == 0


@pytest.mark.parametrize("op", COMMANDS)
@pytest.mark.parametrize(("state", "code"), STATE_CODES)
async def test_command_refused_by_state(client: TestClient, sim: Simulator, op: str, state: str,
                                        code: int) -> None:
    row = unlocked(sim)
    set_state(sim, row, state)
    before = row_state(sim, row)
    assert_error(sim, await vendor_call(client, op, VALID[op]), code)
    assert row_state(sim, row) == before


# Several states at once: the first in the documented order wins.
ORDER = [
    (("inactive", "offline", "upgrading", "dormant"), 15300),
    (("transport", "upgrading", "dormant"), 15301),
    (("offline", "upgrading", "dormant"), 15301),
    (("upgrading", "dormant"), 15500),
]


@pytest.mark.parametrize(("states", "code"), ORDER)
async def test_state_checks_come_in_order(client: TestClient, sim: Simulator,
                                          states: tuple[str, ...], code: int) -> None:
    row = example_row(sim)  # locked: battery-cover's 15635 comes after all of these
    for state in states:
        set_state(sim, row, state)
    assert_error(sim, await vendor_call(client, "battery-cover", VALID["battery-cover"]), code)
    sim.fleet.has_mech_lock[row] = False
    assert_error(sim, await vendor_call(client, "mech-lock", VALID["mech-lock"]), code)


@pytest.mark.parametrize("op", COMMANDS)
@pytest.mark.parametrize("code", [15302, 15303, 15001, 15638])
async def test_command_injected_fault_changes_nothing(client: TestClient, sim: Simulator, op: str,
                                                      code: int) -> None:
    row = unlocked(sim)
    sim.faults.add(code=code, endpoint=op, iotCode=EXAMPLE_IMEI, times=1)
    before = row_state(sim, row)
    assert_error(sim, await vendor_call(client, op, VALID[op]), code)
    assert row_state(sim, row) == before
    assert (await vendor_call(client, op, VALID[op]))["code"] == 0


async def test_injected_fault_comes_before_state(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    sim.fleet.online[row] = False
    sim.faults.add(code=15303, endpoint="unlock")
    assert_error(sim, await vendor_call(client, "unlock", VALID["unlock"]), 15303)


# -- a command in flight ---------------------------------------------------------------------

DELAY_MS = 300


async def test_second_command_while_one_is_in_flight(client: TestClient, sim: Simulator) -> None:
    sim.faults.add(delayMs=DELAY_MS, endpoint="unlock", iotCode=EXAMPLE_IMEI, times=1)
    started = time.perf_counter()
    first, second = await asyncio.gather(
        vendor_call(client, "unlock", VALID["unlock"]),
        vendor_call(client, "sound", VALID["sound"]),
    )
    elapsed = time.perf_counter() - started
    assert elapsed >= DELAY_MS / 1000  # the delayed answer is wall time
    # whichever reached the vehicle first holds it; the other is told to wait
    codes = sorted([first["code"], second["code"]])
    assert codes == [0, 15104]
    late = first if first["code"] == 15104 else second
    assert_error(sim, late, 15104)
    assert not sim.inflight
    assert (await vendor_call(client, "sound", VALID["sound"]))["code"] == 0  # released


async def test_in_flight_blocks_only_its_vehicle(client: TestClient, sim: Simulator,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sim.faults.add(delayMs=DELAY_MS, endpoint="setting/speed-mode", iotCode=EXAMPLE_IMEI)
    row, other = example_row(sim), sim.fleet.imeis[1]
    sim.make_healthy(sim.fleet.index[other])
    sim.fleet.speed_mode[row] = 2
    slow = await while_in_flight(sim, monkeypatch, row, vendor_call(
        client, "setting/speed-mode", VALID["setting/speed-mode"]))
    # the same vehicle must wait; another vehicle and queries go through meanwhile
    same = await vendor_call(client, "unlock", VALID["unlock"])
    elsewhere = await vendor_call(client, "unlock", body_for("unlock", other))
    query = await vendor_call(client, "status", iotCode=EXAMPLE_IMEI)
    assert not slow.done()
    assert (same["code"], elsewhere["code"], query["code"]) == (15104, 0, 0)
    assert query["data"]["speedMode"] != 1  # not applied before the device answers
    assert (await slow)["code"] == 0
    assert sim.fleet.speed_mode[row] == 1 and sim.fleet.locked[row]


async def test_injected_fault_comes_before_in_flight(client: TestClient, sim: Simulator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sim.faults.add(delayMs=DELAY_MS, endpoint="sound", iotCode=EXAMPLE_IMEI)
    sim.faults.add(code=15303, endpoint="unlock", iotCode=EXAMPLE_IMEI, times=1)
    slow = await while_in_flight(sim, monkeypatch, example_row(sim),
                                 vendor_call(client, "sound", VALID["sound"]))
    assert_error(sim, await vendor_call(client, "unlock", VALID["unlock"]), 15303)
    assert_error(sim, await vendor_call(client, "unlock", VALID["unlock"]), 15104)
    assert (await slow)["code"] == 0


async def test_delay_then_code(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    sim.faults.add(delayMs=50, code=15302, endpoint="unlock", times=1)
    before = row_state(sim, row)
    started = time.perf_counter()
    assert_error(sim, await vendor_call(client, "unlock", VALID["unlock"]), 15302)
    assert time.perf_counter() - started >= 0.05
    assert row_state(sim, row) == before
