"""Every ranged or enumerated parameter of every command, property-tested over real HTTP.

The ranges below are the reference's, written out here on purpose: if params.py drifts from the
reference, these tests fail. Valid values must be accepted (code 0) and take effect; invalid ones
(out of range, wrong type, bool, float with a fraction, a required field missing) get 15004 and
change nothing at all.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from simulator.core import params
from simulator.sim import Simulator
from tests.helpers.vendor import (
    EXAMPLE_IMEI,
    INTERVAL_COLUMNS,
    NOT_NUMBERS,
    SWITCH_COLUMNS,
    VALID,
    accepted_values,
    example_row,
    field_and_value,
    refused_values,
    row_state,
    vendor_call,
)

HTTP = settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])

Path = tuple[str, ...]


def span(lo: int, hi: int) -> frozenset[int]:
    return frozenset(range(lo, hi + 1))


ON_OFF = span(0, 2)  # 0 no setting, 1 off, 2 on
LAMP_MODES = ("lockedMode", "faultMode", "exerciseMode", "ecoMode", "turboMode")
EBAQ = ("locked", "unlocked", "batteryOn", "illegalMoving", "fault", "alarm", "locating",
        "modeSwitch", "nfcReadSuccess", "nfcReadFailed", "batteryCoverUnlocked",
        "batteryCoverLocked", "fullyCharged", "cableLocked", "cusAudio01", "cusAudio02",
        "cusAudio03", "cusAudio04")
INTERVAL = span(10, 65535)

# op -> field path -> (allowed values, required), as the reference's parameter tables say.
REFERENCE: dict[str, dict[Path, tuple[frozenset[int], bool]]] = {
    # sound: the table lists 2, 10-13; its own example sends 3 (FIDELITY.md)
    "sound": {("controlType",): (frozenset({2, 3, 10, 11, 12, 13}), True)},
    "anti-theft": {("controlType",): (frozenset({1, 2}), True)},
    "wireless-charging": {("controlType",): (frozenset({0, 1}), True)},
    "ambient": {
        ("bright",): (span(1, 3), True),
        ("mode",): (frozenset({0, 2, 3, 4}), True),
        ("color",): (span(1, 7), True),
    },
    "setting/switch": {
        ("bssDisplay",): (ON_OFF, True),
        ("alertSensitivity",): (span(1, 3), True),
        ("unlockHeadLight",): (ON_OFF, True),
        ("unlockTailLight",): (span(0, 3), True),
        ("brakeTailLight",): (span(0, 3), True),
        ("wirelessCharge",): (ON_OFF, True),
        ("climbInput",): (ON_OFF, True),
        ("speedLimit",): (span(6, 32), False),
        ("lowPowerValue",): (span(0, 30), False),
    },
    "setting/ambient": {
        ("bright",): (span(1, 3), True),
        **{(m, "mode"): (span(1, 4), True) for m in LAMP_MODES},
        **{(m, "bright"): (span(1, 3), False) for m in LAMP_MODES},
        **{(m, "color"): (span(1, 7), True) for m in LAMP_MODES},
    },
    "setting/sound": {
        ("workMode",): (ON_OFF, True),
        ("volume",): (span(1, 3), True),
        **{("ebaqMask", k): (span(0, 2), False) for k in EBAQ},
    },
    "setting/speed-mode": {("speedMode",): (span(1, 3), True)},
    "setting/interval": {
        ("locationInterval", "unlockStatus"): (INTERVAL, False),
        ("locationInterval", "lockStatus"): (INTERVAL, False),
        ("statusInterval", "ridingStatus"): (INTERVAL, False),
        ("statusInterval", "nonRiding"): (INTERVAL, False),
        ("statusInterval", "lockStatus"): (INTERVAL, False),
    },
}
FIELDS: list[tuple[str, Path]] = [(op, path) for op, table in REFERENCE.items() for path in table]
# Optional objects, and the smallest valid content to put a field of theirs in.
OBJECTS: dict[tuple[str, str], dict[str, int]] = {
    **{("setting/ambient", m): {"mode": 2, "color": 1} for m in LAMP_MODES},
    ("setting/sound", "ebaqMask"): {},
    ("setting/interval", "locationInterval"): {"unlockStatus": 30},
    ("setting/interval", "statusInterval"): {"nonRiding": 30},
}


def body_with(op: str, path: Path, value: Any, drop: bool = False) -> dict[str, Any]:
    """VALID[op] with the field at `path` set to `value` (or removed)."""
    body = copy.deepcopy(VALID[op])
    target = body
    for name in path[:-1]:
        target = target.setdefault(name, copy.deepcopy(OBJECTS[(op, name)]))
    if drop:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return body


# Where an accepted value shows; None where the value means "keep what was set".
Shown = Callable[[Simulator, int, Path, int], Any]
SWITCH_ZERO_KEEPS = {"bssDisplay", "unlockHeadLight", "unlockTailLight", "brakeTailLight",
                     "wirelessCharge", "climbInput"}  # "0→ no setting"; lowPowerValue 0 disables


def _switch(sim: Simulator, row: int, path: Path, value: int) -> Any:
    if value == 0 and path[0] in SWITCH_ZERO_KEEPS:
        return None
    return int(sim.fleet.column(SWITCH_COLUMNS[path[0]])[row])


def _extra(key: str) -> Shown:
    def shown(sim: Simulator, row: int, path: Path, value: int) -> Any:
        found: Any = sim.fleet.extras[row][key]
        for name in path:
            found = found[name]
        return found
    return shown


def _interval(sim: Simulator, row: int, path: Path, value: int) -> Any:
    return int(sim.fleet.column(INTERVAL_COLUMNS[(path[0], path[1])])[row])


def _sound_setting(sim: Simulator, row: int, path: Path, value: int) -> Any:
    if path[0] == "ebaqMask":  # "2:keep original"
        return None if value == 2 else sim.fleet.extras[row]["ebaqMask"][path[1]]
    if path[0] == "workMode":
        return None if value == 0 else int(sim.fleet.sound_work_mode[row])
    return int(sim.fleet.sound_volume[row])


SHOWN: dict[str, Shown] = {
    "sound": lambda sim, row, path, v: sim.fleet.extras[row]["lastSound"]["controlType"],
    "anti-theft": lambda sim, row, path, v: 2 if sim.fleet.anti_theft[row] else 1,
    "wireless-charging": lambda sim, row, path, v: int(sim.fleet.wireless_charging[row]),
    "ambient": _extra("ambientEffect"),
    "setting/switch": _switch,
    "setting/ambient": _extra("ambientSetting"),
    "setting/sound": _sound_setting,
    "setting/speed-mode": lambda sim, row, path, v: int(sim.fleet.speed_mode[row]),
    "setting/interval": _interval,
}


async def send(client: TestClient, sim: Simulator, op: str, body: Any) -> tuple[int, bool]:
    """(code, whether the vehicle's state is unchanged)."""
    row = example_row(sim)
    sim.fleet.locked[row] = False  # every command is admissible; only parameters decide
    before = row_state(sim, row)
    code = (await vendor_call(client, op, body))["code"]
    return code, row_state(sim, row) == before


async def assert_rejected(client: TestClient, sim: Simulator, op: str, body: Any) -> None:
    code, unchanged = await send(client, sim, op, body)
    assert code == 15004, (op, body)
    assert unchanged, (op, body)


async def assert_accepted(client: TestClient, sim: Simulator, op: str, path: Path,
                          value: int, body: Any) -> None:
    code, _ = await send(client, sim, op, body)
    assert code == 0, (op, body)
    shown = SHOWN[op](sim, example_row(sim), path, value)
    assert shown in (None, value), (op, path, value, shown)


# -- the tables of params.py are the reference's ------------------------------------------------


def _int_leaves(spec: Any, path: Path = ()) -> dict[Path, tuple[frozenset[int], bool]]:
    out: dict[Path, tuple[frozenset[int], bool]] = {}
    if isinstance(spec, params.Obj):
        for name, sub in spec.fields.items():
            out.update(_int_leaves(sub, (*path, name)))
    elif isinstance(spec, params.Int):
        out[path] = (frozenset(spec.allowed), spec.required)
    return out


@pytest.mark.parametrize("op", list(params.BODIES))
def test_params_table_is_the_reference(op: str) -> None:
    assert _int_leaves(params.BODIES[op]) == REFERENCE.get(op, {})
    assert "iotCode" in params.BODIES[op].fields


def test_every_ranged_command_is_covered() -> None:
    ranged = {op for op, spec in params.BODIES.items() if _int_leaves(spec)}
    assert ranged == set(REFERENCE)


# -- ranges: boundaries, then anything ---------------------------------------------------------


@pytest.mark.parametrize(("op", "path"), FIELDS, ids=[f"{o}:{'.'.join(p)}" for o, p in FIELDS])
async def test_boundaries(client: TestClient, sim: Simulator, op: str, path: Path) -> None:
    allowed, _ = REFERENCE[op][path]
    for value in refused_values(allowed):
        await assert_rejected(client, sim, op, body_with(op, path, value))
    for value in accepted_values(allowed):  # the rest of a long range: test_any_integer
        await assert_accepted(client, sim, op, path, value, body_with(op, path, value))


@HTTP
@given(case=field_and_value(REFERENCE), form=st.sampled_from(["number", "string", "whole float"]))
async def test_any_integer(client: TestClient, sim: Simulator, case: tuple[str, Path, int],
                           form: str) -> None:
    op, path, value = case
    # Numbers may come as numeric strings or whole floats, as Jackson coerces them.
    sent: Any = {"number": value, "string": str(value), "whole float": float(value)}[form]
    assume(form != "whole float" or float(value) == value)  # else it is another integer
    body = body_with(op, path, sent)
    if value in REFERENCE[op][path][0]:
        await assert_accepted(client, sim, op, path, value, body)
    else:
        await assert_rejected(client, sim, op, body)


@HTTP
@given(field=st.sampled_from(FIELDS), value=NOT_NUMBERS)
async def test_wrong_type(client: TestClient, sim: Simulator, field: tuple[str, Path],
                          value: Any) -> None:
    op, path = field
    await assert_rejected(client, sim, op, body_with(op, path, value))


def _has_interval(body: dict[str, Any]) -> bool:
    return any(v is not None for group in ("locationInterval", "statusInterval")
               for v in (body.get(group) or {}).values())


@pytest.mark.parametrize(("op", "path"), FIELDS, ids=[f"{o}:{'.'.join(p)}" for o, p in FIELDS])
async def test_missing_or_null(client: TestClient, sim: Simulator, op: str, path: Path) -> None:
    _, required = REFERENCE[op][path]
    for body in (body_with(op, path, None, drop=True), body_with(op, path, None)):
        # the interval setting needs at least one interval (FIDELITY.md)
        if required or (op == "setting/interval" and not _has_interval(body)):
            await assert_rejected(client, sim, op, body)
        else:
            code, _ = await send(client, sim, op, body)
            assert code == 0, (op, body)


OBJECT_FIELDS = sorted(OBJECTS)


@HTTP
@given(field=st.sampled_from(OBJECT_FIELDS),
       value=st.one_of(st.booleans(), st.integers(), st.text(max_size=5),
                       st.lists(st.integers(), max_size=2)))
async def test_nested_object_of_wrong_type(client: TestClient, sim: Simulator,
                                           field: tuple[str, str], value: Any) -> None:
    op, name = field
    await assert_rejected(client, sim, op, {**VALID[op], name: value})


@pytest.mark.parametrize("mode", LAMP_MODES)
async def test_lamp_effect_objects(client: TestClient, sim: Simulator, mode: str) -> None:
    base = {"iotCode": EXAMPLE_IMEI, "bright": 2}
    await assert_rejected(client, sim, "setting/ambient", {**base, mode: {}})
    await assert_rejected(client, sim, "setting/ambient", {**base, mode: {"mode": 2}})
    effect = {"mode": 3, "bright": 1, "color": 6}
    code, _ = await send(client, sim, "setting/ambient", {**base, mode: effect})
    assert code == 0
    assert sim.fleet.extras[example_row(sim)]["ambientSetting"][mode] == effect


# -- iotCode and the bluetooth key -------------------------------------------------------------

COMMANDS = list(params.BODIES)


@HTTP
@given(op=st.sampled_from([c for c in COMMANDS if c != "whole-shutdown"]),  # stay online
       as_number=st.booleans())
async def test_iot_code_as_string_or_number(client: TestClient, sim: Simulator, op: str,
                                            as_number: bool) -> None:
    imei = int(EXAMPLE_IMEI) if as_number else EXAMPLE_IMEI
    code, _ = await send(client, sim, op, {**VALID[op], "iotCode": imei})
    assert code == 0


@HTTP
@given(op=st.sampled_from(COMMANDS), number=st.integers(0, 10**20 - 1))
@example(op="unlock", number=10**20 - 1).via("beyond 64 bits")
async def test_an_iot_code_number_of_up_to_20_digits_reads_as_its_digits(
        client: TestClient, sim: Simulator, op: str, number: int) -> None:
    """Beyond 64 bits too (a JSON parser that rounds it to a float would answer 15004)."""
    code, _ = await send(client, sim, op, {**VALID[op], "iotCode": number})
    assert code == 15102  # read, and looked up: no vehicle has it


BAD_IMEIS = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(max_value=-1),
    st.text(max_size=22).filter(lambda s: not re.fullmatch(r"[0-9]{1,20}", s)),
    st.just(f" {EXAMPLE_IMEI} "),  # not trimmed: a String field is taken as sent
    st.from_regex(r"[0-9]{21,25}", fullmatch=True),
    st.integers(10**20, 10**30),  # a number of 21 digits or more
    st.lists(st.just(EXAMPLE_IMEI), max_size=1),
    st.just({"iotCode": EXAMPLE_IMEI}),
)


@HTTP
@given(op=st.sampled_from(COMMANDS), imei=BAD_IMEIS)
async def test_iot_code_malformed(client: TestClient, sim: Simulator, op: str,
                                  imei: Any) -> None:
    await assert_rejected(client, sim, op, {**VALID[op], "iotCode": imei})


@HTTP
@given(op=st.sampled_from(COMMANDS), imei=st.from_regex(r"[0-9]{1,20}", fullmatch=True))
async def test_iot_code_well_formed_but_unknown(client: TestClient, sim: Simulator, op: str,
                                                imei: str) -> None:
    assume(sim.fleet.find(imei) is None)
    code, unchanged = await send(client, sim, op, {**VALID[op], "iotCode": imei})
    assert (code, unchanged) == (15102, True)


@HTTP
@given(imei=st.one_of(BAD_IMEIS.filter(lambda v: isinstance(v, str)),
                      st.from_regex(r"[0-9]{1,20}", fullmatch=True)))
async def test_iot_code_in_query_string(client: TestClient, sim: Simulator, imei: str) -> None:
    body = await vendor_call(client, "status", iotCode=imei)
    if re.fullmatch(r"[0-9]{1,20}", imei) is None:
        assert body["code"] == 15004
    else:
        assert body["code"] == (0 if sim.fleet.find(imei) is not None else 15102)


@HTTP
@given(key=st.from_regex(r"[A-Za-z0-9]{8}", fullmatch=True))
async def test_bluetooth_key_accepted(client: TestClient, sim: Simulator, key: str) -> None:
    code, _ = await send(client, sim, "setting/bluetooth-key", {"iotCode": EXAMPLE_IMEI,
                                                                 "key": key})
    assert code == 0
    shown = await vendor_call(client, "bluetooth-key", iotCode=EXAMPLE_IMEI)
    assert shown["data"]["key"] == key


@HTTP
@given(key=st.one_of(
    st.text(max_size=12).filter(lambda s: not re.fullmatch(r"[A-Za-z0-9]{8}", s)),
    st.from_regex(r"[A-Za-z0-9]{7}[^A-Za-z0-9]", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]{9,12}", fullmatch=True),
    st.integers(10_000_000, 99_999_999),  # a key is a JSON string, even one of 8 digits
    st.booleans(), st.none(), st.lists(st.just("abcd1234"), max_size=1),
))
async def test_bluetooth_key_rejected(client: TestClient, sim: Simulator, key: Any) -> None:
    await assert_rejected(client, sim, "setting/bluetooth-key",
                          {"iotCode": EXAMPLE_IMEI, "key": key})


async def test_bluetooth_key_missing(client: TestClient, sim: Simulator) -> None:
    await assert_rejected(client, sim, "setting/bluetooth-key", {"iotCode": EXAMPLE_IMEI})
