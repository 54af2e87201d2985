"""Wire details of the vendor surface that no single operation owns.

`Expect: 100-continue` (aiohttp answers the interim 100 before the handler runs) changes nothing
in the answer or the journal; paths match as aiohttp's router matches them, with JSON 404/405
bodies; opIds are fresh UUIDs; the quick read of a plain `iotCode=<digits>` query string agrees
with the full parse.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from simulator.core.params import only_imei, query_params
from simulator.server import loops, wire
from simulator.sim import Simulator
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, VENDOR_PATHS

CONTINUE = {"Expect": "100-continue"}
BODIES: dict[str, Any] = {
    "unlock": {"iotCode": EXAMPLE_IMEI},
    "sound": {"iotCode": EXAMPLE_IMEI, "controlType": 2},
    "setting/speed-mode": {"iotCode": EXAMPLE_IMEI, "speedMode": 2},
    "anti-theft": {"iotCode": EXAMPLE_IMEI, "controlType": 9},  # 15004
}


async def call(client: TestClient, op: str, headers: dict[str, str], body: Any = None,
               **query: str) -> tuple[int, str, dict[str, Any]]:
    path = VENDOR_PATHS[op]
    if "/query/" in path:
        resp = await client.get(path, params=query, headers=headers)
    else:
        resp = await client.post(path, json=body, headers=headers)
    return resp.status, resp.headers.get("Content-Type", ""), await resp.json()


def same_answer(plain: tuple[int, str, dict[str, Any]],
                expecting: tuple[int, str, dict[str, Any]]) -> None:
    assert plain[:2] == expecting[:2]
    assert list(plain[2]) == list(expecting[2])  # the same fields, in the same order
    assert {k: v for k, v in plain[2].items() if k not in ("opId", "resId")} == \
        {k: v for k, v in expecting[2].items() if k not in ("opId", "resId")}


def same_record(sim: Simulator) -> None:
    first, second = sim.requests.select()[-2:]
    assert list(first) == list(second)
    assert {k: v for k, v in first.items() if k not in ("opId", "latencyMs", "seq")} == \
        {k: v for k, v in second.items() if k not in ("opId", "latencyMs", "seq")}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(["status", "location", "battery-info", "bluetooth-key"]),
       n=st.integers(0, 19), token=st.sampled_from(["good", "bad", "none"]),
       realtime=st.sampled_from([None, "true", "no", "maybe"]))
async def test_queries_answer_the_same_with_expect_continue(
        client: TestClient, sim: Simulator, op: str, n: int, token: str, realtime: str | None
) -> None:
    headers = {"good": AUTH, "bad": {"Authorization": "bearer nope"}, "none": {}}[token]
    query = {"iotCode": sim.fleet.imeis[n]}
    if realtime is not None and op == "location":
        query["realTimeLocation"] = realtime
    plain = await call(client, op, headers, **query)
    expecting = await call(client, op, {**headers, **CONTINUE}, **query)
    same_answer(plain, expecting)
    same_record(sim)


@pytest.mark.parametrize("op", sorted(BODIES))
async def test_commands_answer_the_same_with_expect_continue(client: TestClient, sim: Simulator,
                                                             op: str) -> None:
    plain = await call(client, op, AUTH, BODIES[op])
    expecting = await call(client, op, {**AUTH, **CONTINUE}, BODIES[op])
    same_answer(plain, expecting)
    same_record(sim)


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


def test_every_appendix_1_code_and_text_is_the_reference_s() -> None:
    """Codes no test provokes included: the simulator's table against the one the contract suite
    wrote down from the reference (tests take their texts from that one, never from the code)."""
    from simulator.contract.surface import MESSAGES as REFERENCE
    from simulator.core.errors import MESSAGES

    assert MESSAGES == REFERENCE
