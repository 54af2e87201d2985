"""The live channel over loopback: server-sent events from /_sim/live, as a browser reads them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from simulator.server import live
from simulator.server.live import HUB
from simulator.server.live_frames import CODE, STATES, classify
from simulator.server.runner import start
from simulator.sim import Config, Simulator
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI

READ_TIMEOUT_S = 10.0  # a message is due within a frame interval; this only stops a hung test


@pytest.fixture
def config(config: Config) -> Config:
    config.extra["live_interval"] = 0.02  # frames every 20 ms keep the tests quick
    return config


@pytest.fixture
def sim(sim: Simulator) -> Simulator:
    sim.make_healthy(np.arange(len(sim.fleet)))  # every vehicle accepts an unlock
    return sim


@dataclass
class Message:
    id: str | None
    event: str | None
    data: dict[str, Any]


class Stream:
    """A minimal EventSource: reads `text/event-stream` messages from an aiohttp response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.buffer = b""
        self.comments: list[str] = []
        self.retry: int | None = None

    async def _block(self) -> bytes | None:
        while b"\n\n" not in self.buffer:
            chunk = await asyncio.wait_for(self.response.content.readany(), READ_TIMEOUT_S)
            if not chunk:
                return None
            self.buffer += chunk
        block, _, self.buffer = self.buffer.partition(b"\n\n")
        return block

    async def message(self) -> Message | None:
        """The next message with data, or None when the server ended the stream."""
        while True:
            block = await self._block()
            if block is None:
                return None
            fields: dict[str, str] = {}
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    continue
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
            if "retry" in fields:
                self.retry = int(fields["retry"])
            if "data" in fields:
                return Message(fields.get("id"), fields.get("event"), json.loads(fields["data"]))

    async def until(self, wanted: Callable[[Message], bool], limit: int = 200) -> Message:
        for _ in range(limit):
            msg = await self.message()
            assert msg is not None, "the stream ended"
            if wanted(msg):
                return msg
        raise AssertionError(f"no wanted message in {limit}")


async def open_stream(client: TestClient, last_id: str | None = None) -> Stream:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    response = await client.get("/_sim/live", headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache"
    return Stream(response)


def ints(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def events_of(msg: Message, kind: str) -> list[dict[str, Any]]:
    return [e for e in msg.data["events"] if e["kind"] == kind]


def has_event(kind: str, **match: Any) -> Callable[[Message], bool]:
    def wanted(msg: Message) -> bool:
        return any(all(e.get(k) == v for k, v in match.items()) for e in events_of(msg, kind))
    return wanted


async def unlock(client: TestClient, imei: str) -> None:
    resp = await client.post("/api/v2/vehicle/control/unlock", json={"iotCode": imei},
                             headers=AUTH)
    assert (await resp.json())["code"] == 0


async def test_first_message_is_the_whole_fleet(client: TestClient, sim: Simulator) -> None:
    stream = await open_stream(client)
    msg = await stream.message()
    assert msg is not None and msg.event == "frame"
    assert stream.retry == live.RETRY_MS
    stream_id, _, seq = (msg.id or "").partition(":")
    assert stream_id == msg.data["stream"] and seq.isdigit()

    roster = msg.data["roster"]
    assert roster["imeis"].split(",") == sim.fleet.imeis
    assert roster["states"] == list(STATES)
    assert [p["code"] for p in roster["platforms"]] == [p.code for p in sim.platform_list]
    assert roster["platforms"][0]["city"] == "Singapore"
    paths = {r.canonical for r in client.app.router.resources()}
    assert roster["features"] == {k: p in paths for k, p in live.FEATURES.items()}
    assert roster["features"]["vehicleEvents"] and roster["features"]["faults"]
    assert ints(roster["platform"], "<u2").tolist() == sim.fleet.platform.tolist()

    fleet = msg.data["fleet"]
    assert fleet["full"] is True and fleet["n"] == len(sim.fleet)
    assert ints(fleet["lat"], "<i4").tolist() == np.round(sim.fleet.lat * 1e6).astype(int).tolist()
    assert ints(fleet["lon"], "<i4").tolist() == np.round(sim.fleet.lon * 1e6).astype(int).tolist()
    assert ints(fleet["st"], "u1").tolist() == classify(sim.fleet).tolist()

    stats = msg.data["stats"]
    assert sum(stats["byState"]) == stats["vehicles"] == len(sim.fleet)
    assert sum(stats["battery"]) == len(sim.fleet)
    assert msg.data["clock"]["now"] == sim.clock.now


async def test_an_unlock_arrives_as_a_delta_and_events(client: TestClient, sim: Simulator) -> None:
    stream = await open_stream(client)
    first = await stream.message()
    assert first is not None
    await unlock(client, EXAMPLE_IMEI)
    row = sim.fleet.find(EXAMPLE_IMEI)

    msg = await stream.until(has_event("vehicle", iotCode=EXAMPLE_IMEI, type="status"))
    (status,) = [e for e in events_of(msg, "vehicle") if e["iotCode"] == EXAMPLE_IMEI]
    assert status["data"] == {"reason": "unlock"}
    (call,) = events_of(msg, "api")
    assert (call["endpoint"], call["code"], call["iotCode"]) == ("unlock", 0, EXAMPLE_IMEI)
    fleet = msg.data["fleet"]
    assert fleet["full"] is False
    assert ints(fleet["idx"], "<u4").tolist() == [row]  # only the row that changed
    assert ints(fleet["st"], "u1").tolist() == [CODE["unlocked"]]
    # The id names the last event the message carried.
    assert msg.id == f"{msg.data['stream']}:{msg.data['events'][-1]['seq']}"
    assert msg.data["stats"]["api"]["keys"] == ["unlock 0"]


async def test_only_moved_vehicles_travel(client: TestClient, sim: Simulator) -> None:
    stream = await open_stream(client)
    assert await stream.message() is not None
    rows = [3, 11]
    sim.fleet.lat[rows] += 0.001
    msg = await stream.until(lambda m: "fleet" in m.data)
    fleet = msg.data["fleet"]
    assert ints(fleet["idx"], "<u4").tolist() == rows
    assert ints(fleet["lat"], "<i4").tolist() == np.round(sim.fleet.lat[rows] * 1e6).tolist()


async def test_a_clock_change_is_sent_without_fleet(client: TestClient, sim: Simulator) -> None:
    stream = await open_stream(client)
    assert await stream.message() is not None
    resp = await client.post("/_sim/clock", json={"speed": 60})
    assert resp.status == 200
    msg = await stream.until(lambda m: m.data.get("clock", {}).get("speed") == 60)
    assert "fleet" not in msg.data and msg.data["events"] == []


async def test_resume_after_a_disconnect_with_last_event_id(
    client: TestClient, sim: Simulator
) -> None:
    stream = await open_stream(client)
    await unlock(client, EXAMPLE_IMEI)
    seen = await stream.until(has_event("vehicle", iotCode=EXAMPLE_IMEI))
    stream.response.close()

    others = sim.fleet.imeis[1:3]
    for imei in others:  # happens while the page is away
        await unlock(client, imei)
    again = await open_stream(client, last_id=seen.id)
    msg = await again.message()
    assert msg is not None and not msg.data.get("resync")
    resumed = [e for e in msg.data["events"] if e["kind"] == "vehicle"]
    assert [e["iotCode"] for e in resumed] == others  # exactly what it missed, in order
    seqs = [e["seq"] for e in msg.data["events"]]
    assert seqs == sorted(seqs) and seqs[0] == int((seen.id or "").split(":")[1]) + 1
    assert "roster" in msg.data and msg.data["fleet"]["full"] is True  # a new page state


async def test_an_id_of_another_stream_resyncs(client: TestClient, sim: Simulator) -> None:
    stream = await open_stream(client, last_id="0123456789ab:42")
    msg = await stream.message()
    assert msg is not None
    assert msg.data["resync"] is True
    assert msg.data["fleet"]["full"] is True and "roster" in msg.data


async def test_a_page_too_far_behind_is_told_what_it_missed(
    client: TestClient, sim: Simulator
) -> None:
    hub = client.app[HUB]
    hub.ring = deque(maxlen=5)
    stream = await open_stream(client)
    first = await stream.message()
    assert first is not None
    stream.response.close()
    for imei in sim.fleet.imeis[:10]:
        await unlock(client, imei)  # a status event and an API call each: 20 events
    again = await open_stream(client, last_id=first.id)
    msg = await again.message()
    assert msg is not None
    assert msg.data["gap"] == 15 and len(msg.data["events"]) == 5
    assert msg.data["events"][-1]["kind"] == "api"


async def test_reset_sends_a_new_roster(client: TestClient, sim: Simulator) -> None:
    stream = await open_stream(client)
    first = await stream.message()
    assert first is not None
    resp = await client.post("/_sim/reset", json={})
    assert resp.status == 200
    msg = await stream.until(lambda m: "roster" in m.data)
    assert msg.data["roster"]["version"] > first.data["roster"]["version"]
    assert msg.data["fleet"]["full"] is True
    assert any(e["kind"] == "reset" for e in msg.data["events"])


async def test_too_many_pages_get_a_json_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "MAX_CLIENTS", 1)
    stream = await open_stream(client)
    assert await stream.message() is not None
    resp = await client.get("/_sim/live")
    assert resp.status == 503
    assert (await resp.json())["error"].startswith("at most 1")


async def test_stopping_the_server_ends_streams_at_once() -> None:
    sim = Simulator(Config(vehicles=5, paused=True, riders=False))
    running = await start(sim, pace=False)
    async with aiohttp.ClientSession() as session:
        response = await session.get(f"{running.url}/_sim/live")
        stream = Stream(response)
        assert await stream.message() is not None
        # Without the hub closing its streams, aiohttp would wait 60 s for the handler.
        await asyncio.wait_for(running.stop(), 5)
        assert await stream.message() is None
        response.close()


async def test_a_dropped_page_leaves_nothing_behind(client: TestClient) -> None:
    hub = client.app[HUB]
    stream = await open_stream(client)
    assert await stream.message() is not None
    assert len(hub.clients) == 1
    stream.response.close()
    await client.post("/_sim/clock", json={"advance": 1})  # a frame, so the handler writes
    await asyncio.wait_for(hub.until_empty(), READ_TIMEOUT_S)
    assert not hub.clients
