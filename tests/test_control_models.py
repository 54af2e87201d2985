"""The control plane's validation vocabulary without HTTP: strict models, one error mapping."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from simulator.core.errors import SimError
from simulator.server.control_models import (
    ClockChange,
    FaultRuleIn,
    VehicleCreate,
    VehiclePatch,
)
from simulator.server.control_wire import STRICT, field_path, parse_body


class Inner(BaseModel):
    model_config = STRICT
    type: str


class Outer(BaseModel):
    model_config = STRICT
    events: list[Inner]


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"events": [{"type": "a"}, {"type": 3}]}', "events[1].type"),
    (b'{"events": [{"type": "a", "colour": 1}]}', "events[0].colour"),
    (b'{"events": {}}', "events"),
    (b"[]", "body"),
    (b"{", "body"),
    (b"", "body"),
])
def test_errors_name_the_field_as_a_path(raw: bytes, field: str) -> None:
    with pytest.raises(SimError) as caught:
        parse_body(Outer, raw)
    assert caught.value.field == field and caught.value.status == 400


def test_locations_join_like_the_snapshot_fields() -> None:
    assert field_path(("fleet", "columns", "speed_mode")) == "fleet.columns.speed_mode"
    assert field_path(("tokens", "items", 0, "clientId")) == "tokens.items[0].clientId"
    assert field_path(("alert", "code"), skip=1) == "code"


@pytest.mark.parametrize("raw", [b'{"code": true}', b'{"code": 15302.0}', b'{"code": "15302"}',
                                 b'{"code": 1}'])
def test_a_code_is_an_integer_of_the_table_only(raw: bytes) -> None:
    with pytest.raises(SimError) as caught:
        parse_body(FaultRuleIn, raw)
    assert caught.value.field == "code"


@pytest.mark.parametrize("raw", [b'{"powerPercent": NaN}', b'{"powerPercent": 1e400}',
                                 b'{"powerPercent": Infinity}', b'{"powerPercent": true}'])
def test_numbers_are_finite_json_numbers(raw: bytes) -> None:
    with pytest.raises(SimError) as caught:
        parse_body(VehiclePatch, raw)
    assert caught.value.field == "powerPercent"


def test_the_domain_gets_python_names_and_values() -> None:
    body = b'{"powerPercent": 7, "firmware": "1.2.8", "hasMechLock": false, "iotCode": "42"}'
    assert parse_body(VehicleCreate, body).values() == {
        "power": 7.0, "firmware": 10208, "has_mech_lock": False, "iot_code": "42"}
    assert parse_body(ClockChange, b'{"paused": true}').values() == {"paused": True}


def test_null_is_not_absent() -> None:
    with pytest.raises(SimError) as caught:
        parse_body(VehiclePatch, b'{"online": null}')
    assert caught.value.field == "online"
