"""The four queries over real HTTP: envelope, field tables, what they show, every error code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from simulator.sim import Simulator
from tests.helpers.vendor import (
    AUTH,
    COARSE,
    EXAMPLE_IMEI,
    VENDOR_PATHS,
    add_tenant,
    assert_envelope,
    assert_error,
    row_state,
    vendor_call,
)

QUERIES = ("status", "location", "battery-info", "bluetooth-key")
BATTERY_PATHS = ("/api/v2/mopeds/query/current/battery-info",
                 "/api/v2/vehicle/query/current/battery-info")

# The reference's field tables: name -> JSON type (Number is an int unless it is a Double).
NUMBER = (int,)
DOUBLE = (float,)
FLOATY = (int, float)  # hdop 1.38, altitude 10.1: "Number" with a fraction in the example
STATUS_FIELDS: dict[str, tuple[type, ...]] = {
    "iotCode": (str,), "online": (bool,), "locked": (bool,), "lockVoltage": NUMBER,
    "networkSignal": NUMBER, "charging": (bool,), "powerPercent": NUMBER, "speedMode": NUMBER,
    "speed": NUMBER, "odometer": NUMBER, "remainingRange": NUMBER, "totalRidingSecs": NUMBER,
    "statusUtcTime": NUMBER,
}
LOCATION_FIELDS: dict[str, tuple[type, ...]] = {
    "iotCode": (str,), "latitude": DOUBLE, "longitude": DOUBLE, "satelliteNumber": NUMBER,
    "hdop": FLOATY, "altitude": FLOATY, "gpsUtcTime": NUMBER,
}
BATTERY_FIELDS: dict[str, tuple[type, ...]] = {
    "iotCode": (str,), "charging": (bool,), "vehiclePercent": NUMBER, "batteryCount": NUMBER,
    "drivingVoltage": NUMBER, "currentPower": NUMBER, "iotPercent": NUMBER, "iotVoltage": NUMBER,
    "batteryData": (list,),
}
PACK_FIELDS: dict[str, tuple[type, ...]] = {
    "batteryPort": NUMBER, "batteryPercent": NUMBER, "batteryVoltage": NUMBER,
    "cycleTimes": NUMBER, "temperatrue": NUMBER,
}
KEY_FIELDS: dict[str, tuple[type, ...]] = {"iotCode": (str,), "key": (str,)}

FIELDS = {"status": STATUS_FIELDS, "location": LOCATION_FIELDS, "battery-info": BATTERY_FIELDS,
          "bluetooth-key": KEY_FIELDS}
SUCCESS_MSG = {"status": "Success", "location": "success", "battery-info": "success",
               "bluetooth-key": "success"}
ID_FIELD = {"status": "opId", "location": "opId", "battery-info": "resId", "bluetooth-key": "opId"}


def assert_typed(data: dict[str, Any], table: dict[str, tuple[type, ...]]) -> None:
    assert set(data) == set(table)
    for name, types in table.items():
        value = data[name]
        # bool is an int in Python but not a Number on the wire
        assert type(value) in types, (name, value)


# -- success: envelope and field tables ------------------------------------------------------


@pytest.mark.parametrize("op", QUERIES)
async def test_query_answers_the_field_table(client: TestClient, sim: Simulator, op: str) -> None:
    sim.advance(12.5)  # t must follow the virtual clock, not stay at the start
    body = await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
    assert_envelope(sim, body, ID_FIELD[op])
    assert (body["code"], body["msg"]) == (0, SUCCESS_MSG[op])
    assert_typed(body["data"], FIELDS[op])
    assert body["data"]["iotCode"] == EXAMPLE_IMEI


async def test_op_ids_are_fresh(client: TestClient) -> None:
    ids = {(await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["opId"] for _ in range(5)}
    assert len(ids) == 5


async def test_status_shows_the_fleet_row(client: TestClient, sim: Simulator) -> None:
    f, row = sim.fleet, sim.fleet.index[EXAMPLE_IMEI]
    assert row is not None
    f.locked[row], f.charging[row], f.power[row], f.speed_mode[row] = False, True, 37.4, 3
    f.speed[row], f.odometer[row], f.riding_secs[row] = 18.6, 1230.4, 99.0
    f.lock_voltage[row], f.network_signal[row], f.status_time[row] = 412, 31, 1_780_000_123
    data = (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["data"]
    assert data == {
        "iotCode": EXAMPLE_IMEI, "online": True, "locked": False, "lockVoltage": 412,
        "networkSignal": 31, "charging": True, "powerPercent": 37, "speedMode": 3, "speed": 19,
        "odometer": 1230, "remainingRange": round(0.374 * 45_000 / 10), "totalRidingSecs": 99,
        "statusUtcTime": 1_780_000_123,
    }
    assert "remainderRange" not in data  # the table's name, not the example's


async def test_status_ranges_over_the_fleet(client: TestClient, sim: Simulator) -> None:
    for imei in sim.fleet.imeis:
        body = await vendor_call(client, "status", iotCode=imei)
        if body["code"] == 15300:  # a seeded inactive vehicle
            continue
        data = body["data"]
        assert 2 <= data["networkSignal"] <= 32
        assert 0 <= data["powerPercent"] <= 100
        assert data["speedMode"] in (1, 2, 3)
        assert 340 <= data["lockVoltage"] <= 420  # 10 mV units, as both examples


async def test_location_shows_the_fleet_row(client: TestClient, sim: Simulator) -> None:
    f, row = sim.fleet, sim.fleet.index[EXAMPLE_IMEI]
    f.lat[row], f.lon[row], f.satellites[row], f.hdop[row] = 22.634228, 114.125962, 6, 1.38
    f.altitude[row], f.gps_time[row] = 10.1, 1_591_067_719
    data = (await vendor_call(client, "location", iotCode=EXAMPLE_IMEI))["data"]
    assert data == {"iotCode": EXAMPLE_IMEI, "latitude": 22.634228, "longitude": 114.125962,
                    "satelliteNumber": 6, "hdop": 1.38, "altitude": 10.1,
                    "gpsUtcTime": 1_591_067_719}


@pytest.mark.parametrize("realtime", ["true", "True", "1", "yes", "on", "false", "0", ""])
async def test_location_real_time_flag_online(client: TestClient, realtime: str) -> None:
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation=realtime)
    assert body["code"] == 0


@pytest.mark.parametrize("realtime", ["maybe", "2", "tru"])
async def test_location_real_time_flag_malformed(client: TestClient, sim: Simulator,
                                                 realtime: str) -> None:
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation=realtime)
    assert_error(sim, body, 15004)


@pytest.mark.parametrize("path", BATTERY_PATHS)
async def test_battery_info_on_both_paths(client: TestClient, sim: Simulator, path: str) -> None:
    row = sim.fleet.find(EXAMPLE_IMEI)
    sim.fleet.battery_count[row] = 2
    sim.fleet.pack_percent[row] = [52, 61, 0]
    sim.fleet.pack_voltage[row] = [48.2, 49.6, 0]
    sim.fleet.pack_temp[row] = [25, 26, 0]
    resp = await client.get(path, params={"iotCode": EXAMPLE_IMEI}, headers=AUTH)
    body = await resp.json()
    assert_envelope(sim, body, "resId")
    data = body["data"]
    assert data["batteryCount"] == len(data["batteryData"]) == 2
    assert [p["batteryPort"] for p in data["batteryData"]] == [1, 2]
    assert [p["batteryPercent"] for p in data["batteryData"]] == [52, 61]
    assert [p["batteryVoltage"] for p in data["batteryData"]] == [48, 50]
    assert data["drivingVoltage"] == 49
    for pack in data["batteryData"]:
        assert_typed(pack, PACK_FIELDS)


async def test_battery_packs_over_the_fleet(client: TestClient, sim: Simulator) -> None:
    for imei in sim.fleet.imeis[:10]:
        body = await vendor_call(client, "battery-info", iotCode=imei)
        if body["code"] == 15300:
            continue
        data = body["data"]
        assert 1 <= data["batteryCount"] <= 3
        assert [p["batteryPort"] for p in data["batteryData"]] == list(
            range(1, data["batteryCount"] + 1))


async def test_bluetooth_key_is_eight_letters_and_digits(client: TestClient,
                                                         sim: Simulator) -> None:
    for imei in sim.fleet.imeis[:10]:
        body = await vendor_call(client, "bluetooth-key", iotCode=imei)
        if body["code"] == 0:
            assert re.fullmatch(r"[A-Za-z0-9]{8}", body["data"]["key"])


# -- errors ----------------------------------------------------------------------------------

BAD_AUTH = [
    pytest.param({}, id="no header"),
    pytest.param({"Authorization": "bearer 00000000-0000-4000-8000-000000000000"}, id="unknown"),
    pytest.param({"Authorization": AUTH["Authorization"].replace("bearer", "Basic")},
                 id="wrong scheme"),
    pytest.param({"Authorization": AUTH["Authorization"].split()[1]}, id="no scheme"),
    pytest.param({"Authorization": "bearer"}, id="no token"),
]


@pytest.mark.parametrize("op", QUERIES)
@pytest.mark.parametrize("headers", BAD_AUTH)
async def test_query_token_failure(client: TestClient, sim: Simulator, op: str,
                                   headers: dict[str, str]) -> None:
    body = await vendor_call(client, op, headers=headers, iotCode=EXAMPLE_IMEI)
    assert_error(sim, body, 15101, ID_FIELD[op])


@pytest.mark.parametrize("config", [COARSE])
@pytest.mark.parametrize("op", QUERIES)
async def test_query_expired_token(client: TestClient, sim: Simulator, op: str) -> None:
    sim.advance(sim.config.token_lifetime)
    body = await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
    assert_error(sim, body, 15101, ID_FIELD[op])


@pytest.mark.parametrize("op", QUERIES)
@pytest.mark.parametrize("query", [{}, {"iotCode": ""}, {"iotCode": "86147703871911x"},
                                   {"iotCode": "-861477038719116"}, {"iotCode": "٨٦١"},
                                   {"imei": EXAMPLE_IMEI}])
async def test_query_parameter_error(client: TestClient, sim: Simulator, op: str,
                                     query: dict[str, Any]) -> None:
    body = await vendor_call(client, op, **query)
    assert_error(sim, body, 15004, ID_FIELD[op])


@pytest.mark.parametrize("op", QUERIES)
async def test_query_unknown_vehicle(client: TestClient, sim: Simulator, op: str) -> None:
    body = await vendor_call(client, op, iotCode="869999999999999")
    assert_error(sim, body, 15102, ID_FIELD[op])


@pytest.mark.parametrize("op", QUERIES)
async def test_query_vehicle_of_another_platform(client: TestClient, sim: Simulator,
                                                 op: str) -> None:
    other_auth, other_imeis = add_tenant(sim)
    body = await vendor_call(client, op, iotCode=other_imeis[0])
    assert_error(sim, body, 15103, ID_FIELD[op])
    # ... and the other way round; each platform sees its own vehicles
    body = await vendor_call(client, op, headers=other_auth, iotCode=EXAMPLE_IMEI)
    assert_error(sim, body, 15103, ID_FIELD[op])
    body = await vendor_call(client, op, headers=other_auth, iotCode=other_imeis[1])
    assert body["code"] == 0


@pytest.mark.parametrize("op", QUERIES)
async def test_query_inactive_vehicle(client: TestClient, sim: Simulator, op: str) -> None:
    sim.fleet.activated[sim.fleet.find(EXAMPLE_IMEI)] = False
    body = await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
    assert_error(sim, body, 15300, ID_FIELD[op])


@pytest.mark.parametrize("op", QUERIES)
@pytest.mark.parametrize("state", ["offline", "transport", "upgrading", "dormant"])
async def test_query_answers_last_known_state(client: TestClient, sim: Simulator, op: str,
                                              state: str) -> None:
    f, row = sim.fleet, sim.fleet.index[EXAMPLE_IMEI]
    if state == "transport":
        f.transport[row], f.online[row] = True, False
    elif state == "offline":
        f.online[row] = False
    else:
        f.column(state)[row] = True
    before = row_state(sim, row)
    body = await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
    assert body["code"] == 0
    if op == "status":
        assert body["data"]["online"] is (state in ("upgrading", "dormant"))
    assert row_state(sim, row) == before


@pytest.mark.parametrize("state", ["offline", "transport"])
async def test_real_time_location_of_unreachable_vehicle(client: TestClient, sim: Simulator,
                                                         state: str) -> None:
    f, row = sim.fleet, sim.fleet.index[EXAMPLE_IMEI]
    f.online[row] = False
    f.transport[row] = state == "transport"
    f.has_fix[row] = False  # unreachable is reported before "no fix"
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation="true")
    assert_error(sim, body, 15301)
    f.has_fix[row] = True
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation="false")
    assert body["code"] == 0


async def test_real_time_location_of_inactive_vehicle(client: TestClient, sim: Simulator) -> None:
    row = sim.fleet.find(EXAMPLE_IMEI)
    sim.fleet.activated[row], sim.fleet.online[row] = False, False
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation="true")
    assert_error(sim, body, 15300)


@pytest.mark.parametrize("realtime", ["true", "false"])
async def test_location_without_fix(client: TestClient, sim: Simulator, realtime: str) -> None:
    sim.fleet.has_fix[sim.fleet.find(EXAMPLE_IMEI)] = False
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation=realtime)
    assert_error(sim, body, 15400)
    for op in ("status", "battery-info", "bluetooth-key"):  # 15400 is the location's alone
        assert (await vendor_call(client, op, iotCode=EXAMPLE_IMEI))["code"] == 0


@pytest.mark.parametrize("op", QUERIES)
@pytest.mark.parametrize("code", [15302, 15303, 15001])
async def test_query_injected_fault(client: TestClient, sim: Simulator, op: str,
                                    code: int) -> None:
    sim.faults.add(code=code, endpoint=op, iotCode=EXAMPLE_IMEI, times=1)
    body = await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
    assert_error(sim, body, code, ID_FIELD[op])
    assert (await vendor_call(client, op, iotCode=EXAMPLE_IMEI))["code"] == 0  # times=1 spent


async def test_injected_fault_matches_only_its_target(client: TestClient, sim: Simulator) -> None:
    sim.faults.add(code=15302, endpoint="status", iotCode=EXAMPLE_IMEI)
    other = sim.fleet.imeis[1]
    assert (await vendor_call(client, "location", iotCode=EXAMPLE_IMEI))["code"] == 0
    assert (await vendor_call(client, "status", iotCode=other))["code"] == 0
    assert (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["code"] == 15302


async def test_checks_come_in_order(client: TestClient, sim: Simulator) -> None:
    """token, parameters, lookup, injected faults, then the vehicle's state."""
    f, row = sim.fleet, sim.fleet.index[EXAMPLE_IMEI]
    f.activated[row] = False
    sim.faults.add(code=15302, endpoint="status")
    _, other_imeis = add_tenant(sim)
    bad = {"Authorization": "bearer nope"}
    assert (await vendor_call(client, "status", headers=bad))["code"] == 15101
    assert (await vendor_call(client, "status", iotCode="x"))["code"] == 15004
    assert (await vendor_call(client, "status", iotCode=other_imeis[0]))["code"] == 15103
    assert (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["code"] == 15302
    sim.faults.remove()
    assert (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["code"] == 15300


async def test_queries_are_journaled(client: TestClient, sim: Simulator) -> None:
    body = await vendor_call(client, "status", iotCode=EXAMPLE_IMEI)
    record = sim.requests.select({"endpoint": "status"})[-1]
    assert (record["code"], record["opId"], record["iotCode"]) == (0, body["opId"], EXAMPLE_IMEI)
    assert record["path"] == VENDOR_PATHS["status"]
