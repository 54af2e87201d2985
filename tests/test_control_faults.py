"""Control plane: fault injection rules, observed through the vendor API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import example, given
from hypothesis import strategies as st

from simulator.core.vehicle import OPERATIONS
from simulator.server.app import create_app
from simulator.sim import DEMO_IMEIS, Config, Simulator
from tests.helpers.control import HTTP, call, misuse
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, add_tenant, vendor_call

OTHER = DEMO_IMEIS[1]


async def add_rule(client: TestClient, **rule: Any) -> dict[str, Any]:
    created: dict[str, Any] = await call(client, "POST", "/_sim/faults", rule, 201)
    return created


async def status_code(client: TestClient, imei: str = EXAMPLE_IMEI,
                      headers: dict[str, str] | None = None) -> int:
    answer = await vendor_call(client, "status", headers=headers, iotCode=imei)
    return int(answer["code"])


async def test_rule_lifecycle(client: TestClient, sim: Simulator) -> None:
    rule = await add_rule(client, code=15302, endpoint="status", iotCode=EXAMPLE_IMEI)
    assert rule == {"id": 1, "code": 15302, "iotCode": EXAMPLE_IMEI, "endpoint": "status",
                    "platformCode": None, "probability": 1.0, "times": None, "delayMs": 0,
                    "fired": 0}
    second = await add_rule(client, delayMs=5, platformCode="A20081")
    assert second["id"] == 2 and second["code"] is None
    listed = await call(client, "GET", "/_sim/faults")
    assert [r["id"] for r in listed["items"]] == [1, 2]
    assert await call(client, "DELETE", "/_sim/faults/1") == {"deleted": 1}
    await misuse(client, sim, "DELETE", "/_sim/faults/1", None, "id", 404)
    await misuse(client, sim, "DELETE", "/_sim/faults/abc", None, "id", 404)
    assert [r["id"] for r in (await call(client, "GET", "/_sim/faults"))["items"]] == [2]
    await add_rule(client, code=15001)
    assert await call(client, "DELETE", "/_sim/faults") == {"deleted": 2}
    assert (await call(client, "GET", "/_sim/faults"))["items"] == []
    assert (await add_rule(client, code=15001))["id"] == 4  # ids are never reused


async def test_rule_answers_its_code_on_its_endpoint_only(client: TestClient) -> None:
    await add_rule(client, code=15302, endpoint="status")
    assert await status_code(client) == 15302
    answer = await vendor_call(client, "status", iotCode=EXAMPLE_IMEI)
    assert answer["msg"] == "device response timeout" and answer["data"] is None
    location = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI)
    assert location["code"] == 0


async def test_rule_matches_its_vehicle_only(client: TestClient) -> None:
    await add_rule(client, code=15303, iotCode=OTHER)
    assert await status_code(client, OTHER) == 15303
    assert await status_code(client, EXAMPLE_IMEI) == 0
    unlock = await vendor_call(client, "unlock", {"iotCode": OTHER})
    assert unlock["code"] == 15303  # any endpoint of that vehicle


async def test_rule_matches_its_platform_only(client: TestClient, sim: Simulator) -> None:
    headers, imeis = add_tenant(sim)
    await add_rule(client, code=15001, platformCode="E30001")
    assert await status_code(client, imeis[0], headers) == 15001
    assert await status_code(client, EXAMPLE_IMEI) == 0


async def test_times_count_down(client: TestClient) -> None:
    await add_rule(client, code=15302, endpoint="unlock", times=2)
    body = {"iotCode": EXAMPLE_IMEI}
    assert (await vendor_call(client, "unlock", body))["code"] == 15302
    rules = (await call(client, "GET", "/_sim/faults"))["items"]
    assert (rules[0]["times"], rules[0]["fired"]) == (1, 1)
    assert (await vendor_call(client, "unlock", body))["code"] == 15302
    assert (await call(client, "GET", "/_sim/faults"))["items"] == []  # spent
    assert (await vendor_call(client, "unlock", body))["code"] == 0


async def outcomes(client: TestClient, n: int = 40) -> list[int]:
    await add_rule(client, code=15302, endpoint="status", probability=0.5)
    return [await status_code(client) for _ in range(n)]


async def test_probability_is_seeded(client: TestClient, sim: Simulator) -> None:
    first = await outcomes(client)
    assert set(first) == {0, 15302}
    await call(client, "POST", "/_sim/reset")
    assert await outcomes(client) == first  # the same seed, the same failures
    other = Simulator(Config(seed=8, vehicles=5, paused=True, riders=False))
    async with TestClient(TestServer(create_app(other, pace=False), host="127.0.0.1")) as c2:
        assert await outcomes(c2) != first


async def test_delay_keeps_the_command_in_flight(client: TestClient, sim: Simulator) -> None:
    """A delayed command holds its vehicle: a second command meanwhile gets 15104."""
    await add_rule(client, endpoint="unlock", iotCode=EXAMPLE_IMEI, delayMs=400, times=1)
    started = asyncio.Event()
    begin = sim.inflight.begin

    def begin_and_tell(row: int) -> None:
        begin(row)
        started.set()

    sim.inflight.begin = begin_and_tell  # type: ignore[method-assign]
    body = {"iotCode": EXAMPLE_IMEI}
    slow = asyncio.create_task(vendor_call(client, "unlock", body))
    await started.wait()
    state = await call(client, "GET", f"/_sim/vehicles/{EXAMPLE_IMEI}")
    assert state["commandInFlight"] is True
    assert (await vendor_call(client, "sound", {**body, "controlType": 2}))["code"] == 15104
    assert (await vendor_call(client, "unlock", body))["code"] == 15104
    assert await status_code(client) == 0  # queries are not commands
    assert (await vendor_call(client, "unlock", {"iotCode": OTHER}))["code"] == 0
    assert (await slow)["code"] == 0
    assert (await vendor_call(client, "unlock", body))["code"] == 0  # free again


async def test_delay_then_code(client: TestClient, sim: Simulator) -> None:
    await add_rule(client, code=15601, endpoint="unlock", delayMs=50)
    answer = await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI})
    assert answer["code"] == 15601
    assert sim.fleet.locked[0]


@pytest.mark.parametrize(("rule", "field"), [
    ({"code": 99999}, "code"),
    ({"code": "15302"}, "code"),
    ({"code": 0}, "code"),
    ({}, "code"),
    ({"code": None, "delayMs": 0}, "code"),
    ({"code": 15302, "endpoint": "launch"}, "endpoint"),
    ({"code": 15302, "endpoint": "token"}, "endpoint"),
    ({"code": 15302, "probability": "half"}, "probability"),
    ({"code": 15302, "times": 1.5}, "times"),
    ({"code": 15302, "delayMs": True}, "delayMs"),
    ({"code": 15302, "iotCode": "123"}, "iotCode"),
    ({"code": 15302, "iotCode": 861477038719116}, "iotCode"),
    ({"code": 15302, "platformCode": "E999"}, "platformCode"),
    ({"code": 15302, "platformCode": "E30001", "iotCode": EXAMPLE_IMEI}, "iotCode"),
    ({"code": 15302, "id": 7}, "id"),
    ({"code": 15302, "fired": 3}, "fired"),
    ({"code": 15302, "when": "now"}, "when"),
])
async def test_rule_misuse(client: TestClient, sim: Simulator, rule: dict[str, Any],
                           field: str) -> None:
    add_tenant(sim)
    await misuse(client, sim, "POST", "/_sim/faults", rule, field)


async def test_rule_body_must_be_an_object(client: TestClient, sim: Simulator) -> None:
    await misuse(client, sim, "POST", "/_sim/faults", [{"code": 15302}], "body")


@HTTP
@given(field=st.sampled_from(["probability", "times", "delayMs"]),
       value=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers()))
@example(field="times", value=2**64)  # beyond 64 bits JSON numbers arrive as floats
@example(field="times", value=10**9 + 1)
async def test_rule_ranges(client: TestClient, sim: Simulator, field: str, value: Any) -> None:
    valid = {
        "probability": 0 <= value <= 1,
        "times": isinstance(value, int) and 1 <= value <= 10**9,
        "delayMs": isinstance(value, int) and 0 <= value <= 600_000,
    }[field]
    body = {"code": 15302, field: value}
    if valid:
        rule = await add_rule(client, **body)
        assert rule[field] == value
        await call(client, "DELETE", "/_sim/faults")
    else:
        await misuse(client, sim, "POST", "/_sim/faults", body, field)


@HTTP
@given(endpoint=st.sampled_from(OPERATIONS))
async def test_every_operation_is_a_valid_endpoint(client: TestClient, endpoint: str) -> None:
    rule = await add_rule(client, code=15302, endpoint=endpoint)
    assert rule["endpoint"] == endpoint
    await call(client, "DELETE", f"/_sim/faults/{rule['id']}")


async def test_rules_do_not_touch_the_control_plane(client: TestClient) -> None:
    await add_rule(client, code=15001)
    state = await call(client, "GET", f"/_sim/vehicles/{EXAMPLE_IMEI}")
    assert state["iotCode"] == EXAMPLE_IMEI
    resp = await client.post("/oauth/token", data={"client_id": "A20081",
                                                   "client_secret": "nope",
                                                   "grant_type": "client_credentials"})
    assert resp.status == 401  # the token endpoint is not a vendor operation of the rules
    assert await status_code(client, headers=AUTH) == 15001
