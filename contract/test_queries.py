"""The four queries: envelopes, field names and types, ranges, msg texts, errors (safe live)."""

from __future__ import annotations

import pytest

from simulator.contract import checks
from simulator.contract.drift import FORMAT, VALUE, check
from simulator.contract.surface import BY_NAME, PACK_DATA, QUERIES, Endpoint
from simulator.contract.target import NOBODY_IMEI, Target

pytestmark = pytest.mark.model("a200")  # the reference's E-bike A200

BATTERY_ALIAS = "/api/v2/vehicle/query/current/battery-info"


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", QUERIES, ids=lambda e: e.name)
def test_query_answers_the_documented_fields(target: Target, endpoint: Endpoint) -> None:
    data = checks.success(target.get(endpoint.path, {"iotCode": target.iot_code}), endpoint)
    checks.fields(data, endpoint.data, endpoint.name)
    check(data["iotCode"] == target.iot_code, endpoint.name, "data.iotCode", VALUE, target.iot_code,
          data["iotCode"])


@pytest.mark.about("battery-info")
@pytest.mark.unvalidated
def test_battery_packs_match_the_battery_count(target: Target) -> None:
    endpoint = BY_NAME["battery-info"]
    data = checks.success(target.get(endpoint.path, {"iotCode": target.iot_code}), endpoint)
    packs = data["batteryData"]
    check(len(packs) == data["batteryCount"], endpoint.name, "data.batteryCount", VALUE,
          f"the number of packs ({len(packs)})", data["batteryCount"])
    for pack in packs:
        checks.fields(pack, PACK_DATA, endpoint.name, "data.batteryData[]")
    ports = [p["batteryPort"] for p in packs]
    check(len(set(ports)) == len(ports), endpoint.name, "data.batteryData[].batteryPort", VALUE,
          "a port per pack", ports)


@pytest.mark.about("bluetooth-key")
@pytest.mark.unvalidated
def test_bluetooth_key_is_8_letters_and_digits(target: Target) -> None:
    endpoint = BY_NAME["bluetooth-key"]
    data = checks.success(target.get(endpoint.path, {"iotCode": target.iot_code}), endpoint)
    check(checks.KEY.fullmatch(str(data["key"])), endpoint.name, "data.key", FORMAT,
          "8 letters and digits", data["key"])


@pytest.mark.about("status")
@pytest.mark.unvalidated
def test_times_are_epoch_seconds_and_milliseconds(target: Target) -> None:
    status = BY_NAME["status"]
    reply = target.get(status.path, {"iotCode": target.iot_code})
    data = checks.success(reply, status)
    # statusUtcTime is in seconds, the envelope's t in milliseconds, both on the same clock.
    check(10**9 <= data["statusUtcTime"] <= reply.body["t"] // 1000 + 1, status.name,
          "data.statusUtcTime", FORMAT, "epoch seconds, not after t", data["statusUtcTime"])


@pytest.mark.about("battery-info")
@pytest.mark.unvalidated
def test_battery_info_is_served_at_the_vehicle_path_too(target: Target) -> None:
    endpoint = BY_NAME["battery-info"]
    data = checks.success(target.get(BATTERY_ALIAS, {"iotCode": target.iot_code}), endpoint)
    checks.fields(data, endpoint.data, endpoint.name)


@pytest.mark.about("location")
@pytest.mark.unvalidated
def test_real_time_location_answers_the_location_fields(target: Target) -> None:
    endpoint = BY_NAME["location"]
    reply = target.get(endpoint.path, {"iotCode": target.iot_code, "realTimeLocation": "true"})
    checks.envelope(reply, endpoint)
    if reply.code == 0:
        checks.fields(reply.body["data"], endpoint.data, endpoint.name)
    else:  # the device must answer itself: offline or silent vehicles fail, as documented
        check(reply.code in (15301, 15302, 15303, 15400), endpoint.name, "code", VALUE,
              "0, or 15301/15302/15303/15400 from the device", reply.code)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", QUERIES, ids=lambda e: e.name)
@pytest.mark.parametrize("params", [
    {}, {"iotCode": ""}, {"iotCode": "not-an-imei"}, {"imei": "861477038719116"},
], ids=["missing", "empty", "letters", "wrong name"])
def test_a_bad_iot_code_gets_15004(target: Target, endpoint: Endpoint, params: dict) -> None:
    checks.error(target.get(endpoint.path, params), 15004, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", QUERIES, ids=lambda e: e.name)
def test_an_unknown_vehicle_gets_15102(target: Target, endpoint: Endpoint) -> None:
    checks.error(target.get(endpoint.path, {"iotCode": NOBODY_IMEI}), 15102, endpoint)


@pytest.mark.about("location")
@pytest.mark.unvalidated
def test_real_time_location_must_be_a_boolean(target: Target) -> None:
    endpoint = BY_NAME["location"]
    reply = target.get(endpoint.path, {"iotCode": target.iot_code, "realTimeLocation": "maybe"})
    checks.error(reply, 15004, endpoint)


@pytest.mark.about("status")
@pytest.mark.unvalidated
def test_every_answer_has_a_fresh_operation_id(target: Target) -> None:
    status = BY_NAME["status"]
    ids = {target.get(status.path, {"iotCode": target.iot_code}).body["opId"] for _ in range(3)}
    check(len(ids) == 3, status.name, "opId", VALUE, "a fresh one per answer", sorted(ids))
