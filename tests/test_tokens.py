"""`POST /oauth/token` and the token lifecycle on the virtual clock, over real HTTP."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.core.platforms import Tokens
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, Config, Simulator
from tests.helpers.vendor import COARSE, EXAMPLE_IMEI, add_tenant, vendor_call

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CREDENTIALS = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
               "grant_type": "client_credentials"}
LIFETIME = 43_200
OVERLAP = 300
BAD_CLIENT = {"error": "invalid_client", "error_description": "Bad client credentials"}


@pytest.fixture
def config() -> Config:
    return COARSE


async def token(client: TestClient, status: int = 200, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("data", CREDENTIALS)
    resp = await client.post("/oauth/token", **kwargs)
    assert resp.status == status
    assert resp.content_type == "application/json"
    body: dict[str, Any] = await resp.json()
    return body


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"bearer {value}"}


async def works(client: TestClient, value: str, imei: str = EXAMPLE_IMEI) -> bool:
    code = (await vendor_call(client, "status", headers=bearer(value), iotCode=imei))["code"]
    assert code in (0, 15101)
    return code == 0


# -- the endpoint ------------------------------------------------------------------------------


async def test_the_reference_example(client: TestClient) -> None:
    body = await token(client)
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["scope"]) == ("bearer", "read write trust")
    assert type(body["expires_in"]) is int and 0 < body["expires_in"] <= 86_400
    # the demo token is already issued at the start, with the full lifetime left
    assert (body["access_token"], body["expires_in"]) == (DEMO_TOKEN, LIFETIME)


@pytest.mark.parametrize("how", ["form", "basic", "query", "basic + form grant"])
async def test_where_credentials_may_come_from(client: TestClient, sim: Simulator,
                                               how: str) -> None:
    sim.advance(LIFETIME)  # the demo token has expired: a new one is issued
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    ways: dict[str, dict[str, Any]] = {
        "form": {"data": CREDENTIALS, "headers": FORM},
        "basic": {"data": {"grant_type": "client_credentials"},
                  "headers": {"Authorization": f"Basic {basic}"}},
        "query": {"params": CREDENTIALS, "data": b""},
        "basic + form grant": {"data": "grant_type=client_credentials",
                               "headers": {**FORM, "Authorization": f"basic {basic}"}},
    }
    body = await token(client, **ways[how])
    assert body["access_token"] != DEMO_TOKEN
    assert str(uuid.UUID(body["access_token"])) == body["access_token"]
    assert body["expires_in"] == LIFETIME
    assert await works(client, body["access_token"])


async def test_form_with_charset(client: TestClient) -> None:
    body = await token(client, data="client_id=A20081&client_secret=" + DEMO_CLIENT_SECRET
                       + "&grant_type=client_credentials",
                       headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
    assert body["access_token"] == DEMO_TOKEN


@pytest.mark.parametrize("fields", [
    {"client_secret": DEMO_CLIENT_SECRET, "grant_type": "client_credentials"},
    {"client_id": DEMO_CLIENT_ID, "grant_type": "client_credentials"},
    {**CREDENTIALS, "client_secret": DEMO_CLIENT_SECRET.upper()},
    {**CREDENTIALS, "client_secret": ""},
    {**CREDENTIALS, "client_id": "A20082"},
    {**CREDENTIALS, "client_id": "a20081"},
    {},
])
async def test_bad_credentials(client: TestClient, sim: Simulator, fields: dict[str, str]) -> None:
    issued = dict(sim.tokens.by_value)
    assert await token(client, 401, data=fields) == BAD_CLIENT
    assert sim.tokens.by_value == issued


async def test_bad_basic_credentials(client: TestClient) -> None:
    for header in ("Basic !!!notbase64", "Basic " + base64.b64encode(b"A20081:nope").decode(),
                   "Basic " + base64.b64encode(b"no-colon").decode()):
        body = await token(client, 401, data={"grant_type": "client_credentials"},
                           headers={"Authorization": header})
        assert body == BAD_CLIENT


async def test_credentials_come_before_grant_type(client: TestClient) -> None:
    data = {"client_id": DEMO_CLIENT_ID, "client_secret": "wrong", "grant_type": "password"}
    assert await token(client, 401, data=data) == BAD_CLIENT


@pytest.mark.parametrize(("grant", "error", "description"), [
    (None, "invalid_request", "Missing grant type"),
    ("", "invalid_request", "Missing grant type"),
    ("password", "unsupported_grant_type", "Unsupported grant type: password"),
    ("authorization_code", "unsupported_grant_type", "Unsupported grant type: authorization_code"),
    ("CLIENT_CREDENTIALS", "unsupported_grant_type", "Unsupported grant type: CLIENT_CREDENTIALS"),
])
async def test_grant_type(client: TestClient, sim: Simulator, grant: str | None, error: str,
                          description: str) -> None:
    data = {k: v for k, v in CREDENTIALS.items() if k != "grant_type"}
    if grant is not None:
        data["grant_type"] = grant
    issued = dict(sim.tokens.by_value)
    body = await token(client, 400, data=data)
    assert body == {"error": error, "error_description": description}
    assert sim.tokens.by_value == issued


async def test_token_requests_are_journaled(client: TestClient, sim: Simulator) -> None:
    await token(client)
    await token(client, 401, data={})
    statuses = [r["httpStatus"] for r in sim.requests.select({"endpoint": "token"})]
    assert statuses == [200, 401]


# -- the lifecycle -----------------------------------------------------------------------------


async def test_same_token_while_more_than_300_s_left(client: TestClient, sim: Simulator) -> None:
    sim.advance(1)
    assert (await token(client))["expires_in"] == LIFETIME - 1  # the example's 43199
    sim.advance(LIFETIME - OVERLAP - 2)
    body = await token(client)
    assert (body["access_token"], body["expires_in"]) == (DEMO_TOKEN, OVERLAP + 1)


async def test_hand_over_in_the_last_300_s(client: TestClient, sim: Simulator) -> None:
    sim.advance(LIFETIME - OVERLAP)  # exactly 300 s left: "expires_in <= 300"
    fresh = await token(client)
    assert fresh["access_token"] != DEMO_TOKEN
    assert fresh["expires_in"] == LIFETIME
    # both work during the hand-over; asking again returns the new one
    assert await works(client, DEMO_TOKEN) and await works(client, fresh["access_token"])
    assert (await token(client))["access_token"] == fresh["access_token"]
    sim.advance(OVERLAP - 1)
    assert await works(client, DEMO_TOKEN)
    sim.advance(1)  # the old one's expiry
    assert not await works(client, DEMO_TOKEN)
    assert await works(client, fresh["access_token"])
    sim.advance(LIFETIME - OVERLAP)
    assert not await works(client, fresh["access_token"])


async def test_expired_token_gets_15101(client: TestClient, sim: Simulator) -> None:
    sim.advance(LIFETIME - 0.5)
    assert await works(client, DEMO_TOKEN)
    sim.advance(0.5)
    body = await vendor_call(client, "status", headers=bearer(DEMO_TOKEN), iotCode=EXAMPLE_IMEI)
    assert (body["code"], body["msg"], body["data"]) == (15101, "token verification failed", None)
    body = await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI},
                             headers=bearer(DEMO_TOKEN))
    assert body["code"] == 15101


async def test_after_expiry_a_new_token(client: TestClient, sim: Simulator) -> None:
    sim.advance(LIFETIME + 3600)
    body = await token(client)
    assert body["access_token"] != DEMO_TOKEN and body["expires_in"] == LIFETIME
    assert await works(client, body["access_token"])


async def test_platforms_have_their_own_tokens(client: TestClient, sim: Simulator) -> None:
    other_auth, other_imeis = add_tenant(sim, "U40001", "u-secret")
    third_auth, third_imeis = add_tenant(sim, "C50001", "c-secret")
    other = await token(client, data={"client_id": "U40001", "client_secret": "u-secret",
                                      "grant_type": "client_credentials"})
    assert bearer(other["access_token"]) == other_auth
    assert other["access_token"] not in (DEMO_TOKEN, third_auth["Authorization"].split()[1])
    # another platform's secret does not open this one
    assert await token(client, 401, data={"client_id": "U40001", "client_secret": "c-secret",
                                          "grant_type": "client_credentials"}) == BAD_CLIENT
    # each token sees its platform's vehicles only
    assert await works(client, other["access_token"], other_imeis[0])
    body = await vendor_call(client, "status", headers=other_auth, iotCode=third_imeis[0])
    assert body["code"] == 15103
    # a hand-over on one platform leaves the others' tokens alone
    sim.advance(LIFETIME - OVERLAP)
    fresh = await token(client)
    assert fresh["access_token"] != DEMO_TOKEN
    assert (await token(client, data={"client_id": "U40001", "client_secret": "u-secret",
                                      "grant_type": "client_credentials"}))["access_token"] != (
        fresh["access_token"])


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.integers(0, 20_000), min_size=1, max_size=8))
async def test_token_invariants(client: TestClient, sim: Simulator, steps: list[int]) -> None:
    """Whenever asked: expires_in <= lifetime, the answer works, and a token changes only when
    the previous one had <= 300 s left."""
    previous = await token(client)
    for step in steps:
        sim.advance(step)
        body = await token(client)
        assert 0 < body["expires_in"] <= LIFETIME <= 86_400
        assert await works(client, body["access_token"])
        left = previous["expires_in"] - step
        if body["access_token"] == previous["access_token"]:
            assert left > OVERLAP and body["expires_in"] == left
        else:
            assert left <= OVERLAP and body["expires_in"] == LIFETIME
            if left > 0:
                assert await works(client, previous["access_token"])  # still in its overlap
        previous = body


@pytest.mark.parametrize("lifetime", [0, -1, 86_401])
def test_lifetime_is_at_most_86400(lifetime: int) -> None:
    with pytest.raises(ValueError, match="86400"):
        Simulator(Config(token_lifetime=lifetime, paused=True, vehicles=3))
    with pytest.raises(ValueError):
        Tokens(Simulator(Config(paused=True, vehicles=3)).streams.generator("t"), lifetime)


@pytest.mark.parametrize("config", [replace(COARSE, token_lifetime=86_400)])
async def test_configurable_lifetime(client: TestClient, sim: Simulator) -> None:
    sim.advance(LIFETIME)
    assert await works(client, DEMO_TOKEN)  # lives a day here
    body = await token(client)
    assert (body["access_token"], body["expires_in"]) == (DEMO_TOKEN, 86_400 - LIFETIME)


async def test_reset_issues_the_demo_token_again(client: TestClient, sim: Simulator) -> None:
    sim.advance(LIFETIME + 1)
    assert not await works(client, DEMO_TOKEN)
    sim.reset()
    assert await works(client, DEMO_TOKEN)
