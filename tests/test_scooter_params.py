"""Every new range and enumeration of the scooter and the v1 paths, property-tested in the core.

The ranges are written out here from the evidence (FIDELITY.md's scooter rows, the fact sheet),
not read from the profile: if core/models/scooter.py drifts, these fail. A value in the
documented set is accepted and stored; any other is 15004 and changes nothing at all. Calls go
through `Operations.command` with a token and a body, so the whole check order runs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simulator.core import params
from simulator.core.errors import VendorError
from simulator.core.models import BY_NAME
from simulator.sim import DEMO_TOKEN, Config, Simulator
from tests.helpers.models import MIXED, SCOOTER_VALID, V1_VALID, v1_body
from tests.helpers.vendor import (
    NOT_NUMBERS,
    accepted_values,
    example_row,
    field_and_value,
    refused_values,
    row_state,
)

AUTH = f"bearer {DEMO_TOKEN}"
# Examples share the test's simulator: each one asserts on what it changed.
CORE = settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])


def span(lo: int, hi: int) -> frozenset[int]:
    return frozenset(range(lo, hi + 1))


LIGHT = span(0, 2)  # 0 off, 1 on, 2 flicker
LIMIT = span(6, 25)  # km/h, the operator UI's range
LIMITS = {"lowSpeedLimit": (LIMIT, False), "mediumSpeedLimit": (LIMIT, False),
          "highSpeedLimit": (LIMIT, False)}
# op -> field -> (allowed values, required)
EVIDENCE: dict[str, dict[str, tuple[frozenset[int], bool]]] = {
    "light": {"headLight": (LIGHT, False), "tailLight": (LIGHT, False)},
    "sound": {"controlType": (frozenset({1, 2, 3, 10, 11, 12, 13}), True)},
    "setting/sound": {"workMode": (span(0, 2), True), "volume": (span(1, 3), False)},
    "setting/speed-mode": {"speedMode": (span(1, 3), True)},
    "setting/scooter": {**LIMITS, "buttonSwitchSpeedMode": (frozenset({0, 1}), False)},
    "v1/toot": {"contentType": (frozenset({6, 7}), True)},
    "v1/headlight": {"controlType": (frozenset({0, 1}), True)},
    "v1/speed-mode": {"speedMode": (span(1, 3), True)},
    "v1/setting/speed-limit": LIMITS,
    "v1/setting/location": {"uploadInterval": (span(10, 65535), True)},
}
FIELDS = [(op, name) for op, table in EVIDENCE.items() for name in table]
LIMIT_INDEX = {"lowSpeedLimit": 0, "mediumSpeedLimit": 1, "highSpeedLimit": 2}


def _last_sound(key: str) -> Callable[[Simulator, int, str, int], Any]:
    return lambda sim, row, name, value: sim.fleet.extras[row]["lastSound"][key]


def _column(column: str) -> Callable[[Simulator, int, str, int], Any]:
    return lambda sim, row, name, value: int(sim.fleet.column(column)[row])


def _limits(sim: Simulator, row: int, name: str, value: int) -> Any:
    if name == "buttonSwitchSpeedMode":
        return sim.fleet.extras[row]["scooterSetting"]["buttonSwitchSpeedMode"]
    return int(sim.fleet.mode_limit[row, LIMIT_INDEX[name]])


def _sound_setting(sim: Simulator, row: int, name: str, value: int) -> Any:
    if name == "workMode":
        return None if value == 0 else int(sim.fleet.sound_work_mode[row])  # 0: no setting
    return int(sim.fleet.sound_volume[row])


# Where an accepted value is stored (None: the value means "keep what was set").
STORED: dict[str, Callable[[Simulator, int, str, int], Any]] = {
    "light": lambda sim, row, name, value: int(
        (sim.fleet.head_light if name == "headLight" else sim.fleet.tail_light)[row]),
    "sound": _last_sound("controlType"),
    "setting/sound": _sound_setting,
    "setting/speed-mode": _column("speed_mode"),
    "setting/scooter": _limits,
    "v1/toot": _last_sound("contentType"),
    "v1/headlight": _column("head_light"),
    "v1/speed-mode": _column("speed_mode"),
    "v1/setting/speed-limit": _limits,
    "v1/setting/location": _column("loc_unlock_interval"),
}


@pytest.fixture
def config() -> Config:
    return MIXED


def body_with(op: str, name: str, value: Any, drop: bool = False) -> dict[str, Any]:
    body = copy.deepcopy(v1_body(op) if op in V1_VALID else SCOOTER_VALID[op])
    if drop:
        body.pop(name, None)
    else:
        body[name] = value
    return body


def send(sim: Simulator, op: str, body: Any) -> tuple[int, bool]:
    """(the vendor code, whether the scooter is exactly as before)."""
    row = example_row(sim)
    sim.fleet.locked[row] = False
    before = row_state(sim, row)
    try:
        sim.vendor.command(op, AUTH, body)
        code = 0
    except VendorError as err:
        code = err.code
    return code, row_state(sim, row) == before


def assert_rejected(sim: Simulator, op: str, body: Any) -> None:
    assert send(sim, op, body) == (15004, True), (op, body)


def assert_stored(sim: Simulator, op: str, name: str, value: int, body: Any) -> None:
    code, _ = send(sim, op, body)
    assert code == 0, (op, body)
    assert STORED[op](sim, example_row(sim), name, value) in (None, value), (op, name, value)


# -- the profile's tables are the evidence's -----------------------------------------------------


def _int_leaves(spec: params.Obj) -> dict[str, tuple[frozenset[int], bool]]:
    return {name: (frozenset(sub.allowed), sub.required)
            for name, sub in spec.fields.items() if isinstance(sub, params.Int)}


def test_the_scooters_ranges_are_the_evidences() -> None:
    bodies = BY_NAME["scooter"].bodies
    assert {op: _int_leaves(spec) for op, spec in bodies.items() if _int_leaves(spec)} == EVIDENCE
    for op in V1_VALID:  # every v1 call names the vehicle twice
        assert {"iotCode", "vehicleCode"} <= set(bodies[op].fields)


# -- every value: in the set, stored; out of it, 15004 and nothing changes -----------------------


@pytest.mark.parametrize(("op", "name"), FIELDS, ids=[f"{o}:{n}" for o, n in FIELDS])
def test_boundaries(sim: Simulator, op: str, name: str) -> None:
    allowed, _ = EVIDENCE[op][name]
    for value in refused_values(allowed):
        assert_rejected(sim, op, body_with(op, name, value))
    for value in accepted_values(allowed):
        assert_stored(sim, op, name, value, body_with(op, name, value))


@CORE
@given(case=field_and_value(EVIDENCE), form=st.sampled_from(["number", "string", "whole float"]))
def test_any_integer(sim: Simulator, case: tuple[str, str, int], form: str) -> None:
    op, name, value = case
    assume(form != "whole float" or float(value) == value)  # else it is another integer
    sent: Any = {"number": value, "string": str(value), "whole float": float(value)}[form]
    body = body_with(op, name, sent)
    if value in EVIDENCE[op][name][0]:
        assert_stored(sim, op, name, value, body)
    else:
        assert_rejected(sim, op, body)


@CORE
@given(field=st.sampled_from(FIELDS), value=NOT_NUMBERS)
def test_wrong_type(sim: Simulator, field: tuple[str, str], value: Any) -> None:
    op, name = field
    assert_rejected(sim, op, body_with(op, name, value))


@pytest.mark.parametrize(("op", "name"), FIELDS, ids=[f"{o}:{n}" for o, n in FIELDS])
def test_missing_or_null(sim: Simulator, op: str, name: str) -> None:
    _, required = EVIDENCE[op][name]
    for body in (body_with(op, name, None, drop=True), body_with(op, name, None)):
        if required:
            assert_rejected(sim, op, body)
        else:
            assert send(sim, op, body)[0] == 0, (op, body)


@CORE
@given(head=st.one_of(st.none(), st.integers(-3, 5)), tail=st.one_of(st.none(), st.integers(-3, 5)))
def test_lights_together(sim: Simulator, head: int | None, tail: int | None) -> None:
    """Each light optional, at least one; both stored when both are valid, nothing otherwise."""
    row = example_row(sim)
    before = (int(sim.fleet.head_light[row]), int(sim.fleet.tail_light[row]))
    body = {"iotCode": SCOOTER_VALID["light"]["iotCode"], "headLight": head, "tailLight": tail}
    valid = all(v is None or v in LIGHT for v in (head, tail)) and (head, tail) != (None, None)
    code, unchanged = send(sim, "light", body)
    if not valid:
        assert (code, unchanged) == (15004, True)
        return
    assert code == 0
    expected = (before[0] if head is None else head, before[1] if tail is None else tail)
    assert (int(sim.fleet.head_light[row]), int(sim.fleet.tail_light[row])) == expected


@CORE
@given(limits=st.fixed_dictionaries({}, optional={
    name: st.integers(0, 30) for name in LIMIT_INDEX}),
    mode=st.integers(1, 3), speed=st.floats(0, 40))
def test_limits_cap_at_once(sim: Simulator, limits: dict[str, int], mode: int,
                            speed: float) -> None:
    """A setting/scooter accepted (every limit 6-25) leaves the scooter no faster than its mode's
    limit; one refused leaves every limit and the speed as they were."""
    row = example_row(sim)
    f = sim.fleet
    f.speed_mode[row], f.speed[row] = mode, speed
    before = [int(v) for v in f.mode_limit[row]]
    code, unchanged = send(sim, "setting/scooter", {"iotCode": SCOOTER_VALID["lock"]["iotCode"],
                                                    **limits})
    if not all(v in LIMIT for v in limits.values()):
        assert (code, unchanged) == (15004, True)
        return
    assert code == 0
    after = [int(v) for v in f.mode_limit[row]]
    assert after == [limits.get(name, before[n]) for name, n in LIMIT_INDEX.items()]
    if after[mode - 1]:
        assert float(f.speed[row]) <= after[mode - 1]
