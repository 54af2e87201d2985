"""Every documented parameter rule of the commands: each invalid value gets 15004.

The reference guarantees that a request with an invalid parameter is refused without effect, so
these run read-only against a live target too (marker `refused_command`): they are how a range no
longer enforced, or a changed error envelope, is seen without --allow-control. They name the test
vehicle; the conftest's guard reads its settings before and after, and puts back any a laxer cloud
changed (and fails). --queries-only leaves them out.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.contract import checks
from simulator.contract.surface import (
    BY_NAME,
    COMMANDS,
    IOT_CODE_INVALID,
    QUERIES,
    Endpoint,
    json_copy,
)
from simulator.contract.target import NOBODY_IMEI, Target

pytestmark = pytest.mark.model("a200")  # the reference's E-bike A200


def _cases() -> list[Any]:
    cases = []
    for endpoint in COMMANDS:
        for why, body in endpoint.invalid:
            cases.append(pytest.param(endpoint, body, id=f"{endpoint.name}:{why}",
                                      marks=pytest.mark.refused_command))
    return cases


def _iot_cases() -> list[Any]:
    # No vehicle is named (the example bodies carry no iotCode): safe on a live target, read-only,
    # and the one way a command's error envelope is seen there without --allow-control.
    return [pytest.param(endpoint, body, id=f"{endpoint.name}:{why}")
            for endpoint in COMMANDS for why, body in IOT_CODE_INVALID]


@pytest.mark.unvalidated
@pytest.mark.parametrize(("endpoint", "body"), _cases())
def test_an_invalid_parameter_gets_15004(target: Target, endpoint: Endpoint, body: dict) -> None:
    reply = target.post(endpoint.path, {"iotCode": target.iot_code, **json_copy(body)})
    checks.error(reply, 15004, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize(("endpoint", "body"), _iot_cases())
def test_a_bad_iot_code_in_a_command_gets_15004(target: Target, endpoint: Endpoint,
                                                body: dict) -> None:
    reply = target.post(endpoint.path, {**json_copy(endpoint.example), **body})
    checks.error(reply, 15004, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", COMMANDS, ids=lambda e: e.name)
def test_a_command_to_an_unknown_vehicle_gets_15102(target: Target, endpoint: Endpoint) -> None:
    """Every command's error envelope (HTTP status, code, exact msg, id field), read-only: the
    IMEI is nobody's, so nothing can move."""
    reply = target.post(endpoint.path, {**json_copy(endpoint.example), "iotCode": NOBODY_IMEI})
    checks.error(reply, 15102, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("endpoint", QUERIES + COMMANDS, ids=lambda e: e.name)
def test_another_platforms_vehicle_gets_15103(target: Target, endpoint: Endpoint,
                                              other_vehicle: str) -> None:
    """Refused before it reaches the vehicle, which is not the platform's to command."""
    if endpoint.method == "GET":
        reply = target.get(endpoint.path, {"iotCode": other_vehicle})
    else:
        reply = target.post(endpoint.path, {**json_copy(endpoint.example),
                                            "iotCode": other_vehicle})
    checks.error(reply, 15103, endpoint)


@pytest.mark.unvalidated
@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"", b'"861477038719116"'],
                         ids=["text", "list", "empty", "string"])
@pytest.mark.refused_command
@pytest.mark.parametrize("endpoint", [e for e in COMMANDS if e.name in ("unlock", "setting/sound")],
                         ids=lambda e: e.name)
def test_a_body_that_is_not_an_object_gets_15004(target: Target, endpoint: Endpoint,
                                                 raw: bytes) -> None:
    checks.error(target.post(endpoint.path, None, raw=raw), 15004, endpoint)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", COMMANDS, ids=lambda e: e.name)
def test_a_rejected_request_changes_nothing(target: Target, endpoint: Endpoint) -> None:
    before = target.control("GET", f"/_sim/vehicles/{target.iot_code}")
    for _, body in endpoint.invalid + IOT_CODE_INVALID[1:2]:
        target.post(endpoint.path, {"iotCode": target.iot_code, **json_copy(body)})
    assert target.control("GET", f"/_sim/vehicles/{target.iot_code}") == before


def _edges() -> list[Any]:
    """Each ranged field of a setting at both ends of its documented range."""
    edges = {
        "setting/switch": {"alertSensitivity": (1, 3), "speedLimit": (6, 32),
                           "lowPowerValue": (0, 30), "unlockTailLight": (0, 3)},
        "setting/sound": {"volume": (1, 3), "workMode": (0, 2)},
        "setting/speed-mode": {"speedMode": (1, 3)},
        "sound": {"controlType": (2, 13)},
        "ambient": {"color": (1, 7), "bright": (1, 3)},
    }
    out = []
    for endpoint in COMMANDS:
        for name, ends in edges.get(endpoint.name, {}).items():
            for end in ends:
                out.append(pytest.param(endpoint, {**endpoint.example, name: end},
                                        id=f"{endpoint.name}:{name}={end}"))
    out.append(pytest.param(
        COMMANDS[-1], {"locationInterval": {"unlockStatus": 10, "lockStatus": 65535}},
        id="setting/interval:10..65535"))
    out.append(pytest.param(
        COMMANDS[-1], {"statusInterval": {"nonRiding": 65535}}, id="setting/interval:one group"))
    return out


@pytest.mark.mock_only
@pytest.mark.parametrize(("endpoint", "body"), _edges())
def test_the_ends_of_each_range_are_accepted(target: Target, endpoint: Endpoint,
                                            body: dict) -> None:
    checks.success(target.post(endpoint.path, {"iotCode": target.iot_code, **body}), endpoint)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", COMMANDS, ids=lambda e: e.name)
def test_liberal_reading_numbers_as_text_and_unknown_fields(target: Target,
                                                           endpoint: Endpoint) -> None:
    # Spring/Jackson reads "2" as 2, a numeric IMEI as text, and ignores unknown fields.
    body: dict[str, Any] = {k: (str(v) if isinstance(v, int) else v)
                            for k, v in endpoint.example.items()}
    body.update(iotCode=int(target.iot_code), someFutureField=1)
    if endpoint.name == "battery-cover":
        target.post(BY_NAME["unlock"].path, {"iotCode": target.iot_code})  # opens when unlocked
    checks.success(target.post(endpoint.path, body), endpoint)
