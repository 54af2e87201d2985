"""Control plane: GET /_sim/requests, the journal of vendor API calls."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator.server.app import create_app
from simulator.sim import DEMO_IMEIS, Config, Simulator
from tests.helpers.control import call, misuse
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

OTHER = DEMO_IMEIS[1]


async def some_calls(client: TestClient) -> None:
    assert (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["code"] == 0
    assert (await vendor_call(client, "status", iotCode="1"))["code"] == 15102
    assert (await vendor_call(client, "unlock", {"iotCode": OTHER}))["code"] == 0
    bad = {"Authorization": "bearer nope"}
    assert (await vendor_call(client, "location", headers=bad, iotCode=OTHER))["code"] == 15101
    resp = await client.post("/oauth/token", data={"client_id": "A20081", "client_secret": "x",
                                                   "grant_type": "client_credentials"})
    assert resp.status == 401


async def requests(client: TestClient, **query: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await call(client, "GET", "/_sim/requests",
                                        params={k: str(v) for k, v in query.items()})
    return answer


async def test_every_vendor_call_is_journaled(client: TestClient) -> None:
    await some_calls(client)
    await call(client, "GET", "/_sim/health")  # the control plane is not journaled
    journal = await requests(client)
    assert journal["seq"] == 5 and journal["retained"] == 5 and journal["capacity"] == 10_000
    items = journal["items"]
    assert [r["seq"] for r in items] == [1, 2, 3, 4, 5]
    assert [r["endpoint"] for r in items] == ["status", "status", "unlock", "location", "token"]
    assert [r.get("code") for r in items[:4]] == [0, 15102, 0, 15101]
    assert items[0]["iotCode"] == EXAMPLE_IMEI and items[0]["platformCode"] == "A20081"
    assert items[2]["method"] == "POST" and items[4]["httpStatus"] == 401


@pytest.mark.parametrize(("query", "seqs"), [
    ({"endpoint": "status"}, [1, 2]),
    ({"iotCode": OTHER}, [3]),  # a call refused for its token is not read further
    ({"code": 15102}, [2]),
    ({"code": 0}, [1, 3]),
    ({"platformCode": "A20081"}, [1, 2, 3, 5]),
    ({"method": "POST"}, [3, 5]),
    ({"httpStatus": 401}, [5]),
    ({"endpoint": "status", "code": 0}, [1]),
    ({"since": 2}, [3, 4, 5]),
    ({"limit": 2}, [4, 5]),  # the newest
    ({"since": 1, "limit": 2}, [2, 3]),  # paging forward: the oldest after `since`
    ({"since": 5}, []),
    ({"endpoint": "unlock", "iotCode": EXAMPLE_IMEI}, []),
])
async def test_filters(client: TestClient, query: dict[str, Any], seqs: list[int]) -> None:
    await some_calls(client)
    assert [r["seq"] for r in (await requests(client, **query))["items"]] == seqs


async def test_paging_forward_sees_every_record_once(client: TestClient) -> None:
    for _ in range(3):
        await some_calls(client)
    seen: list[int] = []
    since = 0
    while page := (await requests(client, since=since, limit=4))["items"]:
        seen += [r["seq"] for r in page]
        since = page[-1]["seq"]
    assert seen == list(range(1, 16))


@pytest.mark.parametrize(("query", "field"), [
    ({"since": "-1"}, "since"),
    ({"since": "x"}, "since"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1000001"}, "limit"),
    ({"opId": "abc"}, "opId"),
])
async def test_misuse(client: TestClient, sim: Simulator, query: dict[str, str],
                      field: str) -> None:
    await misuse(client, sim, "GET", "/_sim/requests", None, field, params=query)


async def test_journal_is_bounded() -> None:
    sim = Simulator(Config(seed=7, vehicles=5, paused=True, riders=False,
                           extra={"journal_size": 3}))
    async with TestClient(TestServer(create_app(sim, pace=False), host="127.0.0.1")) as client:
        await some_calls(client)
        journal = await requests(client)
        assert journal["capacity"] == 3 and journal["retained"] == 3 and journal["seq"] == 5
        assert [r["seq"] for r in journal["items"]] == [3, 4, 5]  # the oldest fell off


async def test_reset_empties_the_journal(client: TestClient) -> None:
    await some_calls(client)
    await call(client, "POST", "/_sim/reset")
    assert (await requests(client))["items"] == []
