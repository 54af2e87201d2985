"""Control plane: platforms (tenants), their tokens and which vehicles each may see."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from simulator.sim import DEMO_CLIENT_SECRET, Simulator
from tests.helpers.control import HTTP, call, misuse
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call


async def token_for(client: TestClient, code: str, secret: str) -> dict[str, str]:
    resp = await client.post("/oauth/token", data={
        "client_id": code, "client_secret": secret, "grant_type": "client_credentials"})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"bearer {(await resp.json())['access_token']}"}


async def token_status(client: TestClient, code: str, secret: str) -> int:
    resp = await client.post("/oauth/token", data={
        "client_id": code, "client_secret": secret, "grant_type": "client_credentials"})
    return resp.status


async def test_list_platforms(client: TestClient) -> None:
    assert await call(client, "GET", "/_sim/platforms") == {"items": [{
        "clientId": "A20081", "clientSecret": DEMO_CLIENT_SECRET, "callbackUrl": None,
        "region": "A", "city": "Singapore", "pushFormat": "v2", "vehicles": 20}]}


async def test_new_platform_with_token_and_its_own_vehicles(client: TestClient,
                                                            sim: Simulator) -> None:
    created = await call(client, "POST", "/_sim/platforms", {
        "clientId": "E30002", "clientSecret": "s3cret!", "vehicles": 4,
        "callbackUrl": "http://127.0.0.1:9/hooks"}, 201)
    assert created == {"clientId": "E30002", "clientSecret": "s3cret!",
                       "callbackUrl": "http://127.0.0.1:9/hooks", "region": "E",
                       "city": "Amsterdam", "pushFormat": "v2", "vehicles": 4}
    listed = await call(client, "GET", "/_sim/platforms")
    assert [p["clientId"] for p in listed["items"]] == ["A20081", "E30002"]
    page = await call(client, "GET", "/_sim/vehicles", params={"platformCode": "E30002"})
    imeis = [v["iotCode"] for v in page["items"]]
    assert len(imeis) == 4 and all(v["platformCode"] == "E30002" for v in page["items"])
    # Amsterdam vehicles are in Amsterdam
    assert all(52 < v["latitude"] < 53 and 4 < v["longitude"] < 6 for v in page["items"])
    headers = await token_for(client, "E30002", "s3cret!")
    mine = await vendor_call(client, "status", headers=headers, iotCode=imeis[0])
    assert mine["code"] == 0 and mine["data"]["iotCode"] == imeis[0]
    theirs = await vendor_call(client, "status", headers=headers, iotCode=EXAMPLE_IMEI)
    assert theirs["code"] == 15103
    from_demo = await vendor_call(client, "status", iotCode=imeis[0])
    assert from_demo["code"] == 15103


async def test_generated_secret_is_seeded_and_works(client: TestClient) -> None:
    created = await call(client, "POST", "/_sim/platforms", {"clientId": "U1"}, 201)
    secret = created["clientSecret"]
    assert len(secret) == 36 and created["vehicles"] == 0 and created["callbackUrl"] is None
    await token_for(client, "U1", secret)
    await call(client, "POST", "/_sim/reset")
    again = await call(client, "POST", "/_sim/platforms", {"clientId": "U1"}, 201)
    assert again["clientSecret"] == secret
    other = await call(client, "POST", "/_sim/platforms", {"clientId": "U2"}, 201)
    assert other["clientSecret"] != secret


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"clientId": "A20081"}, "clientId", 409),
    ({}, "clientId", 400),
    ({"clientId": "X100"}, "clientId", 400),
    ({"clientId": "a100"}, "clientId", 400),
    ({"clientId": ""}, "clientId", 400),
    ({"clientId": 20081}, "clientId", 400),
    ({"clientId": "E1 2"}, "clientId", 400),
    ({"clientId": "E1", "clientSecret": ""}, "clientSecret", 400),
    ({"clientId": "E1", "clientSecret": "has space"}, "clientSecret", 400),
    ({"clientId": "E1", "callbackUrl": "ftp://host/x"}, "callbackUrl", 400),
    ({"clientId": "E1", "callbackUrl": 8080}, "callbackUrl", 400),
    ({"clientId": "E1", "vehicles": -1}, "vehicles", 400),
    ({"clientId": "E1", "vehicles": "3"}, "vehicles", 400),
    ({"clientId": "E1", "vehicles": 1_000_001}, "vehicles", 400),
    ({"clientId": "E1", "tenant": "x"}, "tenant", 400),
])
async def test_create_misuse(client: TestClient, sim: Simulator, body: dict[str, Any],
                             field: str, status: int) -> None:
    await misuse(client, sim, "POST", "/_sim/platforms", body, field, status)


@HTTP
@given(code=st.text(min_size=1, max_size=8))
async def test_region_letter_comes_first(client: TestClient, sim: Simulator, code: str) -> None:
    valid = code[0] in "AEUC" and all(c.isascii() and (c.isalnum() or c in "_.-") for c in code)
    if valid and code not in sim.platforms:
        created = await call(client, "POST", "/_sim/platforms", {"clientId": code}, 201)
        assert created["region"] == code[0]
    elif not valid:
        await misuse(client, sim, "POST", "/_sim/platforms", {"clientId": code}, "clientId")


async def test_patch_platform(client: TestClient, sim: Simulator) -> None:
    patched = await call(client, "PATCH", "/_sim/platforms/A20081",
                         {"callbackUrl": "https://partner.example/segway"})
    assert patched["callbackUrl"] == "https://partner.example/segway"
    assert sim.platforms["A20081"].callback_url == "https://partner.example/segway"
    patched = await call(client, "PATCH", "/_sim/platforms/A20081", {"callbackUrl": None})
    assert patched["callbackUrl"] is None
    await call(client, "PATCH", "/_sim/platforms/A20081", {"clientSecret": "rotated"})
    assert await token_status(client, "A20081", DEMO_CLIENT_SECRET) == 401
    assert await token_status(client, "A20081", "rotated") == 200


@pytest.mark.parametrize(("path", "body", "field", "status"), [
    ("/_sim/platforms/E404", {"callbackUrl": None}, "clientId", 404),
    ("/_sim/platforms/A20081", {"callbackUrl": "not a url"}, "callbackUrl", 400),
    ("/_sim/platforms/A20081", {"clientId": "A2"}, "clientId", 400),
    ("/_sim/platforms/A20081", [], "body", 400),
])
async def test_patch_misuse(client: TestClient, sim: Simulator, path: str, body: Any,
                            field: str, status: int) -> None:
    await misuse(client, sim, "PATCH", path, body, field, status)
