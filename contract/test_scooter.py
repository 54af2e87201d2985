"""The kick scooter (model `scooter`): its v2 operations, the v1 paths, 15705 for what it lacks.

Written from public partner clients (the simulator's reference/real-clients.md; FIDELITY.md,
"Vehicle models"), not from the reference, so every test here is `unvalidated` or `mock_only`.
The safety rules are the suite's: read-only live runs send only queries, requests for nobody's
IMEI, and refused commands (an invalid parameter, an operation the scooter lacks, a vehicleCode
it is not bound to); `--allow-control` adds what moves the scooter, and its remote lock leaves it
locked again. The v1 calls name the vehicle twice and send the IMEI as `vehicleCode`, as the
partner clients do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from simulator.contract import checks
from simulator.contract.drift import RANGE, VALUE, check
from simulator.contract.surface import (
    IOT_CODE_INVALID,
    SCOOTER_BY_NAME,
    SCOOTER_COMMANDS,
    SCOOTER_LACKS,
    SCOOTER_QUERIES,
    Endpoint,
    json_copy,
)
from simulator.contract.target import NOBODY_IMEI, Reply, Target, request

pytestmark = pytest.mark.model("scooter")

STATUS = SCOOTER_BY_NAME["status"]
V1_QUERIES = tuple(e for e in SCOOTER_QUERIES if e.surface == "v1")
V1_COMMANDS = tuple(e for e in SCOOTER_COMMANDS if e.surface == "v1")
NOT_SUPPORTED = 15705
# Parameters valid for every model. A vehicle that is nobody's, or another platform's, has no
# model the caller may learn: its parameters are read as the first model's (the A200's; the
# simulator's FIDELITY.md), so the scooter's own values (controlType 1, no volume) are 15004.
ANY_MODEL = {"sound": {"controlType": 2}, "setting/sound": {"volume": 2}}


def ids(endpoints: tuple[Endpoint, ...]) -> list[str]:
    return [e.name for e in endpoints]


def names(target: Target, iot_code: str | None = None) -> dict[str, str]:
    """Who a v1 call is for: the IMEI twice, as the partner clients send it."""
    imei = target.iot_code if iot_code is None else iot_code
    return {"iotCode": imei, "vehicleCode": imei}


def ask(target: Target, endpoint: Endpoint, iot_code: str | None = None,
        **more: Any) -> Reply:
    """The endpoint, for the test vehicle (or `iot_code`), with its example body."""
    who = names(target, iot_code)
    if endpoint.surface == "v2":
        who.pop("vehicleCode")
    if endpoint.method == "GET":
        return target.get(endpoint.path, {**who, **more})
    return target.post(endpoint.path, {**json_copy(endpoint.example), **who, **more})


def ok(target: Target, name: str, **more: Any) -> Any:
    endpoint = SCOOTER_BY_NAME[name]
    return checks.any_success(ask(target, endpoint, **more), endpoint)


def only(target: Target, name: str, **body: Any) -> Any:
    """The endpoint with exactly `body` (and who it is for): partial bodies, as partners send."""
    endpoint = SCOOTER_BY_NAME[name]
    who = names(target) if endpoint.surface == "v1" else {"iotCode": target.iot_code}
    return checks.any_success(target.post(endpoint.path, {**who, **body}), endpoint)


def status(target: Target) -> dict[str, Any]:
    data: dict[str, Any] = checks.success(ask(target, STATUS), STATUS)
    return data


# -- queries (read-only) ------------------------------------------------------------------------


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", SCOOTER_QUERIES, ids=ids(SCOOTER_QUERIES))
def test_scooter_query_answers_the_fields_clients_read(target: Target,
                                                       endpoint: Endpoint) -> None:
    """v2 in {code, msg, data}, the location's time spelt gpsUTCTime; v1 flat."""
    data = checks.any_success(ask(target, endpoint), endpoint)
    if endpoint.surface == "v2":
        checks.fields(data, endpoint.data, endpoint.name)
    check(data["iotCode"] == target.iot_code, endpoint.name, "iotCode", VALUE, target.iot_code,
          data["iotCode"])


@pytest.mark.about("v1/get")
@pytest.mark.unvalidated
def test_v1_odometer_is_in_10_m_units(target: Target) -> None:
    metres = status(target)["odometer"]
    endpoint = SCOOTER_BY_NAME["v1/get"]
    tens = checks.v1_success(ask(target, endpoint), endpoint)["odometer"]
    check(abs(tens * 10 - metres) <= 10, endpoint.name, "odometer", RANGE,
          f"{metres} m in 10 m units ({round(metres / 10)})", tens)


@pytest.mark.about("v1/version")
@pytest.mark.unvalidated
def test_v1_version_is_a_dotted_firmware_version(target: Target) -> None:
    endpoint = SCOOTER_BY_NAME["v1/version"]
    version = checks.v1_success(ask(target, endpoint), endpoint)["iotVersion"]
    parts = str(version).split(".")
    check(len(parts) >= 2 and all(p.isdigit() for p in parts), endpoint.name, "iotVersion",
          VALUE, "digits and dots, e.g. 1.5.0", version)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", SCOOTER_QUERIES, ids=ids(SCOOTER_QUERIES))
def test_a_scooter_query_for_an_unknown_vehicle_gets_15102(target: Target,
                                                           endpoint: Endpoint) -> None:
    checks.any_error(ask(target, endpoint, NOBODY_IMEI), 15102, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", SCOOTER_QUERIES, ids=ids(SCOOTER_QUERIES))
@pytest.mark.parametrize("iot_code", ["", "not-an-imei"], ids=["empty", "letters"])
def test_a_bad_iot_code_in_a_scooter_query_gets_15004(target: Target, endpoint: Endpoint,
                                                     iot_code: str) -> None:
    checks.any_error(ask(target, endpoint, iot_code), 15004, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", V1_QUERIES, ids=ids(V1_QUERIES))
def test_a_v1_query_without_its_vehicle_code_gets_15004(target: Target,
                                                        endpoint: Endpoint) -> None:
    reply = target.get(endpoint.path, {"iotCode": target.iot_code})
    checks.v1_error(reply, 15004, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", V1_QUERIES, ids=ids(V1_QUERIES))
def test_a_v1_query_naming_another_vehicle_code_gets_15304(target: Target,
                                                          endpoint: Endpoint) -> None:
    reply = target.get(endpoint.path, {"iotCode": target.iot_code, "vehicleCode": "NOT-BOUND-1"})
    checks.v1_error(reply, 15304, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", V1_QUERIES + V1_COMMANDS, ids=ids(V1_QUERIES + V1_COMMANDS))
def test_a_v1_call_without_a_valid_token_gets_15101_and_an_oauth_error(target: Target,
                                                                      endpoint: Endpoint) -> None:
    """A v1 client renews its token only when the answer carries an OAuth-style `error`."""
    headers = target.auth(token="not-a-token")
    if endpoint.method == "GET":
        reply = target.get(endpoint.path, names(target), headers=headers)
    else:
        reply = target.post(endpoint.path, {**endpoint.example, **names(target)},
                            headers=headers)
    checks.v1_error(reply, 15101, endpoint)
    check(reply.body.get("error") == "invalid_token", endpoint.name, "error", VALUE,
          "invalid_token", reply.body.get("error"))


# -- refusals: read-only live (nothing moves) ----------------------------------------------------


def _invalid() -> list[Any]:
    return [pytest.param(e, body, id=f"{e.name}:{why}", marks=pytest.mark.refused_command)
            for e in SCOOTER_COMMANDS for why, body in e.invalid]


@pytest.mark.unvalidated
@pytest.mark.parametrize(("endpoint", "body"), _invalid())
def test_an_invalid_scooter_parameter_gets_15004(target: Target, endpoint: Endpoint,
                                                 body: dict[str, Any]) -> None:
    who = names(target) if endpoint.surface == "v1" else {"iotCode": target.iot_code}
    checks.any_error(target.post(endpoint.path, {**who, **json_copy(body)}), 15004, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize(("endpoint", "body"), [
    pytest.param(e, body, id=f"{e.name}:{why}") for e in SCOOTER_COMMANDS
    for why, body in IOT_CODE_INVALID])
def test_a_bad_iot_code_in_a_scooter_command_gets_15004(target: Target, endpoint: Endpoint,
                                                       body: dict[str, Any]) -> None:
    extra = {"vehicleCode": target.iot_code} if endpoint.surface == "v1" else {}
    reply = target.post(endpoint.path, {**json_copy(endpoint.example), **extra, **body})
    checks.any_error(reply, 15004, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", SCOOTER_COMMANDS, ids=ids(SCOOTER_COMMANDS))
def test_a_scooter_command_to_an_unknown_vehicle_gets_15102(target: Target,
                                                            endpoint: Endpoint) -> None:
    """Every command's error envelope, read-only: the IMEI is nobody's."""
    reply = ask(target, endpoint, NOBODY_IMEI, **ANY_MODEL.get(endpoint.name, {}))
    checks.any_error(reply, 15102, endpoint)


@pytest.mark.unvalidated
@pytest.mark.refused_command
@pytest.mark.parametrize("endpoint", SCOOTER_LACKS, ids=ids(SCOOTER_LACKS))
def test_an_operation_the_scooter_lacks_gets_15705(target: Target, endpoint: Endpoint) -> None:
    """HTTP 200 and the vendor envelope with 15705, never a bare 404 a strict decoder chokes on
    (the A200's operations, with the A200's own valid bodies)."""
    checks.error(ask(target, endpoint), NOT_SUPPORTED, endpoint)


@pytest.mark.unvalidated
@pytest.mark.refused_command
@pytest.mark.parametrize("endpoint", [e for e in V1_COMMANDS if e.name != "v1/iot/bind"],
                         ids=lambda e: e.name)
def test_a_v1_command_naming_another_vehicle_code_gets_15304(target: Target,
                                                            endpoint: Endpoint) -> None:
    checks.v1_error(ask(target, endpoint, vehicleCode="NOT-BOUND-1"), 15304, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", SCOOTER_QUERIES + SCOOTER_COMMANDS,
                         ids=ids(SCOOTER_QUERIES + SCOOTER_COMMANDS))
def test_another_platforms_scooter_gets_15103(target: Target, endpoint: Endpoint,
                                              other_vehicle: str) -> None:
    reply = ask(target, endpoint, other_vehicle, **ANY_MODEL.get(endpoint.name, {}))
    checks.any_error(reply, 15103, endpoint)


# -- what moves the scooter: --allow-control live ------------------------------------------------


@pytest.fixture
def relocked(target: Target) -> Iterator[None]:
    """The scooter has a remote lock: leave it locked, as a live test vehicle starts."""
    yield
    ok(target, "lock")


@pytest.mark.about("lock")
@pytest.mark.unvalidated
@pytest.mark.controls
def test_unlock_and_lock_show_in_status(target: Target, relocked: None) -> None:
    for name, locked in (("unlock", False), ("lock", True), ("v1/unlock", False),
                         ("v1/lock", True)):
        ok(target, name)
        shown = status(target)["locked"]
        check(shown is locked, name, "data.locked", VALUE, f"{locked} in status after {name}",
              shown)
    ok(target, "lock")  # locking a locked scooter is not an error


@pytest.mark.unvalidated
@pytest.mark.controls
@pytest.mark.parametrize("endpoint", [SCOOTER_BY_NAME[n] for n in (
    "light", "sound", "v1/toot", "v1/headlight")], ids=lambda e: e.name)
def test_scooter_commands_on_a_healthy_scooter_succeed(target: Target,
                                                       endpoint: Endpoint) -> None:
    checks.any_success(ask(target, endpoint), endpoint)


@pytest.mark.about("sound")
@pytest.mark.unvalidated
@pytest.mark.controls
@pytest.mark.parametrize("control_type", [1, 2, 3])
def test_the_scooter_sounds_partners_send_succeed(target: Target, control_type: int) -> None:
    """1 out of geofence, 2 toot, 3 low battery (1 is 15004 for an A200)."""
    ok(target, "sound", controlType=control_type)


@pytest.mark.unvalidated
@pytest.mark.controls
@pytest.mark.parametrize("name", ["battery-cover", "v1/battery/cover"])
def test_the_battery_cover_opens_on_an_unlocked_scooter(target: Target, name: str,
                                                        relocked: None) -> None:
    ok(target, "unlock")
    ok(target, name)


@pytest.mark.about("v1/speed-mode")
@pytest.mark.unvalidated
@pytest.mark.changes_settings
def test_v1_speed_mode_shows_in_status(target: Target) -> None:
    """Restored by the suite's guard (speed mode is readable)."""
    for mode in (3, 1):
        ok(target, "v1/speed-mode", speedMode=mode)
        shown = status(target)["speedMode"]
        check(shown == mode, "v1/speed-mode", "data.speedMode", VALUE,
              f"{mode} in status after the v1 speed mode", shown)


# -- the simulator only: settings the API cannot read back, state, faults --------------------


def vehicle(target: Target) -> dict[str, Any]:
    state: dict[str, Any] = target.control("GET", f"/_sim/vehicles/{target.iot_code}")
    return state


@pytest.mark.mock_only
@pytest.mark.parametrize(("endpoint", "body"), [
    pytest.param(SCOOTER_BY_NAME[name], body, id=f"{name}:{label}")
    for name, label, body in (
        ("light", "head only", {"headLight": 2}), ("light", "tail only", {"tailLight": 0}),
        ("setting/scooter", "6 and 25", {"lowSpeedLimit": 6, "highSpeedLimit": 25}),
        ("setting/scooter", "no limit", {}),
        ("setting/sound", "workMode alone", {"workMode": 1}),
        ("setting/sound", "with volume", {"workMode": 2, "volume": 3}),
        ("sound", "controlType 13", {"controlType": 13}),
        ("v1/setting/speed-limit", "one limit", {"mediumSpeedLimit": 18}),
        ("v1/setting/location", "10", {"uploadInterval": 10}),
        ("v1/setting/location", "65535", {"uploadInterval": 65535}),
        ("v1/toot", "alarm off", {"contentType": 6}),
        ("v1/headlight", "off", {"controlType": 0}),
    )])
def test_what_partners_send_is_accepted(target: Target, endpoint: Endpoint,
                                        body: dict[str, Any]) -> None:
    """Partial bodies and both ends of each range (the scooter clients leave fields out)."""
    only(target, endpoint.name, **body)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", [e for e in SCOOTER_COMMANDS if e.surface == "v2"],
                         ids=lambda e: e.name)
def test_v2_commands_accept_the_vehicle_code_clients_add(target: Target,
                                                         endpoint: Endpoint) -> None:
    """Extra fields (vehicleCode, one client's habit) and numbers as text are read liberally."""
    body: dict[str, Any] = {k: (str(v) if isinstance(v, int) else v)
                            for k, v in endpoint.example.items()}
    if endpoint.name == "battery-cover":
        ok(target, "unlock")
    reply = target.post(endpoint.path, {**body, **names(target), "someFutureField": 1})
    checks.success(reply, endpoint)


@pytest.mark.about("light")
@pytest.mark.mock_only
def test_lights_are_kept(target: Target) -> None:
    only(target, "light", headLight=2)
    assert vehicle(target)["settings"]["lights"]["headLight"] == 2
    only(target, "light", tailLight=1)  # the head light stays as it was
    assert vehicle(target)["settings"]["lights"] == {"headLight": 2, "tailLight": 1}
    only(target, "v1/headlight", controlType=0)
    assert vehicle(target)["settings"]["lights"]["headLight"] == 0


@pytest.mark.about("setting/scooter")
@pytest.mark.mock_only
def test_speed_limits_are_kept_and_an_absent_one_unchanged(target: Target) -> None:
    only(target, "setting/scooter", lowSpeedLimit=10, mediumSpeedLimit=15, highSpeedLimit=20)
    only(target, "setting/scooter", highSpeedLimit=22)
    assert vehicle(target)["settings"]["speedLimits"] == {"low": 10, "medium": 15, "high": 22}
    only(target, "v1/setting/speed-limit", lowSpeedLimit=8)
    assert vehicle(target)["settings"]["speedLimits"]["low"] == 8


@pytest.mark.about("lock")
@pytest.mark.mock_only
def test_the_remote_lock_ends_a_ride(target: Target) -> None:
    ok(target, "unlock")
    ride = request("POST", f"{target.base_url}/_sim/vehicles/{target.iot_code}/events",
                   data=b'{"type": "ride", "seconds": 600}',
                   headers={"Content-Type": "application/json"})
    # 409: a rider of the simulator's own (serve's riders are on) took the scooter first
    assert ride.status < 300 or ride.status == 409, ride
    target.control("POST", "/_sim/clock", {"advance": 30})
    assert vehicle(target)["riding"] is True
    ok(target, "lock")
    after = status(target)
    assert (after["locked"], after["speed"]) == (True, 0)
    assert vehicle(target)["riding"] is False


@pytest.mark.about("v1/iot/bind")
@pytest.mark.mock_only
@pytest.mark.irreversible
def test_binding_a_vehicle_code_is_what_v1_calls_must_name(target: Target) -> None:
    bind = SCOOTER_BY_NAME["v1/iot/bind"]
    checks.v1_success(ask(target, bind, vehicleCode="SCOOTER-0001"), bind)
    assert vehicle(target)["vehicleCode"] == "SCOOTER-0001"
    get = SCOOTER_BY_NAME["v1/get"]
    checks.v1_error(ask(target, get), 15304, get)  # the IMEI is no longer its code
    found = checks.v1_success(ask(target, get, vehicleCode="SCOOTER-0001"), get)
    assert found["vehicleCode"] == "SCOOTER-0001"


def _patch(target: Target, **state: object) -> None:
    target.control("PATCH", f"/_sim/vehicles/{target.iot_code}", state)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", SCOOTER_COMMANDS, ids=ids(SCOOTER_COMMANDS))
@pytest.mark.parametrize(("state", "code"), [
    ({"activated": False}, 15300), ({"online": False}, 15301),
    ({"upgrading": True}, 15500), ({"dormant": True}, 15704),
], ids=["inactive", "offline", "upgrading", "dormant"])
def test_scooter_state_decides_the_command_error(target: Target, endpoint: Endpoint,
                                                 state: dict[str, Any], code: int) -> None:
    if endpoint.name == "v1/iot/bind":  # the cloud's record: only an inactive IoT is refused
        code = 15300 if code == 15300 else 0
    _patch(target, **state)
    reply = ask(target, endpoint)
    if code:
        checks.any_error(reply, code, endpoint)
    else:
        checks.any_success(reply, endpoint)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", SCOOTER_COMMANDS, ids=ids(SCOOTER_COMMANDS))
def test_a_refused_scooter_request_changes_nothing(target: Target, endpoint: Endpoint) -> None:
    before = vehicle(target)
    who = names(target) if endpoint.surface == "v1" else {"iotCode": target.iot_code}
    for _, body in endpoint.invalid:
        target.post(endpoint.path, {**who, **json_copy(body)})
    assert vehicle(target) == before


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", SCOOTER_QUERIES + SCOOTER_COMMANDS,
                         ids=ids(SCOOTER_QUERIES + SCOOTER_COMMANDS))
def test_an_injected_fault_is_answered_in_the_endpoints_envelope(target: Target,
                                                                endpoint: Endpoint) -> None:
    target.control("POST", "/_sim/faults", {"code": 15302, "iotCode": target.iot_code,
                                            "endpoint": endpoint.name, "times": 1})
    if endpoint.name in ("battery-cover", "v1/battery/cover"):
        ok(target, "unlock")
    call: Callable[[], Reply] = lambda: ask(target, endpoint)  # noqa: E731
    checks.any_error(call(), 15302, endpoint)
    checks.any_success(call(), endpoint)
