"""`segway-sim serve --workers N`: every vendor rule holds across worker processes.

Each test serves the fixture's simulator from two real worker processes, each on a port of its
own (in production they share one), with the owner's side in this test's event loop: so a test
sends one request through worker A and the next through worker B, and sees the owner's state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from conftest import AUTH, EXAMPLE_IMEI, VENDOR_PATHS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import readings
from simulator.server import workers
from simulator.server.runner import start
from simulator.sim import DEMO_TOKEN, Config, Simulator

SOUND = {"iotCode": EXAMPLE_IMEI, "controlType": 2}


@dataclass
class Pair:
    sim: Simulator
    a: str  # base URL of worker A
    b: str  # base URL of worker B
    http: aiohttp.ClientSession

    async def vendor(self, base: str, op: str, body: Any = None, headers: dict[str, str] | None
                     = None, **query: str) -> dict[str, Any]:
        path = VENDOR_PATHS[op]
        method = "GET" if "/query/" in path else "POST"
        async with self.http.request(method, base + path, params=query or None, json=body,
                                     headers=AUTH if headers is None else headers) as resp:
            assert resp.status == 200 and resp.content_type == "application/json"
            answer: dict[str, Any] = await resp.json()
            return answer


@pytest.fixture
async def pair(sim: Simulator) -> AsyncIterator[Pair]:
    socks = [workers.listening_socket(), workers.listening_socket()]
    running = await workers.start_workers(sim, socks, loop="asyncio", pace=False)
    try:
        async with aiohttp.ClientSession() as http:
            yield Pair(sim, *running.urls, http)
    finally:
        await running.stop()


def example_row(sim: Simulator) -> int:
    row = sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    return row


async def test_answers_and_journal_are_the_owners(pair: Pair) -> None:
    sim = pair.sim
    via_a = await pair.vendor(pair.a, "status", iotCode=EXAMPLE_IMEI)
    via_b = await pair.vendor(pair.b, "location", iotCode=EXAMPLE_IMEI)
    row = example_row(sim)
    assert via_a["code"] == 0 and via_a["data"] == readings.status(sim.fleet, row)
    assert via_b["code"] == 0 and via_b["data"] == readings.location(sim.fleet, row)
    assert via_a["t"] == sim.clock.now_ms and via_a["opId"] != via_b["opId"]
    journal = sim.requests.select()
    assert [(r["endpoint"], r["opId"], r["seq"]) for r in journal] == [
        ("status", via_a["opId"], 1), ("location", via_b["opId"], 2)]
    assert journal[0]["path"] == VENDOR_PATHS["status"] and journal[0]["iotCode"] == EXAMPLE_IMEI


async def test_a_command_in_flight_through_one_worker_is_15104_through_the_other(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    sim, row, in_flight = pair.sim, example_row(pair.sim), asyncio.Event()
    sim.faults.add(delayMs=2000, endpoint="sound", iotCode=EXAMPLE_IMEI, times=1)
    begin = sim.begin_command

    def begin_and_tell(r: int) -> None:
        begin(r)
        if r == row:
            in_flight.set()

    monkeypatch.setattr(sim, "begin_command", begin_and_tell)
    slow = asyncio.ensure_future(pair.vendor(pair.a, "sound", SOUND))
    await asyncio.wait_for(in_flight.wait(), timeout=10)
    other = await pair.vendor(pair.b, "unlock", {"iotCode": EXAMPLE_IMEI})
    assert (other["code"], other["msg"]) == (15104, "please wait until the last request has "
                                                    "it's response")
    assert not slow.done() and sim.fleet.locked[row]  # the unlock changed nothing
    assert (await slow)["code"] == 0
    assert (await pair.vendor(pair.b, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
    assert not sim.fleet.locked[row] and not sim.inflight


async def test_tokens_and_the_clock_are_shared(pair: Pair) -> None:
    async with pair.http.post(pair.a + "/_sim/platforms", json={
            "clientId": "E30001", "clientSecret": "s3cret", "vehicles": 2}) as resp:
        assert resp.status == 201
    async with pair.http.get(pair.b + "/_sim/vehicles?platformCode=E30001") as resp:
        imei = (await resp.json())["items"][0]["iotCode"]
    form = {"client_id": "E30001", "client_secret": "s3cret", "grant_type": "client_credentials"}
    async with pair.http.post(pair.a + "/oauth/token", data=form) as resp:
        token = (await resp.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await pair.vendor(pair.b, "bluetooth-key", headers=headers,
                              iotCode=imei))["code"] == 0
    # another platform's vehicle: 15103 whichever worker asks
    assert (await pair.vendor(pair.a, "status", headers=headers,
                              iotCode=EXAMPLE_IMEI))["code"] == 15103
    async with pair.http.post(pair.b + "/_sim/clock", json={"advance": 86_400}) as resp:
        assert resp.status == 200
    assert (await pair.vendor(pair.a, "status", headers=headers, iotCode=imei))["code"] == 15101


async def test_fault_rule_times_are_consumed_once_across_workers(pair: Pair) -> None:
    async with pair.http.post(pair.b + "/_sim/faults", json={
            "code": 15302, "endpoint": "status", "iotCode": EXAMPLE_IMEI, "times": 2}) as resp:
        assert resp.status == 201
    codes = [(await pair.vendor(base, "status", iotCode=EXAMPLE_IMEI))["code"]
             for base in (pair.a, pair.b, pair.a)]
    assert codes == [15302, 15302, 0]
    assert pair.sim.faults.rules == []


async def test_http_errors_and_bodies_through_workers(pair: Pair) -> None:
    async with pair.http.post(pair.a + VENDOR_PATHS["status"], headers=AUTH) as resp:
        assert (resp.status, resp.content_type) == (405, "application/json")
        assert resp.headers["Allow"] == "GET"
        assert (await resp.json())["path"] == VENDOR_PATHS["status"]
    async with pair.http.get(pair.b + "/api/v2/vehicle/control/lock", headers=AUTH) as resp:
        assert resp.status == 404 and (await resp.json())["status"] == 404
    big = json.dumps({**SOUND, "pad": "x" * (64 * 1024)}).encode()
    async with pair.http.post(pair.a + VENDOR_PATHS["sound"], data=big,
                              headers={**AUTH, "Content-Type": "application/json"}) as resp:
        assert resp.status == 413 and (await resp.json())["status"] == 413

    async def chunks() -> AsyncIterator[bytes]:
        raw = json.dumps({"iotCode": EXAMPLE_IMEI, "speedMode": 3}).encode()
        for n in range(0, len(raw), 5):
            yield raw[n:n + 5]

    async with pair.http.post(pair.b + VENDOR_PATHS["setting/speed-mode"], data=chunks(),
                              headers={**AUTH, "Content-Type": "application/json"}) as resp:
        assert (await resp.json())["code"] == 0
    assert pair.sim.fleet.speed_mode[example_row(pair.sim)] == 3
    bad = await pair.vendor(pair.a, "sound", headers=AUTH, body=None)
    assert bad["code"] == 15004
    assert pair.sim.requests.select({"endpoint": "sound"})[-1]["code"] == 15004
    assert (await pair.vendor(pair.b, "status", headers={}, iotCode=EXAMPLE_IMEI))["code"] \
        == 15101


# Requests a partner sends, through either worker: the answers are a single process's.
REQUESTS = st.lists(st.tuples(
    st.sampled_from("ab"),
    st.sampled_from(["status", "location", "battery-info", "sound", "unlock", "anti-theft"]),
    st.integers(0, 19),
    st.sampled_from([DEMO_TOKEN, "not-a-token"]),
), min_size=1, max_size=8)


@pytest.fixture
async def single(config: Config) -> AsyncIterator[tuple[Simulator, str]]:
    """The same seeded world served by one process (it lives through every example too)."""
    ref = Simulator(config)
    running = await start(ref, pace=False)
    yield ref, running.url
    await running.stop()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=REQUESTS)
async def test_workers_answer_as_one_process(pair: Pair, single: tuple[Simulator, str],
                                             requests: list[tuple[str, str, int, str]]) -> None:
    ref, ref_url = single
    for worker, op, n, token in requests:
        imei = pair.sim.fleet.imeis[n]
        headers = {"Authorization": f"bearer {token}"}
        body = None if "/query/" in VENDOR_PATHS[op] else {"iotCode": imei, "controlType": 2}
        query = {"iotCode": imei} if body is None else {}
        got = await pair.vendor(pair.a if worker == "a" else pair.b, op, body, headers, **query)
        want = await pair.vendor(ref_url, op, body, headers, **query)
        assert set(got) == set(want)
        assert {k: got[k] for k in ("code", "msg", "data")} == \
            {k: want[k] for k in ("code", "msg", "data")}
    mine, theirs = pair.sim.requests.select(), ref.requests.select()
    assert [(r["endpoint"], r["code"], r.get("iotCode")) for r in mine] == \
        [(r["endpoint"], r["code"], r.get("iotCode")) for r in theirs]
