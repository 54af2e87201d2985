"""The six settings over real HTTP: what each changes is what the queries (or fleet) show."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from simulator.core.events import STATUS, Event
from simulator.core.fleet import firmware_code
from simulator.sim import Simulator
from tests.helpers.vendor import (
    AUTH,
    EXAMPLE_IMEI,
    INTERVAL_COLUMNS,
    SWITCH_COLUMNS,
    VALID,
    assert_error,
    example_row,
    row_state,
    status_of,
    vendor_call,
)

# Full-charge range per speed mode, metres (readings.FULL_RANGE_M, restated so drift shows).
FULL_RANGE_M = {1: 70_000, 2: 60_000, 3: 45_000}


# -- speed mode ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [1, 2, 3])
async def test_speed_mode_shows_in_status(client: TestClient, sim: Simulator, mode: int) -> None:
    f, row = sim.fleet, example_row(sim)
    f.power[row], f.speed_mode[row] = 50.0, 1 + mode % 3
    events: list[Event] = []
    sim.bus.subscribe(events.append)
    sim.advance(42)
    body = {"iotCode": EXAMPLE_IMEI, "speedMode": mode}
    assert (await vendor_call(client, "setting/speed-mode", body))["code"] == 0
    status = await status_of(client)
    assert status["speedMode"] == mode
    assert status["remainingRange"] == FULL_RANGE_M[mode] // 2 // 10
    assert status["statusUtcTime"] == int(sim.clock.now)
    assert [e.kind for e in events] == [STATUS]
    # the same mode again changes nothing, so nothing is reported
    assert (await vendor_call(client, "setting/speed-mode", body))["code"] == 0
    assert [e.kind for e in events] == [STATUS]


async def test_faster_mode_shortens_the_range(client: TestClient, sim: Simulator) -> None:
    ranges = []
    for mode in (1, 2, 3):
        body = {"iotCode": EXAMPLE_IMEI, "speedMode": mode}
        assert (await vendor_call(client, "setting/speed-mode", body))["code"] == 0
        ranges.append((await status_of(client))["remainingRange"])
    assert ranges[0] > ranges[1] > ranges[2] > 0


# -- bluetooth key ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["4BKNwi77", "abcd1234", "ZZZZZZZZ", "00000000"])
async def test_bluetooth_key_round_trip(client: TestClient, key: str) -> None:
    body = {"iotCode": EXAMPLE_IMEI, "key": key}
    assert (await vendor_call(client, "setting/bluetooth-key", body))["code"] == 0
    shown = await vendor_call(client, "bluetooth-key", iotCode=EXAMPLE_IMEI)
    assert shown["data"] == {"iotCode": EXAMPLE_IMEI, "key": key}


async def test_bluetooth_key_per_vehicle(client: TestClient, sim: Simulator) -> None:
    other = sim.fleet.imeis[1]
    sim.make_healthy(sim.fleet.index[other])
    before = (await vendor_call(client, "bluetooth-key", iotCode=other))["data"]["key"]
    body = {"iotCode": EXAMPLE_IMEI, "key": "Qq1Qq1Qq"}
    assert (await vendor_call(client, "setting/bluetooth-key", body))["code"] == 0
    assert (await vendor_call(client, "bluetooth-key", iotCode=other))["data"]["key"] == before


# -- switch ----------------------------------------------------------------------------------

def switch_values(sim: Simulator, row: int) -> dict[str, int]:
    return {name: int(sim.fleet.column(col)[row]) for name, col in SWITCH_COLUMNS.items()}


async def test_switch_sets_every_field(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    wanted = {"bssDisplay": 1, "alertSensitivity": 1, "unlockHeadLight": 1, "unlockTailLight": 3,
              "brakeTailLight": 3, "wirelessCharge": 1, "climbInput": 1, "speedLimit": 6,
              "lowPowerValue": 30}
    assert (await vendor_call(client, "setting/switch",
                              {"iotCode": EXAMPLE_IMEI, **wanted}))["code"] == 0
    assert switch_values(sim, row) == wanted
    # status shows none of these: the queries are unchanged but for nothing
    assert (await status_of(client))["speedMode"] == int(sim.fleet.speed_mode[row])


async def test_switch_zero_means_no_setting(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    before = switch_values(sim, row)
    zeros = {"iotCode": EXAMPLE_IMEI, "bssDisplay": 0, "alertSensitivity": before[
        "alertSensitivity"], "unlockHeadLight": 0, "unlockTailLight": 0, "brakeTailLight": 0,
        "wirelessCharge": 0, "climbInput": 0}
    assert (await vendor_call(client, "setting/switch", zeros))["code"] == 0
    assert switch_values(sim, row) == before  # optional speedLimit/lowPowerValue kept too


async def test_switch_low_power_zero_disables(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    body = {**VALID["setting/switch"], "lowPowerValue": 0}
    assert (await vendor_call(client, "setting/switch", body))["code"] == 0
    assert sim.fleet.low_power_value[row] == 0  # "0 means Disabled", not "no setting"


async def test_switch_defaults(sim: Simulator) -> None:
    row = example_row(sim)
    assert sim.fleet.low_power_value[row] == 5  # "default:5"
    assert 6 <= sim.fleet.speed_limit[row] <= 32


@pytest.mark.parametrize("missing", ["bssDisplay", "alertSensitivity", "unlockHeadLight",
                                     "unlockTailLight", "brakeTailLight", "wirelessCharge",
                                     "climbInput", "iotCode"])
async def test_switch_fields_not_marked_optional_are_required(client: TestClient, sim: Simulator,
                                                              missing: str) -> None:
    row = example_row(sim)
    before = row_state(sim, row)
    body = {k: v for k, v in VALID["setting/switch"].items() if k != missing}
    assert_error(sim, await vendor_call(client, "setting/switch", body), 15004)
    assert row_state(sim, row) == before


async def test_switch_example_empty_body(client: TestClient, sim: Simulator) -> None:
    assert_error(sim, await vendor_call(client, "setting/switch", {}), 15004)


# -- ambient setting -------------------------------------------------------------------------


async def test_ambient_setting_stored(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    assert (await vendor_call(client, "setting/ambient", VALID["setting/ambient"]))["code"] == 0
    assert sim.fleet.extras[row]["ambientSetting"] == {
        "bright": 3,
        "exerciseMode": {"mode": 4, "bright": 2, "color": 1},
        "faultMode": {"mode": 2, "color": 2},
    }
    # a later setting replaces the modes it names and keeps the others
    body = {"iotCode": EXAMPLE_IMEI, "bright": 1, "faultMode": {"mode": 1, "color": 7},
            "turboMode": {"mode": 3, "color": 4, "bright": 3}}
    assert (await vendor_call(client, "setting/ambient", body))["code"] == 0
    assert sim.fleet.extras[row]["ambientSetting"] == {
        "bright": 1,
        "exerciseMode": {"mode": 4, "bright": 2, "color": 1},
        "faultMode": {"mode": 1, "color": 7},
        "turboMode": {"mode": 3, "color": 4, "bright": 3},
    }


# The reference's example body of setting/ambient, verbatim: its comments make it not JSON.
AMBIENT_EXAMPLE = """{
    "iotCode":"8612345678901",
    "bright": 3,
    "exerciseMode": {
        "mode": 4,   /* 4:breathing */
        "bright": 2, /* 2:Medium */
        "color": 1   /* 1:Green */
    },
    "faultMode": {
        "mode": 2,   /* 2:Always on */
        "color": 2   /* 1:Red */
    }
}"""


@pytest.mark.parametrize(("body", "code"), [
    (AMBIENT_EXAMPLE, 15004),  # as the document prints it: not JSON (FIDELITY.md)
    (re.sub(r"/\*.*?\*/", "", AMBIENT_EXAMPLE), 0),  # what a client sends
])
async def test_ambient_example_as_printed_and_as_sent(client: TestClient, body: str,
                                                      code: int) -> None:
    resp = await client.post("/api/v2/vehicle/setting/ambient", data=body,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert (await resp.json())["code"] == code


async def test_ambient_setting_with_only_bright(client: TestClient, sim: Simulator) -> None:
    body = {"iotCode": EXAMPLE_IMEI, "bright": 2}
    assert (await vendor_call(client, "setting/ambient", body))["code"] == 0
    assert sim.fleet.extras[example_row(sim)]["ambientSetting"] == {"bright": 2}


# -- sound setting ---------------------------------------------------------------------------


async def test_sound_setting(client: TestClient, sim: Simulator) -> None:
    f, row = sim.fleet, example_row(sim)
    body = {"iotCode": EXAMPLE_IMEI, "workMode": 1, "volume": 1,
            "ebaqMask": {"locked": 0, "unlocked": 1, "alarm": 2, "cusAudio04": 1}}
    assert (await vendor_call(client, "setting/sound", body))["code"] == 0
    assert (int(f.sound_work_mode[row]), int(f.sound_volume[row])) == (1, 1)
    assert f.extras[row]["ebaqMask"] == {"locked": 0, "unlocked": 1, "cusAudio04": 1}
    # workMode 0 and mask value 2 keep what was set
    body = {"iotCode": EXAMPLE_IMEI, "workMode": 0, "volume": 3,
            "ebaqMask": {"locked": 2, "unlocked": 0}}
    assert (await vendor_call(client, "setting/sound", body))["code"] == 0
    assert (int(f.sound_work_mode[row]), int(f.sound_volume[row])) == (1, 3)
    assert f.extras[row]["ebaqMask"] == {"locked": 0, "unlocked": 0, "cusAudio04": 1}


# -- interval --------------------------------------------------------------------------------

async def test_interval_sets_every_field(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    body: dict[str, Any] = {
        "iotCode": EXAMPLE_IMEI,
        "locationInterval": {"unlockStatus": 10, "lockStatus": 65535},
        "statusInterval": {"ridingStatus": 11, "nonRiding": 600, "lockStatus": 3600},
    }
    assert (await vendor_call(client, "setting/interval", body))["code"] == 0
    for (group, name), column in INTERVAL_COLUMNS.items():
        assert sim.fleet.column(column)[row] == body[group][name]


async def test_interval_keeps_what_is_not_given(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    before = {c: int(sim.fleet.column(c)[row]) for c in INTERVAL_COLUMNS.values()}
    body = {"iotCode": EXAMPLE_IMEI, "statusInterval": {"nonRiding": 120}}
    assert (await vendor_call(client, "setting/interval", body))["code"] == 0
    after = {c: int(sim.fleet.column(c)[row]) for c in INTERVAL_COLUMNS.values()}
    assert after == {**before, "status_nonriding_interval": 120}


@pytest.mark.parametrize("body", [
    {},  # the reference's example body
    {"iotCode": EXAMPLE_IMEI},
    {"iotCode": EXAMPLE_IMEI, "locationInterval": {}, "statusInterval": {}},
    {"iotCode": EXAMPLE_IMEI, "locationInterval": {"unknown": 20}},
])
async def test_interval_needs_an_interval(client: TestClient, sim: Simulator,
                                          body: dict[str, object]) -> None:
    before = row_state(sim, example_row(sim))
    assert_error(sim, await vendor_call(client, "setting/interval", body), 15004)
    assert row_state(sim, example_row(sim)) == before


@pytest.mark.parametrize(("firmware", "code"), [
    ("1.2.8", 15707), ("1.3.5", 15707), ("1.3.99", 15707), ("1.4.0", 0), ("1.4.2", 0),
    ("1.5.0", 0),
])
async def test_interval_needs_firmware(client: TestClient, sim: Simulator, firmware: str,
                                       code: int) -> None:
    row = example_row(sim)
    sim.fleet.firmware[row] = firmware_code(firmware)
    before = row_state(sim, row)
    body = await vendor_call(client, "setting/interval", VALID["setting/interval"])
    if code:
        assert_error(sim, body, code)
        assert body["msg"] == "NOT supported by this vehicle or its firmware"
        assert row_state(sim, row) == before
    else:
        assert body["code"] == 0
        assert sim.fleet.loc_unlock_interval[row] == 15


async def test_firmware_guard_is_interval_only(client: TestClient, sim: Simulator) -> None:
    sim.fleet.firmware[example_row(sim)] = firmware_code("1.2.8")
    sim.fleet.locked[example_row(sim)] = False
    ops = [op for op in VALID if op not in ("setting/interval", "whole-shutdown")]
    for op in [*ops, "whole-shutdown"]:  # the shutdown last: it takes the vehicle offline
        assert (await vendor_call(client, op, VALID[op]))["code"] == 0, op


async def test_firmware_guard_after_state_guards(client: TestClient, sim: Simulator) -> None:
    row = example_row(sim)
    sim.fleet.firmware[row] = firmware_code("1.3.5")
    sim.fleet.upgrading[row] = True
    assert_error(sim, await vendor_call(client, "setting/interval", VALID["setting/interval"]),
                 15500)


async def test_example_vehicles_run_latest_firmware(sim: Simulator) -> None:
    for imei in ("861477038719116", "862785041281554", "8612345678901"):
        assert sim.fleet.firmware[sim.fleet.find(imei)] == firmware_code("1.5.0")
