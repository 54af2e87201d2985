"""The scooter's v2 surface over loopback: every operation's success and effect, every error code
it can give in the interface's check order, bad input, and 15705 between the models.

The fleet mixes models: the reference's example IMEIs are scooters, the others half A200s.
Rules inferred from public clients: FIDELITY.md, "Vehicle models".
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from simulator.core.errors import VendorError
from simulator.core.events import COMPONENTS, STATUS
from simulator.core.models import BY_NAME
from simulator.sim import DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.control import HTTP, call, listen
from tests.helpers.models import (
    A200_ONLY,
    BODIES,
    MIXED,
    NOT_A_TOKEN,
    SCOOTER_COMMANDS,
    SCOOTER_ONLY,
    SCOOTER_QUERIES,
    SCOOTER_VALID,
    UNSUPPORTED,
    V1_OPS,
    a200_body,
    a200_imei,
    answer_changing_nothing_if_refused,
    full_state,
    scooter_tenant,
    unlocked,
    with_imei,
)
from tests.helpers.push import Rig
from tests.helpers.vendor import (
    AUTH,
    EXAMPLE_IMEI,
    STATE_CODES,
    VENDOR_PATHS,
    assert_envelope,
    assert_error,
    example_row,
    row_state,
    set_state,
    status_of,
    vendor_call,
    while_in_flight,
)

# Success `msg` and id field of each query, as the A200's answers them (vendor.QUERY_WIRE).
QUERY_WIRE = {"status": ("Success", "opId"), "location": ("success", "opId"),
              "battery-info": ("success", "resId"), "bluetooth-key": ("success", "opId")}
STATUS_FIELDS = {"iotCode", "online", "locked", "lockVoltage", "networkSignal", "charging",
                 "powerPercent", "speedMode", "speed", "odometer", "remainingRange",
                 "totalRidingSecs", "statusUtcTime"}
LOCATION_FIELDS = {"iotCode", "latitude", "longitude", "satelliteNumber", "hdop", "altitude",
                   "gpsUTCTime"}
BATTERY_PATHS = ("/api/v2/mopeds/query/current/battery-info",
                 "/api/v2/vehicle/query/current/battery-info")


@pytest.fixture
def config() -> Config:
    return MIXED


async def refused(client: TestClient, sim: Simulator, op: str, body: Any, code: int,
                  imei: str = EXAMPLE_IMEI, headers: dict[str, str] | None = None) -> None:
    """`op` answers the vendor error `code` and the vehicle is exactly as before."""
    row = sim.fleet.find(imei)
    assert row is not None
    before = row_state(sim, row)
    assert_error(sim, await vendor_call(client, op, body, headers=headers), code)
    assert row_state(sim, row) == before


async def post_raw(client: TestClient, op: str, raw: bytes) -> dict[str, Any]:
    resp = await client.post(VENDOR_PATHS[op], data=raw,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 200, await resp.text()
    payload: dict[str, Any] = await resp.json()
    return payload


def test_every_operation_of_each_model_is_covered_here() -> None:
    scooter, a200 = BY_NAME["scooter"], BY_NAME["a200"]
    assert set(scooter.operations) == {*SCOOTER_COMMANDS, *SCOOTER_QUERIES, *V1_OPS}
    assert set(a200.operations) - set(scooter.operations) == set(A200_ONLY)
    assert set(scooter.operations) - set(a200.operations) == {*SCOOTER_ONLY, *V1_OPS}


# -- success ------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
async def test_command_success_envelope(client: TestClient, sim: Simulator, op: str) -> None:
    unlocked(sim)
    sim.advance(3.25)
    # One client adds vehicleCode (the IMEI) to every call: an extra field, ignored.
    body = await vendor_call(client, op, {**SCOOTER_VALID[op], "vehicleCode": EXAMPLE_IMEI})
    assert_envelope(sim, body)
    assert (body["code"], body["msg"], body["data"]) == (0, "Success", None)
    record = sim.requests.select({"endpoint": op})[-1]
    assert (record["code"], record["opId"], record["iotCode"]) == (0, body["opId"], EXAMPLE_IMEI)


@pytest.mark.parametrize("op", SCOOTER_QUERIES)
async def test_query_success_envelope(client: TestClient, sim: Simulator, op: str) -> None:
    sim.advance(1.5)
    body = await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
    msg, id_field = QUERY_WIRE[op]
    assert_envelope(sim, body, id_field)
    assert (body["code"], body["msg"]) == (0, msg)
    assert body["data"]["iotCode"] == EXAMPLE_IMEI
    # the extra vehicleCode one client sends everywhere is ignored
    extra = await vendor_call(client, op, iotCode=EXAMPLE_IMEI, vehicleCode=EXAMPLE_IMEI)
    assert (extra["code"], extra["data"]) == (0, body["data"])


async def test_status_has_what_the_strict_client_decodes(client: TestClient,
                                                         sim: Simulator) -> None:
    data = await status_of(client)
    assert set(data) == STATUS_FIELDS
    for name in ("online", "locked", "charging"):
        assert type(data[name]) is bool
    assert type(data["powerPercent"]) is int
    state = await full_state(client)
    assert state["model"] == "scooter"
    assert data == state["status"]


async def test_location_time_is_spelled_as_the_clients_read_it(client: TestClient,
                                                               sim: Simulator) -> None:
    sim.advance(12)
    data = (await vendor_call(client, "location", iotCode=EXAMPLE_IMEI))["data"]
    assert set(data) == LOCATION_FIELDS  # gpsUTCTime, and no gpsUtcTime beside it
    assert data["gpsUTCTime"] == (await full_state(client))["columns"]["gps_time"]
    realtime = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI,
                                 realTimeLocation="true")
    assert "gpsUTCTime" in realtime["data"]
    # The A200 keeps the reference's spelling.
    a200 = (await vendor_call(client, "location", iotCode=a200_imei(sim)))["data"]
    assert "gpsUtcTime" in a200 and "gpsUTCTime" not in a200


@pytest.mark.parametrize("path", BATTERY_PATHS)
async def test_battery_info_on_both_paths(client: TestClient, sim: Simulator, path: str) -> None:
    resp = await client.get(path, params={"iotCode": EXAMPLE_IMEI}, headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert_envelope(sim, body, "resId")
    assert (body["code"], body["msg"]) == (0, "success")
    data = body["data"]
    assert data["batteryCount"] == 1 == len(data["batteryData"])  # one pack
    assert data["vehiclePercent"] == (await status_of(client))["powerPercent"]


async def test_unlock_and_remote_lock(client: TestClient, sim: Simulator) -> None:
    events = listen(sim)
    assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
    assert (await status_of(client))["locked"] is False
    sim.advance(30)
    assert (await vendor_call(client, "lock", SCOOTER_VALID["lock"]))["code"] == 0
    status = await status_of(client)
    assert (status["locked"], status["speed"]) == (True, 0)
    assert status["statusUtcTime"] == int(sim.clock.now)
    assert [e.kind for e in events] == [STATUS, STATUS, COMPONENTS]
    assert events[-1].data == {"type": 5, "status": 2}
    # Locking a locked scooter succeeds and changes nothing.
    row = example_row(sim)
    before = row_state(sim, row)
    sim.advance(5)
    assert (await vendor_call(client, "lock", SCOOTER_VALID["lock"]))["code"] == 0
    assert len(events) == 3
    after = row_state(sim, row)
    after["last_active"] = before["last_active"]  # the command reached it: that alone shows
    assert after == before


async def test_remote_lock_mid_ride_ends_it_and_pushes(rig: Rig) -> None:
    client, sim = rig.client, rig.sim
    assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
    events = f"/_sim/vehicles/{EXAMPLE_IMEI}/events"
    await call(client, "POST", events, {"type": "ride", "seconds": 600})
    await rig.advance(60)
    riding = await full_state(client)
    assert riding["riding"] is True
    odometer = riding["status"]["odometer"]
    await rig.settle()
    pushed = len(rig.receiver.got)

    assert (await vendor_call(client, "lock", SCOOTER_VALID["lock"]))["code"] == 0
    locked_at = int(sim.clock.now)
    state = await full_state(client)
    assert (state["riding"], state["locked"], state["status"]["speed"]) == (False, True, 0)
    assert state["battery"]["currentPower"] == 0  # the motor is off
    await rig.settle()
    status = rig.delivered("status", EXAMPLE_IMEI)[-1]
    assert (status["fields"]["locked"], status["fields"]["statusUtcTime"]) == (
        "true", str(locked_at))
    [components] = rig.delivered("components", EXAMPLE_IMEI)
    assert (components["fields"]["type"], components["fields"]["status"]) == ("5", "2")
    got = [g.kind for g in rig.receiver.got[pushed:] if g.form["iotCode"] == EXAMPLE_IMEI]
    assert sorted(got) == ["components", "status"]
    assert all(g.signed_by() for g in rig.receiver.got[pushed:])

    # The ride's end comes and goes: it ended at the lock, where the scooter stood.
    await rig.advance(600)
    after = await full_state(client)
    assert (after["riding"], after["locked"]) == (False, True)
    assert after["status"]["odometer"] == state["status"]["odometer"] >= odometer
    assert len(rig.delivered("components", EXAMPLE_IMEI)) == 1


async def test_a_new_ride_after_a_remote_lock_is_not_ended_by_the_old_one(
    client: TestClient, sim: Simulator
) -> None:
    events = f"/_sim/vehicles/{EXAMPLE_IMEI}/events"
    assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
    await call(client, "POST", events, {"type": "ride", "seconds": 120})
    sim.advance(30)
    assert (await vendor_call(client, "lock", SCOOTER_VALID["lock"]))["code"] == 0
    assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
    await call(client, "POST", events, {"type": "ride", "seconds": 600})
    sim.advance(200)  # past the first ride's end
    state = await full_state(client)
    assert (state["riding"], state["locked"]) == (True, False)


@pytest.mark.parametrize(("head", "tail"), [(0, 0), (1, 1), (2, 2), (1, 0), (0, 2)])
async def test_light_is_kept(client: TestClient, sim: Simulator, head: int, tail: int) -> None:
    body = {"iotCode": EXAMPLE_IMEI, "headLight": head, "tailLight": tail}
    assert (await vendor_call(client, "light", body))["code"] == 0
    assert (await full_state(client))["settings"]["lights"] == {"headLight": head,
                                                                 "tailLight": tail}


@pytest.mark.parametrize("given", ["headLight", "tailLight"])
async def test_one_light_alone_keeps_the_other(client: TestClient, sim: Simulator,
                                               given: str) -> None:
    assert (await vendor_call(client, "light", SCOOTER_VALID["light"]))["code"] == 0
    assert (await vendor_call(client, "light", {"iotCode": EXAMPLE_IMEI, given: 0}))["code"] == 0
    expected = {**{"headLight": 1, "tailLight": 2}, given: 0}
    assert (await full_state(client))["settings"]["lights"] == expected


@pytest.mark.parametrize("body", [{}, {"headLight": None, "tailLight": None}])
async def test_light_needs_a_light(client: TestClient, sim: Simulator,
                                   body: dict[str, Any]) -> None:
    await refused(client, sim, "light", {"iotCode": EXAMPLE_IMEI, **body}, 15004)


@pytest.mark.parametrize("control_type", [1, 2, 3, 10, 11, 12, 13])
async def test_sound(client: TestClient, sim: Simulator, control_type: int) -> None:
    sim.advance(7)
    body = {"iotCode": EXAMPLE_IMEI, "controlType": control_type}
    assert (await vendor_call(client, "sound", body))["code"] == 0
    assert (await full_state(client))["lastSound"] == {"controlType": control_type,
                                                       "time": sim.clock.now}


@pytest.mark.parametrize("body", [{"controlType": 0}, {"controlType": 4}, {"controlType": 9},
                                  {"controlType": 14}, {"contentType": 2}, {}])
async def test_sound_refuses_others(client: TestClient, sim: Simulator,
                                    body: dict[str, Any]) -> None:
    await refused(client, sim, "sound", {"iotCode": EXAMPLE_IMEI, **body}, 15004)


async def test_sound_setting_with_work_mode_alone_keeps_the_volume(client: TestClient,
                                                                   sim: Simulator) -> None:
    both = {"iotCode": EXAMPLE_IMEI, "workMode": 2, "volume": 3}
    assert (await vendor_call(client, "setting/sound", both))["code"] == 0
    sound = (await full_state(client))["settings"]["sound"]
    assert (sound["workMode"], sound["volume"]) == (2, 3)
    alone = {"iotCode": EXAMPLE_IMEI, "workMode": 1}
    assert (await vendor_call(client, "setting/sound", alone))["code"] == 0
    sound = (await full_state(client))["settings"]["sound"]
    assert (sound["workMode"], sound["volume"]) == (1, 3)
    # 0 is "no setting": the work mode stays too
    zero = {"iotCode": EXAMPLE_IMEI, "workMode": 0, "volume": 1}
    assert (await vendor_call(client, "setting/sound", zero))["code"] == 0
    sound = (await full_state(client))["settings"]["sound"]
    assert (sound["workMode"], sound["volume"]) == (1, 1)


@pytest.mark.parametrize("body", [{}, {"volume": 2}, {"workMode": 3}, {"workMode": 2, "volume": 0},
                                  {"workMode": 2, "volume": 4}, {"workMode": "on"}])
async def test_sound_setting_refuses(client: TestClient, sim: Simulator,
                                     body: dict[str, Any]) -> None:
    await refused(client, sim, "setting/sound", {"iotCode": EXAMPLE_IMEI, **body}, 15004)


@pytest.mark.parametrize("mode", [1, 2, 3])
async def test_speed_mode(client: TestClient, sim: Simulator, mode: int) -> None:
    sim.fleet.speed_mode[example_row(sim)] = 1 if mode != 1 else 2
    body = {"iotCode": EXAMPLE_IMEI, "speedMode": mode}
    assert (await vendor_call(client, "setting/speed-mode", body))["code"] == 0
    assert (await status_of(client))["speedMode"] == mode


async def test_scooter_setting_is_kept_and_partial_bodies_keep_the_rest(client: TestClient,
                                                                        sim: Simulator) -> None:
    assert (await vendor_call(client, "setting/scooter", SCOOTER_VALID["setting/scooter"]))[
        "code"] == 0
    state = await full_state(client)
    assert state["settings"]["speedLimits"] == {"low": 10, "medium": 18, "high": 24}
    assert state["extras"]["scooterSetting"]["buttonSwitchSpeedMode"] == 0
    partial = {"iotCode": EXAMPLE_IMEI, "mediumSpeedLimit": 6, "buttonSwitchSpeedMode": 1}
    assert (await vendor_call(client, "setting/scooter", partial))["code"] == 0
    state = await full_state(client)
    assert state["settings"]["speedLimits"] == {"low": 10, "medium": 6, "high": 24}
    assert state["extras"]["scooterSetting"]["buttonSwitchSpeedMode"] == 1
    # Nothing but the IMEI: accepted, and every limit stays.
    assert (await vendor_call(client, "setting/scooter", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
    assert (await full_state(client))["settings"] == state["settings"]


@pytest.mark.parametrize("body", [{"lowSpeedLimit": 5}, {"mediumSpeedLimit": 26},
                                  {"highSpeedLimit": 0}, {"highSpeedLimit": 24.5},
                                  {"lowSpeedLimit": True}, {"buttonSwitchSpeedMode": 2},
                                  {"lowSpeedLimit": 10, "highSpeedLimit": "fast"}])
async def test_scooter_setting_refuses(client: TestClient, sim: Simulator,
                                       body: dict[str, Any]) -> None:
    await refused(client, sim, "setting/scooter", {"iotCode": EXAMPLE_IMEI, **body}, 15004)


async def test_scooter_setting_slows_a_riding_scooter_at_once(client: TestClient,
                                                              sim: Simulator) -> None:
    row = unlocked(sim)
    f = sim.fleet
    f.speed_mode[row], f.speed[row] = 3, 24.0
    body = {"iotCode": EXAMPLE_IMEI, "highSpeedLimit": 12}
    assert (await vendor_call(client, "setting/scooter", body))["code"] == 0
    assert (await status_of(client))["speed"] == 12


@pytest.mark.parametrize(("mode", "full_range"), [(1, 6000), (2, 5000), (3, 4000)])
async def test_full_range_by_speed_mode(client: TestClient, sim: Simulator, mode: int,
                                        full_range: int) -> None:
    """60 / 50 / 40 km on a full charge, in the vendor's 10 m (FIDELITY.md, scooter ranges)."""
    await call(client, "PATCH", f"/_sim/vehicles/{EXAMPLE_IMEI}",
               {"powerPercent": 100, "speedMode": mode})
    assert (await status_of(client))["remainingRange"] == full_range
    await call(client, "PATCH", f"/_sim/vehicles/{EXAMPLE_IMEI}", {"powerPercent": 50})
    assert (await status_of(client))["remainingRange"] == full_range // 2


async def test_battery_cover(client: TestClient, sim: Simulator) -> None:
    await refused(client, sim, "battery-cover", SCOOTER_VALID["battery-cover"], 15635)
    assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
    assert (await vendor_call(client, "battery-cover", SCOOTER_VALID["battery-cover"]))[
        "code"] == 0
    assert (await full_state(client))["coverOpen"] is True


async def test_whole_shutdown_takes_the_scooter_offline(client: TestClient,
                                                        sim: Simulator) -> None:
    body = SCOOTER_VALID["whole-shutdown"]
    assert (await vendor_call(client, "whole-shutdown", body))["code"] == 0
    state = await full_state(client)
    assert (state["transport"], state["status"]["online"]) == (True, False)
    for op in SCOOTER_COMMANDS:
        await refused(client, sim, op, SCOOTER_VALID[op], 15301)


async def test_bluetooth_key(client: TestClient, sim: Simulator) -> None:
    body = SCOOTER_VALID["setting/bluetooth-key"]
    assert (await vendor_call(client, "setting/bluetooth-key", body))["code"] == 0
    query = await vendor_call(client, "bluetooth-key", iotCode=EXAMPLE_IMEI)
    assert query["data"] == {"iotCode": EXAMPLE_IMEI, "key": "Ab3De6Gh"}
    assert (await full_state(client))["settings"]["bluetoothKey"] == "Ab3De6Gh"


# -- the speed limits cap the rider --------------------------------------------------------------


class TestRidersOn:
    @pytest.fixture
    def config(self) -> Config:
        return Config(seed=7, vehicles=5, paused=True, riders=True,
                      physics=PhysicsConfig.quiet(), models=(("scooter", 1.0),))

    # (speed mode, limits set, the most the rider may go, the least the fastest second shows)
    @pytest.mark.parametrize(("mode", "limits", "cap", "reach"), [
        (1, {"lowSpeedLimit": 7}, 7, 5),
        (2, {"mediumSpeedLimit": 11, "lowSpeedLimit": 25}, 11, 9),
        (3, {"highSpeedLimit": 13}, 13, 11),
        # the other modes' limits leave high alone: its own top speed, 25
        (3, {"lowSpeedLimit": 6, "mediumSpeedLimit": 6}, 25, 12),
    ])
    async def test_a_rider_never_exceeds_the_limit_of_the_mode(
        self, client: TestClient, sim: Simulator, mode: int, limits: dict[str, int], cap: int,
        reach: int,
    ) -> None:
        mode_body = {"iotCode": EXAMPLE_IMEI, "speedMode": mode}
        sim.fleet.speed_mode[example_row(sim)] = 1 if mode != 1 else 2
        assert (await vendor_call(client, "setting/speed-mode", mode_body))["code"] == 0
        body = {"iotCode": EXAMPLE_IMEI, **limits}
        assert (await vendor_call(client, "setting/scooter", body))["code"] == 0
        assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
        speeds = []
        for _ in range(180):
            await call(client, "POST", "/_sim/clock", {"advance": 1})
            status = await status_of(client)
            if status["locked"]:
                break
            speeds.append(status["speed"])
        assert max(speeds) <= cap
        assert max(speeds) >= reach  # the rider does ride up to it

    async def test_an_empty_scooter_is_kicked_along(self, client: TestClient,
                                                    sim: Simulator) -> None:
        await call(client, "PATCH", f"/_sim/vehicles/{EXAMPLE_IMEI}",
                   {"powerPercent": 0, "speedMode": 3})
        assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
        speeds = []
        for _ in range(120):
            await call(client, "POST", "/_sim/clock", {"advance": 1})
            speeds.append((await status_of(client))["speed"])
        assert 5 <= max(speeds) <= 8

    async def test_lowering_a_limit_mid_ride(self, client: TestClient, sim: Simulator) -> None:
        row = example_row(sim)
        sim.fleet.speed_mode[row] = 3
        assert (await vendor_call(client, "unlock", SCOOTER_VALID["unlock"]))["code"] == 0
        speeds = []
        for second in range(240):
            if second == 60:
                body = {"iotCode": EXAMPLE_IMEI, "highSpeedLimit": 9}
                assert (await vendor_call(client, "setting/scooter", body))["code"] == 0
            await call(client, "POST", "/_sim/clock", {"advance": 1})
            speeds.append((await status_of(client))["speed"])
        assert max(speeds[:60]) > 9
        assert max(speeds[60:]) <= 9


# -- errors of every command, in the check order -------------------------------------------------


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
@pytest.mark.parametrize("headers", NOT_A_TOKEN)
async def test_command_token_failure(client: TestClient, sim: Simulator, op: str,
                                     headers: dict[str, str]) -> None:
    unlocked(sim)
    # the token comes first: before a body that is not JSON, before the model's support
    await refused(client, sim, op, SCOOTER_VALID[op], 15101, headers=headers)
    resp = await client.post(VENDOR_PATHS[op], data=b"{", headers=headers)
    assert_error(sim, await resp.json(), 15101)


@pytest.mark.parametrize("op", SCOOTER_QUERIES)
@pytest.mark.parametrize("headers", NOT_A_TOKEN)
async def test_query_token_failure(client: TestClient, sim: Simulator, op: str,
                                   headers: dict[str, str]) -> None:
    body = await vendor_call(client, op, headers=headers, iotCode=EXAMPLE_IMEI)
    assert_error(sim, body, 15101, QUERY_WIRE[op][1])


BAD_BODIES = [b"", b"{", b"not json", b"[]", b'"861477038719116"', b"null", b"42", b"{}",
              b'{"iotCode": null}', b'{"iotCode": "abc"}', b'{"iotCode": true}',
              b'{"iotCode": "861477038719116123456"}', b'{"iotCode": " 861477038719116"}',
              b'{"iotCode": ["861477038719116"]}', b"\xff\xfe{}", b'{"iotCode": 1e400}']


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
@pytest.mark.parametrize("raw", BAD_BODIES)
async def test_command_bad_body(client: TestClient, sim: Simulator, op: str, raw: bytes) -> None:
    row = unlocked(sim)
    before = row_state(sim, row)
    body = await post_raw(client, op, raw)
    assert_error(sim, body, 15004)
    assert row_state(sim, row) == before


@HTTP
@given(op=st.sampled_from(SCOOTER_COMMANDS), body=BODIES)
async def test_any_body_gets_a_vendor_answer(client: TestClient, sim: Simulator, op: str,
                                             body: Any) -> None:
    answer = await answer_changing_nothing_if_refused(sim, vendor_call(client, op, body))
    assert_envelope(sim, answer)
    # never 15001 (a traceback); the state codes only once a command has put the scooter there
    assert answer["code"] in (0, 15004, 15102, 15301, 15635), answer
    if answer["code"]:
        assert_error(sim, answer, answer["code"])


# Fields of the wrong kind or out of range (null: left out), over a valid body.
BAD_FIELDS: dict[str, list[dict[str, Any]]] = {
    "light": [{"headLight": 3}, {"tailLight": -1}, {"headLight": "on"}, {"tailLight": 1.5},
              {"headLight": False}],
    "sound": [{"controlType": "toot"}, {"controlType": None}, {"controlType": [2]}],
    "setting/sound": [{"workMode": None}, {"workMode": 1, "volume": "loud"}],
    "setting/speed-mode": [{"speedMode": None}, {"speedMode": 0}, {"speedMode": 4},
                           {"speedMode": "3x"}],
    "setting/scooter": [{"lowSpeedLimit": -6}, {"highSpeedLimit": 2**63}],
    "setting/bluetooth-key": [{"key": None}, {"key": "short"}, {"key": "Ab3De6Gh9"},
                              {"key": 12345678}, {"key": "Ab3-e6Gh"}],
}


@pytest.mark.parametrize(("op", "fields"), [(op, fields) for op, cases in BAD_FIELDS.items()
                                            for fields in cases])
async def test_command_bad_field(client: TestClient, sim: Simulator, op: str,
                                 fields: dict[str, Any]) -> None:
    await refused(client, sim, op, {**SCOOTER_VALID[op], **fields}, 15004)


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
async def test_parameters_come_before_the_lookup(client: TestClient, sim: Simulator,
                                                 op: str) -> None:
    body = await vendor_call(client, op, {"iotCode": "869999999999999", "controlType": "x",
                                          "speedMode": 9, "key": "?", "headLight": 7,
                                          "workMode": 9, "lowSpeedLimit": 99})
    # an unknown IMEI is read by the first model with the command: the A200's reference order
    code = 15004 if op not in ("unlock", "lock", "battery-cover", "whole-shutdown") else 15102
    assert_error(sim, body, code)


# Bodies valid for both models (an unknown vehicle's command is read by the first model's rules).
BOTH_MODELS = {**SCOOTER_VALID, "sound": {"iotCode": EXAMPLE_IMEI, "controlType": 2},
               "setting/sound": {"iotCode": EXAMPLE_IMEI, "workMode": 1, "volume": 2}}


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
async def test_command_unknown_vehicle(client: TestClient, sim: Simulator, op: str) -> None:
    body = await vendor_call(client, op, with_imei(BOTH_MODELS[op], "869999999999999"))
    assert_error(sim, body, 15102)


@pytest.mark.parametrize("body", [{"controlType": 1}, {"workMode": 1}])
async def test_an_unknown_vehicle_is_read_by_the_first_models_rules(
        client: TestClient, sim: Simulator, body: dict[str, Any]) -> None:
    """FIDELITY.md, "parameters of an unknown vehicle's command": the first model of the mix.
    A scooter fleet reads a scooter's well-formed call and answers 15102; an A200 fleet reads
    the A200's rules, as the reference, and answers 15004."""
    op = "sound" if "controlType" in body else "setting/sound"
    unknown = {"iotCode": "869999999999999", **body}
    assert_error(sim, await vendor_call(client, op, unknown), 15102)
    a200 = Simulator(Config(vehicles=3, paused=True, riders=False))
    with pytest.raises(VendorError) as refused_by_a200:
        a200.vendor.command(op, f"bearer {DEMO_TOKEN}", unknown)
    assert refused_by_a200.value.code == 15004


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
async def test_command_vehicle_of_another_platform(client: TestClient, sim: Simulator,
                                                   op: str) -> None:
    other_auth, other_imeis = scooter_tenant(sim)
    await refused(client, sim, op, with_imei(SCOOTER_VALID[op], other_imeis[0]), 15103,
                  imei=other_imeis[0])
    await refused(client, sim, op, SCOOTER_VALID[op], 15103, headers=other_auth)
    sim.fleet.locked[sim.fleet.index[other_imeis[1]]] = False  # for the battery cover
    theirs = await vendor_call(client, op, with_imei(SCOOTER_VALID[op], other_imeis[1]),
                               headers=other_auth)
    assert theirs["code"] == 0


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
@pytest.mark.parametrize(("state", "code"), STATE_CODES)
async def test_command_refused_by_state(client: TestClient, sim: Simulator, op: str, state: str,
                                        code: int) -> None:
    set_state(sim, unlocked(sim), state)
    await refused(client, sim, op, SCOOTER_VALID[op], code)


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
@pytest.mark.parametrize("code", [15302, 15303, 15638])
async def test_command_injected_fault(client: TestClient, sim: Simulator, op: str,
                                      code: int) -> None:
    row = unlocked(sim)
    set_state(sim, row, "offline")  # a rule answers before the vehicle's state is looked at
    sim.faults.add(code=code, endpoint=op, iotCode=EXAMPLE_IMEI, times=1)
    await refused(client, sim, op, SCOOTER_VALID[op], code)
    sim.fleet.online[row] = True
    assert (await vendor_call(client, op, SCOOTER_VALID[op]))["code"] == 0


@pytest.mark.parametrize("op", SCOOTER_COMMANDS)
async def test_command_in_flight(client: TestClient, sim: Simulator,
                                 monkeypatch: pytest.MonkeyPatch, op: str) -> None:
    row = unlocked(sim)
    sim.faults.add(delayMs=300, endpoint="setting/speed-mode", iotCode=EXAMPLE_IMEI, times=1)
    slow_body = {"iotCode": EXAMPLE_IMEI, "speedMode": 1}
    slow = await while_in_flight(sim, monkeypatch, row,
                                 vendor_call(client, "setting/speed-mode", slow_body))
    body = await vendor_call(client, op, SCOOTER_VALID[op])
    assert_error(sim, body, 15104)
    assert not slow.done()
    assert (await slow)["code"] == 0
    assert not sim.inflight
    assert (await vendor_call(client, op, SCOOTER_VALID[op]))["code"] == 0


@pytest.mark.parametrize("op", SCOOTER_QUERIES)
async def test_query_errors(client: TestClient, sim: Simulator, op: str) -> None:
    id_field = QUERY_WIRE[op][1]
    assert_error(sim, await vendor_call(client, op), 15004, id_field)
    for imei, code in (("abc", 15004), ("", 15004), ("869999999999999", 15102)):
        assert_error(sim, await vendor_call(client, op, iotCode=imei), code, id_field)
    _, other_imeis = scooter_tenant(sim)
    assert_error(sim, await vendor_call(client, op, iotCode=other_imeis[0]), 15103, id_field)
    sim.faults.add(code=15303, endpoint=op, iotCode=EXAMPLE_IMEI, times=1)
    assert_error(sim, await vendor_call(client, op, iotCode=EXAMPLE_IMEI), 15303, id_field)
    row = example_row(sim)
    sim.fleet.online[row] = False  # the cloud's last known state still answers
    assert (await vendor_call(client, op, iotCode=EXAMPLE_IMEI))["code"] == 0
    sim.fleet.activated[row] = False
    assert_error(sim, await vendor_call(client, op, iotCode=EXAMPLE_IMEI), 15300, id_field)


@pytest.mark.parametrize(("state", "code"), [("offline", 15301), ("transport", 15301),
                                             ("inactive", 15300)])
async def test_real_time_location_needs_the_scooter(client: TestClient, sim: Simulator,
                                                    state: str, code: int) -> None:
    set_state(sim, example_row(sim), state)
    body = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation="true")
    assert_error(sim, body, code)


async def test_location_without_a_fix(client: TestClient, sim: Simulator) -> None:
    sim.fleet.has_fix[example_row(sim)] = False
    assert_error(sim, await vendor_call(client, "location", iotCode=EXAMPLE_IMEI), 15400)


# -- 15705 between the models --------------------------------------------------------------------


@pytest.mark.parametrize("op", SCOOTER_ONLY)
async def test_an_a200_lacks_the_scooter_commands(client: TestClient, sim: Simulator,
                                                  op: str) -> None:
    imei = a200_imei(sim)
    sim.fleet.locked[sim.fleet.index[imei]] = False
    body = with_imei(SCOOTER_VALID[op], imei)
    await refused(client, sim, op, body, UNSUPPORTED, imei=imei)
    resp = await client.post(VENDOR_PATHS[op], json=body, headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["msg"] == "This feature is not supported on the vehicle"
    # before its parameters (they are the model's, and it has none), after the token and JSON
    await refused(client, sim, op, {"iotCode": imei, "headLight": 9, "lowSpeedLimit": 1},
                  UNSUPPORTED, imei=imei)
    await refused(client, sim, op, body, 15101, imei=imei, headers={})
    assert_error(sim, await post_raw(client, op, b"{"), 15004)
    # and before the vehicle's state: an offline A200 still says it cannot
    set_state(sim, sim.fleet.index[imei], "offline")
    await refused(client, sim, op, body, UNSUPPORTED, imei=imei)


@pytest.mark.parametrize("op", A200_ONLY)
async def test_a_scooter_lacks_the_a200_commands(client: TestClient, sim: Simulator,
                                                 op: str) -> None:
    unlocked(sim)
    await refused(client, sim, op, a200_body(op, EXAMPLE_IMEI), UNSUPPORTED)
    await refused(client, sim, op, {"iotCode": EXAMPLE_IMEI}, UNSUPPORTED)
    # the A200 beside it obeys
    imei = a200_imei(sim)
    sim.fleet.locked[sim.fleet.index[imei]] = False
    assert (await vendor_call(client, op, a200_body(op, imei)))["code"] == 0


@pytest.mark.parametrize("op", SCOOTER_ONLY)
async def test_unsupported_is_told_only_to_the_owner(client: TestClient, sim: Simulator,
                                                     op: str) -> None:
    _, their_a200s = scooter_tenant(sim, model="a200")
    await refused(client, sim, op, with_imei(SCOOTER_VALID[op], their_a200s[0]), 15103,
                  imei=their_a200s[0])


async def test_the_a200_keeps_its_own_rules(client: TestClient, sim: Simulator) -> None:
    imei = a200_imei(sim)
    await refused(client, sim, "sound", {"iotCode": imei, "controlType": 1}, 15004, imei=imei)
    await refused(client, sim, "setting/sound", {"iotCode": imei, "workMode": 1}, 15004,
                  imei=imei)
    assert (await vendor_call(client, "mech-lock", {"iotCode": imei}))["code"] == 0


@pytest.mark.parametrize("op", SCOOTER_ONLY)
async def test_another_method_on_a_scooter_path_is_a_json_405(client: TestClient,
                                                              op: str) -> None:
    resp = await client.get(VENDOR_PATHS[op], params={"iotCode": EXAMPLE_IMEI}, headers=AUTH)
    assert (resp.status, resp.headers["Allow"]) == (405, "POST")
    body = await resp.json()
    assert (body["code"], body["status"], body["path"]) == (405, 405, VENDOR_PATHS[op])
    assert isinstance(body["msg"], str) and body["msg"]
