"""The first-generation (v1) paths over loopback: the flat answers and their units, every command's
effect, the v1 envelope of every error code, vehicleCode and iot/bind, 15705 for an A200, and
JSON for paths no model knows.

Rules inferred from public clients: FIDELITY.md, "Vehicle models" (the v1 rows).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from simulator.core.events import COMPONENTS, STATUS
from simulator.sim import Config, Simulator
from tests.helpers.control import HTTP, call, listen
from tests.helpers.models import (
    BODIES,
    MIXED,
    NOT_A_TOKEN,
    UNSUPPORTED,
    V1_COMMANDS,
    V1_OPS,
    V1_PATHS,
    V1_QUERIES,
    a200_imei,
    answer_changing_nothing_if_refused,
    assert_v1_envelope,
    full_state,
    scooter_tenant,
    unlocked,
    v1_body,
    v1_call,
    v1_query,
)
from tests.helpers.vendor import (
    AUTH,
    EXAMPLE_IMEI,
    STATE_CODES,
    example_row,
    row_state,
    set_state,
    status_of,
    while_in_flight,
)

GET_FIELDS = frozenset({"iotCode", "vehicleCode", "online", "locked", "networkSignal",
                        "charging", "powerPercent", "speedMode", "speed", "odometer",
                        "remainingRange", "totalRidingSecs", "latitude", "longitude",
                        "altitude", "statusUtcTime", "gpsUtcTime"})
VERSION_FIELDS = frozenset({"iotCode", "vehicleCode", "iotVersion"})
UNKNOWN_IMEI = "869999999999999"
# The device must answer these (not iot/bind: the cloud's own record).
DEVICE_COMMANDS = tuple(op for op in V1_COMMANDS if op != "v1/iot/bind")


@pytest.fixture
def config() -> Config:
    return MIXED


async def send(client: TestClient, op: str, imei: str = EXAMPLE_IMEI, code: str | None = None,
               headers: dict[str, str] | None = None,
               flags: dict[str, str] | None = None) -> dict[str, Any]:
    """`op` with a valid body or query string (plus `flags`) naming `imei` (and `code` as its
    vehicleCode)."""
    if op in V1_QUERIES:
        return await v1_call(client, op, headers=headers, query=v1_query(imei, code, flags))
    return await v1_call(client, op, v1_body(op, imei, code), headers=headers)


async def refused(client: TestClient, sim: Simulator, op: str, code: int,
                  imei: str = EXAMPLE_IMEI, vehicle_code: str | None = None,
                  headers: dict[str, str] | None = None, body: Any = None,
                  raw: bytes | None = None, flags: dict[str, str] | None = None,
                  ) -> dict[str, Any]:
    """`op` answers `code` in the v1 envelope, and the vehicle named is exactly as before."""
    row = sim.fleet.find(imei)
    before = None if row is None else row_state(sim, row)
    if body is not None or raw is not None:
        answer = await v1_call(client, op, body, headers=headers, raw=raw)
    else:
        answer = await send(client, op, imei, vehicle_code, headers, flags)
    assert_v1_envelope(sim, answer, code)
    if row is not None:
        assert row_state(sim, row) == before
    return answer


def test_the_paths_are_the_fact_sheets() -> None:
    sheet = {
        "v1/get": "query/get", "v1/version": "query/version", "v1/unlock": "control/unlock",
        "v1/lock": "control/lock", "v1/toot": "control/toot",
        "v1/headlight": "control/headlight", "v1/speed-mode": "control/speed-mode",
        "v1/battery/cover": "control/battery/cover",
        "v1/setting/speed-limit": "setting/speed-limit",
        "v1/setting/location": "setting/location", "v1/iot/bind": "iot/bind",
    }
    served = dict(V1_PATHS)
    assert served == {op: f"/api/vehicle/{path}" for op, path in sheet.items()}


# -- the two queries --------------------------------------------------------------------------


async def test_query_get_is_flat_in_its_units(client: TestClient, sim: Simulator) -> None:
    sim.advance(4.5)
    row = example_row(sim)
    sim.fleet.odometer[row] = 123_456.7  # metres: 12346 units of 10 m
    body = await send(client, "v1/get")
    assert_v1_envelope(sim, body, 0, GET_FIELDS)
    status = await status_of(client)
    location = (await full_state(client))["location"]
    assert (body["iotCode"], body["vehicleCode"]) == (EXAMPLE_IMEI, EXAMPLE_IMEI)
    assert body["odometer"] == 12_346
    assert status["odometer"] == 123_457
    assert body["remainingRange"] == status["remainingRange"]  # already in 10 m on v2
    for name in ("online", "locked", "networkSignal", "charging", "powerPercent", "speedMode",
                 "speed", "totalRidingSecs", "statusUtcTime"):
        assert body[name] == status[name], name
    for name in ("latitude", "longitude", "altitude"):
        assert body[name] == location[name], name
    assert body["gpsUtcTime"] == (await full_state(client))["columns"]["gps_time"]
    for name in ("online", "locked", "charging"):
        assert type(body[name]) is bool


async def test_query_get_follows_a_ride(client: TestClient, sim: Simulator) -> None:
    unlocked(sim)
    await call(client, "POST", f"/_sim/vehicles/{EXAMPLE_IMEI}/events",
               {"type": "ride", "seconds": 900})
    before = await send(client, "v1/get")
    sim.advance(120)
    after = await send(client, "v1/get")
    odometer = (await full_state(client))["columns"]["odometer"]
    assert after["odometer"] == round(odometer / 10) > before["odometer"]
    assert after["totalRidingSecs"] == before["totalRidingSecs"] + 120
    assert after["remainingRange"] == (await status_of(client))["remainingRange"]


@pytest.mark.parametrize("flag", ["realTimeStatus", "realTimeLocation"])
async def test_query_get_real_time(client: TestClient, sim: Simulator, flag: str) -> None:
    row = example_row(sim)
    assert_v1_envelope(sim, await send(client, "v1/get", flags={flag: "true"}), 0, GET_FIELDS)
    set_state(sim, row, "offline")
    # the cloud's last known state answers; asking the scooter itself cannot
    last_known = await send(client, "v1/get", flags={flag: "false"})
    assert_v1_envelope(sim, last_known, 0, GET_FIELDS)
    assert last_known["online"] is False
    await refused(client, sim, "v1/get", 15301, flags={flag: "true"})
    set_state(sim, row, "inactive")
    await refused(client, sim, "v1/get", 15300, flags={flag: "true"})
    await refused(client, sim, "v1/get", 15300)
    await refused(client, sim, "v1/get", 15004, flags={flag: "maybe"})


async def test_query_version(client: TestClient, sim: Simulator) -> None:
    body = await send(client, "v1/version")
    assert_v1_envelope(sim, body, 0, VERSION_FIELDS)
    assert body["iotVersion"] == (await full_state(client))["firmware"] == "1.5.0"
    set_state(sim, example_row(sim), "offline")  # the cloud knows it
    assert (await send(client, "v1/version"))["iotVersion"] == "1.5.0"


# -- the commands -------------------------------------------------------------------------------


@pytest.mark.parametrize("op", V1_COMMANDS)
async def test_command_success_envelope(client: TestClient, sim: Simulator, op: str) -> None:
    unlocked(sim)
    sim.advance(2.5)
    body = await send(client, op)
    assert_v1_envelope(sim, body, 0)
    record = sim.requests.select({"endpoint": op})[-1]
    assert (record["code"], record["opId"], record["iotCode"]) == (0, body["opId"], EXAMPLE_IMEI)
    assert record["path"] == V1_PATHS[op]


async def test_unlock_and_lock(client: TestClient, sim: Simulator) -> None:
    events = listen(sim)
    assert (await send(client, "v1/unlock"))["code"] == 0
    assert (await send(client, "v1/get"))["locked"] is False
    await call(client, "POST", f"/_sim/vehicles/{EXAMPLE_IMEI}/events",
               {"type": "ride", "seconds": 600})
    sim.advance(30)
    assert (await full_state(client))["riding"] is True
    assert (await send(client, "v1/lock"))["code"] == 0
    state = await full_state(client)
    assert (state["locked"], state["riding"], state["status"]["speed"]) == (True, False, 0)
    assert [e.kind for e in events] == [STATUS, STATUS, COMPONENTS]
    assert (await send(client, "v1/lock"))["code"] == 0  # locked already: nothing more
    assert len(events) == 3


@pytest.mark.parametrize("content_type", [6, 7])
async def test_toot(client: TestClient, sim: Simulator, content_type: int) -> None:
    sim.advance(3)
    body = {**v1_body("v1/toot"), "contentType": content_type}
    assert (await v1_call(client, "v1/toot", body))["code"] == 0
    assert (await full_state(client))["lastSound"] == {"contentType": content_type,
                                                       "time": sim.clock.now}


@pytest.mark.parametrize("content_type", [0, 1, 2, 5, 8, "7x", None, True])
async def test_toot_refuses_other_content(client: TestClient, sim: Simulator,
                                          content_type: Any) -> None:
    body = {**v1_body("v1/toot"), "contentType": content_type}
    await refused(client, sim, "v1/toot", 15004, body=body)


@pytest.mark.parametrize("control_type", [1, 0])
async def test_headlight(client: TestClient, sim: Simulator, control_type: int) -> None:
    sim.fleet.head_light[example_row(sim)] = 1 - control_type
    body = {**v1_body("v1/headlight"), "controlType": control_type}
    assert (await v1_call(client, "v1/headlight", body))["code"] == 0
    lights = (await full_state(client))["settings"]["lights"]
    assert lights["headLight"] == control_type


@pytest.mark.parametrize("mode", [1, 2, 3])
async def test_speed_mode(client: TestClient, sim: Simulator, mode: int) -> None:
    sim.fleet.speed_mode[example_row(sim)] = 1 if mode != 1 else 2
    body = {**v1_body("v1/speed-mode"), "speedMode": mode}
    assert (await v1_call(client, "v1/speed-mode", body))["code"] == 0
    assert (await send(client, "v1/get"))["speedMode"] == mode
    assert (await status_of(client))["speedMode"] == mode


async def test_battery_cover(client: TestClient, sim: Simulator) -> None:
    await refused(client, sim, "v1/battery/cover", 15635)
    assert (await send(client, "v1/unlock"))["code"] == 0
    assert (await send(client, "v1/battery/cover"))["code"] == 0
    assert (await full_state(client))["coverOpen"] is True


async def test_speed_limit(client: TestClient, sim: Simulator) -> None:
    assert (await send(client, "v1/setting/speed-limit"))["code"] == 0
    limits = {"low": 8, "medium": 16, "high": 22}
    assert (await full_state(client))["settings"]["speedLimits"] == limits
    partial = {**v1_body("v1/setting/speed-limit"), "mediumSpeedLimit": None, "lowSpeedLimit": 25}
    del partial["highSpeedLimit"]
    assert (await v1_call(client, "v1/setting/speed-limit", partial))["code"] == 0
    assert (await full_state(client))["settings"]["speedLimits"] == {**limits, "low": 25}
    for bad in (5, 26, "x"):
        body = {**v1_body("v1/setting/speed-limit"), "highSpeedLimit": bad}
        await refused(client, sim, "v1/setting/speed-limit", 15004, body=body)


async def test_upload_interval(client: TestClient, sim: Simulator) -> None:
    assert (await send(client, "v1/setting/location"))["code"] == 0
    interval = (await full_state(client))["settings"]["interval"]["locationInterval"]
    assert interval["unlockStatus"] == 30
    for bad in (9, 65536, 0, None):
        body = {**v1_body("v1/setting/location"), "uploadInterval": bad}
        await refused(client, sim, "v1/setting/location", 15004, body=body)


async def test_iot_bind_names_the_vehicle(client: TestClient, sim: Simulator) -> None:
    bind = {"iotCode": EXAMPLE_IMEI, "vehicleCode": "SCOOTER-42", "qrCode": "QR-42"}
    assert (await v1_call(client, "v1/iot/bind", bind))["code"] == 0
    assert (await full_state(client))["vehicleCode"] == "SCOOTER-42"
    answer = await send(client, "v1/get", code="SCOOTER-42")
    assert_v1_envelope(sim, answer, 0, GET_FIELDS)
    assert answer["vehicleCode"] == "SCOOTER-42"
    assert (await send(client, "v1/version", code="SCOOTER-42"))["vehicleCode"] == "SCOOTER-42"
    assert (await send(client, "v1/unlock", code="SCOOTER-42"))["code"] == 0
    # the old name (the IMEI) no longer names it
    for op in V1_OPS:
        if op != "v1/iot/bind":
            await refused(client, sim, op, 15304)
    # binding again renames it, whatever it was called (a JSON integer QR code too)
    rebind = {"iotCode": EXAMPLE_IMEI, "vehicleCode": "7", "qrCode": 123456}
    assert (await v1_call(client, "v1/iot/bind", rebind))["code"] == 0
    assert (await send(client, "v1/get", code="7"))["code"] == 0
    await refused(client, sim, "v1/get", 15304, vehicle_code="SCOOTER-42")


async def test_iot_bind_needs_only_an_activated_vehicle(client: TestClient,
                                                        sim: Simulator) -> None:
    row = example_row(sim)
    for state in ("offline", "transport", "upgrading", "dormant"):
        set_state(sim, row, state)
    assert (await send(client, "v1/iot/bind", code="PARKED-1"))["code"] == 0
    set_state(sim, row, "inactive")
    await refused(client, sim, "v1/iot/bind", 15300, vehicle_code="PARKED-2")


@pytest.mark.parametrize("fields", [{"qrCode": None}, {"qrCode": "no spaces"},
                                    {"qrCode": "x" * 65}, {"vehicleCode": ""},
                                    {"vehicleCode": "a/b"}, {"qrCode": True},
                                    {"qrCode": 1.5}])
async def test_iot_bind_refuses_bad_codes(client: TestClient, sim: Simulator,
                                          fields: dict[str, Any]) -> None:
    body = {**v1_body("v1/iot/bind"), **fields}
    await refused(client, sim, "v1/iot/bind", 15004, body=body)


# -- errors of every v1 path -----------------------------------------------------------------


@pytest.mark.parametrize("op", V1_OPS)
@pytest.mark.parametrize("headers", NOT_A_TOKEN)
async def test_token_failure_has_the_oauth_error(client: TestClient, sim: Simulator, op: str,
                                                 headers: dict[str, str]) -> None:
    unlocked(sim)
    await refused(client, sim, op, 15101, headers=headers)
    if op not in V1_QUERIES:  # the token comes before the body is read
        await refused(client, sim, op, 15101, headers=headers, raw=b"{")


@pytest.mark.parametrize("op", V1_OPS)
async def test_vehicle_code_is_required(client: TestClient, sim: Simulator, op: str) -> None:
    unlocked(sim)
    if op in V1_QUERIES:
        answer = await v1_call(client, op, query={"iotCode": EXAMPLE_IMEI})
        assert_v1_envelope(sim, answer, 15004)
        await refused(client, sim, op, 15004, vehicle_code="not a code")
    else:
        body = v1_body(op)
        del body["vehicleCode"]
        await refused(client, sim, op, 15004, body=body)
        await refused(client, sim, op, 15004, body={**body, "vehicleCode": "not a code"})
        await refused(client, sim, op, 15004, body={**body, "vehicleCode": ["x"]})


BAD_BODIES = [b"", b"{", b"not json", b"[]", b"null", b'"x"', b"{}", b'{"iotCode": "abc"}',
              b"\xff\xfe{}"]


@pytest.mark.parametrize("op", V1_COMMANDS)
@pytest.mark.parametrize("raw", BAD_BODIES)
async def test_bad_body(client: TestClient, sim: Simulator, op: str, raw: bytes) -> None:
    unlocked(sim)
    await refused(client, sim, op, 15004, raw=raw)


@HTTP
@given(op=st.sampled_from(V1_COMMANDS), body=BODIES)
async def test_any_body_gets_a_v1_answer(client: TestClient, sim: Simulator, op: str,
                                         body: Any) -> None:
    answer = await answer_changing_nothing_if_refused(sim, v1_call(client, op, body))
    # never 15001 (a traceback); no v1 command takes the scooter offline
    assert answer["code"] in (0, 15004, 15102, 15304, 15635), answer
    assert_v1_envelope(sim, answer, answer["code"])


@HTTP
@given(op=st.sampled_from(V1_QUERIES),
       query=st.dictionaries(st.sampled_from(["iotCode", "vehicleCode", "realTimeStatus",
                                              "realTimeLocation", "x"]),
                             st.text(max_size=20) | st.sampled_from([EXAMPLE_IMEI, "true"]),
                             max_size=5))
async def test_any_query_gets_a_v1_answer(client: TestClient, sim: Simulator, op: str,
                                          query: dict[str, str]) -> None:
    answer = await v1_call(client, op, query=query)
    assert answer["code"] in (0, 15004, 15102, 15304), answer
    fields = {"v1/get": GET_FIELDS, "v1/version": VERSION_FIELDS}[op] if answer["success"] else None
    assert_v1_envelope(sim, answer, answer["code"], fields or frozenset())


@pytest.mark.parametrize("op", V1_QUERIES)
@pytest.mark.parametrize("query", [{}, {"vehicleCode": EXAMPLE_IMEI},
                                   {"iotCode": "abc", "vehicleCode": EXAMPLE_IMEI},
                                   {"iotCode": EXAMPLE_IMEI, "vehicleCode": ""}])
async def test_bad_query(client: TestClient, sim: Simulator, op: str,
                         query: dict[str, str]) -> None:
    assert_v1_envelope(sim, await v1_call(client, op, query=query), 15004)


@pytest.mark.parametrize("op", V1_OPS)
async def test_wrong_vehicle_code(client: TestClient, sim: Simulator, op: str) -> None:
    unlocked(sim)
    if op == "v1/iot/bind":  # it names the vehicle anew: no code to compare with
        assert (await send(client, op, code="OTHER-1"))["code"] == 0
        return
    await refused(client, sim, op, 15304, vehicle_code="862785041281554")
    # after the lookup, before a fault rule and the vehicle's state
    set_state(sim, example_row(sim), "offline")
    sim.faults.add(code=15303, endpoint=op, iotCode=EXAMPLE_IMEI, times=1)
    await refused(client, sim, op, 15304, vehicle_code="OTHER-1")
    await refused(client, sim, op, 15102, imei=UNKNOWN_IMEI, vehicle_code="OTHER-1")


@pytest.mark.parametrize("op", V1_OPS)
async def test_unknown_vehicle(client: TestClient, sim: Simulator, op: str) -> None:
    await refused(client, sim, op, 15102, imei=UNKNOWN_IMEI)


@pytest.mark.parametrize("op", V1_OPS)
async def test_vehicle_of_another_platform(client: TestClient, sim: Simulator, op: str) -> None:
    other_auth, other_imeis = scooter_tenant(sim)
    await refused(client, sim, op, 15103, imei=other_imeis[0])
    await refused(client, sim, op, 15103, imei=other_imeis[0], vehicle_code="OTHER-1")
    await refused(client, sim, op, 15103, headers=other_auth)
    sim.fleet.locked[sim.fleet.index[other_imeis[1]]] = False  # for the battery cover
    assert (await send(client, op, other_imeis[1], headers=other_auth))["code"] == 0


@pytest.mark.parametrize("op", DEVICE_COMMANDS)
@pytest.mark.parametrize(("state", "code"), STATE_CODES)
async def test_refused_by_state(client: TestClient, sim: Simulator, op: str, state: str,
                                code: int) -> None:
    set_state(sim, unlocked(sim), state)
    await refused(client, sim, op, code)


@pytest.mark.parametrize("op", V1_OPS)
@pytest.mark.parametrize("code", [15302, 15303, 15638])
async def test_injected_fault(client: TestClient, sim: Simulator, op: str, code: int) -> None:
    unlocked(sim)
    sim.faults.add(code=code, endpoint=op, iotCode=EXAMPLE_IMEI, times=1)
    await refused(client, sim, op, code)
    assert (await send(client, op))["code"] == 0


@pytest.mark.parametrize("op", V1_COMMANDS)
async def test_in_flight(client: TestClient, sim: Simulator, monkeypatch: pytest.MonkeyPatch,
                         op: str) -> None:
    row = unlocked(sim)
    sim.faults.add(delayMs=300, endpoint="v1/toot", iotCode=EXAMPLE_IMEI, times=1)
    slow = await while_in_flight(sim, monkeypatch, row, send(client, "v1/toot"))
    await refused(client, sim, op, 15104)
    # queries are not commands: they go through meanwhile
    assert (await send(client, "v1/get"))["code"] == 0
    assert not slow.done()
    assert (await slow)["code"] == 0
    assert (await send(client, op))["code"] == 0


# -- an A200 has no v1 paths; paths no model has are JSON 404s ----------------------------------


@pytest.mark.parametrize("op", V1_OPS)
async def test_an_a200_answers_15705_in_the_v1_envelope(client: TestClient, sim: Simulator,
                                                        op: str) -> None:
    imei = a200_imei(sim)
    sim.fleet.locked[sim.fleet.index[imei]] = False
    answer = await refused(client, sim, op, UNSUPPORTED, imei=imei)
    assert answer["message"] == "This feature is not supported on the vehicle"
    assert answer["success"] is False
    await refused(client, sim, op, 15101, imei=imei, headers={})
    if op in V1_QUERIES:  # a query's parameters come first: vehicleCode is required
        assert_v1_envelope(sim, await v1_call(client, op, query={"iotCode": imei}), 15004)
    else:  # a command's come after the model's support: an A200 has none to read
        await refused(client, sim, op, UNSUPPORTED, imei=imei,
                      body={"iotCode": imei, "contentType": 99, "uploadInterval": 1})


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/vehicle/query/nothing"), ("POST", "/api/vehicle/control/fly"),
    ("POST", "/api/vehicle/control/battery"), ("GET", "/api/vehicle"),
    ("POST", "/api/v1/vehicle/control/unlock"),
])
async def test_unknown_paths_answer_json_404(client: TestClient, sim: Simulator, method: str,
                                             path: str) -> None:
    resp = await client.request(method, path, json=v1_body("v1/unlock"), headers=AUTH)
    assert resp.status == 404
    body = await resp.json()
    assert (body["code"], body["status"], body["path"]) == (404, 404, path)
    assert isinstance(body["msg"], str) and body["msg"] == body["message"]


@pytest.mark.parametrize("op", V1_OPS)
async def test_another_method_answers_json_405(client: TestClient, sim: Simulator,
                                               op: str) -> None:
    method = "POST" if op in V1_QUERIES else "GET"
    resp = await client.request(method, V1_PATHS[op], headers=AUTH)
    assert resp.status == 405
    assert resp.headers["Allow"] == ("GET" if method == "POST" else "POST")
    body = await resp.json()
    assert (body["code"], body["status"]) == (405, 405)
    assert isinstance(body["msg"], str) and body["msg"]
