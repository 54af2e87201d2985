"""State consistency: a setting or a command, then a query that shows it; state -> vendor code.

Live, the named test vehicle must start online, activated, parked and locked. Settings are put
back as found; commands are not undoable remotely (the A200 has no lock API), so they run live
only with --allow-control.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.contract import checks
from simulator.contract.drift import VALUE, check
from simulator.contract.surface import BY_NAME, COMMANDS, QUERIES, Endpoint
from simulator.contract.target import Target

pytestmark = pytest.mark.model("a200")  # the reference's E-bike A200

STATUS, KEY = BY_NAME["status"], BY_NAME["bluetooth-key"]


def status(target: Target) -> dict:
    data: dict = checks.success(target.get(STATUS.path, {"iotCode": target.iot_code}), STATUS)
    return data


def bt_key(target: Target) -> str:
    data = checks.success(target.get(KEY.path, {"iotCode": target.iot_code}), KEY)
    return str(data["key"])


def command(target: Target, name: str, **params: object) -> None:
    endpoint = BY_NAME[name]
    reply = target.post(endpoint.path, {"iotCode": target.iot_code, **params})
    checks.success(reply, endpoint)


@pytest.fixture
def speed_mode_restored(target: Target) -> Iterator[int]:
    found = status(target)["speedMode"]
    yield found
    command(target, "setting/speed-mode", speedMode=found)


@pytest.fixture
def key_restored(target: Target) -> Iterator[str]:
    found = bt_key(target)
    yield found
    command(target, "setting/bluetooth-key", key=found)


@pytest.mark.about("setting/speed-mode")
@pytest.mark.unvalidated
@pytest.mark.changes_settings
def test_speed_mode_setting_shows_in_status(target: Target, speed_mode_restored: int) -> None:
    for mode in (1, 2, 3):
        command(target, "setting/speed-mode", speedMode=mode)
        shown = status(target)["speedMode"]
        check(shown == mode, "setting/speed-mode", "data.speedMode", VALUE,
              f"{mode} in the status query after the setting", shown)


@pytest.mark.about("setting/bluetooth-key")
@pytest.mark.unvalidated
@pytest.mark.changes_settings
def test_bluetooth_key_setting_shows_in_the_key_query(target: Target, key_restored: str) -> None:
    new = "4BKNwi77" if key_restored != "4BKNwi77" else "abcd1234"
    command(target, "setting/bluetooth-key", key=new)
    shown = bt_key(target)
    check(shown == new, "setting/bluetooth-key", "data.key", VALUE,
          f"{new} in the key query after the setting", shown)


@pytest.mark.about("unlock")
@pytest.mark.unvalidated
@pytest.mark.controls
def test_unlock_shows_in_status(target: Target) -> None:
    command(target, "unlock")
    locked = status(target)["locked"]
    check(locked is False, "unlock", "data.locked", VALUE, "false in the status query after unlock",
          locked)
    command(target, "unlock")  # unlocking an unlocked vehicle is not an error


@pytest.mark.unvalidated
@pytest.mark.controls
@pytest.mark.parametrize("name", ["sound", "anti-theft", "ambient", "wireless-charging"])
def test_commands_on_a_healthy_vehicle_succeed(target: Target, name: str) -> None:
    command(target, name, **BY_NAME[name].example)


@pytest.mark.about("battery-cover")
@pytest.mark.unvalidated
@pytest.mark.controls
def test_battery_cover_opens_on_an_unlocked_vehicle(target: Target) -> None:
    command(target, "unlock")
    command(target, "battery-cover")


@pytest.mark.about("battery-cover")
@pytest.mark.mock_only
def test_battery_cover_is_refused_while_locked(target: Target) -> None:
    assert status(target)["locked"] is True
    endpoint = BY_NAME["battery-cover"]
    checks.error(target.post(endpoint.path, {"iotCode": target.iot_code}), 15635, endpoint)


@pytest.mark.about("whole-shutdown")
@pytest.mark.mock_only
@pytest.mark.irreversible
def test_transport_mode_takes_the_vehicle_offline(target: Target) -> None:
    command(target, "whole-shutdown")
    assert status(target)["online"] is False
    sound = BY_NAME["sound"]
    reply = target.post(sound.path, {"iotCode": target.iot_code, **sound.example})
    checks.error(reply, 15301, sound)


def _patch(target: Target, **state: object) -> None:
    target.control("PATCH", f"/_sim/vehicles/{target.iot_code}", state)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", COMMANDS, ids=lambda e: e.name)
@pytest.mark.parametrize(("state", "code"), [
    ({"activated": False}, 15300), ({"online": False}, 15301),
    ({"upgrading": True}, 15500), ({"dormant": True}, 15704),
], ids=["inactive", "offline", "upgrading", "dormant"])
def test_vehicle_state_decides_the_command_error(target: Target, endpoint: Endpoint,
                                                 state: dict, code: int) -> None:
    _patch(target, **state)
    reply = target.post(endpoint.path, {"iotCode": target.iot_code, **endpoint.example})
    checks.error(reply, code, endpoint)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", QUERIES, ids=lambda e: e.name)
def test_an_inactive_vehicle_answers_no_query(target: Target, endpoint: Endpoint) -> None:
    _patch(target, activated=False)
    checks.error(target.get(endpoint.path, {"iotCode": target.iot_code}), 15300, endpoint)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", QUERIES, ids=lambda e: e.name)
def test_an_offline_vehicle_still_answers_queries_from_the_cloud(target: Target,
                                                                endpoint: Endpoint) -> None:
    _patch(target, online=False)
    data = checks.success(target.get(endpoint.path, {"iotCode": target.iot_code}), endpoint)
    checks.fields(data, endpoint.data, endpoint.name)


@pytest.mark.mock_only
@pytest.mark.parametrize("endpoint", QUERIES + COMMANDS, ids=lambda e: e.name)
def test_an_injected_fault_is_answered_once_per_time(target: Target, endpoint: Endpoint) -> None:
    target.control("POST", "/_sim/faults",
                   {"code": 15302, "iotCode": target.iot_code, "endpoint": endpoint.name,
                    "times": 1})
    if endpoint.method == "GET":
        def call() -> object:
            return target.get(endpoint.path, {"iotCode": target.iot_code})
    else:
        def call() -> object:
            return target.post(endpoint.path, {"iotCode": target.iot_code, **endpoint.example})
        if endpoint.name == "battery-cover":
            command(target, "unlock")
    checks.error(call(), 15302, endpoint)  # type: ignore[arg-type]
    assert call().code == 0  # type: ignore[attr-defined]
