"""Control plane: list, create, inspect and PATCH vehicles over real HTTP."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from simulator import snapshot
from simulator.core.events import ALERT, COMPONENTS, STATUS
from simulator.core.fleet import COLUMNS, luhn_digit
from simulator.sim import DEMO_IMEIS, Simulator
from tests.helpers.control import HTTP, VEHICLE, call, listen, misuse, row
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

# -- list ------------------------------------------------------------------------------------


async def test_list_is_the_fleet_in_order(client: TestClient, sim: Simulator) -> None:
    page = await call(client, "GET", "/_sim/vehicles")
    assert page["total"] == len(sim.fleet) == 20
    assert [v["iotCode"] for v in page["items"]] == sim.fleet.imeis
    first = page["items"][0]
    assert first["iotCode"] == DEMO_IMEIS[0] and first["platformCode"] == "A20081"
    assert first["online"] is True and first["locked"] is True and first["alerts"] == []
    assert first["powerPercent"] == round(float(sim.fleet.power[0]))


async def test_list_paginates_with_default_limit_100(client: TestClient, sim: Simulator) -> None:
    await call(client, "POST", "/_sim/platforms", {"clientId": "U777", "vehicles": 230}, 201)
    page = await call(client, "GET", "/_sim/vehicles", params={"platformCode": "U777"})
    assert page["total"] == 230 and page["limit"] == 100 and len(page["items"]) == 100
    seen = []
    for offset in range(0, 230, 100):
        page = await call(client, "GET", "/_sim/vehicles",
                          params={"platformCode": "U777", "offset": offset})
        seen += [v["iotCode"] for v in page["items"]]
    assert seen == sim.fleet.imeis[20:] and len(set(seen)) == 230
    assert all(v["platformCode"] == "U777" for v in page["items"])
    big = await call(client, "GET", "/_sim/vehicles", params={"limit": 1000})
    assert len(big["items"]) == 250
    beyond = await call(client, "GET", "/_sim/vehicles", params={"offset": 10_000})
    assert beyond["items"] == [] and beyond["total"] == 250


@pytest.mark.parametrize("flag", ["online", "locked", "activated", "dormant", "upgrading",
                                  "riding", "charging", "transport"])
async def test_list_filters_by_flag(client: TestClient, sim: Simulator, flag: str) -> None:
    column = sim.fleet.column(flag)
    column[5] = not column[5]  # both values present whatever the seed made
    for wanted in (True, False):
        page = await call(client, "GET", "/_sim/vehicles",
                          params={flag: str(wanted).lower(), "limit": 1000})
        expected = [m for m, v in zip(sim.fleet.imeis, column, strict=True) if v == wanted]
        assert [v["iotCode"] for v in page["items"]] == expected
        assert page["total"] == len(expected)


async def test_list_filters_by_alerts_and_faults(client: TestClient, sim: Simulator) -> None:
    await call(client, "POST", f"{VEHICLE}/events", {"type": "alert", "code": 3})
    await call(client, "POST", f"/_sim/vehicles/{DEMO_IMEIS[1]}/events",
               {"type": "fault", "code": "E5"})
    alerting = await call(client, "GET", "/_sim/vehicles", params={"hasAlerts": "true"})
    assert [(v["iotCode"], v["alerts"]) for v in alerting["items"]] == [(EXAMPLE_IMEI, [3])]
    faulty = await call(client, "GET", "/_sim/vehicles", params={"hasFaults": "1"})
    assert [(v["iotCode"], v["faults"]) for v in faulty["items"]] == [(DEMO_IMEIS[1], ["E5"])]
    healthy = await call(client, "GET", "/_sim/vehicles",
                         params={"hasFaults": "false", "hasAlerts": "false"})
    assert healthy["total"] == 18


@pytest.mark.parametrize(("query", "field"), [
    ({"limit": "1001"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"offset": "-5"}, "offset"),
    ({"online": "maybe"}, "online"),
    ({"platformCode": "Z999"}, "platformCode"),
    ({"colour": "red"}, "colour"),
])
async def test_list_misuse(client: TestClient, sim: Simulator, query: dict[str, str],
                           field: str) -> None:
    await misuse(client, sim, "GET", "/_sim/vehicles", None, field, params=query)


# -- create ----------------------------------------------------------------------------------


async def test_create_defaults(client: TestClient, sim: Simulator) -> None:
    events = listen(sim)
    state = await call(client, "POST", "/_sim/vehicles", {}, 201)
    imei = state["iotCode"]
    assert len(imei) == 15 and imei.startswith("86") and imei[-1] == luhn_digit(imei[:-1])
    assert state["platformCode"] == "A20081" and state["firmware"] == "1.5.0"
    assert (state["activated"], state["online"], state["locked"], state["hasMechLock"],
            state["hasFix"], state["riding"]) == (True, True, True, True, True, False)
    assert sim.fleet.imeis[-1] == imei and len(sim.fleet) == 21
    assert events == []  # a new vehicle reports no changes
    # ... and the vendor surface knows it at once
    answer = await vendor_call(client, "status", iotCode=imei)
    assert answer["code"] == 0 and answer["data"] == state["status"]


async def test_create_with_imei_platform_and_state(client: TestClient, sim: Simulator) -> None:
    await call(client, "POST", "/_sim/platforms", {"clientId": "C1234"}, 201)
    body = {"iotCode": "359000000000001", "platformCode": "C1234", "online": False,
            "powerPercent": 7, "latitude": 22.5, "longitude": 114.1, "firmware": "1.2.8",
            "locked": False, "speedMode": 3}
    state = await call(client, "POST", "/_sim/vehicles", body, 201)
    assert state["iotCode"] == "359000000000001" and state["platformCode"] == "C1234"
    assert state["online"] is False and state["locked"] is False and state["mechLockOpen"]
    assert state["status"]["powerPercent"] == 7 and state["settings"]["speedMode"] == 3
    assert state["location"]["latitude"] == 22.5 and state["firmware"] == "1.2.8"
    # visible only to its platform: the demo token gets 15103
    answer = await vendor_call(client, "status", iotCode="359000000000001")
    assert answer["code"] == 15103


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"iotCode": EXAMPLE_IMEI}, "iotCode", 409),
    ({"iotCode": "86-123"}, "iotCode", 400),
    ({"iotCode": 861477038719999}, "iotCode", 400),
    ({"platformCode": "E404"}, "platformCode", 400),
    ({"powerPercent": 101}, "powerPercent", 400),
    ({"online": "yes"}, "online", 400),
    ({"riding": True}, "riding", 400),
    ({"coverOpen": True}, "coverOpen", 400),  # a new vehicle is locked
    ({"wheels": 2}, "wheels", 400),
])
async def test_create_misuse(client: TestClient, sim: Simulator, body: dict[str, Any],
                             field: str, status: int) -> None:
    await misuse(client, sim, "POST", "/_sim/vehicles", body, field, status)


@pytest.mark.parametrize("raw", [b"[1, 2]", b"{not json", b'"text"', b"null"])
async def test_create_bad_body(client: TestClient, sim: Simulator, raw: bytes) -> None:
    await misuse(client, sim, "POST", "/_sim/vehicles", None, "body", data=raw,
                 headers={"Content-Type": "application/json"})


# -- get -------------------------------------------------------------------------------------


async def test_full_state(client: TestClient, sim: Simulator) -> None:
    state = await call(client, "GET", VEHICLE)
    assert state["iotCode"] == EXAMPLE_IMEI and state["platformCode"] == "A20081"
    assert state["firmware"] == "1.5.0"
    for flag in ("activated", "online", "locked", "riding", "upgrading", "dormant", "transport",
                 "charging", "hasMechLock", "mechLockOpen", "coverOpen", "antiTheft",
                 "wirelessCharging", "hasFix", "locationValid", "commandInFlight"):
        assert isinstance(state[flag], bool), flag
    assert state["alerts"] == [] and state["faults"] == []
    for op, key in (("status", "status"), ("location", "location"),
                    ("battery-info", "battery"), ("bluetooth-key", None)):
        answer = await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
        if key:
            assert answer["data"] == state[key], op
        else:
            assert answer["data"]["key"] == state["settings"]["bluetoothKey"]
    settings_ = state["settings"]
    assert set(settings_) == {"speedMode", "switch", "sound", "ambient", "ambientEffect",
                              "interval", "bluetoothKey", "lights", "speedLimits"}
    assert state["model"] == "a200" and state["vehicleCode"] == EXAMPLE_IMEI
    assert settings_["switch"]["speedLimit"] == 25 and settings_["switch"]["lowPowerValue"] == 5
    assert settings_["interval"] == {
        "locationInterval": {"unlockStatus": 10, "lockStatus": 900},
        "statusInterval": {"ridingStatus": 10, "nonRiding": 0, "lockStatus": 0}}
    assert set(state["columns"]) == set(COLUMNS)
    assert state["columns"]["bt_key"] == settings_["bluetoothKey"]
    assert len(state["columns"]["pack_percent"]) == COLUMNS["pack_percent"].width


async def test_full_state_shows_settings_set_through_the_vendor(client: TestClient) -> None:
    body = {"iotCode": EXAMPLE_IMEI, "bright": 3,
            "faultMode": {"mode": 2, "color": 2}}
    assert (await vendor_call(client, "setting/ambient", body))["code"] == 0
    body = {"iotCode": EXAMPLE_IMEI, "workMode": 1, "volume": 3, "ebaqMask": {"alarm": 0}}
    assert (await vendor_call(client, "setting/sound", body))["code"] == 0
    settings_ = (await call(client, "GET", VEHICLE))["settings"]
    assert settings_["ambient"]["bright"] == 3
    assert settings_["ambient"]["faultMode"] == {"mode": 2, "color": 2}
    assert settings_["sound"] == {"workMode": 1, "volume": 3, "ebaqMask": {"alarm": 0}}


async def test_unknown_vehicle_is_404(client: TestClient, sim: Simulator) -> None:
    for method, path, body in (("GET", "/_sim/vehicles/123", None),
                               ("PATCH", "/_sim/vehicles/123", {"online": False}),
                               ("POST", "/_sim/vehicles/123/events", {"type": "offline"})):
        await misuse(client, sim, method, path, body, "iotCode", 404)


# -- PATCH -----------------------------------------------------------------------------------

# Wire name -> (column, low, high, integer), restated from the docs so drift shows.
NUMBERS: dict[str, tuple[str, float, float, bool]] = {
    "powerPercent": ("power", 0, 100, False),
    "latitude": ("lat", -90, 90, False),
    "longitude": ("lon", -180, 180, False),
    "altitude": ("altitude", -500, 9000, False),
    "satelliteNumber": ("satellites", 0, 99, True),
    "hdop": ("hdop", 0, 99, False),
    "speedMode": ("speed_mode", 1, 3, True),
    "networkSignal": ("network_signal", 2, 32, True),
    "lockVoltage": ("lock_voltage", 0, 9999, True),
    "iotPercent": ("iot_percent", 0, 100, False),
    "odometer": ("odometer", 0, 1e12, False),
    "totalRidingSecs": ("riding_secs", 0, 1e12, False),
}
FLAGS = {"activated": "activated", "online": "online", "upgrading": "upgrading",
         "dormant": "dormant", "charging": "charging", "plugged": "plugged", "hasFix": "has_fix",
         "locationValid": "location_valid", "antiTheft": "anti_theft",
         "wirelessCharging": "wireless_charging", "hasMechLock": "has_mech_lock"}


@st.composite
def valid_number(draw: Any) -> tuple[str, float]:
    """A field and an in-range value of its JSON type (an int for integer fields)."""
    name = draw(st.sampled_from(sorted(NUMBERS)))
    _, lo, hi, integer = NUMBERS[name]
    if integer:
        return name, draw(st.integers(int(lo), int(hi)))
    return name, draw(st.one_of(st.floats(lo, hi, allow_nan=False), st.integers(int(lo), int(hi))))


@HTTP
@given(case=valid_number())
async def test_patch_number_in_range(client: TestClient, sim: Simulator,
                                     case: tuple[str, float]) -> None:
    name, value = case
    column = NUMBERS[name][0]
    state = await call(client, "PATCH", VEHICLE, {name: value})
    expected = np.asarray(value, dtype=COLUMNS[column].dtype).tolist()
    assert state["columns"][column] == expected
    assert sim.fleet.column(column)[row(sim)] == expected


@st.composite
def invalid_number(draw: Any) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(NUMBERS)))
    _, lo, hi, integer = NUMBERS[name]
    bad = [
        st.floats(allow_nan=False, allow_infinity=False, max_value=lo, exclude_max=True),
        st.floats(allow_nan=False, allow_infinity=False, min_value=hi, exclude_min=True),
        st.booleans(), st.text(max_size=5), st.none(), st.lists(st.integers(), max_size=2),
    ]
    if integer:
        bad += [st.floats(lo, hi).filter(lambda x: not x.is_integer()),
                st.integers(max_value=int(lo) - 1), st.integers(min_value=int(hi) + 1)]
    return name, draw(st.one_of(bad))


@HTTP
@given(case=invalid_number())
async def test_patch_number_out_of_range_changes_nothing(client: TestClient, sim: Simulator,
                                                         case: tuple[str, Any]) -> None:
    name, value = case
    await misuse(client, sim, "PATCH", VEHICLE, {name: value}, name)


@HTTP
@given(case=valid_number(), bad=invalid_number())
async def test_patch_is_all_or_nothing(client: TestClient, sim: Simulator,
                                       case: tuple[str, float], bad: tuple[str, Any]) -> None:
    if case[0] == bad[0]:
        return
    await misuse(client, sim, "PATCH", VEHICLE, {case[0]: case[1], bad[0]: bad[1]}, bad[0])


@HTTP
@given(name=st.sampled_from(sorted(FLAGS)), value=st.booleans())
async def test_patch_flag(client: TestClient, sim: Simulator, name: str, value: bool) -> None:
    state = await call(client, "PATCH", VEHICLE, {name: value})
    assert state[name] is value
    assert bool(sim.fleet.column(FLAGS[name])[row(sim)]) is value


@HTTP
@given(name=st.sampled_from(sorted(FLAGS)),
       value=st.one_of(st.integers(), st.text(max_size=5), st.none(),
                       st.floats(allow_nan=False, allow_infinity=False)))
async def test_patch_flag_wrong_type(client: TestClient, sim: Simulator, name: str,
                                     value: Any) -> None:
    await misuse(client, sim, "PATCH", VEHICLE, {name: value}, name)


@HTTP
@given(name=st.text(min_size=1, max_size=12).filter(
    lambda n: n not in NUMBERS and n not in FLAGS and n not in (
        "locked", "transport", "mechLockOpen", "coverOpen", "firmware", "bluetoothKey")))
async def test_patch_unknown_field(client: TestClient, sim: Simulator, name: str) -> None:
    await misuse(client, sim, "PATCH", VEHICLE, {name: 1}, name)


@HTTP
@given(version=st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)))
async def test_patch_firmware(client: TestClient, sim: Simulator,
                              version: tuple[int, int, int]) -> None:
    text = ".".join(map(str, version))
    state = await call(client, "PATCH", VEHICLE, {"firmware": text})
    assert state["firmware"] == text
    assert sim.fleet.firmware[row(sim)] == version[0] * 10000 + version[1] * 100 + version[2]


@pytest.mark.parametrize("value", ["1.5", "1.5.0.1", "100.0.0", "a.b.c", 10500, "", None])
async def test_patch_bad_firmware(client: TestClient, sim: Simulator, value: Any) -> None:
    await misuse(client, sim, "PATCH", VEHICLE, {"firmware": value}, "firmware")


async def test_patch_bluetooth_key(client: TestClient, sim: Simulator) -> None:
    state = await call(client, "PATCH", VEHICLE, {"bluetoothKey": "Zz9Zz9Zz"})
    assert state["settings"]["bluetoothKey"] == "Zz9Zz9Zz"
    await misuse(client, sim, "PATCH", VEHICLE, {"bluetoothKey": "short"}, "bluetoothKey")


async def test_patch_power_moves_packs_and_range(client: TestClient, sim: Simulator) -> None:
    state = await call(client, "PATCH", VEHICLE, {"powerPercent": 40})
    battery = state["battery"]
    assert battery["vehiclePercent"] == 40 and state["status"]["powerPercent"] == 40
    for pack in battery["batteryData"]:
        assert abs(pack["batteryPercent"] - 40) <= 10
    assert state["status"]["remainingRange"] < 6000 * 0.5


async def test_patch_position_is_a_new_fix(client: TestClient, sim: Simulator) -> None:
    sim.advance(100)
    state = await call(client, "PATCH", VEHICLE, {"latitude": 1.3, "longitude": 103.9})
    assert state["location"]["latitude"] == 1.3 and state["location"]["longitude"] == 103.9
    assert state["location"]["gpsUtcTime"] == int(sim.clock.now)


async def test_patch_empty_body_changes_nothing(client: TestClient, sim: Simulator) -> None:
    before = snapshot.dump(sim)
    await call(client, "PATCH", VEHICLE, {})
    assert snapshot.dump(sim) == before
    await misuse(client, sim, "PATCH", VEHICLE, None, "body", data=b"",
                 headers={"Content-Type": "application/json"})


# -- PATCH reacts as the vehicle would ---------------------------------------------------------


async def test_patch_unlock_and_lock(client: TestClient, sim: Simulator) -> None:
    events = listen(sim)
    state = await call(client, "PATCH", VEHICLE, {"locked": False})
    assert not state["locked"] and state["mechLockOpen"] and state["antiTheft"]
    assert [(e.kind, e.data) for e in events] == [(STATUS, {"reason": "unlock"})]
    events.clear()
    state = await call(client, "PATCH", VEHICLE, {"locked": True})
    assert state["locked"] and not state["mechLockOpen"] and not state["riding"]
    assert [e.kind for e in events] == [STATUS, COMPONENTS]
    assert events[1].data == {"type": 5, "status": 2}
    events.clear()
    await call(client, "PATCH", VEHICLE, {"locked": True})  # no change, nothing reported
    assert events == []


@pytest.mark.parametrize(("body", "reason"), [
    ({"online": False}, "offline"),
    ({"charging": True}, "charging"),
    ({"online": False, "charging": True, "powerPercent": 30}, "offline"),
])
async def test_patch_status_changes_publish_once(client: TestClient, sim: Simulator,
                                                 body: dict[str, Any], reason: str) -> None:
    seen: list[tuple[str, float, bool]] = []
    f, i = sim.fleet, row(sim)
    sim.bus.subscribe(lambda e: seen.append((e.kind, float(f.power[i]), bool(f.online[i]))))
    await call(client, "PATCH", VEHICLE, body)
    # one STATUS, published once every field is set, so a push sees the final state
    assert seen == [(STATUS, float(f.power[i]), bool(f.online[i]))]
    assert f.status_time[i] == int(sim.clock.now)
    events = listen(sim)
    await call(client, "PATCH", VEHICLE, {"powerPercent": 50, "networkSignal": 9})
    assert events == []


async def test_patch_lock_and_offline_together(client: TestClient, sim: Simulator) -> None:
    await call(client, "PATCH", VEHICLE, {"locked": False})
    events = listen(sim)
    state = await call(client, "PATCH", VEHICLE, {"locked": True, "online": False})
    assert state["locked"] and not state["online"]
    assert [e.kind for e in events] == [STATUS, COMPONENTS]


async def test_patch_transport_takes_the_vehicle_offline(client: TestClient,
                                                         sim: Simulator) -> None:
    events = listen(sim)
    state = await call(client, "PATCH", VEHICLE, {"transport": True})
    assert state["transport"] and not state["online"]
    assert [(e.kind, e.data) for e in events] == [(STATUS, {"reason": "offline"})]
    await misuse(client, sim, "PATCH", VEHICLE, {"online": True}, "online")
    state = await call(client, "PATCH", VEHICLE, {"transport": False, "online": True})
    assert not state["transport"] and state["online"]


@pytest.mark.parametrize(("body", "field"), [
    ({"online": True, "transport": True}, "online"),
    ({"coverOpen": True}, "coverOpen"),
    ({"mechLockOpen": True}, "mechLockOpen"),
    ({"locked": False, "hasMechLock": False, "mechLockOpen": True}, "mechLockOpen"),
    ({"locked": True, "coverOpen": True}, "coverOpen"),
])
async def test_patch_impossible_combinations(client: TestClient, sim: Simulator,
                                             body: dict[str, Any], field: str) -> None:
    await misuse(client, sim, "PATCH", VEHICLE, body, field)


async def test_patch_open_cover_on_unlocked_vehicle(client: TestClient, sim: Simulator) -> None:
    state = await call(client, "PATCH", VEHICLE, {"locked": False, "coverOpen": True})
    assert state["coverOpen"] and not state["locked"]
    state = await call(client, "PATCH", VEHICLE, {"hasMechLock": False})
    assert not state["mechLockOpen"] and not state["hasMechLock"]
    answer = await vendor_call(client, "mech-lock", {"iotCode": EXAMPLE_IMEI})
    assert answer["code"] == 15705  # the vendor surface follows the patched state


async def test_patched_state_drives_the_vendor_surface(client: TestClient,
                                                       sim: Simulator) -> None:
    for body, code in (({"online": False}, 15301), ({"online": True, "upgrading": True}, 15500),
                       ({"upgrading": False, "dormant": True}, 15704),
                       ({"dormant": False, "activated": False}, 15300),
                       ({"activated": True}, 0)):
        await call(client, "PATCH", VEHICLE, body)
        answer = await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI})
        assert answer["code"] == code, body


async def test_patch_low_power_raises_the_alert(client: TestClient, sim: Simulator) -> None:
    events = listen(sim)
    state = await call(client, "PATCH", VEHICLE, {"powerPercent": 3})  # lowPowerValue is 5
    assert state["alerts"] == [12]
    assert [(e.kind, e.data) for e in events] == [(ALERT, {"code": 12, "alertStatus": 0})]
    state = await call(client, "PATCH", VEHICLE, {"powerPercent": 60})
    assert state["alerts"] == []


async def test_patch_charging_plugs_a_charger(client: TestClient, sim: Simulator) -> None:
    await call(client, "PATCH", VEHICLE, {"powerPercent": 50})
    state = await call(client, "PATCH", VEHICLE, {"charging": True})
    assert state["charging"] and state["plugged"]
    await call(client, "POST", "/_sim/clock", {"advance": 600})
    state = await call(client, "GET", VEHICLE)
    assert state["charging"] and state["status"]["powerPercent"] > 50  # it charges
    state = await call(client, "PATCH", VEHICLE, {"charging": False})
    assert not state["charging"] and not state["plugged"]


async def test_patch_offline_holds_over_a_network_spell(client: TestClient,
                                                        sim: Simulator) -> None:
    sim.fleet.offline_until[row(sim)] = sim.clock.now + 30  # a spell was under way
    await call(client, "PATCH", VEHICLE, {"online": False})
    await call(client, "POST", "/_sim/clock", {"advance": 300})
    assert (await call(client, "GET", VEHICLE))["online"] is False


async def test_patch_dormant_false_wakes_the_vehicle(client: TestClient, sim: Simulator) -> None:
    sim.fleet.last_active[row(sim)] = sim.clock.now - 10 * 86_400
    await call(client, "PATCH", VEHICLE, {"dormant": True})
    sim.advance(5)
    await call(client, "PATCH", VEHICLE, {"dormant": False})
    assert sim.fleet.last_active[row(sim)] == sim.clock.now
    await call(client, "POST", "/_sim/clock", {"advance": 120})
    assert (await call(client, "GET", VEHICLE))["dormant"] is False
