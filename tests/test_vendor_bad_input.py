"""Bad input over real HTTP: never a 500, HTML, a traceback or an empty body; nothing changes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from simulator.core.params import BODIES
from simulator.sim import DEMO_TOKEN, Simulator
from tests.helpers.control import HTTP
from tests.helpers.vendor import (
    AUTH,
    COMMANDS,
    EXAMPLE_IMEI,
    VALID,
    VENDOR_PATHS,
    assert_error,
    example_row,
    row_state,
)

# Spring Boot's error body, with the envelope's `code` and `msg` beside it (FIDELITY.md).
SPRING_ERROR_KEYS = {"timestamp", "status", "error", "message", "path", "code", "msg"}
JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}


async def post_raw(client: TestClient, op: str, data: bytes | str,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
    resp = await client.post(VENDOR_PATHS[op], data=data, headers=headers or JSON_HEADERS)
    assert resp.status == 200
    assert resp.content_type == "application/json"
    payload: dict[str, Any] = await resp.json()
    return payload


BAD_BODIES = [
    pytest.param(b"", id="empty"),
    pytest.param(b"{", id="truncated"),
    pytest.param(b"{'iotCode': '861477038719116'}", id="single quotes"),
    pytest.param(b'{"iotCode": "861477038719116",}', id="trailing comma"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'[{"iotCode": "861477038719116"}]', id="array of the body"),
    pytest.param(b'"861477038719116"', id="string"),
    pytest.param(b"861477038719116", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b"true", id="boolean"),
    pytest.param(b"iotCode=861477038719116", id="form encoded"),
    pytest.param(b"\xff\xfe{}", id="not UTF-8"),
    pytest.param(b"[" * 5000 + b"]" * 5000, id="deeply nested"),
    pytest.param(b'{"iotCode": 1e999}', id="infinite number"),
]


@pytest.mark.parametrize("op", COMMANDS)
@pytest.mark.parametrize("raw", BAD_BODIES)
async def test_malformed_body(client: TestClient, sim: Simulator, op: str, raw: bytes) -> None:
    before = row_state(sim, example_row(sim))
    assert_error(sim, await post_raw(client, op, raw), 15004)
    assert row_state(sim, example_row(sim)) == before


@pytest.mark.parametrize("op", COMMANDS)
async def test_wrong_types_and_missing_fields(client: TestClient, sim: Simulator,
                                              op: str) -> None:
    before = row_state(sim, example_row(sim))
    for name in VALID[op]:
        if BODIES[op].fields[name].required:
            without = {k: v for k, v in VALID[op].items() if k != name}
            assert_error(sim, await post_raw(client, op, json.dumps(without)), 15004)
        for wrong in (True, [VALID[op][name]], {"value": VALID[op][name]}, 1.5):
            body = {**VALID[op], name: wrong}
            assert_error(sim, await post_raw(client, op, json.dumps(body)), 15004)
    assert row_state(sim, example_row(sim)) == before


@HTTP
@given(raw=st.binary(max_size=200))
async def test_arbitrary_bytes(client: TestClient, sim: Simulator, raw: bytes) -> None:
    before = row_state(sim, example_row(sim))
    body = await post_raw(client, "setting/speed-mode", raw)
    assert body["code"] == 15004  # no bytes of <= 200 are a valid speed-mode body by chance
    assert row_state(sim, example_row(sim)) == before


def json_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function, not a lambda split over lines: Hypothesis reads an `extend` lambda's
    # source to check it recurses, and misreads one that spans lines (a false warning).
    return st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                            max_size=3)


@HTTP
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    json_containers, max_leaves=8,
))
async def test_arbitrary_json(client: TestClient, sim: Simulator, value: Any) -> None:
    body = await post_raw(client, "setting/switch", json.dumps(value))
    assert body["code"] == 15004


# -- being as liberal as Spring ----------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json;charset=UTF-8", "application/json; charset=utf-8",
    "text/plain", "application/x-www-form-urlencoded", None,
])
async def test_content_type_is_not_enforced(client: TestClient, sim: Simulator,
                                            content_type: str | None) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    body = {"iotCode": EXAMPLE_IMEI, "speedMode": 3}
    assert (await post_raw(client, "setting/speed-mode", json.dumps(body), headers))["code"] == 0
    assert sim.fleet.speed_mode[example_row(sim)] == 3


async def test_unknown_fields_are_ignored(client: TestClient, sim: Simulator) -> None:
    body = {"iotCode": EXAMPLE_IMEI, "speedMode": 1, "extra": {"nested": [1, 2]}, "x": None,
            "controlType": "anything"}
    assert (await post_raw(client, "setting/speed-mode", json.dumps(body)))["code"] == 0
    assert sim.fleet.speed_mode[example_row(sim)] == 1


@pytest.mark.parametrize("scheme", ["bearer", "Bearer", "BEARER", "bEaReR"])
async def test_bearer_scheme_is_case_insensitive(client: TestClient, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {DEMO_TOKEN}", "Content-Type": "application/json"}
    body = {"iotCode": EXAMPLE_IMEI, "speedMode": 2}
    assert (await post_raw(client, "setting/speed-mode", json.dumps(body), headers))["code"] == 0
    resp = await client.get(VENDOR_PATHS["status"], params={"iotCode": EXAMPLE_IMEI},
                            headers=headers)
    assert (await resp.json())["code"] == 0


async def test_token_is_case_sensitive(client: TestClient, sim: Simulator) -> None:
    headers = {"Authorization": f"bearer {DEMO_TOKEN.upper()}"}
    body = {"iotCode": EXAMPLE_IMEI, "speedMode": 2}
    assert_error(sim, await post_raw(client, "setting/speed-mode", json.dumps(body), headers),
                 15101)


async def test_numbers_as_numeric_strings(client: TestClient, sim: Simulator) -> None:
    body = {"iotCode": EXAMPLE_IMEI, "speedMode": "3"}
    assert (await post_raw(client, "setting/speed-mode", json.dumps(body)))["code"] == 0
    assert sim.fleet.speed_mode[example_row(sim)] == 3


# -- HTTP-level errors: Spring Boot's JSON error body ------------------------------------------


def assert_spring_error(body: dict[str, Any], status: int, path: str) -> None:
    assert set(body) == SPRING_ERROR_KEYS
    assert (body["status"], body["path"]) == (status, path)
    assert body["timestamp"].endswith("Z") and body["error"] and body["message"]
    assert (body["code"], body["msg"]) == (status, body["message"])


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("op", COMMANDS)
async def test_wrong_method_on_command(client: TestClient, sim: Simulator, op: str,
                                       method: str) -> None:
    before = row_state(sim, example_row(sim))
    path = VENDOR_PATHS[op]
    resp = await client.request(method, path, json=VALID[op], headers=AUTH)
    assert resp.status == 405
    assert resp.content_type == "application/json"
    assert resp.headers["Allow"] == "POST"
    assert_spring_error(await resp.json(), 405, path)
    assert row_state(sim, example_row(sim)) == before


@pytest.mark.parametrize("path", [VENDOR_PATHS[op] for op in
                                  ("status", "location", "battery-info", "bluetooth-key")]
                         + ["/api/v2/vehicle/query/current/battery-info"])
async def test_wrong_method_on_query(client: TestClient, path: str) -> None:
    resp = await client.post(path, json={"iotCode": EXAMPLE_IMEI}, headers=AUTH)
    assert resp.status == 405
    assert_spring_error(await resp.json(), 405, path)


async def test_wrong_method_on_token(client: TestClient) -> None:
    resp = await client.get("/oauth/token")
    assert resp.status == 405
    assert_spring_error(await resp.json(), 405, "/oauth/token")


@pytest.mark.parametrize("path", [
    "/api", "/api/v2/vehicle/control/warp", "/api/v2/vehicle/control/unlock/",
    "/api/v1/vehicle/control/unlock", "/API/V2/VEHICLE/CONTROL/UNLOCK", "/v2/vehicle/status",
    "/api/v2/vehicle/setting/switch",  # the switch lives under /ebike/, not /vehicle/
])
async def test_unknown_path(client: TestClient, path: str) -> None:
    for method in ("GET", "POST"):
        resp = await client.request(method, path, headers=AUTH)
        assert resp.status == 404
        assert resp.content_type == "application/json"
        assert_spring_error(await resp.json(), 404, path)


async def _chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("op", ["unlock", "setting/ambient"])
async def test_body_too_large(client: TestClient, sim: Simulator, op: str, chunked: bool) -> None:
    before = row_state(sim, example_row(sim))
    raw = json.dumps({**VALID[op], "pad": "x" * (64 * 1024)}).encode()
    data: Any = _chunks(raw) if chunked else raw
    resp = await client.post(VENDOR_PATHS[op], data=data, headers=JSON_HEADERS)
    assert resp.status == 413
    assert resp.content_type == "application/json"
    assert_spring_error(await resp.json(), 413, VENDOR_PATHS[op])
    assert row_state(sim, example_row(sim)) == before


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_just_under_the_limit(client: TestClient, sim: Simulator,
                                         chunked: bool) -> None:
    """A padded body below 64 KiB is read whole, even when it arrives in many chunks."""
    body = {**VALID["setting/speed-mode"], "speedMode": 3}
    raw = json.dumps({**body, "pad": ""}).encode()
    raw = json.dumps({**body, "pad": "x" * (64 * 1024 - len(raw))}).encode()
    assert len(raw) == 64 * 1024
    data: Any = _chunks(raw, 1000) if chunked else raw
    resp = await client.post(VENDOR_PATHS["setting/speed-mode"], data=data, headers=JSON_HEADERS)
    assert (await resp.json())["code"] == 0
    assert sim.fleet.speed_mode[example_row(sim)] == 3


async def test_token_body_too_large(client: TestClient) -> None:
    resp = await client.post("/oauth/token", data=b"client_id=" + b"x" * (64 * 1024 + 1),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 413
    assert_spring_error(await resp.json(), 413, "/oauth/token")


async def test_a_rejected_request_is_journaled(client: TestClient, sim: Simulator) -> None:
    await post_raw(client, "unlock", b"{")
    record = sim.requests.select({"endpoint": "unlock"})[-1]
    assert record["code"] == 15004 and record["detail"]
