"""The speed work changes nothing on the wire: the fast path answers as the routed way does.

Vendor requests skip aiohttp's router and middlewares (simulator/server/fastpath.py); a request
with `Expect: 100-continue` takes the routed way, so the same request can be compared both ways.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from conftest import AUTH, EXAMPLE_IMEI, VENDOR_PATHS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from simulator.core.params import only_imei, query_params
from simulator.server import fastpath, loops, vendor, wire
from simulator.server.app import create_app
from simulator.sim import Simulator

ROUTED = {"Expect": "100-continue"}  # a header aiohttp's router handles: the routed way
BODIES: dict[str, Any] = {
    "unlock": {"iotCode": EXAMPLE_IMEI},
    "sound": {"iotCode": EXAMPLE_IMEI, "controlType": 2},
    "setting/speed-mode": {"iotCode": EXAMPLE_IMEI, "speedMode": 2},
    "anti-theft": {"iotCode": EXAMPLE_IMEI, "controlType": 9},  # 15004
}


def test_every_vendor_route_but_the_token_has_a_fast_way(sim: Simulator) -> None:
    app = create_app(sim, pace=False)
    assert fastpath.installed(app)
    assert set(vendor.FAST) == {(m, p) for m, p, _, op in vendor.ROUTES if op != "token"}


async def test_vendor_requests_skip_the_middlewares_unless_routed(sim: Simulator) -> None:
    app = create_app(sim, pace=False)
    seen: list[str] = []

    @web.middleware
    async def spy(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path)
        return await handler(request)

    app.middlewares.append(spy)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        fast = await call(client, "status", AUTH, iotCode=EXAMPLE_IMEI)
        assert fast[2]["code"] == 0 and seen == []
        routed = await call(client, "status", {**AUTH, **ROUTED}, iotCode=EXAMPLE_IMEI)
        assert routed[2]["code"] == 0 and seen == [VENDOR_PATHS["status"]]
        resp = await client.get("/_sim/health")
        assert resp.status == 200 and seen[-1] == "/_sim/health"


async def call(client: TestClient, op: str, headers: dict[str, str], body: Any = None,
               **query: str) -> tuple[int, str, dict[str, Any]]:
    path = VENDOR_PATHS[op]
    if "/query/" in path:
        resp = await client.get(path, params=query, headers=headers)
    else:
        resp = await client.post(path, json=body, headers=headers)
    return resp.status, resp.headers.get("Content-Type", ""), await resp.json()


def same_answer(fast: tuple[int, str, dict[str, Any]], routed: tuple[int, str, dict[str, Any]]
                ) -> None:
    assert fast[:2] == routed[:2]
    assert list(fast[2]) == list(routed[2])  # the same fields, in the same order
    assert {k: v for k, v in fast[2].items() if k not in ("opId", "resId")} == \
        {k: v for k, v in routed[2].items() if k not in ("opId", "resId")}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(["status", "location", "battery-info", "bluetooth-key"]),
       n=st.integers(0, 19), token=st.sampled_from(["good", "bad", "none"]),
       realtime=st.sampled_from([None, "true", "no", "maybe"]))
async def test_queries_answer_the_same_both_ways(client: TestClient, sim: Simulator, op: str,
                                                 n: int, token: str, realtime: str | None
                                                 ) -> None:
    headers = {"good": AUTH, "bad": {"Authorization": "bearer nope"}, "none": {}}[token]
    query = {"iotCode": sim.fleet.imeis[n]}
    if realtime is not None and op == "location":
        query["realTimeLocation"] = realtime
    fast = await call(client, op, headers, **query)
    routed = await call(client, op, {**headers, **ROUTED}, **query)
    same_answer(fast, routed)
    first, second = sim.requests.select()[-2:]
    assert {k: v for k, v in first.items() if k not in ("opId", "latencyMs", "seq")} == \
        {k: v for k, v in second.items() if k not in ("opId", "latencyMs", "seq")}


@pytest.mark.parametrize("op", sorted(BODIES))
async def test_commands_answer_the_same_both_ways(client: TestClient, sim: Simulator,
                                                  op: str) -> None:
    fast = await call(client, op, AUTH, BODIES[op])
    routed = await call(client, op, {**AUTH, **ROUTED}, BODIES[op])
    same_answer(fast, routed)
    first, second = sim.requests.select()[-2:]
    assert first["params" if "params" in first else "detail"] == \
        second["params" if "params" in second else "detail"]


async def test_paths_match_as_the_router_matches_them(client: TestClient) -> None:
    encoded = "/api/v2/vehicle/query/current/%73tatus"  # decodes to the status path
    resp = await client.get(URL(encoded + f"?iotCode={EXAMPLE_IMEI}", encoded=True),
                            headers=AUTH)
    assert (await resp.json())["code"] == 0
    slash = "/api/v2/vehicle/query/current%2Fstatus"  # an encoded slash is not a separator
    resp = await client.get(URL(slash + f"?iotCode={EXAMPLE_IMEI}", encoded=True),
                            headers=AUTH)
    assert resp.status == 404 and (await resp.json())["status"] == 404
    resp = await client.head(VENDOR_PATHS["status"], params={"iotCode": EXAMPLE_IMEI},
                             headers=AUTH)
    assert resp.status == 405 and resp.headers["Allow"] == "GET"


QUERY_TEXT = st.one_of(
    st.from_regex(r"iotCode=[0-9]{1,22}", fullmatch=True),
    st.text(alphabet="iotCode=0123456789&%+ab٣", max_size=30),
)


@settings(max_examples=100)
@given(raw=QUERY_TEXT)
def test_only_imei_reads_what_query_params_would(raw: str) -> None:
    imei = only_imei(raw)
    if imei is None:
        return
    parsed = URL.build(path="/", query_string=raw, encoded=True).query
    assert query_params("status", parsed) == {"iotCode": imei}


def test_op_ids_are_fresh_version_4_uuids() -> None:
    ids = [wire.new_op_id() for _ in range(3 * 1024 + 7)]  # several batches
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_loop_choice() -> None:
    assert loops.loop_factory("asyncio") is None
    assert loops.loop_name("asyncio") == "asyncio"
    with pytest.raises(ValueError):
        loops.loop_factory("tokio")
    try:
        import uvloop
    except ImportError:
        assert loops.loop_factory("auto") is None
    else:
        assert loops.loop_factory("auto") is uvloop.new_event_loop
    assert loops.run(_answer(), "asyncio") == 42


async def _answer() -> int:
    return 42
